/* cc_reno.c — Reno congestion control (RFC 5681), and the window
 * arithmetic NewReno and CUBIC's slow start reuse through cc_priv.h.
 *
 * Invariant: cwnd only grows here (losses are the core's, through the
 * ssthresh this file computes), by at most one MSS per ACK, and a sender
 * that acknowledges a steady window gets exactly:
 *
 *   slow start (cwnd < ssthresh): cwnd += min(acked, MSS) per ACK
 *       (RFC 5681 3.1 with the "L = 1*SMSS" limit of RFC 3465: no
 *       appropriate byte counting beyond one MSS per ACK, so an ACK for two
 *       segments grows cwnd as much as an ACK for one), never past ssthresh;
 *   congestion avoidance (cwnd >= ssthresh): byte counting, the variant
 *       RFC 5681 3.1 recommends: acked bytes accumulate in ca_bytes and each
 *       time they reach cwnd, cwnd += MSS.  That is exactly one MSS per
 *       window of acknowledged data whatever the ACK pattern (delayed
 *       ACKs included), where "cwnd += MSS*MSS/cwnd per ACK" truncates and
 *       depends on how many ACKs a window brings.  One ACK counts for at most
 *       cwnd bytes, so a stretch ACK adds at most one MSS; each congestion
 *       event (on_loss) starts the count again from zero.
 *
 * No growth while the sender is application-limited: RFC 5681 is silent,
 * RFC 9438 5.8 asks it of CUBIC and Linux applies it to Reno too, so a
 * window that is not used is not inflated (RFC 7661's concern).
 *
 * Reno and NewReno compute the same windows; they differ only in how the
 * core runs fast recovery (NS_CC_RENO_RECOVERY), so NewReno's table in
 * cc_newreno.c points at these hooks.
 */
#include "cc_priv.h"

static uint32_t sat32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void ns__cc_slow_start(struct ns_cc_state *s, uint32_t acked)
{
    uint64_t grown = (uint64_t)s->cwnd + (acked < s->mss ? acked : s->mss);
    s->cwnd = sat32(grown < s->ssthresh ? grown : s->ssthresh);
}

void ns__cc_reno_on_ack(struct ns_cc_state *s, void *priv, uint32_t acked, ns_time_t rtt)
{
    struct ns__cc_reno *r = priv;

    g_return_if_fail(s->cwnd > 0);
    if (acked == 0 || s->app_limited)
        return;
    if (s->cwnd < s->ssthresh) {
        ns__cc_slow_start(s, acked);
        return;
    }
    /* ca_bytes < cwnd before, acked <= cwnd: at most one increment. */
    uint64_t counted = (uint64_t)r->ca_bytes + (acked < s->cwnd ? acked : s->cwnd);
    if (counted >= s->cwnd) {
        counted -= s->cwnd;
        s->cwnd = sat32((uint64_t)s->cwnd + s->mss);
    }
    r->ca_bytes = (uint32_t)counted;
}

uint32_t ns__cc_reno_ssthresh(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind)
{
    uint64_t half = s->flight / 2;
    uint64_t least = 2 * (uint64_t)s->mss;

    return sat32(half > least ? half : least);
}

void ns__cc_reno_on_loss(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind)
{
    struct ns__cc_reno *r = priv;

    r->ca_bytes = 0;                    /* a new congestion-avoidance phase follows */
}

const struct ns_cc_ops ns_cc_reno = {
    .name      = "reno",
    .priv_size = sizeof(struct ns__cc_reno),
    .flags     = NS_CC_RENO_RECOVERY,
    .on_ack    = ns__cc_reno_on_ack,
    .ssthresh  = ns__cc_reno_ssthresh,
    .on_loss   = ns__cc_reno_on_loss,
};
