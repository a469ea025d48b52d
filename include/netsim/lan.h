/* lan.h — a LAN segment: a store-and-forward switch with one port per
 * host, each port with a rate, a delay and a queue towards its host.
 * Frames to the broadcast MAC (IPv4 255.255.255.255 or the subnet
 * broadcast) reach every other port; others go to the port that learned
 * the destination MAC, or flood until it is learned.
 */
#ifndef NETSIM_LAN_H
#define NETSIM_LAN_H

#include "netsim/host.h"
#include "netsim/link.h"

typedef struct ns_lan ns_lan;

struct ns_lan_opts {
    double    rate_bps;          /* per port, default 1 Gbps */
    ns_time_t delay;             /* per port, host <-> switch */
    const char *queue;           /* per port discipline */
    struct ns_queue_cfg qcfg;
    uint32_t  subnet;            /* 0: assigned from 10/8 */
    int       prefix;            /* default 24 */
    bool      arp;               /* run ARP (default true); false pre-resolves */
    double    loss;              /* per port and direction: the fraction of
                                  * frames a cable loses, [0, 1], default 0 */
};
void ns_lan_opts_defaults(struct ns_lan_opts *o);

ns_lan *ns_lan_new(ns_sim *sim, const char *name, const struct ns_lan_opts *o,
                   GError **error);
/* Connects h with a new interface; addr 0 takes the next free address of
 * the subnet, NS_LAN_NO_ADDR leaves it at 0.0.0.0 (DHCP will set it). */
#define NS_LAN_NO_ADDR UINT32_MAX
ns_iface *ns_lan_attach(ns_lan *lan, ns_host *h, uint32_t addr, GError **error);
const char *ns_lan_name(const ns_lan *lan);
uint32_t    ns_lan_subnet(const ns_lan *lan);
int         ns_lan_prefix(const ns_lan *lan);
size_t      ns_lan_count(ns_sim *sim);
ns_lan     *ns_lan_nth(ns_sim *sim, size_t i);        /* creation order */
ns_lan     *ns_lan_find(ns_sim *sim, const char *name);
size_t      ns_lan_n_ports(const ns_lan *lan);
ns_iface   *ns_lan_port_iface(const ns_lan *lan, size_t i);  /* attachment order */

/* Takes ifc's port down (a pulled cable: every frame reaching either end
 * of it is dropped as "link-down", and the interface reports itself down)
 * or back up.  False when ifc is not attached to lan. */
bool ns_lan_port_set_up(ns_lan *lan, ns_iface *ifc, bool up);
/* Puts ifc's port on side `side` of a partition: the switch forwards only
 * between ports on the same side (0, every port's side until set, is the
 * rest of the LAN).  Frames to the other side are dropped as link-down at
 * the switch.  False if ifc is not on lan. */
bool ns_lan_port_set_side(ns_lan *lan, ns_iface *ifc, int side);

/* Per-port counters.  "tx" is the host sending to the switch, "rx" the
 * switch delivering to the host's interface; rx counts every frame put on
 * the port (floods included), rx_filtered those the interface then
 * ignored because they were for another MAC. */
struct ns_lan_port_stats {
    uint64_t tx_pkts, tx_bytes;        /* started on the uplink */
    uint64_t rx_pkts, rx_bytes;        /* delivered to the interface */
    uint64_t rx_filtered;              /* unicast for another MAC */
    uint64_t drops[NS_DROP_NCAUSES];   /* either direction of the port */
};
/* NULL when ifc is not attached to lan. */
const struct ns_lan_port_stats *ns_lan_port_stats(const ns_lan *lan, const ns_iface *ifc);

#endif
