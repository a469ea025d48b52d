/* lock_detector.c — a deadlock detector that collects the wait-for graph
 * over the network, finds a cycle and aborts a victim.  A `detect` client
 * runs one for its own long waits (lock_detect.c); a host of its own may
 * run one every `period` (ns_lock_detector_new), for clients of any
 * queueing strategy.
 *
 * A round: a WFG query to every lock server; each answers with the
 * wait-for entries of its table (per contended resource: the holder and
 * the queued waiters, with attempt, timestamp, address and locks held
 * there) and a WFGEND counting its datagrams.  The round is judged when
 * every server's answer is complete, or after `collect_timeout` with the
 * answers it has: a crashed or partitioned server cannot hang detection,
 * and a server that did not answer is judged unable to grant anything.
 *
 * From the answers the detector finds which waiters are blocked, by the
 * same reduction as the oracle (a waiter is free when enough servers could
 * still grant it, once everyone ahead of it there that is free has gone),
 * since with quorums an edge to one holder is not a deadlock: another
 * server may grant instead.  Entries of an attempt older than the newest
 * its client shows elsewhere are ignored (on their way out).  Among
 * blocked clients on a cycle (edges from a waiter to the holders it is
 * queued behind) it picks the victim by its policy (youngest by default:
 * it has waited least), traces the cycle through it that it found
 * (lock_cycle.c: the one the oracle's report names too) and sends it a
 * VICTIM naming the attempt it saw;
 * the victim, if still in phase one of that attempt, aborts, releases
 * everything and retries after its backoff, keeping its timestamp so that
 * it is not chosen forever.  It reads nothing of the clients' memory:
 * only the answers (names, for traces, aside).
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
 * Detectors that share a policy mostly agree on the victim; phantoms come
 * mostly from detectors that disagree (tests/test_lock_detect.c measures
 * both). */
#include <string.h>

#include "lock_priv.h"

#define DETECTOR_KEY    "lock.detect"
#define DETECTORS_KEY   "lock.detectors"     /* the dedicated ones, by host */
#define VICTIMS_KEY     "lock.victims"       /* (cluster, client, attempt) chosen */
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

/* ---- a detector: a `detect` client's, or on a host of its own ---- */

/* One entry of one server's answer. */
struct item {
    unsigned server;
    unsigned pos;                /* 0: the holder; k: the k-th waiter */
    char     name[NS_LOCK_NAME_MAX + 1];
    struct lock_wfg_entry e;
};

struct ns_lock_detector {
    ns_lock_cluster *cl;
    ns_host    *host;
    uint32_t    id;              /* the host id: in queries, and VICTIM's aux */
    ns_lock_client *client;      /* the client it runs for, or NULL on a
                                    dedicated host (not owned) */
    enum ns_lock_victim victim;
    ns_time_t   collect;         /* collect_timeout */
    ns_time_t   period;          /* dedicated: between rounds */
    ns_udp     *sock;            /* its own port: the answers come here */
    ns_event_id tick;            /* dedicated: the next round */
    bool        tick_weak;       /* ... which keeps no run alive: nobody
                                    waited when it was scheduled */
    uint32_t    round;           /* the current or last round */
    bool        collecting;
    ns_event_id deadline;        /* collect_timeout after the queries */
    uint64_t    got[NS_LOCK_MAX_SERVERS];    /* WFG datagrams, this round */
    int64_t     expect[NS_LOCK_MAX_SERVERS]; /* their number per WFGEND; -1 */
    GArray     *items;           /* struct item, this round's, arrival order */
};

static void detector_free(gpointer p)
{
    struct ns_lock_detector *d = p;
    g_array_free(d->items, TRUE);
    g_free(d);
}

static const char *dname(const struct ns_lock_detector *d)
{
    return ns_host_name(d->host);
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
    const struct ns_lock_detector *d;
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

static bool answered(const struct ns_lock_detector *d, unsigned s)
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
    return n >= v->d->cl->o.quorum;
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
        for (unsigned s = 0; s < v->d->cl->n; s++)
            possible += could_grant(v, i, s, x->name);
        if (possible < v->d->cl->o.quorum)
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

/* Tells the victim to give up the attempt the graph showed: a client's
 * detector that names its own client aborts it at once; any other victim
 * gets a VICTIM. */
/* Whether (client, attempt) of cl is chosen for the first time, by any
 * detector.  A victim that has not aborted yet (its VICTIM lost, or held
 * up by an ARP exchange that lost a frame) is picked again by every round
 * and by every other detector that sees the same cycle: those are
 * re-sends of one choice, not new victims. */
static bool first_choice(ns_lock_cluster *cl, uint32_t client, uint32_t attempt)
{
    GHashTable *seen = ns_sim_attached(cl->sim, VICTIMS_KEY);
    if (!seen) {
        seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                     (GDestroyNotify)g_bytes_unref, NULL);
        ns_sim_attach(cl->sim, VICTIMS_KEY, seen, (GDestroyNotify)g_hash_table_destroy);
    }
    struct { const void *cl; uint32_t client, attempt; } key;
    memset(&key, 0, sizeof key);
    key.cl = cl;
    key.client = client;
    key.attempt = attempt;
    GBytes *b = g_bytes_new(&key, sizeof key);
    if (g_hash_table_contains(seen, b)) {
        g_bytes_unref(b);
        return false;
    }
    g_hash_table_add(seen, b);
    return true;
}

static void strike(struct ns_lock_detector *d, const struct node *v)
{
    static const char *const truth[] = { "no", "yes", "moot" };
    ns_lock_cluster *cl = d->cl;
    enum ns__lock_truth t = ns__lock_victim_truth(cl, v->e.client, v->e.attempt);
    bool first = first_choice(cl, v->e.client, v->e.attempt);
    cl->victims += first;
    cl->phantoms += first && t == NS__LOCK_PHANTOM;
    LOCK_TRACE(cl->sim, "lock.victim", dname(d), "victim=%s attempt=%u resource=%s policy=%s "
               "phantom=%s resend=%s", ns__lock_client_name(cl, v->e.client), v->e.attempt,
               v->res, ns_lock_victim_name(d->victim), truth[t], first ? "no" : "yes");
    ns_lock_client *c = d->client;
    if (c && v->e.client == c->id && v->e.attempt == c->attempt) {
        ns__lock_client_abort(c, "deadlock victim");
        return;
    }
    struct lock_msg m = { .type = LM_VICTIM, .client = v->e.client, .attempt = v->e.attempt,
                          .aux = d->id };
    g_strlcpy(m.name, v->res, sizeof m.name);
    ns__lock_send(d->sock, v->e.addr, v->e.port, &m);
}

/* The cycle through the victim the judgement found, as "c>a>b>c" from
 * the victim (lock_cycle.c's rule: through its whole deadlocked component
 * when that is small, as the oracle's report names it). */
static char *cycle_text(const struct view *v, guint victim)
{
    bool *adj = g_new0(bool, (gsize)v->n * v->n);
    guint *path = g_new(guint, v->n);
    for (guint a = 0; a < v->n; a++)
        for (guint b = 0; b < v->n; b++)
            adj[a * v->n + b] = a != b && is_blocked(v, a) && is_blocked(v, b)
                                && waits_for(v, a, b);
    guint len = ns__lock_cycle_through(adj, v->n, victim, path);
    GString *s = g_string_new(NULL);
    for (guint k = 0; k <= len && len > 0; k++)
        g_string_append_printf(s, "%s%s", k ? ">" : "",
                               ns__lock_client_name(v->d->cl, v->nodes[path[k % len]].e.client));
    g_free(adj);
    g_free(path);
    return g_string_free(s, FALSE);
}

static void conclude(struct ns_lock_detector *d)
{
    ns_lock_cluster *cl = d->cl;
    ns_event_cancel(cl->sim, d->deadline);
    d->deadline = NS_EVENT_NONE;
    d->collecting = false;
    if (d->client && d->client->state != NS_LOCK_ACQUIRING) {
        LOCK_TRACE(cl->sim, "lock.detect", dname(d), "round=%u event=dropped client=%s",
                   d->round, ns_lock_state_name(d->client->state));
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
            && (victim < 0 || better_victim(d->victim, &v.nodes[i], &v.nodes[victim])))
            victim = (int)i;
    }
    for (unsigned s = 0; s < cl->n; s++)
        told += answered(d, s);
    char *cycle = victim >= 0 ? cycle_text(&v, (guint)victim) : g_strdup("none");
    LOCK_TRACE(cl->sim, "lock.detect", dname(d), "round=%u event=judged answered=%u/%u "
               "entries=%u blocked=%u victim=%s cycle=%s", d->round, told, cl->n,
               d->items->len, nblocked,
               victim >= 0 ? ns__lock_client_name(cl, v.nodes[victim].e.client) : "none",
               cycle);
    g_free(cycle);
    if (victim >= 0)
        strike(d, &v.nodes[victim]);
    g_free(v.nodes);
}

static bool complete(const struct ns_lock_detector *d)
{
    for (unsigned s = 0; s < d->cl->n; s++)
        if (d->expect[s] < 0 || d->got[s] < (uint64_t)d->expect[s])
            return false;
    return true;
}

static void deadline_fire(ns_sim *sim, void *arg)
{
    struct ns_lock_detector *d = arg;
    d->deadline = NS_EVENT_NONE;
    if (!d->collecting)
        return;
    if (!ns_host_is_up(d->host)) {           /* its memory is gone */
        d->collecting = false;
        return;
    }
    if (ns_host_is_paused(d->host)) {        /* judged when it runs again */
        d->deadline = ns_event_after(sim, d->collect, deadline_fire, d);
        return;
    }
    conclude(d);
}

static void on_answer(ns_udp *u, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)u;
    (void)sport;
    struct ns_lock_detector *d = ud;
    struct lock_msg m;
    struct lock_wfg_entry e[LOCK_WFG_MAX];
    if (!d->collecting || !ns__lock_decode(p, &m) || m.client != d->id || m.attempt != d->round)
        return;
    int s = ns__lock_server_of(d->cl, src);
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

void ns__lock_detector_round(struct ns_lock_detector *d)
{
    ns_lock_cluster *cl = d->cl;
    if (d->collecting)
        return;                  /* collect_timeout longer than the interval */
    d->round++;
    d->collecting = true;
    g_array_set_size(d->items, 0);
    for (unsigned s = 0; s < cl->n; s++) {
        d->got[s] = 0;
        d->expect[s] = -1;
    }
    LOCK_TRACE(cl->sim, "lock.detect", dname(d), "round=%u event=query servers=%u", d->round,
               cl->n);
    struct lock_msg q = { .type = LM_WFG_QUERY, .client = d->id, .attempt = d->round };
    for (unsigned s = 0; s < cl->n; s++)
        ns__lock_send(d->sock, ns_host_addr(cl->srv[s].host), NS_LOCK_PORT, &q);
    d->deadline = ns_event_after(cl->sim, d->collect, deadline_fire, d);
}

/* A detector on h with its own port, living as long as the host. */
static struct ns_lock_detector *detector_new(ns_lock_cluster *cl, ns_host *h,
                                          enum ns_lock_victim victim, ns_time_t collect,
                                          GError **error)
{
    ns_udp *sock = ns_udp_bind(h, 0, error);
    if (!sock)
        return NULL;
    struct ns_lock_detector *d = g_new0(struct ns_lock_detector, 1);
    d->cl = cl;
    d->host = h;
    d->id = ns_host_id(h);
    d->victim = victim;
    d->collect = collect > 0 ? collect : COLLECT_DEFAULT;
    d->sock = sock;
    d->items = g_array_new(FALSE, FALSE, sizeof(struct item));
    ns_udp_on_receive(sock, on_answer, d);
    ns__lock_label_port(cl->sim, sock);
    ns_host_attach(h, DETECTOR_KEY, d, detector_free);
    return d;
}

const ns_lock_cluster *ns__lock_detector_cluster(const ns_host *h)
{
    const struct ns_lock_detector *d = ns_host_attached(h, DETECTOR_KEY);
    return d ? d->cl : NULL;
}

struct ns_lock_detector *ns__lock_detector_of(ns_lock_client *c)
{
    struct ns_lock_detector *d = ns_host_attached(c->host, DETECTOR_KEY);
    if (d)
        return d;
    GError *err = NULL;
    d = detector_new(c->cl, c->host, c->o.victim, c->o.collect_timeout, &err);
    if (!d) {                                    /* no port left: no detection */
        LOCK_TRACE(c->cl->sim, "lock.detect", ns_host_name(c->host),
                   "event=unavailable error=%s", err->message);
        g_error_free(err);
        return NULL;
    }
    d->client = c;
    return d;
}

/* ---- a detector on a host of its own, every `period` ---- */

void ns_lock_detector_opts_defaults(struct ns_lock_detector_opts *o)
{
    memset(o, 0, sizeof *o);
    o->period = 100 * NS_MSEC;
    o->victim = NS_LOCK_VICTIM_YOUNGEST;
    o->collect_timeout = COLLECT_DEFAULT;
}

/* Whether any client of cl is waiting for a lock now. */
static bool anyone_waits(const ns_lock_cluster *cl)
{
    for (guint i = 0; i < cl->clients->len; i++)
        if (ns_lock_client_state(g_ptr_array_index(cl->clients, i)) == NS_LOCK_ACQUIRING)
            return true;
    return false;
}

static void tick(ns_sim *sim, void *arg);

/* The next round, one period on.  While nobody waits it is a weak event:
 * it still fires while anything else happens, but a detector alone does
 * not keep a run going forever (sim:run() without a limit ends as it
 * would without it).  ns__lock_detectors_wake makes it strong again when
 * a client starts waiting, so a deadlock that forms after the last other
 * event is still found. */
static void schedule_tick(struct ns_lock_detector *d, ns_sim *sim)
{
    d->tick_weak = !anyone_waits(d->cl);
    d->tick = d->tick_weak ? ns_event_after_weak(sim, d->period, tick, d)
                           : ns_event_after(sim, d->period, tick, d);
}

/* A round every period while the host is up and running: a crashed or
 * paused detector skips its turns, as a stopped process would. */
static void tick(ns_sim *sim, void *arg)
{
    struct ns_lock_detector *d = arg;
    schedule_tick(d, sim);
    if (ns_host_is_up(d->host) && !ns_host_is_paused(d->host))
        ns__lock_detector_round(d);
}

void ns__lock_detectors_wake(ns_lock_cluster *cl)
{
    /* every attempt of every client comes here: most clusters have no
     * dedicated detector, and finding the sim's list costs a search */
    if (cl->dedicated == 0)
        return;
    GPtrArray *all = ns_sim_attached(cl->sim, DETECTORS_KEY);
    for (guint i = 0; all && i < all->len; i++) {
        struct ns_lock_detector *d = g_ptr_array_index(all, i);
        if (d->cl != cl || !d->tick_weak)
            continue;
        ns_time_t at = ns_event_time(cl->sim, d->tick);
        if (at == NS_TIME_MAX)
            continue;
        ns_event_cancel(cl->sim, d->tick);
        d->tick = ns_event_at(cl->sim, at, tick, d, NS_EVENT_STRONG, NULL);
        d->tick_weak = false;
    }
}

static void array_free(gpointer p)
{
    g_ptr_array_free(p, TRUE);
}

ns_lock_detector *ns_lock_detector_new(ns_lock_cluster *cl, ns_host *h,
                                       const struct ns_lock_detector_opts *o, GError **error)
{
    g_return_val_if_fail(cl && h && o, NULL);
    if (o->period <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock detector '%s': period must be > 0", ns_host_name(h));
        return NULL;
    }
    if (ns_host_attached(h, DETECTOR_KEY)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "host '%s' runs a lock detector already", ns_host_name(h));
        return NULL;
    }
    if (!ns__lock_check_host_free(cl, cl->sim, h, error))
        return NULL;
    if (ns__lock_client_on(cl, h)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "lock detector '%s': the host is a lock client; a detector needs a "
                    "host of its own (a `detect` client has its own detector)",
                    ns_host_name(h));
        return NULL;
    }
    if ((unsigned)o->victim >= G_N_ELEMENTS(victim_names)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock detector '%s': victim policy %d is unknown", ns_host_name(h),
                    (int)o->victim);
        return NULL;
    }
    if (!ns__lock_check_detector_paths(cl, h, error))
        return NULL;
    struct ns_lock_detector *d = detector_new(cl, h, o->victim, o->collect_timeout, error);
    if (!d)
        return NULL;
    d->period = o->period;
    schedule_tick(d, cl->sim);
    GPtrArray *all = ns_sim_attached(cl->sim, DETECTORS_KEY);
    if (!all) {
        all = g_ptr_array_new();
        ns_sim_attach(cl->sim, DETECTORS_KEY, all, array_free);
    }
    g_ptr_array_add(all, d);
    cl->dedicated++;                     /* never fewer: freed with the sim */
    return d;
}

/* One rule, whichever comes first: a dedicated detector and lock clients
 * never share a host.  Sharing would either make a `detect` client adopt
 * the detector's policy (its own victim and collect_timeout silently
 * ignored) or, the other way round, fail only once the client first
 * waited; refusing both at creation keeps the outcome independent of
 * timing. */
bool ns__lock_detector_host_free(ns_host *h, GError **error)
{
    const struct ns_lock_detector *d = ns_host_attached(h, DETECTOR_KEY);
    if (d && !d->client) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "lock client '%s': the host runs a lock detector; a detector needs a "
                    "host of its own", ns_host_name(h));
        return false;
    }
    return true;
}

uint64_t ns_lock_detector_rounds(const ns_lock_detector *d)
{
    return d->round;
}

const char *ns__lock_peer_name(const ns_lock_cluster *cl, uint32_t id)
{
    if (ns__lock_client_by_id(cl, id))
        return ns__lock_client_name(cl, id);
    GPtrArray *all = ns_sim_attached(cl->sim, DETECTORS_KEY);
    for (guint i = 0; all && i < all->len; i++) {
        const struct ns_lock_detector *d = g_ptr_array_index(all, i);
        if (d->id == id)
            return ns_host_name(d->host);
    }
    return "?";
}
