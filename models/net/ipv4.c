/* ipv4.c — IPv4 (RFC 791) output, input and forwarding.
 *
 * Invariant: every IPv4 header in the model is valid on the wire: version
 * 4, IHL 5, total length, identification, DF set, TTL, protocol and
 * addresses.  The header checksum, like the transport checksums, is left
 * zero inside the model (nothing corrupts bytes) and computed where bytes
 * leave it: pcap captures and ICMP quotes (ns__ip_checksum). */
#include <stdio.h>

#include "lan_priv.h"
#include "netsim/icmp.h"

static void fill_header(ns_host *h, ns_pkt *p, uint32_t src, uint32_t dst,
                        uint8_t proto, uint8_t tos)
{
    uint8_t *ip = ns_pkt_ip(p);
    p->ethertype = NS_ETHERTYPE_IPV4;
    ip[0] = 0x45;
    ip[1] = tos;
    ns_put16(ip + 2, (uint16_t)ns_ip_len(p));
    ns_put16(ip + 4, h->ip_id++);
    ns_put16(ip + 6, 0x4000);                   /* DF: we never fragment */
    ip[8] = NS_IP_DEFAULT_TTL;
    ip[9] = proto;
    ns_put16(ip + 10, 0);         /* computed where bytes leave (pcap, quotes) */
    ns_put32(ip + 12, src);
    ns_put32(ip + 16, dst);
}

/* The diagram hooks, called only when a diagram is open (sent) or a
 * drawn packet is pending (delivered): their own first tests, made here
 * so that a datagram pays no call when nothing is drawn. */
static inline void diagram_sent(ns_host *h, const ns_pkt *p)
{
    if (h->net->diagrams)
        ns__diagram_sent(h, p);
}

static inline void diagram_delivered(ns_host *h, const ns_pkt *p)
{
    if (h->net->diagram_msgs)
        ns__diagram_delivered(h, p);
}

static void transmit(ns_iface *out, ns_pkt *p, uint32_t next_hop)
{
    out->ops->output(out, p, next_hop);
}

bool ns_ip_output(ns_host *h, ns_pkt *p, uint32_t src, uint32_t dst,
                  uint8_t proto, uint8_t tos)
{
    if (!h->up) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_HOST_DOWN);
        return false;
    }
    ns_iface *out = NULL;
    uint32_t next_hop = 0;
    bool routed = ns_route_lookup(h, dst, &out, &next_hop);
    if (routed && !src)
        src = out->addr;
    fill_header(h, p, src ? src : ns_host_addr(h), dst, proto, tos);
    h->stats.tx_pkts++;
    diagram_sent(h, p);
    /* A directed broadcast to a connected subnet goes out on it (RFC 919). */
    bool subnet_bcast = routed && ns__iface_is_subnet_bcast(out, dst);
    if (subnet_bcast)
        p->flags |= NS_PKT_BROADCAST;
    if (ns_host_has_addr(h, dst) && dst != NS_IP_BROADCAST && !subnet_bcast) {
        ns__ip_input(h, out ? out : ns_host_iface(h, 0), p);   /* loopback */
        return true;
    }
    if (!routed) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_ROUTE);
        return false;
    }
    transmit(out, p, next_hop);
    return true;
}

bool ns_ip_output_iface(ns_iface *ifc, ns_pkt *p, uint32_t src, uint32_t dst,
                        uint8_t proto, uint8_t tos)
{
    ns_host *h = ifc->host;
    if (!h->up) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_HOST_DOWN);
        return false;
    }
    fill_header(h, p, src, dst, proto, tos);
    if (dst == NS_IP_BROADCAST || dst == ns_iface_broadcast(ifc))
        p->flags |= NS_PKT_BROADCAST;
    h->stats.tx_pkts++;
    diagram_sent(h, p);
    transmit(ifc, p, dst);
    return true;
}

bool ns_ip_output_iface_mac(ns_iface *ifc, ns_pkt *p, uint32_t src, uint32_t dst,
                            uint8_t proto, uint8_t tos, const uint8_t mac[6])
{
    ns_host *h = ifc->host;
    if (!h->up) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_HOST_DOWN);
        return false;
    }
    fill_header(h, p, src, dst, proto, tos);
    h->stats.tx_pkts++;
    diagram_sent(h, p);
    if (ns__lan_is_port(ifc))
        return ns__lan_send_to_mac(ifc, p, mac);
    transmit(ifc, p, dst);        /* a point-to-point link has one peer */
    return true;
}

static void deliver(ns_host *h, ns_iface *in, ns_pkt *p)
{
    const struct ns_proto_ops *ops = h->net->protos[ns_ip_proto(p)];
    h->stats.rx_pkts++;
    diagram_delivered(h, p);
    if (!ops) {
        /* RFC 1122 3.2.2.1: protocol unreachable. */
        ns_icmp_error(h, p, NS_ICMP_UNREACH, 2);
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_PORT);
        return;
    }
    ops->input(h, in, p);
}

static void forward(ns_host *h, ns_pkt *p)
{
    uint8_t *ip = ns_pkt_ip(p);
    if (ip[8] <= 1) {
        ns_icmp_error(h, p, NS_ICMP_TIME_EXCEEDED, 0);
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_TTL);
        return;
    }
    ns_iface *out;
    uint32_t next_hop;
    if (!ns_route_lookup(h, ns_ip_dst(p), &out, &next_hop)) {
        ns_icmp_error(h, p, NS_ICMP_UNREACH, NS_ICMP_UNREACH_NET);
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_ROUTE);
        return;
    }
    ip[8]--;                      /* the checksum is computed where shown */
    h->stats.fwd_pkts++;
    transmit(out, p, next_hop);
}

void ns__ip_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    uint32_t dst = ns_ip_dst(p);
    if (ns_host_has_addr(h, dst) || (p->flags & NS_PKT_BROADCAST) ||
        (in && in->addr == 0 && in->accept_unconfigured)) {
        deliver(h, in, p);
        return;
    }
    if (!h->forwarding) {
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_ROUTE);
        return;
    }
    forward(h, p);
}
