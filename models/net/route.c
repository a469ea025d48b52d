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
 * A search visits every host it reaches, and a DHCP campus changes an
 * address thousands of times, so address changes of leaves (plain hosts
 * with one LAN interface) are logged instead of forcing searches: at its
 * next lookup a host searches again only if a logged change can alter its
 * table (change_irrelevant); otherwise it keeps the table, which a search
 * would rebuild identically.  The net.routes trace line is written either
 * way, as before.
 *
 * Lookup is longest-prefix match over the host's table.
 */
#include "lan_priv.h"

/* One adjacency: leaving `from` by `out` reaches `to` at address `addr`. */
struct edge {
    ns_host  *to;
    ns_iface *out;
    uint32_t  addr;
};

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

static void add_route(ns_host *h, uint32_t dst, uint32_t mask, uint32_t gw, ns_iface *out,
                      int dist)
{
    struct route r = { dst, mask, gw, out, false, dist };
    g_array_append_val(h->routes, r);
}

static uint64_t subnet_key(uint32_t net, uint32_t mask)
{
    return (uint64_t)net << 32 | mask;
}

/* Never 0 for a set address: its prefix is at least 1. */
static uint64_t addr_key(uint32_t addr, int prefix)
{
    uint32_t m = mask_of(prefix);
    return subnet_key(addr & m, m);
}

/* ---- the subnets one search meets ---- */

struct subnet {
    uint64_t    key;                     /* 0: empty slot */
    bool        connected;               /* on one of the source's interfaces */
    int         dist;                    /* else the best way so far */
    struct edge hop;
};

/* Open addressing with linear probing.  A search meets a few dozen
 * subnets but looks one up for every interface of every host it reaches
 * (thousands on a campus); GHashTable with boxed 64-bit keys was a third
 * of dhcp_campus.  Hosts of a LAN come one after another, so the last hit
 * is tried first. */
struct subnet_set {
    struct subnet *slot;
    uint32_t       mask;                 /* slots - 1 */
    uint32_t       used;
    struct subnet *last;                 /* last found or added, or NULL */
};

static struct subnet *subnet_slot(const struct subnet_set *t, uint64_t key)
{
    uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & t->mask;
    while (t->slot[i].key && t->slot[i].key != key)
        i = (i + 1) & t->mask;
    return &t->slot[i];
}

static struct subnet *subnet_get(struct subnet_set *t, uint64_t key)
{
    if (t->last && t->last->key == key)
        return t->last;
    struct subnet *e = subnet_slot(t, key);
    if (!e->key)
        return NULL;
    t->last = e;
    return e;
}

/* key must not be in t yet. */
static struct subnet *subnet_add(struct subnet_set *t, uint64_t key)
{
    if ((t->used + 1) * 2 > t->mask + 1) {       /* keep the load under 1/2 */
        struct subnet_set old = *t;
        t->mask = old.mask * 2 + 1;
        t->slot = g_new0(struct subnet, t->mask + 1);
        for (uint32_t i = 0; i <= old.mask; i++)
            if (old.slot[i].key)
                *subnet_slot(t, old.slot[i].key) = old.slot[i];
        g_free(old.slot);
    }
    struct subnet *e = subnet_slot(t, key);
    e->key = key;
    t->used++;
    t->last = e;
    return e;
}

/* ---- one host's search ---- */

struct search {
    ns_host     *src;
    int         *dist;                   /* by host id, -1: not reached */
    struct edge *first;                  /* first hop to each host */
    ns_host    **order;                  /* discovery order */
    guint        n_order;
    ns_host     *u;                      /* the host being expanded */
    ns_iface    *via;                    /* its interface being expanded */
};

static void relax(struct search *s, ns_host *to, ns_iface *out, uint32_t addr)
{
    uint32_t v = to->id;
    int du = s->dist[s->u->id];
    struct edge hop = s->u == s->src ? (struct edge){ to, out, addr } : s->first[s->u->id];
    if (s->dist[v] < 0) {
        s->dist[v] = du + 1;
        s->first[v] = hop;
        s->order[s->n_order++] = to;
    } else if (s->dist[v] == du + 1 && hop.addr < s->first[v].addr) {
        s->first[v] = hop;
    }
}

static void relax_port(void *ud, ns_iface *o)
{
    struct search *s = ud;
    if (o->host != s->u && o->addr && o->host->up)
        relax(s, o->host, s->via, o->addr);
}

/* What relax() gives any leaf on LAN `lan` when s->u expands its port
 * there, folded the same way: the first reach, then a strictly lower first
 * hop at the same distance. */
static void reach_lan(struct search *s, int lan)
{
    struct lan_reach *r = &s->src->reach[lan];
    int d = s->dist[s->u->id] + 1;
    if (s->u == s->src) {
        if (r->dist < 0)
            *r = (struct lan_reach){ d, true, 0, NULL };
        return;
    }
    const struct edge *f = &s->first[s->u->id];
    if (r->dist < 0 || (r->dist == d && !r->direct && f->addr < r->hop_addr))
        *r = (struct lan_reach){ d, false, f->addr, f->out };
}

/* Relaxes every neighbour of s->u through its up interfaces. */
static void expand(struct search *s)
{
    ns_host *h = s->u;
    for (guint i = 0; i < h->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(h->ifaces, i);
        if (!ifc->addr || !ifc->ops->is_up(ifc))
            continue;
        if (ifc->peer) {
            if (ifc->peer->addr && ifc->peer->host->up)
                relax(s, ifc->peer->host, ifc, ifc->peer->addr);
            continue;
        }
        s->via = ifc;
        int lan = ns__lan_each_port(ifc, relax_port, s);
        if (lan >= 0)
            reach_lan(s, lan);
    }
}

/* h's table: its connected subnets, then every other subnet it can reach,
 * through the nearest host on it; among equally near ones the lowest first
 * hop wins (so the table depends on neither creation nor hash order); and
 * /32s for the hosts the subnet route would not reach by their own
 * shortest path.  Also notes how it reaches the leaves of each LAN. */
static void compute_for(struct ns_net *net, ns_host *src)
{
    size_t n = net->hosts->len;
    struct search s = { src, g_new(int, n), g_new(struct edge, n), g_new(ns_host *, n), 0,
                        NULL, NULL };
    for (size_t i = 0; i < n; i++)
        s.dist[i] = -1;
    g_array_set_size(src->routes, 0);
    if (src->n_reach != net->lans->len) {
        src->n_reach = net->lans->len;
        src->reach = g_renew(struct lan_reach, src->reach, src->n_reach);
    }
    for (uint32_t i = 0; i < src->n_reach; i++)
        src->reach[i] = (struct lan_reach){ .dist = -1 };
    struct subnet_set t = { g_new0(struct subnet, 64), 63, 0, NULL };
    for (guint i = 0; i < src->ifaces->len; i++) {
        ns_iface *ifc = g_ptr_array_index(src->ifaces, i);
        if (!ifc->addr || !ifc->ops->is_up(ifc))
            continue;
        uint64_t key = addr_key(ifc->addr, ifc->prefix);
        if (!subnet_get(&t, key)) {
            add_route(src, (uint32_t)(key >> 32), (uint32_t)key, 0, ifc, -1);
            subnet_add(&t, key)->connected = true;
        }
    }
    s.dist[src->id] = 0;
    s.order[s.n_order++] = src;
    for (guint qi = 0; qi < s.n_order; qi++) {
        s.u = s.order[qi];
        if (s.u == src || s.u->forwarding)   /* only routers relay */
            expand(&s);
    }
    /* The best way to each remote subnet; routes in discovery order. */
    GArray *keys = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint qi = 1; qi < s.n_order; qi++) {
        ns_host *v = s.order[qi];
        for (guint i = 0; i < v->ifaces->len; i++) {
            ns_iface *ifc = g_ptr_array_index(v->ifaces, i);
            if (!ifc->addr)
                continue;
            uint64_t key = addr_key(ifc->addr, ifc->prefix);
            struct subnet *e = subnet_get(&t, key);
            if (!e) {
                e = subnet_add(&t, key);
                e->connected = false;
                e->dist = s.dist[v->id];
                e->hop = s.first[v->id];
                g_array_append_val(keys, key);
            } else if (!e->connected &&
                       (s.dist[v->id] < e->dist ||
                        (s.dist[v->id] == e->dist && s.first[v->id].addr < e->hop.addr))) {
                e->dist = s.dist[v->id];
                e->hop = s.first[v->id];
            }
        }
    }
    for (guint i = 0; i < keys->len; i++) {
        uint64_t key = g_array_index(keys, uint64_t, i);
        const struct subnet *e = subnet_get(&t, key);
        add_route(src, (uint32_t)(key >> 32), (uint32_t)key, e->hop.addr, e->hop.out, e->dist);
    }
    /* A host whose shortest path does not start like its subnet's route
     * (a plain host nearer on the subnet that will not relay, or an
     * equally short way through a lower first hop) gets a /32 of its own:
     * routes follow the shortest path to the destination host.  Usually
     * none are needed (a LAN behind one router), so tables stay at about
     * one entry per subnet. */
    for (guint qi = 1; qi < s.n_order; qi++) {
        ns_host *v = s.order[qi];
        for (guint i = 0; i < v->ifaces->len; i++) {
            ns_iface *ifc = g_ptr_array_index(v->ifaces, i);
            if (!ifc->addr)
                continue;
            const struct subnet *e = subnet_get(&t, addr_key(ifc->addr, ifc->prefix));
            if (!e->connected && (e->hop.addr != s.first[v->id].addr ||
                                  e->hop.out != s.first[v->id].out))
                add_route(src, ifc->addr, 0xffffffffu, s.first[v->id].addr,
                          s.first[v->id].out, -1);
        }
    }
    g_array_free(keys, TRUE);
    g_free(t.slot);
    g_free(s.order);
    g_free(s.first);
    g_free(s.dist);
}

/* ---- the address log ---- */

/* Whether `key` (a subnet a leaf's address was or is in) leaves h's table
 * as it is, given how h reaches the leaf's LAN (r).  A subnet h is on is
 * skipped by its search.  Otherwise the leaf is one more candidate for the
 * subnet's route, at r->dist: it changes nothing when the route's host is
 * strictly nearer (so it was also found first and fixed the route's
 * place) and the leaf's path starts the same way (so it needs no /32).  A
 * leaf on h's own LAN is its own first hop: only the connected case is
 * safe there. */
static bool key_unaffected(const ns_host *h, uint64_t key, const struct lan_reach *r)
{
    if (!key)
        return true;
    uint32_t dst = (uint32_t)(key >> 32), mask = (uint32_t)key;
    for (guint i = 0; i < h->routes->len; i++) {
        const struct route *rt = &g_array_index(h->routes, struct route, i);
        if (rt->dst != dst || rt->mask != mask || rt->manual)
            continue;
        if (rt->gateway == 0)
            return true;                 /* connected */
        if (rt->dist >= 0)
            return !r->direct && rt->dist < r->dist && rt->gateway == r->hop_addr &&
                   rt->out == r->hop_out;
    }
    return false;                        /* the leaf would add the subnet */
}

/* Whether a search by h now would give the table it has, despite c.
 * Leaves are never expanded, so c moves no other host's distance or first
 * hop: it can only add, move or take away the leaf's own candidacy. */
static bool change_irrelevant(const ns_host *h, const struct addr_change *c)
{
    if (c->host == h || c->lan >= h->n_reach)
        return false;
    const struct lan_reach *r = &h->reach[c->lan];
    if (r->dist < 0)
        return true;                     /* the leaf's LAN is out of reach */
    return key_unaffected(h, c->old_key, r) && key_unaffected(h, c->new_key, r);
}

/* Whether no change logged since h's table was made alters it.  A host
 * far behind searches again: checking more changes than there are hosts
 * would cost more than the search. */
static bool log_irrelevant(const struct ns_net *net, const ns_host *h)
{
    uint64_t end = net->log_base + net->addr_log->len;
    if (!h->reach || h->log_seq < net->log_base || end - h->log_seq > net->hosts->len)
        return false;
    for (uint64_t q = h->log_seq; q < end; q++)
        if (!change_irrelevant(h, &g_array_index(net->addr_log, struct addr_change,
                                                 q - net->log_base)))
            return false;
    return true;
}

void ns__route_addr_changed(ns_iface *ifc, uint32_t old, int old_prefix)
{
    ns_host *h = ifc->host;
    struct ns_net *net = h->net;
    int lan = ns__lan_index(ifc);
    if (h->forwarding || h->ifaces->len != 1 || lan < 0) {
        net->routes_valid = false;       /* may move other hosts' paths */
        return;
    }
    /* Only hosts at most hosts->len changes behind read the log. */
    guint keep = MAX(net->hosts->len, 64);
    if (net->addr_log->len >= 2 * keep) {
        guint drop = net->addr_log->len - keep;
        g_array_remove_range(net->addr_log, 0, drop);
        net->log_base += drop;
    }
    struct addr_change c = { h, (uint32_t)lan, old ? addr_key(old, old_prefix) : 0,
                             ifc->addr ? addr_key(ifc->addr, ifc->prefix) : 0 };
    g_array_append_val(net->addr_log, c);
    net->log_pending = true;
}

/* ---- leaves of one LAN share a table ---- */

/* h's interface if h is a leaf: a plain host with one interface, a LAN
 * port; NULL otherwise. */
static ns_iface *leaf_iface(const ns_host *h)
{
    if (h->forwarding || h->ifaces->len != 1)
        return NULL;
    ns_iface *ifc = g_ptr_array_index(h->ifaces, 0);
    return ns__lan_is_port(ifc) ? ifc : NULL;
}

/* Two leaves of a LAN with addresses in the same subnet would get the
 * same table but for the interface their routes leave by: each is on the
 * other's connected subnet, so neither adds a route to the other's table,
 * and every first hop is a neighbour on the LAN, the same for both.  So a
 * leaf copies the table of the last leaf there that searched, if that one
 * is up to date, instead of visiting every host of the sim (4,000
 * searches of 4,000 hosts each on dhcp_campus).  False when it cannot. */
static bool copy_leaf_table(struct ns_net *net, ns_host *h)
{
    ns_iface *ifc = leaf_iface(h);
    int lan = ifc && ifc->addr ? ns__lan_index(ifc) : -1;
    if (lan < 0 || (guint)lan >= net->leaf_tables->len)
        return false;
    ns_host *t = g_ptr_array_index(net->leaf_tables, lan);
    ns_iface *tifc = t && t != h ? leaf_iface(t) : NULL;
    if (!tifc || !tifc->addr || t->static_routes || t->routes_gen != net->topo_gen ||
        ns__lan_index(tifc) != lan ||
        addr_key(tifc->addr, tifc->prefix) != addr_key(ifc->addr, ifc->prefix))
        return false;
    g_array_set_size(h->routes, t->routes->len);
    for (guint i = 0; i < t->routes->len; i++) {
        struct route *r = &g_array_index(h->routes, struct route, i);
        *r = g_array_index(t->routes, struct route, i);
        r->out = ifc;                    /* t's only interface */
    }
    if (h->n_reach != t->n_reach) {
        h->n_reach = t->n_reach;
        h->reach = g_renew(struct lan_reach, h->reach, h->n_reach);
    }
    for (uint32_t i = 0; i < t->n_reach; i++) {
        h->reach[i] = t->reach[i];
        if (h->reach[i].hop_out)
            h->reach[i].hop_out = ifc;
    }
    return true;
}

/* After h searched: other leaves of its LAN may copy its table. */
static void note_leaf_table(struct ns_net *net, ns_host *h)
{
    ns_iface *ifc = leaf_iface(h);
    int lan = ifc && ifc->addr ? ns__lan_index(ifc) : -1;
    if (lan < 0)
        return;
    if ((guint)lan >= net->leaf_tables->len)
        g_ptr_array_set_size(net->leaf_tables, lan + 1);
    g_ptr_array_index(net->leaf_tables, lan) = h;
}

/* Topology changes only mark routes stale (routes_valid = false, or a
 * logged leaf address); each host rebuilds its own table at its next
 * lookup.  A change (a DHCP client binding, say) thus costs a search for
 * each host that then sends and whose table it may alter, not one for
 * every host of the sim. */
static void refresh_routes(ns_host *h)
{
    struct ns_net *net = h->net;
    if (!net->routes_valid) {
        net->routes_valid = true;
        net->log_pending = false;
        net->topo_gen++;
        net->struct_gen = net->topo_gen;
    } else if (net->log_pending) {
        net->log_pending = false;
        net->topo_gen++;
    }
    if (h->routes_gen == net->topo_gen || h->static_routes)
        return;
    bool keep = h->routes_gen >= net->struct_gen && log_irrelevant(net, h);
    h->routes_gen = net->topo_gen;
    h->log_seq = net->log_base + net->addr_log->len;
    if (!keep) {
        if (!copy_leaf_table(net, h)) {
            compute_for(net, h);
            note_leaf_table(net, h);
        }
        h->cache_gen++;                      /* cached lookups are stale */
        if (h->cache_gen == 0)
            h->cache_gen = 1;                /* 0 marks an empty cache entry */
    }
    if (ns_trace_on(net->sim, "net.routes", h->name))
        ns_trace_event(net->sim, "net.routes", h->name, "routes=%u", h->routes->len);
}

/* refresh_routes, after the test that it has nothing to do (nothing
 * changed since h's table was made), which every lookup makes: kept
 * inline, as a call per datagram for it showed in profiles. */
static inline bool routes_current(const ns_host *h)
{
    const struct ns_net *net = h->net;
    return net->routes_valid && !net->log_pending &&
           (h->routes_gen == net->topo_gen || h->static_routes);
}

static inline void ensure_routes(ns_host *h)
{
    if (G_LIKELY(routes_current(h)))
        return;
    refresh_routes(h);
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

static inline struct route_cache *cache_slot(const ns_host *h, uint32_t dst)
{
    return &h->rcache[(dst ^ dst >> 7 ^ dst >> 15) & h->rcache_mask];
}

/* The answer from a cache entry that holds dst's. */
static inline bool cached_answer(const struct route_cache *c, ns_iface **out,
                                 uint32_t *next_hop)
{
    if (!c->out || !c->out->ops->is_up(c->out))
        return false;
    *out = c->out;
    *next_hop = c->next_hop;
    return true;
}

/* A cache miss on a current table: the longest-prefix scan, whose
 * answer goes into c. */
G_GNUC_NO_INLINE static bool lookup_miss(ns_host *h, uint32_t dst, struct route_cache *c,
                                         ns_iface **out, uint32_t *next_hop)
{
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

/* A table to refresh first, or no cache yet. */
G_GNUC_NO_INLINE static bool lookup_slow(ns_host *h, uint32_t dst, ns_iface **out,
                                         uint32_t *next_hop)
{
    ensure_routes(h);
    if (G_UNLIKELY(!h->rcache)) {
        uint32_t n = h->forwarding ? ROUTE_CACHE_ROUTER : ROUTE_CACHE_HOST;
        h->rcache = g_new0(struct route_cache, n);
        h->rcache_mask = n - 1;
    }
    struct route_cache *c = cache_slot(h, dst);
    if (c->gen == h->cache_gen && c->dst == dst)
        return cached_answer(c, out, next_hop);
    return lookup_miss(h, dst, c, out, next_hop);
}

/* A current table with a cache (every lookup but the first of a host
 * and the first after a change) is served here, without the register
 * saves the scan and the refresh need: they are out of line. */
bool ns_route_lookup(ns_host *h, uint32_t dst, ns_iface **out, uint32_t *next_hop)
{
    if (G_UNLIKELY(!routes_current(h) || !h->rcache))
        return lookup_slow(h, dst, out, next_hop);
    struct route_cache *c = cache_slot(h, dst);
    if (c->gen == h->cache_gen && c->dst == dst)
        return cached_answer(c, out, next_hop);
    return lookup_miss(h, dst, c, out, next_hop);
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
    struct route r = { dst & m, m, gateway, out, true, -1 };
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
