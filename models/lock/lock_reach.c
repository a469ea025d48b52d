/* lock_reach.c — whether the network built so far connects a new lock
 * client to every lock server and to the storage server, or a new
 * dedicated deadlock detector to every lock server.
 *
 * Without a path a client would send its requests nowhere and stay
 * `acquiring` for the whole run with no hint why (a cluster of script
 * hosts that were never linked, say), so ns_lock_client_new refuses it
 * and names the hosts it cannot reach; a detector would query nobody and
 * never break a deadlock, so ns_lock_detector_new does the same.
 *
 * Invariant: only the topology counts (links and LAN ports, up or down,
 * and which hosts forward); addresses and routing tables are not looked
 * at, so the check changes no routing state and no trace.  A path may
 * cross LANs and forwarding hosts (routers); any other host ends it. */
#include <string.h>

#include "lock_priv.h"
#include "netsim/lan.h"
#include "netsim/link.h"

/* The topology as a graph in compressed rows: nodes 0..nhosts-1 are the
 * hosts (by creation index), nhosts.. the LANs; an edge joins the two
 * ends of a link, or a LAN and each host attached to it. */
struct topo {
    size_t  nhosts, nnodes;
    size_t *first;               /* node i's edges: to[first[i] .. first[i+1]) */
    size_t *to;
};

static void add_edge(struct topo *t, size_t *fill, size_t a, size_t b)
{
    t->to[fill[a]++] = b;
    t->to[fill[b]++] = a;
}

/* Two passes over links and LAN ports: count each node's edges, then
 * place them. */
static void topo_build(struct topo *t, ns_sim *sim)
{
    size_t nlinks = ns_link_count(sim), nlans = ns_lan_count(sim);
    t->nhosts = ns_host_count(sim);
    t->nnodes = t->nhosts + nlans;
    size_t *deg = g_new0(size_t, t->nnodes);
    size_t nedges = 0;
    for (size_t i = 0; i < nlinks; i++) {
        ns_link *l = ns_link_nth(sim, i);
        deg[ns_host_id(ns_link_host(l, 0))]++;
        deg[ns_host_id(ns_link_host(l, 1))]++;
        nedges++;
    }
    for (size_t i = 0; i < nlans; i++) {
        ns_lan *lan = ns_lan_nth(sim, i);
        for (size_t j = 0; j < ns_lan_n_ports(lan); j++) {
            deg[ns_host_id(ns_iface_host(ns_lan_port_iface(lan, j)))]++;
            deg[t->nhosts + i]++;
            nedges++;
        }
    }
    t->first = g_new(size_t, t->nnodes + 1);
    t->first[0] = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        t->first[i + 1] = t->first[i] + deg[i];
    t->to = g_new(size_t, 2 * nedges + 1);
    memcpy(deg, t->first, t->nnodes * sizeof *deg);        /* now: next free slot */
    for (size_t i = 0; i < nlinks; i++) {
        ns_link *l = ns_link_nth(sim, i);
        add_edge(t, deg, ns_host_id(ns_link_host(l, 0)), ns_host_id(ns_link_host(l, 1)));
    }
    for (size_t i = 0; i < nlans; i++) {
        ns_lan *lan = ns_lan_nth(sim, i);
        for (size_t j = 0; j < ns_lan_n_ports(lan); j++)
            add_edge(t, deg, ns_host_id(ns_iface_host(ns_lan_port_iface(lan, j))),
                     t->nhosts + i);
    }
    g_free(deg);
}

/* Breadth first from `from`; seen[i] is set for every node reached.
 * Hosts other than `from` are entered but not crossed unless they
 * forward. */
static void topo_reach(const struct topo *t, ns_sim *sim, size_t from, bool *seen)
{
    size_t *queue = g_new(size_t, t->nnodes);
    size_t head = 0, tail = 0;
    seen[from] = true;
    queue[tail++] = from;
    while (head < tail) {
        size_t u = queue[head++];
        if (u != from && u < t->nhosts && !ns_host_is_forwarding(ns_host_nth(sim, u)))
            continue;
        for (size_t e = t->first[u]; e < t->first[u + 1]; e++)
            if (!seen[t->to[e]]) {
                seen[t->to[e]] = true;
                queue[tail++] = t->to[e];
            }
    }
    g_free(queue);
}

/* Whether every host h needs (the first `need` of the servers in order,
 * then the storage) shares a LAN or a link with h.  Each is then one hop
 * away, so the search of the whole network (below) would reach them all;
 * in the common case, clients on the servers' LAN, this one pass over the
 * ports spares building that graph for every client (1,000 clients made
 * setup quadratic in the hosts). */
static bool all_adjacent(const ns_lock_cluster *cl, ns_host *h, unsigned need)
{
    ns_sim *sim = ns_host_sim(h);
    /* which[id] = 1 + k for the k-th needed host, 0 for any other host */
    guint8 *which = g_new0(guint8, ns_host_count(sim));
    for (unsigned k = 0; k < need; k++)
        which[ns_host_id(k < cl->n ? cl->srv[k].host : cl->storage)] = (guint8)(k + 1);
    bool near[NS_LOCK_MAX_SERVERS + 1] = { false };
    for (size_t i = 0; i < ns_lan_count(sim); i++) {
        ns_lan *lan = ns_lan_nth(sim, i);
        bool here[NS_LOCK_MAX_SERVERS + 1] = { false }, has_h = false;
        for (size_t j = 0, np = ns_lan_n_ports(lan); j < np; j++) {
            const ns_host *x = ns_iface_host(ns_lan_port_iface(lan, j));
            has_h = has_h || x == h;
            if (which[ns_host_id(x)])
                here[which[ns_host_id(x)] - 1] = true;
        }
        for (unsigned k = 0; has_h && k < need; k++)
            near[k] = near[k] || here[k];
    }
    for (size_t i = 0; i < ns_link_count(sim); i++) {
        ns_link *l = ns_link_nth(sim, i);
        for (int end = 0; end < 2; end++) {
            guint8 k = which[ns_host_id(ns_link_host(l, 1 - end))];
            if (ns_link_host(l, end) == h && k)
                near[k - 1] = true;
        }
    }
    g_free(which);
    unsigned found = 0;
    for (unsigned k = 0; k < need; k++)
        found += near[k];
    return found == need;
}

/* The hosts of the cluster that h needs (the servers, and the storage if
 * `storage`) and no path reaches, as "ls2, storage", or "" if none. */
static GString *unreachable(const ns_lock_cluster *cl, ns_host *h, bool storage)
{
    ns_sim *sim = ns_host_sim(h);
    if (all_adjacent(cl, h, cl->n + (storage ? 1 : 0)))
        return g_string_new(NULL);
    struct topo t;
    topo_build(&t, sim);
    bool *seen = g_new0(bool, t.nnodes);
    topo_reach(&t, sim, ns_host_id(h), seen);
    GString *missing = g_string_new(NULL);
    for (unsigned i = 0; i < cl->n + (storage ? 1 : 0); i++) {
        ns_host *x = i < cl->n ? cl->srv[i].host : cl->storage;
        if (!seen[ns_host_id(x)])
            g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", ns_host_name(x));
    }
    g_free(seen);
    g_free(t.first);
    g_free(t.to);
    return missing;
}

static bool check(const ns_lock_cluster *cl, ns_host *h, bool storage, const char *role,
                  GError **error)
{
    GString *missing = unreachable(cl, h, storage);
    bool ok = missing->len == 0;
    if (!ok)
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "%s '%s': no network path to %s (link the hosts, or attach them "
                    "to a LAN, before creating the %s)", role, ns_host_name(h), missing->str,
                    strchr(role, ' ') + 1);
    g_string_free(missing, TRUE);
    return ok;
}

bool ns__lock_check_paths(const ns_lock_cluster *cl, ns_host *client, GError **error)
{
    return check(cl, client, true, "lock client", error);
}

/* A detector talks to the servers only: the storage need not be reached. */
bool ns__lock_check_detector_paths(const ns_lock_cluster *cl, ns_host *h, GError **error)
{
    return check(cl, h, false, "lock detector", error);
}
