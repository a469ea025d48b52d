/* test_net.c — the network layer driven from C: link timing to the
 * nanosecond, queues, loss and link failure, IPv4 routing and TTL, ICMP,
 * UDP, host faults, the CPU model, address rules, traffic generators, pcap
 * as tshark reads it, the counters summary and determinism.
 *
 * Rates are chosen so that serialisation times are not whole numbers of
 * nanoseconds and every rounding shows: a UDP datagram of 100 payload
 * bytes is a 142-byte frame (14 + 20 + 8 + 100), 1136 bits, which takes
 * 378,666.67 ns at 3 Mbit/s, so a link must charge 378,667.  Each test
 * runs its sim until no event is left and checks that every packet was
 * freed before freeing the sim. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/event.h"
#include "netsim/icmp.h"
#include "netsim/ipv4.h"
#include "netsim/link.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/rng.h"
#include "netsim/trace.h"
#include "netsim/traffic.h"
#include "netsim/udp.h"
#include "tests.h"

#define PAYLOAD 100
#define PORT    9
#define PROBE   253                     /* a test protocol number */

/* Bits a link charges for a UDP datagram of `payload` bytes. */
static uint64_t udp_bits(uint32_t payload)
{
    uint32_t frame = 14 + 20 + 8 + payload;
    return (uint64_t)(frame < 60 ? 60 : frame) * 8;
}

/* ceil(bits * 1e9 / rate): the serialisation time of `bits`. */
static ns_time_t ser(uint64_t bits, uint64_t rate)
{
    return (ns_time_t)((bits * 1000000000ull + rate - 1) / rate);
}

static void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

/* Asserts err carries exactly `want`, then clears it. */
static void check_error(GError **err, const char *want)
{
    CU_ASSERT_PTR_NOT_NULL(*err);
    if (*err)
        check_str((*err)->message, want);
    g_clear_error(err);
}

static uint32_t ip(const char *text)
{
    uint32_t a = 0;
    CU_ASSERT_TRUE(ns_addr_parse(text, &a, NULL));
    return a;
}

/* ---- a world: a sim, what its sockets received, what it must free ---- */

struct rec {                    /* one datagram received */
    ns_time_t at;
    uint32_t  src;
    uint32_t  dst;
    uint16_t  port;             /* the receiving socket's */
    uint32_t  len;
    uint8_t   ttl;
    uint32_t  tag;              /* first 4 payload bytes, or ~0 if none */
};

struct world {
    ns_sim    *sim;
    GArray    *rx;              /* struct rec, arrival order */
    GPtrArray *owned;           /* event arguments, freed at the end */
    char      *dir;             /* output folder, or NULL */
};

static void world_init(struct world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(seed);
    w->rx = g_array_new(FALSE, FALSE, sizeof(struct rec));
    w->owned = g_ptr_array_new_with_free_func(g_free);
}

/* Outputs (and the event log) go to a fresh folder named `name`. */
static void world_out(struct world *w, const char *name)
{
    GError *err = NULL;
    w->dir = g_build_filename(ns_test_tmpdir(), "net", name, NULL);
    CU_ASSERT_TRUE(ns_output_set_dir(w->sim, w->dir, &err));
    CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static void *own(struct world *w, size_t size)
{
    void *p = g_malloc0(size);
    g_ptr_array_add(w->owned, p);
    return p;
}

/* Runs until no event is left; everything sent must have been freed. */
static void world_run(struct world *w)
{
    CU_ASSERT_EQUAL(ns_sim_run(w->sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_pkt_live(w->sim), 0);
}

static void world_commit(struct world *w)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(w->sim, &err));
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

static void world_free(struct world *w)
{
    ns_sim_free(w->sim);
    g_array_free(w->rx, TRUE);
    g_ptr_array_free(w->owned, TRUE);
    g_free(w->dir);
}

static struct rec *rx_at(struct world *w, guint i)
{
    return &g_array_index(w->rx, struct rec, i);
}

static ns_host *host(struct world *w, const char *name, bool router)
{
    GError *err = NULL;
    ns_host *h = ns_host_new(w->sim, name, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ns_host_set_forwarding(h, router);
    return h;
}

static ns_link *link_opts(struct world *w, ns_host *a, ns_host *b, const struct ns_link_opts *o)
{
    GError *err = NULL;
    ns_link *l = ns_link_new(w->sim, a, b, o, &err);
    if (err)
        fprintf(stderr, "\nlink: %s\n", err->message);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    return l;
}

static ns_link *link_rd(struct world *w, ns_host *a, ns_host *b, double rate, ns_time_t delay)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = rate;
    o.delay = delay;
    return link_opts(w, a, b, &o);
}

/* A link with given addresses (/24). */
static ns_link *link_addrs(struct world *w, ns_host *a, ns_host *b, const char *aa,
                           const char *ba)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.a_addr = ip(aa);
    o.b_addr = ip(ba);
    return link_opts(w, a, b, &o);
}

static void on_rx(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    struct world *w = ud;
    struct rec r = {
        .at = ns_sim_now(w->sim), .src = src, .dst = ns_ip_dst(p), .port = ns_udp_port(s),
        .len = p->payload_len, .ttl = ns_ip_ttl(p), .tag = ~0u,
    };
    if (p->payload && p->payload_len >= 4) {
        uint8_t b[4];
        ns_pkt_copy_payload(p, 0, 4, b);
        r.tag = ns_get32(b);
    }
    g_array_append_val(w->rx, r);
}

static ns_udp *listen_on(struct world *w, ns_host *h, uint16_t port)
{
    GError *err = NULL;
    ns_udp *s = ns_udp_bind(h, port, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ns_udp_on_receive(s, on_rx, w);
    return s;
}

struct tx {                     /* a datagram to send at a time */
    ns_udp   *s;
    uint32_t  dst;
    uint16_t  port;
    uint32_t  len;
    uint32_t  tag;
    bool      real;             /* real bytes: the tag, then 'x's */
    bool      sent;             /* what ns_udp_send returned */
};

static void do_tx(ns_sim *sim, void *arg)
{
    struct tx *t = arg;
    if (!t->real) {
        t->sent = ns_udp_send(t->s, t->dst, t->port, NULL, t->len);
        return;
    }
    uint8_t *b = g_malloc(t->len);
    memset(b, 'x', t->len);
    if (t->len >= 4)
        ns_put32(b, t->tag);
    t->sent = ns_udp_send(t->s, t->dst, t->port, b, t->len);
    g_free(b);
}

static struct tx *send_at(struct world *w, ns_time_t at, ns_udp *s, uint32_t dst,
                          uint16_t port, uint32_t len, uint32_t tag, bool real)
{
    struct tx *t = own(w, sizeof *t);
    *t = (struct tx){ s, dst, port, len, tag, real, false };
    CU_ASSERT_NOT_EQUAL(ns_event_at(w->sim, at, do_tx, t, 0, NULL).slot, 0);
    return t;
}

struct link_req {
    ns_link *l;
    bool     up;
};

static void do_link(ns_sim *sim, void *arg)
{
    struct link_req *r = arg;
    ns_link_set_up(r->l, r->up);
}

static void link_at(struct world *w, ns_time_t at, ns_link *l, bool up)
{
    struct link_req *r = own(w, sizeof *r);
    *r = (struct link_req){ l, up };
    ns_event_at(w->sim, at, do_link, r, 0, NULL);
}

/* ---- timing ----------------------------------------------------------- */

static void test_one_link_timing(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 3e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    send_at(&w, 5 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    ns_time_t one = 378667 + NS_MSEC;               /* 1136 bits at 3 Mbit/s, rounded up */
    CU_ASSERT_EQUAL(ser(udp_bits(PAYLOAD), 3000000), 378667);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, one);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 5 * NS_SEC + one);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->src, ns_host_addr(a));
    CU_ASSERT_EQUAL(rx_at(&w, 0)->len, PAYLOAD);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL);
    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->tx_pkts, 2);
    CU_ASSERT_EQUAL(st->tx_bytes, 2 * 142);
    CU_ASSERT_EQUAL(st->rx_pkts, 2);
    CU_ASSERT_EQUAL(ns_link_stats(l, 1)->tx_pkts, 0);
    world_free(&w);
}

static void test_chain_timing(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true);
    ns_host *r2 = host(&w, "r2", true), *b = host(&w, "b", false);
    link_rd(&w, a, r1, 3e6, 1 * NS_MSEC);
    link_rd(&w, r1, r2, 7e6, 2 * NS_MSEC);
    link_rd(&w, r2, b, 11e6, 3 * NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    world_run(&w);

    uint64_t bits = udp_bits(PAYLOAD);
    ns_time_t want = ser(bits, 3000000) + 1 * NS_MSEC + ser(bits, 7000000) + 2 * NS_MSEC +
                     ser(bits, 11000000) + 3 * NS_MSEC;
    CU_ASSERT_EQUAL(want, 378667 + 162286 + 103273 + 6 * NS_MSEC);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, want);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL - 2);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->fwd_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(a)->tx_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(b)->rx_pkts, 1);
    world_free(&w);
}

/* 1000 datagrams handed over at once: the k-th ends its serialisation at
 * ceil(k * bits * 1e9 / rate), computed from the start of the busy period,
 * never by adding rounded per-packet times (which would drift by up to a
 * nanosecond a packet). */
static void test_back_to_back(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 3e6;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 1000; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1000);
    int bad = 0;
    for (uint32_t k = 1; k <= 1000; k++) {
        const struct rec *r = rx_at(&w, k - 1);
        if (r->tag != k - 1 || r->at != ser(k * udp_bits(PAYLOAD), 3000000) + NS_MSEC)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Adding rounded times would give 1000 * 378,667: 333 ns late. */
    CU_ASSERT_EQUAL(rx_at(&w, 999)->at, 378666667 + NS_MSEC);
    world_free(&w);
}

/* 100 Gbit/s at hours and weeks of simulated time: nothing overflows. */
static void test_100gbps_hours(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 100e9;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    const ns_time_t hour = 3600 * NS_SEC;
    const uint32_t size = 1472;                    /* a 1514-byte frame: 121.12 ns */
    send_at(&w, 1 * hour, sa, ns_host_addr(b), PORT, size, 0, false);
    send_at(&w, 10 * hour, sa, ns_host_addr(b), PORT, size, 0, false);
    for (uint32_t k = 0; k < 1000; k++)
        send_at(&w, 1000 * hour, sa, ns_host_addr(b), PORT, size, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1002);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 1 * hour + 122 + NS_MSEC);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 10 * hour + 122 + NS_MSEC);
    int bad = 0;
    for (uint32_t k = 1; k <= 1000; k++) {
        const struct rec *r = rx_at(&w, k + 1);
        if (r->tag != k - 1 || r->at != 1000 * hour + ser(k * udp_bits(size), 100000000000ull) + NS_MSEC)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(rx_at(&w, 1001)->at, 1000 * hour + 121120 + NS_MSEC);
    world_free(&w);
}

/* Jitter up to 2 ms on packets 48 us apart: in order unless reordering is
 * allowed; each arrival within [departure + delay, + jitter]. */
static void jitter_run(bool reorder, int *inversions, int *jittered, int *out_of_window)
{
    struct world w;
    world_init(&w, 3);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.jitter = 2 * NS_MSEC;
    o.jitter_reorders = reorder;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 300; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, 4, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL(w.rx->len, 300);
    *inversions = *jittered = *out_of_window = 0;
    for (guint i = 0; i < w.rx->len; i++) {
        const struct rec *r = rx_at(&w, i);
        ns_time_t dep = ser((uint64_t)(r->tag + 1) * udp_bits(4), 10000000);
        if (r->at < dep + NS_MSEC || r->at > dep + 3 * NS_MSEC)
            (*out_of_window)++;
        if (r->at != dep + NS_MSEC)
            (*jittered)++;
        if (i > 0 && r->tag < rx_at(&w, i - 1)->tag)
            (*inversions)++;
        if (i > 0)
            CU_ASSERT_TRUE(r->at >= rx_at(&w, i - 1)->at);
    }
    world_free(&w);
}

static void test_jitter_order(void)
{
    int inv, jit, out;
    jitter_run(false, &inv, &jit, &out);
    CU_ASSERT_EQUAL(inv, 0);
    CU_ASSERT_TRUE(jit > 250);
    CU_ASSERT_EQUAL(out, 0);
    jitter_run(true, &inv, &jit, &out);
    CU_ASSERT_TRUE(inv > 10);
    CU_ASSERT_TRUE(jit > 250);
    CU_ASSERT_EQUAL(out, 0);
}

/* ---- drops ------------------------------------------------------------ */

static void test_queue_overflow(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.qcfg.limit_pkts = 10;
    ns_link *l = link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 25; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    world_run(&w);

    /* One on the transmitter, ten queued, fourteen dropped. */
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 11);
    for (guint i = 0; i < 11; i++)
        CU_ASSERT_EQUAL(rx_at(&w, i)->tag, i);
    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_QUEUE_FULL], 14);
    CU_ASSERT_EQUAL(st->tx_pkts, 11);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LOSS], 0);
    world_free(&w);
}

static void loss_run(double loss, uint64_t *received, uint64_t *lost)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.loss = loss;
    ns_link *l = link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 50; k++)
        send_at(&w, k * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, k, false);
    world_run(&w);
    *received = w.rx->len;
    *lost = ns_link_stats(l, 0)->drops[NS_DROP_LOSS];
    CU_ASSERT_EQUAL(ns_link_stats(l, 0)->tx_pkts, 50);
    world_free(&w);
}

static void test_loss_all_or_nothing(void)
{
    uint64_t rx, lost;
    loss_run(1.0, &rx, &lost);
    CU_ASSERT_EQUAL(rx, 0);
    CU_ASSERT_EQUAL(lost, 50);
    loss_run(0.0, &rx, &lost);
    CU_ASSERT_EQUAL(rx, 50);
    CU_ASSERT_EQUAL(lost, 0);
    loss_run(0.5, &rx, &lost);
    CU_ASSERT_EQUAL(rx + lost, 50);
    CU_ASSERT_TRUE(lost > 10 && lost < 40);
}

/* 1 Mbit/s, 10 ms: of 20 datagrams sent at 0, four are in flight, one on
 * the transmitter and fifteen queued when the link fails at 5 ms; all are
 * dropped as "link-down".  While it is down there is no route; once up,
 * datagrams pass again. */
static void test_link_down(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 1e6, 10 * NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    for (uint32_t k = 0; k < 20; k++)
        send_at(&w, 0, sa, dst, PORT, PAYLOAD, k, false);
    link_at(&w, 5 * NS_MSEC, l, false);
    struct tx *while_down = send_at(&w, 50 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 100 * NS_MSEC, l, true);
    struct tx *after = send_at(&w, 200 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LINK_DOWN], 20);
    CU_ASSERT_EQUAL(st->tx_pkts, 6);                 /* 5 before, 1 after */
    CU_ASSERT_FALSE(while_down->sent);
    CU_ASSERT_EQUAL(ns_host_stats(a)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_TRUE(after->sent);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 200 * NS_MSEC + 1136000 + 10 * NS_MSEC);
    CU_ASSERT_TRUE(ns_link_is_up(l));
    world_free(&w);
}

/* A ring of five routers, a at r0 and b at r2: r0-r1-r2 is the short way;
 * with r1-r2 down traffic goes r0-r4-r3-r2, one hop longer, and comes
 * back once the link is up. */
static void test_ring_reroute(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r[5];
    for (int i = 0; i < 5; i++) {
        char name[8];
        g_snprintf(name, sizeof name, "r%d", i);
        r[i] = host(&w, name, true);
    }
    link_rd(&w, a, r[0], 10e6, NS_MSEC);
    ns_link *ring[5];
    for (int i = 0; i < 5; i++)
        ring[i] = link_rd(&w, r[i], r[(i + 1) % 5], 10e6, NS_MSEC);
    link_rd(&w, r[2], b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 1 * NS_SEC, ring[1], false);
    send_at(&w, 2 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 3 * NS_SEC, ring[1], true);
    send_at(&w, 4 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    const ns_time_t hop = 113600 + NS_MSEC;
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 3);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 4 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL - 3);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 2 * NS_SEC + 5 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->ttl, NS_IP_DEFAULT_TTL - 4);
    CU_ASSERT_EQUAL(rx_at(&w, 2)->at, 4 * NS_SEC + 4 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 2)->ttl, NS_IP_DEFAULT_TTL - 3);
    CU_ASSERT_EQUAL(ns_link_stats(ring[4], 1)->tx_pkts, 1);   /* r0 -> r4 once */
    CU_ASSERT_EQUAL(ns_link_stats(ring[0], 0)->tx_pkts, 2);   /* r0 -> r1 twice */
    world_free(&w);
}

/* ---- routing ---------------------------------------------------------- */

/* a and b joined through r1 and through r2, two hops either way.  `low`
 * names the router given the lower addresses; `swap` builds everything
 * in the other order.  Returns how many datagrams crossed a-r1 and a-r2
 * (a to b) and r1-b and r2-b (b to a). */
struct tie { uint64_t a_r1, a_r2, b_r1, b_r2; };

static struct tie tie_run(int low, bool swap)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, swap ? "r2" : "r1", true), *r2 = host(&w, swap ? "r1" : "r2", true);
    if (swap) {
        ns_host *t = r1;
        r1 = r2;
        r2 = t;
    }
    /* Lower addresses: 10.3.x (a side) and 10.4.x (b side); higher: 10.9.x, 10.7.x. */
    const char *lo[4] = { "10.3.0.1", "10.3.0.2", "10.4.0.1", "10.4.0.2" };
    const char *hi[4] = { "10.9.0.1", "10.9.0.2", "10.7.0.1", "10.7.0.2" };
    const char *const *x1 = low == 1 ? lo : hi, *const *x2 = low == 1 ? hi : lo;
    ns_link *ar1, *r1b, *ar2, *r2b;
    if (!swap) {
        ar1 = link_addrs(&w, a, r1, x1[0], x1[1]);
        r1b = link_addrs(&w, r1, b, x1[2], x1[3]);
        ar2 = link_addrs(&w, a, r2, x2[0], x2[1]);
        r2b = link_addrs(&w, r2, b, x2[2], x2[3]);
    } else {
        ar2 = link_addrs(&w, a, r2, x2[0], x2[1]);
        r2b = link_addrs(&w, r2, b, x2[2], x2[3]);
        ar1 = link_addrs(&w, a, r1, x1[0], x1[1]);
        r1b = link_addrs(&w, r1, b, x1[2], x1[3]);
    }
    ns_udp *sa = listen_on(&w, a, 5000), *sb = listen_on(&w, b, PORT);
    /* Both of b's addresses, then both of a's. */
    send_at(&w, 0, sa, ip(x1[3]), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sa, ip(x2[3]), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sb, ip(x1[0]), 5000, PAYLOAD, 0, false);
    send_at(&w, 0, sb, ip(x2[0]), 5000, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 4);
    struct tie t = {
        ns_link_stats(ar1, 0)->tx_pkts, ns_link_stats(ar2, 0)->tx_pkts,
        ns_link_stats(r1b, 1)->tx_pkts, ns_link_stats(r2b, 1)->tx_pkts,
    };
    world_free(&w);
    return t;
}

static void test_tie_break(void)
{
    for (int swap = 0; swap < 2; swap++) {
        struct tie t = tie_run(2, swap);
        CU_ASSERT_EQUAL(t.a_r1, 0);
        CU_ASSERT_EQUAL(t.a_r2, 2);
        CU_ASSERT_EQUAL(t.b_r1, 0);
        CU_ASSERT_EQUAL(t.b_r2, 2);
        t = tie_run(1, swap);
        CU_ASSERT_EQUAL(t.a_r1, 2);
        CU_ASSERT_EQUAL(t.a_r2, 0);
        CU_ASSERT_EQUAL(t.b_r1, 2);
        CU_ASSERT_EQUAL(t.b_r2, 0);
    }
}

/* a - h - b, and a - r1 - r2 - b: with h a plain host the longer way
 * through the routers is taken; once h forwards, the short one. */
static void test_hosts_do_not_relay(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *h = host(&w, "h", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    link_rd(&w, a, h, 10e6, NS_MSEC);
    ns_link *hb = link_rd(&w, h, b, 10e6, NS_MSEC);
    link_rd(&w, a, r1, 10e6, NS_MSEC);
    link_rd(&w, r1, r2, 10e6, NS_MSEC);
    link_rd(&w, r2, b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_iface_addr(ns_link_iface(hb, 1));      /* b's address toward h */
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    const ns_time_t hop = 113600 + NS_MSEC;
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 3 * hop);
    CU_ASSERT_EQUAL(ns_host_stats(h)->fwd_pkts, 0);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 1);

    ns_host_set_forwarding(h, true);
    send_at(&w, 1 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 1 * NS_SEC + 2 * hop);
    CU_ASSERT_EQUAL(ns_host_stats(h)->fwd_pkts, 1);

    /* A plain host given a packet to relay drops it. */
    ns_host_set_forwarding(h, false);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, dst, 32, ns_iface_addr(ns_link_iface(hb, 0)),
                                ns_host_iface(a, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    send_at(&w, 2 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(ns_host_stats(h)->drops[NS_DROP_NO_ROUTE], 1);
    world_free(&w);
}

/* The computed route from a to b's 10.7.0.2 goes via r2 (lower next hop);
 * a static route sends it via r1, and other routes stay. */
static void test_static_route(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    ns_link *ar1 = link_addrs(&w, a, r1, "10.9.0.1", "10.9.0.2");
    link_addrs(&w, r1, b, "10.7.0.1", "10.7.0.2");
    ns_link *ar2 = link_addrs(&w, a, r2, "10.3.0.1", "10.3.0.2");
    link_addrs(&w, r2, b, "10.4.0.1", "10.4.0.2");
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);

    ns_iface *out = NULL;
    uint32_t next = 0;
    CU_ASSERT_TRUE(ns_route_lookup(a, ip("10.7.0.2"), &out, &next));
    CU_ASSERT_PTR_EQUAL(out, ns_link_iface(ar2, 0));
    CU_ASSERT_EQUAL(next, ip("10.3.0.2"));

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, ip("10.7.0.0"), 24, ip("10.9.0.2"), ns_link_iface(ar1, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_FALSE(ns_route_add(a, 0, 33, 0, ns_link_iface(ar1, 0), &err));
    check_error(&err, "host 'a': prefix /33 is outside [0, 32]");
    CU_ASSERT_TRUE(ns_route_lookup(a, ip("10.7.0.2"), &out, &next));
    CU_ASSERT_PTR_EQUAL(out, ns_link_iface(ar1, 0));
    CU_ASSERT_EQUAL(next, ip("10.9.0.2"));

    send_at(&w, 0, sa, ip("10.7.0.2"), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sa, ip("10.4.0.2"), PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(ns_link_stats(ar1, 0)->tx_pkts, 1);
    CU_ASSERT_EQUAL(ns_link_stats(ar2, 0)->tx_pkts, 1);
    world_free(&w);
}

/* ---- TTL and ICMP ----------------------------------------------------- */

/* A test protocol: records the ICMP errors its packets cause. */
struct probe_log {
    int       n;
    uint8_t   type, code;
    uint32_t  quoted_dst;
    uint8_t   quoted_proto, quoted_ttl;
    ns_time_t at;
};

static void probe_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    ns_pkt_free(ns_host_sim(h), p);
}

static void probe_icmp_error(ns_host *h, uint8_t type, uint8_t code, const uint8_t *quoted,
                             size_t len)
{
    struct probe_log *log = ns_host_attached(h, "probe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_TRUE(len >= 28);
    log->n++;
    log->type = type;
    log->code = code;
    log->quoted_dst = ns_get32(quoted + 16);
    log->quoted_proto = quoted[9];
    log->quoted_ttl = quoted[8];
    log->at = ns_sim_now(ns_host_sim(h));
}

static const struct ns_proto_ops probe_proto = {
    .name = "probe", .proto = PROBE, .input = probe_input, .icmp_error = probe_icmp_error,
};

static struct probe_log *probe_init(struct world *w, ns_host *h)
{
    GError *err = NULL;
    if (!ns_net_proto(w->sim, PROBE))
        CU_ASSERT_TRUE(ns_net_register_proto(w->sim, &probe_proto, &err));
    CU_ASSERT_FALSE(ns_net_register_proto(w->sim, &probe_proto, &err));
    check_error(&err, "IP protocol 253 is already registered by 'probe'");
    struct probe_log *log = g_new0(struct probe_log, 1);
    ns_host_attach(h, "probe", log, g_free);
    return log;
}

struct probe_req {
    ns_host *h;
    uint32_t dst;
};

static void do_probe(ns_sim *sim, void *arg)
{
    struct probe_req *r = arg;
    ns_pkt *p = ns_pkt_new(sim);
    memset(ns_pkt_l4(p), 0xab, 8);
    p->l4_len = 8;
    ns_ip_output(r->h, p, 0, r->dst, PROBE, 0);
}

static void probe_at(struct world *w, ns_time_t at, ns_host *h, uint32_t dst)
{
    struct probe_req *r = own(w, sizeof *r);
    *r = (struct probe_req){ h, dst };
    ns_event_at(w->sim, at, do_probe, r, 0, NULL);
}

/* a -> r1 <-> r2: r1 and r2 route 192.168/16 to each other.  The packet
 * bounces until its TTL runs out at r2 (the 64th arrival), and a hears
 * "time exceeded" after 64 crossings of 60-byte frames and two of the
 * 70-byte error. */
static void test_ttl_loop(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    ns_link *ar1 = link_rd(&w, a, r1, 10e6, NS_MSEC);
    ns_link *r12 = link_rd(&w, r1, r2, 10e6, NS_MSEC);
    struct probe_log *log = probe_init(&w, a);
    GError *err = NULL;
    uint32_t net = ip("192.168.0.0");
    CU_ASSERT_TRUE(ns_route_add(a, net, 16, ns_iface_addr(ns_link_iface(ar1, 1)),
                                ns_link_iface(ar1, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r1, net, 16, ns_iface_addr(ns_link_iface(r12, 1)),
                                ns_link_iface(r12, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r2, net, 16, ns_iface_addr(ns_link_iface(r12, 0)),
                                ns_link_iface(r12, 1), &err));
    CU_ASSERT_PTR_NULL(err);
    probe_at(&w, 0, a, ip("192.168.1.1"));
    world_run(&w);

    CU_ASSERT_EQUAL(log->n, 1);
    CU_ASSERT_EQUAL(log->type, NS_ICMP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(log->code, 0);
    CU_ASSERT_EQUAL(log->quoted_dst, ip("192.168.1.1"));
    CU_ASSERT_EQUAL(log->quoted_proto, PROBE);
    CU_ASSERT_EQUAL(log->quoted_ttl, 1);
    CU_ASSERT_EQUAL(log->at, 64 * (48000 + NS_MSEC) + 2 * (56000 + NS_MSEC));
    CU_ASSERT_EQUAL(ns_host_stats(r2)->drops[NS_DROP_TTL], 1);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->drops[NS_DROP_TTL], 0);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->fwd_pkts, 32 + 1);   /* and the error */
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 31);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->tx_pkts, 1);
    world_free(&w);
}

/* a's default route points at r1, which has no route to 192.168.1.1: it
 * answers "net unreachable".  A host without any route drops at once. */
static void test_no_route(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true), *c = host(&w, "c", false);
    ns_link *ar1 = link_rd(&w, a, r1, 10e6, NS_MSEC);
    link_rd(&w, c, r1, 10e6, NS_MSEC);
    struct probe_log *log = probe_init(&w, a);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, 0, 0, ns_iface_addr(ns_link_iface(ar1, 1)),
                                ns_link_iface(ar1, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    probe_at(&w, 0, a, ip("192.168.1.1"));
    ns_udp *sc = listen_on(&w, c, 5000);
    CU_ASSERT_FALSE(ns_udp_send(sc, ip("192.168.1.1"), PORT, NULL, 10));
    world_run(&w);

    CU_ASSERT_EQUAL(log->n, 1);
    CU_ASSERT_EQUAL(log->type, NS_ICMP_UNREACH);
    CU_ASSERT_EQUAL(log->code, NS_ICMP_UNREACH_NET);
    CU_ASSERT_EQUAL(log->quoted_dst, ip("192.168.1.1"));
    CU_ASSERT_EQUAL(log->quoted_ttl, NS_IP_DEFAULT_TTL);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_EQUAL(ns_host_stats(c)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_EQUAL(ns_host_stats(c)->rx_pkts, 0);
    world_free(&w);
}

static void test_port_unreachable(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "port-unreachable");
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 7);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    send_at(&w, NS_SEC, sa, ns_host_addr(b), 7, PAYLOAD, 0, false);
    world_run(&w);
    world_commit(&w);

    CU_ASSERT_EQUAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(ns_udp_closed_port_drops(b), 1);
    CU_ASSERT_EQUAL(ns_udp_closed_port_drops(a), 0);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_NO_PORT], 1);
    CU_ASSERT_EQUAL(ns_host_stats(a)->rx_pkts, 1);      /* the ICMP error */
    char *ev = world_file(&w, "events.tsv");
    /* Out 1,113,600 ns; back: 20 + 8 + 28 bytes of ICMP, 70-byte frame. */
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "0.002169600\ticmp.error\ta\ttype=3 code=3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "\tnet.drop\tb\tuid=1 cause=no-port "));
    g_free(ev);
    world_free(&w);
}

struct pong {
    int       n;
    uint32_t  from;
    uint16_t  seq[4];
    ns_time_t rtt[4];
};

static void on_pong(ns_host *h, uint32_t from, uint16_t seq, ns_time_t rtt, void *ud)
{
    struct pong *pg = ud;
    if (pg->n < 4) {
        pg->seq[pg->n] = seq;
        pg->rtt[pg->n] = rtt;
    }
    pg->from = from;
    pg->n++;
}

struct ping_req {
    ns_host     *h;
    uint32_t     dst;
    uint16_t     seq;
    uint32_t     size;
    struct pong *pg;
};

static void do_ping(ns_sim *sim, void *arg)
{
    struct ping_req *r = arg;
    ns_icmp_ping(r->h, r->dst, r->seq, r->size, on_pong, r->pg);
}

static void ping_at(struct world *w, ns_time_t at, ns_host *h, uint32_t dst, uint16_t seq,
                    uint32_t size, struct pong *pg)
{
    struct ping_req *r = own(w, sizeof *r);
    *r = (struct ping_req){ h, dst, seq, size, pg };
    ns_event_at(w->sim, at, do_ping, r, 0, NULL);
}

static void test_ping_rtt(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    link_rd(&w, a, r, 3e6, 1 * NS_MSEC);
    link_rd(&w, r, b, 7e6, 2 * NS_MSEC);
    struct pong pg = { 0 };
    ping_at(&w, 0, a, ns_host_addr(b), 7, 56, &pg);
    ping_at(&w, NS_SEC, a, ns_host_addr(b), 8, 1001, &pg);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(pg.n, 2);
    CU_ASSERT_EQUAL(pg.from, ns_host_addr(b));
    /* 56 bytes: a 98-byte frame, 784 bits. */
    CU_ASSERT_EQUAL(pg.seq[0], 7);
    CU_ASSERT_EQUAL(pg.rtt[0], 2 * (261334 + 1 * NS_MSEC + 112000 + 2 * NS_MSEC));
    CU_ASSERT_EQUAL(pg.seq[1], 8);
    uint64_t bits = (14 + 20 + 8 + 1001) * 8;
    CU_ASSERT_EQUAL(pg.rtt[1], 2 * (ser(bits, 3000000) + 1 * NS_MSEC + ser(bits, 7000000) +
                                    2 * NS_MSEC));
    world_free(&w);
}

/* ---- host faults ------------------------------------------------------ */

struct fault_rec {
    const char        *host;
    enum ns_host_fault f;
    ns_time_t          at;
};

struct faults {
    int              n;
    struct fault_rec r[8];
};

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    struct faults *fs = ud;
    if (fs->n < 8)
        fs->r[fs->n] = (struct fault_rec){ ns_host_name(h), f, ns_sim_now(ns_host_sim(h)) };
    fs->n++;
}

struct fault_req {
    ns_host  *h;
    int       what;             /* 0 crash, 1 restart, 2 pause */
    ns_time_t dur;
};

static void do_fault(ns_sim *sim, void *arg)
{
    struct fault_req *r = arg;
    if (r->what == 0)
        ns_host_crash(r->h);
    else if (r->what == 1)
        ns_host_restart(r->h);
    else
        ns_host_pause(r->h, r->dur);
}

static void fault_at(struct world *w, ns_time_t at, ns_host *h, int what, ns_time_t dur)
{
    struct fault_req *r = own(w, sizeof *r);
    *r = (struct fault_req){ h, what, dur };
    ns_event_at(w->sim, at, do_fault, r, 0, NULL);
}

static void check_fault(const struct faults *fs, int i, const char *host,
                        enum ns_host_fault f, ns_time_t at)
{
    CU_ASSERT_TRUE_FATAL(i < fs->n);
    CU_ASSERT_STRING_EQUAL(fs->r[i].host, host);
    CU_ASSERT_EQUAL(fs->r[i].f, f);
    CU_ASSERT_EQUAL(fs->r[i].at, at);
}

static void test_crash_restart(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    struct faults fs = { 0 };
    ns_net_on_fault(w.sim, on_fault, &fs);
    ns_udp *sa = listen_on(&w, a, 5000), *sb = listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 1, true);
    fault_at(&w, NS_MSEC / 2, b, 0, 0);
    struct tx *from_down = send_at(&w, 2 * NS_MSEC, sb, ns_host_addr(a), 5000, PAYLOAD, 2, true);
    fault_at(&w, 5 * NS_MSEC, b, 1, 0);
    send_at(&w, 6 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 3, true);
    world_run(&w);

    CU_ASSERT_EQUAL(fs.n, 2);
    check_fault(&fs, 0, "b", NS_HOST_CRASH, NS_MSEC / 2);
    check_fault(&fs, 1, "b", NS_HOST_RESTART, 5 * NS_MSEC);
    CU_ASSERT_FALSE(from_down->sent);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_HOST_DOWN], 2);   /* one in, one out */
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->tag, 3);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 6 * NS_MSEC + 113600 + NS_MSEC);
    CU_ASSERT_TRUE(ns_host_is_up(b));
    CU_ASSERT_STRING_EQUAL(ns_host_fault_name(NS_HOST_CRASH), "crash");
    world_free(&w);
}

/* b pauses from 0.5 ms to 10.5 ms: five datagrams arriving meanwhile are
 * handled at 10.5 ms, in order.  A crash during a pause drops what is
 * held and ends the pause without a resume. */
static void test_pause_holds(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    struct faults fs = { 0 };
    ns_net_on_fault(w.sim, on_fault, &fs);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 5; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    fault_at(&w, NS_MSEC / 2, b, 2, 10 * NS_MSEC);
    send_at(&w, 20 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 5, true);
    fault_at(&w, 30 * NS_MSEC, b, 2, 10 * NS_MSEC);
    send_at(&w, 30 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 6, true);
    fault_at(&w, 35 * NS_MSEC, b, 0, 0);
    fault_at(&w, 50 * NS_MSEC, b, 1, 0);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 6);
    for (guint i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(rx_at(&w, i)->tag, i);
        CU_ASSERT_EQUAL(rx_at(&w, i)->at, 10 * NS_MSEC + NS_MSEC / 2);
    }
    CU_ASSERT_EQUAL(rx_at(&w, 5)->tag, 5);
    CU_ASSERT_EQUAL(rx_at(&w, 5)->at, 20 * NS_MSEC + 113600 + NS_MSEC);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_HOST_DOWN], 1);
    CU_ASSERT_EQUAL(fs.n, 5);
    check_fault(&fs, 0, "b", NS_HOST_PAUSE, NS_MSEC / 2);
    check_fault(&fs, 1, "b", NS_HOST_RESUME, 10 * NS_MSEC + NS_MSEC / 2);
    check_fault(&fs, 2, "b", NS_HOST_PAUSE, 30 * NS_MSEC);
    check_fault(&fs, 3, "b", NS_HOST_CRASH, 35 * NS_MSEC);
    check_fault(&fs, 4, "b", NS_HOST_RESTART, 50 * NS_MSEC);
    CU_ASSERT_FALSE(ns_host_is_paused(b));
    world_free(&w);
}

/* ---- CPU -------------------------------------------------------------- */

struct cpu_done {
    struct world *w;
    GArray       *log;          /* (id << 48 | ms) per completion */
    int           id;
};

static void cpu_done(ns_sim *sim, void *arg)
{
    struct cpu_done *d = arg;
    int64_t v = (int64_t)d->id << 48 | ns_sim_now(sim);
    g_array_append_val(d->log, v);
}

static struct cpu_done *cpu_item(struct world *w, GArray *log, int id)
{
    struct cpu_done *d = own(w, sizeof *d);
    *d = (struct cpu_done){ w, log, id };
    return d;
}

struct submit_req {
    ns_host         *h;
    ns_time_t        work;
    struct cpu_done *d;
};

static void do_submit(ns_sim *sim, void *arg)
{
    struct submit_req *r = arg;
    ns_cpu_submit(r->h, r->work, cpu_done, r->d);
}

static int64_t done_at(int id, ns_time_t t) { return (int64_t)id << 48 | t; }

static void test_cpu(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *h = host(&w, "h", false), *one = host(&w, "one", false);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(int64_t));
    ns_host_set_cores(h, 2);
    for (int i = 1; i <= 3; i++)
        ns_cpu_submit(h, 10 * NS_MSEC, cpu_done, cpu_item(&w, log, i));
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(log->len, 3);
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 0), done_at(1, 10 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 1), done_at(2, 10 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 2), done_at(3, 20 * NS_MSEC));
    CU_ASSERT_EQUAL(ns_cpu_busy_time(h), 30 * NS_MSEC);

    /* One core: item 4 done at 30 ms, 5 running and 6 queued at the crash
     * (35 ms) are dropped; submissions while down are ignored; after the
     * restart work runs again. */
    g_array_set_size(log, 0);
    for (int i = 4; i <= 6; i++)
        ns_cpu_submit(one, 10 * NS_MSEC, cpu_done, cpu_item(&w, log, i));
    fault_at(&w, 35 * NS_MSEC, one, 0, 0);
    struct submit_req *down = own(&w, sizeof *down);
    *down = (struct submit_req){ one, NS_MSEC, cpu_item(&w, log, 7) };
    ns_event_at(w.sim, 36 * NS_MSEC, do_submit, down, 0, NULL);
    fault_at(&w, 40 * NS_MSEC, one, 1, 0);
    struct submit_req *up = own(&w, sizeof *up);
    *up = (struct submit_req){ one, 5 * NS_MSEC, cpu_item(&w, log, 8) };
    ns_event_at(w.sim, 41 * NS_MSEC, do_submit, up, 0, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(log->len, 2);
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 0), done_at(4, 30 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 1), done_at(8, 46 * NS_MSEC));
    CU_ASSERT_EQUAL(ns_cpu_busy_time(one), 15 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_event_pending_all(w.sim), 0);
    g_array_free(log, TRUE);
    world_free(&w);
}

/* ---- addresses and their errors --------------------------------------- */

static void test_address_errors(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false), *c = host(&w, "c", false);
    GError *err = NULL;
    struct ns_link_opts o;

    ns_link_opts_defaults(&o);
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, a, &o, &err));
    check_error(&err, "link 'a-a': cannot link host 'a' to itself");
    o.rate_bps = 0;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");
    o.rate_bps = -5e6;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': rate -5e+06 bit/s is not in [1 bit/s, 1 Pbit/s]");
    o.rate_bps = 1e6;
    o.loss = 1.5;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': loss 1.5 is outside [0, 1]");
    o.loss = -0.25;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': loss -0.25 is outside [0, 1]");
    o.loss = 0;
    o.delay = -1;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': delay and jitter must not be negative");
    CU_ASSERT_EQUAL(ns_link_count(w.sim), 0);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 0);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(b), 0);

    ns_link *ab = link_addrs(&w, a, b, "10.0.1.1", "10.0.1.2");
    ns_link *ac = link_addrs(&w, a, c, "10.0.2.1", "10.0.2.2");
    CU_ASSERT_FALSE(ns_link_set_loss(ab, -1, 2, &err));
    check_error(&err, "link 'a-b': loss 2 is outside [0, 1]");
    CU_ASSERT_FALSE(ns_link_set_rate(ab, 0, 0, &err));
    check_error(&err, "link 'a-b': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");

    ns_iface *eth1 = ns_link_iface(ac, 0);
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.1.1"), 24, &err));
    CU_ASSERT_TRUE(err && g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    check_error(&err, "host 'a': address 10.0.1.1 is already on eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.1.77"), 24, &err));
    check_error(&err, "host 'a': subnet 10.0.1.0/24 of eth1 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.9.9"), 16, &err));
    check_error(&err, "host 'a': subnet 10.0.0.0/16 of eth1 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.9.9"), 33, &err));
    check_error(&err, "host 'a': prefix /33 is outside [1, 32]");
    CU_ASSERT_EQUAL(ns_iface_addr(eth1), ip("10.0.2.1"));
    CU_ASSERT_EQUAL(ns_iface_prefix(eth1), 24);
    /* The same address on two different hosts' subnets is not this rule. */
    CU_ASSERT_TRUE(ns_iface_set_addr(ns_link_iface(ac, 1), ip("10.0.2.3"), 24, &err));

    /* A link whose given address clashes leaves nothing behind. */
    ns_link_opts_defaults(&o);
    o.a_addr = ip("10.0.1.5");
    o.b_addr = ip("10.0.1.6");
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': host 'a': subnet 10.0.1.0/24 of eth2 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_EQUAL(ns_link_count(w.sim), 2);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 2);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(c), 1);
    o.a_addr = ip("10.0.5.1");
    o.b_addr = ip("10.0.2.9");
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': host 'c': subnet 10.0.2.0/24 of eth1 overlaps 10.0.2.0/24 of eth0");
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 2);
    CU_ASSERT_FALSE(ns_host_has_addr(a, ip("10.0.5.1")));
    o.a_addr = ip("10.0.5.1");
    o.b_addr = 0;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': give both addresses or neither");

    CU_ASSERT_PTR_NULL(ns_host_new(w.sim, "a", &err));
    check_error(&err, "host 'a' already exists");

    listen_on(&w, b, 7);
    CU_ASSERT_PTR_NULL(ns_udp_bind(b, 7, &err));
    CU_ASSERT_TRUE(err && g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    check_error(&err, "host 'b': UDP port 7 is already bound");
    world_free(&w);
}

struct addr_change {
    ns_iface *ifc;
    uint32_t  old, now;
};

static void on_addr(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud)
{
    struct addr_change c = { ifc, old_addr, new_addr };
    g_array_append_val((GArray *)ud, c);
}

static void test_addr_observers(void)
{
    struct world w;
    world_init(&w, 1);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(struct addr_change));
    ns_net_on_addr_change(w.sim, on_addr, log);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_iface *ia = ns_link_iface(l, 0), *ib = ns_link_iface(l, 1);
    CU_ASSERT_EQUAL_FATAL(log->len, 2);
    struct addr_change *c = &g_array_index(log, struct addr_change, 0);
    CU_ASSERT_PTR_EQUAL(c[0].ifc, ia);
    CU_ASSERT_EQUAL(c[0].old, 0);
    CU_ASSERT_EQUAL(c[0].now, ip("10.0.1.1"));
    CU_ASSERT_PTR_EQUAL(c[1].ifc, ib);
    CU_ASSERT_EQUAL(c[1].now, ip("10.0.1.2"));

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_iface_set_addr(ib, ip("10.0.1.9"), 24, &err));
    CU_ASSERT_TRUE(ns_host_has_addr(b, ip("10.0.1.9")));
    CU_ASSERT_FALSE(ns_host_has_addr(b, ip("10.0.1.2")));
    CU_ASSERT_TRUE(ns_iface_set_addr(ib, 0, 0, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_EQUAL_FATAL(log->len, 4);
    c = &g_array_index(log, struct addr_change, 0);
    CU_ASSERT_PTR_EQUAL(c[2].ifc, ib);
    CU_ASSERT_EQUAL(c[2].old, ip("10.0.1.2"));
    CU_ASSERT_EQUAL(c[2].now, ip("10.0.1.9"));
    CU_ASSERT_EQUAL(c[3].old, ip("10.0.1.9"));
    CU_ASSERT_EQUAL(c[3].now, 0);
    CU_ASSERT_EQUAL(ns_iface_addr(ib), 0);
    CU_ASSERT_EQUAL(ns_iface_prefix(ib), 0);
    CU_ASSERT_EQUAL(ns_host_addr(b), 0);
    CU_ASSERT_FALSE(ns_host_has_addr(b, ip("10.0.1.9")));

    /* A datagram to the removed address reaches b and is not taken. */
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ip("10.0.1.9"), PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 0);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_NO_ROUTE], 1);
    g_array_free(log, TRUE);
    world_free(&w);
}

/* ---- traffic generators ----------------------------------------------- */

static ns_traffic *traffic(ns_udp *s, const struct ns_traffic_opts *o)
{
    GError *err = NULL;
    ns_traffic *t = ns_traffic_start(s, o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

/* a and b on a 1 Gbit/s link without delay: a 100-byte datagram arrives
 * 1136 ns after it is sent. */
#define GEN_LAT 1136

static void gen_world(struct world *w, ns_udp **sa)
{
    world_init(w, 5);
    ns_host *a = host(w, "a", false), *b = host(w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.qcfg.limit_pkts = 0;
    link_opts(w, a, b, &o);
    *sa = listen_on(w, a, 5000);
    listen_on(w, b, PORT);
}

static void do_close(ns_sim *sim, void *arg)
{
    ns_udp_close(arg);
}

static void test_cbr(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    uint32_t dst = ns_host_addr(ns_host_find(w.sim, "b"));
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_CBR, .dst = dst, .dport = PORT, .size = PAYLOAD,
        .pkts_per_s = 1000, .start = NS_SEC / 2, .stop = 3 * NS_SEC / 2,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 1000);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1000);
    int bad = 0;
    for (guint k = 0; k < 1000; k++)
        if (rx_at(&w, k)->at != NS_SEC / 2 + k * NS_MSEC + GEN_LAT || rx_at(&w, k)->len != PAYLOAD)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);

    /* 3 packets/s for 1000 s: exactly 3000, the k-th at k/3 s rounded (a
     * rounded gap added each time would drift and send a 3001st). */
    g_array_set_size(w.rx, 0);
    o.pkts_per_s = 3;
    o.start = 2 * NS_SEC;
    o.stop = 1002 * NS_SEC;
    t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 3000);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 3000);
    bad = 0;
    for (guint k = 0; k < 3000; k++)
        if (rx_at(&w, k)->at != 2 * NS_SEC + (k * NS_SEC + 1) / 3 + GEN_LAT)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);

    /* count stops it; ns_traffic_stop stops it. */
    g_array_set_size(w.rx, 0);
    o.pkts_per_s = 100;
    o.start = 2000 * NS_SEC;
    o.stop = 0;
    o.count = 7;
    t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 7);
    CU_ASSERT_EQUAL(w.rx->len, 7);
    o.count = 0;
    o.start = 3000 * NS_SEC;
    t = traffic(sa, &o);
    ns_traffic_stop(t);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 0);

    /* Closing the socket stops its generators (at 4000.35 s: 4 sent). */
    ns_udp *tmp = listen_on(&w, ns_udp_host(sa), 6000);
    o.start = 4000 * NS_SEC;
    o.pkts_per_s = 10;
    t = traffic(tmp, &o);
    ns_event_at(w.sim, 4000 * NS_SEC + 350 * NS_MSEC, do_close, tmp, 0, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 4);

    GError *err = NULL;
    o.pkts_per_s = 0;
    CU_ASSERT_PTR_NULL(ns_traffic_start(sa, &o, &err));
    check_error(&err, "traffic from 'a': packet rate 0/s must be > 0");
    world_free(&w);
}

static void test_poisson(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_POISSON, .dst = ns_host_addr(ns_host_find(w.sim, "b")),
        .dport = PORT, .size = PAYLOAD, .pkts_per_s = 1000, .start = 0, .stop = 100 * NS_SEC,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);
    uint64_t n = ns_traffic_sent(t);
    CU_ASSERT_EQUAL(w.rx->len, n);
    /* 100,000 expected, standard deviation 316. */
    CU_ASSERT_TRUE(n > 98500 && n < 101500);
    /* Exponential gaps: the standard deviation equals the mean. */
    double sum = 0, sum2 = 0;
    for (guint k = 1; k < w.rx->len; k++) {
        double g = (double)(rx_at(&w, k)->at - rx_at(&w, k - 1)->at);
        sum += g;
        sum2 += g * g;
    }
    double m = sum / (w.rx->len - 1), sd = sqrt(sum2 / (w.rx->len - 1) - m * m);
    CU_ASSERT_DOUBLE_EQUAL(m, 1e6, 2e4);
    CU_ASSERT_DOUBLE_EQUAL(sd / m, 1.0, 0.03);
    world_free(&w);
}

/* On/off: the periods are drawn from the generator's own stream
 * ("traffic.<host>.<port>.<index>"), on first, each starting where the
 * last ended; replaying the stream gives exactly the times packets must
 * be sent: 1/rate apart from the start of each on period, none in off
 * periods. */
static void test_onoff(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    const double pps = 100;
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_ONOFF, .dst = ns_host_addr(ns_host_find(w.sim, "b")),
        .dport = PORT, .size = PAYLOAD, .pkts_per_s = pps, .start = NS_SEC,
        .stop = 301 * NS_SEC, .mean_on = NS_SEC, .mean_off = 2 * NS_SEC,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);

    ns_rng r;
    ns_rng_init(&r, 5, "traffic.a.5000.0");
    GArray *want = g_array_new(FALSE, FALSE, sizeof(ns_time_t));
    ns_time_t begin = o.start;
    int on_periods = 0;
    for (bool on = true; begin < o.stop; on = !on) {
        ns_time_t end = begin + ns_time_from_sec(ns_rng_exp(&r, on ? 1.0 : 2.0));
        for (uint64_t n = 0; on; n++) {
            ns_time_t at = begin + (ns_time_t)llround((double)n * 1e9 / pps);
            if (at >= end || at >= o.stop)
                break;
            g_array_append_val(want, at);
        }
        on_periods += on;
        begin = end;
    }
    CU_ASSERT_TRUE(on_periods > 50);
    CU_ASSERT_TRUE(want->len > 5000 && want->len < 15000);   /* about 10,000 */
    CU_ASSERT_EQUAL(ns_traffic_sent(t), want->len);
    CU_ASSERT_EQUAL(w.rx->len, want->len);
    int bad = 0;
    for (guint k = 0; k < w.rx->len && k < want->len; k++)
        if (rx_at(&w, k)->at != g_array_index(want, ns_time_t, k) + GEN_LAT)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    g_array_free(want, TRUE);

    GError *err = NULL;
    o.mean_off = 0;
    CU_ASSERT_PTR_NULL(ns_traffic_start(sa, &o, &err));
    check_error(&err, "traffic from 'a': on and off periods must be > 0");
    world_free(&w);
}

/* ---- pcap ------------------------------------------------------------- */

static char *tshark_V(const char *file, char **errout)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark)
        return NULL;
    char *argv[] = {
        tshark, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        "-o", "tcp.check_checksum:TRUE", "-r", (char *)file, "-V", NULL,
    };
    char *out = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, errout,
                                &status, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    g_clear_error(&err);
    g_free(tshark);
    return out;
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, prefix, len) == 0)
            n++;
    return n;
}

/* a - r - b, b a router too; a's interface is captured while a pings b
 * (57 bytes: odd), sends to a closed port, sends real bytes of odd and
 * even length and a length-only odd datagram, and sends into a routing
 * loop between r and b (time exceeded). */
static void test_pcap_tshark(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "pcap");
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", true);
    ns_link *ar = link_rd(&w, a, r, 10e6, NS_MSEC);
    ns_link *rb = link_rd(&w, r, b, 10e6, NS_MSEC);
    GError *err = NULL;
    ns_pcap *pc = ns_pcap_open(w.sim, "a.pcap", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    ns_iface_capture(ns_host_iface(a, 0), pc);
    uint32_t net = ip("192.168.0.0");
    CU_ASSERT_TRUE(ns_route_add(a, net, 16, ns_iface_addr(ns_link_iface(ar, 1)),
                                ns_link_iface(ar, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r, net, 16, ns_iface_addr(ns_link_iface(rb, 1)),
                                ns_link_iface(rb, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(b, net, 16, ns_iface_addr(ns_link_iface(rb, 0)),
                                ns_link_iface(rb, 1), &err));
    CU_ASSERT_PTR_NULL(err);

    struct pong pg = { 0 };
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 4000);
    uint32_t dst = ns_host_addr(b);
    ping_at(&w, 0, a, dst, 1, 57, &pg);
    send_at(&w, 100 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    struct tx *odd = send_at(&w, 200 * NS_MSEC, sa, dst, 4000, 19, 0x68656c6c, true);
    send_at(&w, 300 * NS_MSEC, sa, dst, 4000, 20, 0x776f726c, true);
    send_at(&w, 350 * NS_MSEC, sa, dst, 4000, 33, 0, false);
    send_at(&w, 400 * NS_MSEC, sa, ip("192.168.1.1"), PORT, 11, 0x6c6f6f70, true);
    world_run(&w);
    CU_ASSERT_TRUE(odd->sent);
    CU_ASSERT_EQUAL(pg.n, 1);
    CU_ASSERT_EQUAL(w.rx->len, 3);
    CU_ASSERT_EQUAL(ns_pcap_frames(pc), 9);
    world_commit(&w);

    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    char *errout = NULL;
    char *out = tshark_V(file, &errout);
    if (!out) {
        printf("\n  note: tshark not found, pcap decoding check skipped\n");
    } else {
        CU_ASSERT_EQUAL(count_lines_starting(out, "Frame "), 9);
        CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
        CU_ASSERT_PTR_NULL(strstr(out, "[Checksum Status: Bad]"));
        CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Checksum Status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Header checksum status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Echo (ping) request"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Echo (ping) reply"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Port unreachable"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Time to live exceeded in transit"));
        /* The real bytes: "hell" then 'x's (odd length), "worl" then 'x's. */
        const char *odd_data = strstr(out, "Data: 68656c6c" "787878787878787878787878787878\n");
        const char *even_data = strstr(out, "Data: 776f726c" "78787878787878787878787878787878\n");
        CU_ASSERT_PTR_NOT_NULL(odd_data);
        CU_ASSERT_PTR_NOT_NULL(even_data);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Length: 27"));          /* UDP: 8 + 19 */
        if (strstr(out, "Bad") || strstr(out, "Malformed") || !odd_data || !even_data ||
            count_lines_starting(out, "Frame ") != 9)
            fprintf(stderr, "\ntshark said:\n%s\n%s\n", out, errout ? errout : "");
    }
    g_free(out);
    g_free(errout);
    g_free(file);
    world_free(&w);
}

/* ---- counters.tsv ----------------------------------------------------- */

/* a -10 Mbit/s- r -1 Mbit/s- b, queue of 1 at r: of four datagrams sent
 * at once, r sends one, queues one and drops two; then one to a closed
 * port, answered with ICMP. */
static void test_counters_tsv(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "counters");
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    link_rd(&w, a, r, 10e6, NS_MSEC);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 1e6;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 1;
    link_opts(&w, r, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 7);
    for (uint32_t k = 0; k < 4; k++)
        send_at(&w, 0, sa, ns_host_addr(b), 7, PAYLOAD, k, false);
    send_at(&w, NS_SEC, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    world_run(&w);
    world_commit(&w);
    char *tsv = world_file(&w, "counters.tsv");
    check_str(tsv,
        "kind\tname\ttx_pkts\ttx_bytes\trx_pkts\trx_bytes\tfwd_pkts\tdrop_queue-full\tdrop_aqm"
        "\tdrop_loss\tdrop_link-down\tdrop_no-route\tdrop_ttl\tdrop_host-down\tdrop_no-port"
        "\tdrop_no-arp\n"
        "link\ta>r\t5\t710\t5\t710\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tr>a\t1\t70\t1\t70\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tr>b\t3\t426\t3\t426\t0\t2\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tb>r\t1\t70\t1\t70\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\ta\t5\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\tr\t0\t0\t0\t0\t6\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\tb\t1\t0\t3\t0\t0\t0\t0\t0\t0\t0\t0\t0\t1\t0\n");
    g_free(tsv);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    world_free(&w);
}

/* ---- determinism ------------------------------------------------------ */

/* Jitter, loss and Poisson traffic through a router, with every event
 * logged; returns events.tsv. */
static char *random_run(uint64_t seed, const char *name)
{
    struct world w;
    world_init(&w, seed);
    world_out(&w, name);
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.jitter = NS_MSEC;
    o.loss = 0.1;
    link_opts(&w, a, r, &o);
    o.qcfg.limit_pkts = 3;
    o.loss = 0;
    o.rate_bps = 1e6;
    link_opts(&w, r, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    struct ns_traffic_opts t = {
        .kind = NS_TRAFFIC_POISSON, .dst = ns_host_addr(b), .dport = PORT, .size = PAYLOAD,
        .pkts_per_s = 800, .start = 0, .stop = NS_SEC,
    };
    traffic(sa, &t);
    t.kind = NS_TRAFFIC_ONOFF;
    t.dport = 4;
    t.mean_on = t.mean_off = 100 * NS_MSEC;
    traffic(sa, &t);
    world_run(&w);
    world_commit(&w);
    char *ev = world_file(&w, "events.tsv");
    world_free(&w);
    return ev;
}

static void test_determinism(void)
{
    char *one = random_run(7, "det-1"), *two = random_run(7, "det-2");
    char *other = random_run(8, "det-3");
    CU_ASSERT_TRUE(strlen(one) > 10000);
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=loss"));
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=queue-full"));
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=no-port"));
    CU_ASSERT_STRING_EQUAL(one, two);
    CU_ASSERT_STRING_NOT_EQUAL(one, other);
    g_free(one);
    g_free(two);
    g_free(other);
}

void test_net_register(void)
{
    CU_pSuite s = ns_test_suite("net", NULL, NULL);
    ns_test_add(s, "one link: serialisation rounded up plus delay", test_one_link_timing);
    ns_test_add(s, "a chain of routers: the sum of its hops", test_chain_timing);
    ns_test_add(s, "1000 back-to-back packets do not drift", test_back_to_back);
    ns_test_add(s, "100 Gbit/s over hours does not overflow", test_100gbps_hours);
    ns_test_add(s, "jitter reorders only when allowed", test_jitter_order);
    ns_test_add(s, "drop-tail overflow counted as queue-full", test_queue_overflow);
    ns_test_add(s, "loss 1 drops all, loss 0 none", test_loss_all_or_nothing);
    ns_test_add(s, "link down drops queued and in-flight packets", test_link_down);
    ns_test_add(s, "a ring reroutes around a failed link", test_ring_reroute);
    ns_test_add(s, "equal paths: the lowest next hop, whatever the order", test_tie_break);
    ns_test_add(s, "plain hosts do not relay", test_hosts_do_not_relay);
    ns_test_add(s, "static routes override computed ones", test_static_route);
    ns_test_add(s, "a routing loop ends in time exceeded", test_ttl_loop);
    ns_test_add(s, "no route: net unreachable, or a local drop", test_no_route);
    ns_test_add(s, "a closed UDP port: ICMP port unreachable", test_port_unreachable);
    ns_test_add(s, "ping RTT is twice delays plus serialisation", test_ping_rtt);
    ns_test_add(s, "crash drops, restart resumes, observers told", test_crash_restart);
    ns_test_add(s, "pause holds packets and delivers them in order", test_pause_holds);
    ns_test_add(s, "CPU: cores, FIFO, crash drops work", test_cpu);
    ns_test_add(s, "address, link and port errors", test_address_errors);
    ns_test_add(s, "address observers; removing an address", test_addr_observers);
    ns_test_add(s, "CBR: exact count and spacing", test_cbr);
    ns_test_add(s, "Poisson: mean rate and exponential gaps", test_poisson);
    ns_test_add(s, "on/off: sends only in on periods", test_onoff);
    ns_test_add(s, "pcap of UDP and ICMP reads clean in tshark", test_pcap_tshark);
    ns_test_add(s, "counters.tsv at commit", test_counters_tsv);
    ns_test_add(s, "same seed, same events.tsv", test_determinism);
}
