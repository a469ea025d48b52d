/* test_queue.c — queue disciplines: drop-tail limits and order, the drop
 * callback's ownership, the registry and its errors, configuration checks,
 * RED's drop probabilities and ECN marking, CoDel's control law.
 *
 * Time is passed explicitly to enqueue and dequeue, so no events run.  Each
 * test builds its own sim and ends by asserting that every packet was
 * freed (by the drop callback, the dequeuing test, or ns_queue_free).
 *
 * The RED frequencies hold the queue at exactly L packets at every arrival
 * so the average converges to L; the expected drop frequency then follows
 * from the paper's count-based p_a (see red_expected_freq).  Bounds are
 * loose (15 %) against roughly 1,000+ drops per measurement with a fixed
 * seed, tight enough that a missing count term or wrong slope fails. */
#include <math.h>
#include <string.h>

#include "netsim/pkt.h"
#include "netsim/queue.h"
#include "tests.h"

/* What the drop callback saw. */
struct drops {
    ns_sim   *sim;
    ns_time_t now;                       /* set by the test before calls */
    unsigned  n[NS_DROP_NCAUSES];
    uint64_t  uids[64];                  /* first dropped uids */
    ns_time_t times[64];                 /* and when */
    size_t    nrec;
};

static void on_drop(void *ud, ns_pkt *p, enum ns_drop_cause cause)
{
    struct drops *d = ud;
    CU_ASSERT_TRUE((size_t)cause < NS_DROP_NCAUSES);
    d->n[cause]++;
    if (d->nrec < G_N_ELEMENTS(d->uids)) {
        d->uids[d->nrec] = p->uid;
        d->times[d->nrec] = d->now;
        d->nrec++;
    }
    ns_pkt_free(d->sim, p);             /* the callback owns it */
}

/* An IPv4 packet whose frame is `frame` bytes (>= 60) with ECN codepoint
 * `ecn`. */
static ns_pkt *mkpkt(ns_sim *sim, uint32_t frame, uint8_t ecn)
{
    ns_pkt *p = ns_pkt_new(sim);
    p->ethertype = NS_ETHERTYPE_IPV4;
    p->l3[0] = 0x45;
    p->l3[1] = ecn;
    p->l3[8] = 64;
    p->l3[9] = NS_IPPROTO_UDP;
    p->payload_len = frame - NS_ETH_HLEN - NS_IP_HLEN;
    return p;
}

static ns_queue *mkqueue(ns_sim *sim, const char *name, const struct ns_queue_cfg *cfg,
                         struct drops *d)
{
    memset(d, 0, sizeof *d);
    d->sim = sim;
    GError *err = NULL;
    ns_queue *q = ns_queue_new(sim, name, cfg, on_drop, d, &err);
    CU_ASSERT_PTR_NOT_NULL(q);
    if (err) {
        fprintf(stderr, "queue: %s\n", err->message);
        g_error_free(err);
    }
    return q;
}

static void finish(ns_sim *sim, ns_queue *q)
{
    ns_queue_free(q);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    ns_sim_free(sim);
}

/* ---- basics ------------------------------------------------------------ */

static void test_defaults(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    CU_ASSERT_EQUAL(c.limit_pkts, 100);
    CU_ASSERT_EQUAL(c.limit_bytes, 0);
    CU_ASSERT_FALSE(c.ecn);
    CU_ASSERT_DOUBLE_EQUAL(c.red_min_th, 5, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.red_max_th, 15, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.red_max_p, 0.1, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.red_wq, 0.002, 0);
    CU_ASSERT_TRUE(c.red_gentle);
    CU_ASSERT_EQUAL(c.codel_target, 5 * NS_MSEC);
    CU_ASSERT_EQUAL(c.codel_interval, 100 * NS_MSEC);
}

static void test_cause_names(void)
{
    CU_ASSERT_STRING_EQUAL(ns_drop_cause_name(NS_DROP_QUEUE_FULL), "queue-full");
    CU_ASSERT_STRING_EQUAL(ns_drop_cause_name(NS_DROP_AQM), "aqm");
    CU_ASSERT_STRING_EQUAL(ns_drop_cause_name(NS_DROP_LINK_DOWN), "link-down");
    CU_ASSERT_STRING_EQUAL(ns_drop_cause_name(NS_DROP_NO_ARP), "no-arp");
}

static void test_droptail_pkts(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 3;
    struct drops d;
    ns_queue *q = mkqueue(sim, "droptail", &c, &d);
    uint64_t uids[5];
    for (int i = 0; i < 5; i++) {
        ns_pkt *p = mkpkt(sim, 1000, NS_ECN_NOT_ECT);
        uids[i] = p->uid;
        ns_queue_enqueue(q, p, i * NS_USEC);
    }
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 3);
    CU_ASSERT_EQUAL(ns_queue_len_bytes(q), 3000);
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 2);
    CU_ASSERT_EQUAL(d.nrec, 2);
    CU_ASSERT_EQUAL(d.uids[0], uids[3]);     /* the arrivals, not queued ones */
    CU_ASSERT_EQUAL(d.uids[1], uids[4]);
    for (int i = 0; i < 3; i++) {
        ns_pkt *p = ns_queue_dequeue(q, 10 * NS_USEC);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(p->uid, uids[i]);    /* FIFO */
        CU_ASSERT_EQUAL(p->stamp, i * NS_USEC);
        CU_ASSERT_PTR_NULL(p->next);
        ns_pkt_free(sim, p);
    }
    CU_ASSERT_PTR_NULL(ns_queue_dequeue(q, 11 * NS_USEC));
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 0);
    CU_ASSERT_EQUAL(ns_queue_len_bytes(q), 0);
    finish(sim, q);
}

static void test_droptail_bytes(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 0;
    c.limit_bytes = 2500;
    struct drops d;
    ns_queue *q = mkqueue(sim, "droptail", &c, &d);
    ns_queue_enqueue(q, mkpkt(sim, 1000, 0), 0);
    ns_queue_enqueue(q, mkpkt(sim, 1000, 0), 0);
    ns_queue_enqueue(q, mkpkt(sim, 1000, 0), 0);    /* 3000 > 2500 */
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 1);
    ns_queue_enqueue(q, mkpkt(sim, 500, 0), 0);     /* exactly 2500 fits */
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 1);
    CU_ASSERT_EQUAL(ns_queue_len_bytes(q), 2500);
    ns_queue_enqueue(q, mkpkt(sim, 60, 0), 0);
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 2);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 3);
    ns_pkt_free(sim, ns_queue_dequeue(q, 0));
    CU_ASSERT_EQUAL(ns_queue_len_bytes(q), 1500);
    finish(sim, q);                  /* frees the two still queued */
}

/* Both limits at once: whichever is reached first. */
static void test_droptail_both_limits(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 4;
    c.limit_bytes = 10000;
    struct drops d;
    ns_queue *q = mkqueue(sim, "droptail", &c, &d);
    for (int i = 0; i < 6; i++)
        ns_queue_enqueue(q, mkpkt(sim, 100, 0), 0);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 4);
    ns_queue_flush(q, NS_DROP_LINK_DOWN);
    for (int i = 0; i < 6; i++)
        ns_queue_enqueue(q, mkpkt(sim, 4000, 0), 0);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 2);
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 6);
    CU_ASSERT_EQUAL(d.n[NS_DROP_LINK_DOWN], 4);
    finish(sim, q);
}

static void test_flush(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct drops d;
    ns_queue *q = mkqueue(sim, "droptail", NULL, &d);
    uint64_t first = 0;
    for (int i = 0; i < 7; i++) {
        ns_pkt *p = mkpkt(sim, 200, 0);
        if (i == 0)
            first = p->uid;
        ns_queue_enqueue(q, p, 0);
    }
    ns_queue_flush(q, NS_DROP_LINK_DOWN);
    CU_ASSERT_EQUAL(d.n[NS_DROP_LINK_DOWN], 7);
    CU_ASSERT_EQUAL(d.uids[0], first);          /* in queue order */
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 0);
    CU_ASSERT_EQUAL(ns_queue_len_bytes(q), 0);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    /* Usable afterwards. */
    ns_queue_enqueue(q, mkpkt(sim, 200, 0), 5);
    ns_pkt *p = ns_queue_dequeue(q, 6);
    CU_ASSERT_PTR_NOT_NULL(p);
    ns_pkt_free(sim, p);
    finish(sim, q);
}

/* Without a drop callback the queue frees what it drops. */
static void test_no_drop_fn(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 1;
    ns_queue *q = ns_queue_new(sim, "droptail", &c, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    ns_queue_enqueue(q, mkpkt(sim, 100, 0), 0);
    ns_queue_enqueue(q, mkpkt(sim, 100, 0), 0);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 1);
    ns_queue_flush(q, NS_DROP_LINK_DOWN);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    CU_ASSERT_PTR_EQUAL(ns_queue_sim(q), sim);
    CU_ASSERT_EQUAL(ns_queue_cfg(q)->limit_pkts, 1);
    finish(sim, q);
}

static void test_mark_ce(void)
{
    ns_sim *sim = ns_sim_new(1);
    ns_pkt *p = mkpkt(sim, 100, NS_ECN_NOT_ECT);
    CU_ASSERT_FALSE(ns_queue_mark_ce(p));
    CU_ASSERT_EQUAL(ns_ip_ecn(p), NS_ECN_NOT_ECT);
    ns_ip_set_ecn(p, NS_ECN_ECT0);
    CU_ASSERT_TRUE(ns_queue_mark_ce(p));
    CU_ASSERT_EQUAL(ns_ip_ecn(p), NS_ECN_CE);
    CU_ASSERT_EQUAL(p->l3[1] >> 2, 0);   /* the DSCP bits are untouched */
    CU_ASSERT_TRUE(ns_queue_mark_ce(p));           /* already CE */
    ns_ip_set_ecn(p, NS_ECN_ECT1);
    CU_ASSERT_TRUE(ns_queue_mark_ce(p));
    CU_ASSERT_EQUAL(ns_ip_ecn(p), NS_ECN_CE);
    p->ethertype = NS_ETHERTYPE_ARP;
    p->l3[1] = NS_ECN_ECT0;
    CU_ASSERT_FALSE(ns_queue_mark_ce(p));
    ns_pkt_free(sim, p);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    ns_sim_free(sim);
}

/* ---- registry ---------------------------------------------------------- */

static void lifo_enqueue(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now)
{
    ns_queue_fifo_push(q, p);
}

static ns_pkt *lifo_dequeue(ns_queue *q, void *priv, ns_time_t now)
{
    return ns_queue_fifo_pop(q);
}

static const struct ns_queue_ops fifo_ops = {
    .name = "fifo", .enqueue = lifo_enqueue, .dequeue = lifo_dequeue,
};
static const struct ns_queue_ops no_dequeue_ops = {
    .name = "broken", .enqueue = lifo_enqueue,
};
static const struct ns_queue_ops dup_ops = {
    .name = "red", .enqueue = lifo_enqueue, .dequeue = lifo_dequeue,
};

static void test_registry(void)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_queue_new(sim, "fifo", NULL, NULL, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_NOT_FOUND));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "unknown queue discipline 'fifo' (known: codel, droptail, red)");
    g_clear_error(&err);

    CU_ASSERT_PTR_EQUAL(ns_queue_find(sim, "red"), &ns_queue_red);
    CU_ASSERT_PTR_EQUAL(ns_queue_find(sim, "codel"), &ns_queue_codel);
    CU_ASSERT_PTR_EQUAL(ns_queue_find(sim, "droptail"), &ns_queue_droptail);
    CU_ASSERT_PTR_NULL(ns_queue_find(sim, "fifo"));

    CU_ASSERT_FALSE(ns_queue_register(sim, &dup_ops, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    CU_ASSERT_STRING_EQUAL(err->message, "queue discipline 'red' is already registered");
    g_clear_error(&err);

    CU_ASSERT_FALSE(ns_queue_register(sim, &no_dequeue_ops, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "queue discipline 'broken' lacks the required hook 'dequeue'");
    g_clear_error(&err);

    CU_ASSERT_TRUE(ns_queue_register(sim, &fifo_ops, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_EQUAL(ns_queue_find(sim, "fifo"), &fifo_ops);
    ns_queue *q = ns_queue_new(sim, "fifo", NULL, NULL, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL(q);
    ns_queue_free(q);
    CU_ASSERT_PTR_NULL(ns_queue_new(sim, "sfq", NULL, NULL, NULL, &err));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "unknown queue discipline 'sfq' (known: codel, droptail, fifo, red)");
    g_clear_error(&err);
    ns_sim_free(sim);

    /* The registry is per sim: another sim knows only the built-ins. */
    sim = ns_sim_new(1);
    CU_ASSERT_PTR_NULL(ns_queue_find(sim, "fifo"));
    ns_sim_free(sim);
}

/* Each queue draws from "queue.<n>", n in creation order. */
static void test_rng_streams(void)
{
    ns_sim *sim = ns_sim_new(9);
    ns_queue *a = ns_queue_new(sim, "red", NULL, NULL, NULL, NULL);
    struct ns_queue_cfg bad;
    ns_queue_cfg_defaults(&bad);
    bad.red_max_p = 0;
    CU_ASSERT_PTR_NULL(ns_queue_new(sim, "red", &bad, NULL, NULL, NULL));
    ns_queue *b = ns_queue_new(sim, "codel", NULL, NULL, NULL, NULL);
    CU_ASSERT_PTR_EQUAL(ns_queue_rng(a), ns_sim_rng(sim, "queue.0"));
    CU_ASSERT_PTR_EQUAL(ns_queue_rng(b), ns_sim_rng(sim, "queue.1"));
    ns_queue_free(a);
    ns_queue_free(b);
    ns_sim_free(sim);
}

static void expect_cfg_error(const char *disc, const struct ns_queue_cfg *c,
                             const char *msg)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_queue_new(sim, disc, c, NULL, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    if (strcmp(err->message, msg) != 0)
        fprintf(stderr, "\n  got '%s'\n  want '%s'\n", err->message, msg);
    CU_ASSERT_STRING_EQUAL(err->message, msg);
    g_error_free(err);
    ns_sim_free(sim);
}

static void test_bad_cfg(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.red_min_th = 15;
    c.red_max_th = 5;
    expect_cfg_error("red", &c,
                     "queue 'red': red_max_th 5 must be finite and above red_min_th 15");
    ns_queue_cfg_defaults(&c);
    c.red_min_th = -1;
    expect_cfg_error("red", &c, "queue 'red': red_min_th -1 must be a finite number >= 0");
    ns_queue_cfg_defaults(&c);
    c.red_max_p = 0;
    expect_cfg_error("red", &c, "queue 'red': red_max_p 0 is outside (0, 1]");
    c.red_max_p = 1.5;
    expect_cfg_error("red", &c, "queue 'red': red_max_p 1.5 is outside (0, 1]");
    ns_queue_cfg_defaults(&c);
    c.red_wq = 0;
    expect_cfg_error("red", &c, "queue 'red': red_wq 0 is outside (0, 1]");
    ns_queue_cfg_defaults(&c);
    c.codel_target = 0;
    expect_cfg_error("codel", &c, "queue 'codel': codel_target 0 ns must be > 0");
    ns_queue_cfg_defaults(&c);
    c.codel_interval = -5;
    expect_cfg_error("codel", &c, "queue 'codel': codel_interval -5 ns must be > 0");
    ns_queue_cfg_defaults(&c);
    c.rate_bps = -1;
    expect_cfg_error("droptail", &c,
                     "queue 'droptail': rate_bps -1 must be a finite number >= 0");

    /* A discipline checks only what it reads. */
    ns_queue_cfg_defaults(&c);
    c.red_max_p = 0;
    c.codel_target = 0;
    ns_sim *sim = ns_sim_new(1);
    ns_queue *q = ns_queue_new(sim, "droptail", &c, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(q);
    ns_queue_free(q);
    ns_sim_free(sim);
}

/* ---- RED --------------------------------------------------------------- */

/* The long-run early-drop frequency when avg sits at a level giving base
 * probability pb: after a drop the k-th arrival survives with
 * (1 - (k+1) pb) / (1 - k pb), so P(gap > k) = (1 - (k+1) pb) / (1 - pb)
 * and the frequency is 1 / E[gap]. */
static double red_expected_freq(double pb)
{
    if (pb >= 1)
        return 1;
    double mean_gap = 0;
    for (int k = 0; (k + 1) * pb < 1; k++)
        mean_gap += (1 - (k + 1) * pb) / (1 - pb);
    return 1 / mean_gap;
}

struct red_result {
    double aqm;        /* early or forced drops per arrival */
    double marks;      /* CE marks per arrival */
    double full;       /* tail drops per arrival */
};

/* Holds the queue at L packets at every arrival: warms up, then measures
 * `n` arrivals. */
static struct red_result red_steady(const struct ns_queue_cfg *c, int L, uint8_t ecn,
                                    int n)
{
    ns_sim *sim = ns_sim_new(42);
    struct drops d;
    ns_queue *q = mkqueue(sim, "red", c, &d);
    ns_time_t t = 0;
    unsigned marks = 0;
    struct red_result res = { 0, 0, 0 };
    while ((int)ns_queue_len_pkts(q) < L)
        ns_queue_enqueue(q, mkpkt(sim, 1000, ecn), t);
    for (int phase = 0; phase < 2; phase++) {
        unsigned aqm0 = d.n[NS_DROP_AQM], full0 = d.n[NS_DROP_QUEUE_FULL];
        marks = 0;
        int arrivals = phase == 0 ? 6000 : n;
        for (int i = 0; i < arrivals; i++) {
            t += NS_USEC;
            d.now = t;
            ns_queue_enqueue(q, mkpkt(sim, 1000, ecn), t);
            while ((int)ns_queue_len_pkts(q) > L) {
                ns_pkt *p = ns_queue_dequeue(q, t);
                marks += ns_ip_ecn(p) == NS_ECN_CE;
                ns_pkt_free(sim, p);
            }
        }
        res.aqm = (double)(d.n[NS_DROP_AQM] - aqm0) / n;
        res.full = (double)(d.n[NS_DROP_QUEUE_FULL] - full0) / n;
    }
    res.marks = (double)marks / n;
    finish(sim, q);
    return res;
}

static void assert_near(double got, double want, double rel)
{
    if (fabs(got - want) > rel * want)
        fprintf(stderr, "\n  got %g want %g (+-%g%%)\n", got, want, rel * 100);
    CU_ASSERT_TRUE(fabs(got - want) <= rel * want);
}

static void test_red_below_min(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    struct red_result r = red_steady(&c, 4, NS_ECN_NOT_ECT, 20000);
    CU_ASSERT_EQUAL(r.aqm, 0);
    CU_ASSERT_EQUAL(r.full, 0);
}

static void test_red_between(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    struct red_result r8 = red_steady(&c, 8, NS_ECN_NOT_ECT, 30000);
    struct red_result r12 = red_steady(&c, 12, NS_ECN_NOT_ECT, 30000);
    assert_near(r8.aqm, red_expected_freq(0.1 * 3 / 10), 0.15);
    assert_near(r12.aqm, red_expected_freq(0.1 * 7 / 10), 0.15);
    CU_ASSERT_TRUE(r12.aqm > 1.8 * r8.aqm);
    CU_ASSERT_EQUAL(r8.marks, 0);
}

static void test_red_gentle(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    /* avg 20: p_b = max_p + (1 - max_p) (20 - 15) / 15 = 0.4 */
    struct red_result g = red_steady(&c, 20, NS_ECN_NOT_ECT, 20000);
    assert_near(g.aqm, red_expected_freq(0.4), 0.1);
    /* Past 2 max_th everything is dropped. */
    struct red_result f = red_steady(&c, 31, NS_ECN_NOT_ECT, 5000);
    CU_ASSERT_DOUBLE_EQUAL(f.aqm, 1, 1e-9);
    /* Without gentle, everything above max_th is dropped. */
    c.red_gentle = false;
    struct red_result ng = red_steady(&c, 16, NS_ECN_NOT_ECT, 5000);
    CU_ASSERT_DOUBLE_EQUAL(ng.aqm, 1, 1e-9);
}

static void test_red_ecn(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.ecn = true;
    double want = red_expected_freq(0.07);
    struct red_result e = red_steady(&c, 12, NS_ECN_ECT0, 30000);
    CU_ASSERT_EQUAL(e.aqm, 0);
    assert_near(e.marks, want, 0.15);
    /* Not ECN-capable: dropped as before. */
    struct red_result n = red_steady(&c, 12, NS_ECN_NOT_ECT, 30000);
    assert_near(n.aqm, want, 0.15);
    CU_ASSERT_EQUAL(n.marks, 0);
    /* Forced drops stay drops for ECT packets. */
    struct red_result f = red_steady(&c, 31, NS_ECN_ECT0, 5000);
    CU_ASSERT_DOUBLE_EQUAL(f.aqm, 1, 1e-9);
    /* ECN off: ECT packets are dropped, not marked. */
    c.ecn = false;
    struct red_result off = red_steady(&c, 12, NS_ECN_ECT0, 30000);
    assert_near(off.aqm, want, 0.15);
    CU_ASSERT_EQUAL(off.marks, 0);
}

static void test_red_limit(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 3;
    c.red_min_th = 50;
    c.red_max_th = 60;
    ns_sim *sim = ns_sim_new(1);
    struct drops d;
    ns_queue *q = mkqueue(sim, "red", &c, &d);
    for (int i = 0; i < 5; i++)
        ns_queue_enqueue(q, mkpkt(sim, 1000, 0), 0);
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 2);
    CU_ASSERT_EQUAL(d.n[NS_DROP_AQM], 0);
    finish(sim, q);
}

/* After the queue has been idle, the average decays as if a packet per
 * transmission time had found the queue empty (needs the link rate). */
static unsigned red_drops_after_idle(double rate_bps)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.rate_bps = rate_bps;
    ns_sim *sim = ns_sim_new(3);
    struct drops d;
    ns_queue *q = mkqueue(sim, "red", &c, &d);
    ns_time_t t = 0;
    for (int i = 0; i < 6000; i++) {              /* avg -> 12 */
        t += NS_USEC;
        while (ns_queue_len_pkts(q) < 12)
            ns_queue_enqueue(q, mkpkt(sim, 1000, 0), t);
        ns_queue_enqueue(q, mkpkt(sim, 1000, 0), t);
        while (ns_queue_len_pkts(q) > 12)
            ns_pkt_free(sim, ns_queue_dequeue(q, t));
    }
    ns_pkt *p;
    while ((p = ns_queue_dequeue(q, t)))
        ns_pkt_free(sim, p);
    unsigned before = d.n[NS_DROP_AQM];
    t += 10 * NS_SEC;                             /* idle 10 s */
    for (int i = 0; i < 200; i++) {
        t += NS_USEC;
        ns_queue_enqueue(q, mkpkt(sim, 1000, 0), t);
        while ((p = ns_queue_dequeue(q, t)))
            ns_pkt_free(sim, p);
    }
    unsigned after = d.n[NS_DROP_AQM] - before;
    finish(sim, q);
    return after;
}

static void test_red_idle(void)
{
    /* 1 Mb/s: a 1514-byte frame takes 12.1 ms, so 10 s idle is ~826
     * samples: avg 12 * 0.998^826 ~ 2.3, below min_th. */
    CU_ASSERT_EQUAL(red_drops_after_idle(1e6), 0);
    /* Without a rate the idle time is one sample: avg stays near 12 and
     * the first arrivals are still dropped early. */
    CU_ASSERT_TRUE(red_drops_after_idle(0) > 0);
}

/* ---- CoDel ------------------------------------------------------------- */

struct codel_run {
    ns_sim   *sim;
    ns_queue *q;
    struct drops d;
    ns_time_t marks[64];
    size_t    nmarks;
    ns_time_t t;
};

/* One packet in and one out every millisecond for `ms` milliseconds. */
static void codel_steps(struct codel_run *r, int ms, uint8_t ecn)
{
    for (int i = 0; i < ms; i++) {
        r->t += NS_MSEC;
        r->d.now = r->t;
        ns_queue_enqueue(r->q, mkpkt(r->sim, 1000, ecn), r->t);
        ns_pkt *p = ns_queue_dequeue(r->q, r->t);
        if (!p)
            continue;
        if (ns_ip_ecn(p) == NS_ECN_CE && r->nmarks < G_N_ELEMENTS(r->marks))
            r->marks[r->nmarks++] = r->t;
        ns_pkt_free(r->sim, p);
    }
}

static void codel_fill(struct codel_run *r, int n, uint8_t ecn)
{
    for (int i = 0; i < n; i++)
        ns_queue_enqueue(r->q, mkpkt(r->sim, 1000, ecn), r->t);
}

static void codel_start(struct codel_run *r, bool ecn)
{
    memset(r, 0, sizeof *r);
    r->sim = ns_sim_new(5);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 1000;
    c.ecn = ecn;
    r->q = mkqueue(r->sim, "codel", &c, &r->d);
}

/* The dequeue instants (1 ms grid) of the first n drops for a standing
 * queue whose sojourn time first reaches target at `above` ms: the
 * first drop one interval later, then each interval/sqrt(count) after the
 * scheduled time of the previous one. */
static void codel_expected(ns_time_t above, ns_time_t *want, int n)
{
    ns_time_t first = above + 100 * NS_MSEC;
    ns_time_t next = first;
    want[0] = first;
    for (int k = 1; k < n; k++) {
        next = k == 1 ? first + 100 * NS_MSEC
                      : next + (ns_time_t)llround(100e6 / sqrt((double)k));
        want[k] = (next + NS_MSEC - 1) / NS_MSEC * NS_MSEC;   /* next tick */
    }
}

static void test_codel_below_target(void)
{
    struct codel_run r;
    codel_start(&r, false);
    codel_fill(&r, 4, 0);             /* sojourn 4 ms < 5 ms */
    codel_steps(&r, 10000, 0);
    CU_ASSERT_EQUAL(r.d.n[NS_DROP_AQM], 0);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(r.q), 4);
    finish(r.sim, r.q);
}

/* A standing queue of 20 ms: the sojourn time reaches 5 ms at t = 5 ms,
 * so drops start at 105 ms and follow the control law. */
static void test_codel_control_law(void)
{
    struct codel_run r;
    codel_start(&r, false);
    codel_fill(&r, 20, 0);
    codel_steps(&r, 1000, 0);
    ns_time_t want[5];
    codel_expected(5 * NS_MSEC, want, 5);
    CU_ASSERT_TRUE_FATAL(r.d.nrec >= 5);
    for (int k = 0; k < 5; k++) {
        if (r.d.times[k] != want[k])
            fprintf(stderr, "\n  drop %d at %lld want %lld\n", k,
                    (long long)r.d.times[k], (long long)want[k]);
        CU_ASSERT_EQUAL(r.d.times[k], want[k]);
    }
    CU_ASSERT_EQUAL(want[2], 276 * NS_MSEC);     /* 205 + 100/sqrt 2 */
    /* Each drop shortens the queue by a packet (1 ms): CoDel stops once
     * the sojourn time is below target again, with the queue at 4. */
    CU_ASSERT_EQUAL(r.d.n[NS_DROP_AQM], 16);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(r.q), 4);
    CU_ASSERT_EQUAL(r.d.n[NS_DROP_QUEUE_FULL], 0);
    finish(r.sim, r.q);
}

/* Re-entering the dropping state soon after leaving it resumes with the
 * previous run's drop count (RFC 8289 section 5.5), so the second drop of
 * the new run comes much sooner than one interval after the first; after
 * a long calm, the run starts from count 1 again. */
static ns_time_t codel_second_run_gap(int calm_ms)
{
    struct codel_run r;
    codel_start(&r, false);
    codel_fill(&r, 20, 0);
    codel_steps(&r, 1000, 0);           /* first run: 16 drops, then calm */
    codel_steps(&r, calm_ms, 0);
    size_t first = r.d.nrec;
    codel_fill(&r, 20, 0);
    codel_steps(&r, 1000, 0);
    CU_ASSERT_TRUE_FATAL(r.d.nrec >= first + 2);
    ns_time_t gap = r.d.times[first + 1] - r.d.times[first];
    finish(r.sim, r.q);
    return gap;
}

static void test_codel_count_reuse(void)
{
    ns_time_t soon = codel_second_run_gap(0);
    ns_time_t late = codel_second_run_gap(3000);   /* > 16 intervals */
    CU_ASSERT_TRUE(soon < 40 * NS_MSEC);           /* 100/sqrt(15) ~ 26 ms */
    CU_ASSERT_EQUAL(late, 100 * NS_MSEC);
}

static void test_codel_ecn(void)
{
    struct codel_run r;
    codel_start(&r, true);
    codel_fill(&r, 20, NS_ECN_ECT0);
    codel_steps(&r, 500, NS_ECN_ECT0);
    CU_ASSERT_EQUAL(r.d.n[NS_DROP_AQM], 0);
    ns_time_t want[5];
    codel_expected(5 * NS_MSEC, want, 5);
    CU_ASSERT_TRUE_FATAL(r.nmarks >= 5);
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL(r.marks[k], want[k]);
    /* Marking does not shorten the queue: it stays at 20. */
    CU_ASSERT_EQUAL(ns_queue_len_pkts(r.q), 20);
    finish(r.sim, r.q);

    /* ECN on, packets not ECN-capable: dropped. */
    codel_start(&r, true);
    codel_fill(&r, 20, NS_ECN_NOT_ECT);
    codel_steps(&r, 1000, NS_ECN_NOT_ECT);
    CU_ASSERT_EQUAL(r.d.n[NS_DROP_AQM], 16);
    CU_ASSERT_EQUAL(r.nmarks, 0);
    finish(r.sim, r.q);
}

static void test_codel_limit(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    c.limit_pkts = 5;
    struct drops d;
    ns_queue *q = mkqueue(sim, "codel", &c, &d);
    for (int i = 0; i < 8; i++)
        ns_queue_enqueue(q, mkpkt(sim, 1000, 0), 0);
    CU_ASSERT_EQUAL(d.n[NS_DROP_QUEUE_FULL], 3);
    CU_ASSERT_EQUAL(ns_queue_len_pkts(q), 5);
    finish(sim, q);
}

/* Same seed, same drops. */
static void test_deterministic(void)
{
    struct ns_queue_cfg c;
    ns_queue_cfg_defaults(&c);
    struct red_result a = red_steady(&c, 10, NS_ECN_NOT_ECT, 5000);
    struct red_result b = red_steady(&c, 10, NS_ECN_NOT_ECT, 5000);
    CU_ASSERT_EQUAL(a.aqm, b.aqm);
    CU_ASSERT_TRUE(a.aqm > 0);
}

void test_queue_register(void)
{
    CU_pSuite s = ns_test_suite("queue", NULL, NULL);
    ns_test_add(s, "defaults", test_defaults);
    ns_test_add(s, "drop cause names", test_cause_names);
    ns_test_add(s, "droptail packet limit and FIFO order", test_droptail_pkts);
    ns_test_add(s, "droptail byte limit", test_droptail_bytes);
    ns_test_add(s, "droptail both limits", test_droptail_both_limits);
    ns_test_add(s, "flush", test_flush);
    ns_test_add(s, "no drop callback", test_no_drop_fn);
    ns_test_add(s, "mark CE", test_mark_ce);
    ns_test_add(s, "registry", test_registry);
    ns_test_add(s, "rng streams", test_rng_streams);
    ns_test_add(s, "bad configuration", test_bad_cfg);
    ns_test_add(s, "red below min_th", test_red_below_min);
    ns_test_add(s, "red between thresholds", test_red_between);
    ns_test_add(s, "red gentle and forced", test_red_gentle);
    ns_test_add(s, "red ecn", test_red_ecn);
    ns_test_add(s, "red limit", test_red_limit);
    ns_test_add(s, "red idle decay", test_red_idle);
    ns_test_add(s, "codel below target", test_codel_below_target);
    ns_test_add(s, "codel control law", test_codel_control_law);
    ns_test_add(s, "codel count reuse", test_codel_count_reuse);
    ns_test_add(s, "codel ecn", test_codel_ecn);
    ns_test_add(s, "codel limit", test_codel_limit);
    ns_test_add(s, "deterministic", test_deterministic);
}
