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
    int   *comp;                 /* blocked: strongly connected component of
                                    the blocked-waits-for-blocked graph; -1
                                    for clients that are not blocked */
    bool  *on_cycle;             /* blocked and in a component of two or
                                    more: a member of a deadlock cycle */
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

/* Server sv's record of the resource c is acquiring, or NULL; NULL too
 * once c is past its last resource (entering, working, leaving, done),
 * when it waits for nothing and has no current resource to read. */
static const struct lock_res *current_res(const struct lock_server *sv, const ns_lock_client *c)
{
    return c->cur < c->nres ? ns__lock_server_find(sv, c->res[c->cur].name) : NULL;
}

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
    const struct lock_res *r = current_res(sv, c);
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

static void find_components(struct graph *g);

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
    find_components(g);
}

static void graph_free(struct graph *g)
{
    g_free(g->waiting);
    g_free(g->free_);
    g_free(g->comp);
    g_free(g->on_cycle);
}

static bool blocked(const struct graph *g, guint i)
{
    return g->waiting[i] && !g->free_[i];
}

/* The client whose entry on server s holds c's current resource, as a
 * client index, when c truly waits for it there (the entry is another
 * client's and of an attempt it has not left); -1 otherwise. */
static int waits_on(const struct graph *g, const ns_lock_client *c, unsigned s)
{
    const struct lock_res *r = current_res(&g->cl->srv[s], c);
    if (!r || !r->held || r->holder.client == c->id
        || stale(g->cl, r->holder.client, r->holder.attempt))
        return -1;
    return client_index(g->cl, r->holder.client);
}

/* The blocked client i's edge through server s in the graph of blocked
 * clients waiting for blocked clients, or -1.  Crashed holders are not
 * in it (they wait for nobody), so a chain ending at one has no cycle. */
static int blocked_edge(const struct graph *g, guint i, unsigned s)
{
    const ns_lock_client *c = g_ptr_array_index(g->cl->clients, i);
    int h = waits_on(g, c, s);
    return h >= 0 && blocked(g, (guint)h) ? h : -1;
}

/* Tarjan's strongly connected components over blocked_edge.  A deadlock
 * cycle is exactly a component of two or more clients (an edge never
 * loops back to its own client); blocked clients outside every such
 * component wait, directly or down a chain, behind a cycle or a crashed
 * holder.  Recursion depth is at most the number of blocked clients. */
struct tarjan {
    const struct graph *g;
    int  *index, *low, *stack;
    bool *on_stack;
    int   next, top, ncomp;
};

static void strong_connect(struct tarjan *t, int v)
{
    t->index[v] = t->low[v] = t->next++;
    t->stack[t->top++] = v;
    t->on_stack[v] = true;
    for (unsigned s = 0; s < t->g->cl->n; s++) {
        int h = blocked_edge(t->g, (guint)v, s);
        if (h < 0)
            continue;
        if (t->index[h] < 0) {
            strong_connect(t, h);
            t->low[v] = MIN(t->low[v], t->low[h]);
        } else if (t->on_stack[h]) {
            t->low[v] = MIN(t->low[v], t->index[h]);
        }
    }
    if (t->low[v] != t->index[v])
        return;
    int w;
    do {
        w = t->stack[--t->top];
        t->on_stack[w] = false;
        t->g->comp[w] = t->ncomp;
    } while (w != v);
    t->ncomp++;
}

static void find_components(struct graph *g)
{
    guint n = g->n ? g->n : 1;
    g->comp = g_new(int, n);
    g->on_cycle = g_new0(bool, n);
    for (guint i = 0; i < g->n; i++)
        g->comp[i] = -1;
    struct tarjan t = { g, g_new(int, n), g_new(int, n), g_new(int, n), g_new0(bool, n), 0, 0, 0 };
    for (guint i = 0; i < g->n; i++)
        t.index[i] = -1;
    for (guint i = 0; i < g->n; i++)
        if (blocked(g, i) && t.index[i] < 0)
            strong_connect(&t, (int)i);
    int *size = g_new0(int, t.ncomp ? t.ncomp : 1);
    for (guint i = 0; i < g->n; i++)
        if (g->comp[i] >= 0)
            size[g->comp[i]]++;
    for (guint i = 0; i < g->n; i++)
        g->on_cycle[i] = g->comp[i] >= 0 && size[g->comp[i]] > 1;
    g_free(size);
    g_free(t.index);
    g_free(t.low);
    g_free(t.stack);
    g_free(t.on_stack);
}

/* Whether i's wait through server s is an edge of a deadlock cycle: both
 * ends in the same component of two or more.  Only these are drawn red. */
static bool cycle_edge(const struct graph *g, guint i, unsigned s)
{
    int h = blocked_edge(g, i, s);
    return h >= 0 && g->on_cycle[i] && g->comp[h] == g->comp[i];
}

/* One cycle through the component of `first` (its smallest client
 * index), chosen by lock_cycle.c's rule (through every member when the
 * component is small and such a cycle exists, as a detector's judgement
 * names it; else the shortest through `first`), written from `first`,
 * "a -> b -> c -> a".  A component may hold several cycles; the members
 * line names them all.  on_it (n flags, or NULL) gets the cycle's
 * clients set. */
static char *cycle_of(const struct graph *g, guint first, bool *on_it)
{
    bool *adj = g_new0(bool, (gsize)g->n * g->n);
    guint *path = g_new(guint, g->n);
    for (guint i = 0; i < g->n; i++)
        for (unsigned s = 0; s < g->cl->n; s++)
            if (cycle_edge(g, i, s))
                adj[i * g->n + (guint)blocked_edge(g, i, s)] = true;
    guint len = ns__lock_cycle_through(adj, g->n, first, path);
    GString *s = g_string_new(NULL);
    for (guint k = 0; k <= len && len > 0; k++) {
        guint idx = path[k % len];
        ns_lock_client *c = g_ptr_array_index(g->cl->clients, idx);
        g_string_append_printf(s, "%s%s", k ? " -> " : "", ns_host_name(c->host));
        if (on_it)
            on_it[idx] = true;
    }
    g_free(adj);
    g_free(path);
    return g_string_free(s, FALSE);
}

/* Whether i is the first (smallest index) member of its cycle component:
 * each deadlock is then named once, by its first member. */
static bool first_of_cycle(const struct graph *g, guint i)
{
    if (!g->on_cycle[i])
        return false;
    for (guint k = 0; k < i; k++)
        if (g->comp[k] == g->comp[i])
            return false;
    return true;
}

/* Deadlock cycles, one per component, as "a -> b -> a". */
static GPtrArray *cycles(const struct graph *g)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < g->n; i++)
        if (first_of_cycle(g, i))
            g_ptr_array_add(out, cycle_of(g, i, NULL));
    return out;
}

/* ", ls2 ls3 [down]": the servers c asked for its current resource that
 * are down without having answered.  No answer comes while they stay
 * down; named so that a client stuck on a server that never restarts is
 * not reported as waiting for "nobody".  True if any was named. */
static bool append_down_servers(GString *s, const ns_lock_cluster *cl,
                                const ns_lock_client *c, bool after_holders)
{
    bool any = false;
    for (unsigned sv = 0; sv < cl->n && c->cur < c->nres; sv++) {
        uint8_t st = c->res[c->cur].st[sv];
        if ((st != SS_SENT && st != SS_QUEUED) || ns_host_is_up(cl->srv[sv].host))
            continue;
        g_string_append_printf(s, "%s%s", any ? " " : after_holders ? ", " : "",
                               ns_host_name(cl->srv[sv].host));
        any = true;
    }
    if (any)
        g_string_append(s, " [down]");
    return any;
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
            const struct lock_res *r = current_res(&cl->srv[sv], c);
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
    if (!append_down_servers(s, cl, c, any) && !any)
        g_string_append(s, "nobody (requests in flight)");
}

/* Appends "name, name" for the clients with want(i); returns how many. */
static unsigned append_names(GString *s, const struct graph *g,
                             bool (*want)(const struct graph *, guint))
{
    unsigned n = 0;
    for (guint i = 0; i < g->n; i++)
        if (want(g, i)) {
            ns_lock_client *c = g_ptr_array_index(g->cl->clients, i);
            g_string_append_printf(s, "%s%s", n++ ? ", " : "", ns_host_name(c->host));
        }
    return n;
}

static bool is_on_cycle(const struct graph *g, guint i) { return g->on_cycle[i]; }
static bool is_behind(const struct graph *g, guint i) { return blocked(g, i) && !g->on_cycle[i]; }

/* A crashed client without lease that a blocked client waits for. */
static bool is_dead_holder(const struct graph *g, guint i)
{
    const ns_lock_client *c = g_ptr_array_index(g->cl->clients, i);
    if (c->state != NS_LOCK_CRASHED || g->free_[i])
        return false;
    for (guint j = 0; j < g->n; j++) {
        if (!blocked(g, j))
            continue;
        const ns_lock_client *w = g_ptr_array_index(g->cl->clients, j);
        for (unsigned s = 0; s < g->cl->n; s++)
            if (waits_on(g, w, s) == (int)i)
                return true;
    }
    return false;
}

/* Who can never proceed, split by why: the members of deadlock cycles
 * ("deadlocked: a, c, d (cycle)") and the clients stuck behind them
 * ("blocked behind them: b"): no cycle member waits for them, so they
 * could go on if the cycles broke, and aborting one of them breaks
 * nothing.  Without a cycle, the clients stuck behind a crashed holder
 * without lease.  Nothing when nobody is blocked. */
static void append_blocked_summary(GString *s, const struct graph *g)
{
    GString *cyc = g_string_new(NULL), *behind = g_string_new(NULL);
    unsigned ncyc = append_names(cyc, g, is_on_cycle), nbehind = append_names(behind, g, is_behind);
    if (ncyc) {
        g_string_append_printf(s, "deadlocked: %s (cycle)", cyc->str);
        if (nbehind)
            g_string_append_printf(s, "; blocked behind them: %s", behind->str);
        g_string_append_c(s, '\n');
    } else if (nbehind) {
        /* no cycle: a chain ends at a crashed holder (or at a server
         * that stays down: the lines above name it "[down]") */
        GString *dead = g_string_new(NULL);
        if (append_names(dead, g, is_dead_holder))
            g_string_append_printf(s, "blocked behind crashed %s: %s\n", dead->str, behind->str);
        else
            g_string_append_printf(s, "blocked: %s\n", behind->str);
        g_string_free(dead, TRUE);
    }
    g_string_free(cyc, TRUE);
    g_string_free(behind, TRUE);
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
    append_blocked_summary(s, &g);
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

/* Whether every "name#attempt" of `part` is in `whole` (both
 * space-separated). */
static bool members_within(const char *part, const char *whole)
{
    char **want = g_strsplit(part, " ", -1), **have = g_strsplit(whole, " ", -1);
    bool all = true;
    for (char **w = want; all && *w; w++)
        all = g_strv_contains((const char *const *)have, *w);
    g_strfreev(want);
    g_strfreev(have);
    return all;
}

/* The deadlock counted before that `key` belongs to, or -1.  A cycle's
 * key ("cycle a#1 b#1", its members at their attempts) belongs to a
 * counted cycle deadlock whose stored clients include them all: clients
 * on a cycle stay blocked in their attempts, so while any of the
 * deadlock's cycles stands it is the same deadlock, however clients
 * around it come and go (a detector's victim leaves with a new attempt,
 * so a cycle through its retry is new).  Other keys match exactly. */
static int counted_deadlock(const ns_lock_cluster *cl, const char *key)
{
    bool cycle = g_str_has_prefix(key, "cycle ");
    for (guint i = 0; i < cl->deadlock_sets->len; i++) {
        const char *old = g_ptr_array_index(cl->deadlock_sets, i);
        if (strcmp(old, key) == 0)
            return (int)i;
        if (cycle && g_str_has_prefix(old, "cycle ")
            && members_within(key + strlen("cycle "), old + strlen("cycle ")))
            return (int)i;
    }
    return -1;
}

/* Records a deadlock unless it was counted before: `key` (owned) names
 * it (counted_deadlock), `stored` is what is kept to recognise it later
 * (for a cycle: every client of its component; NULL: the key).  A
 * counted cycle deadlock's stored clients grow with its component.  The
 * first sighting takes the snapshot, traces it, and marks the clients
 * with member(g, i, about) DEADLOCK in the sequence diagram. */
static void note_deadlock(ns_lock_cluster *cl, const struct graph *g, GString *key,
                          const char *stored, const char *blocked_set, const char *cycle,
                          bool (*member)(const struct graph *, guint, guint), guint about)
{
    int old = counted_deadlock(cl, key->str);
    if (old >= 0) {
        char **slot = (char **)&g_ptr_array_index(cl->deadlock_sets, (guint)old);
        if (stored && !members_within(stored + strlen("cycle "), *slot + strlen("cycle "))) {
            char **more = g_strsplit(stored + strlen("cycle "), " ", -1);
            GString *grown = g_string_new(*slot);
            for (char **m = more; *m; m++)
                if (!members_within(*m, *slot + strlen("cycle ")))
                    g_string_append_printf(grown, " %s", *m);
            g_strfreev(more);
            g_free(*slot);
            *slot = g_string_free(grown, FALSE);
        }
        g_string_free(key, TRUE);
        return;
    }
    if (stored)
        g_string_assign(key, stored);
    if (cl->first_deadlock < 0) {
        cl->first_deadlock = ns_sim_now(cl->sim);
        snapshot_first_deadlock(cl, g);
    }
    LOCK_TRACE(cl->sim, "lock.deadlock", NULL, "blocked=%s cycle=%s", blocked_set, cycle);
    for (guint i = 0; i < g->n; i++)
        if (member(g, i, about)) {
            ns_lock_client *c = g_ptr_array_index(cl->clients, i);
            ns_net_diagram_note(c->host, "DEADLOCK");
        }
    g_ptr_array_add(cl->deadlock_sets, g_string_free(key, FALSE));
}

static bool same_cycle(const struct graph *g, guint i, guint first)
{
    return g->on_cycle[i] && g->comp[i] == g->comp[first];
}

static bool waits_for_dead(const struct graph *g, guint i, guint dead)
{
    if (!blocked(g, i))
        return false;
    const ns_lock_client *c = g_ptr_array_index(g->cl->clients, i);
    for (unsigned s = 0; s < g->cl->n; s++)
        if (waits_on(g, c, s) == (int)dead)
            return true;
    return false;
}

static bool any_blocked(const struct graph *g, guint i, guint unused)
{
    (void)unused;
    return blocked(g, i);
}

/* "name#attempt" of client i, appended with a separating space. */
static void append_member(GString *s, const struct graph *g, guint i)
{
    const ns_lock_client *c = g_ptr_array_index(g->cl->clients, i);
    g_string_append_printf(s, "%s%s#%u", s->len ? " " : "", ns_host_name(c->host), c->attempt);
}

/* The cycle deadlock of the component of `first`: new unless the cycle
 * found in it runs among the clients of one counted before. */
static void note_cycle(ns_lock_cluster *cl, const struct graph *g, guint first, const char *all)
{
    bool *on_it = g_new0(bool, g->n);
    char *cycle = cycle_of(g, first, on_it);
    GString *key = g_string_new(NULL), *comp = g_string_new(NULL);
    for (guint k = 0; k < g->n; k++) {
        if (on_it[k])
            append_member(key, g, k);
        if (same_cycle(g, k, first))
            append_member(comp, g, k);
    }
    g_string_prepend(key, "cycle ");
    g_string_prepend(comp, "cycle ");
    note_deadlock(cl, g, key, comp->str, all, cycle, same_cycle, first);
    g_string_free(comp, TRUE);
    g_free(cycle);
    g_free(on_it);
}

/* Counts each deadlock once.  A deadlock is identified by what keeps it
 * standing, not by everyone stuck: a cycle by its members and their
 * attempts, so clients queueing behind it, retrying elsewhere or leaving
 * its component do not make it new, while a cycle formed after an abort
 * (the victim's retry is a new attempt) is a new deadlock; a chain
 * without cycle by the crashed holder (and its attempt) it ends at.
 * Blocked clients with neither (a server that stays down) fall back to
 * the set of them.  Known limit: a component holding a counted cycle
 * and a new one is not counted again. */
void ns__lock_check_deadlock(ns_lock_cluster *cl)
{
    struct graph g;
    graph_build(&g, cl);
    GString *all = g_string_new(NULL);
    for (guint i = 0; i < g.n; i++)
        if (blocked(&g, i))
            append_member(all, &g, i);
    bool named = false;
    for (guint i = 0; all->len && i < g.n; i++) {
        if (first_of_cycle(&g, i)) {
            note_cycle(cl, &g, i, all->str);
            named = true;
        } else if (is_dead_holder(&g, i)) {
            GString *key = g_string_new(NULL);
            append_member(key, &g, i);
            g_string_prepend(key, "crashed ");
            note_deadlock(cl, &g, key, NULL, all->str, "none (a crashed holder)",
                          waits_for_dead, i);
            named = true;
        }
    }
    if (all->len && !named)
        note_deadlock(cl, &g, g_string_new(all->str), NULL, all->str, "none", any_blocked, 0);
    g_string_free(all, TRUE);
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
            const struct lock_res *r = current_res(&cl->srv[sv], c);
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

/* A crashed client's node in DOT or Mermaid: greyed, dashed and labelled
 * "(crashed)", so the picture, not only the text, shows who will never
 * release. */
static void append_crashed_node(GString *s, const char *name, bool dot)
{
    if (dot)
        g_string_append_printf(s, "  \"%s\" [label=\"%s (crashed)\", style=\"dashed,filled\", "
                               "fillcolor=lightgrey];\n", name, name);
    else
        g_string_append_printf(s, "  %s[\"%s (crashed)\"]\n  style %s fill:#ddd,"
                               "stroke-dasharray:5 5\n", name, name, name);
}

/* Edges for DOT / Mermaid: waiter -> holder, labelled resource@server;
 * red only on a deadlock cycle (cycle_edge), never for a client that
 * merely waits behind one or behind a crashed holder.  Crashed holders'
 * nodes come first, marked. */
static char *render_of(const struct graph *gp, bool dot)
{
    const struct graph g = *gp;
    ns_lock_cluster *cl = g.cl;
    GString *s = g_string_new(dot ? "digraph waitfor {\n" : "graph LR\n");
    GString *edges = g_string_new(NULL), *red = g_string_new(NULL);
    bool *crashed_node = g_new0(bool, g.n ? g.n : 1);
    unsigned edge = 0;
    for (guint i = 0; i < g.n; i++) {
        if (!g.waiting[i])
            continue;
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        for (unsigned sv = 0; sv < cl->n; sv++) {
            const struct lock_res *r = current_res(&cl->srv[sv], c);
            if (!r || !r->held || r->holder.client == c->id)
                continue;
            int h = client_index(cl, r->holder.client);
            if (h >= 0 && ((ns_lock_client *)g_ptr_array_index(cl->clients, (guint)h))->state
                              == NS_LOCK_CRASHED)
                crashed_node[h] = true;
            bool cyc = cycle_edge(&g, i, sv);
            const char *hn = ns__lock_client_name(cl, r->holder.client);
            if (dot)
                g_string_append_printf(edges, "  \"%s\" -> \"%s\" [label=\"%s@%s\"%s];\n",
                                       ns_host_name(c->host), hn, r->name,
                                       ns_host_name(cl->srv[sv].host),
                                       cyc ? ", color=red, penwidth=2" : "");
            else
                g_string_append_printf(edges, "  %s -->|%s@%s| %s\n", ns_host_name(c->host),
                                       r->name, ns_host_name(cl->srv[sv].host), hn);
            if (cyc)
                g_string_append_printf(red, "%s%u", red->len ? "," : "", edge);
            edge++;
        }
    }
    for (guint i = 0; i < g.n; i++)
        if (crashed_node[i])
            append_crashed_node(s, ns_host_name(((ns_lock_client *)
                                                 g_ptr_array_index(cl->clients, i))->host), dot);
    g_string_append(s, edges->str);
    if (dot)
        g_string_append(s, "}\n");
    else if (red->len)
        g_string_append_printf(s, "  linkStyle %s stroke:red,stroke-width:2px\n", red->str);
    g_free(crashed_node);
    g_string_free(edges, TRUE);
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
