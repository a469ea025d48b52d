/* tx.c — a transmitter's clock: busy periods, serialisation times, and
 * when a direction needs a tx_done event (see tx_priv.h). */
#include <glib.h>

#include "tx_priv.h"

typedef unsigned __int128 u128;

/* ceil(bits * 1e9 / rate): in 64 bits while that cannot overflow (a busy
 * period of up to ~18 Gbit), the same value as the 128-bit form, whose
 * library division showed in profiles at one call per frame. */
static uint64_t serialisation_ns(u128 bits, uint64_t rate)
{
    if (bits <= (UINT64_MAX - rate) / 1000000000u)
        return ((uint64_t)bits * 1000000000u + rate - 1) / rate;
    return (uint64_t)((bits * 1000000000u + rate - 1) / rate);
}

ns_time_t ns__tx_start(struct ns__tx *t, ns_time_t now, uint32_t bytes, uint64_t rate_bps,
                       bool rebase)
{
    if (rebase || t->tx_end != now || t->bits_since == 0) {
        t->busy_since = now;            /* a new busy period: new anchor */
        t->bits_since = 0;
    }
    t->bits_since += (u128)bytes * 8;
    t->tx_end = t->busy_since + (ns_time_t)serialisation_ns(t->bits_since, rate_bps);
    return t->tx_end;
}

/* Inline here (ns__tx_offer pays for every frame handed to an idle
 * transmitter), exported below for link.c and lan_port.c. */
static inline void pay_dequeue(struct ns__tx *t, ns_queue *q, ns_time_t now)
{
    if (!t->owes_dequeue || now < t->tx_end)
        return;
    t->owes_dequeue = false;
    ns_pkt *none = ns_queue_dequeue(q, t->tx_end);
    g_assert(none == NULL);             /* nothing was queued since */
}

void ns__tx_pay_dequeue(struct ns__tx *t, ns_queue *q, ns_time_t now)
{
    pay_dequeue(t, q, now);
}

enum ns__tx_offer ns__tx_offer(struct ns__tx *t, ns_queue *q, ns_pkt *p, ns_time_t now)
{
    if (t->tx_event) {                  /* the pending tx_done will start it */
        ns_queue_enqueue(q, p, now);
        return NS_TX_QUEUED;
    }
    if (now < t->tx_end) {
        /* Serialising a frame no event waits for: one must now start
         * this frame at tx_end, unless the discipline refused it. */
        ns_queue_enqueue(q, p, now);
        if (ns_queue_len_pkts(q) == 0)
            return NS_TX_QUEUED;
        t->tx_event = true;
        t->owes_dequeue = false;        /* the tx_done will ask */
        return NS_TX_NEEDS_DONE;
    }
    pay_dequeue(t, q, now);
    ns_queue_enqueue(q, p, now);
    return NS_TX_IDLE;
}
