/* net.c — the network layer's registry: hosts, links and LANs of a sim,
 * protocol numbers, observers, address allocation, and the drop path every
 * component uses.
 *
 * Invariant: everything the network layer owns is reachable from the one
 * struct ns_net attached to the sim, and freed with it, hosts last. */
#include <stdio.h>
#include <string.h>

#include "net_priv.h"
#include "netsim/event.h"

#define NET_KEY "net"

void ns__lan_free(ns_lan *lan);
void ns__link_free(ns_link *l);
void ns__host_free(ns_host *h);
void ns__counters_register(struct ns_net *net);

static void net_free(gpointer p)
{
    struct ns_net *net = p;
    for (guint i = 0; i < net->links->len; i++)
        ns__link_free(g_ptr_array_index(net->links, i));
    for (guint i = 0; i < net->lans->len; i++)
        ns__lan_free(g_ptr_array_index(net->lans, i));
    for (guint i = net->hosts->len; i-- > 0;)
        ns__host_free(g_ptr_array_index(net->hosts, i));
    g_ptr_array_free(net->links, TRUE);
    g_ptr_array_free(net->lans, TRUE);
    g_ptr_array_free(net->ifaces, TRUE);
    g_ptr_array_free(net->hosts, TRUE);
    g_hash_table_destroy(net->host_by_name);
    g_array_free(net->fault_obs, TRUE);
    g_array_free(net->addr_obs, TRUE);
    g_array_free(net->addr_log, TRUE);
    g_ptr_array_free(net->leaf_tables, TRUE);
    if (net->diagram_msgs)
        g_hash_table_destroy(net->diagram_msgs);
    if (net->diagrams)
        g_ptr_array_free(net->diagrams, TRUE);
    if (net->owner)
        g_hash_table_destroy(net->owner);
    g_free(net);
}

struct ns_net *ns__net_peek(ns_sim *sim)
{
    return ns_sim_attached(sim, NET_KEY);
}

struct ns_net *ns__net_get(ns_sim *sim)
{
    struct ns_net *net = ns_sim_attached(sim, NET_KEY);
    if (net)
        return net;
    net = g_new0(struct ns_net, 1);
    net->sim = sim;
    net->hosts = g_ptr_array_new();
    net->host_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    net->links = g_ptr_array_new();
    net->lans = g_ptr_array_new();
    net->ifaces = g_ptr_array_new();
    net->fault_obs = g_array_new(FALSE, FALSE, sizeof(struct observer));
    net->addr_obs = g_array_new(FALSE, FALSE, sizeof(struct observer));
    net->addr_log = g_array_new(FALSE, FALSE, sizeof(struct addr_change));
    net->leaf_tables = g_ptr_array_new();
    net->next_subnet = 1;
    ns_sim_attach(sim, NET_KEY, net, net_free);
    ns_net_register_proto(sim, &ns__icmp_proto, NULL);
    ns_net_register_proto(sim, &ns__udp_proto, NULL);
    ns__counters_register(net);
    return net;
}

uint32_t ns__net_alloc_subnet(struct ns_net *net)
{
    uint32_t n = net->next_subnet++;
    return (10u << 24) | ((n >> 8 & 255) << 16) | ((n & 255) << 8);
}

bool ns_net_register_proto(ns_sim *sim, const struct ns_proto_ops *ops, GError **error)
{
    struct ns_net *net = ns__net_get(sim);
    if (!ops || !ops->input || !ops->name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "protocol table '%s' has no input hook",
                    ops && ops->name ? ops->name : "?");
        return false;
    }
    if (net->protos[ops->proto]) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "IP protocol %u is already registered by '%s'",
                    ops->proto, net->protos[ops->proto]->name);
        return false;
    }
    net->protos[ops->proto] = ops;
    return true;
}

const struct ns_proto_ops *ns_net_proto(ns_sim *sim, uint8_t proto)
{
    return ns__net_get(sim)->protos[proto];
}

void ns_net_on_fault(ns_sim *sim, ns_fault_fn fn, void *ud)
{
    struct observer o = { (void (*)(void))fn, ud };
    g_array_append_val(ns__net_get(sim)->fault_obs, o);
}

void ns_net_on_addr_change(ns_sim *sim, ns_addr_fn fn, void *ud)
{
    struct observer o = { (void (*)(void))fn, ud };
    g_array_append_val(ns__net_get(sim)->addr_obs, o);
}

#define NS_X_NAME(name, str) [name] = str,
static const char *const fault_names[] = { NS_HOST_FAULTS(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_host_fault_name(enum ns_host_fault f)
{
    return (size_t)f < G_N_ELEMENTS(fault_names) ? fault_names[f] : "?";
}

void ns__net_drop(ns_sim *sim, ns_host *h, const char *where, ns_pkt *p,
                  enum ns_drop_cause cause)
{
    /* From the host when there is one: a closed-port drop is the fate of
     * every copy of a broadcast to a port most hosts leave closed. */
    struct ns_net *net = h ? h->net : ns__net_peek(sim);
    if (h)
        h->stats.drops[cause]++;
    if (ns_trace_on(sim, "net.drop", where)) {
        char s[NS_ADDR_STRLEN], d[NS_ADDR_STRLEN];
        if (p->ethertype == NS_ETHERTYPE_IPV4)
            ns_trace_event(sim, "net.drop", where, "uid=%u cause=%s src=%s dst=%s proto=%u len=%u",
                           (unsigned)p->uid, ns_drop_cause_name(cause),
                           ns_addr_format(ns_ip_src(p), s), ns_addr_format(ns_ip_dst(p), d),
                           ns_ip_proto(p), ns_ip_len(p));
        else
            ns_trace_event(sim, "net.drop", where, "uid=%u cause=%s ethertype=0x%04x",
                           (unsigned)p->uid, ns_drop_cause_name(cause), p->ethertype);
    }
    if (net && net->diagrams)
        ns__diagram_dropped(net, p, cause);
    ns_pkt_free(sim, p);
}

static const uint8_t broadcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

const uint8_t *ns__if_mac(const struct ns_net *net, uint16_t gid)
{
    if (gid >= net->ifaces->len)
        return broadcast_mac;
    return ((const ns_iface *)g_ptr_array_index(net->ifaces, gid))->mac;
}

/* Linear: arp.c remembers its answers per cache entry (net->mac_gen). */
uint16_t ns__mac_to_if(const struct ns_net *net, const uint8_t mac[6])
{
    if (memcmp(mac, broadcast_mac, 6) == 0)
        return NS_IF_BROADCAST;
    for (guint i = 0; i < net->ifaces->len; i++)
        if (memcmp(((const ns_iface *)g_ptr_array_index(net->ifaces, i))->mac, mac, 6) == 0)
            return (uint16_t)i;
    return NS_IF_MAX;
}
