/* queue_codel.c — Controlled Delay (CoDel), RFC 8289.
 *
 * CoDel watches the sojourn time of each packet (dequeue time minus the
 * p->stamp set at enqueue).  When the sojourn time has stayed at or above
 * `target` for a whole `interval`, it enters the dropping state and drops
 * at dequeue, the next drop scheduled interval/sqrt(count) after the
 * previous one (the control law, RFC 8289 section 5.5), until a packet
 * leaves with a sojourn time below target.  With ECN on, an ECN-capable
 * packet is marked CE and sent instead of being dropped.
 *
 * Invariant: first_above_time is 0 exactly when the last dequeued packet
 * waited less than target (or the queue held at most one MTU); otherwise
 * it is the time at which dropping may start.  Drops happen only at
 * dequeue, except tail drops when the limits are reached.
 */
#include <math.h>

#include "netsim/queue.h"
#include "queue_priv.h"

struct codel {
    ns_time_t first_above_time;  /* 0: below target (see invariant) */
    ns_time_t drop_next;         /* next drop while dropping */
    int64_t   count;             /* drops (or marks) in this dropping run */
    int64_t   lastcount;         /* count when the last run started */
    bool      dropping;
};

/* A packet from the FIFO and whether CoDel may drop it. */
struct codel_pick {
    ns_pkt *p;
    bool    ok_to_drop;
};

static bool codel_init(void *priv, const struct ns_queue_cfg *cfg, GError **error)
{
    if (cfg->codel_target <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "codel_target %" G_GINT64_FORMAT " ns must be > 0",
                    (gint64)cfg->codel_target);
        return false;
    }
    if (cfg->codel_interval <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "codel_interval %" G_GINT64_FORMAT " ns must be > 0",
                    (gint64)cfg->codel_interval);
        return false;
    }
    return true;
}

/* RFC 8289 section 5.5: the next drop comes interval/sqrt(count) after t,
 * so the drop rate grows with the square root of the drops so far — the
 * rate that brings a TCP flow's window down linearly. */
static ns_time_t codel_control_law(const struct ns_queue_cfg *cfg, ns_time_t t,
                                   int64_t count)
{
    double gap = (double)cfg->codel_interval / sqrt((double)count);
    return t + (ns_time_t)llround(gap);
}

/* RFC 8289 section 5.4 (dodequeue). */
static struct codel_pick codel_pick(ns_queue *q, struct codel *c, ns_time_t now)
{
    const struct ns_queue_cfg *cfg = ns_queue_cfg(q);
    struct codel_pick r = { ns_queue_fifo_pop(q), false };
    if (!r.p) {
        c->first_above_time = 0;
        return r;
    }
    ns_time_t sojourn = now - r.p->stamp;
    /* Less than one MTU left: dropping cannot shorten the queue's delay,
     * the link is simply draining it. */
    if (sojourn < cfg->codel_target || ns_queue_len_bytes(q) <= NS_QUEUE_MTU_FRAME) {
        c->first_above_time = 0;
    } else if (c->first_above_time == 0) {
        c->first_above_time = now + cfg->codel_interval;
    } else if (now >= c->first_above_time) {
        r.ok_to_drop = true;
    }
    return r;
}

/* Marks p when ECN is on and p is ECN-capable; otherwise drops it. */
static bool codel_mark_or_drop(ns_queue *q, ns_pkt *p)
{
    if (ns_queue_cfg(q)->ecn && ns_queue_mark_ce(p))
        return true;
    ns_queue_drop(q, p, NS_DROP_AQM);
    return false;
}

static ns_pkt *codel_dequeue(ns_queue *q, void *priv, ns_time_t now)
{
    struct codel *c = priv;
    const struct ns_queue_cfg *cfg = ns_queue_cfg(q);
    struct codel_pick r = codel_pick(q, c, now);

    if (c->dropping) {
        if (!r.ok_to_drop)
            c->dropping = false;       /* below target again */
        while (c->dropping && now >= c->drop_next) {
            c->count++;
            if (codel_mark_or_drop(q, r.p)) {
                /* A marked packet is sent: one signal per scheduled
                 * drop, as for drops. */
                c->drop_next = codel_control_law(cfg, c->drop_next, c->count);
                return r.p;
            }
            r = codel_pick(q, c, now);
            if (!r.ok_to_drop)
                c->dropping = false;
            else
                c->drop_next = codel_control_law(cfg, c->drop_next, c->count);
        }
    } else if (r.ok_to_drop) {
        /* Entering the dropping state.  If the last run ended recently
         * (within 16 intervals of its next scheduled drop), resume near its
         * drop rate rather than from 1: the queue evidently was not
         * brought under control (RFC 8289 section 5.5). */
        int64_t delta = c->count - c->lastcount;
        c->count = 1;
        if (delta > 1 && now - c->drop_next < 16 * cfg->codel_interval)
            c->count = delta;
        c->dropping = true;
        c->drop_next = codel_control_law(cfg, now, c->count);
        c->lastcount = c->count;
        if (codel_mark_or_drop(q, r.p))
            return r.p;
        r = codel_pick(q, c, now);
    }
    return r.p;
}

static void codel_enqueue(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now)
{
    if (ns__queue_is_full(q, p))
        ns_queue_drop(q, p, NS_DROP_QUEUE_FULL);
    else
        ns_queue_fifo_push(q, p);
}

const struct ns_queue_ops ns_queue_codel = {
    .name = "codel",
    .priv_size = sizeof(struct codel),
    .init = codel_init,
    .enqueue = codel_enqueue,
    .dequeue = codel_dequeue,
};
