/* route.c — IPv4 routes: computed shortest paths, hand-set routes, lookup.
 *
 * Computed routes: for each host, a breadth-first search over the
 * topology (links, and LANs as one hop between any two attached hosts)
 * that passes only through forwarding hosts.  Each subnet is reached via
 * the nearest host on it; among equally short paths the one whose first
 * hop has the lowest address wins, so routes never depend on creation
 * order or hash order.  Routes are recomputed lazily, at the first lookup
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

/* The neighbours of h through its up interfaces. */
static GArray *edges_of(ns_host *h)
{
    GArray *e = g_array_new(FALSE, FALSE, sizeof(struct edge));
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (!ifc->addr || !ifc->ops->is_up(ifc))
            continue;
        if (ifc->peer) {
            if (ifc->peer->addr && ifc->peer->host->up) {
                struct edge x = { ifc->peer->host, ifc, ifc->peer->addr };
                g_array_append_val(e, x);
            }
            continue;
        }
        GPtrArray *nb = ns__lan_neighbours(ifc);
        for (guint j = 0; nb && j < nb->len; j++) {
            ns_iface *o = g_ptr_array_index(nb, j);
            if (o->host != h && o->addr && o->host->up) {
                struct edge x = { o->host, ifc, o->addr };
                g_array_append_val(e, x);
            }
        }
        if (nb)
            g_ptr_array_free(nb, TRUE);
    }
    return e;
}

static void add_route(ns_host *h, uint32_t dst, uint32_t mask, uint32_t gw, ns_iface *out)
{
    for (guint i = 0; i < h->routes->len; i++) {
        struct route *r = &g_array_index(h->routes, struct route, i);
        if (r->dst == dst && r->mask == mask)
            return;                     /* first (best) one wins */
    }
    struct route r = { dst, mask, gw, out, false };
    g_array_append_val(h->routes, r);
}

static void compute_for(struct ns_net *net, ns_host *src, GArray **adj)
{
    size_t n = net->hosts->len;
    int *dist = g_new(int, n);
    struct edge *first = g_new0(struct edge, n);     /* first hop to each host */
    for (size_t i = 0; i < n; i++)
        dist[i] = -1;
    g_array_set_size(src->routes, 0);
    /* Connected subnets first. */
    for (guint i = 0; i < src->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(src->ifaces, i);
        if (ifc->addr && ifc->ops->is_up(ifc))
            add_route(src, ifc->addr & mask_of(ifc->prefix), mask_of(ifc->prefix), 0, ifc);
    }
    GArray *order = g_array_new(FALSE, FALSE, sizeof(ns_host *));
    dist[src->id] = 0;
    g_array_append_val(order, src);
    for (guint qi = 0; qi < order->len; qi++) {
        ns_host *u = g_array_index(order, ns_host *, qi);
        if (u != src && !u->forwarding)
            continue;                   /* only routers relay */
        GArray *e = adj[u->id];
        for (guint k = 0; k < e->len; k++) {
            struct edge *x = &g_array_index(e, struct edge, k);
            uint32_t v = x->to->id;
            struct edge hop = u == src ? *x : first[u->id];
            if (dist[v] < 0) {
                dist[v] = dist[u->id] + 1;
                first[v] = hop;
                g_array_append_val(order, x->to);
            } else if (dist[v] == dist[u->id] + 1 && hop.addr < first[v].addr) {
                first[v] = hop;
            }
        }
    }
    /* Every subnet of every reachable host, nearest host first (order is
     * by distance, then discovery), so add_route keeps the shortest. */
    for (guint qi = 1; qi < order->len; qi++) {
        ns_host *v = g_array_index(order, ns_host *, qi);
        for (guint i = 0; i < v->ifaces->len; i++) {
            ns_iface *ifc = g_ptr_array_index(v->ifaces, i);
            if (!ifc->addr)
                continue;
            uint32_t m = mask_of(ifc->prefix);
            add_route(src, ifc->addr & m, m, first[v->id].addr, first[v->id].out);
            add_route(src, ifc->addr, 0xffffffffu, first[v->id].addr, first[v->id].out);
        }
    }
    g_array_free(order, TRUE);
    g_free(first);
    g_free(dist);
}

void ns__route_compute(struct ns_net *net)
{
    size_t n = net->hosts->len;
    GArray **adj = g_new(GArray *, n);
    for (size_t i = 0; i < n; i++)
        adj[i] = edges_of(g_ptr_array_index(net->hosts, i));
    for (size_t i = 0; i < n; i++) {
        ns_host *h = g_ptr_array_index(net->hosts, i);
        if (!h->static_routes)
            compute_for(net, h, adj);
    }
    for (size_t i = 0; i < n; i++)
        g_array_free(adj[i], TRUE);
    g_free(adj);
    net->routes_valid = true;
    net->route_gen++;
    if (net->route_gen == 0)
        net->route_gen = 1;              /* 0 marks an empty cache entry */
    if (ns_trace_on(net->sim, "net.routes", NULL))
        ns_trace_event(net->sim, "net.routes", NULL, "hosts=%zu", n);
}

void ns_route_invalidate(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    if (net)
        net->routes_valid = false;
}

bool ns_route_lookup(ns_host *h, uint32_t dst, ns_iface **out, uint32_t *next_hop)
{
    if (!h->net->routes_valid)
        ns__route_compute(h->net);
    if (G_UNLIKELY(!h->rcache)) {
        uint32_t n = h->forwarding ? ROUTE_CACHE_ROUTER : ROUTE_CACHE_HOST;
        h->rcache = g_new0(struct route_cache, n);
        h->rcache_mask = n - 1;
    }
    struct route_cache *c = &h->rcache[(dst ^ dst >> 7 ^ dst >> 15) & h->rcache_mask];
    if (c->gen == h->net->route_gen && c->dst == dst) {
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
    c->gen = h->net->route_gen;
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
    if (!h->net->routes_valid)
        ns__route_compute(h->net);
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
    h->net->route_gen++;                  /* cached lookups are stale */
    return true;
}

void ns_route_set_static(ns_host *h, bool is_static)
{
    h->static_routes = is_static;
    if (!is_static)
        h->net->routes_valid = false;
}
