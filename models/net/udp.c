/* udp.c — UDP (RFC 768): sockets bound to ports of a host.
 *
 * Invariant: one socket per (host, port); a datagram for a port nobody
 * bound is counted, traced, and answered with ICMP port unreachable. */
#include <stdio.h>

#include "net_priv.h"
#include "netsim/icmp.h"
#include "netsim/u32map.h"
#include "netsim/udp.h"

#define UDP_KEY "udp"
#define UDP_HLEN 8
#define EPHEMERAL_FIRST 49152

struct udp_host {
    ns_u32map   ports;            /* port -> ns_udp*, owned: looked up per
                                   * datagram, so not GLib's table with its
                                   * hash and equality called by pointer */
    uint16_t    next_ephemeral;
    uint64_t    closed_port_drops;
    uint64_t    closes;           /* sockets closed so far: a receive
                                   * callback that closed none left its
                                   * socket alive */
};

struct ns_udp {
    ns_host        *host;
    uint16_t        port;
    ns_udp_recv_fn  fn;
    void           *ud;
    ns_iface       *rx_ifc;       /* set only during the receive callback */
};

#define DESCRIBERS_KEY "udp.describers"

/* Port -> describer, per sim; only diagrams read it. */
struct describer { ns_udp_describe_fn fn; };

static void free_socket(uint32_t port, void *s, void *ud)
{
    (void)port; (void)ud;
    g_free(s);
}

static void udp_host_free(gpointer p)
{
    struct udp_host *uh = p;
    ns_u32map_each(&uh->ports, free_socket, NULL);
    ns_u32map_free(&uh->ports);
    g_free(uh);
}

static struct udp_host *udp_host(ns_host *h)
{
    struct udp_host *uh = h->udp;
    if (!uh) {
        uh = g_new0(struct udp_host, 1);
        uh->next_ephemeral = EPHEMERAL_FIRST;
        ns_host_attach(h, UDP_KEY, uh, udp_host_free);
        h->udp = uh;
    }
    return uh;
}

ns_udp *ns_udp_bind(ns_host *h, uint16_t port, GError **error)
{
    struct udp_host *uh = udp_host(h);
    if (port == 0) {
        for (int tries = 0; tries < 16384; tries++) {
            uint16_t p = uh->next_ephemeral;
            uh->next_ephemeral = p == 65535 ? EPHEMERAL_FIRST : p + 1;
            if (!ns_u32map_get(&uh->ports, p)) {
                port = p;
                break;
            }
        }
        if (port == 0) {
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "host '%s': no free ephemeral UDP port", h->name);
            return NULL;
        }
    } else if (ns_u32map_get(&uh->ports, port)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "host '%s': UDP port %u is already bound", h->name, port);
        return NULL;
    }
    ns_udp *s = g_new0(ns_udp, 1);
    s->host = h;
    s->port = port;
    ns_u32map_put(&uh->ports, port, s);
    return s;
}

void ns_udp_close(ns_udp *s)
{
    if (!s)
        return;
    ns__traffic_socket_closed(s);       /* they would send from freed memory */
    struct udp_host *uh = udp_host(s->host);
    uh->closes++;
    g_free(ns_u32map_take(&uh->ports, s->port));
}

void ns_udp_on_receive(ns_udp *s, ns_udp_recv_fn fn, void *ud)
{
    s->fn = fn;
    s->ud = ud;
}

uint16_t ns_udp_port(const ns_udp *s) { return s->port; }
ns_host *ns_udp_host(const ns_udp *s) { return s->host; }

uint64_t ns_udp_closed_port_drops(ns_host *h)
{
    return udp_host(h)->closed_port_drops;
}

static ns_pkt *build(ns_udp *s, uint16_t dport, const void *bytes, uint32_t len)
{
    ns_pkt *p = ns_pkt_new(s->host->sim);
    if (bytes)
        ns_pkt_set_bytes_in(s->host->sim, p, bytes, len);
    else
        p->payload_len = len;
    uint8_t *u = ns_pkt_l4(p);
    ns_put16(u, s->port);
    ns_put16(u + 2, dport);
    ns_put16(u + 4, (uint16_t)(UDP_HLEN + len));
    ns_put16(u + 6, 0);                 /* filled in where bytes leave (pcap) */
    p->l4_len = UDP_HLEN;
    return p;
}

bool ns_udp_send(ns_udp *s, uint32_t dst, uint16_t dport, const void *bytes, uint32_t len)
{
    g_return_val_if_fail(len <= 65507, false);
    ns_pkt *p = build(s, dport, bytes, len);
    if (dst == NS_IP_BROADCAST) {
        ns_iface *ifc = ns_host_iface(s->host, 0);
        if (!ifc) {
            ns__net_drop(s->host->sim, s->host, s->host->name, p, NS_DROP_NO_ROUTE);
            return false;
        }
        return ns_ip_output_iface(ifc, p, ifc->addr, dst, NS_IPPROTO_UDP, 0);
    }
    return ns_ip_output(s->host, p, 0, dst, NS_IPPROTO_UDP, 0);
}

bool ns_udp_send_iface(ns_udp *s, ns_iface *ifc, uint32_t dst, uint16_t dport,
                       const void *bytes, uint32_t len)
{
    g_return_val_if_fail(len <= 65507, false);
    ns_pkt *p = build(s, dport, bytes, len);
    return ns_ip_output_iface(ifc, p, ifc->addr, dst, NS_IPPROTO_UDP, 0);
}

bool ns_udp_send_iface_mac(ns_udp *s, ns_iface *ifc, uint32_t dst, const uint8_t mac[6],
                           uint16_t dport, const void *bytes, uint32_t len)
{
    g_return_val_if_fail(len <= 65507, false);
    ns_pkt *p = build(s, dport, bytes, len);
    return ns_ip_output_iface_mac(ifc, p, ifc->addr, dst, NS_IPPROTO_UDP, 0, mac);
}

static void udp_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    const uint8_t *u = ns_pkt_cl4(p);
    uint16_t dport = ns_get16(u + 2);
    struct udp_host *uh = udp_host(h);
    ns_udp *s = ns_u32map_get(&uh->ports, dport);
    if (!s) {
        uh->closed_port_drops++;
        if (!(p->flags & NS_PKT_BROADCAST))     /* RFC 1122: never for broadcasts */
            ns_icmp_error(h, p, NS_ICMP_UNREACH, NS_ICMP_UNREACH_PORT);
        ns__net_drop(h->sim, h, h->name, p, NS_DROP_NO_PORT);
        return;
    }
    if (s->fn) {
        uint64_t closes = uh->closes;
        s->rx_ifc = in;
        s->fn(s, p, ns_ip_src(p), ns_get16(u), s->ud);
        /* s may be closed by the callback: then look the port up again
         * (it may have been bound anew) */
        if (uh->closes != closes)
            s = ns_u32map_get(&uh->ports, dport);
        if (s)
            s->rx_ifc = NULL;
    }
    ns_pkt_free(h->sim, p);
}

ns_iface *ns_udp_rx_iface(const ns_udp *s) { return s->rx_ifc; }

void ns_udp_set_describer(ns_sim *sim, uint16_t port, ns_udp_describe_fn fn)
{
    GHashTable *t = ns_sim_attached(sim, DESCRIBERS_KEY);
    if (!t) {
        t = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        ns_sim_attach(sim, DESCRIBERS_KEY, t, (GDestroyNotify)g_hash_table_unref);
    }
    if (!fn) {
        g_hash_table_remove(t, GUINT_TO_POINTER(port));
        return;
    }
    struct describer *d = g_new(struct describer, 1);
    d->fn = fn;
    g_hash_table_replace(t, GUINT_TO_POINTER(port), d);
}

static void udp_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    const uint8_t *u = ns_pkt_cl4(p);
    GHashTable *t = ns_sim_attached(ns_host_sim(sender), DESCRIBERS_KEY);
    if (t) {
        struct describer *d = g_hash_table_lookup(t, GUINT_TO_POINTER(ns_get16(u + 2)));
        if (!d)
            d = g_hash_table_lookup(t, GUINT_TO_POINTER(ns_get16(u)));
        if (d) {
            d->fn(sender, p, buf, len);
            return;
        }
    }
    snprintf(buf, len, "UDP %u>%u len=%u", ns_get16(u), ns_get16(u + 2), p->payload_len);
}

const struct ns_proto_ops ns__udp_proto = {
    .name     = "udp",
    .proto    = NS_IPPROTO_UDP,
    .input    = udp_input,
    .describe = udp_describe,
};
