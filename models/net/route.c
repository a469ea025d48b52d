/* route.c — IPv4 routes: computed shortest paths, hand-set routes, lookup.
 *
 * Computed routes: for each host, a breadth-first search over the
 * topology (links, and LANs as one hop between any two attached hosts)
 * that passes only through forwarding hosts.  Each subnet is reached via
 * the nearest host on it; among equally near ones the one whose first hop
 * has the lowest address wins, so routes never depend on creation order
 * or hash order.  Each host's table is rebuilt lazily, at its first lookup
 * after the topology changed (a link up/down, a new host, an address).
 *
 * Lookup is longest-prefix match over the host's table.
 */
#include "net_priv.h"

/* One adjacency: leaving `from` by `out` reaches `to` at address `addr`. */
struct edge {
    ns_host  *to;
    ns_iface *out;
    uint32_t  addr;
};

GPtrArray *ns__lan_neighbours(ns_iface *ifc);   /* lan.c: ns_iface* on the LAN */

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* Calls fn for every neighbour of h through its up interfaces: the host,
 * the interface leaving h, and the neighbour's address on that subnet.
 * Found as needed (a host's search expands only itself and routers), so a
 * search costs one pass over the routers' interfaces and LAN ports. */
typedef void (*edge_fn)(void *ud, ns_host *to, ns_iface *out, uint32_t addr);

static void for_each_edge(ns_host *h, edge_fn fn, void *ud)
{
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (!ifc->addr || !ifc->ops->is_up(ifc))
            continue;
        if (ifc->peer) {
            if (ifc->peer->addr && ifc->peer->host->up)
                fn(ud, ifc->peer->host, ifc, ifc->peer->addr);
            continue;
        }
        GPtrArray *nb = ns__lan_neighbours(ifc);
        for (guint j = 0; nb && j < nb->len; j++) {
            ns_iface *o = g_ptr_array_index(nb, j);
            if (o->host != h && o->addr && o->host->up)
                fn(ud, o->host, ifc, o->addr);
        }
        if (nb)
            g_ptr_array_free(nb, TRUE);
    }
}

static void add_route(ns_host *h, uint32_t dst, uint32_t mask, uint32_t gw, ns_iface *out)
{
    struct route r = { dst, mask, gw, out, false };
    g_array_append_val(h->routes, r);
}

struct search {
    ns_host    *src;
    int        *dist;                    /* by host id, -1: not reached */
    struct edge *first;                  /* first hop to each host */
    GArray     *order;                   /* ns_host*, discovery order */
    ns_host    *u;                       /* the host being expanded */
};

static void relax(void *ud, ns_host *to, ns_iface *out, uint32_t addr)
{
    struct search *s = ud;
    uint32_t v = to->id;
    int du = s->dist[s->u->id];
    struct edge hop = s->u == s->src ? (struct edge){ to, out, addr } : s->first[s->u->id];
    if (s->dist[v] < 0) {
        s->dist[v] = du + 1;
        s->first[v] = hop;
        g_array_append_val(s->order, to);
    } else if (s->dist[v] == du + 1 && hop.addr < s->first[v].addr) {
        s->first[v] = hop;
    }
}

struct best {                            /* the way to one subnet */
    int      dist;
    struct edge hop;
};

static uint64_t subnet_key(uint32_t net, uint32_t mask)
{
    return (uint64_t)net << 32 | mask;
}

/* h's table: its connected subnets, then every other subnet it can reach,
 * through the nearest host on it; among equally near ones the lowest first
 * hop wins (so the table depends on neither creation nor hash order); and
 * /32s for the hosts the subnet route would not reach by their own
 * shortest path. */
static void compute_for(struct ns_net *net, ns_host *src)
{
    size_t n = net->hosts->len;
    struct search s = { src, g_new(int, n), g_new0(struct edge, n),
                        g_array_new(FALSE, FALSE, sizeof(ns_host *)), NULL };
    for (size_t i = 0; i < n; i++)
        s.dist[i] = -1;
    g_array_set_size(src->routes, 0);
    GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (guint i = 0; i < src->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(src->ifaces, i);
        if (!ifc->addr || !ifc->ops->is_up(ifc))
            continue;
        uint32_t m = mask_of(ifc->prefix);
        gint64 *k = g_new(gint64, 1);
        *k = (gint64)subnet_key(ifc->addr & m, m);
        if (!g_hash_table_contains(seen, k)) {
            add_route(src, ifc->addr & m, m, 0, ifc);
            g_hash_table_insert(seen, k, NULL);
        } else {
            g_free(k);
        }
    }
    s.dist[src->id] = 0;
    g_array_append_val(s.order, src);
    for (guint qi = 0; qi < s.order->len; qi++) {
        s.u = g_array_index(s.order, ns_host *, qi);
        if (s.u == src || s.u->forwarding)   /* only routers relay */
            for_each_edge(s.u, relax, &s);
    }
    /* The best way to each remote subnet; routes in discovery order. */
    GHashTable *best = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    GArray *keys = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint qi = 1; qi < s.order->len; qi++) {
        ns_host *v = g_array_index(s.order, ns_host *, qi);
        for (guint i = 0; i < v->ifaces->len; i++) {
            ns_iface *ifc = g_ptr_array_index(v->ifaces, i);
            if (!ifc->addr)
                continue;
            uint32_t m = mask_of(ifc->prefix);
            uint64_t key = subnet_key(ifc->addr & m, m);
            gint64 k = (gint64)key;
            if (g_hash_table_contains(seen, &k))
                continue;                     /* connected */
            struct best *b = g_hash_table_lookup(best, &k);
            if (!b) {
                gint64 *kk = g_new(gint64, 1);
                *kk = k;
                b = g_new(struct best, 1);
                b->dist = s.dist[v->id];
                b->hop = s.first[v->id];
                g_hash_table_insert(best, kk, b);
                g_array_append_val(keys, key);
            } else if (s.dist[v->id] < b->dist ||
                       (s.dist[v->id] == b->dist && s.first[v->id].addr < b->hop.addr)) {
                b->dist = s.dist[v->id];
                b->hop = s.first[v->id];
            }
        }
    }
    for (guint i = 0; i < keys->len; i++) {
        uint64_t key = g_array_index(keys, uint64_t, i);
        gint64 k = (gint64)key;
        struct best *b = g_hash_table_lookup(best, &k);
        add_route(src, (uint32_t)(key >> 32), (uint32_t)key, b->hop.addr, b->hop.out);
    }
    /* A host whose shortest path does not start like its subnet's route
     * (a plain host nearer on the subnet that will not relay, or an
     * equally short way through a lower first hop) gets a /32 of its own:
     * routes follow the shortest path to the destination host.  Usually
     * none are needed (a LAN behind one router), so tables stay at about
     * one entry per subnet. */
    for (guint qi = 1; qi < s.order->len; qi++) {
        ns_host *v = g_array_index(s.order, ns_host *, qi);
        for (guint i = 0; i < v->ifaces->len; i++) {
            ns_iface *ifc = g_ptr_array_index(v->ifaces, i);
            if (!ifc->addr)
                continue;
            uint32_t m = mask_of(ifc->prefix);
            gint64 k = (gint64)subnet_key(ifc->addr & m, m);
            const struct best *b = g_hash_table_lookup(best, &k);
            if (b && (b->hop.addr != s.first[v->id].addr || b->hop.out != s.first[v->id].out))
                add_route(src, ifc->addr, 0xffffffffu, s.first[v->id].addr, s.first[v->id].out);
        }
    }
    g_array_free(keys, TRUE);
    g_hash_table_destroy(best);
    g_hash_table_destroy(seen);
    g_array_free(s.order, TRUE);
    g_free(s.first);
    g_free(s.dist);
}

/* Topology changes only mark routes stale (routes_valid = false); each
 * host rebuilds its own table at its next lookup.  A change (a DHCP
 * client binding, say) thus costs a search for each host that then sends,
 * not one for every host of the sim. */
static void ensure_routes(ns_host *h)
{
    struct ns_net *net = h->net;
    if (!net->routes_valid) {
        net->routes_valid = true;
        net->topo_gen++;
    }
    if (h->routes_gen == net->topo_gen || h->static_routes)
        return;
    h->routes_gen = net->topo_gen;
    compute_for(net, h);
    h->cache_gen++;                          /* cached lookups are stale */
    if (h->cache_gen == 0)
        h->cache_gen = 1;                    /* 0 marks an empty cache entry */
    if (ns_trace_on(net->sim, "net.routes", h->name))
        ns_trace_event(net->sim, "net.routes", h->name, "routes=%u", h->routes->len);
}

void ns__route_compute(struct ns_net *net)
{
    for (guint i = 0; i < net->hosts->len; i++)
        ensure_routes(g_ptr_array_index(net->hosts, i));
}

void ns_route_invalidate(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    if (net)
        net->routes_valid = false;
}

bool ns_route_lookup(ns_host *h, uint32_t dst, ns_iface **out, uint32_t *next_hop)
{
    ensure_routes(h);
    if (G_UNLIKELY(!h->rcache)) {
        uint32_t n = h->forwarding ? ROUTE_CACHE_ROUTER : ROUTE_CACHE_HOST;
        h->rcache = g_new0(struct route_cache, n);
        h->rcache_mask = n - 1;
    }
    struct route_cache *c = &h->rcache[(dst ^ dst >> 7 ^ dst >> 15) & h->rcache_mask];
    if (c->gen == h->cache_gen && c->dst == dst) {
        if (!c->out || !c->out->ops->is_up(c->out))
            return false;
        *out = c->out;
        *next_hop = c->next_hop;
        return true;
    }
    const struct route *best = NULL;
    for (guint i = 0; i < h->routes->len; i++) {
        const struct route *r = &g_array_index(h->routes, struct route, i);
        if ((dst & r->mask) == r->dst && (!best || r->mask > best->mask))
            best = r;
    }
    c->gen = h->cache_gen;
    c->dst = dst;
    c->out = best ? best->out : NULL;
    c->next_hop = best ? (best->gateway ? best->gateway : dst) : 0;
    if (!best || !best->out->ops->is_up(best->out))
        return false;
    *out = best->out;
    *next_hop = c->next_hop;
    return true;
}

bool ns_route_add(ns_host *h, uint32_t dst, int prefix, uint32_t gateway,
                  ns_iface *out, GError **error)
{
    if (prefix < 0 || prefix > 32) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "host '%s': prefix /%d is outside [0, 32]",
                    h->name, prefix);
        return false;
    }
    ensure_routes(h);
    h->static_routes = true;
    uint32_t m = mask_of(prefix);
    /* The same prefix is replaced.  Computed routes through a gateway
     * inside the new one go: the computed /32 of every host would
     * otherwise win the longest-prefix match over a hand-set subnet or
     * default route.  Connected and hand-set routes stay. */
    for (guint i = h->routes->len; i-- > 0;) {
        struct route *r = &g_array_index(h->routes, struct route, i);
        bool same = r->dst == (dst & m) && r->mask == m;
        bool shadows = !r->manual && r->gateway && r->mask > m && (r->dst & m) == (dst & m);
        if (same || shadows)
            g_array_remove_index(h->routes, i);
    }
    struct route r = { dst & m, m, gateway, out, true };
    g_array_append_val(h->routes, r);
    h->cache_gen++;                       /* cached lookups are stale */
    if (h->cache_gen == 0)
        h->cache_gen = 1;
    return true;
}

void ns_route_set_static(ns_host *h, bool is_static)
{
    h->static_routes = is_static;
    if (!is_static)
        h->routes_gen = 0;                /* rebuilt at its next lookup */
}
