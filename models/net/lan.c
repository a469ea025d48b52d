/* lan.c — a LAN segment: one store-and-forward learning switch with a port
 * per attached interface.
 *
 * A port has two directions, each a queue feeding a transmitter at the
 * port rate followed by the port delay: the host's uplink (host -> switch)
 * and the downlink (switch -> host).  A frame is forwarded only once the
 * switch has received all of it, so crossing the LAN costs two
 * serialisations and two delays.  The switch learns, from every frame it
 * receives, that the frame's source MAC sits behind the ingress port
 * (IEEE 802.1D backward learning, without ageing: a MAC that moves is
 * relearned by its next frame); it
 * sends a unicast frame to the learned port, floods it to every other
 * port while unknown, and copies a broadcast to every other port.
 *
 * The directions' queues, transmitters, cables and event batching are in
 * lan_port.c, the MAC table in lan_fdb.c.
 *
 * Invariants: a frame is never sent back out of the port it came in on,
 * nor across a partition; an interface hands its host only frames
 * addressed to its MAC or to the broadcast MAC.
 */
#include <math.h>
#include <stdio.h>

#include "lan_priv.h"

static const struct ns_iface_ops lan_iface_ops;

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

void ns_lan_opts_defaults(struct ns_lan_opts *o)
{
    *o = (struct ns_lan_opts){ 0 };
    o->rate_bps = 1e9;
    o->queue = "droptail";
    ns_queue_cfg_defaults(&o->qcfg);
    o->prefix = 24;
    o->arp = true;
}

/* ---- the switch ---- */

/* A frame fully received from port `in`: learn, then forward, flood or
 * filter. */
void ns__lan_switch_receive(struct lan_port *in, ns_pkt *p)
{
    ns_lan *lan = in->lan;
    ns_sim *sim = lan->net->sim;
    uint64_t src = ns__if_mac_key(lan->net, p->eth_src_if);
    if (ns__lan_fdb_get(&lan->fdb, src) != in)
        ns__lan_fdb_put(&lan->fdb, src, in);
    if (p->eth_dst_if != NS_IF_BROADCAST) {
        uint64_t dst = ns__if_mac_key(lan->net, p->eth_dst_if);
        struct lan_port *out = ns__lan_fdb_get(&lan->fdb, dst);
        if (out) {
            if (out == in)
                ns_pkt_free(sim, p);    /* 802.1D: never back where it came from */
            else if (out->side != in->side)
                ns__lan_dir_drop(&in->up, p, NS_DROP_LINK_DOWN);   /* across the partition */
            else
                ns__lan_dir_send(&out->down, p);
            return;
        }
    }
    /* Broadcast, or unicast to a MAC not learned yet: every other port,
     * in attachment order, the original going to the last. */
    struct lan_port *last = NULL;
    ns__lan_gather_begin(lan);
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (o == in || o->side != in->side)
            continue;
        if (last)
            ns__lan_dir_send(&last->down, ns_pkt_clone(sim, p));
        last = o;
    }
    if (last)
        ns__lan_dir_send(&last->down, p);
    else
        ns_pkt_free(sim, p);
    ns__lan_gather_end(lan);
}

/* ---- interface ops ---- */

void ns__lan_send(ns_iface *ifc, ns_pkt *p)
{
    struct lan_port *port = ifc->medium;
    p->eth_src_if = ifc->gid;
    ns__lan_dir_send(&port->up, p);
}

bool ns__lan_send_to_mac(ns_iface *ifc, ns_pkt *p, const uint8_t mac[6])
{
    ns_lan *lan = ((struct lan_port *)ifc->medium)->lan;
    /* A linear search: used once per DHCP reply, not per frame. */
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (memcmp(o->ifc->mac, mac, 6) == 0) {
            p->eth_dst_if = o->ifc->gid;
            ns__lan_send(ifc, p);
            return true;
        }
    }
    ns__net_drop(lan->net->sim, ifc->host, ifc->host->name, p, NS_DROP_NO_ARP);
    return false;
}

static bool is_ip_broadcast(const ns_iface *ifc, const ns_pkt *p, uint32_t next_hop)
{
    if (next_hop == NS_IP_BROADCAST || (p->flags & NS_PKT_BROADCAST))
        return true;
    return ns__iface_is_subnet_bcast(ifc, next_hop);
}

/* The first port, in attachment order, whose interface has addr (not 0),
 * or NULL.  From a map rebuilt after any address change or attachment:
 * addresses change at any time (DHCP), but a campus LAN of 200 hosts
 * scanned per unicast frame showed in profiles. */
static struct lan_port *port_by_addr(ns_lan *lan, uint32_t addr)
{
    if (!lan->by_addr_built || lan->by_addr_gen != lan->net->addr_gen ||
        lan->by_addr_ports != lan->ports->len) {
        ns_u32map_reset(&lan->by_addr);
        for (guint i = 0; i < lan->ports->len; i++) {
            struct lan_port *o = g_ptr_array_index(lan->ports, i);
            if (o->ifc->addr && !ns_u32map_get(&lan->by_addr, o->ifc->addr))
                ns_u32map_put(&lan->by_addr, o->ifc->addr, o);
        }
        lan->by_addr_built = true;
        lan->by_addr_gen = lan->net->addr_gen;
        lan->by_addr_ports = lan->ports->len;
    }
    return addr ? ns_u32map_get(&lan->by_addr, addr) : NULL;
}

static void lan_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop)
{
    struct lan_port *port = ifc->medium;
    ns_lan *lan = port->lan;
    if (is_ip_broadcast(ifc, p, next_hop)) {
        /* RFC 919 / RFC 922: IP broadcasts go to the link broadcast. */
        p->flags |= NS_PKT_BROADCAST;
        p->eth_dst_if = NS_IF_BROADCAST;
        ns__lan_send(ifc, p);
        return;
    }
    if (lan->arp) {
        ns__arp_output(ifc, p, next_hop);
        return;
    }
    /* Without ARP every neighbour is known. */
    struct lan_port *o = port_by_addr(lan, next_hop);
    if (o) {
        p->eth_dst_if = o->ifc->gid;
        ns__lan_send(ifc, p);
        return;
    }
    ns__net_drop(lan->net->sim, ifc->host, ifc->host->name, p, NS_DROP_NO_ARP);
}

/* A port is up unless ns_lan_port_set_up took it down. */
static bool lan_iface_up(const ns_iface *ifc)
{
    return !((const struct lan_port *)ifc->medium)->cut;
}

static const struct ns_iface_ops lan_iface_ops = {
    .output = lan_output,
    .is_up  = lan_iface_up,
};

bool ns__lan_is_port(const ns_iface *ifc)
{
    return ifc->ops == &lan_iface_ops;
}

int ns__lan_each_port(ns_iface *ifc, void (*fn)(void *ud, ns_iface *o), void *ud)
{
    if (!ns__lan_is_port(ifc))
        return -1;
    ns_lan *lan = ((struct lan_port *)ifc->medium)->lan;
    for (guint i = 0; i < lan->ports->len; i++)
        fn(ud, ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc);
    return (int)lan->index;
}

int ns__lan_index(const ns_iface *ifc)
{
    return ns__lan_is_port(ifc) ? (int)((struct lan_port *)ifc->medium)->lan->index : -1;
}

/* ---- construction ---- */

void ns__lan_free(ns_lan *lan)
{
    for (guint i = 0; i < lan->ports->len; i++)
        ns__lan_port_free(lan->net->sim, g_ptr_array_index(lan->ports, i));
    g_ptr_array_free(lan->ports, TRUE);
    ns__lan_batches_free(lan);
    ns__lan_fdb_clear(&lan->fdb);
    if (lan->loss)
        ns_loss_free(lan->loss);
    ns_u32map_free(&lan->by_addr);
    g_free(lan->queue);
    g_free(lan->name);
    g_free(lan);
}

ns_lan *ns_lan_find(ns_sim *sim, const char *name)
{
    struct ns_net *net = ns__net_peek(sim);
    for (guint i = 0; net && i < net->lans->len; i++) {
        ns_lan *lan = g_ptr_array_index(net->lans, i);
        if (strcmp(lan->name, name) == 0)
            return lan;
    }
    return NULL;
}

ns_lan *ns_lan_new(ns_sim *sim, const char *name, const struct ns_lan_opts *o,
                   GError **error)
{
    struct ns_lan_opts def;
    char a[NS_ADDR_STRLEN];
    if (!o) {
        ns_lan_opts_defaults(&def);
        o = &def;
    }
    if (!name || !*name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "a LAN needs a name");
        return NULL;
    }
    if (ns_lan_find(sim, name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS, "LAN '%s' already exists", name);
        return NULL;
    }
    if (!(o->rate_bps >= 1) || !isfinite(o->rate_bps) || o->rate_bps > 1e15) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': rate %g bit/s is not in [1 bit/s, 1 Pbit/s]", name, o->rate_bps);
        return NULL;
    }
    if (o->delay < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': delay must not be negative", name);
        return NULL;
    }
    if (!(o->loss >= 0 && o->loss <= 1)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': loss %g is outside [0, 1]", name, o->loss);
        return NULL;
    }
    /* /31 and /32 leave no room for a broadcast address and several hosts. */
    if (o->prefix < 1 || o->prefix > 30) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': prefix /%d is outside [1, 30]", name, o->prefix);
        return NULL;
    }
    if (!o->subnet && o->prefix != 24) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': prefix /%d needs a given subnet (automatic ones are /24)",
                    name, o->prefix);
        return NULL;
    }
    if (o->subnet && (o->subnet & ~mask_of(o->prefix))) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': subnet %s has bits set beyond /%d", name,
                    ns_addr_format(o->subnet, a), o->prefix);
        return NULL;
    }
    /* Try the discipline once now so a bad name or configuration is
     * reported against the LAN, not at the first attachment. */
    const char *queue = o->queue ? o->queue : "droptail";
    struct ns_queue_cfg qc = o->qcfg;
    qc.rate_bps = o->rate_bps;
    ns_queue *trial = ns_queue_new(sim, queue, &qc, NULL, NULL, error);
    if (!trial) {
        g_prefix_error(error, "LAN '%s': ", name);
        return NULL;
    }
    ns_queue_free(trial);

    struct ns_net *net = ns__net_get(sim);
    ns_lan *lan = g_new0(ns_lan, 1);
    lan->net = net;
    lan->name = g_strdup(name);
    lan->rate_bps = o->rate_bps;
    lan->rate_int = (uint64_t)llround(o->rate_bps);
    lan->delay = o->delay;
    lan->queue = g_strdup(queue);
    lan->qcfg = qc;
    if (o->subnet) {
        lan->subnet = o->subnet;
        lan->prefix = o->prefix;
    } else {
        lan->subnet = ns__net_alloc_subnet(net);
        lan->prefix = 24;
    }
    lan->arp = o->arp;
    lan->loss = o->loss > 0 ? ns_loss_bernoulli(o->loss, NULL) : NULL;
    lan->ports = g_ptr_array_new();
    lan->batches = g_ptr_array_new();
    lan->spare = g_ptr_array_new();
    lan->index = net->lans->len;
    g_ptr_array_add(net->lans, lan);
    if (lan->arp)
        ns__arp_enable(net);
    return lan;
}

static struct lan_port *port_with_addr(const ns_lan *lan, uint32_t addr)
{
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (o->ifc->addr == addr)
            return o;
    }
    return NULL;
}

/* The lowest address of the subnet above its network address and below
 * bcast that no port has, or 0 when none is left.  n ports hold at most
 * n addresses, so it is among the first n + 1: a flag for each of those
 * is all it takes (a hash set of every address in use, built for every
 * attachment, cost 0.18 G instructions to attach locks_contention's
 * 1,006 hosts). */
static uint32_t lowest_free_addr(const ns_lan *lan, uint32_t bcast)
{
    guint n = lan->ports->len;
    uint64_t first = (uint64_t)lan->subnet + 1;
    uint8_t *taken = g_malloc0(n + 1);
    for (guint i = 0; i < n; i++) {
        uint32_t in_use = ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc->addr;
        if (in_use >= first && in_use - first <= n)
            taken[in_use - first] = 1;
    }
    uint32_t found = 0;
    for (guint i = 0; i <= n && first + i < bcast; i++)
        if (!taken[i]) {
            found = (uint32_t)(first + i);
            break;
        }
    g_free(taken);
    return found;
}

/* Checks a given address, or picks the lowest free one (.1, .2, ...). */
static bool choose_addr(ns_lan *lan, uint32_t *addr, GError **error)
{
    char a[NS_ADDR_STRLEN], s[NS_ADDR_STRLEN];
    uint32_t mask = mask_of(lan->prefix);
    uint32_t bcast = lan->subnet | ~mask;
    if (*addr == 0) {
        /* Not a question to every port for every candidate: that made
         * attaching n hosts cost n^3 (1,006 hosts: 0.3 s). */
        uint32_t x = lowest_free_addr(lan, bcast);
        if (x) {
            *addr = x;
            return true;
        }
        g_set_error(error, NS_ERROR, NS_ERROR_STATE, "LAN '%s': no free address in %s/%d",
                    lan->name, ns_addr_format(lan->subnet, s), lan->prefix);
        return false;
    }
    if ((*addr & mask) != lan->subnet) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "LAN '%s': address %s is outside %s/%d",
                    lan->name, ns_addr_format(*addr, a), ns_addr_format(lan->subnet, s),
                    lan->prefix);
        return false;
    }
    if (*addr == lan->subnet || *addr == bcast) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': address %s is the %s address of %s/%d", lan->name,
                    ns_addr_format(*addr, a), *addr == bcast ? "broadcast" : "network",
                    ns_addr_format(lan->subnet, s), lan->prefix);
        return false;
    }
    struct lan_port *o = port_with_addr(lan, *addr);
    if (o) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "LAN '%s': address %s is already used by host '%s'", lan->name,
                    ns_addr_format(*addr, a), o->ifc->host->name);
        return false;
    }
    return true;
}

ns_iface *ns_lan_attach(ns_lan *lan, ns_host *h, uint32_t addr, GError **error)
{
    g_return_val_if_fail(lan && h && h->net == lan->net, NULL);
    ns_sim *sim = lan->net->sim;
    if (addr != NS_LAN_NO_ADDR && !choose_addr(lan, &addr, error))
        return NULL;
    struct lan_port *port = g_new0(struct lan_port, 1);
    port->lan = lan;
    g_snprintf(port->name, sizeof port->name, "%s:%s", lan->name, h->name);
    ns__lan_dir_init(&port->up, port, true);
    ns__lan_dir_init(&port->down, port, false);
    /* Queue streams named by LAN, host and direction, not creation order. */
    struct ns_queue_cfg qc = lan->qcfg;
    char *up_name = g_strdup_printf("lan.%s.%s.up", lan->name, ns_host_name(h));
    char *down_name = g_strdup_printf("lan.%s.%s.down", lan->name, ns_host_name(h));
    qc.stream = up_name;
    port->up.q = ns_queue_new(sim, lan->queue, &qc, ns__lan_dir_drop, &port->up, error);
    qc.stream = down_name;
    port->down.q = port->up.q
        ? ns_queue_new(sim, lan->queue, &qc, ns__lan_dir_drop, &port->down, error) : NULL;
    if (lan->loss) {               /* streams named like the queues' */
        char *ln = g_strconcat(up_name, ".loss", NULL);
        port->up.loss_rng = ns_sim_rng(sim, ln);
        g_free(ln);
        ln = g_strconcat(down_name, ".loss", NULL);
        port->down.loss_rng = ns_sim_rng(sim, ln);
        g_free(ln);
    }
    g_free(up_name);
    g_free(down_name);
    if (!port->down.q) {
        g_prefix_error(error, "LAN '%s': ", lan->name);
        ns__lan_port_free(sim, port);
        return NULL;
    }
    ns_iface *ifc = ns__iface_new(h, &lan_iface_ops, port);
    if (!ifc) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': the simulation has %u interfaces, the most it can have",
                    lan->name, NS_IF_MAX);
        ns__lan_port_free(sim, port);
        return NULL;
    }
    port->ifc = ifc;
    if (addr != NS_LAN_NO_ADDR && !ns_iface_set_addr(ifc, addr, lan->prefix, error)) {
        /* The host refused it (its other subnets overlap): take the
         * interface back off the host, where nothing has seen it yet. */
        g_prefix_error(error, "LAN '%s': ", lan->name);
        g_ptr_array_remove_index(h->ifaces, h->ifaces->len - 1);
        g_ptr_array_remove_index(lan->net->ifaces, lan->net->ifaces->len - 1);
        lan->net->mac_gen++;
        g_free(ifc);
        ns__lan_port_free(sim, port);
        return NULL;
    }
    g_ptr_array_add(lan->ports, port);
    lan->net->routes_valid = false;
    return ifc;
}

/* ---- accessors ---- */

const char *ns_lan_name(const ns_lan *lan) { return lan->name; }
uint32_t ns_lan_subnet(const ns_lan *lan) { return lan->subnet; }
int ns_lan_prefix(const ns_lan *lan) { return lan->prefix; }
size_t ns_lan_n_ports(const ns_lan *lan) { return lan->ports->len; }

ns_iface *ns_lan_port_iface(const ns_lan *lan, size_t i)
{
    return i < lan->ports->len ? ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc : NULL;
}

size_t ns_lan_count(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    return net ? net->lans->len : 0;
}

ns_lan *ns_lan_nth(ns_sim *sim, size_t i)
{
    struct ns_net *net = ns__net_peek(sim);
    return net && i < net->lans->len ? g_ptr_array_index(net->lans, i) : NULL;
}

const struct ns_lan_port_stats *ns_lan_port_stats(const ns_lan *lan, const ns_iface *ifc)
{
    if (!ns__lan_is_port(ifc))
        return NULL;
    const struct lan_port *port = ifc->medium;
    return port->lan == lan ? &port->stats : NULL;
}

bool ns_lan_port_set_side(ns_lan *lan, ns_iface *ifc, int side)
{
    if (!ns__lan_is_port(ifc) || ((struct lan_port *)ifc->medium)->lan != lan)
        return false;
    struct lan_port *port = ifc->medium;
    if (port->side == side)
        return true;
    port->side = side;
    ns_sim *sim = lan->net->sim;
    if (ns_trace_on(sim, "lan.port", port->name))
        ns_trace_event(sim, "lan.port", port->name, "side=%d", side);
    return true;
}

bool ns_lan_port_set_up(ns_lan *lan, ns_iface *ifc, bool up)
{
    if (!ns__lan_is_port(ifc) || ((struct lan_port *)ifc->medium)->lan != lan)
        return false;
    struct lan_port *port = ifc->medium;
    if (port->cut == !up)
        return true;
    port->cut = !up;
    ns_sim *sim = lan->net->sim;
    if (ns_trace_on(sim, "lan.port", port->name))
        ns_trace_event(sim, "lan.port", port->name, "state=%s", up ? "up" : "down");
    return true;
}
