/* link.h — point-to-point links, full duplex.
 *
 * Each direction has a rate, a propagation delay, optional jitter (which
 * never reorders packets unless asked), a queue and loss models.  A packet
 * starts transmitting when the one before it has finished; departure times
 * are computed from the bits sent since the direction last became busy (in
 * 128-bit arithmetic), so back-to-back packets never drift and nothing
 * overflows at 100 Gbps over hours.
 *
 * What a link charges for: by default the Ethernet frame without preamble,
 * FCS and inter-frame gap (14-byte header + IP packet; ARP padded to 60),
 * so "link capacity" means the same in every test and benchmark.  With
 * `overhead` set, that many bytes more per frame (24 = preamble 8 + FCS 4 +
 * gap 12, the wire cost of real Ethernet).
 */
#ifndef NETSIM_LINK_H
#define NETSIM_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"
#include "netsim/loss.h"
#include "netsim/queue.h"

typedef struct ns_link ns_link;

struct ns_link_opts {
    double    rate_bps;          /* > 0; default 1 Gbps */
    ns_time_t delay;             /* propagation, >= 0; default 0 */
    ns_time_t jitter;            /* uniform extra delay in [0, jitter] */
    bool      jitter_reorders;   /* let jitter reorder packets */
    uint32_t  overhead;          /* bytes charged per frame beyond it */
    const char *queue;           /* discipline name; default "droptail" */
    struct ns_queue_cfg qcfg;    /* its configuration */
    double    loss;              /* Bernoulli loss per direction, [0,1] */
    uint32_t  a_addr, b_addr;    /* addresses (0: assigned from 10/8) */
    int       prefix;            /* for given addresses; default 24 */
};
void ns_link_opts_defaults(struct ns_link_opts *o);

ns_link *ns_link_new(ns_sim *sim, ns_host *a, ns_host *b,
                     const struct ns_link_opts *o, GError **error);
const char *ns_link_name(const ns_link *l);          /* "a-b" */
ns_host    *ns_link_host(const ns_link *l, int end);  /* 0 = a, 1 = b */
ns_iface   *ns_link_iface(const ns_link *l, int end);
size_t      ns_link_count(ns_sim *sim);
ns_link    *ns_link_nth(ns_sim *sim, size_t i);
ns_link    *ns_link_find(ns_sim *sim, const char *name);

/* Changes apply from now on; `dir` 0 is a->b, 1 is b->a, -1 both. */
bool ns_link_set_rate(ns_link *l, int dir, double rate_bps, GError **error);
bool ns_link_set_delay(ns_link *l, int dir, ns_time_t delay, GError **error);
bool ns_link_set_loss(ns_link *l, int dir, double p, GError **error);
void ns_link_add_loss(ns_link *l, int dir, ns_loss *loss);   /* takes it */
void ns_link_set_up(ns_link *l, bool up);     /* down: queued and in-flight dropped */
bool ns_link_is_up(const ns_link *l);
ns_queue *ns_link_queue(ns_link *l, int dir);

/* Per-direction counters. */
struct ns_link_stats {
    uint64_t tx_pkts, tx_bytes;         /* started on the wire */
    uint64_t rx_pkts, rx_bytes;         /* delivered at the far end */
    uint64_t drops[NS_DROP_NCAUSES];
};
const struct ns_link_stats *ns_link_stats(const ns_link *l, int dir);

#endif
