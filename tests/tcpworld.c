/* tcpworld.c — the fixture the TCP suites share: two hosts on one link,
 * a watch on each direction, the applications on its connections.  See
 * tcpworld.h for the world and the frame sizes the tests count on. */
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/output.h"
#include "netsim/trace.h"
#include "tcpworld.h"

/* ceil(frame bits * 1e9 / rate): serialisation of a frame of `bytes`. */
ns_time_t frame_time(uint32_t bytes, uint64_t rate)
{
    uint64_t bits = (uint64_t)(bytes < 60 ? 60 : bytes) * 8;
    return (ns_time_t)((bits * 1000000000ull + rate - 1) / rate);
}

void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

void check_error(GError **err, const char *want)
{
    CU_ASSERT_PTR_NOT_NULL(*err);
    if (*err)
        check_str((*err)->message, want);
    g_clear_error(err);
}

/* ---- the watch: records segments on one link direction, drops some ---- */

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

struct seen *seg_at(struct watch *w, guint i)
{
    return &g_array_index(w->segs, struct seen, i);
}

/* Segments with (flags & mask) == want, and their count. */
int count_segs(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len)
{
    int n = 0;
    for (guint i = 0; i < w->segs->len; i++)
        if ((seg_at(w, i)->flags & mask) == want && seg_at(w, i)->len >= min_len)
            n++;
    return n;
}

/* The k-th (0-based) such segment, or NULL. */
struct seen *nth_seg(struct watch *w, uint8_t mask, uint8_t want, uint32_t min_len, int k)
{
    for (guint i = 0; i < w->segs->len; i++)
        if ((seg_at(w, i)->flags & mask) == want && seg_at(w, i)->len >= min_len && k-- == 0)
            return seg_at(w, i);
    return NULL;
}

/* ---- applications ---- */

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

void world_init_opts(struct world *w, uint64_t seed, const struct ns_link_opts *lo)
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

void world_init(struct world *w, uint64_t seed, double rate, ns_time_t delay, double loss)
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
void world_out(struct world *w, const char *name)
{
    GError *err = NULL;
    w->dir = g_build_filename(ns_test_tmpdir(), "tcp", name, NULL);
    CU_ASSERT_TRUE(ns_output_set_dir(w->sim, w->dir, &err));
    CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

char *world_file(struct world *w, const char *name)
{
    char *p = g_build_filename(w->dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

void world_commit(struct world *w)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(w->sim, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

ns_tcp_listener *world_listen(struct world *w, const struct ns_tcp_opts *o)
{
    GError *err = NULL;
    w->lis = ns_tcp_listen(w->b, PORT, o, on_accept, w, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lis);
    return w->lis;
}

struct app *world_connect(struct world *w, ns_host *from, ns_host *to, uint16_t port,
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

void world_run(struct world *w)
{
    CU_ASSERT_EQUAL(ns_sim_run(w->sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_pkt_live(w->sim), 0);
}

void world_run_until(struct world *w, ns_time_t until)
{
    ns_sim_run(w->sim, until, 0);
}

/* Runs until c is ESTABLISHED (RFC 9293 3.10.4: a CLOSE in SYN-SENT
 * deletes the TCB with its queued data, so writers wait for it). */
void wait_established(struct world *w, struct app *c)
{
    for (ns_time_t t = 0; c->established_at < 0 && t < 60 * NS_SEC; t += 10 * NS_MSEC)
        ns_sim_run(w->sim, t, 0);
    CU_ASSERT_TRUE(c->established_at >= 0);
}

void world_free(struct world *w)
{
    ns_sim_free(w->sim);
    g_ptr_array_free(w->apps, TRUE);
    g_array_free(w->wa.segs, TRUE);
    g_array_free(w->wb.segs, TRUE);
    g_free(w->srv_tmpl);
    g_free(w->dir);
}

struct app *server_template(struct world *w)
{
    if (!w->srv_tmpl)
        w->srv_tmpl = g_new0(struct app, 1);
    w->srv_tmpl->established_at = w->srv_tmpl->eof_at = -1;
    w->srv_tmpl->closed_at = w->srv_tmpl->error_at = -1;
    return w->srv_tmpl;
}

struct ns_tcp_opts default_opts(void)
{
    struct ns_tcp_opts o;
    ns_tcp_opts_defaults(&o);
    return o;
}

struct ns_tcp_info app_info(const struct app *a)
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

void call_at(struct world *w, ns_time_t at, void (*fn)(struct app *), struct app *a)
{
    struct at_call *c = g_new(struct at_call, 1);
    *c = (struct at_call){ fn, a };
    CU_ASSERT_NOT_EQUAL(ns_event_at(w->sim, at, at_fire, c, 0, NULL).slot, 0);
}

void do_close(struct app *a) { ns_tcp_close(a->c); }
void do_shutdown(struct app *a) { ns_tcp_shutdown(a->c); }
void do_abort(struct app *a) { ns_tcp_abort(a->c); }
void do_send100(struct app *a) { CU_ASSERT_TRUE(ns_tcp_send(a->c, NULL, 100, NULL)); }

/* The tcp.state lines of the event log for node `node`, as
 * "FROM>TO@seconds;..." (or just "TO;..." when !times). */
char *states_of(struct world *w, const char *node, bool times)
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
