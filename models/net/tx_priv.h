/* tx_priv.h — a transmitter's clock, shared by link directions (link.c)
 * and LAN port directions (lan_port.c); private to models/net.
 *
 * A direction is a queue feeding one transmitter.  Serialisation: while
 * the transmitter stays busy, a frame ends at busy_since + ceil(bits_since
 * * 1e9 / rate), so back-to-back frames never drift.  The end of a frame
 * needs an event (a tx_done) only to start a next one: when a frame starts
 * with others queued behind it, or when one is queued while it is being
 * sent; otherwise the transmitter is busy until tx_end implicitly, in
 * time.  The discipline still gets the empty dequeue a tx_done would have
 * made at tx_end on an empty queue (RED starts its idle period there,
 * CoDel leaves its dropping state): it is owed (owes_dequeue) and paid,
 * with tx_end as its time, before the queue is next touched.
 */
#ifndef NETSIM_NET_TX_PRIV_H
#define NETSIM_NET_TX_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "netsim/pkt.h"
#include "netsim/queue.h"
#include "netsim/time.h"

struct ns__tx {
    ns_time_t         busy_since;     /* anchor of the current busy period */
    unsigned __int128 bits_since;     /* bits started since the anchor */
    ns_time_t         tx_end;         /* when the last frame started ends:
                                       * busy while now < tx_end */
    bool              tx_event;       /* a tx_done is pending at tx_end */
    bool              owes_dequeue;   /* nothing asked the discipline for a
                                       * next frame at tx_end yet */
};

/* Frames on a wire, in arrival order, linked by next: an intrusive FIFO,
 * no allocation per frame. */
struct ns__wire {
    ns_pkt *head;
    ns_pkt *tail;
};

static inline void ns__wire_push(struct ns__wire *w, ns_pkt *p)
{
    p->next = NULL;
    if (w->tail)
        w->tail->next = p;
    else
        w->head = p;
    w->tail = p;
}

/* The first frame on the wire, unlinked, or NULL. */
static inline ns_pkt *ns__wire_pop(struct ns__wire *w)
{
    ns_pkt *p = w->head;
    if (p) {
        w->head = p->next;
        if (!w->head)
            w->tail = NULL;
        p->next = NULL;
    }
    return p;
}

/* Puts a frame of `bytes` on the free transmitter at now, continuing the
 * busy period when it was busy until now (a new one when `rebase`: the
 * rate changed); returns its tx_end. */
ns_time_t ns__tx_start(struct ns__tx *t, ns_time_t now, uint32_t bytes, uint64_t rate_bps,
                       bool rebase);

/* What a direction must do with a frame handed to it at now. */
enum ns__tx_offer {
    NS_TX_QUEUED,        /* queued (or refused by the discipline): nothing */
    NS_TX_NEEDS_DONE,    /* queued behind the frame being sent: schedule a
                          * tx_done at t->tx_end (tx_event is now set) */
    NS_TX_IDLE,          /* queued on an idle transmitter: start it now */
};
enum ns__tx_offer ns__tx_offer(struct ns__tx *t, ns_queue *q, ns_pkt *p, ns_time_t now);

/* Pays the owed empty dequeue once tx_end has passed (no-op otherwise). */
void ns__tx_pay_dequeue(struct ns__tx *t, ns_queue *q, ns_time_t now);

#endif
