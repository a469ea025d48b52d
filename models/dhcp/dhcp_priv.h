/* dhcp_priv.h — what the DHCP files share (never included from another
 * folder). */
#ifndef NETSIM_DHCP_PRIV_H
#define NETSIM_DHCP_PRIV_H

#include "netsim/dhcp.h"
#include "netsim/ipv4.h"
#include "netsim/pkt.h"
#include "netsim/trace.h"
#include "netsim/udp.h"

/* Per-sim DHCP state: hears faults once for every client and server. */
struct ns__dhcp_sim {
    GPtrArray *servers;           /* ns_dhcp_server*, creation order (not owned) */
    GPtrArray *clients;           /* ns_dhcp_client*, creation order (not owned) */
    ns_table  *timeline;          /* dhcp_timeline.tsv, or NULL (tables off) */
    ns_table  *pool;              /* dhcp_pool.tsv, or NULL */
    ns_time_t  pool_every;        /* sampling interval of `pool` */
    GArray    *pool_last;         /* size_t per server: last written count,
                                     SIZE_MAX before the first row */
};
struct ns__dhcp_sim *ns__dhcp_sim(ns_sim *sim);
/* A dhcp_timeline.tsv row, when the tables are on. */
void ns__dhcp_timeline_row(ns_dhcp_client *c, enum ns_dhcp_state to, const char *cause);

/* Sends m from sock: to dst (a unicast address or the broadcast) on
 * port; broadcasts leave by ifc.  Returns what UDP returned. */
bool ns__dhcp_send(ns_udp *sock, ns_iface *ifc, uint32_t dst, uint16_t port,
                   const struct ns_dhcp_msg *m);
/* Decodes a received datagram; false for anything that is not DHCP. */
bool ns__dhcp_recv(const ns_pkt *p, struct ns_dhcp_msg *m);

/* Fault hooks, called by the per-sim observer. */
void ns__dhcp_client_fault(ns_dhcp_client *c, enum ns_host_fault f);
void ns__dhcp_server_fault(ns_dhcp_server *s, enum ns_host_fault f);

uint32_t ns__dhcp_prefix_mask(int prefix);
int      ns__dhcp_mask_prefix(uint32_t mask);

#define DHCP_TRACE(sim, kind, node, ...)                        \
    do {                                                        \
        if (ns_trace_on((sim), (kind), (node)))                 \
            ns_trace_event((sim), (kind), (node), __VA_ARGS__); \
    } while (0)

#endif
