/* test_tcp.c — the TCP model driven from C, checked against RFC 9293 and
 * the RFCs it cites: handshake timing to the nanosecond, ISNs from the
 * seeded stream, byte-stream exactness over lossy links, every teardown,
 * retransmission with backoff, RFC 6298 timers, fast retransmit, NewReno,
 * SACK, flow control, Nagle, delayed ACKs, options, ECN, bad input, pcap
 * as tshark reads it, and determinism.
 *
 * Two hosts, a (client) and b (server), on one link.  A "watch" sits on
 * each direction of the link as a scripted loss model that drops only
 * what a test asks for and records every TCP segment as it leaves the
 * sender's wire (the end of its serialisation), so times, flags and
 * retransmissions are observed from outside the model.
 *
 * Frames (timestamps, SACK and window scale on): a SYN or SYN-ACK carries
 * 20 option bytes, a 74-byte frame; a segment with timestamps is 66 bytes
 * plus payload; a RST is 54 bytes, padded to the 60-byte minimum.  At
 * 3 Mbit/s a SYN takes ceil(592e9 / 3e6) = 197,334 ns, so rounding shows.
 * Each test runs its sim until no event is left and checks that every
 * packet was freed. */
#include <inttypes.h>
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/link.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/rng.h"
#include "netsim/tcp.h"
#include "netsim/trace.h"
#include "tests.h"

#define PORT 80

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10
#define F_ECE 0x40
#define F_CWR 0x80

#define SYN_FRAME 74            /* 14 + 20 + 20 + 20 options */
#define TS_FRAME  66            /* 14 + 20 + 20 + 12 (NOP NOP TS) */
#define RST_FRAME 60            /* 54, padded */

/* ceil(frame bits * 1e9 / rate): serialisation of a frame of `bytes`. */
static ns_time_t ser(uint32_t bytes, uint64_t rate)
{
    uint64_t bits = (uint64_t)(bytes < 60 ? 60 : bytes) * 8;
    return (ns_time_t)((bits * 1000000000ull + rate - 1) / rate);
}

static void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

static void check_error(GError **err, const char *want)
{
    CU_ASSERT_PTR_NOT_NULL(*err);
    if (*err)
        check_str((*err)->message, want);
    g_clear_error(err);
}

/* ---- the watch: records segments on one link direction, drops some ---- */

struct seen {
    ns_time_t at;               /* end of serialisation */
    uint8_t   flags;
    uint32_t  seq, ack, len;
    uint16_t  win;
    uint8_t   ecn;
    int       wscale;           /* -1: no option */
    uint32_t  mss;              /* 0: no option */
    bool      ts;
    uint32_t  tsval;
    int       nsack;
    bool      dropped;
};

struct watch {
    ns_sim  *sim;
    GArray  *segs;              /* struct seen, in order */
    /* The drop rule: packets with (flags & mask) == want and at least
     * min_len payload bytes are counted; those whose 1-based count is in
     * nth[] are dropped, as are all of them when `all`. */
    uint8_t  mask, want;
    uint32_t min_len;
    uint32_t nth[8];
    int      nnth;
    bool     all;
    uint32_t count;
};

static void parse_opts(const uint8_t *t, struct seen *s)
{
    uint32_t hlen = (uint32_t)(t[12] >> 4) * 4;
    s->wscale = -1;
    for (uint32_t i = 20; i < hlen;) {
        uint8_t kind = t[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        uint8_t len = t[i + 1];
        if (kind == 2)
            s->mss = ns_get16(t + i + 2);
        else if (kind == 3)
            s->wscale = t[i + 2];
        else if (kind == 5)
            s->nsack = (len - 2) / 8;
        else if (kind == 8) {
            s->ts = true;
            s->tsval = ns_get32(t + i + 2);
        }
        i += len;
    }
}

static bool watch_match(const ns_pkt *p, void *ud)
{
    struct watch *w = ud;
    if (ns_ip_proto(p) != NS_IPPROTO_TCP)
        return false;
    const uint8_t *t = ns_pkt_cl4(p);
    struct seen s = {
        .at = ns_sim_now(w->sim), .flags = t[13], .seq = ns_get32(t + 4),
        .ack = ns_get32(t + 8), .len = p->payload_len, .win = ns_get16(t + 14),
        .ecn = ns_ip_ecn(p),
    };
    parse_opts(t, &s);
    if ((s.flags & w->mask) == w->want && s.len >= w->min_len) {
        w->count++;
        if (w->all)
            s.dropped = true;
        for (int i = 0; i < w->nnth; i++)
            if (w->nth[i] == w->count)
                s.dropped = true;
    }
    g_array_append_val(w->segs, s);
    return s.dropped;
}

static struct seen *seg_at(struct watch *w, guint i)
{
    return &g_array_index(w->segs, struct seen, i);
}

/* Segments with (flags & mask) == want, and their count. */
static int count_segs(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len)
{
    int n = 0;
    for (guint i = 0; i < w->segs->len; i++)
        if ((seg_at(w, i)->flags & mask) == want && seg_at(w, i)->len >= min_len)
            n++;
    return n;
}

/* The k-th (0-based) such segment, or NULL. */
static struct seen *nth_seg(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len, int k)
{
    for (guint i = 0; i < w->segs->len; i++)
        if ((seg_at(w, i)->flags & mask) == want && seg_at(w, i)->len >= min_len && k-- == 0)
            return seg_at(w, i);
    return NULL;
}

/* ---- applications ---- */

struct world;

struct app {
    struct world *w;
    ns_tcp       *c;
    ns_time_t     established_at, eof_at, closed_at, error_at;
    char          error[32];
    GByteArray   *rx;           /* bytes received; length-only as 0 */
    GByteArray   *rx_real;      /* 1 per byte that came as a real byte */
    uint64_t      acked;
    int           ndata;        /* data callbacks */
    /* behaviour */
    bool          close_on_eof; /* close when the peer has closed */
    uint32_t      reply;        /* length-only bytes to send on eof, first */
    uint64_t      send_on_est;  /* length-only bytes to send when established */
    bool          close_on_est; /* close after send_on_est */
};

struct world {
    ns_sim          *sim;
    ns_host         *a, *b;
    ns_link         *l;
    struct watch     wa, wb;    /* a->b, b->a */
    GPtrArray       *apps;      /* struct app*, owned */
    struct app      *srv_tmpl;  /* copied into every accepted app */
    struct app      *srv;       /* the last accepted connection */
    ns_tcp_listener *lis;
    uint64_t         rate;
    ns_time_t        delay;
    char            *dir;
};

static void app_free(gpointer p)
{
    struct app *a = p;
    g_byte_array_free(a->rx, TRUE);
    g_byte_array_free(a->rx_real, TRUE);
    g_free(a);
}

static struct app *app_new(struct world *w)
{
    struct app *a = g_new0(struct app, 1);
    a->w = w;
    a->established_at = a->eof_at = a->closed_at = a->error_at = -1;
    a->rx = g_byte_array_new();
    a->rx_real = g_byte_array_new();
    g_ptr_array_add(w->apps, a);
    return a;
}

static void on_established(ns_tcp *c, void *ud)
{
    struct app *a = ud;
    a->established_at = ns_sim_now(a->w->sim);
    GError *err = NULL;
    if (a->send_on_est)
        CU_ASSERT_TRUE(ns_tcp_send(c, NULL, (uint32_t)a->send_on_est, &err));
    g_clear_error(&err);
    if (a->close_on_est)
        ns_tcp_close(c);
}

static void on_data(ns_tcp *c, const uint8_t *bytes, uint32_t len, void *ud)
{
    struct app *a = ud;
    static const uint8_t zero[1024];
    uint8_t one[1024];
    memset(one, 1, sizeof one);
    a->ndata++;
    if (bytes) {
        g_byte_array_append(a->rx, bytes, len);
        for (uint32_t done = 0; done < len; done += sizeof one) {
            uint32_t n = len - done < sizeof one ? len - done : sizeof one;
            g_byte_array_append(a->rx_real, one, n);
        }
        return;
    }
    for (uint32_t done = 0; done < len; done += sizeof zero) {
        uint32_t n = len - done < sizeof zero ? len - done : sizeof zero;
        g_byte_array_append(a->rx, zero, n);
        g_byte_array_append(a->rx_real, zero, n);
    }
}

static void on_sent(ns_tcp *c, uint64_t acked, void *ud)
{
    ((struct app *)ud)->acked = acked;
}

static void on_eof(ns_tcp *c, void *ud)
{
    struct app *a = ud;
    a->eof_at = ns_sim_now(a->w->sim);
    GError *err = NULL;
    if (a->reply)
        CU_ASSERT_TRUE(ns_tcp_send(c, NULL, a->reply, &err));
    g_clear_error(&err);
    if (a->close_on_eof)
        ns_tcp_close(c);
}

static void on_closed(ns_tcp *c, void *ud)
{
    struct app *a = ud;
    CU_ASSERT_EQUAL(a->closed_at, -1);           /* exactly once */
    CU_ASSERT_EQUAL(a->error_at, -1);
    a->closed_at = ns_sim_now(a->w->sim);
}

static void on_error(ns_tcp *c, const char *reason, void *ud)
{
    struct app *a = ud;
    CU_ASSERT_EQUAL(a->closed_at, -1);
    CU_ASSERT_EQUAL(a->error_at, -1);
    a->error_at = ns_sim_now(a->w->sim);
    g_strlcpy(a->error, reason, sizeof a->error);
}

static const struct ns_tcp_callbacks app_cb = {
    on_established, on_data, on_sent, on_eof, on_closed, on_error,
};

static void on_accept(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    struct world *w = ud;
    struct app *a = app_new(w);
    GByteArray *rx = a->rx, *rx_real = a->rx_real;
    if (w->srv_tmpl) {
        *a = *w->srv_tmpl;
        a->rx = rx;
        a->rx_real = rx_real;
    }
    a->w = w;
    a->c = c;
    w->srv = a;
    ns_tcp_set_callbacks(c, &app_cb, a);
}

/* ---- the world ---- */

static void world_init_opts(struct world *w, uint64_t seed, const struct ns_link_opts *lo)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(seed);
    w->apps = g_ptr_array_new_with_free_func(app_free);
    GError *err = NULL;
    w->a = ns_host_new(w->sim, "a", &err);
    w->b = ns_host_new(w->sim, "b", &err);
    w->l = ns_link_new(w->sim, w->a, w->b, lo, &err);
    if (err)
        fprintf(stderr, "\nworld: %s\n", err->message);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->l);
    w->rate = (uint64_t)lo->rate_bps;
    w->delay = lo->delay;
    struct watch *ws[2] = { &w->wa, &w->wb };
    for (int d = 0; d < 2; d++) {
        ws[d]->sim = w->sim;
        ws[d]->segs = g_array_new(FALSE, FALSE, sizeof(struct seen));
        /* First, so it sees every packet before any random loss. */
        ns_link_add_loss(w->l, d, ns_loss_script(watch_match, ws[d], NULL, 0, 0, true));
    }
}

static void world_init(struct world *w, uint64_t seed, double rate, ns_time_t delay, double loss)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = rate;
    o.delay = delay;
    world_init_opts(w, seed, &o);
    /* Random loss after the watches, so they see what it drops. */
    for (int d = 0; d < 2 && loss > 0; d++)
        ns_link_add_loss(w->l, d, ns_loss_bernoulli(loss, NULL));
}

/* Outputs (and the event log) go to a fresh folder `name`. */
static void world_out(struct world *w, const char *name)
{
    GError *err = NULL;
    w->dir = g_build_filename(ns_test_tmpdir(), "tcp", name, NULL);
    CU_ASSERT_TRUE(ns_output_set_dir(w->sim, w->dir, &err));
    CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static char *world_file(struct world *w, const char *name)
{
    char *p = g_build_filename(w->dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

static void world_commit(struct world *w)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(w->sim, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static ns_tcp_listener *world_listen(struct world *w, const struct ns_tcp_opts *o)
{
    GError *err = NULL;
    w->lis = ns_tcp_listen(w->b, PORT, o, on_accept, w, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lis);
    return w->lis;
}

static struct app *world_connect(struct world *w, ns_host *from, ns_host *to, uint16_t port,
                                 const struct ns_tcp_opts *o)
{
    GError *err = NULL;
    ns_tcp *c = ns_tcp_connect(from, ns_host_addr(to), port, o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct app *a = app_new(w);
    a->c = c;
    ns_tcp_set_callbacks(c, &app_cb, a);
    return a;
}

static void world_run(struct world *w)
{
    CU_ASSERT_EQUAL(ns_sim_run(w->sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_pkt_live(w->sim), 0);
}

static void world_run_until(struct world *w, ns_time_t until)
{
    ns_sim_run(w->sim, until, 0);
}

/* Runs until c is ESTABLISHED (RFC 9293 3.10.4: a CLOSE in SYN-SENT
 * deletes the TCB with its queued data, so writers wait for it). */
static void wait_established(struct world *w, struct app *c)
{
    for (ns_time_t t = 0; c->established_at < 0 && t < 60 * NS_SEC; t += 10 * NS_MSEC)
        ns_sim_run(w->sim, t, 0);
    CU_ASSERT_TRUE(c->established_at >= 0);
}

static void world_free(struct world *w)
{
    ns_sim_free(w->sim);
    g_ptr_array_free(w->apps, TRUE);
    g_array_free(w->wa.segs, TRUE);
    g_array_free(w->wb.segs, TRUE);
    g_free(w->srv_tmpl);
    g_free(w->dir);
}

static struct app *server_template(struct world *w)
{
    if (!w->srv_tmpl)
        w->srv_tmpl = g_new0(struct app, 1);
    w->srv_tmpl->established_at = w->srv_tmpl->eof_at = -1;
    w->srv_tmpl->closed_at = w->srv_tmpl->error_at = -1;
    return w->srv_tmpl;
}

static struct ns_tcp_opts opts(void)
{
    struct ns_tcp_opts o;
    ns_tcp_opts_defaults(&o);
    return o;
}

static struct ns_tcp_info info(const struct app *a)
{
    struct ns_tcp_info i;
    ns_tcp_info(a->c, &i);
    return i;
}

/* Calls fn(app) at time `at`. */
struct at_call {
    void       (*fn)(struct app *);
    struct app *a;
};

static void at_fire(ns_sim *sim, void *arg)
{
    struct at_call *c = arg;
    c->fn(c->a);
    g_free(c);
}

static void call_at(struct world *w, ns_time_t at, void (*fn)(struct app *), struct app *a)
{
    struct at_call *c = g_new(struct at_call, 1);
    *c = (struct at_call){ fn, a };
    CU_ASSERT_NOT_EQUAL(ns_event_at(w->sim, at, at_fire, c, 0, NULL).slot, 0);
}

static void do_close(struct app *a) { ns_tcp_close(a->c); }
static void do_shutdown(struct app *a) { ns_tcp_shutdown(a->c); }
static void do_abort(struct app *a) { ns_tcp_abort(a->c); }
static void do_send100(struct app *a) { CU_ASSERT_TRUE(ns_tcp_send(a->c, NULL, 100, NULL)); }

/* The tcp.state lines of the event log for node `node`, as
 * "FROM>TO@seconds;..." (or just "TO;..." when !times). */
static char *states_of(struct world *w, const char *node, bool times)
{
    char *ev = world_file(w, "events.tsv");
    GString *s = g_string_new("");
    char **lines = g_strsplit(ev, "\n", -1);
    for (char **l = lines; *l; l++) {
        char **f = g_strsplit(*l, "\t", 4);
        if (f[0] && f[1] && f[2] && f[3] && strcmp(f[1], "tcp.state") == 0 &&
            strcmp(f[2], node) == 0) {
            const char *to = strstr(f[3], " to=");
            const char *cause = strstr(f[3], " cause=");
            if (to && cause) {
                g_string_append_len(s, to + 4, cause - to - 4);
                if (times)
                    g_string_append_printf(s, "@%s", f[0]);
                g_string_append_c(s, ';');
            }
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(ev);
    return g_string_free(s, FALSE);
}

/* ---- handshake --------------------------------------------------------- */

/* RFC 9293 3.5: the client is ESTABLISHED when the SYN-ACK arrives, one
 * RTT plus the serialisation of SYN and SYN-ACK after its SYN; the server
 * half an RTT later, when the ACK (a 66-byte frame) arrives. */
static void test_handshake_timing(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_SYN_SENT);
    world_run(&w);

    ns_time_t syn = ser(SYN_FRAME, 3000000), ack = ser(TS_FRAME, 3000000);
    CU_ASSERT_EQUAL(syn, 197334);
    CU_ASSERT_EQUAL(ack, 176000);
    CU_ASSERT_EQUAL(c->established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(info(c).established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->established_at, 2 * syn + ack + 30 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_ESTABLISHED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_ESTABLISHED);
    /* The SYN left at 0: its serialisation ended at `syn`. */
    CU_ASSERT_EQUAL_FATAL(w.wa.segs->len, 2);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->at, syn);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->flags, F_SYN);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 1)->flags, F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 1)->at, c->established_at + ack);
    CU_ASSERT_EQUAL_FATAL(w.wb.segs->len, 1);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->flags, F_SYN | F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->ack, seg_at(&w.wa, 0)->seq + 1);
    check_str(ns_tcp_name(c->c), "a:49152>b:80");
    check_str(ns_tcp_name(w.srv->c), "b:80>a:49152");
    world_free(&w);
}

static uint32_t isn_of(uint64_t seed, uint32_t *server_isn)
{
    struct world w;
    world_init(&w, seed, 10e6, NS_MSEC, 0);
    world_listen(&w, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    CU_ASSERT_TRUE_FATAL(w.wa.segs->len >= 1 && w.wb.segs->len >= 1);
    uint32_t isn = seg_at(&w.wa, 0)->seq;
    *server_isn = seg_at(&w.wb, 0)->seq;
    world_free(&w);
    return isn;
}

static void test_isn_seeded(void)
{
    uint32_t s1, s1b, s2;
    uint32_t c1 = isn_of(1, &s1), c1b = isn_of(1, &s1b), c2 = isn_of(2, &s2);
    CU_ASSERT_EQUAL(c1, c1b);
    CU_ASSERT_EQUAL(s1, s1b);
    CU_ASSERT_NOT_EQUAL(c1, c2);
    CU_ASSERT_NOT_EQUAL(s1, s2);
    CU_ASSERT_NOT_EQUAL(c1, s1);
    /* Two connections of one host draw two ISNs. */
    struct world w;
    world_init(&w, 1, 10e6, NS_MSEC, 0);
    world_listen(&w, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL(count_segs(&w.wa, 0xff, F_SYN, 0), 2);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, 0xff, F_SYN, 0, 0)->seq, c1);
    CU_ASSERT_NOT_EQUAL(nth_seg(&w.wa, 0xff, F_SYN, 0, 1)->seq, c1);
    world_free(&w);
}

/* ---- byte stream ------------------------------------------------------- */

/* Writes a seeded mix of real-byte and length-only chunks, closes, and
 * checks the server's callbacks put exactly the same stream back
 * together, in order, real bytes where real bytes were written. */
static void stream_run(uint64_t seed, bool sack, bool timestamps)
{
    struct world w;
    world_init(&w, seed, 10e6, 5 * NS_MSEC, 0.05);
    struct ns_tcp_opts o = opts();
    o.sack = sack;
    o.timestamps = timestamps;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    wait_established(&w, c);

    GByteArray *want = g_byte_array_new(), *want_real = g_byte_array_new();
    ns_rng rs, *r = &rs;
    ns_rng_init(r, seed, "test.stream");
    uint64_t total = 0;
    for (int i = 0; i < 300; i++) {
        uint32_t len = 1 + (uint32_t)ns_rng_below(r, i % 7 == 0 ? 5000 : 700);
        bool real = ns_rng_below(r, 2) == 0;
        uint8_t *buf = g_malloc(len);
        for (uint32_t k = 0; k < len; k++)
            buf[k] = real ? (uint8_t)(1 + ns_rng_below(r, 255)) : 0;
        uint8_t *mark = g_malloc(len);
        memset(mark, real, len);
        GError *err = NULL;
        CU_ASSERT_TRUE(ns_tcp_send(c->c, real ? buf : NULL, len, &err));
        CU_ASSERT_PTR_NULL(err);
        g_clear_error(&err);
        g_byte_array_append(want, buf, len);
        g_byte_array_append(want_real, mark, len);
        total += len;
        g_free(buf);
        g_free(mark);
    }
    ns_tcp_close(c->c);
    world_run(&w);

    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->rx->len, total);
    CU_ASSERT_TRUE(w.srv->rx->len == want->len &&
                   memcmp(w.srv->rx->data, want->data, want->len) == 0);
    CU_ASSERT_TRUE(w.srv->rx_real->len == want_real->len &&
                   memcmp(w.srv->rx_real->data, want_real->data, want_real->len) == 0);
    CU_ASSERT_EQUAL(c->acked, total);
    CU_ASSERT_NOT_EQUAL(w.srv->eof_at, -1);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_NOT_EQUAL(w.srv->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSED);
    CU_ASSERT_TRUE(info(c).retransmits > 0);       /* the loss was real */
    CU_ASSERT_EQUAL(info(w.srv).bytes_received, total);
    g_byte_array_free(want, TRUE);
    g_byte_array_free(want_real, TRUE);
    world_free(&w);
}

static void test_stream_exact(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++)
        stream_run(seed, true, true);
    stream_run(5, false, true);
    stream_run(6, false, false);
    stream_run(7, true, false);
}

/* ---- teardown ---------------------------------------------------------- */

/* The client closes at 1 s; the server closes 100 ms after hearing the
 * FIN, so the client sits in FIN-WAIT-2 and then TIME-WAIT for exactly
 * 2 MSL. */
static void test_four_way_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "four-way");
    struct ns_tcp_opts o = opts();
    o.msl = 3 * NS_SEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    call_at(&w, NS_SEC, do_close, c);
    world_run_until(&w, NS_SEC + 50 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_2);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSE_WAIT);
    CU_ASSERT_NOT_EQUAL(w.srv->eof_at, -1);
    call_at(&w, w.srv->eof_at + 100 * NS_MSEC, do_close, w.srv);
    world_run(&w);
    world_commit(&w);

    char *cs = states_of(&w, "a", false), *ss = states_of(&w, "b", false);
    check_str(cs, "SYN-SENT;ESTABLISHED;FIN-WAIT-1;FIN-WAIT-2;TIME-WAIT;CLOSED;");
    check_str(ss, "SYN-RECEIVED;ESTABLISHED;CLOSE-WAIT;LAST-ACK;CLOSED;");
    g_free(cs);
    g_free(ss);
    /* The server's FIN arrives at its close + ser + delay. */
    ns_time_t fin_at = w.srv->eof_at + 100 * NS_MSEC + ser(TS_FRAME, 10000000) + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->closed_at, fin_at);            /* TIME-WAIT counts as closed */
    char *ct = states_of(&w, "a", true);
    char want[128];
    g_snprintf(want, sizeof want, "TIME-WAIT@%.9f;CLOSED@%.9f;", fin_at / 1e9,
               (fin_at + 6 * NS_SEC) / 1e9);
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, want));
    if (!strstr(ct, want))
        fprintf(stderr, "\n  states: %s\n  want: %s\n", ct, want);
    g_free(ct);
    CU_ASSERT_NOT_EQUAL(w.srv->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    CU_ASSERT_EQUAL(w.srv->error_at, -1);
    world_free(&w);
}

static void test_simultaneous_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "simclose");
    struct ns_tcp_opts o = opts();
    o.msl = NS_SEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, NS_SEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    call_at(&w, NS_SEC, do_close, c);
    call_at(&w, NS_SEC, do_close, w.srv);
    world_run(&w);
    world_commit(&w);
    char *cs = states_of(&w, "a", false), *ss = states_of(&w, "b", false);
    check_str(cs, "SYN-SENT;ESTABLISHED;FIN-WAIT-1;CLOSING;TIME-WAIT;CLOSED;");
    check_str(ss, "SYN-RECEIVED;ESTABLISHED;FIN-WAIT-1;CLOSING;TIME-WAIT;CLOSED;");
    g_free(cs);
    g_free(ss);
    /* Both FINs cross; each ACK arrives one more hop later. */
    ns_time_t hop = ser(TS_FRAME, 10000000) + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->closed_at, NS_SEC + 2 * hop);
    CU_ASSERT_EQUAL(w.srv->closed_at, NS_SEC + 2 * hop);
    world_free(&w);
}

/* Both ends connect to each other at once: a from its first ephemeral
 * port to b's first, and b the other way, so the SYNs cross (RFC 9293
 * figure 7) without any listener. */
static void test_simultaneous_open(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "simopen");
    struct app *x = world_connect(&w, w.a, w.b, 49152, NULL);
    struct app *y = world_connect(&w, w.b, w.a, 49152, NULL);
    CU_ASSERT_EQUAL(ns_tcp_local_port(x->c), 49152);
    CU_ASSERT_EQUAL(ns_tcp_local_port(y->c), 49152);
    x->send_on_est = 3000;
    y->send_on_est = 2000;
    x->close_on_eof = y->close_on_eof = true;
    call_at(&w, 500 * NS_MSEC, do_shutdown, x);
    world_run(&w);
    world_commit(&w);
    char *xs = states_of(&w, "a", false), *ys = states_of(&w, "b", false);
    CU_ASSERT_TRUE(g_str_has_prefix(xs, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"));
    CU_ASSERT_TRUE(g_str_has_prefix(ys, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"));
    if (!g_str_has_prefix(xs, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"))
        fprintf(stderr, "\n  a: %s\n  b: %s\n", xs, ys);
    g_free(xs);
    g_free(ys);
    /* Each SYN-ACK is answered at once: ESTABLISHED when it arrives
     * (figure 7, line 5), two one-way trips after the SYNs. */
    ns_time_t hop = ser(SYN_FRAME, 10000000) + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(x->established_at, 2 * hop);
    CU_ASSERT_EQUAL(y->established_at, 2 * hop);
    CU_ASSERT_EQUAL(x->rx->len, 2000);
    CU_ASSERT_EQUAL(y->rx->len, 3000);
    CU_ASSERT_EQUAL(x->error_at, -1);
    CU_ASSERT_EQUAL(y->error_at, -1);
    CU_ASSERT_NOT_EQUAL(x->closed_at, -1);
    CU_ASSERT_NOT_EQUAL(y->closed_at, -1);
    world_free(&w);
}

/* Half-close: the client shuts its direction after 1000 bytes; the server
 * answers with 5000 bytes after the FIN, which the client still takes. */
static void test_half_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = opts();
    o.msl = NS_SEC;
    struct app *t = server_template(&w);
    t->reply = 5000;
    t->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 1000;
    world_run_until(&w, 500 * NS_MSEC);
    call_at(&w, 500 * NS_MSEC, do_shutdown, c);
    world_run_until(&w, 500 * NS_MSEC + 15 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_1);
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_tcp_send(c->c, NULL, 10, &err));
    check_error(&err, "connection a:49152>b:80 cannot send: it is FIN-WAIT-1 and shut down");
    world_run(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->rx->len, 1000);
    CU_ASSERT_EQUAL(c->rx->len, 5000);
    CU_ASSERT_NOT_EQUAL(c->eof_at, -1);
    CU_ASSERT_TRUE(w.srv->eof_at < c->eof_at);
    CU_ASSERT_EQUAL(info(w.srv).bytes_acked, 5000);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    world_free(&w);
}

/* A SYN to a port nobody listens on is answered by RST+ACK (RFC 9293
 * 3.10.7.1), which the client reports as "refused" one RTT later. */
static void test_refused(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT + 1, NULL);
    world_run(&w);
    check_str(c->error, "refused");
    CU_ASSERT_EQUAL(c->error_at, ser(SYN_FRAME, 3000000) + ser(RST_FRAME, 3000000) +
                                 20 * NS_MSEC);
    CU_ASSERT_EQUAL(c->established_at, -1);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL_FATAL(w.wb.segs->len, 1);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->flags, F_RST | F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->ack, seg_at(&w.wa, 0)->seq + 1);
    CU_ASSERT_PTR_NULL(w.srv);
    world_free(&w);
}

/* Closing a listener while a child is in SYN-RECEIVED: the child still
 * completes its handshake (and reads the listener's state then) but is
 * never handed to the closed listener; the port is free again. */
static void test_listener_closed_mid_handshake(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    ns_tcp_listener *l = world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run_until(&w, 15 * NS_MSEC);          /* SYN in, SYN-ACK on its way */
    CU_ASSERT_EQUAL(count_segs(&w.wb, F_SYN | F_ACK, F_SYN | F_ACK, 0), 1);
    ns_tcp_listener_close(l);
    world_run_until(&w, 200 * NS_MSEC);
    CU_ASSERT_TRUE(c->established_at >= 0);
    CU_ASSERT_PTR_NULL(w.srv);                  /* never accepted */
    struct app *late = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run_until(&w, 400 * NS_MSEC);
    check_str(late->error, "refused");
    world_free(&w);
}

static void test_abort(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    call_at(&w, NS_SEC, do_abort, c);
    world_run(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    check_str(w.srv->error, "reset");
    CU_ASSERT_EQUAL(w.srv->error_at, NS_SEC + ser(RST_FRAME, 3000000) + 10 * NS_MSEC);
    check_str(c->error, "aborted");
    CU_ASSERT_EQUAL(c->error_at, NS_SEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(count_segs(&w.wa, F_RST, F_RST, 0), 1);
    CU_ASSERT_EQUAL(count_segs(&w.wb, F_RST, F_RST, 0), 0);
    world_free(&w);
}

/* ---- lost handshake and FIN segments ---------------------------------- */

/* RFC 6298 2.1 and 5.5: the SYN is resent after the initial RTO of 1 s,
 * then after 2 s, 4 s, ...; ESTABLISHED one RTT after the SYN that got
 * through. */
static void test_lost_syn(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_SYN;
    w.wa.want = F_SYN;
    w.wa.nth[w.wa.nnth++] = 1;
    w.wa.nth[w.wa.nnth++] = 2;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = ser(SYN_FRAME, 3000000);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_SYN, F_SYN, 0), 3);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 0)->at, syn);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 1)->at, 1 * NS_SEC + syn);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 2)->at, 3 * NS_SEC + syn);
    CU_ASSERT_EQUAL(c->established_at, 3 * NS_SEC + 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(info(c).retransmits, 2);
    CU_ASSERT_EQUAL(info(c).timeouts, 2);
    world_free(&w);
}

/* syn_retries = 3: SYNs at 0, 1, 3, 7 s, then "timeout" at 15 s. */
static void test_syn_give_up(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_SYN;
    w.wa.want = F_SYN;
    w.wa.all = true;
    world_listen(&w, NULL);
    struct ns_tcp_opts o = opts();
    o.syn_retries = 3;
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_SYN, F_SYN, 0), 4);
    ns_time_t syn = ser(SYN_FRAME, 3000000);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 3)->at, 7 * NS_SEC + syn);
    check_str(c->error, "timeout");
    CU_ASSERT_EQUAL(c->error_at, 15 * NS_SEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_PTR_NULL(w.srv);
    world_free(&w);
}

/* The SYN-ACK is lost: the server resends it on its own RTO (1 s after
 * the first), and the client's own SYN retransmission at 1 s gets a
 * SYN-ACK too.  The client is ESTABLISHED when the first of those
 * arrives. */
static void test_lost_synack(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wb.mask = F_SYN | F_ACK;
    w.wb.want = F_SYN | F_ACK;
    w.wb.nth[w.wb.nnth++] = 1;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = ser(SYN_FRAME, 3000000), ack = ser(TS_FRAME, 3000000);
    ns_time_t first = syn + 10 * NS_MSEC;        /* the server sends its SYN-ACK */
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wb, 0xff, F_SYN | F_ACK, 0) >= 2, true);
    CU_ASSERT_EQUAL(nth_seg(&w.wb, 0xff, F_SYN | F_ACK, 0, 1)->at, first + NS_SEC + syn);
    CU_ASSERT_EQUAL(c->established_at, first + NS_SEC + syn + 10 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->established_at, c->established_at + ack + 10 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_ESTABLISHED);
    world_free(&w);
}

/* The client's final ACK is lost and it has nothing to send: the server
 * resends its SYN-ACK after 1 s, the client answers with an ACK
 * (RFC 9293 3.10.7.4: an unacceptable segment gets an ACK). */
static void test_lost_final_ack(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = 0xff;
    w.wa.want = F_ACK;
    w.wa.nth[w.wa.nnth++] = 1;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = ser(SYN_FRAME, 3000000), ack = ser(TS_FRAME, 3000000);
    ns_time_t synack_sent = syn + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(count_segs(&w.wb, 0xff, F_SYN | F_ACK, 0), 2);
    CU_ASSERT_EQUAL(w.srv->established_at, synack_sent + NS_SEC + syn + ack + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_ESTABLISHED);
    world_free(&w);
}

/* A FIN lost twice, timestamps off so the handshake gives the one RTT
 * sample: RTO = max(min_rto 200 ms, 3 x RTT) = 200 ms, then doubled. */
static void test_lost_fin(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_FIN;
    w.wa.want = F_FIN;
    w.wa.nth[w.wa.nnth++] = 1;
    w.wa.nth[w.wa.nnth++] = 2;
    struct ns_tcp_opts o = opts();
    o.timestamps = false;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    call_at(&w, NS_SEC, do_close, c);
    world_run(&w);
    ns_time_t fin = ser(60, 10000000);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_FIN, F_FIN, 0), 3);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 0)->at, NS_SEC + fin);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 1)->at, NS_SEC + 200 * NS_MSEC + fin);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 2)->at, NS_SEC + 600 * NS_MSEC + fin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->eof_at, NS_SEC + 600 * NS_MSEC + fin + 10 * NS_MSEC);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_EQUAL(info(c).retransmits, 2);
    world_free(&w);
}

/* Data lost every time: after `retries` retransmissions, "timeout". */
static void test_data_give_up(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    w.wa.all = true;
    struct ns_tcp_opts o = opts();
    o.retries = 3;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 100;
    world_run(&w);
    check_str(c->error, "timeout");
    CU_ASSERT_EQUAL(count_segs(&w.wa, 0, 0, 1), 4);
    CU_ASSERT_EQUAL(info(c).timeouts, 3);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    world_free(&w);
}

/* FIN-WAIT-2 after close() is bounded by fin_timeout (Linux
 * tcp_fin_timeout): the peer never closes, the client goes to CLOSED
 * exactly fin_timeout after entering FIN-WAIT-2, traced with its cause,
 * and hears a normal close.  After shutdown() it waits for ever: the
 * application still reads. */
static void test_fin_wait_2_timeout(void)
{
    for (int half = 0; half < 2; half++) {
        struct world w;
        world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
        world_out(&w, half ? "fin-timeout-half" : "fin-timeout");
        struct ns_tcp_opts o = opts();
        o.fin_timeout = 5 * NS_SEC;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        call_at(&w, NS_SEC, half ? do_shutdown : do_close, c);
        world_run_until(&w, 100 * NS_SEC);
        world_commit(&w);
        char *ct = states_of(&w, "a", true);
        double fw2 = -1, closed = -1;
        const char *p = strstr(ct, "FIN-WAIT-2@");
        if (p)
            sscanf(p, "FIN-WAIT-2@%lf;CLOSED@%lf;", &fw2, &closed);
        CU_ASSERT_TRUE(fw2 > 1.0 && fw2 < 1.1);
        if (!half) {
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
            CU_ASSERT_EQUAL(c->closed_at, (ns_time_t)(fw2 * 1e9 + 0.5) + 5 * NS_SEC);
            CU_ASSERT_DOUBLE_EQUAL(closed - fw2, 5.0, 1e-9);
            CU_ASSERT_EQUAL(c->error_at, -1);
            char *ev = world_file(&w, "events.tsv");
            CU_ASSERT_PTR_NOT_NULL(strstr(ev, "from=FIN-WAIT-2 to=CLOSED cause=FIN-WAIT-2 timeout"));
            g_free(ev);
            /* Nothing on the wire: the peer stays in CLOSE-WAIT. */
            CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSE_WAIT);
        } else {
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_2);
            CU_ASSERT_EQUAL(c->closed_at, -1);
            /* close() after shutdown() starts the timer then. */
            call_at(&w, 100 * NS_SEC, do_close, c);
            world_run(&w);
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
            CU_ASSERT_EQUAL(c->closed_at, 105 * NS_SEC);
        }
        if (fw2 < 0)
            fprintf(stderr, "\n  states: %s\n", ct);
        g_free(ct);
        world_free(&w);
    }
}

/* ---- RFC 6298 ---------------------------------------------------------- */

static void rto_update(ns_time_t *srtt, ns_time_t *rttvar, ns_time_t r)
{
    if (*srtt == 0) {
        *srtt = r;
        *rttvar = r / 2;
    } else {
        ns_time_t d = *srtt > r ? *srtt - r : r - *srtt;
        *rttvar = (3 * *rttvar + d) / 4;
        *srtt = (7 * *srtt + r) / 8;
    }
}

/* Timestamps off, delayed ACKs off: the handshake gives R1, then each
 * lone 100-byte segment a sample R2 = ser(154) + ser(60) + 2 delays. */
static void test_rfc6298(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = opts();
    o.timestamps = false;
    o.delayed_ack = false;
    o.min_rto = NS_MSEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, 500 * NS_MSEC);
    /* SYN and SYN-ACK without timestamps: 66-byte frames. */
    ns_time_t r1 = 2 * ser(66, 3000000) + 20 * NS_MSEC;
    ns_time_t srtt = 0, rttvar = 0;
    rto_update(&srtt, &rttvar, r1);
    struct ns_tcp_info i = info(c);
    CU_ASSERT_EQUAL(i.srtt, r1);
    CU_ASSERT_EQUAL(i.rttvar, r1 / 2);
    CU_ASSERT_EQUAL(i.rto, r1 + 4 * (r1 / 2));
    ns_time_t r2 = ser(14 + 20 + 20 + 100, 3000000) + ser(60, 3000000) + 20 * NS_MSEC;
    for (int k = 0; k < 3; k++) {
        call_at(&w, (1 + k) * NS_SEC, do_send100, c);
        world_run_until(&w, (1 + k) * NS_SEC + 500 * NS_MSEC);
        rto_update(&srtt, &rttvar, r2);
        i = info(c);
        CU_ASSERT_EQUAL(i.srtt, srtt);
        CU_ASSERT_EQUAL(i.rttvar, rttvar);
        CU_ASSERT_EQUAL(i.rto, srtt + 4 * rttvar);
    }
    CU_ASSERT_EQUAL(i.min_rtt, r1 < r2 ? r1 : r2);
    world_run(&w);
    world_free(&w);

    /* The same with the default min_rto: 200 ms wins (RFC 6298 2.4). */
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    o.min_rto = 200 * NS_MSEC;
    world_listen(&w, &o);
    c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(info(c).srtt, r1);
    CU_ASSERT_EQUAL(info(c).rto, 200 * NS_MSEC);
    world_free(&w);
}

/* Karn: without timestamps a retransmitted segment gives no sample; with
 * them (RFC 7323 4.1) its echo does, and every ACK does. */
static void test_karn(void)
{
    for (int ts = 0; ts < 2; ts++) {
        struct world w;
        world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
        w.wa.min_len = 1;
        w.wa.nth[w.wa.nnth++] = 1;
        struct ns_tcp_opts o = opts();
        o.timestamps = ts;
        o.delayed_ack = false;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        world_run_until(&w, 500 * NS_MSEC);
        ns_time_t srtt0 = info(c).srtt;
        call_at(&w, NS_SEC, do_send100, c);
        world_run(&w);
        struct ns_tcp_info i = info(c);
        CU_ASSERT_EQUAL(i.retransmits, 1);
        CU_ASSERT_EQUAL(i.timeouts, 1);
        CU_ASSERT_EQUAL(i.bytes_acked, 100);
        if (!ts) {
            CU_ASSERT_EQUAL(i.srtt, srtt0);           /* no sample */
        } else {
            /* The echo of the retransmission's TSval: its true RTT, in
             * whole microseconds of the timestamp clock. */
            uint32_t frame = 14 + 20 + 32 + 100;
            struct seen *rx = nth_seg(&w.wa, 0, 0, 1, 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
            ns_time_t sent = rx->at - ser(frame, 3000000);
            ns_time_t acked = rx->at + 10 * NS_MSEC + ser(TS_FRAME, 3000000) + 10 * NS_MSEC;
            ns_time_t r = (acked / 1000 - sent / 1000) * 1000;
            CU_ASSERT_NOT_EQUAL(i.srtt, srtt0);
            CU_ASSERT_TRUE(i.min_rtt <= r);
            CU_ASSERT_EQUAL(i.srtt, (7 * srtt0 + r) / 8);
        }
        world_free(&w);
    }
}

/* RFC 6298 section 5 (the note after 5.7) with Karn's rule (section 3):
 * after a timeout the backed-off RTO stays until an ACK of a segment that
 * was not retransmitted gives a new RTT sample.  Timestamps off, so the
 * ACK of a retransmission gives none.  RTO is min_rto (200 ms). */
static void test_backoff_kept(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    w.wa.nth[w.wa.nnth++] = 1;          /* segment 1, first copy */
    w.wa.nth[w.wa.nnth++] = 3;          /* segment 2, first copy */
    w.wa.nth[w.wa.nnth++] = 6;          /* segment 4, first copy */
    struct ns_tcp_opts o = opts();
    o.timestamps = false;
    o.delayed_ack = false;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    for (int k = 1; k <= 4; k++)
        call_at(&w, k * NS_SEC, do_send100, c);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, 0, 0, 1), 7);
    ns_time_t gap[3];
    int pairs[3][2] = { { 0, 1 }, { 2, 3 }, { 5, 6 } };
    for (int i = 0; i < 3; i++)
        gap[i] = nth_seg(&w.wa, 0, 0, 1, pairs[i][1])->at - nth_seg(&w.wa, 0, 0, 1, pairs[i][0])->at;
    CU_ASSERT_EQUAL(gap[0], 200 * NS_MSEC);
    /* The ACK of segment 1's retransmission gave no sample: still backed
     * off for segment 2. */
    CU_ASSERT_EQUAL(gap[1], 400 * NS_MSEC);
    /* Segment 3, never retransmitted, gave a sample: back to 200 ms. */
    CU_ASSERT_EQUAL(gap[2], 200 * NS_MSEC);
    CU_ASSERT_EQUAL(info(c).timeouts, 3);
    CU_ASSERT_EQUAL(info(c).bytes_acked, 400);
    world_free(&w);
}

/* ---- recovery ---------------------------------------------------------- */

struct bulk_result {
    struct ns_tcp_info ci;      /* the sender's */
    ns_time_t done;             /* the receiver saw the FIN */
    uint64_t  received;
    int       wire_data;        /* data segments the sender put on the wire */
};

/* 300 kB over 10 Mbit/s, 10 ms, dropping the listed data segments (the
 * k-th data segment sent, 1-based) once. */
static struct bulk_result bulk(const char *cc, bool sack, const uint32_t *drops, int ndrops)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    for (int i = 0; i < ndrops; i++)
        w.wa.nth[w.wa.nnth++] = drops[i];
    struct ns_tcp_opts o = opts();
    o.sack = sack;
    o.cc = cc;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 300000;
    c->close_on_est = true;
    world_run(&w);
    struct bulk_result r = { info(c), w.srv ? w.srv->eof_at : -1, w.srv ? w.srv->rx->len : 0,
                             count_segs(&w.wa, 0, 0, 1) };
    CU_ASSERT_EQUAL(c->error_at, -1);
    world_free(&w);
    return r;
}

static void test_fast_retransmit(void)
{
    static const uint32_t one[] = { 5 };
    for (int sack = 0; sack < 2; sack++) {
        struct bulk_result r = bulk("newreno", sack, one, 1);
        CU_ASSERT_EQUAL(r.received, 300000);
        CU_ASSERT_EQUAL(r.ci.retransmits, 1);
        CU_ASSERT_EQUAL(r.ci.fast_retransmits, 1);
        CU_ASSERT_EQUAL(r.ci.timeouts, 0);
        CU_ASSERT_EQUAL(r.ci.recoveries, 1);
    }
}

/* Three losses in one window.  NewReno (RFC 6582) retransmits one hole
 * per partial ACK and stays in recovery: no timeout, one reduction.  SACK
 * (RFC 6675) repairs all three within about one RTT.  Reno leaves
 * recovery at the first partial ACK and needs a timeout or another fast
 * retransmit, halving the window again each time (RFC 5681 has no
 * "recover" guard), so it finishes last. */
static void test_newreno_sack_reno(void)
{
    static const uint32_t three[] = { 30, 33, 36 };
    struct bulk_result nr = bulk("newreno", false, three, 3);
    CU_ASSERT_EQUAL(nr.received, 300000);
    CU_ASSERT_EQUAL(nr.ci.timeouts, 0);
    CU_ASSERT_EQUAL(nr.ci.recoveries, 1);
    CU_ASSERT_EQUAL(nr.ci.retransmits, 3);

    struct bulk_result sk = bulk("newreno", true, three, 3);
    CU_ASSERT_EQUAL(sk.received, 300000);
    CU_ASSERT_EQUAL(sk.ci.timeouts, 0);
    CU_ASSERT_EQUAL(sk.ci.recoveries, 1);
    CU_ASSERT_EQUAL(sk.ci.retransmits, 3);
    CU_ASSERT_TRUE(sk.done < nr.done);

    struct bulk_result re = bulk("reno", false, three, 3);
    CU_ASSERT_EQUAL(re.received, 300000);
    CU_ASSERT_TRUE(re.ci.timeouts + re.ci.recoveries > 1);
    CU_ASSERT_TRUE(re.done > nr.done);
    if (re.ci.timeouts + re.ci.recoveries <= 1)
        fprintf(stderr, "\n  reno: timeouts %" PRIu64 " recoveries %" PRIu64 "\n",
                re.ci.timeouts, re.ci.recoveries);
}

/* Six losses in one window: SACK still recovers without a timeout and
 * retransmits only what was lost. */
static void test_sack_many(void)
{
    static const uint32_t six[] = { 30, 32, 34, 36, 38, 40 };
    struct bulk_result sk = bulk("newreno", true, six, 6);
    struct bulk_result nr = bulk("newreno", false, six, 6);
    CU_ASSERT_EQUAL(sk.received, 300000);
    CU_ASSERT_EQUAL(nr.received, 300000);
    CU_ASSERT_EQUAL(sk.ci.timeouts, 0);
    CU_ASSERT_EQUAL(sk.ci.recoveries, 1);
    CU_ASSERT_EQUAL(sk.ci.retransmits, 6);
    CU_ASSERT_TRUE(sk.ci.retransmits <= nr.ci.retransmits);
    CU_ASSERT_TRUE(sk.done < nr.done);
}

/* ---- flow control ------------------------------------------------------ */

static void fast_reader(struct app *a) { ns_tcp_set_read_rate(a->c, 200000); }

/* A receiver that reads 200 kB/s with a 64 kB buffer: the sender fills
 * the window, sees it shut, probes it while the reader pauses, and the
 * transfer proceeds at the reader's pace. */
static void test_flow_control(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 5 * NS_MSEC, 0);
    struct ns_tcp_opts o = opts();
    o.rcvbuf = 65536;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, 100 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    ns_tcp_set_read_rate(w.srv->c, 1);            /* a paused reader */
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 1000000, NULL));
    ns_tcp_close(c->c);
    call_at(&w, 5 * NS_SEC, fast_reader, w.srv);
    world_run(&w);

    CU_ASSERT_EQUAL(w.srv->rx->len, 1000000);
    int zero = 0;
    for (guint i = 0; i < w.wb.segs->len; i++)
        if (seg_at(&w.wb, i)->win == 0 && !(seg_at(&w.wb, i)->flags & F_SYN))
            zero++;
    CU_ASSERT_TRUE(zero > 0);
    /* Probes: one byte beyond the shut window, while the reader paused. */
    int probes = 0;
    for (guint i = 0; i < w.wa.segs->len; i++)
        if (seg_at(&w.wa, i)->len == 1 && seg_at(&w.wa, i)->at < 5 * NS_SEC)
            probes++;
    CU_ASSERT_TRUE(probes >= 3);
    /* Nothing got through beyond the buffer while paused. */
    uint64_t by5 = 0;
    for (guint i = 0; i < w.wa.segs->len; i++)
        if (seg_at(&w.wa, i)->at < 5 * NS_SEC)
            by5 += seg_at(&w.wa, i)->len;
    CU_ASSERT_TRUE(by5 <= 65536 + 16);
    /* Then the reader's pace: (1e6 - 64 kB) at 200 kB/s is 4.67 s. */
    double secs = (w.srv->eof_at - 5 * NS_SEC) / 1e9;
    CU_ASSERT_TRUE(secs > 4.5 && secs < 4.9);
    if (!(secs > 4.5 && secs < 4.9))
        fprintf(stderr, "\n  reader-paced transfer took %.3f s\n", secs);
    CU_ASSERT_EQUAL(info(c).timeouts, 0);
    /* At most the probe byte, resent in the first segment after. */
    CU_ASSERT_TRUE(info(c).retransmits <= 1);
    world_free(&w);
}

/* ---- Nagle and delayed ACKs -------------------------------------------- */

static void ten_small(struct app *a)
{
    for (int i = 0; i < 10; i++)
        CU_ASSERT_TRUE(ns_tcp_send(a->c, NULL, 100, NULL));
}

static void test_nagle(void)
{
    for (int nodelay = 0; nodelay < 2; nodelay++) {
        struct world w;
        world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
        struct ns_tcp_opts o = opts();
        o.nodelay = nodelay;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        call_at(&w, NS_SEC, ten_small, c);
        world_run(&w);
        CU_ASSERT_EQUAL(w.srv->rx->len, 1000);
        if (nodelay) {
            CU_ASSERT_EQUAL(count_segs(&w.wa, 0, 0, 1), 10);
        } else {
            /* The first at once; the other nine wait for its ACK. */
            CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, 0, 0, 1), 2);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 0)->len, 100);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 1)->len, 900);
            ns_time_t first = ser(TS_FRAME + 100, 10000000);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 1)->at,
                            NS_SEC + first + 10 * NS_MSEC + ser(TS_FRAME, 10000000) +
                            10 * NS_MSEC + ser(TS_FRAME + 900, 10000000));
        }
        world_free(&w);
    }
}

static void test_delayed_ack(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = opts();
    o.nodelay = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    /* 40 full segments at 1 s: quick ACKs first, then one ACK every
     * second segment. */
    world_run_until(&w, NS_SEC);
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 40 * 1448, NULL));
    world_run_until(&w, 2 * NS_SEC);
    /* The first data segment is ACKed the moment it arrives. */
    struct seen *d0 = nth_seg(&w.wa, 0, 0, 1, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d0);
    int n_pure = 0;
    ns_time_t first_ack = -1;
    for (guint i = 0; i < w.wb.segs->len; i++) {
        struct seen *s = seg_at(&w.wb, i);
        if (s->flags == F_ACK && s->at > NS_SEC) {
            n_pure++;
            if (first_ack < 0)
                first_ack = s->at;
        }
    }
    CU_ASSERT_EQUAL(first_ack, d0->at + 10 * NS_MSEC + ser(TS_FRAME, 10000000));
    /* 40 segments: fewer ACKs than segments, more than a quarter. */
    CU_ASSERT_TRUE(n_pure < 40 && n_pure >= 20);
    int quick = 0;
    {
        /* After the quick ACKs, ACKs acknowledge two segments each. */
        uint32_t prev = 0;
        int pairs = 0;
        for (guint i = 0; i < w.wb.segs->len; i++) {
            struct seen *s = seg_at(&w.wb, i);
            if (s->flags != F_ACK || s->at <= NS_SEC)
                continue;
            if (prev && s->ack - prev == 1448)
                quick++;
            if (prev && s->ack - prev == 2 * 1448)
                pairs++;
            prev = s->ack;
        }
        CU_ASSERT_TRUE(quick >= 10);
        CU_ASSERT_TRUE(pairs >= 5);
        CU_ASSERT_EQUAL(quick + pairs + 1, n_pure);
    }
    /* A lone segment later: ACKed after the delayed-ACK timeout. */
    call_at(&w, 3 * NS_SEC, do_send100, c);
    world_run(&w);
    struct seen *lone = nth_seg(&w.wa, 0, 0, 1, 40);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lone);
    struct seen *last = seg_at(&w.wb, w.wb.segs->len - 1);
    CU_ASSERT_EQUAL(last->at, lone->at + 10 * NS_MSEC + 40 * NS_MSEC + ser(TS_FRAME, 10000000));
    world_free(&w);
}

/* ---- options ----------------------------------------------------------- */

static double goodput_over(ns_time_t delay, double rate, bool ws, uint32_t rcvbuf, int *shift)
{
    struct world w;
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.rate_bps = rate;
    lo.delay = delay;
    lo.qcfg.limit_pkts = 2000;
    world_init_opts(&w, 1, &lo);
    struct ns_tcp_opts o = opts();
    o.window_scale = ws;
    o.rcvbuf = rcvbuf;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 4000000;
    c->close_on_est = true;
    world_run(&w);
    *shift = seg_at(&w.wa, 0)->wscale;
    CU_ASSERT_EQUAL(w.srv->rx->len, 4000000);
    double secs = (w.srv->eof_at - c->established_at) / 1e9;
    world_free(&w);
    return 4e6 * 8 / secs;
}

/* A 4 MiB buffer needs shift 7 (4 MiB >> 7 = 32768 <= 65535 < 65536);
 * over 100 Mbit/s and 100 ms RTT the flow beats 64 KiB per RTT many times
 * over, which it cannot without the option. */
static void test_window_scale(void)
{
    int shift = 0;
    double scaled = goodput_over(50 * NS_MSEC, 100e6, true, 4u << 20, &shift);
    CU_ASSERT_EQUAL(shift, 7);
    double cap = 65536.0 * 8 / 0.1;               /* 64 KiB per RTT: 5.2 Mbit/s */
    CU_ASSERT_TRUE(scaled > 3 * cap);
    double plain = goodput_over(50 * NS_MSEC, 100e6, false, 65535, &shift);
    CU_ASSERT_EQUAL(shift, -1);
    CU_ASSERT_TRUE(plain < cap);
    if (!(scaled > 3 * cap) || !(plain < cap))
        fprintf(stderr, "\n  scaled %.0f, plain %.0f, 64 KiB/RTT %.0f bit/s\n", scaled, plain, cap);
}

static uint32_t max_payload(struct watch *w)
{
    uint32_t m = 0;
    for (guint i = 0; i < w->segs->len; i++)
        if (seg_at(w, i)->len > m)
            m = seg_at(w, i)->len;
    return m;
}

/* Payload per segment = min(our mss, peer's mss) - 12 with timestamps. */
static void test_mss(void)
{
    for (int ts = 0; ts < 2; ts++) {
        struct world w;
        world_init(&w, 1, 10e6, NS_MSEC, 0);
        struct ns_tcp_opts so = opts(), co = opts();
        so.timestamps = co.timestamps = ts;
        co.mss = 1000;
        struct app *t = server_template(&w);
        t->send_on_est = 20000;
        world_listen(&w, &so);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &co);
        c->send_on_est = 20000;
        world_run(&w);
        CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->mss, 1000);
        CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->mss, 1460);
        CU_ASSERT_EQUAL(max_payload(&w.wa), ts ? 988 : 1000);
        CU_ASSERT_EQUAL(max_payload(&w.wb), ts ? 988 : 1000);
        /* Timestamps on every segment once negotiated (RFC 7323 3.2). */
        int with_ts = 0;
        for (guint i = 0; i < w.wa.segs->len; i++)
            with_ts += seg_at(&w.wa, i)->ts;
        CU_ASSERT_EQUAL(with_ts, ts ? (int)w.wa.segs->len : 0);
        CU_ASSERT_EQUAL(c->rx->len, 20000);
        world_free(&w);
    }
}

/* ---- ECN --------------------------------------------------------------- */

static void test_ecn(void)
{
    struct world w;
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.rate_bps = 10e6;
    lo.delay = 10 * NS_MSEC;
    lo.queue = "codel";
    lo.qcfg.ecn = true;
    lo.qcfg.limit_pkts = 1000;
    world_init_opts(&w, 1, &lo);
    struct ns_tcp_opts o = opts();
    o.ecn = true;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 4000000;
    c->close_on_est = true;
    world_run(&w);
    CU_ASSERT_EQUAL(w.srv->rx->len, 4000000);
    int ce = 0, ect = 0, ece = 0, cwr = 0;
    for (guint i = 0; i < w.wa.segs->len; i++) {
        struct seen *s = seg_at(&w.wa, i);
        ce += s->ecn == NS_ECN_CE;
        ect += s->ecn == NS_ECN_ECT0 && s->len > 0;
        cwr += (s->flags & F_CWR) && !(s->flags & F_SYN);
    }
    for (guint i = 0; i < w.wb.segs->len; i++)
        ece += (seg_at(&w.wb, i)->flags & F_ECE) && !(seg_at(&w.wb, i)->flags & F_SYN);
    struct ns_tcp_info i = info(c);
    CU_ASSERT_TRUE(ce > 0);
    CU_ASSERT_TRUE(ect > 0);
    CU_ASSERT_TRUE(ece >= ce);
    CU_ASSERT_TRUE(i.ecn_reductions > 0);
    CU_ASSERT_EQUAL(i.ecn_reductions, (uint64_t)cwr);      /* one CWR per reduction */
    CU_ASSERT_TRUE(i.ecn_reductions < (uint64_t)ece);      /* once per window */
    CU_ASSERT_EQUAL(i.retransmits, 0);
    CU_ASSERT_EQUAL(i.timeouts, 0);
    const struct ns_link_stats *st = ns_link_stats(w.l, 0);
    uint64_t drops = 0;
    for (int k = 0; k < NS_DROP_NCAUSES; k++)
        drops += st->drops[k];
    CU_ASSERT_EQUAL(drops, 0);
    if (ce == 0 || i.ecn_reductions == 0)
        fprintf(stderr, "\n  ce %d ece %d cwr %d reductions %" PRIu64 "\n", ce, ece, cwr,
                i.ecn_reductions);
    world_free(&w);
}

/* ---- bad input --------------------------------------------------------- */

static void test_bad_input(void)
{
    struct world w;
    world_init(&w, 1, 10e6, NS_MSEC, 0);
    GError *err = NULL;
    struct ns_tcp_opts o = opts();
    o.cc = "vegas";
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "unknown congestion control 'vegas' (known: reno, newreno, cubic)");
    o = opts();
    o.mss = 50;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option mss 50 is outside [88, 65495]");
    o = opts();
    o.mss = 70000;
    CU_ASSERT_PTR_NULL(ns_tcp_listen(w.b, PORT, &o, NULL, NULL, &err));
    check_error(&err, "TCP option mss 70000 is outside [88, 65495]");
    o = opts();
    o.sndbuf = 100;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option sndbuf 100 is outside [mss, 1 GiB]");
    o = opts();
    o.rcvbuf = (1u << 30) + 1;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option rcvbuf 1073741825 is outside [mss, 1 GiB]");
    o = opts();
    o.window_scale = false;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option rcvbuf 4194304 needs window_scale (the largest unscaled "
                      "window is 65535)");
    o = opts();
    o.init_cwnd = 0;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option init_cwnd 0 is outside [1, 1000] segments");
    o = opts();
    o.init_cwnd = 1001;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option init_cwnd 1001 is outside [1, 1000] segments");
    CU_ASSERT_EQUAL(ns_tcp_count(w.sim), 0);       /* nothing was created */

    world_listen(&w, NULL);
    CU_ASSERT_PTR_NULL(ns_tcp_listen(w.b, PORT, NULL, NULL, NULL, &err));
    check_error(&err, "host 'b': TCP port 80 is already listening");
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), 0, NULL, &err));
    check_error(&err, "host 'a': cannot connect to port 0 of that address");

    /* Sending on a connection that is over names it. */
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    c->close_on_est = true;
    struct app *t = server_template(&w);
    t->close_on_eof = true;
    world_run(&w);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_FALSE(ns_tcp_send(c->c, "x", 1, &err));
    check_error(&err, "connection a:49152>b:80 cannot send: it is CLOSED and shut down");
    /* A send that does not fit the buffer. */
    o = opts();
    o.sndbuf = 10000;
    struct app *d = world_connect(&w, w.a, w.b, PORT, &o);
    CU_ASSERT_FALSE(ns_tcp_send(d->c, NULL, 10001, &err));
    check_error(&err, "connection a:49153>b:80: 10001 bytes do not fit the send buffer "
                      "(10000 free of 10000)");
    ns_tcp_abort(d->c);
    world_run(&w);
    world_free(&w);
}

/* ---- pcap and tshark --------------------------------------------------- */

static char *run_tshark(char **argv_tail, int ntail)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark)
        return NULL;
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, tshark);
    for (int i = 0; i < ntail; i++)
        g_ptr_array_add(argv, argv_tail[i]);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *errout = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                &out, &errout, &status, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    g_clear_error(&err);
    g_free(errout);
    g_ptr_array_free(argv, TRUE);
    g_free(tshark);
    return out;
}

static int count_substr(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A lossy transfer captured at the client: tshark decodes it clean, and
 * the frames it calls retransmissions are the ones we made. */
static void test_pcap_tshark(void)
{
    struct world w;
    world_init(&w, 3, 10e6, 5 * NS_MSEC, 0.02);
    world_out(&w, "pcap");
    GError *err = NULL;
    ns_pcap *pc = ns_pcap_open(w.sim, "a.pcap", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    ns_iface_capture(ns_host_iface(w.a, 0), pc);
    struct ns_tcp_opts o = opts();
    o.msl = NS_SEC;
    struct app *t = server_template(&w);
    t->close_on_eof = true;
    t->reply = 3000;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    wait_established(&w, c);
    uint8_t bytes[3333];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 7 + 1);
    CU_ASSERT_TRUE(ns_tcp_send(c->c, bytes, sizeof bytes, NULL));
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 400000, NULL));
    ns_tcp_close(c->c);
    world_run(&w);
    world_commit(&w);
    CU_ASSERT_EQUAL(w.srv->rx->len, 400000 + sizeof bytes);

    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    char *v_args[] = { "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                       "-o", "tcp.relative_sequence_numbers:TRUE", "-r", file, "-V" };
    char *out = run_tshark(v_args, G_N_ELEMENTS(v_args));
    if (!out) {
        printf("\n  note: tshark not found, pcap check skipped\n");
        g_free(file);
        world_free(&w);
        return;
    }
    CU_ASSERT_EQUAL(count_substr(out, "Malformed"), 0);
    CU_ASSERT_EQUAL(count_substr(out, "[Checksum Status: Bad]"), 0);
    CU_ASSERT_TRUE(count_substr(out, "[Checksum Status: Good]") > 100);
    CU_ASSERT_TRUE(count_substr(out, "Window scale: 7") >= 2);
    CU_ASSERT_TRUE(count_substr(out, "SACK permitted") >= 2);
    g_free(out);

    /* Every frame tshark flags, by kind. */
    char *f_args[] = { "-r", file, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update",
                       "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.analysis.retransmission",
                       "-e", "tcp.analysis.fast_retransmission", "-e",
                       "tcp.analysis.spurious_retransmission", "-e", "tcp.analysis.duplicate_ack",
                       "-e", "_ws.expert.message", "-E", "separator=|" };
    out = run_tshark(f_args, G_N_ELEMENTS(f_args));
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    int rexmit_a = 0, other = 0;
    char **lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        char **f = g_strsplit(*l, "|", 6);
        bool is_rexmit = f[1] && f[2] && f[3] && (*f[1] || *f[2] || *f[3]);
        bool is_dup = f[4] && *f[4];
        if (is_rexmit && f[0] && strcmp(f[0], "49152") == 0)
            rexmit_a++;
        else if (!is_dup) {
            other++;
            fprintf(stderr, "\n  tshark flags: %s\n", *l);
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(out);
    struct ns_tcp_info ci = info(c);
    CU_ASSERT_TRUE(ci.retransmits > 0);
    CU_ASSERT_EQUAL((uint64_t)rexmit_a, ci.retransmits);
    if ((uint64_t)rexmit_a != ci.retransmits)
        fprintf(stderr, "\n  tshark: %d retransmissions, the model: %" PRIu64 "\n", rexmit_a,
                ci.retransmits);
    CU_ASSERT_EQUAL(other, 0);
    g_free(file);
    world_free(&w);
}

/* ---- determinism ------------------------------------------------------- */

static char *lossy_events(uint64_t seed, const char *name)
{
    struct world w;
    world_init(&w, seed, 10e6, 5 * NS_MSEC, 0.03);
    world_out(&w, name);
    struct ns_tcp_opts o = opts();
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 200000;
    c->close_on_est = true;
    world_run(&w);
    world_commit(&w);
    char *ev = world_file(&w, "events.tsv");
    world_free(&w);
    return ev;
}

static void test_determinism(void)
{
    char *a = lossy_events(1, "det1"), *b = lossy_events(1, "det2"), *c = lossy_events(2, "det3");
    CU_ASSERT_TRUE(strlen(a) > 10000);
    CU_ASSERT_TRUE(strstr(a, "tcp.seg") != NULL);
    check_str(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    g_free(a);
    g_free(b);
    g_free(c);
}

void test_tcp_register(void)
{
    CU_pSuite s = ns_test_suite("tcp", NULL, NULL);
    ns_test_add(s, "handshake: 1 RTT for the client, 1.5 for the server", test_handshake_timing);
    ns_test_add(s, "ISNs come from the seeded stream", test_isn_seeded);
    ns_test_add(s, "bytes and lengths come back exactly over loss", test_stream_exact);
    ns_test_add(s, "four-way close, FIN-WAIT-2, TIME-WAIT 2 MSL", test_four_way_close);
    ns_test_add(s, "FIN-WAIT-2 after close() times out; after shutdown() not",
                test_fin_wait_2_timeout);
    ns_test_add(s, "simultaneous close goes through CLOSING", test_simultaneous_close);
    ns_test_add(s, "simultaneous open goes through SYN-RECEIVED", test_simultaneous_open);
    ns_test_add(s, "half-close: the peer still sends", test_half_close);
    ns_test_add(s, "SYN to a closed port: RST, refused", test_refused);
    ns_test_add(s, "abort sends RST; the peer hears reset", test_abort);
    ns_test_add(s, "listener closed mid-handshake: child completes, not accepted",
                test_listener_closed_mid_handshake);
    ns_test_add(s, "lost SYN: 1 s then 2 s backoff", test_lost_syn);
    ns_test_add(s, "SYNs never answered: timeout after syn_retries", test_syn_give_up);
    ns_test_add(s, "lost SYN-ACK is resent", test_lost_synack);
    ns_test_add(s, "lost final ACK: SYN-ACK resent, ACK again", test_lost_final_ack);
    ns_test_add(s, "lost FIN: min RTO, then doubled", test_lost_fin);
    ns_test_add(s, "data never acknowledged: timeout after retries", test_data_give_up);
    ns_test_add(s, "RFC 6298 SRTT, RTTVAR, RTO, min RTO", test_rfc6298);
    ns_test_add(s, "Karn without timestamps; samples with them", test_karn);
    ns_test_add(s, "the backed-off RTO stays until a new RTT sample", test_backoff_kept);
    ns_test_add(s, "fast retransmit on three duplicate ACKs", test_fast_retransmit);
    ns_test_add(s, "NewReno partial ACKs, SACK, Reno", test_newreno_sack_reno);
    ns_test_add(s, "SACK: six losses in one window", test_sack_many);
    ns_test_add(s, "flow control: zero window, probes, reader's pace", test_flow_control);
    ns_test_add(s, "Nagle coalesces; nodelay does not", test_nagle);
    ns_test_add(s, "delayed ACK: quick, every second, timeout", test_delayed_ack);
    ns_test_add(s, "window scale 7 and a long fat link", test_window_scale);
    ns_test_add(s, "MSS: min of both, less 12 with timestamps", test_mss);
    ns_test_add(s, "ECN: CE, ECE, one reduction per window, CWR", test_ecn);
    ns_test_add(s, "bad input: exact messages", test_bad_input);
    ns_test_add(s, "pcap of a lossy transfer reads clean in tshark", test_pcap_tshark);
    ns_test_add(s, "same seed, same events.tsv", test_determinism);
}
