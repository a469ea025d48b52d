/* test_rng.c — random streams: determinism, independence between streams,
 * the generator's known answers, and the distributions' shapes.
 *
 * The statistical checks use fixed seeds, so they are deterministic; their
 * bounds are about 4-5 standard errors, loose enough for any correct
 * implementation and seed, tight enough that a wrong formula (a missing
 * factor, an off-by-one in a range, modulo bias) fails. */
#include <math.h>
#include <string.h>

#include "tests.h"
#include "netsim/rng.h"
#include "netsim/sim.h"

#define NDRAWS 1000000

/* ---- the generator itself ---------------------------------------------- */

/* Reference outputs of xoshiro256** from state {1, 2, 3, 4}. */
static void test_known_answer(void)
{
    ns_rng r = { .s = { 1, 2, 3, 4 } };
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(11520));
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(0));
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(1509978240));
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(1215971899390074240));
}

/* Pins the (seed, name) -> state derivation: changing the hash or the
 * mixing would silently change every golden trace, so it must show here. */
static void test_derivation_pinned(void)
{
    ns_rng r;
    ns_rng_init(&r, 42, "link");
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(18188556724833416107));
    ns_rng_init(&r, 0, "");
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_C(2173012722847780656));
    CU_ASSERT_TRUE((r.s[0] | r.s[1] | r.s[2] | r.s[3]) != 0);
}

static void test_same_seed_name(void)
{
    ns_rng a, b;
    ns_rng_init(&a, 7, "host a");
    ns_rng_init(&b, 7, "host a");
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(ns_rng_u64(&a), ns_rng_u64(&b));
}

/* Counts equal outputs of two streams at the same positions: independent
 * streams almost never agree on a 64-bit word. */
static int agreements(uint64_t sa, const char *na, uint64_t sb, const char *nb)
{
    ns_rng a, b;
    ns_rng_init(&a, sa, na);
    ns_rng_init(&b, sb, nb);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += ns_rng_u64(&a) == ns_rng_u64(&b);
    return same;
}

static void test_different_streams(void)
{
    CU_ASSERT_EQUAL(agreements(7, "host a", 7, "host b"), 0);
    CU_ASSERT_EQUAL(agreements(7, "a", 7, "b"), 0);
    CU_ASSERT_EQUAL(agreements(7, "", 7, "a"), 0);
    CU_ASSERT_EQUAL(agreements(7, "host a", 8, "host a"), 0);
    CU_ASSERT_EQUAL(agreements(0, "x", 1, "x"), 0);
    CU_ASSERT_EQUAL(agreements(0, "x", UINT64_MAX, "x"), 0);
}

/* Drawing from other streams, or creating them, never moves a stream. */
static void test_streams_independent(void)
{
    uint64_t want[100];
    ns_rng a;
    ns_rng_init(&a, 99, "queue");
    for (int i = 0; i < 100; i++)
        want[i] = ns_rng_u64(&a);

    ns_rng b, c;
    ns_rng_init(&b, 99, "other");
    ns_rng_init(&a, 99, "queue");
    for (int i = 0; i < 100; i++) {
        ns_rng_u64(&b);
        if (i == 50)
            ns_rng_init(&c, 99, "late");
        ns_rng_exp(&c, 1.0);
        CU_ASSERT_EQUAL_FATAL(ns_rng_u64(&a), want[i]);
    }
}

static void test_sim_streams(void)
{
    ns_sim *sim = ns_sim_new(1234);
    ns_rng *a = ns_sim_rng(sim, "loss");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_EQUAL(ns_sim_rng(sim, "loss"), a);
    ns_rng *b = ns_sim_rng(sim, "delay");
    CU_ASSERT_PTR_NOT_EQUAL(b, a);
    CU_ASSERT_PTR_EQUAL(ns_sim_rng(sim, "loss"), a);

    /* The sim's stream is the stream of (sim seed, name), whatever other
     * streams were created before it. */
    ns_rng ref;
    ns_rng_init(&ref, 1234, "loss");
    for (int i = 0; i < 10; i++) {
        ns_rng_u64(b);
        CU_ASSERT_EQUAL(ns_rng_u64(a), ns_rng_u64(&ref));
    }
    ns_sim_free(sim);
}

/* ---- ranges and edge cases --------------------------------------------- */

static void test_uniform_range(void)
{
    ns_rng r;
    ns_rng_init(&r, 1, "uniform");
    for (int i = 0; i < 100000; i++) {
        double u = ns_rng_uniform(&r);
        CU_ASSERT_FATAL(u >= 0.0 && u < 1.0);
        /* 53-bit: u * 2^53 is an integer. */
        CU_ASSERT_FATAL(u * 0x1p53 == floor(u * 0x1p53));
        double x = ns_rng_uniform_range(&r, -2.0, 3.0);
        CU_ASSERT_FATAL(x >= -2.0 && x < 3.0);
    }
    /* A range one ulp wide can only give its lower end. */
    double lo = 1.0, hi = nextafter(1.0, 2.0);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(ns_rng_uniform_range(&r, lo, hi), lo);
}

static void test_below_range(void)
{
    ns_rng r;
    ns_rng_init(&r, 2, "below");
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(ns_rng_below(&r, 1), 0);
    bool seen[5] = { false };
    for (int i = 0; i < 10000; i++) {
        uint64_t k = ns_rng_below(&r, 5);
        CU_ASSERT_FATAL(k < 5);
        seen[k] = true;
    }
    for (int k = 0; k < 5; k++)
        CU_ASSERT_TRUE(seen[k]);
    const uint64_t big[] = { UINT64_MAX, (UINT64_C(1) << 63) + 1, UINT64_C(3) << 62,
                             UINT64_C(1000000007) };
    for (size_t j = 0; j < G_N_ELEMENTS(big); j++)
        for (int i = 0; i < 10000; i++)
            CU_ASSERT_FATAL(ns_rng_below(&r, big[j]) < big[j]);
}

/* n = 3 * 2^62 leaves 2^64 mod n = 2^62 surplus words, so both shortcuts
 * are visibly biased: `x % n` gives the low third of the range weight 1/2
 * instead of 1/3, and multiply-shift without its rejection step maps two
 * words to every k divisible by 3 (P(k % 3 == 0) = 1/2, not 1/3). */
static void test_below_unbiased_large(void)
{
    ns_rng r;
    ns_rng_init(&r, 3, "bias");
    const uint64_t n = UINT64_C(3) << 62;
    int low = 0, third = 0;
    const int N = 300000;
    for (int i = 0; i < N; i++) {
        uint64_t k = ns_rng_below(&r, n);
        low += k < (UINT64_C(1) << 62);
        third += k % 3 == 0;
    }
    CU_ASSERT_DOUBLE_EQUAL((double)low / N, 1.0 / 3.0, 0.005);     /* se 0.00086 */
    CU_ASSERT_DOUBLE_EQUAL((double)third / N, 1.0 / 3.0, 0.005);
}

static void test_bernoulli_edges(void)
{
    ns_rng r;
    ns_rng_init(&r, 4, "coin");
    for (int i = 0; i < 10000; i++) {
        CU_ASSERT_FALSE_FATAL(ns_rng_bernoulli(&r, 0.0));
        CU_ASSERT_FALSE_FATAL(ns_rng_bernoulli(&r, -1.0));
        CU_ASSERT_TRUE_FATAL(ns_rng_bernoulli(&r, 1.0));
        CU_ASSERT_TRUE_FATAL(ns_rng_bernoulli(&r, 2.0));
    }
    /* One draw per call whatever p is, so p does not shift the stream. */
    ns_rng a, b;
    ns_rng_init(&a, 4, "coin");
    ns_rng_init(&b, 4, "coin");
    ns_rng_bernoulli(&a, 0.0);
    ns_rng_bernoulli(&b, 0.5);
    CU_ASSERT_EQUAL(ns_rng_u64(&a), ns_rng_u64(&b));
}

static void test_exp_pareto_ranges(void)
{
    ns_rng r;
    ns_rng_init(&r, 5, "tails");
    for (int i = 0; i < 100000; i++) {
        double e = ns_rng_exp(&r, 2.0);
        CU_ASSERT_FATAL(isfinite(e) && e >= 0.0);
        double p = ns_rng_pareto(&r, 3.0, 1.5);
        CU_ASSERT_FATAL(isfinite(p) && p >= 3.0);
    }
    ns_rng normal;
    ns_rng_init(&normal, 5, "normal");
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_FATAL(isfinite(ns_rng_normal(&normal, 0.0, 1.0)));
    CU_ASSERT_EQUAL(ns_rng_normal(&normal, 3.0, 0.0), 3.0);
}

/* Multiplicative inverse of an odd a modulo 2^64 (Newton's iteration). */
static uint64_t inverse_odd(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* A state whose next xoshiro256** output is `out`: the output depends on
 * s[1] alone, as rotl(s[1] * 5, 7) * 9, which is invertible. */
static ns_rng state_giving(uint64_t out)
{
    uint64_t y = out * inverse_odd(9);
    y = (y >> 7) | (y << 57);
    ns_rng r = { .s = { 1, y * inverse_odd(5), 3, 4 } };
    return r;
}

/* The extreme draws: u = 0 and u = 1 - 2^-53. */
static void test_extreme_draws(void)
{
    ns_rng r = state_giving(0);
    CU_ASSERT_EQUAL(ns_rng_u64(&r), 0);
    r = state_giving(UINT64_MAX);
    CU_ASSERT_EQUAL(ns_rng_u64(&r), UINT64_MAX);

    r = state_giving(0);
    double e = ns_rng_exp(&r, 2.0);
    CU_ASSERT_EQUAL(e, 0.0);
    CU_ASSERT_FALSE(signbit(e));        /* +0: never "-0" in a trace */
    r = state_giving(0);
    CU_ASSERT_EQUAL(ns_rng_pareto(&r, 3.0, 1.5), 3.0);
    r = state_giving(0);
    CU_ASSERT_EQUAL(ns_rng_uniform(&r), 0.0);

    r = state_giving(UINT64_MAX);
    CU_ASSERT_EQUAL(ns_rng_uniform(&r), 1.0 - 0x1p-53);
    r = state_giving(UINT64_MAX);
    CU_ASSERT_DOUBLE_EQUAL(ns_rng_exp(&r, 2.0), 2.0 * 53.0 * log(2.0), 1e-9);
    r = state_giving(UINT64_MAX);
    CU_ASSERT_TRUE(isfinite(ns_rng_pareto(&r, 1.0, 0.01)));   /* 2^5300 clamps */
    r = state_giving(UINT64_MAX);
    CU_ASSERT_TRUE(ns_rng_uniform_range(&r, 0.0, 1.0) < 1.0);
    r = state_giving(UINT64_MAX);
    CU_ASSERT_EQUAL(ns_rng_below(&r, 10), 9);
    r = state_giving(0);
    CU_ASSERT_EQUAL(ns_rng_zipf(&r, 1000, 1.0), 1000);    /* u = 0 is the far end */
}

static void test_zipf_range(void)
{
    ns_rng r;
    ns_rng_init(&r, 6, "zipf");
    const double ss[] = { 0.1, 0.5, 1.0, 1.5, 3.0, 20.0 };
    const uint64_t ns[] = { 1, 2, 10, 1000000000, UINT64_C(1) << 62, UINT64_MAX };
    for (size_t i = 0; i < G_N_ELEMENTS(ss); i++)
        for (size_t j = 0; j < G_N_ELEMENTS(ns); j++)
            for (int k = 0; k < 2000; k++) {
                uint64_t v = ns_rng_zipf(&r, ns[j], ss[i]);
                CU_ASSERT_FATAL(v >= 1 && v <= ns[j]);
            }
    /* Both ends of a small support are reached. */
    bool one = false, two = false;
    for (int k = 0; k < 1000; k++) {
        uint64_t v = ns_rng_zipf(&r, 2, 1.0);
        one |= v == 1;
        two |= v == 2;
    }
    CU_ASSERT_TRUE(one && two);
}

/* ---- moments (long) ----------------------------------------------------- */

struct moments {
    double mean;
    double var;
};

typedef double (*draw_fn)(ns_rng *r);

static struct moments sample(const char *name, draw_fn f)
{
    ns_rng r;
    ns_rng_init(&r, 2024, name);
    /* Welford's update: stable for a million terms. */
    double mean = 0, m2 = 0;
    for (int i = 1; i <= NDRAWS; i++) {
        double x = f(&r), d = x - mean;
        mean += d / i;
        m2 += d * (x - mean);
    }
    return (struct moments){ mean, m2 / (NDRAWS - 1) };
}

static double draw_uniform(ns_rng *r) { return ns_rng_uniform(r); }
static double draw_exp(ns_rng *r) { return ns_rng_exp(r, 2.0); }
static double draw_normal(ns_rng *r) { return ns_rng_normal(r, 3.0, 2.0); }
static double draw_pareto(ns_rng *r) { return ns_rng_pareto(r, 2.0, 3.0); }
static double draw_bern(ns_rng *r) { return ns_rng_bernoulli(r, 0.3) ? 1.0 : 0.0; }
static double draw_range(ns_rng *r) { return ns_rng_uniform_range(r, 10.0, 14.0); }

static void test_moments_uniform(void)
{
    struct moments m = sample("u", draw_uniform);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 0.5, 0.0015);        /* se 0.00029 */
    CU_ASSERT_DOUBLE_EQUAL(m.var, 1.0 / 12.0, 0.0005);
    m = sample("range", draw_range);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 12.0, 0.006);
    CU_ASSERT_DOUBLE_EQUAL(m.var, 16.0 / 12.0, 0.008);
}

static void test_moments_exp(void)
{
    struct moments m = sample("exp", draw_exp);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 2.0, 0.01);          /* se 0.002 */
    CU_ASSERT_DOUBLE_EQUAL(m.var, 4.0, 0.05);
}

static void test_moments_normal(void)
{
    struct moments m = sample("normal", draw_normal);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 3.0, 0.01);          /* se 0.002 */
    CU_ASSERT_DOUBLE_EQUAL(m.var, 4.0, 0.03);
    /* Symmetry and tails: P(|z| < 1) = 0.6827. */
    ns_rng r;
    ns_rng_init(&r, 2024, "normal tails");
    int inside = 0;
    for (int i = 0; i < NDRAWS; i++)
        inside += fabs(ns_rng_normal(&r, 0.0, 1.0)) < 1.0;
    CU_ASSERT_DOUBLE_EQUAL((double)inside / NDRAWS, 0.682689, 0.0025);
}

static void test_moments_bernoulli(void)
{
    struct moments m = sample("coin", draw_bern);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 0.3, 0.0025);        /* se 0.00046 */
}

/* Pareto(xm = 2, alpha = 3): mean alpha xm / (alpha - 1) = 3; the median
 * xm 2^(1/alpha) checks the shape where the heavy tail cannot. */
static void test_moments_pareto(void)
{
    struct moments m = sample("pareto", draw_pareto);
    CU_ASSERT_DOUBLE_EQUAL(m.mean, 3.0, 0.01);          /* se 0.0017 */
    ns_rng r;
    ns_rng_init(&r, 2024, "pareto median");
    const double median = 2.0 * cbrt(2.0);
    int below = 0;
    for (int i = 0; i < NDRAWS; i++)
        below += ns_rng_pareto(&r, 2.0, 3.0) < median;
    CU_ASSERT_DOUBLE_EQUAL((double)below / NDRAWS, 0.5, 0.0025);
}

/* Pearson's chi-square of counts against expected probabilities. */
static double chi_square(const uint64_t *counts, const double *p, int k, uint64_t total)
{
    double chi = 0;
    for (int i = 0; i < k; i++) {
        double e = p[i] * (double)total;
        chi += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
    }
    return chi;
}

static void test_below_chi_square(void)
{
    ns_rng r;
    ns_rng_init(&r, 2024, "below chi");
    const uint64_t n = 7, total = 700000;
    uint64_t counts[7] = { 0 };
    double p[7];
    for (int i = 0; i < 7; i++)
        p[i] = 1.0 / 7.0;
    for (uint64_t i = 0; i < total; i++)
        counts[ns_rng_below(&r, n)]++;
    /* 6 degrees of freedom: P(chi2 > 27.9) = 1e-4. */
    CU_ASSERT(chi_square(counts, p, 7, total) < 27.9);
}

/* Against the exact pmf on {1..10} for several exponents, s = 1 included. */
static void test_zipf_chi_square(void)
{
    const double ss[] = { 0.5, 1.0, 1.5, 3.0 };
    for (size_t j = 0; j < G_N_ELEMENTS(ss); j++) {
        ns_rng r;
        ns_rng_init(&r, 2024, "zipf chi");
        const uint64_t total = 1000000;
        uint64_t counts[10] = { 0 };
        double p[10], norm = 0;
        for (int k = 1; k <= 10; k++)
            norm += p[k - 1] = pow(k, -ss[j]);
        for (int k = 0; k < 10; k++)
            p[k] /= norm;
        for (uint64_t i = 0; i < total; i++)
            counts[ns_rng_zipf(&r, 10, ss[j]) - 1]++;
        double chi = chi_square(counts, p, 10, total);
        if (chi >= 33.7)
            fprintf(stderr, "\n  zipf s=%g: chi2 %g\n", ss[j], chi);
        /* 9 degrees of freedom: P(chi2 > 33.7) = 1e-4. */
        CU_ASSERT(chi < 33.7);
    }
}

/* P(1)/P(2) = 2^s whatever n, with n = 1e9 to show large n is cheap. */
static void test_zipf_ratio_large_n(void)
{
    const double ss[] = { 1.0, 0.7, 2.0 };
    for (size_t j = 0; j < G_N_ELEMENTS(ss); j++) {
        ns_rng r;
        ns_rng_init(&r, 2024, "zipf ratio");
        uint64_t c1 = 0, c2 = 0, big = 0;
        for (int i = 0; i < NDRAWS; i++) {
            uint64_t v = ns_rng_zipf(&r, 1000000000, ss[j]);
            CU_ASSERT_FATAL(v >= 1 && v <= 1000000000);
            c1 += v == 1;
            c2 += v == 2;
            big += v > 1000000;
        }
        double ratio = (double)c1 / (double)c2, want = pow(2.0, ss[j]);
        /* Relative se is sqrt(1/c1 + 1/c2), about 0.8% for s = 1. */
        double tol = 5.0 * want * sqrt(1.0 / (double)c1 + 1.0 / (double)c2);
        CU_ASSERT_DOUBLE_EQUAL(ratio, want, tol);
        if (ss[j] <= 1.0)
            CU_ASSERT(big > 0);   /* the long tail is reached, not truncated */
    }
    /* s = 1, n = 1e9: P(1) = 1 / H(1e9) = 1 / 21.3004815. */
    ns_rng r;
    ns_rng_init(&r, 2024, "zipf p1");
    uint64_t c1 = 0;
    for (int i = 0; i < NDRAWS; i++)
        c1 += ns_rng_zipf(&r, 1000000000, 1.0) == 1;
    CU_ASSERT_DOUBLE_EQUAL((double)c1 / NDRAWS, 1.0 / 21.3004815, 0.001);
}

void test_rng_register(void)
{
    CU_pSuite s = ns_test_suite("rng", NULL, NULL);
    ns_test_add(s, "xoshiro256** known answer", test_known_answer);
    ns_test_add(s, "(seed, name) derivation pinned", test_derivation_pinned);
    ns_test_add(s, "same seed and name, same stream", test_same_seed_name);
    ns_test_add(s, "other name or seed, other stream", test_different_streams);
    ns_test_add(s, "streams do not move each other", test_streams_independent);
    ns_test_add(s, "ns_sim_rng one stream per name", test_sim_streams);
    ns_test_add(s, "uniform in [0, 1) and [a, b)", test_uniform_range);
    ns_test_add(s, "below(n) in [0, n)", test_below_range);
    ns_test_add(s, "below(3*2^62) unbiased", test_below_unbiased_large);
    ns_test_add(s, "bernoulli edges", test_bernoulli_edges);
    ns_test_add(s, "exp, pareto, normal finite", test_exp_pareto_ranges);
    ns_test_add(s, "extreme draws", test_extreme_draws);
    ns_test_add(s, "zipf in 1..n", test_zipf_range);

    CU_pSuite l = ns_test_suite("rng (long)", NULL, NULL);
    ns_test_add(l, "uniform moments", test_moments_uniform);
    ns_test_add(l, "exp moments", test_moments_exp);
    ns_test_add(l, "normal moments", test_moments_normal);
    ns_test_add(l, "bernoulli frequency", test_moments_bernoulli);
    ns_test_add(l, "pareto mean and median", test_moments_pareto);
    ns_test_add(l, "below chi-square", test_below_chi_square);
    ns_test_add(l, "zipf chi-square on 1..10", test_zipf_chi_square);
    ns_test_add(l, "zipf P(1)/P(2) = 2^s, n = 1e9", test_zipf_ratio_large_n);
}
