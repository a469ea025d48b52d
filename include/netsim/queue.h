/* queue.h — queue disciplines for link directions and switch ports, as a
 * pluggable ops table chosen by name: "droptail" (packets or bytes), "red",
 * "codel".  ECN: where a discipline would drop an ECN-capable packet
 * (ECT(0)/ECT(1)) for congestion and ECN marking is on, it marks CE instead.
 */
#ifndef NETSIM_QUEUE_H
#define NETSIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/pkt.h"
#include "netsim/rng.h"
#include "netsim/sim.h"

/* Configuration common to every discipline; each reads what it needs. */
struct ns_queue_cfg {
    uint32_t  limit_pkts;        /* capacity in packets (0: no limit) */
    uint64_t  limit_bytes;       /* capacity in bytes (0: no limit) */
    bool      ecn;               /* mark CE instead of dropping ECT packets */
    double    rate_bps;          /* the link rate (RED's idle estimate) */
    /* RED (Floyd & Jacobson 1993): thresholds in packets, max_p, weight. */
    double    red_min_th, red_max_th, red_max_p, red_wq;
    bool      red_gentle;
    /* CoDel (RFC 8289) */
    ns_time_t codel_target;      /* default 5 ms */
    ns_time_t codel_interval;    /* default 100 ms */
    /* Names the queue's random stream "queue.<stream>" (a link direction:
     * "a-b.0"); NULL: "queue.<n>" by creation order.  Not copied: must
     * live until ns_queue_new returns. */
    const char *stream;
};
void ns_queue_cfg_defaults(struct ns_queue_cfg *cfg);   /* 100 packets, ... */

/* Why a packet left a queue without being sent. */
#define NS_DROP_CAUSES(X)                                               \
    X(NS_DROP_QUEUE_FULL, "queue-full")   /* tail drop at capacity */   \
    X(NS_DROP_AQM,        "aqm")          /* RED/CoDel early drop */    \
    X(NS_DROP_LOSS,       "loss")         /* the link's loss model */   \
    X(NS_DROP_LINK_DOWN,  "link-down")                                   \
    X(NS_DROP_NO_ROUTE,   "no-route")                                    \
    X(NS_DROP_TTL,        "ttl")                                         \
    X(NS_DROP_HOST_DOWN,  "host-down")                                   \
    X(NS_DROP_NO_PORT,    "no-port")      /* UDP to a closed port */     \
    X(NS_DROP_NO_ARP,     "no-arp")       /* ARP never answered */
#define NS_X_ENUM(name, str) name,
enum ns_drop_cause { NS_DROP_CAUSES(NS_X_ENUM) NS_DROP_NCAUSES };
#undef NS_X_ENUM
const char *ns_drop_cause_name(enum ns_drop_cause c);

/* A queue hands dropped packets to this, which owns them from then on. */
typedef void (*ns_queue_drop_fn)(void *ud, ns_pkt *p, enum ns_drop_cause cause);

typedef struct ns_queue ns_queue;

struct ns_queue_ops {
    const char *name;
    size_t      priv_size;                                   /* zeroed */
    /* Optional: validates cfg and sets up priv. */
    bool (*init)(void *priv, const struct ns_queue_cfg *cfg, GError **error);
    /* Required: offers p at time now; the discipline keeps it or drops it
     * through q's drop function (possibly dropping another packet). */
    void (*enqueue)(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now);
    /* Required: the next packet to send, or NULL; may drop on the way. */
    ns_pkt *(*dequeue)(ns_queue *q, void *priv, ns_time_t now);
    /* Optional: frees what priv holds (the packets still queued are freed
     * by the caller through dequeue-less flushing: see ns_queue_flush). */
    void (*destroy)(void *priv);
};

/* Registry by name (per sim); the built-in disciplines are registered
 * when the network layer starts.  An unknown name is an error listing the
 * registered ones. */
bool ns_queue_register(ns_sim *sim, const struct ns_queue_ops *ops, GError **error);
const struct ns_queue_ops *ns_queue_find(ns_sim *sim, const char *name);

ns_queue *ns_queue_new(ns_sim *sim, const char *discipline,
                       const struct ns_queue_cfg *cfg,
                       ns_queue_drop_fn drop, void *drop_ud, GError **error);
void      ns_queue_free(ns_queue *q);          /* frees queued packets */
void      ns_queue_enqueue(ns_queue *q, ns_pkt *p, ns_time_t now);
ns_pkt   *ns_queue_dequeue(ns_queue *q, ns_time_t now);
/* Drops every queued packet with `cause` (a link going down). */
void      ns_queue_flush(ns_queue *q, enum ns_drop_cause cause);
size_t    ns_queue_len_pkts(const ns_queue *q);
uint64_t  ns_queue_len_bytes(const ns_queue *q);
const struct ns_queue_cfg *ns_queue_cfg(const ns_queue *q);
ns_sim   *ns_queue_sim(const ns_queue *q);
struct ns_rng *ns_queue_rng(ns_queue *q);   /* the queue's own stream */

/* ---- for disciplines: a FIFO of packets with byte accounting ---- */
void      ns_queue_fifo_push(ns_queue *q, ns_pkt *p);     /* stamps p->stamp */
ns_pkt   *ns_queue_fifo_pop(ns_queue *q);
ns_pkt   *ns_queue_fifo_peek(const ns_queue *q);
void      ns_queue_drop(ns_queue *q, ns_pkt *p, enum ns_drop_cause cause);
/* Marks CE on an ECN-capable packet; false if it is not ECN-capable. */
bool      ns_queue_mark_ce(ns_pkt *p);

extern const struct ns_queue_ops ns_queue_droptail;
extern const struct ns_queue_ops ns_queue_red;
extern const struct ns_queue_ops ns_queue_codel;

#endif
