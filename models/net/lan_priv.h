/* lan_priv.h — what lan.c and arp.c share (models/net/ only).
 *
 * A LAN interface resolves a next hop to a MAC through ARP (arp.c) and
 * then hands the frame, with its Ethernet destination set, to its switch
 * port (lan.c).  ARP frames travel the same way. */
#ifndef NETSIM_LAN_PRIV_H
#define NETSIM_LAN_PRIV_H

#include "net_priv.h"

/* Whether ifc is a LAN port (and so may run ARP). */
bool ns__lan_is_port(const ns_iface *ifc);
/* Puts a frame whose eth_dst is set on ifc's uplink to the switch, with
 * ifc's MAC as its source; owns p. */
void ns__lan_send(ns_iface *ifc, ns_pkt *p);
/* Sends an IP packet to the port whose interface has `mac`, without ARP;
 * false (p dropped as NO_ARP, traced) when the LAN has none.  Owns p. */
bool ns__lan_send_to_mac(ns_iface *ifc, ns_pkt *p, const uint8_t mac[6]);
/* Calls fn for each interface on ifc's LAN in attachment order, without
 * building an array (route searches do this once per router port), and
 * returns the LAN's index in net->lans; -1 (no calls) when ifc is not a
 * LAN port. */
int ns__lan_each_port(ns_iface *ifc, void (*fn)(void *ud, ns_iface *o), void *ud);
/* The index in net->lans of ifc's LAN, or -1 when ifc is not a LAN port. */
int ns__lan_index(const ns_iface *ifc);
void ns__lan_free(ns_lan *lan);

/* Starts ARP for the sim's network: frames of type ARP reach arp.c from
 * now on.  Idempotent. */
void ns__arp_enable(struct ns_net *net);
/* Resolves next_hop on ifc (RFC 826) and sends p once it is known; p waits
 * (bounded) while a request is outstanding.  Owns p. */
void ns__arp_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop);

#endif
