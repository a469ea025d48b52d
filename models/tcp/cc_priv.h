/* cc_priv.h — what the congestion-control files share, private to
 * models/tcp: the RFC 5681 arithmetic (slow start, congestion avoidance,
 * the loss ssthresh), written once in cc_reno.c and used by the Reno and
 * NewReno tables (which differ only in the recovery flag the TCP core reads)
 * and by CUBIC's slow start.
 *
 * Contract with the TCP core (include/netsim/cc.h, models/tcp/tcp_in.c,
 * tcp_timer.c): at a congestion event the core calls ssthresh with the cwnd
 * still unreduced (CUBIC records W_max from it; for a series of RTOs only
 * the first), reduces cwnd, then calls on_loss, where every algorithm here
 * restarts its congestion-avoidance state; on_ack comes only outside
 * recovery, with s->now, s->srtt and s->app_limited up to date.
 */
#ifndef NETSIM_TCP_CC_PRIV_H
#define NETSIM_TCP_CC_PRIV_H

#include "netsim/cc.h"

/* Per-connection state of Reno and NewReno. */
struct ns__cc_reno {
    uint32_t ca_bytes;                  /* bytes acked toward the next +1 MSS, < cwnd */
};

/* Slow start (RFC 5681 3.1), for cwnd < ssthresh: cwnd grows by
 * min(acked, mss), never past ssthresh. */
void ns__cc_slow_start(struct ns_cc_state *s, uint32_t acked);

/* max(flight / 2, 2 * mss): RFC 5681 equation (4), in bytes. */
uint32_t ns__cc_reno_ssthresh(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind);
void     ns__cc_reno_on_ack(struct ns_cc_state *s, void *priv, uint32_t acked, ns_time_t rtt);
/* Restarts the congestion-avoidance byte count. */
void     ns__cc_reno_on_loss(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind);

#endif
