/* udp.h — UDP sockets (RFC 768) on the network layer. */
#ifndef NETSIM_UDP_H
#define NETSIM_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"

typedef struct ns_udp ns_udp;

/* Called with a received datagram; the packet stays owned by UDP (read
 * its payload during the call). */
typedef void (*ns_udp_recv_fn)(ns_udp *s, const ns_pkt *p, uint32_t src,
                               uint16_t sport, void *ud);

/* Binds port on h (0: an ephemeral port from 49152); a port already bound
 * is an error naming it. */
ns_udp  *ns_udp_bind(ns_host *h, uint16_t port, GError **error);
void     ns_udp_close(ns_udp *s);
void     ns_udp_on_receive(ns_udp *s, ns_udp_recv_fn fn, void *ud);
uint16_t ns_udp_port(const ns_udp *s);
ns_host *ns_udp_host(const ns_udp *s);
/* Sends a datagram of `len` length-only bytes, or of real bytes when
 * bytes is not NULL; dst may be a broadcast.  False if unroutable (the
 * packet is dropped and traced, not an error). */
bool ns_udp_send(ns_udp *s, uint32_t dst, uint16_t dport,
                 const void *bytes, uint32_t len);
/* Out of one interface (broadcast before it has an address). */
bool ns_udp_send_iface(ns_udp *s, ns_iface *ifc, uint32_t dst, uint16_t dport,
                       const void *bytes, uint32_t len);
/* Out of one interface to the interface with MAC `mac`, without ARP
 * (see ns_ip_output_iface_mac). */
bool ns_udp_send_iface_mac(ns_udp *s, ns_iface *ifc, uint32_t dst, const uint8_t mac[6],
                           uint16_t dport, const void *bytes, uint32_t len);
uint64_t ns_udp_closed_port_drops(ns_host *h);
/* The interface the datagram being delivered arrived on: valid only
 * inside the receive callback (DHCP servers and relays need it to tell
 * LANs apart, as IP_PKTINFO does on a real socket); NULL elsewhere. */
ns_iface *ns_udp_rx_iface(const ns_udp *s);

/* A sequence-diagram label for datagrams to or from `port` (destination
 * port looked up first), instead of "UDP 68>67 len=300"; payload bytes
 * are read from p.  One describer per port and sim; NULL removes it. */
typedef void (*ns_udp_describe_fn)(ns_host *sender, const ns_pkt *p,
                                   char *buf, size_t len);
void ns_udp_set_describer(ns_sim *sim, uint16_t port, ns_udp_describe_fn fn);

#endif
