/* arp.h — ARP (RFC 826) on LAN interfaces, with the RFC 5227 probe and
 * announcement forms that address configuration (DHCP) uses.
 *
 * Each LAN interface keeps a cache of IPv4 -> MAC mappings; an entry is
 * trusted for the sim's ARP timeout (default 60 s) after it was last
 * learned, then resolved anew.  Packets for a next hop being resolved
 * wait, at most NS_ARP_MAX_WAITING per (interface, next hop); the request
 * is sent, then resent every NS_ARP_RETRY_INTERVAL up to NS_ARP_RETRIES
 * times, and when the last one goes unanswered the waiting packets are
 * dropped ("no-arp").  A LAN created with arp = false never uses any of
 * this: its interfaces know every neighbour's MAC.
 *
 * ARP state is volatile: a host crash empties the caches, drops the
 * waiting packets ("host-down") and cancels probes without calling them
 * back (their owners hear the crash).
 */
#ifndef NETSIM_ARP_H
#define NETSIM_ARP_H

#include <stdbool.h>
#include <stdint.h>

#include "netsim/host.h"

#define NS_ARP_DEFAULT_TIMEOUT (60 * NS_SEC)
#define NS_ARP_RETRY_INTERVAL  NS_SEC
#define NS_ARP_RETRIES         3      /* resends after the first request */
#define NS_ARP_MAX_WAITING     16     /* packets per unresolved next hop */

/* The cache entry lifetime for every ARP interface of the sim; > 0. */
void ns_arp_set_timeout(ns_sim *sim, ns_time_t timeout);
ns_time_t ns_arp_timeout(ns_sim *sim);

/* The MAC ifc's cache holds for addr, if a live entry exists (tests,
 * inspection); does not send anything. */
bool ns_arp_lookup(ns_iface *ifc, uint32_t addr, uint8_t mac[6]);
/* Drops ifc's cache entries (waiting packets stay waiting). */
void ns_arp_flush(ns_iface *ifc);

/* RFC 5227 2.1.1: asks whether addr is in use on ifc's LAN with an ARP
 * probe (sender IP 0.0.0.0, target IP addr).  done runs once: with in_use
 * true as soon as an ARP packet whose sender IP is addr, or another
 * host's probe for addr, is seen on ifc; with in_use false after `wait`.
 * Several probes may run at once. */
typedef void (*ns_arp_probe_fn)(ns_iface *ifc, uint32_t addr, bool in_use, void *ud);
void ns_arp_probe(ns_iface *ifc, uint32_t addr, ns_time_t wait,
                  ns_arp_probe_fn done, void *ud);

/* RFC 5227 2.3: a gratuitous ARP request (sender IP = target IP = ifc's
 * address) so that neighbours holding a mapping for it refresh it. */
void ns_arp_announce(ns_iface *ifc);

#endif
