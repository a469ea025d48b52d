/* cc_cubic.c — CUBIC congestion control (RFC 9438), in integer arithmetic.
 *
 * Invariant: every window is computed from integers alone (no libm, no
 * floating point), so the same inputs give the same cwnd byte for byte on
 * every machine.  The constants are exact rationals: C = 0.4 = 2/5,
 * beta_cubic = 0.7 = 7/10, (1 + beta_cubic)/2 = 17/20 (fast convergence),
 * alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) = 9/17.
 *
 * Units: windows in bytes (W_max, cwnd_epoch, cwnd_prior, targets); the RFC
 * counts segments, so a window of w segments is w * mss bytes and
 * W_cubic(t) = C * (t - K)^3 * mss + W_max (eq. 1, in bytes).  Times are ns
 * (ns_time_t); inside the cubic term, |t - K| is taken in units of 2^-16 s
 * (15.3 us) and the term in 2^-16 segments, then converted to bytes.  K is
 * computed in 2^-16 s with ns_cc_cbrt and kept in ns.  W_est and the growth
 * still owed to cwnd keep 16 fractional bits of a byte (suffix _fx).
 *
 * Behaviour, by RFC 9438 section:
 *   4.2  t runs from the first ACK of the congestion-avoidance stage
 *        (epoch_start = s->now then), K = cbrt((W_max - cwnd_epoch) / C);
 *        if cwnd_epoch >= W_max (no loss yet, or a large initial window),
 *        W_max = cwnd_epoch and K = 0.
 *   4.3  Reno-friendly region: W_est starts at cwnd_epoch and grows by
 *        alpha_cubic * mss * acked / cwnd bytes per ACK, alpha_cubic = 1 once
 *        W_est reaches cwnd_prior; when W_cubic(t) < W_est, cwnd = W_est
 *        (only ever raised: an ACK never shrinks cwnd).
 *   4.4/4.5  otherwise target = W_cubic(t + RTT) bounded to [cwnd, 1.5 cwnd]
 *        and cwnd += (target - cwnd) * acked / cwnd, i.e. the RFC's
 *        (target - cwnd)/cwnd per segment acknowledged, so delayed ACKs
 *        grow cwnd as much as one ACK per segment.  RTT is s->srtt, the
 *        smoothed RTT the RFC names, or s->min_rtt before the first
 *        smoothed sample, or 0 with no sample at all.
 *   4.6  ssthresh = max(flight * beta_cubic, 2 * mss) for every loss kind.
 *   4.7  fast convergence: a loss at cwnd < W_max sets W_max = cwnd * 17/20,
 *        else W_max = cwnd.
 *   4.8  after an RTO the next stage uses K = 0 and W_max = cwnd_epoch.
 *   4.10 slow start below ssthresh is Reno's (cc_reno.c), no HyStart.
 *   5.8  no growth while application-limited.  Known gap: t keeps running
 *        through an idle period, so the first ACKs after it may jump to a
 *        later point of the curve (bounded by the 1.5 cwnd cap per RTT);
 *        Linux shifts epoch_start by the idle time instead.
 *
 * Limits: mss must be in (0, 65535] (the TCP MSS option is 16 bits), which
 * keeps every intermediate product below 2^64.  An ACK counts for at most
 * cwnd bytes.  |t - K| beyond 1024 s saturates the cubic term: above K
 * the window is then beyond any 32-bit cwnd; below K it reads 0 (no cubic
 * growth, the Reno-friendly region still applies), which only a window of
 * over 2^31 bytes with mss <= 2 can reach, since K^3 = 0.75 W_max / mss.
 */
#include "cc_priv.h"

#define CUBIC_FRAC      16                        /* fractional bits of _fx values and times */
#define CUBIC_ONE       ((uint64_t)1 << CUBIC_FRAC)
#define CUBIC_MSS_MAX   65535u
#define CUBIC_T_MAX     ((ns_time_t)1024 * NS_SEC) /* |t - K| where the term saturates */
#define CUBIC_W_HUGE    ((uint64_t)1 << 62)        /* a saturated window, in bytes */

/* Per-connection state (zeroed by the core: no W_max, no epoch). */
struct cubic {
    uint64_t  w_max;                    /* bytes: W_max (after fast convergence) */
    uint64_t  cwnd_prior;               /* bytes: cwnd when ssthresh was last set */
    uint64_t  cwnd_epoch;               /* bytes: cwnd at the start of this CA stage */
    uint64_t  w_est_fx;                 /* W_est, bytes * 2^16 */
    uint64_t  owed_fx;                  /* growth earned but not yet in cwnd, < 2^16 */
    ns_time_t epoch_start;              /* ns: first ACK of this CA stage */
    ns_time_t k;                        /* ns: K, when W_cubic returns to W_max */
    bool      in_epoch;                 /* a CA stage is under way */
    bool      after_rto;                /* the last congestion event was an RTO */
};

static uint32_t sat32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* floor(num * 2^16 / den), for num / den < 2^48 and den < 2^48. */
static uint64_t ratio_fx(uint64_t num, uint64_t den)
{
    return ((num / den) << CUBIC_FRAC) + (((num % den) << CUBIC_FRAC) / den);
}

/* floor(num * 2^shift / den), exactly, by long division 16 bits at a
 * time; the caller guarantees the result fits 64 bits, den < 2^34. */
static uint64_t shl_div(uint64_t num, int shift, uint64_t den)
{
    uint64_t q = num / den, r = num % den;
    while (shift > 0) {
        int step = shift < 16 ? shift : 16;
        q = (q << step) + ((r << step) / den);
        r = (r << step) % den;
        shift -= step;
    }
    return q;
}

/* K in ns for a window that must climb `gap` bytes: K^3 = gap / (C * mss)
 * seconds^3 = gap * 5 / (2 * mss).  The cube root is taken of that value
 * scaled by 2^48 (K in 2^-16 s), or by 2^(3j) for the largest j that still
 * fits 64 bits once K passes 40 s, and the root scaled back up: K is exact
 * to 2^-16 s (15 us) below 40 s, to about 2^(log2 K - 21) s above. */
static ns_time_t cubic_k(uint64_t gap, uint32_t mss)
{
    uint64_t num = gap * 5;             /* gap < 2^33 */
    uint64_t den = (uint64_t)mss * 2;
    uint64_t whole = num / den;
    int shift = 3 * CUBIC_FRAC;
    while (shift > 0 && (whole >> (64 - shift)) != 0)
        shift -= 3;
    uint64_t k_units = ns_cc_cbrt(shl_div(num, shift, den)) << (CUBIC_FRAC - shift / 3);
    return (ns_time_t)((k_units * (uint64_t)NS_SEC + CUBIC_ONE / 2) >> CUBIC_FRAC);
}

/* W_cubic(t) in bytes (RFC 9438 eq. 1), t in ns since epoch_start. */
static uint64_t cubic_window(const struct cubic *c, uint32_t mss, ns_time_t t)
{
    ns_time_t d = t - c->k;
    uint64_t ad = d < 0 ? (uint64_t)-d : (uint64_t)d;
    if (ad >= (uint64_t)CUBIC_T_MAX)
        return d < 0 ? 0 : CUBIC_W_HUGE;
    uint64_t x = ad * CUBIC_ONE / (uint64_t)NS_SEC;               /* 2^-16 s, < 2^26 */
    uint64_t x3 = (((x * x) >> CUBIC_FRAC) * x) >> CUBIC_FRAC;    /* 2^-16 s^3, < 2^46 */
    uint64_t term_fx = x3 * 2 / 5;                                /* segments * 2^16 */
    uint64_t term = (term_fx >> CUBIC_FRAC) * mss
                    + (((term_fx & (CUBIC_ONE - 1)) * mss) >> CUBIC_FRAC);   /* bytes */
    if (d >= 0)
        return c->w_max + term;
    return term >= c->w_max ? 0 : c->w_max - term;
}

/* The first ACK of a congestion-avoidance stage (RFC 9438 4.2, 4.3, 4.8). */
static void epoch_begin(struct cubic *c, const struct ns_cc_state *s)
{
    c->in_epoch = true;
    c->epoch_start = s->now;
    c->cwnd_epoch = s->cwnd;
    c->w_est_fx = (uint64_t)s->cwnd << CUBIC_FRAC;
    c->owed_fx = 0;
    if (c->after_rto || c->w_max <= c->cwnd_epoch) {
        c->w_max = c->cwnd_epoch;
        c->k = 0;
    } else {
        c->k = cubic_k(c->w_max - c->cwnd_epoch, s->mss);
    }
    c->after_rto = false;
}

static void cubic_on_ack(struct ns_cc_state *s, void *priv, uint32_t acked, ns_time_t rtt_sample)
{
    struct cubic *c = priv;

    g_return_if_fail(s->cwnd > 0 && s->mss > 0 && s->mss <= CUBIC_MSS_MAX);
    if (acked == 0 || s->app_limited)
        return;
    if (s->cwnd < s->ssthresh) {
        ns__cc_slow_start(s, acked);
        return;
    }
    if (!c->in_epoch)
        epoch_begin(c, s);
    if (acked > s->cwnd)
        acked = s->cwnd;

    uint64_t cwnd = s->cwnd;
    ns_time_t t = s->now > c->epoch_start ? s->now - c->epoch_start : 0;
    ns_time_t rtt = s->srtt > 0 ? s->srtt : s->min_rtt > 0 ? s->min_rtt : 0;

    /* 4.3: the window Reno would have now. */
    bool reno_pace = (c->w_est_fx >> CUBIC_FRAC) >= c->cwnd_prior;
    uint64_t a_num = reno_pace ? 1 : 9, a_den = reno_pace ? 1 : 17;
    c->w_est_fx += ratio_fx(a_num * s->mss * acked, a_den * cwnd);
    uint64_t w_est = c->w_est_fx >> CUBIC_FRAC;
    if (cubic_window(c, s->mss, t) < w_est) {
        if (w_est > cwnd) {
            s->cwnd = sat32(w_est);
            c->owed_fx = 0;
        }
        return;
    }

    /* 4.4, 4.5: head for where the curve will be one RTT from now. */
    uint64_t target = cubic_window(c, s->mss, t + rtt);
    if (target <= cwnd)
        return;
    if (target > cwnd + cwnd / 2)
        target = cwnd + cwnd / 2;
    uint64_t grow_fx = ratio_fx((target - cwnd) * acked, cwnd) + c->owed_fx;
    c->owed_fx = grow_fx & (CUBIC_ONE - 1);
    s->cwnd = sat32(cwnd + (grow_fx >> CUBIC_FRAC));
}

/* 4.6, 4.7: called once per congestion event (for a series of RTOs, the
 * first) with the cwnd before the reduction, which W_max records (after an
 * RTO, the next epoch replaces it: 4.8). */
static uint32_t cubic_ssthresh(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind)
{
    struct cubic *c = priv;
    uint64_t cwnd = s->cwnd;

    c->w_max = cwnd < c->w_max ? cwnd * 17 / 20 : cwnd;
    c->cwnd_prior = cwnd;

    uint64_t reduced = (uint64_t)s->flight * 7 / 10;
    uint64_t least = 2 * (uint64_t)s->mss;
    return sat32(reduced > least ? reduced : least);
}

/* After every reduction: the next ACK in congestion avoidance opens a new
 * epoch, with 4.8's K = 0 and W_max = cwnd_epoch if this was an RTO. */
static void cubic_on_loss(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind)
{
    struct cubic *c = priv;

    c->in_epoch = false;
    c->after_rto = kind == NS_CC_LOSS_RTO;
}

const struct ns_cc_ops ns_cc_cubic = {
    .name      = "cubic",
    .priv_size = sizeof(struct cubic),
    .flags     = 0,
    .on_ack    = cubic_on_ack,
    .ssthresh  = cubic_ssthresh,
    .on_loss   = cubic_on_loss,
};
