/* test_loss.c — loss models: Bernoulli frequencies and edge probabilities,
 * Gilbert–Elliott mean loss and burst length, scripted drops, validation
 * messages, descriptions and determinism.
 *
 * Statistical bounds use fixed seeds and sit at about 5 standard errors
 * (Bernoulli) or 10 % (Gilbert–Elliott, whose losses are correlated). */
#include <math.h>
#include <string.h>

#include "netsim/loss.h"
#include "netsim/pkt.h"
#include "tests.h"

static ns_pkt blank_pkt(uint32_t payload_len)
{
    ns_pkt p;
    memset(&p, 0, sizeof p);
    p.ethertype = NS_ETHERTYPE_IPV4;
    p.l3[0] = 0x45;
    p.payload_len = payload_len;
    return p;
}

static double loss_rate(ns_loss *l, uint64_t seed, int n)
{
    ns_rng r;
    ns_rng_init(&r, seed, "loss");
    ns_pkt p = blank_pkt(100);
    int lost = 0;
    for (int i = 0; i < n; i++)
        lost += ns_loss_drops(l, &p, &r);
    return (double)lost / n;
}

static void test_bernoulli_freq(void)
{
    const double ps[] = { 0.01, 0.1, 0.5 };
    for (size_t i = 0; i < G_N_ELEMENTS(ps); i++) {
        double p = ps[i];
        ns_loss *l = ns_loss_bernoulli(p, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(l);
        int n = 100000;
        double got = loss_rate(l, 11 + i, n);
        double se = sqrt(p * (1 - p) / n);
        CU_ASSERT_TRUE(fabs(got - p) < 5 * se);
        ns_loss_free(l);
    }
}

static void test_bernoulli_edges(void)
{
    ns_loss *zero = ns_loss_bernoulli(0, NULL);
    ns_loss *one = ns_loss_bernoulli(1, NULL);
    CU_ASSERT_EQUAL(loss_rate(zero, 1, 100000), 0.0);
    CU_ASSERT_EQUAL(loss_rate(one, 1, 100000), 1.0);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(zero), "bernoulli(0)");
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(one), "bernoulli(1)");
    ns_loss_free(zero);
    ns_loss_free(one);
    ns_loss *l = ns_loss_bernoulli(0.01, NULL);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(l), "bernoulli(0.01)");
    ns_loss_free(l);
}

/* Checks that a constructor failed with `msg` (NULL: any message). */
static void expect_error(ns_loss *l, GError *err, const char *msg)
{
    CU_ASSERT_PTR_NULL(l);
    ns_loss_free(l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    if (msg)
        CU_ASSERT_STRING_EQUAL(err->message, msg);
    g_error_free(err);
}

static void expect_bernoulli_error(double p, const char *msg)
{
    GError *err = NULL;
    ns_loss *l = ns_loss_bernoulli(p, &err);
    expect_error(l, err, msg);
}

static void expect_gilbert_error(double p_gb, double p_bg, double good, double bad,
                                 const char *msg)
{
    GError *err = NULL;
    ns_loss *l = ns_loss_gilbert(p_gb, p_bg, good, bad, &err);
    expect_error(l, err, msg);
}

static void test_validation(void)
{
    expect_bernoulli_error(1.5, "loss 1.5 is outside [0, 1]");
    expect_bernoulli_error(-0.25, "loss -0.25 is outside [0, 1]");
    expect_bernoulli_error(NAN, NULL);
    expect_gilbert_error(0.1, 2, 0, 1, "p_bg 2 is outside [0, 1]");
    expect_gilbert_error(-1, 0.5, 0, 1, "p_gb -1 is outside [0, 1]");
    expect_gilbert_error(0.1, 0.5, 1.1, 1, "loss_good 1.1 is outside [0, 1]");
    expect_gilbert_error(0.1, 0.5, 0, 3, "loss_bad 3 is outside [0, 1]");
    expect_gilbert_error(0.1, NAN, 0, 1, NULL);
}

/* Mean loss and mean burst length (runs of consecutive losses). */
static void gilbert_stats(ns_loss *l, uint64_t seed, int n, double *rate, double *burst)
{
    ns_rng r;
    ns_rng_init(&r, seed, "loss");
    ns_pkt p = blank_pkt(100);
    int lost = 0, bursts = 0;
    bool prev = false;
    for (int i = 0; i < n; i++) {
        bool d = ns_loss_drops(l, &p, &r);
        lost += d;
        bursts += d && !prev;
        prev = d;
    }
    *rate = (double)lost / n;
    *burst = bursts ? (double)lost / bursts : 0;
}

static void test_gilbert(void)
{
    ns_loss *l = ns_loss_gilbert(0.01, 0.3, 0, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(l), "gilbert(p_gb=0.01,p_bg=0.3,good=0,bad=1)");
    double rate, burst;
    gilbert_stats(l, 5, 1000000, &rate, &burst);
    double want = 0.01 / (0.01 + 0.3);
    CU_ASSERT_DOUBLE_EQUAL(rate, want, 0.1 * want);
    CU_ASSERT_DOUBLE_EQUAL(burst, 1 / 0.3, 0.1 / 0.3);
    ns_loss_free(l);

    /* Both states lossy: pi_bad * loss_bad + pi_good * loss_good. */
    l = ns_loss_gilbert(0.05, 0.2, 0.01, 0.5, NULL);
    gilbert_stats(l, 6, 1000000, &rate, &burst);
    double pi_bad = 0.05 / 0.25;
    want = pi_bad * 0.5 + (1 - pi_bad) * 0.01;
    CU_ASSERT_DOUBLE_EQUAL(rate, want, 0.1 * want);
    ns_loss_free(l);

    /* Never leaving the good state: loss_good alone. */
    l = ns_loss_gilbert(0, 0.5, 0, 1, NULL);
    gilbert_stats(l, 7, 10000, &rate, &burst);
    CU_ASSERT_EQUAL(rate, 0.0);
    ns_loss_free(l);
}

static bool match_len(const ns_pkt *p, void *ud)
{
    return p->payload_len == *(uint32_t *)ud;
}

static void count_free(void *ud)
{
    (*(int *)ud)++;
}

static void test_script(void)
{
    ns_pkt p = blank_pkt(100);

    ns_loss *l = ns_loss_script(NULL, NULL, NULL, 3, 1, false);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(l), "script(nth=3)");
    for (int i = 1; i <= 10; i++)
        CU_ASSERT_EQUAL(ns_loss_drops(l, &p, NULL), i == 3);
    ns_loss_free(l);

    l = ns_loss_script(NULL, NULL, NULL, 2, 3, false);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(l), "script(nth=2,count=3)");
    for (int i = 1; i <= 10; i++)
        CU_ASSERT_EQUAL(ns_loss_drops(l, &p, NULL), i >= 2 && i <= 4);
    ns_loss_free(l);

    /* With a match: counts only matching packets, ignores the rest. */
    uint32_t want_len = 7;
    int freed = 0;
    l = ns_loss_script(match_len, &want_len, NULL, 2, 1, false);
    ns_pkt hit = blank_pkt(7), miss = blank_pkt(8);
    CU_ASSERT_FALSE(ns_loss_drops(l, &miss, NULL));
    CU_ASSERT_FALSE(ns_loss_drops(l, &hit, NULL));     /* 1st match */
    CU_ASSERT_FALSE(ns_loss_drops(l, &miss, NULL));
    CU_ASSERT_TRUE(ns_loss_drops(l, &hit, NULL));      /* 2nd match */
    CU_ASSERT_FALSE(ns_loss_drops(l, &hit, NULL));
    ns_loss_free(l);

    /* every = true: every match, and the user data is released once. */
    l = ns_loss_script(match_len, &want_len, NULL, 0, 0, true);
    CU_ASSERT_STRING_EQUAL(ns_loss_describe(l), "script(every)");
    for (int i = 0; i < 20; i++) {
        CU_ASSERT_TRUE(ns_loss_drops(l, &hit, NULL));
        CU_ASSERT_FALSE(ns_loss_drops(l, &miss, NULL));
    }
    ns_loss_free(l);

    l = ns_loss_script(NULL, &freed, count_free, 1, 1, false);
    CU_ASSERT_TRUE(ns_loss_drops(l, &p, NULL));
    CU_ASSERT_FALSE(ns_loss_drops(l, &p, NULL));
    CU_ASSERT_EQUAL(freed, 0);
    ns_loss_free(l);
    CU_ASSERT_EQUAL(freed, 1);
}

/* Same seed, same decisions; another seed, other decisions. */
static void test_deterministic(void)
{
    ns_loss *a = ns_loss_gilbert(0.05, 0.3, 0.01, 0.9, NULL);
    ns_loss *b = ns_loss_gilbert(0.05, 0.3, 0.01, 0.9, NULL);
    ns_loss *c = ns_loss_gilbert(0.05, 0.3, 0.01, 0.9, NULL);
    ns_rng ra, rb, rc;
    ns_rng_init(&ra, 99, "link a-b loss");
    ns_rng_init(&rb, 99, "link a-b loss");
    ns_rng_init(&rc, 100, "link a-b loss");
    ns_pkt p = blank_pkt(1);
    int differ = 0;
    for (int i = 0; i < 10000; i++) {
        bool da = ns_loss_drops(a, &p, &ra);
        CU_ASSERT_EQUAL_FATAL(da, ns_loss_drops(b, &p, &rb));
        differ += da != ns_loss_drops(c, &p, &rc);
    }
    CU_ASSERT_TRUE(differ > 0);
    ns_loss_free(a);
    ns_loss_free(b);
    ns_loss_free(c);

    ns_loss *x = ns_loss_bernoulli(0.3, NULL);
    double r1 = loss_rate(x, 4, 5000);
    double r2 = loss_rate(x, 4, 5000);
    CU_ASSERT_EQUAL(r1, r2);
    ns_loss_free(x);
}

void test_loss_register(void)
{
    CU_pSuite s = ns_test_suite("loss", NULL, NULL);
    ns_test_add(s, "bernoulli frequency", test_bernoulli_freq);
    ns_test_add(s, "bernoulli 0 and 1", test_bernoulli_edges);
    ns_test_add(s, "validation", test_validation);
    ns_test_add(s, "gilbert-elliott", test_gilbert);
    ns_test_add(s, "scripted", test_script);
    ns_test_add(s, "deterministic", test_deterministic);
}
