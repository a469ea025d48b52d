/* cc.h — TCP congestion control as a pluggable ops table chosen by name
 * ("reno", "newreno", "cubic", ...), in the way of Linux's
 * tcp_congestion_ops: an algorithm is a name plus hooks, each marked
 * required or optional; the table is shared and per-connection state lives
 * in a zeroed private block of priv_size bytes.
 *
 * An algorithm sees the connection only through struct ns_cc_state, and
 * may write exactly two of its fields: cwnd and ssthresh (bytes).  Loss
 * recovery itself (fast retransmit, NewReno partial ACKs, SACK recovery,
 * RTO) belongs to the TCP core, which calls these hooks at the moments the
 * RFCs name: RFC 5681 (slow start, congestion avoidance), RFC 6582
 * (NewReno), RFC 9438 (CUBIC), RFC 3168 (ECN: one reduction per window).
 */
#ifndef NETSIM_CC_H
#define NETSIM_CC_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"

/* What an algorithm sees of a connection. */
struct ns_cc_state {
    uint32_t  cwnd;              /* bytes; the algorithm writes it */
    uint32_t  ssthresh;          /* bytes; the algorithm writes it */
    uint32_t  mss;               /* sender MSS: payload bytes per segment */
    uint32_t  flight;            /* bytes sent and not yet acknowledged */
    ns_time_t now;               /* simulated time of the call */
    ns_time_t srtt;              /* smoothed RTT (0 until the first sample) */
    ns_time_t min_rtt;           /* lowest RTT sample seen (0: none) */
    bool      in_recovery;       /* fast recovery under way */
    bool      app_limited;       /* the sender had nothing more to send */
};

enum ns_cc_loss {
    NS_CC_LOSS_DUPACK,           /* three duplicate ACKs / SACK loss: enter recovery */
    NS_CC_LOSS_RTO,              /* retransmission timeout */
    NS_CC_LOSS_ECN,              /* ECN-Echo: reduce as for a loss, no retransmit */
};

enum ns_cc_flags {
    /* Classic Reno fast recovery (RFC 5681 3.2): recovery ends at the
     * first ACK of new data, even a partial one.  Without it the core does
     * NewReno (RFC 6582): partial ACKs retransmit and stay in recovery. */
    NS_CC_RENO_RECOVERY = 1 << 0,
};

struct ns_cc_ops {
    const char *name;                                              /* required */
    size_t      priv_size;                                         /* zeroed */
    unsigned    flags;                                             /* NS_CC_* */
    /* Optional: a new connection (cwnd and ssthresh already set to the
     * initial window and "infinity"). */
    void     (*init)(struct ns_cc_state *s, void *priv);
    /* Required: `acked` new bytes were cumulatively acknowledged outside
     * recovery; rtt is this ACK's sample (0 if none).  Grows cwnd. */
    void     (*on_ack)(struct ns_cc_state *s, void *priv, uint32_t acked, ns_time_t rtt);
    /* Required: the ssthresh to use after a loss of this kind (the core
     * sets ssthresh to it; for DUPACK/ECN cwnd becomes ssthresh, for RTO
     * cwnd becomes one segment (RFC 5681 3.1)). */
    uint32_t (*ssthresh)(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind);
    /* Optional: told after the core applied a loss reaction. */
    void     (*on_loss)(struct ns_cc_state *s, void *priv, enum ns_cc_loss kind);
    /* Optional: recovery ended (the ACK covering the recovery point);
     * default: cwnd = ssthresh (RFC 6582 3.2 step 3, "deflate"). */
    void     (*on_recovery_end)(struct ns_cc_state *s, void *priv);
};

/* The registry, per sim.  The built-ins (reno, newreno, cubic) are
 * registered on first use; registering refuses a table without name,
 * on_ack or ssthresh, and a name already taken. */
bool ns_cc_register(ns_sim *sim, const struct ns_cc_ops *ops, GError **error);
/* NULL, with an error listing the registered names in registration
 * order ("unknown congestion control 'vegas' (known: reno, newreno,
 * cubic)"), when name is unknown. */
const struct ns_cc_ops *ns_cc_find(ns_sim *sim, const char *name, GError **error);
/* Registered names in registration order (NULL-terminated, owned by the
 * sim). */
const char *const *ns_cc_names(ns_sim *sim);

extern const struct ns_cc_ops ns_cc_reno;
extern const struct ns_cc_ops ns_cc_newreno;
extern const struct ns_cc_ops ns_cc_cubic;

/* Integer cube root: the largest r with r^3 <= x.  Exact on every
 * machine (CUBIC uses it so its windows never depend on libm). */
uint64_t ns_cc_cbrt(uint64_t x);

#endif
