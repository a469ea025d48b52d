/* lock_detect.c — the `detect` strategy: hold and wait, as `wait`, plus a
 * deadlock detector that collects the wait-for graph over the network.
 *
 * A client that has waited `timeout` for its current resource (and again
 * every `timeout` while it still waits: periodic detection, for as long as
 * a wait lasts) starts a detection round: its detector sends a WFG query
 * to every lock server; each server answers with the wait-for entries of
 * its table (per contended resource: the holder and the queued waiters,
 * with attempt, timestamp, address and locks held) and a WFGEND counting
 * its datagrams.  The round ends when every server's answer is complete,
 * or after `collect_timeout` with the answers it has: a crashed or
 * partitioned server cannot hang detection, and a server that did not
 * answer is judged unable to grant anything.
 *
 * From the answers the detector finds which waiters are blocked, by the
 * same reduction as the oracle (a waiter is free when enough servers could
 * still grant it, once everyone ahead of it there that is free has gone),
 * since with quorums an edge to one holder is not a deadlock: another
 * server may grant instead.  Among blocked clients on a cycle (edges from
 * a waiter to the holders it is queued behind) it picks the victim
 * by the client's `victim` policy (youngest by default: it has waited
 * least) and sends it a VICTIM notice naming the attempt it saw; the
 * victim, if still in phase one of that attempt, aborts, releases
 * everything and retries after the backoff, keeping its timestamp so that
 * it is not chosen forever.  A detector whose client stopped waiting
 * before its round ended drops the round: its own client's progress tells
 * it the graph is out of date.
 *
 * The graph is stale by the collection time, and each server's part is
 * taken at a different moment: the detector may abort a victim of a cycle
 * that has already dissolved (another detector broke it first, a lease
 * expired): a phantom deadlock.  Each choice is judged against the
 * servers' true tables at that moment (ns__lock_victim_truth) and traced:
 * `lock.victim ... phantom=yes` when the victim, still in phase one of
 * that attempt, is on no cycle (it aborts for nothing: counted by
 * ns_lock_n_phantoms), `phantom=moot` when it has already left that
 * attempt (a duplicate notice, which it ignores), `phantom=no` else.
 *
 * Why the detector runs in each waiting client rather than on a dedicated
 * host: the client is the one that knows its wait is long (the threshold
 * is local), it needs no extra always-up coordinator (a single detector
 * host would be the single point of failure majority locking set out to
 * avoid), and concurrent detectors of one deadlock agree on the victim
 * because the policy is a deterministic function of nearly the same
 * graph.  The cost: one query and one answer per server per waiting
 * client per round, and duplicate VICTIM notices (the victim ignores them
 * once it has aborted that attempt).  The detector has its own UDP port on
 * the client's host, and reads nothing from other clients' memory: only
 * the answers. */
#include <string.h>

#include "lock_priv.h"

#define DETECTOR_KEY    "lock.detect"
#define COLLECT_DEFAULT (20 * NS_MSEC)

#define NS_X_STR(name, str) str,
static const char *const victim_names[] = { NS_LOCK_VICTIMS(NS_X_STR) };
#undef NS_X_STR

const char *ns_lock_victim_name(enum ns_lock_victim v)
{
    return (unsigned)v < G_N_ELEMENTS(victim_names) ? victim_names[v] : "?";
}

bool ns_lock_victim_parse(const char *s, enum ns_lock_victim *out, GError **error)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(victim_names); i++)
        if (s && strcmp(s, victim_names[i]) == 0) {
            *out = (enum ns_lock_victim)i;
            return true;
        }
    GString *known = g_string_new(NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(victim_names); i++)
        g_string_append_printf(known, "%s%s", i ? ", " : "", victim_names[i]);
    g_set_error(error, NS_ERROR, NS_ERROR_NOT_FOUND, "unknown victim policy '%s' (known: %s)",
                s ? s : "", known->str);
    g_string_free(known, TRUE);
    return false;
}

uint64_t ns_lock_n_victims(const ns_lock_cluster *cl) { return cl->victims; }
uint64_t ns_lock_n_phantoms(const ns_lock_cluster *cl) { return cl->phantoms; }

/* ---- the detector: one per `detect` client, on the client's host ---- */

/* One entry of one server's answer. */
struct item {
    unsigned server;
    unsigned pos;                /* 0: the holder; k: the k-th waiter */
    char     name[NS_LOCK_NAME_MAX + 1];
    struct lock_wfg_entry e;
};

struct detector {
    ns_lock_client *c;           /* the client it runs for (not owned) */
    ns_udp     *sock;            /* its own port: the answers come here */
    uint32_t    round;           /* the current or last round */
    bool        collecting;
    ns_event_id deadline;        /* collect_timeout after the queries */
    uint64_t    got[NS_LOCK_MAX_SERVERS];    /* WFG datagrams, this round */
    int64_t     expect[NS_LOCK_MAX_SERVERS]; /* their number per WFGEND; -1 */
    GArray     *items;           /* struct item, this round's, arrival order */
};

static void detector_free(gpointer p)
{
    struct detector *d = p;
    g_array_free(d->items, TRUE);
    g_free(d);
}

static const char *cname(const ns_lock_client *c)
{
    return ns_host_name(c->host);
}

static ns_time_t collect_timeout(const ns_lock_client *c)
{
    return c->o.collect_timeout > 0 ? c->o.collect_timeout : COLLECT_DEFAULT;
}

/* ---- the graph the answers describe ---- */

struct node {
    struct lock_wfg_entry e;     /* the newest attempt seen of this client */
    uint16_t held_at[NS_LOCK_MAX_SERVERS]; /* its locks per server */
    unsigned held;               /* ... summed */
    bool     waits, free_;
    const char *res;             /* a resource it waits for (for VICTIM) */
};

struct view {
    const struct detector *d;
    const struct item *it;       /* the round's items */
    guint    nit;
    struct node *nodes;
    guint    n;
};

static int node_of(const struct view *v, uint32_t id)
{
    for (guint i = 0; i < v->n; i++)
        if (v->nodes[i].e.client == id)
            return (int)i;
    return -1;
}

/* An entry of an attempt older than the newest its client shows elsewhere
 * is on its way out (its RELEASE or the newer request supersedes it). */
static bool current(const struct view *v, const struct lock_wfg_entry *e)
{
    int i = node_of(v, e->client);
    return i >= 0 && v->nodes[i].e.attempt == e->attempt;
}

static bool answered(const struct detector *d, unsigned s)
{
    return d->expect[s] >= 0 || d->got[s] > 0;
}

static void collect_nodes(struct view *v)
{
    v->nodes = g_new0(struct node, v->nit ? v->nit : 1);
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        int i = node_of(v, x->e.client);
        if (i < 0) {
            i = (int)v->n++;
            v->nodes[i].e = x->e;
        } else if (x->e.attempt > v->nodes[i].e.attempt) {
            v->nodes[i].e = x->e;
            memset(v->nodes[i].held_at, 0, sizeof v->nodes[i].held_at);
        }
    }
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (current(v, &x->e))
            v->nodes[node_of(v, x->e.client)].held_at[x->server] = x->e.held;
    }
    for (guint i = 0; i < v->n; i++)
        for (unsigned s = 0; s < NS_LOCK_MAX_SERVERS; s++)
            v->nodes[i].held += v->nodes[i].held_at[s];
}

/* Whether client `id` holds `name` on a quorum of the servers that told:
 * then its queued entries for it are cancellations still in flight. */
static bool has_quorum_of(const struct view *v, uint32_t id, const char *name)
{
    bool on[NS_LOCK_MAX_SERVERS] = { false };
    unsigned n = 0;
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (x->pos == 0 && x->e.client == id && current(v, &x->e) && !on[x->server]
            && strcmp(x->name, name) == 0) {
            on[x->server] = true;
            n++;
        }
    }
    return n >= v->d->c->cl->o.quorum;
}

/* A queued entry that still makes its client wait. */
static bool waits_here(const struct view *v, const struct item *x)
{
    return x->pos > 0 && current(v, &x->e) && !has_quorum_of(v, x->e.client, x->name);
}

static bool entry_free(const struct view *v, const struct lock_wfg_entry *e)
{
    if (e->attempt == 0)
        return true;                             /* no holder */
    int i = node_of(v, e->client);
    return i < 0 || !current(v, e) || v->nodes[i].free_;
}

/* Whether server s could grant `name` to node i once the free clients
 * ahead of it there have gone.  Silence counts as no: a server that did
 * not answer may be down.  An answer without the resource means nobody
 * waits for it there: granted already, or on arrival. */
static bool could_grant(const struct view *v, guint i, unsigned s, const char *name)
{
    if (!answered(v->d, s))
        return false;
    const struct lock_wfg_entry *me = &v->nodes[i].e;
    unsigned my_pos = 0;
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (x->server == s && x->e.client == me->client && x->e.attempt == me->attempt
            && strcmp(x->name, name) == 0) {
            if (x->pos == 0)
                return true;
            my_pos = x->pos;
        }
    }
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (x->server != s || x->e.client == me->client || strcmp(x->name, name) != 0)
            continue;
        bool ahead = x->pos == 0 || my_pos == 0 || x->pos < my_pos;
        if (ahead && !entry_free(v, &x->e))
            return false;
    }
    return true;
}

static bool can_proceed(const struct view *v, guint i)
{
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (x->e.client != v->nodes[i].e.client || !waits_here(v, x))
            continue;
        unsigned possible = 0;
        for (unsigned s = 0; s < v->d->c->cl->n; s++)
            possible += could_grant(v, i, s, x->name);
        if (possible < v->d->c->cl->o.quorum)
            return false;
    }
    return true;
}

/* Waiters, then freedom by reduction: what never becomes free is blocked. */
static void reduce(struct view *v)
{
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (waits_here(v, x)) {
            struct node *nd = &v->nodes[node_of(v, x->e.client)];
            if (!nd->waits)
                nd->res = x->name;
            nd->waits = true;
        }
    }
    for (guint i = 0; i < v->n; i++)
        v->nodes[i].free_ = !v->nodes[i].waits;
    for (bool changed = true; changed;) {
        changed = false;
        for (guint i = 0; i < v->n; i++)
            if (!v->nodes[i].free_ && can_proceed(v, i)) {
                v->nodes[i].free_ = true;
                changed = true;
            }
    }
}

static bool is_blocked(const struct view *v, guint i)
{
    return v->nodes[i].waits && !v->nodes[i].free_;
}

/* An edge a -> b: a is queued where b holds.  Waiters queued ahead of a
 * are not edges: a cycle through one need not be broken by aborting it
 * (in locks_transactions.lua c, queued for R1 ahead of b, would close
 * a -> b -> c -> a, yet aborting c leaves a and b deadlocked), and the
 * oracle that judges phantoms draws the same holder edges. */
static bool waits_for(const struct view *v, guint a, guint b)
{
    for (guint k = 0; k < v->nit; k++) {
        const struct item *x = &v->it[k];
        if (x->e.client != v->nodes[a].e.client || !waits_here(v, x))
            continue;
        for (guint j = 0; j < v->nit; j++) {
            const struct item *y = &v->it[j];
            if (y->server == x->server && y->e.client == v->nodes[b].e.client
                && y->pos == 0 && current(v, &y->e) && strcmp(y->name, x->name) == 0)
                return true;
        }
    }
    return false;
}

static bool on_cycle(const struct view *v, guint start)
{
    bool *seen = g_new0(bool, v->n);
    guint *stack = g_new(guint, v->n);
    guint top = 0;
    bool cyclic = false;
    stack[top++] = start;
    seen[start] = true;
    while (top > 0 && !cyclic) {
        guint a = stack[--top];
        for (guint b = 0; b < v->n && !cyclic; b++) {
            if (b == a || !is_blocked(v, b) || !waits_for(v, a, b))
                continue;
            if (b == start)
                cyclic = true;
            else if (!seen[b]) {
                seen[b] = true;
                stack[top++] = b;
            }
        }
    }
    g_free(seen);
    g_free(stack);
    return cyclic;
}

static bool younger(const struct node *a, const struct node *b)
{
    return ns__lock_older(b->e.ts, b->e.client, a->e.ts, a->e.client);
}

/* Whether a makes a better victim than b under the policy. */
static bool better_victim(enum ns_lock_victim policy, const struct node *a, const struct node *b)
{
    switch (policy) {
    case NS_LOCK_VICTIM_OLDEST:
        return !younger(a, b);
    case NS_LOCK_VICTIM_FEWEST:
        return a->held < b->held || (a->held == b->held && younger(a, b));
    default:
        return younger(a, b);
    }
}

/* ---- a round ---- */

/* Tells the victim to give up the attempt the graph showed.  The
 * detector's own client aborts at once; any other gets a VICTIM. */
static void strike(struct detector *d, const struct node *v)
{
    ns_lock_client *c = d->c;
    ns_lock_cluster *cl = c->cl;
    static const char *const truth[] = { "no", "yes", "moot" };
    enum ns__lock_truth t = ns__lock_victim_truth(cl, v->e.client, v->e.attempt);
    cl->victims++;
    cl->phantoms += t == NS__LOCK_PHANTOM;
    LOCK_TRACE(cl->sim, "lock.victim", cname(c), "victim=%s attempt=%u resource=%s policy=%s "
               "phantom=%s", ns__lock_client_name(cl, v->e.client), v->e.attempt, v->res,
               ns_lock_victim_name(c->o.victim), truth[t]);
    if (v->e.client == c->id && v->e.attempt == c->attempt) {
        ns__lock_client_abort(c, "deadlock victim");
        return;
    }
    struct lock_msg m = { .type = LM_VICTIM, .client = v->e.client, .attempt = v->e.attempt,
                          .aux = c->id };
    g_strlcpy(m.name, v->res, sizeof m.name);
    ns__lock_send(d->sock, v->e.addr, v->e.port, &m);
}

static void conclude(struct detector *d)
{
    ns_lock_client *c = d->c;
    ns_event_cancel(c->cl->sim, d->deadline);
    d->deadline = NS_EVENT_NONE;
    d->collecting = false;
    if (c->state != NS_LOCK_ACQUIRING) {
        LOCK_TRACE(c->cl->sim, "lock.detect", cname(c), "round=%u event=dropped client=%s",
                   d->round, ns_lock_state_name(c->state));
        return;
    }
    struct view v = { d, (const struct item *)(void *)d->items->data, d->items->len, NULL, 0 };
    collect_nodes(&v);
    reduce(&v);
    int victim = -1;
    unsigned nblocked = 0, told = 0;
    for (guint i = 0; i < v.n; i++) {
        if (!is_blocked(&v, i))
            continue;
        nblocked++;
        if (on_cycle(&v, i)
            && (victim < 0 || better_victim(c->o.victim, &v.nodes[i], &v.nodes[victim])))
            victim = (int)i;
    }
    for (unsigned s = 0; s < c->cl->n; s++)
        told += answered(d, s);
    LOCK_TRACE(c->cl->sim, "lock.detect", cname(c), "round=%u event=judged answered=%u/%u "
               "entries=%u blocked=%u victim=%s", d->round, told, c->cl->n, d->items->len,
               nblocked, victim >= 0 ? ns__lock_client_name(c->cl, v.nodes[victim].e.client)
                                     : "none");
    if (victim >= 0)
        strike(d, &v.nodes[victim]);
    g_free(v.nodes);
}

static bool complete(const struct detector *d)
{
    for (unsigned s = 0; s < d->c->cl->n; s++)
        if (d->expect[s] < 0 || d->got[s] < (uint64_t)d->expect[s])
            return false;
    return true;
}

static void deadline_fire(ns_sim *sim, void *arg)
{
    struct detector *d = arg;
    d->deadline = NS_EVENT_NONE;
    if (!d->collecting)
        return;
    if (!ns_host_is_up(d->c->host)) {        /* its memory is gone */
        d->collecting = false;
        return;
    }
    if (ns_host_is_paused(d->c->host)) {     /* judged when it runs again */
        d->deadline = ns_event_after(sim, collect_timeout(d->c), deadline_fire, d);
        return;
    }
    conclude(d);
}

static int server_of(const ns_lock_cluster *cl, uint32_t src)
{
    for (unsigned s = 0; s < cl->n; s++)
        if (ns_host_has_addr(cl->srv[s].host, src))
            return (int)s;
    return -1;
}

static void on_answer(ns_udp *u, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)u;
    (void)sport;
    struct detector *d = ud;
    struct lock_msg m;
    struct lock_wfg_entry e[LOCK_WFG_MAX];
    if (!d->collecting || !ns__lock_decode(p, &m) || m.client != d->c->id
        || m.attempt != d->round)
        return;
    int s = server_of(d->c->cl, src);
    if (s < 0)
        return;
    if (m.type == LM_WFG_END) {
        d->expect[s] = (int64_t)MIN(m.token, (uint64_t)G_MAXINT64);
    } else if (m.type == LM_WFG && ns__lock_decode_wfg(p, &m, e)) {
        d->got[s]++;
        for (unsigned k = 0; k < m.flags; k++) {
            if (k == 0 && e[0].attempt == 0)
                continue;                        /* nobody holds it */
            struct item x = { (unsigned)s, k == 0 ? 0 : (unsigned)(m.aux + k - 1), "", e[k] };
            g_strlcpy(x.name, m.name, sizeof x.name);
            g_array_append_val(d->items, x);
        }
    } else {
        return;
    }
    if (complete(d))
        conclude(d);
}

static void start_round(struct detector *d)
{
    ns_lock_client *c = d->c;
    d->round++;
    d->collecting = true;
    g_array_set_size(d->items, 0);
    for (unsigned s = 0; s < c->cl->n; s++) {
        d->got[s] = 0;
        d->expect[s] = -1;
    }
    LOCK_TRACE(c->cl->sim, "lock.detect", cname(c), "round=%u event=query servers=%u",
               d->round, c->cl->n);
    struct lock_msg q = { .type = LM_WFG_QUERY, .client = c->id, .attempt = d->round };
    for (unsigned s = 0; s < c->cl->n; s++)
        ns__lock_send(d->sock, ns_host_addr(c->cl->srv[s].host), NS_LOCK_PORT, &q);
    d->deadline = ns_event_after(c->cl->sim, collect_timeout(c), deadline_fire, d);
}

/* The client's detector, made at its first round: a port of its own on
 * the client's host, living as long as the host. */
static struct detector *detector_of(ns_lock_client *c)
{
    struct detector *d = ns_host_attached(c->host, DETECTOR_KEY);
    if (d)
        return d;
    GError *err = NULL;
    ns_udp *sock = ns_udp_bind(c->host, 0, &err);
    if (!sock) {                                 /* no port left: no detection */
        LOCK_TRACE(c->cl->sim, "lock.detect", cname(c), "event=unavailable error=%s",
                   err->message);
        g_error_free(err);
        return NULL;
    }
    d = g_new0(struct detector, 1);
    d->c = c;
    d->sock = sock;
    d->items = g_array_new(FALSE, FALSE, sizeof(struct item));
    ns_udp_on_receive(sock, on_answer, d);
    ns_host_attach(c->host, DETECTOR_KEY, d, detector_free);
    return d;
}

/* ---- the strategy ---- */

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
    ns__lock_client_set_timer(c, c->o.timeout);
}

/* The wait passed the threshold (again): a round, unless one is still
 * collecting (collect_timeout longer than timeout). */
static void on_timer(ns_lock_client *c)
{
    struct detector *d = detector_of(c);
    if (d && !d->collecting)
        start_round(d);
    ns__lock_client_set_timer(c, c->o.timeout);
}

const struct ns__lock_strategy ns__lock_detect = {
    .name = "detect",
    .queue = true,
    .start = start,
    .on_timer = on_timer,
};
