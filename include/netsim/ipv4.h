/* ipv4.h — IPv4 output, input and forwarding; routes.
 *
 * Routes are computed when first needed after the topology changed
 * (shortest path by hop count over forwarding hosts, ties broken by the
 * lowest next-hop address), recomputed when a link goes down or up unless
 * the host's routes are static, and can be set by hand.  TTL is decremented
 * when forwarding; a packet with no route or TTL 0 is dropped, traced and
 * answered with ICMP.
 */
#ifndef NETSIM_IPV4_H
#define NETSIM_IPV4_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"

#define NS_IP_BROADCAST 0xffffffffu
#define NS_IP_DEFAULT_TTL 64

/* Sends p from h: fills the IPv4 header (version, length, id, TTL, proto,
 * src/dst, checksum; ECN bits from `tos`) in front of the transport header
 * already in ns_pkt_l4(p) (p->l4_len bytes), routes and transmits.
 * src 0 = the outgoing interface's address.  Takes ownership of p.
 * Returns false (and drops p, traced) when there is no route. */
bool ns_ip_output(ns_host *h, ns_pkt *p, uint32_t src, uint32_t dst,
                  uint8_t proto, uint8_t tos);
/* Sends out of a given interface to a link-level broadcast (DHCP before
 * the interface has an address).  Takes ownership. */
bool ns_ip_output_iface(ns_iface *ifc, ns_pkt *p, uint32_t src, uint32_t dst,
                        uint8_t proto, uint8_t tos);

/* Sends out of ifc to the interface with MAC `mac` on its medium, without
 * ARP (a DHCP server's reply to a client with no address yet, RFC 2131
 * 4.1).  Takes ownership; false (dropped, traced) when no interface on
 * the LAN has that MAC. */
bool ns_ip_output_iface_mac(ns_iface *ifc, ns_pkt *p, uint32_t src, uint32_t dst,
                            uint8_t proto, uint8_t tos, const uint8_t mac[6]);

/* Hand-set routes: dst/prefix via gateway (0 = directly connected) out of
 * iface. Marks the host's routes static (no recomputation). */
bool ns_route_add(ns_host *h, uint32_t dst, int prefix, uint32_t gateway,
                  ns_iface *out, GError **error);
void ns_route_set_static(ns_host *h, bool is_static);
/* Looks up the route to dst: the interface and next hop; false if none. */
bool ns_route_lookup(ns_host *h, uint32_t dst, ns_iface **out, uint32_t *next_hop);
/* Marks all routes stale (topology changed). */
void ns_route_invalidate(ns_sim *sim);

#endif
