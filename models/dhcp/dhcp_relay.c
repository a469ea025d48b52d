/* dhcp_relay.c — a BOOTP/DHCP relay agent (RFC 1542 section 4, RFC 2131
 * 4.1) on a router: client requests heard on an interface go to the
 * server with giaddr set to that interface's address (not those heard on
 * the server's own subnet, which it hears itself); the server's
 * replies come back to giaddr and go out of that interface: unicast to
 * ciaddr, or to chaddr / yiaddr, or broadcast when the client set the
 * BROADCAST flag (RFC 2131 4.1).
 *
 * Invariant: a relay never changes a message except giaddr and hops. */
#include <string.h>

#include "dhcp_priv.h"

#define RELAY_KEY "dhcp.relay"
#define MAX_HOPS 16               /* RFC 1542 4.1.1: discard beyond */

struct ns_dhcp_relay {
    ns_host  *host;
    ns_udp   *sock;
    uint32_t  server;
    uint64_t  forwarded;
};

/* Whether the server sits on in's own subnet: it hears that LAN's
 * broadcasts itself, and relaying them too would make it answer every
 * request there twice. */
static bool server_on(const ns_dhcp_relay *r, ns_iface *in)
{
    int prefix = ns_iface_prefix(in);
    uint32_t mask = prefix > 0 ? ns__dhcp_prefix_mask(prefix) : 0;
    return prefix > 0 && (ns_iface_addr(in) & mask) == (r->server & mask);
}

static void on_receive(ns_udp *sock, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)src; (void)sport;
    ns_dhcp_relay *r = ud;
    struct ns_dhcp_msg m;
    if (!ns__dhcp_recv(p, &m))
        return;
    uint8_t buf[NS_DHCP_MSG_MAX];
    uint32_t len = p->payload_len < sizeof buf ? p->payload_len : (uint32_t)sizeof buf;
    ns_pkt_copy_payload(p, 0, len, buf);
    if (m.op == NS_DHCP_BOOTREQUEST) {
        ns_iface *in = ns_udp_rx_iface(sock);
        if (!in || !ns_iface_addr(in) || m.hops >= MAX_HOPS || server_on(r, in))
            return;
        buf[3] = (uint8_t)(m.hops + 1);
        if (m.giaddr == 0)
            ns_put32(buf + 24, ns_iface_addr(in));
        r->forwarded++;
        ns_udp_send(r->sock, r->server, NS_DHCP_SERVER_PORT, buf, len);
        return;
    }
    /* a BOOTREPLY: out of the interface giaddr names */
    for (size_t i = 0; i < ns_host_n_ifaces(r->host); i++) {
        ns_iface *ifc = ns_host_iface(r->host, i);
        if (ns_iface_addr(ifc) == m.giaddr) {
            r->forwarded++;
            if (m.ciaddr && m.type != NS_DHCP_NAK)
                ns_udp_send(r->sock, m.ciaddr, NS_DHCP_CLIENT_PORT, buf, len);
            else if (ns__dhcp_reply_unicast(&m))
                ns__dhcp_send_raw_unicast(r->sock, ifc, buf, len, m.yiaddr, m.chaddr);
            else
                ns_udp_send_iface(r->sock, ifc, NS_IP_BROADCAST, NS_DHCP_CLIENT_PORT, buf, len);
            return;
        }
    }
}

ns_dhcp_relay *ns_dhcp_relay_new(ns_host *h, uint32_t server, GError **error)
{
    if (server == 0 || server == NS_IP_BROADCAST) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "DHCP relay '%s': server address must be a unicast address",
                    ns_host_name(h));
        return NULL;
    }
    ns_udp *sock = ns_udp_bind(h, NS_DHCP_SERVER_PORT, error);
    if (!sock)
        return NULL;
    ns__dhcp_sim(ns_host_sim(h));
    ns_dhcp_relay *r = g_new0(ns_dhcp_relay, 1);
    r->host = h;
    r->sock = sock;
    r->server = server;
    ns_host_attach(h, RELAY_KEY, r, g_free);
    ns_udp_on_receive(sock, on_receive, r);
    return r;
}

uint64_t ns_dhcp_relay_forwarded(const ns_dhcp_relay *r) { return r->forwarded; }
