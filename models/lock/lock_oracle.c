/* lock_oracle.c — liveness: the wait-for graph read from the servers'
 * lock tables, which clients can never proceed, and the cycles among them.
 *
 * A client waits when it is acquiring; it is blocked when no sequence of
 * releases by the others can give it the grants it still needs.  That is
 * found by reduction (as deadlock detection over an AND-OR graph): start
 * with every client that will release (working, thinking, done, able to
 * give up, or crashed under leases) as "free"; a waiting client becomes
 * free when enough servers could still grant it: servers where it already
 * holds, servers that have not recorded its request, and servers where
 * everyone ahead of it is free.  What never becomes free is blocked: a
 * deadlock (a cycle) or a chain ending at a crashed holder without lease.
 * Reading only the tables and client states, it never changes the run. */
#include <stdlib.h>
#include <string.h>

#include "lock_priv.h"

struct graph {
    ns_lock_cluster *cl;
    guint  n;                    /* clients */
    bool  *waiting;              /* acquiring */
    bool  *free_;                /* will release eventually */
};

static int client_index(const ns_lock_cluster *cl, uint32_t id)
{
    for (guint i = 0; i < cl->clients->len; i++)
        if (((ns_lock_client *)g_ptr_array_index(cl->clients, i))->id == id)
            return (int)i;
    return -1;
}

static bool id_free(const struct graph *g, uint32_t id)
{
    int i = client_index(g->cl, id);
    return i < 0 || g->free_[i];
}

/* Whether server s may still grant c its current resource. */
static bool may_grant(const struct graph *g, const ns_lock_client *c, unsigned s, bool *holds)
{
    const struct lock_server *sv = &g->cl->srv[s];
    *holds = false;
    if (!ns_host_is_up(sv->host))
        return false;
    const struct lock_res *r = ns__lock_server_find(sv, c->res[c->cur].name);
    if (c->res[c->cur].st[s] == SS_CANCELLED || c->res[c->cur].st[s] == SS_DENIED)
        return false;
    if (!r)
        return true;
    if (r->held && r->holder.client == c->id && r->holder.attempt == c->attempt) {
        *holds = true;
        return true;
    }
    for (guint i = 0; i < r->waiters->len; i++) {
        const struct lock_waiter *w = &g_array_index(r->waiters, struct lock_waiter, i);
        if (w->client == c->id && w->attempt == c->attempt)
            return !r->held || id_free(g, r->holder.client);
        if (!id_free(g, w->client))
            return false;
    }
    return true;                 /* not recorded: the request is on its way */
}

static void graph_build(struct graph *g, ns_lock_cluster *cl)
{
    g->cl = cl;
    g->n = cl->clients->len;
    g->waiting = g_new0(bool, g->n ? g->n : 1);
    g->free_ = g_new0(bool, g->n ? g->n : 1);
    for (guint i = 0; i < g->n; i++) {
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        g->waiting[i] = c->state == NS_LOCK_ACQUIRING;
        if (c->state == NS_LOCK_CRASHED)
            g->free_[i] = cl->o.ttl > 0;
        else
            g->free_[i] = !g->waiting[i] || c->ops->aborts;
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (guint i = 0; i < g->n; i++) {
            if (g->free_[i])
                continue;
            ns_lock_client *c = g_ptr_array_index(cl->clients, i);
            if (c->state != NS_LOCK_ACQUIRING)
                continue;
            unsigned avail = 0;
            for (unsigned s = 0; s < cl->n; s++) {
                bool holds;
                if (may_grant(g, c, s, &holds))
                    avail++;
            }
            if (avail >= cl->o.quorum) {
                g->free_[i] = true;
                changed = true;
            }
        }
    }
}

static void graph_free(struct graph *g)
{
    g_free(g->waiting);
    g_free(g->free_);
}

static bool blocked(const struct graph *g, guint i)
{
    return g->waiting[i] && !g->free_[i];
}

/* The first holder (server order) c waits for on its current resource that
 * is itself blocked or crashed, as a client index; -1 if none. */
static int next_blocked(const struct graph *g, const ns_lock_client *c)
{
    for (unsigned s = 0; s < g->cl->n; s++) {
        const struct lock_res *r = ns__lock_server_find(&g->cl->srv[s], c->res[c->cur].name);
        if (!r || !r->held || r->holder.client == c->id)
            continue;
        int h = client_index(g->cl, r->holder.client);
        if (h >= 0 && !g->free_[h])
            return h;
    }
    return -1;
}

/* Cycles among blocked clients, each once, as "a -> b -> a". */
static GPtrArray *cycles(const struct graph *g)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    int *seen_at = g_new(int, g->n ? g->n : 1);
    for (guint start = 0; start < g->n; start++) {
        if (!blocked(g, start))
            continue;
        for (guint k = 0; k < g->n; k++)
            seen_at[k] = -1;
        int path[NS_LOCK_MAX_SERVERS * 8];
        int len = 0, cur = (int)start;
        while (cur >= 0 && seen_at[cur] < 0 && len < (int)G_N_ELEMENTS(path)) {
            seen_at[cur] = len;
            path[len++] = cur;
            ns_lock_client *c = g_ptr_array_index(g->cl->clients, (guint)cur);
            cur = c->state == NS_LOCK_ACQUIRING ? next_blocked(g, c) : -1;
        }
        if (cur < 0 || seen_at[cur] < 0)
            continue;
        /* the cycle is path[seen_at[cur]..len); report it from its
         * smallest index so each cycle appears once */
        int from = seen_at[cur], min = from;
        for (int k = from; k < len; k++)
            if (path[k] < path[min])
                min = k;
        if (path[min] != (int)start)
            continue;
        GString *s = g_string_new(NULL);
        for (int k = 0; k <= len - from; k++) {
            int idx = path[from + (min - from + k) % (len - from)];
            ns_lock_client *c = g_ptr_array_index(g->cl->clients, (guint)idx);
            g_string_append_printf(s, "%s%s", k ? " -> " : "", ns_host_name(c->host));
        }
        g_ptr_array_add(out, g_string_free(s, FALSE));
    }
    g_free(seen_at);
    return out;
}

/* "b (R2 on ls2 ls3)" pieces: whom c waits for on its current resource. */
static void append_waits(GString *s, const struct graph *g, const ns_lock_client *c)
{
    const ns_lock_cluster *cl = g->cl;
    bool any = false;
    for (guint h = 0; h < g->n; h++) {
        ns_lock_client *hc = g_ptr_array_index(cl->clients, h);
        if (hc == c)
            continue;
        bool first = true;
        for (unsigned sv = 0; sv < cl->n; sv++) {
            const struct lock_res *r = ns__lock_server_find(&cl->srv[sv], c->res[c->cur].name);
            if (!r || !r->held || r->holder.client != hc->id)
                continue;
            if (first)
                g_string_append_printf(s, "%s%s%s (%s on", any ? ", " : "", ns_host_name(hc->host),
                                       hc->state == NS_LOCK_CRASHED ? " [crashed]" : "",
                                       r->name);
            g_string_append_printf(s, " %s", ns_host_name(cl->srv[sv].host));
            first = false;
            any = true;
        }
        if (!first)
            g_string_append_c(s, ')');
    }
    if (!any)
        g_string_append(s, "nobody (requests in flight)");
}

char *ns_lock_waiting_report(ns_lock_cluster *cl)
{
    struct graph g;
    graph_build(&g, cl);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < g.n; i++) {
        if (!g.waiting[i])
            continue;
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        g_string_append_printf(s, "%s waits for ", ns_host_name(c->host));
        append_waits(s, &g, c);
        char t[NS_TIME_STRLEN];
        g_string_append_printf(s, " since %s%s\n", ns_time_format(c->st.wait_since, t),
                               blocked(&g, i) ? " [blocked]" : "");
    }
    GPtrArray *cy = cycles(&g);
    for (guint i = 0; i < cy->len; i++)
        g_string_append_printf(s, "cycle: %s\n", (char *)g_ptr_array_index(cy, i));
    g_ptr_array_free(cy, TRUE);
    graph_free(&g);
    return g_string_free(s, FALSE);
}

size_t ns_lock_n_waiting(ns_lock_cluster *cl)
{
    size_t n = 0;
    for (guint i = 0; i < cl->clients->len; i++)
        n += ((ns_lock_client *)g_ptr_array_index(cl->clients, i))->state == NS_LOCK_ACQUIRING;
    return n;
}

size_t ns_lock_n_blocked(ns_lock_cluster *cl)
{
    struct graph g;
    graph_build(&g, cl);
    size_t n = 0;
    for (guint i = 0; i < g.n; i++)
        n += blocked(&g, i);
    graph_free(&g);
    return n;
}

void ns__lock_check_deadlock(ns_lock_cluster *cl)
{
    struct graph g;
    graph_build(&g, cl);
    GString *key = g_string_new(NULL);
    for (guint i = 0; i < g.n; i++)
        if (blocked(&g, i)) {
            ns_lock_client *c = g_ptr_array_index(cl->clients, i);
            g_string_append_printf(key, "%s%s#%u", key->len ? " " : "", ns_host_name(c->host),
                                   c->attempt);
        }
    bool fresh = key->len > 0;
    for (guint i = 0; fresh && i < cl->deadlock_sets->len; i++)
        if (strcmp(g_ptr_array_index(cl->deadlock_sets, i), key->str) == 0)
            fresh = false;
    if (fresh) {
        if (cl->first_deadlock < 0)
            cl->first_deadlock = ns_sim_now(cl->sim);
        GPtrArray *cy = cycles(&g);
        const char *cycle = cy->len ? g_ptr_array_index(cy, 0) : "none (a crashed holder)";
        LOCK_TRACE(cl->sim, "lock.deadlock", NULL, "blocked=%s cycle=%s", key->str, cycle);
        for (guint i = 0; i < g.n; i++)
            if (blocked(&g, i)) {
                ns_lock_client *c = g_ptr_array_index(cl->clients, i);
                ns_net_diagram_note(c->host, "DEADLOCK");
            }
        g_ptr_array_free(cy, TRUE);
        g_ptr_array_add(cl->deadlock_sets, g_string_free(key, FALSE));
    } else {
        g_string_free(key, TRUE);
    }
    graph_free(&g);
}

size_t ns_lock_n_deadlocks(const ns_lock_cluster *cl)
{
    return cl->deadlock_sets->len;
}

ns_time_t ns_lock_first_deadlock_at(const ns_lock_cluster *cl)
{
    return cl->first_deadlock;
}

/* Edges for DOT / Mermaid: waiter -> holder, labelled resource@server. */
static char *render(ns_lock_cluster *cl, bool dot)
{
    struct graph g;
    graph_build(&g, cl);
    GString *s = g_string_new(dot ? "digraph waitfor {\n" : "graph LR\n");
    unsigned edge = 0;
    GString *red = g_string_new(NULL);
    for (guint i = 0; i < g.n; i++) {
        if (!g.waiting[i])
            continue;
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        for (unsigned sv = 0; sv < cl->n; sv++) {
            const struct lock_res *r = ns__lock_server_find(&cl->srv[sv], c->res[c->cur].name);
            if (!r || !r->held || r->holder.client == c->id)
                continue;
            int h = client_index(cl, r->holder.client);
            bool cyc = blocked(&g, i) && h >= 0 && !g.free_[h];
            const char *hn = ns__lock_client_name(cl, r->holder.client);
            if (dot)
                g_string_append_printf(s, "  \"%s\" -> \"%s\" [label=\"%s@%s\"%s];\n",
                                       ns_host_name(c->host), hn, r->name,
                                       ns_host_name(cl->srv[sv].host),
                                       cyc ? ", color=red, penwidth=2" : "");
            else
                g_string_append_printf(s, "  %s -->|%s@%s| %s\n", ns_host_name(c->host), r->name,
                                       ns_host_name(cl->srv[sv].host), hn);
            if (cyc)
                g_string_append_printf(red, "%s%u", red->len ? "," : "", edge);
            edge++;
        }
    }
    if (dot)
        g_string_append(s, "}\n");
    else if (red->len)
        g_string_append_printf(s, "  linkStyle %s stroke:red,stroke-width:2px\n", red->str);
    g_string_free(red, TRUE);
    graph_free(&g);
    return g_string_free(s, FALSE);
}

char *ns_lock_waitfor_dot(ns_lock_cluster *cl) { return render(cl, true); }
char *ns_lock_waitfor_mermaid(ns_lock_cluster *cl) { return render(cl, false); }
