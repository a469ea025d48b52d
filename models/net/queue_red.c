/* queue_red.c — Random Early Detection (Floyd & Jacobson, "Random Early
 * Detection Gateways for Congestion Avoidance", IEEE/ACM ToN 1993), with
 * the "gentle" variant (Floyd, 2000) and ECN marking (RFC 3168 section 7).
 *
 * On each arrival RED updates an exponentially weighted average of the
 * queue length (in packets) and, while the average lies between min_th and
 * max_th, drops (or marks) the arrival with a probability that grows
 * linearly with the average and with the number of packets let through
 * since the last drop, which spaces drops out evenly rather than in
 * clusters.
 *
 * Invariant: `count` is -1 exactly when the last arrival saw avg < min_th;
 * otherwise it is the number of arrivals since the last early drop or
 * mark.  The decision is made at enqueue only; dequeue is plain FIFO.
 */
#include <math.h>

#include "netsim/queue.h"
#include "queue_priv.h"

struct red {
    double    avg;           /* average queue length, packets */
    int64_t   count;         /* see the invariant above */
    bool      idle;          /* the queue has been empty since idle_since */
    ns_time_t idle_since;
};

enum red_verdict { RED_KEEP, RED_EARLY, RED_FORCED };

static bool red_init(void *priv, const struct ns_queue_cfg *cfg, GError **error)
{
    struct red *r = priv;
    if (!(cfg->red_min_th >= 0) || isinf(cfg->red_min_th)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "red_min_th %g must be a finite number >= 0", cfg->red_min_th);
        return false;
    }
    if (!(cfg->red_max_th > cfg->red_min_th) || isinf(cfg->red_max_th)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "red_max_th %g must be finite and above red_min_th %g",
                    cfg->red_max_th, cfg->red_min_th);
        return false;
    }
    if (!(cfg->red_max_p > 0 && cfg->red_max_p <= 1)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "red_max_p %g is outside (0, 1]", cfg->red_max_p);
        return false;
    }
    if (!(cfg->red_wq > 0 && cfg->red_wq <= 1)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "red_wq %g is outside (0, 1]", cfg->red_wq);
        return false;
    }
    r->avg = 0;
    r->count = -1;
    r->idle = true;
    r->idle_since = 0;
    return true;
}

/* The average as the arrival sees it.  After an idle period the paper
 * decays avg as if m packets had arrived to an empty queue, m being the
 * idle time over the transmission time of a typical packet; we take a
 * full-size frame at the configured link rate.  Without a rate the idle
 * period counts as a single empty-queue sample. */
static void red_update_avg(struct red *r, const struct ns_queue_cfg *cfg,
                           size_t qlen, ns_time_t now)
{
    double wq = cfg->red_wq;
    if (r->idle && qlen == 0 && cfg->rate_bps > 0) {
        double tx_sec = NS_QUEUE_MTU_FRAME * 8.0 / cfg->rate_bps;
        double m = ns_time_to_sec(now - r->idle_since) / tx_sec;
        if (m > 0)
            r->avg *= pow(1 - wq, m);
    } else {
        r->avg = (1 - wq) * r->avg + wq * (double)qlen;
    }
    r->idle = false;
}

/* The paper's p_b, extended past max_th by the gentle variant; negative
 * when the arrival must be dropped outright. */
static double red_base_prob(const struct red *r, const struct ns_queue_cfg *cfg)
{
    double min_th = cfg->red_min_th, max_th = cfg->red_max_th, max_p = cfg->red_max_p;
    if (r->avg < max_th)
        return max_p * (r->avg - min_th) / (max_th - min_th);
    if (cfg->red_gentle && r->avg < 2 * max_th)
        return max_p + (1 - max_p) * (r->avg - max_th) / max_th;
    return -1;
}

static enum red_verdict red_decide(struct red *r, const struct ns_queue_cfg *cfg,
                                   ns_rng *rng)
{
    if (r->avg < cfg->red_min_th) {
        r->count = -1;
        return RED_KEEP;
    }
    double pb = red_base_prob(r, cfg);
    if (pb < 0) {
        r->count = 0;
        return RED_FORCED;
    }
    r->count++;
    /* p_a = p_b / (1 - count * p_b): the spacing of drops becomes roughly
     * uniform on [1, 1/p_b] packets instead of geometric. */
    double denom = 1 - (double)r->count * pb;
    double pa = denom > 0 ? pb / denom : 1;
    if (ns_rng_uniform(rng) < pa) {
        r->count = 0;
        return RED_EARLY;
    }
    return RED_KEEP;
}

static void red_enqueue(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now)
{
    struct red *r = priv;
    const struct ns_queue_cfg *cfg = ns_queue_cfg(q);

    red_update_avg(r, cfg, ns_queue_len_pkts(q), now);
    switch (red_decide(r, cfg, ns_queue_rng(q))) {
    case RED_FORCED:
        /* RFC 3168 section 7: above the forced-drop threshold a router
         * drops even ECN-capable packets. */
        ns_queue_drop(q, p, NS_DROP_AQM);
        return;
    case RED_EARLY:
        if (!(cfg->ecn && ns_queue_mark_ce(p))) {
            ns_queue_drop(q, p, NS_DROP_AQM);
            return;
        }
        break;                  /* marked: queued like any other */
    case RED_KEEP:
        break;
    }
    if (ns__queue_is_full(q, p))
        ns_queue_drop(q, p, NS_DROP_QUEUE_FULL);
    else
        ns_queue_fifo_push(q, p);
}

static ns_pkt *red_dequeue(ns_queue *q, void *priv, ns_time_t now)
{
    struct red *r = priv;
    ns_pkt *p = ns_queue_fifo_pop(q);
    /* The idle period starts when the queue empties (also after a flush,
     * noticed at the first dequeue that finds nothing). */
    if (ns_queue_len_pkts(q) == 0 && !r->idle) {
        r->idle = true;
        r->idle_since = now;
    }
    return p;
}

const struct ns_queue_ops ns_queue_red = {
    .name = "red",
    .priv_size = sizeof(struct red),
    .init = red_init,
    .enqueue = red_enqueue,
    .dequeue = red_dequeue,
};
