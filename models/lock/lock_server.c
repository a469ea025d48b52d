/* lock_server.c — one lock server: a lock table per resource with the
 * holder, a FIFO of waiters, a lease and two counters.
 *
 * Invariants: a resource has at most one holder; the waiters never
 * include the holder's client; each grant increments the per-server
 * counter (the naive token) once; the register only grows, written by the
 * current holder (COMMIT).  Requests are identified by (client, attempt):
 * a newer attempt of a client supersedes its older ones, so a lost
 * RELEASE cannot hold a lock against its own client's retry.
 *
 * Age rules (requests flagged LF_DIE or LF_WOUND carry the transaction's
 * timestamp; Rosenkrantz, Stearns and Lewis 1978): under wait-die a
 * request waits only if it is older than the holder and every waiter, so
 * each wait-for edge points from older to younger; under wound-wait the
 * queue is kept oldest first and an older request wounds a younger
 * holder, so every lasting edge points from younger to older.  Either
 * way no cycle can close.
 *
 * Crashes: with `persist` the whole table survives (holders keep their
 * locks, leases restart on recovery).  Without it the volatile part is
 * lost (holders, queues, leases: every lock is free as far as anyone
 * knows), but the register and the grant counter are in stable storage
 * and survive, as fencing counters do in real lock services (Chubby's
 * sequencers and ZooKeeper's zxid/version numbers live in the replicated
 * log, etcd's revision in its WAL).  Why they must: quorum tokens are a
 * quorum register, sound only if no register ever goes back.  A holder A
 * that committed t on {1,2,3}, then B acquiring on {3,4,5}: server 3 is
 * B's only witness of t; were its register reset to 0, B would read a
 * smaller max, get a token <= t, and the storage would reject B (a
 * legitimate later holder) or accept writes out of order.  The register
 * is written before COMMITTED leaves (and the counter before GRANT), so
 * a reply a client counts always describes durable state.  Option
 * `registers_lost` is the what-if that resets them with the table, to
 * show that misordering (tests/test_lock_tokens.c).  The alternative,
 * a restarted server refusing grants until it re-read the registers from
 * a quorum of peers (or waited one maximum TTL), costs a recovery
 * protocol for the same guarantee; stable counters are the common design.
 * Table loss still breaks mutual exclusion at the servers (a new holder
 * may get in while the old one works on): fencing at the storage is what
 * keeps the protected resource safe then, and that needs ordered tokens. */
#include <string.h>

#include "lock_priv.h"

static const char *sname(const struct lock_server *s)
{
    return ns_host_name(s->host);
}

struct lock_res *ns__lock_server_find(const struct lock_server *s, const char *name)
{
    return ns__lock_names_get(&s->by_name, name);
}

static struct lock_res *res_get(struct lock_server *s, const char *name)
{
    struct lock_res *r = ns__lock_server_find(s, name);
    if (!r) {
        r = g_new0(struct lock_res, 1);
        g_strlcpy(r->name, name, sizeof r->name);
        r->waiters = g_array_new(FALSE, FALSE, sizeof(struct lock_waiter));
        r->expiry = NS_TIME_MAX;
        g_ptr_array_add(s->res, r);
        ns__lock_names_add(&s->by_name, r->name, r);
    }
    return r;
}

static void res_free(gpointer p)
{
    struct lock_res *r = p;
    g_array_free(r->waiters, TRUE);
    g_free(r);
}

static void reply(struct lock_server *s, const struct lock_waiter *to, uint8_t type,
                  const struct lock_res *r, uint64_t token, uint64_t aux)
{
    struct lock_msg m = { .type = type, .client = to->client, .attempt = to->attempt,
                          .token = token, .aux = aux };
    ns__lock_name_copy(m.name, r->name);
    ns__lock_send(s->sock, to->addr, to->port, &m);
}

static void on_expiry(ns_sim *sim, void *arg);

static bool older(const struct lock_waiter *a, const struct lock_waiter *b)
{
    return ns__lock_older(a->ts, a->client, b->ts, b->client);
}

/* Wait-die: w may wait only if older than the holder and every waiter. */
static bool may_wait(const struct lock_res *r, const struct lock_waiter *w)
{
    if (r->held && !older(w, &r->holder))
        return false;
    for (guint i = 0; i < r->waiters->len; i++)
        if (!older(w, &g_array_index(r->waiters, struct lock_waiter, i)))
            return false;
    return true;
}

/* Wound-wait: the queue is oldest first. */
static void queue_by_age(struct lock_res *r, const struct lock_waiter *w)
{
    guint i = 0;
    while (i < r->waiters->len && !older(w, &g_array_index(r->waiters, struct lock_waiter, i)))
        i++;
    g_array_insert_val(r->waiters, i, *w);
}

/* Wound-wait: an older request asks a younger holder to give up.  The
 * holder aborts if it is still acquiring and ignores the wound once it
 * holds everything (it will release soon and waits for nobody). */
static void wound(struct lock_server *s, struct lock_res *r, const struct lock_waiter *w)
{
    if (!r->held || !older(w, &r->holder))
        return;
    if (!r->holder.wounded)
        LOCK_TRACE(s->cl->sim, "lock.wound", sname(s), "resource=%s holder=%s attempt=%u by=%s",
                   r->name, ns__lock_client_name(s->cl, r->holder.client), r->holder.attempt,
                   ns__lock_client_name(s->cl, w->client));
    r->holder.wounded = true;
    struct lock_msg m = { .type = LM_WOUND, .client = r->holder.client,
                          .attempt = r->holder.attempt, .aux = w->client };
    ns__lock_name_copy(m.name, r->name);
    ns__lock_send(s->sock, r->holder.addr, r->holder.port, &m);
}

static void arm_lease(struct lock_server *s, struct lock_res *r)
{
    ns_sim *sim = s->cl->sim;
    ns_event_cancel(sim, r->expiry_ev);
    r->expiry_ev = NS_EVENT_NONE;
    r->expiry = NS_TIME_MAX;
    if (s->cl->o.ttl > 0) {
        r->expiry = ns_sim_now(sim) + s->cl->o.ttl;
        /* the callback needs the server and the resource: the resource
         * records its server through the index kept in the name lookup */
        r->expiry_ev = ns_event_after(sim, s->cl->o.ttl, on_expiry, r);
    }
}

/* Gives r to w: a grant carries the register (quorum token read) and the
 * incremented per-server counter (naive token). */
static void grant(struct lock_server *s, struct lock_res *r, const struct lock_waiter *w)
{
    r->held = true;
    r->holder = *w;
    r->grants++;
    arm_lease(s, r);
    ns__lock_holds_changed(s, r, "grant");
    LOCK_TRACE(s->cl->sim, "lock.grant", sname(s), "resource=%s client=%s attempt=%u "
               "reg=%" G_GUINT64_FORMAT " n=%" G_GUINT64_FORMAT, r->name,
               ns__lock_client_name(s->cl, w->client), w->attempt, r->reg, r->grants);
    reply(s, w, LM_GRANT, r, r->reg, r->grants);
}

/* `why` r came free: "release" or "expire" (the holds table's cause). */
static void free_and_grant_next(struct lock_server *s, struct lock_res *r, const char *why)
{
    ns_event_cancel(s->cl->sim, r->expiry_ev);
    r->expiry_ev = NS_EVENT_NONE;
    r->expiry = NS_TIME_MAX;
    r->held = false;
    ns__lock_holds_changed(s, r, why);
    if (r->waiters->len > 0) {
        struct lock_waiter w = g_array_index(r->waiters, struct lock_waiter, 0);
        g_array_remove_index(r->waiters, 0);
        grant(s, r, &w);
    }
}

/* Finds the server owning r, in whichever of the sim's clusters it is
 * (lease callbacks carry only r). */
static struct lock_server *owner(ns_sim *sim, const struct lock_res *r)
{
    for (size_t k = 0; k < ns_lock_n_clusters(sim); k++) {
        ns_lock_cluster *cl = ns_lock_cluster_nth(sim, k);
        for (unsigned i = 0; i < cl->n; i++)
            for (guint j = 0; j < cl->srv[i].res->len; j++)
                if (g_ptr_array_index(cl->srv[i].res, j) == r)
                    return &cl->srv[i];
    }
    return NULL;
}

static void on_expiry(ns_sim *sim, void *arg)
{
    struct lock_res *r = arg;
    struct lock_server *s = owner(sim, r);
    r->expiry_ev = NS_EVENT_NONE;
    if (!s || !r->held)
        return;
    ns_lock_cluster *cl = s->cl;
    LOCK_TRACE(sim, "lock.expire", sname(s), "resource=%s client=%s attempt=%u", r->name,
               ns__lock_client_name(cl, r->holder.client), r->holder.attempt);
    free_and_grant_next(s, r, "expire");
}

/* Drops client c's queued requests of attempts older than `attempt`
 * (or up to and including it when `inclusive`), tracing each as
 * lock.dequeue with `cause`: "superseded" (a newer attempt asked) or
 * "release" (the client gave the request up).  Without the row a waiter
 * would vanish from the trace between lock.queue and nothing. */
static bool drop_waiter(struct lock_server *s, struct lock_res *r, uint32_t c, uint32_t attempt,
                        bool inclusive, const char *cause)
{
    bool found = false;
    for (guint i = 0; i < r->waiters->len;) {
        struct lock_waiter *w = &g_array_index(r->waiters, struct lock_waiter, i);
        if (w->client == c && (w->attempt < attempt || (inclusive && w->attempt == attempt))) {
            LOCK_TRACE(s->cl->sim, "lock.dequeue", sname(s), "resource=%s client=%s attempt=%u "
                       "cause=%s", r->name, ns__lock_client_name(s->cl, c), w->attempt, cause);
            g_array_remove_index(r->waiters, i);
            found = true;
        } else {
            i++;
        }
    }
    return found;
}

/* ---- a deadlock detector's query (lock_detect.c) ---- */

/* Resources this attempt of `client` holds here: a detector's victim
 * policy may prefer the client that loses the least work. */
static uint16_t held_here(const struct lock_server *s, uint32_t client, uint32_t attempt)
{
    unsigned n = 0;
    for (guint i = 0; i < s->res->len; i++) {
        const struct lock_res *r = g_ptr_array_index(s->res, i);
        n += r->held && r->holder.client == client && r->holder.attempt == attempt;
    }
    return (uint16_t)MIN(n, G_MAXUINT16);
}

static struct lock_wfg_entry wfg_entry(const struct lock_server *s, const struct lock_waiter *w)
{
    return (struct lock_wfg_entry){ w->client, w->attempt, w->ts, w->addr, w->port,
                                    held_here(s, w->client, w->attempt) };
}

/* Answers with this table's wait-for edges as it is now: one WFG datagram
 * per resource someone waits for (more when the queue is long), then a
 * WFGEND counting them, so the detector can tell a complete answer from
 * one that lost a datagram.  Uncontended resources add no edge and are
 * not sent.  The answer is a snapshot: by the time the detector reads it
 * the table may have moved on. */
static void answer_wfg(struct lock_server *s, const struct lock_msg *q, uint32_t src,
                       uint16_t sport)
{
    struct lock_wfg_entry e[LOCK_WFG_MAX];
    uint64_t sent = 0;
    for (guint i = 0; i < s->res->len; i++) {
        const struct lock_res *r = g_ptr_array_index(s->res, i);
        if (r->waiters->len == 0)
            continue;
        e[0] = r->held ? wfg_entry(s, &r->holder) : (struct lock_wfg_entry){ 0 };
        for (guint k = 0; k < r->waiters->len; k += LOCK_WFG_MAX - 1) {
            guint n = MIN(r->waiters->len - k, (guint)LOCK_WFG_MAX - 1);
            for (guint j = 0; j < n; j++)
                e[1 + j] = wfg_entry(s, &g_array_index(r->waiters, struct lock_waiter, k + j));
            struct lock_msg m = { .type = LM_WFG, .flags = (uint8_t)(n + 1),
                                  .client = q->client, .attempt = q->attempt, .aux = k + 1 };
            ns__lock_name_copy(m.name, r->name);
            ns__lock_send_wfg(s->sock, src, sport, &m, e);
            sent++;
        }
    }
    LOCK_TRACE(s->cl->sim, "lock.wfg", sname(s), "detector=%s round=%u datagrams=%" G_GUINT64_FORMAT,
               ns__lock_peer_name(s->cl, q->client), q->attempt, sent);
    struct lock_msg end = { .type = LM_WFG_END, .client = q->client, .attempt = q->attempt,
                            .token = sent };
    ns__lock_send(s->sock, src, sport, &end);
}

static void handle(struct lock_server *s, const struct lock_msg *m, uint32_t src, uint16_t sport)
{
    if (m->type == LM_WFG_QUERY) {            /* about the table, no resource */
        answer_wfg(s, m, src, sport);
        return;
    }
    struct lock_res *r = res_get(s, m->name);
    struct lock_waiter w = { m->client, m->attempt, src, sport, (ns_time_t)m->aux, false };

    switch (m->type) {
    case LM_ACQUIRE:
        if (r->held && r->holder.client == m->client) {
            if (m->attempt < r->holder.attempt)
                return;                                   /* stale */
            if (m->attempt == r->holder.attempt) {        /* lost grant */
                w.wounded = r->holder.wounded;
                r->holder = w;
                reply(s, &w, LM_GRANT, r, r->reg, r->grants);
                return;
            }
            /* an older attempt of this client held it: superseded, the
             * lock goes on (perhaps to a waiter) and this one queues */
            free_and_grant_next(s, r, "release");
        }
        drop_waiter(s, r, m->client, m->attempt, false, "superseded");
        for (guint i = 0; i < r->waiters->len; i++) {
            const struct lock_waiter *q = &g_array_index(r->waiters, struct lock_waiter, i);
            if (q->client == m->client && q->attempt == m->attempt) {
                reply(s, &w, LM_QUEUED, r, 0, r->holder.client);
                if (m->flags & LF_WOUND)
                    wound(s, r, &w);                      /* the wound may be lost */
                return;
            }
        }
        if (!r->held) {
            grant(s, r, &w);
        } else if ((m->flags & LF_WAIT) && (m->flags & LF_DIE) && !may_wait(r, &w)) {
            LOCK_TRACE(s->cl->sim, "lock.deny", sname(s), "resource=%s client=%s attempt=%u "
                       "holder=%s rule=die", r->name, ns__lock_client_name(s->cl, m->client),
                       m->attempt, ns__lock_client_name(s->cl, r->holder.client));
            reply(s, &w, LM_DENY, r, 0, r->holder.client);
        } else if (m->flags & LF_WAIT) {
            if (m->flags & LF_WOUND)
                queue_by_age(r, &w);
            else
                g_array_append_val(r->waiters, w);
            LOCK_TRACE(s->cl->sim, "lock.queue", sname(s), "resource=%s client=%s attempt=%u "
                       "holder=%s", r->name, ns__lock_client_name(s->cl, m->client), m->attempt,
                       ns__lock_client_name(s->cl, r->holder.client));
            reply(s, &w, LM_QUEUED, r, 0, r->holder.client);
            if (m->flags & LF_WOUND)
                wound(s, r, &w);
            ns__lock_check_deadlock(s->cl);
        } else {
            LOCK_TRACE(s->cl->sim, "lock.deny", sname(s), "resource=%s client=%s attempt=%u "
                       "holder=%s", r->name, ns__lock_client_name(s->cl, m->client), m->attempt,
                       ns__lock_client_name(s->cl, r->holder.client));
            reply(s, &w, LM_DENY, r, 0, r->holder.client);
        }
        return;
    case LM_RELEASE:
        drop_waiter(s, r, m->client, m->attempt, true, "release");
        if (r->held && r->holder.client == m->client && r->holder.attempt <= m->attempt) {
            LOCK_TRACE(s->cl->sim, "lock.release", sname(s), "resource=%s client=%s attempt=%u",
                       r->name, ns__lock_client_name(s->cl, m->client), m->attempt);
            free_and_grant_next(s, r, "release");
        }
        reply(s, &w, LM_RELEASED, r, 0, 0);
        return;
    case LM_RENEW:
        if (r->held && r->holder.client == m->client && r->holder.attempt == m->attempt)
            arm_lease(s, r);
        return;
    case LM_COMMIT:
        if (r->held && r->holder.client == m->client && r->holder.attempt == m->attempt) {
            if (m->token > r->reg)
                r->reg = m->token;
            reply(s, &w, LM_COMMITTED, r, r->reg, 0);
        } else {
            reply(s, &w, LM_NOTHELD, r, 0, 0);
        }
        return;
    default:
        return;                                           /* not for a server */
    }
}

/* ---- CPU: a request costs `service` of a core before it is handled ---- */
struct work {
    struct lock_server *s;
    struct lock_msg m;
    uint32_t src;
    uint16_t sport;
};

static void work_done(ns_sim *sim, void *arg)
{
    (void)sim;
    struct work *w = arg;
    struct lock_server *s = w->s;
    g_ptr_array_remove(s->work, w);        /* frees nothing: no free func */
    handle(s, &w->m, w->src, w->sport);
    g_free(w);
}

static void on_recv(ns_udp *u, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)u;
    struct lock_server *s = ud;
    struct lock_msg m;
    if (!ns__lock_decode(p, &m))
        return;
    if (s->cl->o.service <= 0) {
        handle(s, &m, src, sport);
        return;
    }
    struct work *w = g_new(struct work, 1);
    *w = (struct work){ s, m, src, sport };
    g_ptr_array_add(s->work, w);
    ns_cpu_submit(s->host, s->cl->o.service, work_done, w);
}

/* A crash without `persist`: holders, queues and leases are forgotten;
 * the records stay as the home of the stable register and counter,
 * unless the what-if `registers_lost` drops those too (header comment). */
static void clear_table(struct lock_server *s)
{
    for (guint i = 0; i < s->res->len; i++) {
        struct lock_res *r = g_ptr_array_index(s->res, i);
        ns_event_cancel(s->cl->sim, r->expiry_ev);
        r->expiry_ev = NS_EVENT_NONE;
        r->expiry = NS_TIME_MAX;
        g_array_set_size(r->waiters, 0);
        if (r->held) {                 /* forgotten: free as far as anyone knows */
            r->held = false;
            memset(&r->holder, 0, sizeof r->holder);
            ns__lock_holds_changed(s, r, "crash");
        }
    }
    if (s->cl->o.registers_lost) {
        ns__lock_names_clear(&s->by_name);
        g_ptr_array_set_size(s->res, 0);
    }
}

void ns__lock_server_fault(struct lock_server *s, enum ns_host_fault f)
{
    if (f == NS_HOST_CRASH) {
        /* queued CPU work is dropped by the host without a callback */
        for (guint i = 0; i < s->work->len; i++)
            g_free(g_ptr_array_index(s->work, i));
        g_ptr_array_set_size(s->work, 0);
        if (!s->cl->o.persist) {
            clear_table(s);
        } else {
            /* a persistent table keeps holders; leases stop while down and
             * restart on recovery (below) */
            for (guint i = 0; i < s->res->len; i++) {
                struct lock_res *r = g_ptr_array_index(s->res, i);
                ns_event_cancel(s->cl->sim, r->expiry_ev);
                r->expiry_ev = NS_EVENT_NONE;
            }
        }
        LOCK_TRACE(s->cl->sim, "lock.server", sname(s), "event=crash table=%s registers=%s",
                   s->cl->o.persist ? "kept" : "lost",
                   s->cl->o.registers_lost ? "lost" : "kept");
    } else if (f == NS_HOST_RESTART) {
        for (guint i = 0; i < s->res->len; i++) {
            struct lock_res *r = g_ptr_array_index(s->res, i);
            if (r->held)
                arm_lease(s, r);
        }
        LOCK_TRACE(s->cl->sim, "lock.server", sname(s), "event=restart");
    }
}

bool ns__lock_server_init(struct lock_server *s, GError **error)
{
    s->res = g_ptr_array_new_with_free_func(res_free);
    s->work = g_ptr_array_new();
    s->sock = ns_udp_bind(s->host, NS_LOCK_PORT, error);
    if (!s->sock)
        return false;
    ns_udp_on_receive(s->sock, on_recv, s);
    return true;
}

void ns__lock_server_fini(struct lock_server *s)
{
    ns__lock_names_free(&s->by_name);
    if (s->res)
        g_ptr_array_free(s->res, TRUE);
    if (s->work) {
        for (guint i = 0; i < s->work->len; i++)
            g_free(g_ptr_array_index(s->work, i));
        g_ptr_array_free(s->work, TRUE);
    }
}
