/* dhcp.c — what DHCP clients, servers and relays share: sending and
 * receiving messages over UDP, diagram labels, and the per-sim fault
 * observer (registered once, so no object needs unregistering). */
#include <string.h>

#include "dhcp_priv.h"

#define SIM_KEY "dhcp"

uint32_t ns__dhcp_prefix_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int ns__dhcp_mask_prefix(uint32_t mask)
{
    int n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return n;
}

static void describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    struct ns_dhcp_msg m;
    if (ns__dhcp_recv(p, &m))
        ns_dhcp_describe(&m, buf, len);
    else
        g_strlcpy(buf, "BOOTP (undecodable)", len);
}

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    (void)ud;
    ns_dhcp_client *c = ns_dhcp_client_of(h);
    if (c)
        ns__dhcp_client_fault(c, f);
    ns_dhcp_server *s = ns_dhcp_server_of(h);
    if (s)
        ns__dhcp_server_fault(s, f);
}

static void sim_free(gpointer p)
{
    struct ns__dhcp_sim *ds = p;
    g_ptr_array_free(ds->servers, TRUE);
    g_free(ds);
}

struct ns__dhcp_sim *ns__dhcp_sim(ns_sim *sim)
{
    struct ns__dhcp_sim *ds = ns_sim_attached(sim, SIM_KEY);
    if (!ds) {
        ds = g_new0(struct ns__dhcp_sim, 1);
        ds->servers = g_ptr_array_new();
        ns_sim_attach(sim, SIM_KEY, ds, sim_free);
        ns_net_on_fault(sim, on_fault, NULL);
        ns_udp_set_describer(sim, NS_DHCP_SERVER_PORT, describe);
        ns_udp_set_describer(sim, NS_DHCP_CLIENT_PORT, describe);
    }
    return ds;
}

bool ns__dhcp_send(ns_udp *sock, ns_iface *ifc, uint32_t dst, uint16_t port,
                   const struct ns_dhcp_msg *m)
{
    uint8_t buf[NS_DHCP_MSG_MAX];
    size_t len = ns_dhcp_encode(m, buf);
    if (dst == 0xffffffffu && ifc)
        return ns_udp_send_iface(sock, ifc, dst, port, buf, (uint32_t)len);
    return ns_udp_send(sock, dst, port, buf, (uint32_t)len);
}

bool ns__dhcp_recv(const ns_pkt *p, struct ns_dhcp_msg *m)
{
    uint8_t buf[NS_DHCP_MSG_MAX];
    uint32_t len = p->payload_len < sizeof buf ? p->payload_len : (uint32_t)sizeof buf;
    ns_pkt_copy_payload(p, 0, len, buf);
    return ns_dhcp_decode(buf, len, m, NULL);
}
