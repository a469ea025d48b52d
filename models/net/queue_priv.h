/* queue_priv.h — what the queue disciplines (queue*.c) share beyond
 * queue.h: the capacity test every discipline applies before keeping a
 * packet, and the byte measure the FIFO accounts in.
 *
 * Invariant: a packet is counted with the same byte length when it enters
 * and when it leaves the FIFO, so ns_queue_len_bytes() returns to 0 when
 * the queue is empty.
 */
#ifndef NETSIM_QUEUE_PRIV_H
#define NETSIM_QUEUE_PRIV_H

#include <stdbool.h>

#include "netsim/queue.h"

/* The largest frame a link carries: Ethernet header + a 1500-byte IP MTU.
 * CoDel's "one MTU left in the queue" test (RFC 8289 section 5.4) and
 * RED's typical packet size both use it. */
#define NS_QUEUE_MTU_FRAME (NS_ETH_HLEN + 1500)

/* The bytes a queued packet occupies: its frame, as a link charges it.
 * Inline: the FIFO asks it at every push and pop. */
static inline uint32_t ns__queue_pkt_bytes(const ns_pkt *p)
{
    return ns_pkt_frame_len(p);
}

/* Whether accepting p would exceed the packet or the byte limit of cfg. */
bool ns__queue_is_full(const ns_queue *q, const ns_pkt *p);

#endif
