/* test_tcp_fidelity.c — the TCP model against what real TCP is known to
 * do (issue 9, "Fidelity"): bulk transfer fills a link, flows sharing a
 * bottleneck share it fairly, and under random loss NewReno's goodput
 * follows the PFTK model (Padhye, Firoiu, Towsley and Kurose, "Modeling
 * TCP Throughput: A Simple Model and its Empirical Validation", SIGCOMM
 * 1998).
 *
 * Every flow is a bulk sender that tops its send buffer up whenever the
 * peer acknowledges data, so it is never application-limited; goodput is
 * what the receiving application got.  All runs are seeded: a failure
 * repeats exactly.
 *
 * Byte accounting (link.h): a link charges each frame 14 bytes of Ethernet
 * header + the IP packet; a full segment with timestamps is
 * payload (mss - 12) + TCP 32 + IP 20 + Ethernet 14. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "netsim/event.h"
#include "netsim/link.h"
#include "netsim/rng.h"
#include "netsim/tcp.h"
#include "tests.h"

#define PORT 80
#define MSS  1460u                       /* the option value (tcp.h) */
#define PAYLOAD (MSS - 12u)              /* per segment, with timestamps */
#define FRAME   (PAYLOAD + 32u + 20u + 14u)

/* ---- bulk flows over a topology ---- */

struct net;

struct flow {
    struct net *net;
    ns_host    *src, *dst;
    ns_tcp     *snd;                     /* the sending end */
    ns_tcp     *rcv;                     /* the accepted end */
    uint64_t    mark;                    /* rcv's bytes at the window's start */
};

struct net {
    ns_sim      *sim;
    struct flow *flows;                  /* owned, nflows */
    unsigned     nflows;
    unsigned     errors;                 /* connection errors heard */
};

static void top_up(ns_tcp *c)
{
    uint32_t space = ns_tcp_send_space(c);
    if (space > 0)
        ns_tcp_send(c, NULL, space, NULL);
}

static void on_established(ns_tcp *c, void *ud) { top_up(c); }
static void on_sent(ns_tcp *c, uint64_t acked, void *ud) { top_up(c); }

static void on_error(ns_tcp *c, const char *reason, void *ud)
{
    struct net *n = ud;
    n->errors++;
    fprintf(stderr, "\n%s: %s\n", ns_tcp_name(c), reason);
}

/* The receiver's accepted end belongs to the flow whose sender has its
 * remote port. */
static void on_accept(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    struct flow *f = ud;
    f->rcv = c;
}

static void start_flow(ns_sim *sim, void *arg)
{
    static const struct ns_tcp_callbacks cb = {
        .established = on_established, .sent = on_sent, .error = on_error,
    };
    struct flow *f = arg;
    GError *err = NULL;
    f->snd = ns_tcp_connect(f->src, ns_host_addr(f->dst), PORT, NULL, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    if (f->snd)
        ns_tcp_set_callbacks(f->snd, &cb, f->net);
}

static ns_host *host(ns_sim *sim, const char *fmt, unsigned i, bool router)
{
    char name[32];
    g_snprintf(name, sizeof name, fmt, i);
    ns_host *h = ns_host_new(sim, name, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ns_host_set_forwarding(h, router);
    return h;
}

static ns_link *add_link(ns_sim *sim, ns_host *a, ns_host *b, double rate_bps,
                         ns_time_t delay, uint32_t qlimit)
{
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = rate_bps;
    o.delay = delay;
    o.qcfg.limit_pkts = qlimit;
    GError *err = NULL;
    ns_link *l = ns_link_new(sim, a, b, &o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    return l;
}

/* A flow from src to a listener of its own on dst. */
static void flow_init(struct net *n, unsigned i, ns_host *src, ns_host *dst)
{
    struct flow *f = &n->flows[i];
    *f = (struct flow){ .net = n, .src = src, .dst = dst };
    GError *err = NULL;
    CU_ASSERT_PTR_NOT_NULL(ns_tcp_listen(dst, PORT, NULL, on_accept, f, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

static void net_init(struct net *n, uint64_t seed, unsigned nflows)
{
    *n = (struct net){ .sim = ns_sim_new(seed), .nflows = nflows };
    n->flows = g_new0(struct flow, nflows);
}

static void net_free(struct net *n)
{
    ns_sim_free(n->sim);
    g_free(n->flows);
}

static uint64_t received(const struct flow *f)
{
    if (!f->rcv)
        return 0;
    struct ns_tcp_info st;
    ns_tcp_info(f->rcv, &st);
    return st.bytes_received;
}

/* Starts every flow's measuring window now. */
static void mark_all(ns_sim *sim, void *arg)
{
    struct net *n = arg;
    for (unsigned i = 0; i < n->nflows; i++)
        n->flows[i].mark = received(&n->flows[i]);
}

/* ---- one flow fills the link ---- */

/* Issue 9: one bulk NewReno flow over 10 Mbps, 20 ms one way, a 100-packet
 * drop-tail queue.  The queue (100 packets) is twice the path's BDP (33
 * packets), so after each halving the window still covers the pipe and
 * the link never idles: goodput after slow start is the payload capacity
 * but for retransmissions, and must reach 98% of it.  The window is [5 s,
 * 30 s): slow start overshoots and recovers within the first 2 s. */
static void test_single_flow_fills_link(void)
{
    struct net n;
    net_init(&n, 1, 1);
    ns_host *a = host(n.sim, "a", 0, false), *b = host(n.sim, "b", 0, false);
    add_link(n.sim, a, b, 10e6, 20 * NS_MSEC, 100);
    flow_init(&n, 0, a, b);
    start_flow(n.sim, &n.flows[0]);
    ns_event_after(n.sim, 5 * NS_SEC, mark_all, &n);
    ns_sim_run(n.sim, 30 * NS_SEC, 0);

    double capacity = 10e6 * PAYLOAD / FRAME;
    double goodput = (double)(received(&n.flows[0]) - n.flows[0].mark) * 8 / 25.0;
    struct ns_tcp_info st;
    ns_tcp_info(n.flows[0].snd, &st);
    CU_ASSERT_EQUAL(n.errors, 0);
    CU_ASSERT(st.recoveries > 0);            /* it did fill the queue */
    CU_ASSERT(goodput >= 0.98 * capacity);
    CU_ASSERT(goodput <= capacity);
    if (goodput < 0.98 * capacity)
        fprintf(stderr, "\nsingle flow: goodput %.0f b/s of %.0f (%.2f%%)\n", goodput,
                capacity, 100 * goodput / capacity);
    net_free(&n);
}

/* ---- fairness ---- */

/* Jain's fairness index (sum x)^2 / (n sum x^2) of the flows' goodputs
 * over their measuring windows: 1 when all are equal, 1/n when one flow
 * has everything. */
static double jain(const struct net *n)
{
    double sum = 0, sq = 0;
    for (unsigned i = 0; i < n->nflows; i++) {
        double x = (double)(received(&n->flows[i]) - n->flows[i].mark);
        sum += x;
        sq += x * x;
    }
    return sq > 0 ? sum * sum / (n->nflows * sq) : 0;
}

/* A dumbbell: each sender on its own access link to r1, each receiver on
 * its own access link from r2, and r1-r2 the bottleneck.  Every path has
 * the same RTT: 2 x (5 + 10 + 5) ms = 40 ms. */
static void dumbbell(struct net *n, double bottleneck_bps, uint32_t qlimit)
{
    ns_host *r1 = host(n->sim, "r1", 0, true), *r2 = host(n->sim, "r2", 0, true);
    add_link(n->sim, r1, r2, bottleneck_bps, 10 * NS_MSEC, qlimit);
    ns_rng *starts = ns_sim_rng(n->sim, "test.starts");
    for (unsigned i = 0; i < n->nflows; i++) {
        ns_host *s = host(n->sim, "s%u", i, false), *d = host(n->sim, "d%u", i, false);
        add_link(n->sim, s, r1, 10 * bottleneck_bps, 5 * NS_MSEC, 1000);
        add_link(n->sim, r2, d, 10 * bottleneck_bps, 5 * NS_MSEC, 1000);
        flow_init(n, i, s, d);
        ns_event_after(n->sim, (ns_time_t)ns_rng_below(starts, 100 * NS_MSEC), start_flow,
                       &n->flows[i]);
    }
}

/* Issue 9: 100 NewReno flows with seeded random start times in the first
 * 100 ms share one bottleneck; Jain's index over 10 s is at least 0.9.
 * The bottleneck is 100 Mbps (1 Mbps a flow) with a queue of one
 * bandwidth-delay product (333 packets), so each flow's share of pipe and
 * queue is about 6 segments: small windows, the hard case for fairness
 * (timeouts), at a tenth of the cost of the 1 Gbps benchmark. */
static void test_fairness_100_flows(void)
{
    gint64 t0 = g_get_monotonic_time();
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct net n;
        net_init(&n, seed, 100);
        dumbbell(&n, 100e6, 333);
        ns_sim_run(n.sim, 10 * NS_SEC, 0);
        unsigned connected = 0;
        uint64_t total = 0;
        for (unsigned i = 0; i < n.nflows; i++) {
            connected += n.flows[i].rcv != NULL;
            total += received(&n.flows[i]);
        }
        double fair = jain(&n);
        double util = (double)total * 8 / 10.0 / (100e6 * PAYLOAD / FRAME);
        CU_ASSERT_EQUAL(n.errors, 0);
        CU_ASSERT_EQUAL(connected, 100);
        CU_ASSERT(fair >= 0.9);
        CU_ASSERT(util >= 0.9);                   /* and they do use the link */
        if (fair < 0.9 || util < 0.9 || getenv("NETSIM_TEST_VERBOSE"))
            fprintf(stderr, "\nfairness seed %" G_GUINT64_FORMAT ": jain %.3f, utilisation %.3f\n",
                    seed, fair, util);
        net_free(&n);
    }
    if (getenv("NETSIM_TEST_VERBOSE"))
        fprintf(stderr, "\nfairness: %.2f s\n", (g_get_monotonic_time() - t0) / 1e6);
}

/* ---- goodput under random loss: the PFTK model ---- */

/* PFTK's full model (its eq. 32), in segments per second: a flow with
 * round-trip time rtt, retransmission timeout t0, b segments acknowledged
 * per ACK, a receiver window of wmax segments, and loss probability p. */
static double pftk(double p, double rtt, double t0, double b, double wmax)
{
    double ca = rtt * sqrt(2 * b * p / 3);
    double to = t0 * fmin(1, 3 * sqrt(3 * b * p / 8)) * p * (1 + 32 * p * p);
    return fmin(wmax / rtt, 1 / (ca + to));
}

/* One run's results.  Runs go on worker threads (a sim belongs to one
 * thread at a time, sim.h), so they never call CUnit: what the test
 * asserts is gathered here and checked on the main thread. */
struct loss_run {
    double    p;                         /* in: loss probability */
    uint64_t  seed;                      /* in */
    uint64_t  need;                      /* in: loss events to wait for */
    bool      ok;                        /* the topology was built, the run stopped */
    unsigned  errors;                    /* connection errors */
    double    goodput_sps;               /* segments per second, measured */
    double    rto_s;                     /* the sender's mean RTO */
    double    srtt_s;                    /* and mean smoothed RTT */
    uint64_t  events;                    /* loss events in the window */
    uint64_t  queue_drops;               /* sender's queue, in the window */
};

struct loss_watch {
    struct net *n;
    ns_link    *l;
    uint64_t    events0;                 /* loss events at the window's start */
    uint64_t    drops0;                  /* queue drops at the window's start */
    uint64_t    need;
    ns_time_t   start;
    double      rto_sum, srtt_sum;
    uint64_t    samples;
};

static uint64_t loss_events(ns_tcp *c)
{
    struct ns_tcp_info st;
    ns_tcp_info(c, &st);
    return st.recoveries + st.timeouts;
}

static uint64_t queue_drops(const ns_link *l)
{
    return ns_link_stats(l, 0)->drops[NS_DROP_QUEUE_FULL];
}

/* Every 100 ms: samples the sender's RTO and SRTT, and stops the run once
 * enough loss events happened in the window. */
static void watch(ns_sim *sim, void *arg)
{
    struct loss_watch *w = arg;
    ns_tcp *c = w->n->flows[0].snd;
    struct ns_tcp_info st;
    ns_tcp_info(c, &st);
    w->rto_sum += ns_time_to_sec(st.rto);
    w->srtt_sum += ns_time_to_sec(st.srtt);
    w->samples++;
    if (loss_events(c) - w->events0 >= w->need)
        ns_sim_stop(sim);
    else
        ns_event_after(sim, 100 * NS_MSEC, watch, w);
}

static void watch_start(ns_sim *sim, void *arg)
{
    struct loss_watch *w = arg;
    struct flow *f = &w->n->flows[0];
    f->mark = received(f);
    w->events0 = loss_events(f->snd);
    w->drops0 = queue_drops(w->l);
    w->start = ns_sim_now(sim);
    watch(sim, w);
}

static void on_accept_quiet(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    struct flow *f = ud;
    f->rcv = c;
}

/* One NewReno flow (SACK, timestamps and delayed ACKs as by default) over
 * a 200 Mbps, 20 ms link whose data direction drops each packet with
 * probability p; the ACK direction is lossless.  200 Mbps is 18 times
 * the model's rate at p = 0.001 (11.1 Mbps), and the sender's
 * queue (100 packets) only ever holds one window's burst: its drops in
 * the window are counted and must be none, so every loss there is the
 * random one.  The window opens after 10 s (slow start's overshoot may
 * overflow the queue) and closes after `need` loss events (fast
 * recoveries plus timeouts). */
static void loss_run(struct loss_run *r)
{
    static const struct ns_tcp_callbacks cb = {
        .established = on_established, .sent = on_sent, .error = on_error,
    };
    struct net n;
    net_init(&n, r->seed, 1);
    ns_host *a = ns_host_new(n.sim, "a", NULL), *b = ns_host_new(n.sim, "b", NULL);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 200e6;
    o.delay = 20 * NS_MSEC;
    o.qcfg.limit_pkts = 100;
    ns_link *l = ns_link_new(n.sim, a, b, &o, NULL);
    struct flow *f = &n.flows[0];
    *f = (struct flow){ .net = &n, .src = a, .dst = b };
    r->ok = l && ns_link_set_loss(l, 0, r->p, NULL) &&
            ns_tcp_listen(b, PORT, NULL, on_accept_quiet, f, NULL) &&
            (f->snd = ns_tcp_connect(a, ns_host_addr(b), PORT, NULL, NULL));
    if (!r->ok) {
        net_free(&n);
        return;
    }
    ns_tcp_set_callbacks(f->snd, &cb, &n);
    struct loss_watch w = { .n = &n, .l = l, .need = r->need };
    ns_event_after(n.sim, 10 * NS_SEC, watch_start, &w);
    r->ok = ns_sim_run(n.sim, 100000 * NS_SEC, 0) == NS_STOP_REQUESTED;
    double secs = ns_time_to_sec(ns_sim_now(n.sim) - w.start);
    r->goodput_sps = (double)(received(f) - f->mark) / PAYLOAD / secs;
    r->rto_s = w.rto_sum / (double)w.samples;
    r->srtt_s = w.srtt_sum / (double)w.samples;
    r->events = loss_events(f->snd) - w.events0;
    r->queue_drops = queue_drops(l) - w.drops0;
    r->errors = n.errors;
    net_free(&n);
}

/* Runs are independent sims: two threads (the CI machine's cores) take
 * them in turn. */
struct loss_pool {
    struct loss_run *runs;
    unsigned         n;
    gint             next;               /* atomic: the next run to take */
};

static gpointer loss_worker(gpointer arg)
{
    struct loss_pool *pool = arg;
    for (;;) {
        gint i = g_atomic_int_add(&pool->next, 1);
        if (i >= (gint)pool->n)
            return NULL;
        loss_run(&pool->runs[i]);
    }
}

/* Issue 9: at p = 0.001 and 0.01, over 5 seeds with at least 1,000 loss
 * events each, goodput is within 25% of PFTK, and the ratio of the two
 * goodputs within 20% of the model's ratio.
 *
 * The model's parameters, fixed from the model's definitions before the
 * comparison:
 * - b = 1.  PFTK's b is the number of rounds per one-segment growth of
 *   the window, which it equates with packets per ACK because it assumes
 *   one segment of growth per window of ACKs.  Our receiver does delay
 *   ACKs (one per two segments), but the sender's congestion avoidance
 *   counts acknowledged bytes (RFC 5681 3.1, RFC 3465; cc_reno.c), so the
 *   window grows one segment per round whatever the ACK ratio: b = 1.
 *   (With b = 2 the model predicts 29% less and the runs are 33-47%
 *   above it.)
 * - RTT = 40 ms, the path's propagation RTT (serialization at 200 Mbps
 *   adds 0.07 ms; queueing is a burst's worth at most; the measured SRTT
 *   is printed with NETSIM_TEST_VERBOSE=1 and is within 2% of it).
 * - T0 = the RTO the sender actually had, averaged over the window (with
 *   SRTT near 40 ms and a small RTTVAR that is the 200 ms minimum RTO).
 * - Wmax = the receive buffer, 4 MiB / 1448 B: never the limit here.
 * - p = the link's per-packet loss probability.  PFTK's p is a rate of
 *   loss events (a round's losses count once); with independent losses
 *   and windows of 10-50 segments the two differ by a few percent.
 * The measured goodput counts delivered segments; PFTK's B(p) counts sent
 * ones, retransmissions included, which differs by a fraction p. */
static void test_pftk_goodput(void)
{
    static const double ps[2] = { 0.001, 0.01 };
    enum { SEEDS = 5 };
    const double rtt = 0.040, b = 1, wmax = (4u << 20) / (double)PAYLOAD;
    gint64 t0 = g_get_monotonic_time();
    struct loss_run runs[2 * SEEDS];
    for (unsigned i = 0; i < 2 * SEEDS; i++)
        runs[i] = (struct loss_run){ .p = ps[i / SEEDS], .seed = 1 + i % SEEDS, .need = 1000 };
    struct loss_pool pool = { runs, 2 * SEEDS, 0 };
    GThread *helper = g_thread_new("pftk", loss_worker, &pool);
    loss_worker(&pool);
    g_thread_join(helper);

    bool verbose = getenv("NETSIM_TEST_VERBOSE") != NULL;
    double mean[2] = { 0, 0 }, t0_mean[2] = { 0, 0 };
    for (unsigned i = 0; i < 2 * SEEDS; i++) {
        const struct loss_run *r = &runs[i];
        double m = pftk(r->p, rtt, r->rto_s, b, wmax);
        bool near = fabs(r->goodput_sps / m - 1) <= 0.25;
        CU_ASSERT_TRUE(r->ok);
        CU_ASSERT_EQUAL(r->errors, 0);
        CU_ASSERT(r->events >= 1000);
        CU_ASSERT_EQUAL(r->queue_drops, 0);
        CU_ASSERT(near);
        if (!near || verbose)
            fprintf(stderr, "\npftk p=%g seed %" G_GUINT64_FORMAT ": %.1f seg/s, model %.1f "
                    "(%+.1f%%); rto %.3f s, srtt %.4f s, %" G_GUINT64_FORMAT " loss events, "
                    "%" G_GUINT64_FORMAT " queue drops\n", r->p, r->seed, r->goodput_sps, m,
                    100 * (r->goodput_sps / m - 1), r->rto_s, r->srtt_s, r->events,
                    r->queue_drops);
        mean[i / SEEDS] += r->goodput_sps / SEEDS;
        t0_mean[i / SEEDS] += r->rto_s / SEEDS;
    }
    double ratio = mean[0] / mean[1];
    double model_ratio = pftk(ps[0], rtt, t0_mean[0], b, wmax) / pftk(ps[1], rtt, t0_mean[1], b, wmax);
    CU_ASSERT(fabs(ratio / model_ratio - 1) <= 0.20);
    if (fabs(ratio / model_ratio - 1) > 0.20 || verbose)
        fprintf(stderr, "\npftk ratio: measured %.3f, model %.3f; %.2f s\n", ratio, model_ratio,
                (g_get_monotonic_time() - t0) / 1e6);
}

/* The model function itself, against values worked by hand: p = 0.01,
 * RTT 40 ms, T0 200 ms, b = 2: 1 / (0.04 x 0.11547 + 0.2 x 0.25981 x 0.01
 * x 1.0032) = 194.5 segments/s; the window limit caps it. */
static void test_pftk_formula(void)
{
    CU_ASSERT_DOUBLE_EQUAL(pftk(0.01, 0.04, 0.2, 2, 1e9), 194.55, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(pftk(0.01, 0.04, 0.2, 2, 4), 100.0, 1e-9);
    /* Without timeouts' term (T0 = 0) it is the square-root law. */
    CU_ASSERT_DOUBLE_EQUAL(pftk(0.01, 0.04, 0, 1, 1e9), 1 / (0.04 * sqrt(0.02 / 3)), 1e-6);
}

void test_tcp_fidelity_register(void)
{
    CU_pSuite s = ns_test_suite("tcp fidelity", NULL, NULL);
    ns_test_add(s, "PFTK formula", test_pftk_formula);
    ns_test_add(s, "one flow fills a 10 Mbps link", test_single_flow_fills_link);
    CU_pSuite l = ns_test_suite("tcp fidelity (long)", NULL, NULL);
    ns_test_add(l, "100 flows share a bottleneck fairly", test_fairness_100_flows);
    ns_test_add(l, "goodput under random loss follows PFTK", test_pftk_goodput);
}
