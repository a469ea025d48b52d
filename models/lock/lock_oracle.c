/* lock_oracle.c — liveness: the wait-for graph read from the servers'
 * lock tables, which clients can never proceed, and the cycles among them.
 *
 * A client waits when it is acquiring; it is blocked when no sequence of
 * releases by the others can give it the grants it still needs.  That is
 * found by reduction (as deadlock detection over an AND-OR graph): start
 * with every client that will release (working, thinking, done, able to
 * give up, wounded by an older request, or crashed under leases) as
 * "free"; a waiting client becomes free when enough servers could still
 * grant it: servers where it already holds, and servers where everyone
 * ahead of it is free (or, under wound-wait, where it is older than the
 * holder), judging a request still in flight as the server will on
 * arrival; under wait-die it is also free when denials leave it no
 * quorum, since it then dies and releases.  Entries of attempts a client
 * has left block nobody.  What never becomes free is blocked: a deadlock
 * (a cycle) or a chain ending at a crashed holder without lease.
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

/* Whether a table entry (holder or waiter) belongs to an attempt its
 * client has left: its RELEASE is on the way, or the client's newer
 * request will supersede it, so it blocks nobody.  A crashed client's
 * entries stay until a lease frees them. */
static bool stale(const ns_lock_cluster *cl, uint32_t id, uint32_t attempt)
{
    int i = client_index(cl, id);
    if (i < 0)
        return true;
    const ns_lock_client *c = g_ptr_array_index(cl->clients, (guint)i);
    return c->state != NS_LOCK_CRASHED && c->attempt > attempt;
}

static bool id_free(const struct graph *g, uint32_t id, uint32_t attempt)
{
    int i = client_index(g->cl, id);
    return i < 0 || g->free_[i] || stale(g->cl, id, attempt);
}

/* What server s will do with c's request for its current resource, as
 * far as the others' freedom is known: grant it (c holds it, or could get
 * it once everyone ahead of it releases), keep it waiting, or refuse it.
 * A request the server has not recorded yet is on its way: it is judged
 * as the server will judge it on arrival (age rules included). */
enum verdict { V_GRANT, V_WAIT, V_DENY };

static bool older_client(const ns_lock_client *c, ns_time_t ts, uint32_t id)
{
    return ns__lock_older(c->st.timestamp, c->id, ts, id);
}

static enum verdict may_grant(const struct graph *g, const ns_lock_client *c, unsigned s)
{
    const struct lock_server *sv = &g->cl->srv[s];
    uint8_t st = c->res[c->cur].st[s];
    if (st == SS_CANCELLED || st == SS_DENIED)
        return V_DENY;
    if (!ns_host_is_up(sv->host))
        return V_WAIT;
    const struct lock_res *r = ns__lock_server_find(sv, c->res[c->cur].name);
    if (!r)
        return V_GRANT;
    if (r->held && r->holder.client == c->id && r->holder.attempt == c->attempt)
        return V_GRANT;
    uint8_t rule = c->ops->age_rule;
    bool recorded = false;
    for (guint i = 0; i < r->waiters->len; i++) {
        const struct lock_waiter *w = &g_array_index(r->waiters, struct lock_waiter, i);
        recorded = recorded || (w->client == c->id && w->attempt == c->attempt);
    }
    if (!r->held && !recorded)
        return V_GRANT;                              /* granted on arrival */
    if (rule == LF_DIE && !recorded) {
        /* the server's wait-die test, made before it knows the request */
        bool waits = older_client(c, r->holder.ts, r->holder.client);
        for (guint i = 0; waits && i < r->waiters->len; i++) {
            const struct lock_waiter *w = &g_array_index(r->waiters, struct lock_waiter, i);
            waits = older_client(c, w->ts, w->client);
        }
        if (!waits)
            return V_DENY;
    }
    for (guint i = 0; i < r->waiters->len; i++) {
        const struct lock_waiter *w = &g_array_index(r->waiters, struct lock_waiter, i);
        if (w->client == c->id && w->attempt == c->attempt)
            break;                                   /* the rest are behind c */
        if (rule == LF_WOUND && !recorded && older_client(c, w->ts, w->client))
            break;                                   /* c will queue ahead of them */
        if (!id_free(g, w->client, w->attempt))
            return V_WAIT;
    }
    if (!r->held || id_free(g, r->holder.client, r->holder.attempt))
        return V_GRANT;
    /* wound-wait: an older request wounds a holder still acquiring */
    if (rule == LF_WOUND && older_client(c, r->holder.ts, r->holder.client))
        return V_GRANT;
    return V_WAIT;
}

/* Whether a server has sent c a WOUND for its current attempt: it will
 * give up as soon as the wound lands (wound-wait). */
static bool is_wounded(const ns_lock_cluster *cl, const ns_lock_client *c)
{
    for (unsigned s = 0; s < cl->n; s++)
        for (unsigned k = 0; k <= c->cur && k < c->nres; k++) {
            const struct lock_res *r = ns__lock_server_find(&cl->srv[s], c->res[k].name);
            if (r && r->held && r->holder.wounded && r->holder.client == c->id
                && r->holder.attempt == c->attempt)
                return true;
        }
    return false;
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
            g->free_[i] = !g->waiting[i] || c->ops->aborts
                          || (c->ops->age_rule == LF_WOUND && is_wounded(cl, c));
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (guint i = 0; i < g->n; i++) {
            if (g->free_[i])
                continue;
            ns_lock_client *c = g_ptr_array_index(cl->clients, i);
            if (c->state != NS_LOCK_ACQUIRING)
                continue;
            unsigned grant = 0, wait = 0;
            for (unsigned s = 0; s < cl->n; s++) {
                enum verdict v = may_grant(g, c, s);
                grant += v == V_GRANT;
                wait += v == V_WAIT;
            }
            /* wait-die: denials that leave no quorum make c die, and
             * dying releases */
            if (grant >= cl->o.quorum
                || (c->ops->age_rule == LF_DIE && grant + wait < cl->o.quorum)) {
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
        if (!r || !r->held || r->holder.client == c->id
            || stale(g->cl, r->holder.client, r->holder.attempt))
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

static char *report_of(const struct graph *gp)
{
    const struct graph g = *gp;
    ns_lock_cluster *cl = g.cl;
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
    /* A cycle line follows one path (each client's first blocked holder)
     * and may show fewer clients than are stuck: in the staged three-way
     * race "a -> b -> a" while c is just as deadlocked.  Name them all. */
    if (cy->len) {
        g_string_append(s, "deadlocked:");
        bool first = true;
        for (guint i = 0; i < g.n; i++)
            if (blocked(&g, i)) {
                ns_lock_client *c = g_ptr_array_index(cl->clients, i);
                g_string_append_printf(s, "%s %s", first ? "" : ",", ns_host_name(c->host));
                first = false;
            }
        g_string_append_c(s, '\n');
    }
    for (guint i = 0; i < cy->len; i++)
        g_string_append_printf(s, "cycle: %s\n", (char *)g_ptr_array_index(cy, i));
    g_ptr_array_free(cy, TRUE);
    return g_string_free(s, FALSE);
}

char *ns_lock_waiting_report(ns_lock_cluster *cl)
{
    struct graph g;
    graph_build(&g, cl);
    char *s = report_of(&g);
    graph_free(&g);
    return s;
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

static char *render_of(const struct graph *g, bool dot);

/* The first deadlock's wait-for graph, in the three forms, taken when the
 * oracle sees it: later the graph moves on (a detector aborts its victim,
 * other clients queue behind the blocked ones), and the issue asks for the
 * graph at the moment the deadlock forms. */
static void snapshot_first_deadlock(ns_lock_cluster *cl, const struct graph *g)
{
    cl->deadlock_txt = report_of(g);
    cl->deadlock_dot = render_of(g, true);
    cl->deadlock_mmd = render_of(g, false);
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
        if (cl->first_deadlock < 0) {
            cl->first_deadlock = ns_sim_now(cl->sim);
            snapshot_first_deadlock(cl, &g);
        }
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

/* Whether blocked client `start` reaches itself: edges go from a blocked
 * waiter to the blocked holders of its current resource.  O(n + edges). */
static bool reaches_itself(const struct graph *g, guint start)
{
    ns_lock_cluster *cl = g->cl;
    bool *seen = g_new0(bool, g->n);
    int *stack = g_new(int, g->n);
    int top = 0;
    bool cyclic = false;
    stack[top++] = (int)start;
    seen[start] = true;
    while (top > 0 && !cyclic) {
        ns_lock_client *c = g_ptr_array_index(cl->clients, (guint)stack[--top]);
        for (unsigned sv = 0; sv < cl->n && !cyclic; sv++) {
            const struct lock_res *r = ns__lock_server_find(&cl->srv[sv], c->res[c->cur].name);
            if (!r || !r->held || r->holder.client == c->id
                || stale(cl, r->holder.client, r->holder.attempt))
                continue;
            int h = client_index(cl, r->holder.client);
            if (h < 0 || !blocked(g, (guint)h))
                continue;
            if (h == (int)start)
                cyclic = true;
            else if (!seen[h]) {
                seen[h] = true;
                stack[top++] = h;
            }
        }
    }
    g_free(seen);
    g_free(stack);
    return cyclic;
}

/* The ground truth a detector's choice is judged by: it reads the tables
 * as they are at this instant, which no detector can. */
enum ns__lock_truth ns__lock_victim_truth(ns_lock_cluster *cl, uint32_t id, uint32_t attempt)
{
    int i = client_index(cl, id);
    if (i < 0)
        return NS__LOCK_MOOT;
    const ns_lock_client *c = g_ptr_array_index(cl->clients, (guint)i);
    if (c->attempt != attempt
        || (c->state != NS_LOCK_ACQUIRING && c->state != NS_LOCK_COMMITTING))
        return NS__LOCK_MOOT;                    /* a VICTIM would be ignored */
    struct graph g;
    graph_build(&g, cl);
    bool on = blocked(&g, (guint)i) && reaches_itself(&g, (guint)i);
    graph_free(&g);
    return on ? NS__LOCK_DEADLOCKED : NS__LOCK_PHANTOM;
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
static char *render_of(const struct graph *gp, bool dot)
{
    const struct graph g = *gp;
    ns_lock_cluster *cl = g.cl;
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
    return g_string_free(s, FALSE);
}

static char *render(ns_lock_cluster *cl, bool dot)
{
    struct graph g;
    graph_build(&g, cl);
    char *s = render_of(&g, dot);
    graph_free(&g);
    return s;
}

char *ns_lock_waitfor_dot(ns_lock_cluster *cl) { return render(cl, true); }
char *ns_lock_waitfor_mermaid(ns_lock_cluster *cl) { return render(cl, false); }

char *ns_lock_deadlock_report(const ns_lock_cluster *cl) { return g_strdup(cl->deadlock_txt); }
char *ns_lock_deadlock_dot(const ns_lock_cluster *cl) { return g_strdup(cl->deadlock_dot); }
char *ns_lock_deadlock_mermaid(const ns_lock_cluster *cl) { return g_strdup(cl->deadlock_mmd); }
