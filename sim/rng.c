/* rng.c — seeded random streams: xoshiro256** plus the distributions.
 *
 * Invariant: a stream's numbers are a function of (seed, name) and of the
 * draws made on that stream alone.  Nothing here keeps hidden state beside
 * the four state words (no cached spare normal, no per-call tables), so two
 * streams never influence each other and a stream can be copied by value.
 *
 * Every distribution draws a fixed, documented number of u64 words per
 * attempt, and only rejection loops (below, normal, zipf) draw a variable
 * number; none of them depends on floating-point results that differ
 * between conforming libms other than log, log1p, exp, expm1, pow and sqrt
 * themselves.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "netsim/rng.h"

/* FNV-1a 64: a fixed, platform-independent hash of the stream name, so the
 * name (not creation order or a pointer) chooses the stream. */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* SplitMix64 step: advances *x by the golden-ratio increment and returns a
 * bijective mix of it.  Consecutive outputs come from distinct inputs of a
 * bijection, so at most one of four can be zero: the xoshiro state it
 * seeds is never all zero. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void ns_rng_init(ns_rng *r, uint64_t seed, const char *name)
{
    g_return_if_fail(r != NULL && name != NULL);
    /* The seed is mixed before the XOR so that seeds differing in a few low
     * bits do not cancel against names whose hashes differ the same way. */
    uint64_t x = seed;
    uint64_t k = splitmix64(&x) ^ fnv1a64(name);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&k);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;    /* unreachable (see splitmix64); kept as the invariant's guard */
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna 2018): period 2^256 - 1, passes BigCrush,
 * and every output bit is usable, which below() and uniform() rely on. */
static inline uint64_t next(ns_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* The top 53 bits as k / 2^53: every value is exact, spaced 2^-53, and the
 * complement 1 - u is exact too, which exp() and pareto() use. */
static inline double unit53(ns_rng *r)
{
    return (double)(next(r) >> 11) * 0x1p-53;
}

/* 1 - u for the same draw, computed exactly in (0, 1]: never zero, so its
 * logarithm is finite. */
static inline double unit53_open0(ns_rng *r)
{
    return (double)((UINT64_C(1) << 53) - (next(r) >> 11)) * 0x1p-53;
}

uint64_t ns_rng_u64(ns_rng *r)
{
    return next(r);
}

double ns_rng_uniform(ns_rng *r)
{
    return unit53(r);
}

double ns_rng_uniform_range(ns_rng *r, double a, double b)
{
    g_return_val_if_fail(a <= b, a);
    double x = a + (b - a) * unit53(r);
    /* Rounding can land exactly on b; the interval is half-open. */
    return x < b ? x : nextafter(b, a);
}

/* High and low halves of the 128-bit product a * b. */
static inline uint64_t mul_128(uint64_t a, uint64_t b, uint64_t *lo)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 m = (unsigned __int128)a * b;
    *lo = (uint64_t)m;
    return (uint64_t)(m >> 64);
#else
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

/* Lemire's multiply-shift (2019): the high word of x * n is in [0, n); the
 * low word tells whether x fell in the short, over-represented band, which
 * is rejected so every result has exactly the same number of preimages.
 * The costly modulo runs only when the low word is below n, i.e. rarely. */
uint64_t ns_rng_below(ns_rng *r, uint64_t n)
{
    g_return_val_if_fail(n > 0, 0);
    uint64_t lo;
    uint64_t hi = mul_128(next(r), n, &lo);
    if (lo < n) {
        uint64_t threshold = (0 - n) % n;    /* 2^64 mod n */
        while (lo < threshold)
            hi = mul_128(next(r), n, &lo);
    }
    return hi;
}

/* Inversion, -mean * log(1 - u): one draw per value, so a stream's position
 * after k events is independent of the values drawn.  Written as 0 - x so
 * that u = 0 gives +0, not -0. */
double ns_rng_exp(ns_rng *r, double mean)
{
    return 0.0 - mean * log(unit53_open0(r));
}

/* Marsaglia's polar method, keeping only one of the pair it produces: a
 * cached spare would be hidden state outside s[], breaking copy-by-value
 * and making a value depend on whether the previous call used the cache. */
double ns_rng_normal(ns_rng *r, double mu, double sigma)
{
    double u, v, q;
    do {
        u = 2.0 * unit53(r) - 1.0;
        v = 2.0 * unit53(r) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    return mu + sigma * (u * sqrt(-2.0 * log(q) / q));
}

/* Consumes one draw whatever p is, so changing a probability in a scenario
 * does not shift the rest of the stream. */
bool ns_rng_bernoulli(ns_rng *r, double p)
{
    double u = unit53(r);
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return u < p;
}

/* Inversion of F(x) = 1 - (xm/x)^alpha; 1 - u is in (0, 1] so the result
 * is >= xm.  For alpha below about 0.05 the largest draws overflow
 * (2^(53/alpha)); they are clamped to DBL_MAX so callers see a number. */
double ns_rng_pareto(ns_rng *r, double xm, double alpha)
{
    double x = xm / pow(unit53_open0(r), 1.0 / alpha);
    return x <= DBL_MAX ? x : DBL_MAX;
}

/* log1p(x)/x and expm1(x)/x, continuous through x = 0, where the Taylor
 * series replaces the 0/0.  They let H and its inverse below be one formula
 * for every s, including s = 1 (where (x^(1-s) - 1)/(1-s) becomes log x). */
static double log1p_over_x(double x)
{
    if (fabs(x) > 1e-8)
        return log1p(x) / x;
    return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double expm1_over_x(double x)
{
    if (fabs(x) > 1e-8)
        return expm1(x) / x;
    return 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

/* h(x) = x^-s, the unnormalised density, and H, an antiderivative of it:
 * H(x) = (x^(1-s) - 1) / (1 - s), or log x when s = 1. */
static double zipf_h(double x, double s)
{
    return exp(-s * log(x));
}

static double zipf_H(double x, double s)
{
    double lx = log(x);
    return expm1_over_x((1.0 - s) * lx) * lx;
}

static double zipf_H_inv(double y, double s)
{
    double t = y * (1.0 - s);
    if (t < -1.0)
        t = -1.0;   /* rounding only: H's range keeps 1 + t > 0 */
    return exp(log1p_over_x(t) * y);
}

/* Rejection-inversion (Hörmann & Derflinger 1996, "Rejection-inversion to
 * generate variates from monotone discrete distributions"): invert the
 * continuous envelope H over [1.5, n + 0.5] (with k = 1 treated as an atom
 * of mass h(1)), round to the nearest integer k, and accept if the point
 * lies under the step of height h(k).  Setup is a handful of log/exp calls
 * and the expected number of rounds is bounded for all n and s > 0, so
 * n = 1e9 costs the same as n = 10.  The setup is recomputed per call
 * because the stream keeps no state beside s[]. */
uint64_t ns_rng_zipf(ns_rng *r, uint64_t n, double s)
{
    g_return_val_if_fail(n >= 1 && s > 0.0, 1);
    if (n == 1) {
        (void)next(r);  /* one draw, as for any n, keeps streams aligned */
        return 1;
    }
    double nd = (double)n;
    double h_x1 = zipf_H(1.5, s) - 1.0;                /* H(1.5) - h(1) */
    double h_n = zipf_H(nd + 0.5, s);
    /* Points within `squeeze` below k + 0.5 are accepted without the
     * exact test: the envelope is known to lie under h(k) there. */
    double squeeze = 2.0 - zipf_H_inv(zipf_H(2.5, s) - zipf_h(2.0, s), s);
    for (;;) {
        double u = h_n + unit53(r) * (h_x1 - h_n);     /* in (h_x1, h_n] */
        double x = zipf_H_inv(u, s);
        double kd = floor(x + 0.5);
        if (kd < 1.0)
            kd = 1.0;
        else if (kd > nd)
            kd = nd;
        if (kd - x <= squeeze || u >= zipf_H(kd + 0.5, s) - zipf_h(kd, s))
            return (uint64_t)kd;
    }
}
