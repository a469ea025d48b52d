/* test_cc.c — congestion control without a TCP core: the per-sim registry
 * (order, errors and their exact messages), the integer cube root, and the
 * reno, newreno and cubic tables driven directly with a struct ns_cc_state
 * the test fills, the way the core will (see conn_loss and ack_round).
 *
 * CUBIC's curve is checked two ways: exactly, by probing a copy of the
 * state with one ACK for a whole window (which moves cwnd straight to the
 * target when srtt is 0, so the probe reads W_cubic(t) to the byte), and
 * loosely, through an ACK clock of one window per RTT. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "netsim/cc.h"
#include "netsim/sim.h"
#include "tests.h"

#define MSS     1460u
#define SEGS(n) ((uint32_t)((n) * MSS))

/* --- a connection as the core would hold it --- */

struct conn {
    const struct ns_cc_ops *ops;
    struct ns_cc_state      s;
    void                   *priv;       /* owned, ops->priv_size bytes */
};

static void conn_init(struct conn *c, const struct ns_cc_ops *ops, uint32_t cwnd,
                      uint32_t ssthresh)
{
    memset(c, 0, sizeof *c);
    c->ops = ops;
    c->priv = g_malloc0(ops->priv_size ? ops->priv_size : 1);
    c->s.mss = MSS;
    c->s.cwnd = cwnd;
    c->s.ssthresh = ssthresh;
    c->s.now = 1 * NS_SEC;              /* not 0: t must be measured from the epoch */
    if (ops->init)
        ops->init(&c->s, c->priv);
}

static void conn_copy(struct conn *dst, const struct conn *src)
{
    *dst = *src;
    dst->priv = g_memdup2(src->priv, src->ops->priv_size ? src->ops->priv_size : 1);
}

static void conn_free(struct conn *c)
{
    g_free(c->priv);
    c->priv = NULL;
}

/* A congestion event with `flight` bytes outstanding, handled as the core
 * does (cc.h): ssthresh from the hook, cwnd = ssthresh (after recovery for
 * DUPACK) or one segment (RTO, RFC 5681 3.1). */
static uint32_t conn_loss(struct conn *c, enum ns_cc_loss kind, uint32_t flight)
{
    c->s.flight = flight;
    uint32_t th = c->ops->ssthresh(&c->s, c->priv, kind);
    c->s.ssthresh = th;
    c->s.cwnd = kind == NS_CC_LOSS_RTO ? c->s.mss : th;
    if (c->ops->on_loss)
        c->ops->on_loss(&c->s, c->priv, kind);
    return th;
}

static void ack(struct conn *c, uint32_t bytes)
{
    c->ops->on_ack(&c->s, c->priv, bytes, c->s.srtt);
}

/* One RTT of ACK clock: the window open at its start comes back in ACKs of
 * `per_ack` bytes (the last may be short) spread evenly over `rtt`. */
static void ack_round(struct conn *c, uint32_t per_ack, ns_time_t rtt)
{
    uint32_t w = c->s.cwnd;
    uint32_t n = (w + per_ack - 1) / per_ack;
    ns_time_t start = c->s.now;
    for (uint32_t i = 0; i < n; i++) {
        c->s.now = start + rtt * (ns_time_t)i / (ns_time_t)n;
        c->s.flight = c->s.cwnd;
        ack(c, i + 1 < n ? per_ack : w - i * per_ack);
    }
    c->s.now = start + rtt;
}

/* --- registry --- */

static void expect_error(GError *err, int code, const char *msg)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, code));
    CU_ASSERT_STRING_EQUAL(err->message, msg);
    g_error_free(err);
}

static void test_builtins(void)
{
    ns_sim *sim = ns_sim_new(1);
    const char *const *names = ns_cc_names(sim);
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    CU_ASSERT_STRING_EQUAL(names[0], "reno");
    CU_ASSERT_STRING_EQUAL(names[1], "newreno");
    CU_ASSERT_STRING_EQUAL(names[2], "cubic");
    CU_ASSERT_PTR_NULL(names[3]);

    GError *err = NULL;
    CU_ASSERT_PTR_EQUAL(ns_cc_find(sim, "reno", &err), &ns_cc_reno);
    CU_ASSERT_PTR_EQUAL(ns_cc_find(sim, "newreno", &err), &ns_cc_newreno);
    CU_ASSERT_PTR_EQUAL(ns_cc_find(sim, "cubic", &err), &ns_cc_cubic);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_EQUAL(ns_cc_reno.flags, NS_CC_RENO_RECOVERY);
    CU_ASSERT_EQUAL(ns_cc_newreno.flags, 0);
    CU_ASSERT_EQUAL(ns_cc_cubic.flags, 0);

    CU_ASSERT_PTR_NULL(ns_cc_find(sim, "vegas", &err));
    expect_error(err, NS_ERROR_NOT_FOUND,
                 "unknown congestion control 'vegas' (known: reno, newreno, cubic)");
    CU_ASSERT_PTR_NULL(ns_cc_find(sim, "Reno", NULL));   /* exact, case and all */
    ns_sim_free(sim);
}

static void dummy_on_ack(struct ns_cc_state *s, void *priv, uint32_t acked, ns_time_t rtt)
{
}

static uint32_t dummy_ssthresh(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind)
{
    return s->cwnd;
}

static void test_register(void)
{
    static const struct ns_cc_ops mine = {
        .name = "mine", .on_ack = dummy_on_ack, .ssthresh = dummy_ssthresh,
    };
    static const struct ns_cc_ops reno_again = {
        .name = "reno", .on_ack = dummy_on_ack, .ssthresh = dummy_ssthresh,
    };
    static const struct ns_cc_ops no_name = {
        .on_ack = dummy_on_ack, .ssthresh = dummy_ssthresh,
    };
    static const struct ns_cc_ops empty_name = {
        .name = "", .on_ack = dummy_on_ack, .ssthresh = dummy_ssthresh,
    };
    static const struct ns_cc_ops no_ack = { .name = "broken", .ssthresh = dummy_ssthresh };
    static const struct ns_cc_ops no_ssthresh = { .name = "broken", .on_ack = dummy_on_ack };

    /* Registering before any lookup still puts the built-ins first. */
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_cc_register(sim, &mine, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_EQUAL(ns_cc_find(sim, "mine", NULL), &mine);

    CU_ASSERT_FALSE(ns_cc_register(sim, &mine, &err));
    expect_error(err, NS_ERROR_EXISTS, "congestion control 'mine' is already registered");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &reno_again, &err));
    expect_error(err, NS_ERROR_EXISTS, "congestion control 'reno' is already registered");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &no_name, &err));
    expect_error(err, NS_ERROR_INVALID, "a congestion control needs a name");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &empty_name, &err));
    expect_error(err, NS_ERROR_INVALID, "a congestion control needs a name");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &no_ack, &err));
    expect_error(err, NS_ERROR_INVALID,
                 "congestion control 'broken': required hook 'on_ack' is missing");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &no_ssthresh, &err));
    expect_error(err, NS_ERROR_INVALID,
                 "congestion control 'broken': required hook 'ssthresh' is missing");
    err = NULL;
    CU_ASSERT_FALSE(ns_cc_register(sim, &no_ssthresh, NULL));   /* NULL error is fine */

    /* Refused tables left no trace; the error lists names in order. */
    const char *const *names = ns_cc_names(sim);
    CU_ASSERT_STRING_EQUAL(names[0], "reno");
    CU_ASSERT_STRING_EQUAL(names[1], "newreno");
    CU_ASSERT_STRING_EQUAL(names[2], "cubic");
    CU_ASSERT_STRING_EQUAL(names[3], "mine");
    CU_ASSERT_PTR_NULL(names[4]);
    CU_ASSERT_PTR_NULL(ns_cc_find(sim, "broken", &err));
    expect_error(err, NS_ERROR_NOT_FOUND,
                 "unknown congestion control 'broken' (known: reno, newreno, cubic, mine)");

    /* The registry is per sim. */
    ns_sim *other = ns_sim_new(1);
    CU_ASSERT_PTR_NULL(ns_cc_find(other, "mine", NULL));
    CU_ASSERT_PTR_NULL(ns_cc_names(other)[3]);
    CU_ASSERT_TRUE(ns_cc_register(other, &mine, NULL));
    ns_sim_free(other);
    ns_sim_free(sim);
}

/* --- cube root --- */

/* r is the cube root of x: r^3 <= x < (r+1)^3, without overflowing. */
static bool is_cbrt(uint64_t x, uint64_t r)
{
    if (r > 2642245)                    /* 2642245^3 < 2^64 < 2642246^3 */
        return false;
    if (r * r * r > x)
        return false;
    uint64_t n = r + 1;
    return n > 2642245 || n * n * n > x;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void test_cbrt(void)
{
    CU_ASSERT_EQUAL(ns_cc_cbrt(0), 0);
    CU_ASSERT_EQUAL(ns_cc_cbrt(1), 1);
    CU_ASSERT_EQUAL(ns_cc_cbrt(7), 1);
    CU_ASSERT_EQUAL(ns_cc_cbrt(8), 2);
    CU_ASSERT_EQUAL(ns_cc_cbrt(9), 2);
    CU_ASSERT_EQUAL(ns_cc_cbrt(26), 2);
    CU_ASSERT_EQUAL(ns_cc_cbrt(27), 3);
    CU_ASSERT_EQUAL(ns_cc_cbrt(999999999999999999u), 999999);
    CU_ASSERT_EQUAL(ns_cc_cbrt(1000000000000000000u), 1000000);
    CU_ASSERT_EQUAL(ns_cc_cbrt(INT64_MAX), 2097151);       /* 2^63 - 1 < 2097152^3 = 2^63 */
    CU_ASSERT_EQUAL(ns_cc_cbrt((uint64_t)1 << 63), 2097152);
    CU_ASSERT_EQUAL(ns_cc_cbrt(UINT64_MAX), 2642245);
    CU_ASSERT_EQUAL(ns_cc_cbrt(18446724184312856125u), 2642245);   /* 2642245^3 */
    CU_ASSERT_EQUAL(ns_cc_cbrt(18446724184312856124u), 2642244);

    /* Every perfect cube that fits, and its neighbours. */
    int bad = 0;
    for (uint64_t r = 1; r <= 2642245; r++) {
        uint64_t c = r * r * r;
        bad += ns_cc_cbrt(c) != r;
        bad += ns_cc_cbrt(c - 1) != r - 1;
        if (c < UINT64_MAX)
            bad += ns_cc_cbrt(c + 1) != r;
    }
    CU_ASSERT_EQUAL(bad, 0);

    /* Random values over every magnitude. */
    uint64_t st = 42;
    for (int i = 0; i < 200000; i++) {
        uint64_t x = splitmix(&st) >> (i % 64);
        bad += !is_cbrt(x, ns_cc_cbrt(x));
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* --- Reno and NewReno --- */

static const struct ns_cc_ops *const renos[] = { &ns_cc_reno, &ns_cc_newreno };

static void test_reno_slow_start(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(renos); i++) {
        struct conn c;
        /* One ACK per segment: cwnd doubles every RTT. */
        conn_init(&c, renos[i], SEGS(10), UINT32_MAX);
        for (uint32_t round = 1, want = 20; round <= 5; round++, want *= 2) {
            ack_round(&c, MSS, 100 * NS_MSEC);
            CU_ASSERT_EQUAL(c.s.cwnd, SEGS(want));
        }
        conn_free(&c);

        /* Delayed ACKs: one MSS per ACK at most (L = 1*SMSS), so 1.5x. */
        conn_init(&c, renos[i], SEGS(10), UINT32_MAX);
        ack_round(&c, 2 * MSS, 100 * NS_MSEC);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(15));
        /* A short ACK adds what it acknowledges. */
        ack(&c, 500);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(15) + 500);
        conn_free(&c);

        /* Slow start stops at ssthresh, then congestion avoidance. */
        conn_init(&c, renos[i], SEGS(10), SEGS(12) + 700);
        ack(&c, MSS);
        ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(12));
        ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(12) + 700);
        ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(12) + 700);
        conn_free(&c);

        /* Application-limited: no growth. */
        conn_init(&c, renos[i], SEGS(10), UINT32_MAX);
        c.s.app_limited = true;
        ack_round(&c, MSS, 100 * NS_MSEC);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(10));
        conn_free(&c);
    }
}

static void test_reno_avoidance(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(renos); i++) {
        struct conn c;
        /* One MSS per window of acknowledged bytes, not before. */
        conn_init(&c, renos[i], SEGS(10), SEGS(10));
        for (int k = 0; k < 9; k++)
            ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(10));
        ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(11));
        for (uint32_t want = 12; want <= 40; want++) {
            ack_round(&c, MSS, 100 * NS_MSEC);
            CU_ASSERT_EQUAL(c.s.cwnd, SEGS(want));
        }
        conn_free(&c);

        /* The same per window whatever the ACK size: delayed ACKs, tiny
         * ACKs; a stretch ACK of three windows still adds one MSS. */
        conn_init(&c, renos[i], SEGS(10), SEGS(10));
        ack_round(&c, 2 * MSS, 100 * NS_MSEC);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(11));
        ack_round(&c, 100, 100 * NS_MSEC);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(12));
        ack(&c, SEGS(36));
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(13));
        ack(&c, MSS);                               /* nothing left over */
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(13));
        c.s.app_limited = true;
        ack_round(&c, MSS, 100 * NS_MSEC);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(13));
        conn_free(&c);
    }
}

static void test_reno_ssthresh(void)
{
    static const enum ns_cc_loss kinds[] = {
        NS_CC_LOSS_DUPACK, NS_CC_LOSS_RTO, NS_CC_LOSS_ECN,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(renos); i++) {
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
            struct conn c;
            conn_init(&c, renos[i], SEGS(30), SEGS(30));
            c.s.flight = SEGS(20);
            CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, kinds[k]), SEGS(10));
            c.s.flight = 10001;
            CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, kinds[k]), 5000);
            c.s.flight = SEGS(3);                       /* half is 1.5 segments */
            CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, kinds[k]), SEGS(2));
            c.s.flight = 0;
            CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, kinds[k]), SEGS(2));
            conn_free(&c);
        }

        /* A loss restarts the count toward the next MSS. */
        struct conn c;
        conn_init(&c, renos[i], SEGS(20), SEGS(20));
        for (int k = 0; k < 19; k++)
            ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(20));
        CU_ASSERT_EQUAL(conn_loss(&c, NS_CC_LOSS_DUPACK, SEGS(20)), SEGS(10));
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(10));
        for (int k = 0; k < 9; k++)
            ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(10));
        ack(&c, MSS);
        CU_ASSERT_EQUAL(c.s.cwnd, SEGS(11));
        conn_free(&c);
    }
}

/* --- CUBIC --- */

/* W_cubic(t) in bytes by the RFC's formula in floating point (the oracle). */
static double w_cubic_mss(double w_max, double cwnd_epoch, double t_sec, double mss)
{
    double k = cbrt((w_max - cwnd_epoch) / (0.4 * mss));
    return w_max + 0.4 * pow(t_sec - k, 3) * mss;
}

static double w_cubic(double w_max, double cwnd_epoch, double t_sec)
{
    return w_cubic_mss(w_max, cwnd_epoch, t_sec, MSS);
}

/* A CUBIC connection that just lost at cwnd = flight = w_max, and opened its
 * congestion-avoidance epoch with a 1-byte ACK (which grows nothing). */
static void cubic_after_loss(struct conn *c, uint32_t w_max)
{
    conn_init(c, &ns_cc_cubic, w_max, UINT32_MAX);
    conn_loss(c, NS_CC_LOSS_DUPACK, w_max);
    ack(c, 1);
}

/* The cwnd one ACK for the whole window gives a copy of c at epoch + t:
 * the target min(W_cubic(t + srtt), 1.5 cwnd), or W_est where that is
 * larger. */
static uint32_t probe(const struct conn *c, ns_time_t t)
{
    struct conn p;
    conn_copy(&p, c);
    p.s.now = c->s.now + t;
    ack(&p, p.s.cwnd);
    uint32_t w = p.s.cwnd;
    conn_free(&p);
    return w;
}

static ns_time_t sec(double s)
{
    return (ns_time_t)llround(s * 1e9);
}

static void test_cubic_curve(void)
{
    struct conn c;
    cubic_after_loss(&c, SEGS(100));
    CU_ASSERT_EQUAL(c.s.ssthresh, SEGS(70));
    CU_ASSERT_EQUAL(c.s.cwnd, SEGS(70));

    /* K = cbrt(100 * 0.3 / 0.4) = 4.2172 s: the probe crosses W_max there
     * (the curve is flat at K, so look 0.2 s either side). */
    double k = cbrt(100 * 0.3 / 0.4);
    CU_ASSERT_DOUBLE_EQUAL(k, 4.2172, 0.0001);
    CU_ASSERT_TRUE(probe(&c, sec(k - 0.2)) < SEGS(100));
    CU_ASSERT_TRUE(probe(&c, sec(k + 0.2)) > SEGS(100));
    CU_ASSERT_TRUE(labs((long)probe(&c, sec(k)) - (long)SEGS(100)) <= 2);

    /* The whole curve, to within 3 bytes of the formula, from just after
     * the epoch to where the 1.5 cwnd cap takes over (K + 2.3 s). */
    int off = 0;
    for (double t = 0.1; t < k + 2.3; t += 0.05) {
        double want = w_cubic(SEGS(100), SEGS(70), t);
        double got = probe(&c, sec(t));
        if (fabs(got - want) > 3) {
            if (off++ < 5)
                printf("\n  cubic t=%.2f: got %.0f want %.1f", t, got, want);
        }
    }
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT_EQUAL(probe(&c, sec(k + 3)), SEGS(105));      /* 1.5 * cwnd */

    /* Concave below K, convex above: growth per second shrinks, then rises. */
    uint32_t w[9];
    for (int i = 0; i < 5; i++)
        w[i] = probe(&c, sec(k - 4 + i));          /* K-4 .. K */
    CU_ASSERT_TRUE(w[1] - w[0] > w[2] - w[1]);
    CU_ASSERT_TRUE(w[2] - w[1] > w[3] - w[2]);
    CU_ASSERT_TRUE(w[3] - w[2] > w[4] - w[3]);
    for (int i = 5; i < 8; i++)
        w[i] = probe(&c, sec(k + (i - 4) * 0.7));  /* K+0.7 .. K+2.1 */
    CU_ASSERT_TRUE(w[5] - w[4] < w[6] - w[5]);
    CU_ASSERT_TRUE(w[6] - w[5] < w[7] - w[6]);
    conn_free(&c);

    /* W_max = 1000 segments: K = cbrt(750) = 9.0856 s. */
    cubic_after_loss(&c, SEGS(1000));
    double k1000 = cbrt(1000 * 0.3 / 0.4);
    CU_ASSERT_TRUE(labs((long)probe(&c, sec(k1000)) - (long)SEGS(1000)) <= 2);
    CU_ASSERT_TRUE(probe(&c, sec(k1000 - 0.5)) < SEGS(1000));
    CU_ASSERT_TRUE(probe(&c, sec(k1000 + 0.5)) > SEGS(1000));
    conn_free(&c);

    /* A 3 GB window (K = 115.5 s: its cube no longer fits the 2^-16 s
     * scaling, so K is found to 2^-15 s): the formula to within 1e-6. */
    cubic_after_loss(&c, 3000000000u);
    CU_ASSERT_EQUAL(c.s.cwnd, 2100000000u);
    off = 0;
    for (double t = 20; t < 140; t += 10) {
        double want = w_cubic(3e9, 2.1e9, t);
        double got = probe(&c, sec(t));
        off += fabs(got - want) > want * 1e-6;
    }
    CU_ASSERT_EQUAL(off, 0);
    conn_free(&c);

    /* The largest MSS, W_max = 6,550,000 bytes (about 100 segments; the
     * division for K's cube has a remainder over 2^16): the formula to
     * within 1/1000 segment. */
    conn_init(&c, &ns_cc_cubic, 6550000, UINT32_MAX);
    c.s.mss = 65535;
    conn_loss(&c, NS_CC_LOSS_DUPACK, 6550000);
    ack(&c, 1);
    off = 0;
    for (double t = 0.5; t < 6; t += 0.25) {
        double want = w_cubic_mss(6550000, 4585000, t, 65535);
        double got = probe(&c, sec(t));
        off += fabs(got - want) > 65535 / 1000;
    }
    CU_ASSERT_EQUAL(off, 0);
    conn_free(&c);
}

/* The RFC's target is W_cubic(t + RTT), RTT = srtt, else min_rtt. */
static void test_cubic_rtt(void)
{
    struct conn c;
    cubic_after_loss(&c, SEGS(100));
    uint32_t ahead = probe(&c, sec(2.1));
    CU_ASSERT_NOT_EQUAL(probe(&c, sec(2.0)), ahead);
    c.s.srtt = 100 * NS_MSEC;
    CU_ASSERT_EQUAL(probe(&c, sec(2.0)), ahead);
    c.s.srtt = 0;
    c.s.min_rtt = 100 * NS_MSEC;
    CU_ASSERT_EQUAL(probe(&c, sec(2.0)), ahead);
    c.s.srtt = 50 * NS_MSEC;                       /* srtt wins over min_rtt */
    CU_ASSERT_EQUAL(probe(&c, sec(2.05)), ahead);
    conn_free(&c);
}

/* Runs `rounds` 100 ms rounds of ACK clock after a loss at w_max, with
 * srtt = 100 ms; at[i] = cwnd at epoch + i * 100 ms. */
static void cubic_clock(uint32_t w_max, uint32_t *at, int rounds)
{
    struct conn c;
    cubic_after_loss(&c, w_max);
    c.s.srtt = 100 * NS_MSEC;
    ns_time_t epoch = c.s.now;
    for (int i = 0; i < rounds; i++) {
        at[i] = c.s.cwnd;
        ack_round(&c, MSS, 100 * NS_MSEC);
    }
    CU_ASSERT_EQUAL(c.s.now - epoch, rounds * 100 * NS_MSEC);
    conn_free(&c);
}

/* The cwnd an ACK clock produces follows W_cubic(t): aiming at W(t + RTT)
 * one RTT ahead, it stays within a fraction of a segment of W(t). */
static void test_cubic_ack_clock(void)
{
    /* W_max = 100 segments, K = 4.217 s (round 42). */
    uint32_t at[140];
    cubic_clock(SEGS(100), at, 80);
    CU_ASSERT_TRUE(labs((long)at[42] - (long)SEGS(100)) <= (long)MSS);
    CU_ASSERT_TRUE(at[30] < SEGS(100) - MSS / 2);
    int off = 0;
    for (int i = 1; i <= 55; i++) {
        double want = w_cubic(SEGS(100), SEGS(70), i * 0.1);
        off += at[i] < at[i - 1] || fabs(at[i] - want) > MSS / 2;
    }
    CU_ASSERT_EQUAL(off, 0);
    /* From about 5.7 s W_est (alpha 9/17 per RTT, then 1 past W_max) leads
     * the still-flat curve: the Reno-friendly region, cwnd above W(t). */
    CU_ASSERT_TRUE(at[75] > w_cubic(SEGS(100), SEGS(70), 7.5) + 2 * MSS);

    /* W_max = 1000 segments, K = 9.086 s (round 91): large enough that the
     * curve leads W_est throughout, concave before K and convex after. */
    cubic_clock(SEGS(1000), at, 140);
    CU_ASSERT_TRUE(labs((long)at[91] - (long)SEGS(1000)) <= (long)MSS);
    off = 0;
    for (int i = 1; i < 140; i++) {
        double want = w_cubic(SEGS(1000), SEGS(700), i * 0.1);
        off += at[i] < at[i - 1] || fabs(at[i] - want) > MSS / 2;
    }
    CU_ASSERT_EQUAL(off, 0);
    for (int i = 0; i + 40 <= 91; i += 20)          /* concave: growth shrinks */
        CU_ASSERT_TRUE(at[i + 20] - at[i] > at[i + 40] - at[i + 20]);
    for (int i = 91; i + 20 < 140; i += 10)         /* convex: growth rises */
        CU_ASSERT_TRUE(at[i + 10] - at[i] < at[i + 20] - at[i + 10]);
}

/* Small BDP (1 ms RTT): the Reno-friendly region rules, cwnd grows about
 * as Reno's would, far above the cubic curve (which stays below W_max for
 * the first K = 2.47 s).  Large BDP (100 ms): CUBIC outgrows Reno. */
static void test_cubic_reno_friendly(void)
{
    struct conn cu, re;
    cubic_after_loss(&cu, SEGS(20));
    conn_init(&re, &ns_cc_reno, SEGS(20), UINT32_MAX);
    conn_loss(&re, NS_CC_LOSS_DUPACK, SEGS(20));
    uint32_t cu0 = cu.s.cwnd, re0 = re.s.cwnd;
    CU_ASSERT_EQUAL(cu0, SEGS(14));
    CU_ASSERT_EQUAL(re0, SEGS(10));
    cu.s.srtt = re.s.srtt = NS_MSEC;

    /* Below cwnd_prior (20 segments) W_est grows alpha = 9/17 segment per
     * RTT: 10 RTTs give 5.3 segments, where Reno gets 10. */
    for (int i = 0; i < 10; i++) {
        ack_round(&cu, MSS, NS_MSEC);
        ack_round(&re, MSS, NS_MSEC);
    }
    CU_ASSERT_EQUAL(re.s.cwnd - re0, SEGS(10));
    CU_ASSERT_TRUE(cu.s.cwnd - cu0 >= SEGS(5) && cu.s.cwnd - cu0 <= SEGS(6));
    /* Past it, one segment per RTT like Reno. */
    for (int i = 10; i < 200; i++) {
        ack_round(&cu, MSS, NS_MSEC);
        ack_round(&re, MSS, NS_MSEC);
    }
    uint32_t cu_grow = cu.s.cwnd - cu0, re_grow = re.s.cwnd - re0;
    CU_ASSERT_EQUAL(re_grow, SEGS(200));
    CU_ASSERT_TRUE(cu_grow >= SEGS(190) && cu_grow <= SEGS(200));
    CU_ASSERT_TRUE(cu.s.cwnd > SEGS(200));          /* the curve: < 20 segments */
    conn_free(&cu);
    conn_free(&re);

    cubic_after_loss(&cu, SEGS(1000));
    conn_init(&re, &ns_cc_reno, SEGS(1000), UINT32_MAX);
    conn_loss(&re, NS_CC_LOSS_DUPACK, SEGS(1000));
    cu.s.srtt = re.s.srtt = 100 * NS_MSEC;
    for (int i = 0; i < 100; i++) {                 /* 10 s > K = 9.09 s */
        ack_round(&cu, MSS, 100 * NS_MSEC);
        ack_round(&re, MSS, 100 * NS_MSEC);
    }
    CU_ASSERT_EQUAL(re.s.cwnd, SEGS(600));
    CU_ASSERT_TRUE(cu.s.cwnd > SEGS(990));
    conn_free(&cu);
    conn_free(&re);
}

/* RFC 9438 4.7: a loss before regaining W_max lowers W_max to
 * cwnd * (1 + beta) / 2; a loss above it sets W_max = cwnd. */
static void test_cubic_fast_convergence(void)
{
    struct conn c;
    cubic_after_loss(&c, SEGS(100));
    c.s.cwnd = SEGS(90);                           /* lost again at 90 < 100 */
    CU_ASSERT_EQUAL(conn_loss(&c, NS_CC_LOSS_DUPACK, SEGS(90)), SEGS(63));
    ack(&c, 1);
    /* W_max = 76.5 segments, K = cbrt((76.5 - 63) / 0.4) = 3.23 s. */
    double k = cbrt((76.5 - 63) / 0.4);
    CU_ASSERT_TRUE(fabs(probe(&c, sec(k)) - 76.5 * MSS) <= 2);
    CU_ASSERT_TRUE(probe(&c, sec(k + 1)) < SEGS(78));  /* 90 without convergence */
    conn_free(&c);

    cubic_after_loss(&c, SEGS(100));
    c.s.cwnd = SEGS(110);                          /* lost at 110 >= 100 */
    CU_ASSERT_EQUAL(conn_loss(&c, NS_CC_LOSS_ECN, SEGS(110)), SEGS(77));
    ack(&c, 1);
    k = cbrt(110 * 0.3 / 0.4);
    CU_ASSERT_TRUE(labs((long)probe(&c, sec(k)) - (long)SEGS(110)) <= 2);
    conn_free(&c);
}

/* ssthresh = max(flight * 0.7, 2 * mss); RTO: slow start back to it, then
 * a fresh epoch with K = 0 and W_max = cwnd_epoch (RFC 9438 4.8). */
static void test_cubic_loss(void)
{
    struct conn c;
    conn_init(&c, &ns_cc_cubic, SEGS(10), UINT32_MAX);
    c.s.flight = 10000;
    CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, NS_CC_LOSS_DUPACK), 7000);
    c.s.flight = SEGS(2);
    CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, NS_CC_LOSS_ECN), SEGS(2));
    c.s.flight = 0;
    CU_ASSERT_EQUAL(c.ops->ssthresh(&c.s, c.priv, NS_CC_LOSS_RTO), SEGS(2));
    conn_free(&c);

    cubic_after_loss(&c, SEGS(100));
    ack_round(&c, MSS, 100 * NS_MSEC);             /* an epoch under way */
    c.s.cwnd = SEGS(80);
    CU_ASSERT_EQUAL(conn_loss(&c, NS_CC_LOSS_RTO, SEGS(80)), SEGS(56));
    CU_ASSERT_EQUAL(c.s.cwnd, MSS);
    int acks = 0;
    while (c.s.cwnd < c.s.ssthresh) {
        ack(&c, MSS);
        acks++;
    }
    CU_ASSERT_EQUAL(acks, 55);
    CU_ASSERT_EQUAL(c.s.cwnd, SEGS(56));
    c.s.now += 3 * NS_SEC;
    ack(&c, 1);                                    /* the new epoch starts now */
    /* W = 56 + 0.4 t^3 segments: 57.35 at 1.5 s, 59.2 at 2 s (at 1 s,
     * 56.4, W_est = 56.53 would still lead). */
    CU_ASSERT_TRUE(fabs(probe(&c, sec(1.5)) - 57.35 * MSS) <= 2);
    CU_ASSERT_TRUE(fabs(probe(&c, sec(2)) - 59.2 * MSS) <= 2);
    conn_free(&c);

    /* Application-limited: no growth in slow start or avoidance. */
    cubic_after_loss(&c, SEGS(100));
    c.s.app_limited = true;
    ack_round(&c, MSS, 100 * NS_MSEC);
    CU_ASSERT_EQUAL(c.s.cwnd, SEGS(70));
    conn_free(&c);
}

/* --- determinism --- */

static uint64_t fnv1a(uint64_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3u;
    }
    return h;
}

/* A pseudo-random but fixed life: ACKs of all sizes at irregular times,
 * changing RTTs, app-limited stretches and every kind of loss.  Returns a
 * hash of the (cwnd, ssthresh) after every call. */
static uint64_t scripted_life(const struct ns_cc_ops *ops, uint64_t seed)
{
    struct conn c;
    conn_init(&c, ops, SEGS(10), UINT32_MAX);
    uint64_t st = seed, h = 0xcbf29ce484222325u;
    for (int i = 0; i < 50000; i++) {
        uint64_t r = splitmix(&st);
        c.s.now += (ns_time_t)(r % (2 * NS_MSEC));
        c.s.srtt = 10 * NS_MSEC + (ns_time_t)((r >> 20) % (90 * NS_MSEC));
        c.s.min_rtt = 10 * NS_MSEC;
        c.s.app_limited = (r >> 50) % 17 == 0;
        if ((r >> 40) % 500 == 0) {
            enum ns_cc_loss kind = (enum ns_cc_loss)((r >> 30) % 3);
            conn_loss(&c, kind, c.s.cwnd - (uint32_t)((r >> 8) % MSS));
        } else {
            c.s.flight = c.s.cwnd;
            ack(&c, 1 + (uint32_t)((r >> 16) % (3 * MSS)));
        }
        h = fnv1a(fnv1a(h, c.s.cwnd), c.s.ssthresh);
    }
    conn_free(&c);
    return h;
}

static void test_determinism(void)
{
    const struct ns_cc_ops *all[] = { &ns_cc_reno, &ns_cc_newreno, &ns_cc_cubic };
    /* Golden hashes: integer arithmetic only, so these hold on every
     * machine.  A deliberate change of the arithmetic updates them. */
    const uint64_t golden[] = {
        0x8e9a597ce490fa12u, 0x8e9a597ce490fa12u, 0x70c6be39c2ef1ad6u,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        uint64_t a = scripted_life(all[i], 7);
        CU_ASSERT_EQUAL(a, scripted_life(all[i], 7));
        CU_ASSERT_NOT_EQUAL(a, scripted_life(all[i], 8));
        if (a != golden[i])
            printf("\n  %s: trace hash 0x%016" PRIx64, all[i]->name, a);
        CU_ASSERT_EQUAL(a, golden[i]);
    }
    /* Reno and NewReno compute the same windows. */
    CU_ASSERT_EQUAL(scripted_life(&ns_cc_reno, 7), scripted_life(&ns_cc_newreno, 7));
    CU_ASSERT_NOT_EQUAL(scripted_life(&ns_cc_reno, 7), scripted_life(&ns_cc_cubic, 7));
}

void test_cc_register(void)
{
    CU_pSuite s = ns_test_suite("cc", NULL, NULL);
    ns_test_add(s, "built-ins and unknown names", test_builtins);
    ns_test_add(s, "register: order and errors", test_register);
    ns_test_add(s, "cube root", test_cbrt);
    ns_test_add(s, "reno slow start", test_reno_slow_start);
    ns_test_add(s, "reno congestion avoidance", test_reno_avoidance);
    ns_test_add(s, "reno ssthresh", test_reno_ssthresh);
    ns_test_add(s, "cubic curve and K", test_cubic_curve);
    ns_test_add(s, "cubic rtt", test_cubic_rtt);
    ns_test_add(s, "cubic ack clock", test_cubic_ack_clock);
    ns_test_add(s, "cubic reno-friendly region", test_cubic_reno_friendly);
    ns_test_add(s, "cubic fast convergence", test_cubic_fast_convergence);
    ns_test_add(s, "cubic loss and rto", test_cubic_loss);
    ns_test_add(s, "determinism", test_determinism);
}
