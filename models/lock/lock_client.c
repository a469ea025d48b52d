/* lock_client.c — a lock client: transactions over a list of resources,
 * each acquired on a quorum of lock servers, then a critical section
 * bracketed by BEGIN/END writes to the storage server, then release.
 *
 * Two-phase locking per attempt: phase one only acquires (resource after
 * resource, in the given order, or by name for `sorted` strategies);
 * phase two works and releases everything.  An abort releases what the
 * attempt holds and retries later as a new attempt, never acquiring after
 * a release within one attempt.
 *
 * The core sends and retransmits (every `rto`: requests not yet granted,
 * queued ones included since their GRANT can be lost,
 * commits, writes and releases), counts grants and moves on at a quorum;
 * the strategy (lock_<name>.c) chooses whom to ask and when to give up.
 * A WOUND (a server applying wound-wait) or a VICTIM notice (a deadlock
 * detector) aborts the attempt it names if that attempt is still in phase
 * one.  So does a commit that cannot finish (NOTHELD from a server that
 * lost the lock, or no quorum of COMMITTED after COMMIT_TRIES
 * retransmissions): an attempt enters only with its token on a quorum.
 * A transaction's timestamp is its first attempt's start; retries
 * keep it, so the age rules eventually favour it.
 * Timers that fall in a pause run when the host resumes: a paused client
 * neither renews nor notices time passing, as a stopped process. */
#include <stdlib.h>
#include <string.h>

#include "lock_priv.h"

enum { D_STEP = 1, D_TIMER = 2, D_RTO = 4, D_RENEW = 8 };

/* COMMITs go to servers that granted one round trip ago: a quorum still
 * unconfirmed after this many retransmissions has a member that crashed
 * or is cut off.  The attempt cannot enter without its token on a quorum,
 * and the grants it keeps meanwhile block everyone else, so it aborts and
 * retries as a new attempt, which asks every server again.  (A member
 * that restarted without its table answers NOTHELD: an abort at once.) */
enum { COMMIT_TRIES = 3 };

void ns_lock_client_opts_defaults(struct ns_lock_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->strategy = "wait";
    o->hold = 10 * NS_MSEC;
    o->transactions = 1;
    o->rto = 200 * NS_MSEC;
    o->timeout = 50 * NS_MSEC;
    o->backoff = 10 * NS_MSEC;
    o->backoff_max = NS_SEC;
}

ns_host *ns_lock_client_host(const ns_lock_client *c) { return c->host; }
enum ns_lock_state ns_lock_client_state(const ns_lock_client *c) { return c->state; }
const struct ns_lock_client_stats *ns_lock_client_stats(const ns_lock_client *c)
{
    return &c->st;
}

ns_time_t ns_lock_client_longest_wait(const ns_lock_client *c)
{
    ns_time_t longest = c->st.longest_wait;
    if (c->st.wait_since >= 0 && c->state != NS_LOCK_CRASHED) {
        ns_time_t ongoing = ns_sim_now(c->cl->sim) - c->st.wait_since;
        if (ongoing > longest)
            longest = ongoing;
    }
    return longest;
}

static const char *cname(const ns_lock_client *c)
{
    return ns_host_name(c->host);
}

static void set_state(ns_lock_client *c, enum ns_lock_state s, const char *why)
{
    if (c->state == s)
        return;
    LOCK_TRACE(c->cl->sim, "lock.state", cname(c), "from=%s to=%s attempt=%u cause=%s",
               ns_lock_state_name(c->state), ns_lock_state_name(s), c->attempt, why);
    c->state = s;
    if (s == NS_LOCK_ACQUIRING)
        ns__lock_detectors_wake(c->cl);
}

static void send_msg_aux(ns_lock_client *c, unsigned s, uint8_t type, unsigned r,
                         uint32_t attempt, uint8_t flags, uint64_t token, uint64_t aux)
{
    struct lock_msg m = { .type = type, .flags = flags, .client = c->id, .attempt = attempt,
                          .token = token, .aux = aux };
    ns__lock_name_copy(m.name, c->res[r].name);
    if (s == UINT32_MAX)
        ns__lock_send(c->sock, ns_host_addr(c->cl->storage), NS_LOCK_STORAGE_PORT, &m);
    else
        ns__lock_send(c->sock, ns_host_addr(c->cl->srv[s].host), NS_LOCK_PORT, &m);
}

static void send_msg(ns_lock_client *c, unsigned s, uint8_t type, unsigned r, uint32_t attempt,
                     uint8_t flags, uint64_t token)
{
    send_msg_aux(c, s, type, r, attempt, flags, token, 0);
}

/* An ACQUIRE carries the strategy's queueing and age rule and the
 * transaction's timestamp, which the age rules compare. */
static void send_acquire(ns_lock_client *c, unsigned s)
{
    uint8_t flags = c->ops->queue ? (uint8_t)(LF_WAIT | c->ops->age_rule) : 0;
    send_msg_aux(c, s, LM_ACQUIRE, c->cur, c->attempt, flags, 0, (uint64_t)c->st.timestamp);
}

/* ---- timers ---- */
static void rto_fire(ns_sim *sim, void *arg);
static void renew_fire(ns_sim *sim, void *arg);

static void arm_rto(ns_lock_client *c)
{
    if (!ns_event_is_pending(c->cl->sim, c->rto_ev))
        c->rto_ev = ns_event_after(c->cl->sim, c->o.rto, rto_fire, c);
}

static bool holds_any(const ns_lock_client *c)
{
    for (unsigned r = 0; r < c->nres; r++)
        for (unsigned s = 0; s < c->cl->n; s++)
            if (c->res[r].st[s] == SS_GRANTED)
                return true;
    return false;
}

static void arm_renew(ns_lock_client *c)
{
    ns_time_t ttl = c->cl->o.ttl;
    if (ttl > 0 && !ns_event_is_pending(c->cl->sim, c->renew_ev))
        c->renew_ev = ns_event_after(c->cl->sim, ttl / 3 > 0 ? ttl / 3 : 1, renew_fire, c);
}

static void timer_fire(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_lock_client *c = arg;
    c->timer = NS_EVENT_NONE;
    if (ns_host_is_paused(c->host)) {
        c->deferred_timer = true;
        return;
    }
    if (c->state == NS_LOCK_ACQUIRING && c->ops->on_timer)
        c->ops->on_timer(c);
}

void ns__lock_client_set_timer(ns_lock_client *c, ns_time_t delay)
{
    ns_event_cancel(c->cl->sim, c->timer);
    c->timer = ns_event_after(c->cl->sim, delay, timer_fire, c);
}

static void set_step(ns_lock_client *c, ns_time_t delay, ns_event_fn fn)
{
    ns_event_cancel(c->cl->sim, c->step);
    c->step = ns_event_after(c->cl->sim, delay, fn, c);
    c->deferred_step = false;
}

/* ---- phase one ---- */
static void begin_attempt(ns_sim *sim, void *arg);

void ns__lock_client_request(ns_lock_client *c, unsigned s)
{
    struct lock_client_res *r = &c->res[c->cur];
    r->st[s] = SS_SENT;
    LOCK_TRACE(c->cl->sim, "lock.req", cname(c), "resource=%s server=%s attempt=%u wait=%d "
               "retransmit=no", r->name, ns_host_name(c->cl->srv[s].host), c->attempt,
               c->ops->queue);
    send_acquire(c, s);
    arm_rto(c);
}

bool ns__lock_client_quorum_reachable(const ns_lock_client *c)
{
    unsigned possible = 0;
    for (unsigned s = 0; s < c->cl->n; s++)
        possible += c->res[c->cur].st[s] != SS_DENIED;
    return possible >= c->cl->o.quorum;
}

static void queue_release(ns_lock_client *c, unsigned s, unsigned r)
{
    struct pending_release pr = { s, r, c->attempt, 0 };
    g_array_append_val(c->releases, pr);
    send_msg(c, s, LM_RELEASE, r, c->attempt, 0, 0);
    arm_rto(c);
}

/* Releases every server of this attempt (granted, queued or asked). */
static void release_all_held(ns_lock_client *c)
{
    for (unsigned r = 0; r < c->nres; r++)
        for (unsigned s = 0; s < c->cl->n; s++) {
            uint8_t st = c->res[r].st[s];
            if (st == SS_SENT || st == SS_QUEUED || st == SS_GRANTED)
                queue_release(c, s, r);
            c->res[r].st[s] = SS_NONE;
        }
}

static void retry_later(ns_lock_client *c)
{
    ns_time_t bound = c->o.backoff;
    for (unsigned i = 0; i < c->backoff_exp && bound < c->o.backoff_max; i++)
        bound *= 2;
    if (bound > c->o.backoff_max)
        bound = c->o.backoff_max;
    c->backoff_exp++;
    ns_time_t d = bound > 0 ? (ns_time_t)ns_rng_below(c->rng, (uint64_t)bound + 1) : 0;
    set_step(c, d, begin_attempt);
}

void ns__lock_client_abort(ns_lock_client *c, const char *why)
{
    LOCK_TRACE(c->cl->sim, "lock.abort", cname(c), "attempt=%u resource=%s cause=%s",
               c->attempt, c->res[c->cur].name, why);
    ns_event_cancel(c->cl->sim, c->timer);
    c->timer = NS_EVENT_NONE;
    release_all_held(c);
    c->st.retries++;
    c->txn_retries++;
    set_state(c, NS_LOCK_BACKOFF, why);
    retry_later(c);
}

static void enter(ns_lock_client *c);

static void next_resource(ns_lock_client *c)
{
    c->cur++;
    if (c->cur < c->nres) {
        set_state(c, NS_LOCK_ACQUIRING, "next resource");
        c->ops->start(c);
    } else {
        enter(c);
    }
}

/* The current resource's token is final: tell the cluster's observer
 * (the token-order tests). */
static void token_fixed(ns_lock_client *c)
{
    const struct lock_client_res *r = &c->res[c->cur];
    if (!c->cl->on_token)
        return;
    struct ns_lock_token_fixed t = { cname(c), r->name, c->attempt, r->token,
                                     c->attempt_start, ns_sim_now(c->cl->sim) };
    c->cl->on_token(&t, c->cl->on_token_ud);
}

/* A quorum of grants on the current resource: stop asking the others,
 * then fix the fencing token (quorum: write max register + 1 back). */
static void check_quorum(ns_lock_client *c)
{
    struct lock_client_res *r = &c->res[c->cur];
    unsigned g = 0;
    for (unsigned s = 0; s < c->cl->n; s++)
        g += r->st[s] == SS_GRANTED;
    if (g < c->cl->o.quorum)
        return;
    r->acquired = true;
    ns_event_cancel(c->cl->sim, c->timer);
    c->timer = NS_EVENT_NONE;
    for (unsigned s = 0; s < c->cl->n; s++)
        if (r->st[s] == SS_SENT || r->st[s] == SS_QUEUED) {
            queue_release(c, s, c->cur);
            r->st[s] = SS_CANCELLED;
        }
    switch (c->cl->o.fencing) {
    case NS_LOCK_FENCE_QUORUM:
        r->token = r->max_reg + 1;
        LOCK_TRACE(c->cl->sim, "lock.acquired", cname(c), "resource=%s attempt=%u grants=%u "
                   "token=%" G_GUINT64_FORMAT, r->name, c->attempt, g, r->token);
        set_state(c, NS_LOCK_COMMITTING, "quorum");
        c->commit_rto = 0;
        for (unsigned s = 0; s < c->cl->n; s++)
            if (r->st[s] == SS_GRANTED)
                send_msg(c, s, LM_COMMIT, c->cur, c->attempt, 0, r->token);
        arm_rto(c);
        return;
    case NS_LOCK_FENCE_NAIVE:
        r->token = r->max_grants;
        break;
    default:
        r->token = 0;
        break;
    }
    LOCK_TRACE(c->cl->sim, "lock.acquired", cname(c), "resource=%s attempt=%u grants=%u "
               "token=%" G_GUINT64_FORMAT, r->name, c->attempt, g, r->token);
    token_fixed(c);
    next_resource(c);
}

static int cmp_res(const void *a, const void *b);

/* pick > 0: a new transaction draws its resources (distinct, by Zipf
 * rank over the pool's order or uniformly), then sorts them if the
 * strategy locks in name order. */
static void draw_resources(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->nres; k++) {
        const char *name;
        bool dup;
        do {
            uint64_t i = c->o.zipf_s > 0 ? ns_rng_zipf(c->rng, c->npool, c->o.zipf_s) - 1
                                         : ns_rng_below(c->rng, c->npool);
            name = c->pool[i];
            dup = false;
            for (unsigned j = 0; j < k; j++)
                dup = dup || strcmp(c->res[j].name, name) == 0;
        } while (dup);
        g_strlcpy(c->res[k].name, name, sizeof c->res[k].name);
    }
    if (c->ops->sorted)
        qsort(c->res, c->nres, sizeof *c->res, cmp_res);
}

static void begin_attempt(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_lock_client *c = arg;
    c->step = NS_EVENT_NONE;
    if (ns_host_is_paused(c->host)) {
        c->deferred_step = true;
        return;
    }
    if (c->state == NS_LOCK_CRASHED || c->state == NS_LOCK_DONE)
        return;
    c->attempt++;
    c->st.attempts++;
    c->cur = 0;
    c->fenced_attempt = false;
    for (unsigned r = 0; r < c->nres; r++) {
        struct lock_client_res *x = &c->res[r];
        memset(x->st, 0, sizeof x->st);
        memset(x->committed, 0, sizeof x->committed);
        x->acquired = x->begun = x->ended = false;
        x->max_reg = x->max_grants = x->token = 0;
    }
    c->attempt_start = ns_sim_now(c->cl->sim);
    if (c->st.timestamp < 0) {                   /* a new transaction */
        c->st.timestamp = c->attempt_start;      /* a retry keeps its age */
        c->txn_retries = 0;
        if (c->pool)
            draw_resources(c);
    }
    if (c->st.wait_since < 0)
        c->st.wait_since = c->attempt_start;
    set_state(c, NS_LOCK_ACQUIRING, "attempt");
    c->ops->start(c);
}

/* ---- phase two ---- */
static void leave(ns_sim *sim, void *arg);

static void enter(ns_lock_client *c)
{
    ns_time_t now = ns_sim_now(c->cl->sim);
    ns_time_t waited = now - c->st.wait_since;
    if (waited > c->st.longest_wait)
        c->st.longest_wait = waited;
    c->st.total_wait += waited;
    if (c->cl->acq_table) {
        ns_table_begin(c->cl->acq_table);
        ns_table_str(c->cl->acq_table, cname(c));
        ns_table_str(c->cl->acq_table, c->ops->name);
        ns_table_time(c->cl->acq_table, waited);
        ns_table_u64(c->cl->acq_table, c->txn_retries);
        ns_table_end(c->cl->acq_table);
    }
    c->st.wait_since = -1;
    c->backoff_exp = 0;
    set_state(c, NS_LOCK_ENTERING, "all acquired");
    for (unsigned r = 0; r < c->nres; r++)
        send_msg(c, UINT32_MAX, LM_WRITE, r, c->attempt, LF_BEGIN, c->res[r].token);
    arm_rto(c);
}

static void leave(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_lock_client *c = arg;
    c->step = NS_EVENT_NONE;
    if (ns_host_is_paused(c->host)) {
        c->deferred_step = true;
        return;
    }
    set_state(c, NS_LOCK_LEAVING, c->fenced_attempt ? "fenced" : "work done");
    for (unsigned r = 0; r < c->nres; r++)
        send_msg(c, UINT32_MAX, LM_WRITE, r, c->attempt, LF_END, c->res[r].token);
    arm_rto(c);
}

bool ns_lock_client_release(ns_lock_client *c, GError **error)
{
    if (c->state != NS_LOCK_WORKING) {
        g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                    "%s is not inside a critical section (state %s): it holds no lock to release",
                    cname(c), ns_lock_state_name(c->state));
        return false;
    }
    ns_event_cancel(c->cl->sim, c->step);   /* the hold timer: the work ends now */
    leave(c->cl->sim, c);
    return true;
}

static void finish(ns_lock_client *c)
{
    release_all_held(c);
    if (c->fenced_attempt) {
        c->st.retries++;
        c->txn_retries++;
        if (c->st.wait_since < 0)
            c->st.wait_since = c->attempt_start;
        set_state(c, NS_LOCK_BACKOFF, "fenced");
        retry_later(c);
        return;
    }
    c->st.acquisitions++;
    c->st.timestamp = -1;
    if (++c->cl->acquisitions == c->cl->o.stop_after)
        ns_sim_stop(c->cl->sim);
    c->st.last_token = c->res[c->nres - 1].token;
    c->done_tx++;
    if (c->done_tx >= c->o.transactions) {
        c->st.done_at = ns_sim_now(c->cl->sim);
        set_state(c, NS_LOCK_DONE, "released");
        return;
    }
    set_state(c, NS_LOCK_IDLE, "released");
    ns_time_t think = c->o.think;
    if (c->o.think_exp && think > 0)
        think = (ns_time_t)ns_rng_exp(c->rng, (double)think);
    set_step(c, think, begin_attempt);
}

/* ---- retransmission and renewal ---- */
static void rto_fire(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_lock_client *c = arg;
    c->rto_ev = NS_EVENT_NONE;
    if (ns_host_is_paused(c->host)) {
        c->deferred |= D_RTO;
        return;
    }
    if (c->state == NS_LOCK_CRASHED)
        return;
    bool more = false;
    for (guint i = 0; i < c->releases->len;) {
        struct pending_release *pr = &g_array_index(c->releases, struct pending_release, i);
        if (++pr->tries > 8) {
            g_array_remove_index(c->releases, i);
            continue;
        }
        send_msg(c, pr->s, LM_RELEASE, pr->r, pr->attempt, 0, 0);
        more = true;
        i++;
    }
    struct lock_client_res *r = c->cur < c->nres ? &c->res[c->cur] : NULL;
    switch (c->state) {
    case NS_LOCK_ACQUIRING:
        /* Queued requests too, leases or not: the GRANT that ends a
         * wait can be lost like any message, and only the waiter knows
         * it still waits.  The server answers a duplicate from its
         * holder with the GRANT again, from a waiter with QUEUED. */
        for (unsigned s = 0; s < c->cl->n; s++)
            if (r->st[s] == SS_SENT || r->st[s] == SS_QUEUED) {
                LOCK_TRACE(c->cl->sim, "lock.req", cname(c), "resource=%s server=%s attempt=%u "
                           "wait=%d retransmit=yes", r->name, ns_host_name(c->cl->srv[s].host),
                           c->attempt, c->ops->queue);
                send_acquire(c, s);
                more = true;
            }
        break;
    case NS_LOCK_COMMITTING:
        if (++c->commit_rto > COMMIT_TRIES) {
            ns__lock_client_abort(c, "commit timeout");  /* its releases rearm the RTO */
            break;
        }
        for (unsigned s = 0; s < c->cl->n; s++)
            if (r->st[s] == SS_GRANTED && !r->committed[s]) {
                send_msg(c, s, LM_COMMIT, c->cur, c->attempt, 0, r->token);
                more = true;
            }
        break;
    case NS_LOCK_ENTERING:
    case NS_LOCK_LEAVING:
        for (unsigned k = 0; k < c->nres; k++) {
            bool begin = c->state == NS_LOCK_ENTERING;
            if (begin ? !c->res[k].begun : !c->res[k].ended) {
                send_msg(c, UINT32_MAX, LM_WRITE, k, c->attempt, begin ? LF_BEGIN : LF_END,
                         c->res[k].token);
                more = true;
            }
        }
        break;
    default:
        break;
    }
    if (more)
        arm_rto(c);
}

static void renew_fire(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_lock_client *c = arg;
    c->renew_ev = NS_EVENT_NONE;
    if (ns_host_is_paused(c->host)) {
        c->deferred |= D_RENEW;
        return;
    }
    if (c->state == NS_LOCK_CRASHED || !holds_any(c))
        return;
    for (unsigned r = 0; r < c->nres; r++)
        for (unsigned s = 0; s < c->cl->n; s++)
            if (c->res[r].st[s] == SS_GRANTED)
                send_msg(c, s, LM_RENEW, r, c->attempt, 0, 0);
    arm_renew(c);
}

/* ---- replies ---- */
static int res_of(const ns_lock_client *c, const char *name)
{
    for (unsigned r = 0; r < c->nres; r++)
        if (strcmp(c->res[r].name, name) == 0)
            return (int)r;
    return -1;
}

static void on_grant(ns_lock_client *c, unsigned s, unsigned r, const struct lock_msg *m)
{
    struct lock_client_res *x = &c->res[r];
    if (c->state != NS_LOCK_ACQUIRING || r != c->cur
        || (x->st[s] != SS_SENT && x->st[s] != SS_QUEUED))
        return;
    x->st[s] = SS_GRANTED;
    if (m->token > x->max_reg)
        x->max_reg = m->token;
    if (m->aux > x->max_grants)
        x->max_grants = m->aux;          /* naive: the highest counter of the quorum */
    c->st.grants++;
    if (c->o.crash_after_grants && c->st.grants == c->o.crash_after_grants) {
        /* The fault strikes as the k-th GRANT arrives, before the client
         * reacts to it: no COMMIT, no RELEASE of the surplus requests,
         * nothing leaves the host after that grant. */
        ns_host_crash(c->host);
        return;
    }
    arm_renew(c);
    if (c->ops->on_grant)
        c->ops->on_grant(c, s);
    if (c->state == NS_LOCK_ACQUIRING && c->cur == r)
        check_quorum(c);
}

static void on_recv(ns_udp *u, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)u;
    (void)sport;
    ns_lock_client *c = ud;
    struct lock_msg m;
    if (c->state == NS_LOCK_CRASHED || !ns__lock_decode(p, &m) || m.client != c->id)
        return;
    int r = res_of(c, m.name);
    if (r < 0)
        return;
    if (m.type == LM_RELEASED) {
        int s = ns__lock_server_of(c->cl, src);
        for (guint i = 0; i < c->releases->len; i++) {
            struct pending_release *pr = &g_array_index(c->releases, struct pending_release, i);
            if ((int)pr->s == s && pr->r == (unsigned)r && pr->attempt == m.attempt) {
                g_array_remove_index(c->releases, i);
                break;
            }
        }
        return;
    }
    if (m.attempt != c->attempt)
        return;
    struct lock_client_res *x = &c->res[r];
    if (m.type == LM_WOUND || m.type == LM_VICTIM) {
        /* only phase one gives up: a client holding everything it needs
         * waits for nobody, so finishing breaks no rule and no cycle */
        if (c->state == NS_LOCK_ACQUIRING || c->state == NS_LOCK_COMMITTING)
            ns__lock_client_abort(c, m.type == LM_WOUND ? "wounded" : "deadlock victim");
        return;
    }
    if (m.type == LM_WRITE_OK || m.type == LM_REJECT) {
        bool begin = m.flags & LF_BEGIN;
        if (m.type == LM_REJECT && !c->fenced_attempt) {
            c->st.fenced++;                  /* once per attempt */
            c->fenced_attempt = true;
        }
        if (begin && c->state == NS_LOCK_ENTERING && !x->begun) {
            x->begun = true;
            for (unsigned k = 0; k < c->nres; k++)
                if (!c->res[k].begun)
                    return;
            if (c->fenced_attempt) {
                leave(c->cl->sim, c);
            } else {
                set_state(c, NS_LOCK_WORKING, "entered");
                set_step(c, c->o.hold, leave);
            }
        } else if (!begin && c->state == NS_LOCK_LEAVING && !x->ended) {
            x->ended = true;
            for (unsigned k = 0; k < c->nres; k++)
                if (!c->res[k].ended)
                    return;
            finish(c);
        }
        return;
    }
    int s = ns__lock_server_of(c->cl, src);
    if (s < 0)
        return;
    switch (m.type) {
    case LM_GRANT:
        on_grant(c, (unsigned)s, (unsigned)r, &m);
        break;
    case LM_QUEUED:
        if (c->state == NS_LOCK_ACQUIRING && (unsigned)r == c->cur && x->st[s] == SS_SENT)
            x->st[s] = SS_QUEUED;
        break;
    case LM_DENY:
        if (c->state == NS_LOCK_ACQUIRING && (unsigned)r == c->cur
            && (x->st[s] == SS_SENT || x->st[s] == SS_QUEUED)) {
            x->st[s] = SS_DENIED;
            if (c->ops->on_deny)
                c->ops->on_deny(c, (unsigned)s);
        }
        break;
    case LM_COMMITTED:
        if (c->state == NS_LOCK_COMMITTING && (unsigned)r == c->cur && !x->committed[s]) {
            x->committed[s] = true;
            unsigned n = 0;
            for (unsigned k = 0; k < c->cl->n; k++)
                n += x->committed[k];
            if (n >= c->cl->o.quorum) {
                token_fixed(c);
                next_resource(c);
            }
        }
        break;
    case LM_NOTHELD:
        if (c->state == NS_LOCK_COMMITTING && (unsigned)r == c->cur)
            ns__lock_client_abort(c, "not held");    /* lease expired, or table lost */
        break;
    default:
        break;
    }
}

/* ---- faults ---- */
static void cancel_all(ns_lock_client *c)
{
    ns_sim *sim = c->cl->sim;
    ns_event_cancel(sim, c->step);
    ns_event_cancel(sim, c->timer);
    ns_event_cancel(sim, c->rto_ev);
    ns_event_cancel(sim, c->renew_ev);
    c->step = c->timer = c->rto_ev = c->renew_ev = NS_EVENT_NONE;
    c->deferred_step = c->deferred_timer = false;
    c->deferred = 0;
}

void ns__lock_client_fault(ns_lock_client *c, enum ns_host_fault f)
{
    switch (f) {
    case NS_HOST_CRASH:
        cancel_all(c);
        g_array_set_size(c->releases, 0);
        set_state(c, NS_LOCK_CRASHED, "host crashed");
        ns__lock_check_deadlock(c->cl);  /* its waiters may now be stuck */
        break;
    case NS_HOST_RESTART:
        if (c->state != NS_LOCK_CRASHED)
            break;
        /* memory is lost; the attempt counter is kept (as if on disk) so
         * the servers see the new attempts supersede the old ones */
        set_state(c, NS_LOCK_IDLE, "host restarted");
        if (c->done_tx < c->o.transactions) {
            c->st.wait_since = -1;
            c->st.timestamp = -1;
            set_step(c, 0, begin_attempt);
        } else {
            set_state(c, NS_LOCK_DONE, "host restarted");
        }
        break;
    case NS_HOST_RESUME: {
        unsigned d = c->deferred;
        bool step = c->deferred_step, timer = c->deferred_timer;
        c->deferred = 0;
        c->deferred_step = c->deferred_timer = false;
        if (step) {
            /* the step that fell in the pause: whatever it was, run it */
            if (c->state == NS_LOCK_WORKING)
                leave(c->cl->sim, c);
            else
                begin_attempt(c->cl->sim, c);
        }
        if (timer)
            timer_fire(c->cl->sim, c);
        /* A step or timeout that just ran has sent what is outstanding
         * now (and armed the RTO): the overdue RTO would send it all a
         * second time at the same instant, so it restarts instead. */
        if ((d & D_RTO) && (step || timer))
            arm_rto(c);
        else if (d & D_RTO)
            rto_fire(c->cl->sim, c);
        if (d & D_RENEW)
            renew_fire(c->cl->sim, c);
        break;
    }
    default:
        break;
    }
}

/* ---- construction ---- */
static int cmp_res(const void *a, const void *b)
{
    return strcmp(((const struct lock_client_res *)a)->name,
                  ((const struct lock_client_res *)b)->name);
}

static char *strategy_list(void)
{
    return g_strjoinv(", ", (char **)ns_lock_strategy_names());
}

/* Names the first bad time option: rto and timeout must be > 0, the
 * others >= 0, and backoff_max >= backoff. */
static bool check_times(ns_host *h, const struct ns_lock_client_opts *o, GError **error)
{
    const struct { const char *name; ns_time_t v; bool positive; } t[] = {
        { "rto", o->rto, true },         { "timeout", o->timeout, true },
        { "hold", o->hold, false },      { "think", o->think, false },
        { "start", o->start, false },    { "backoff", o->backoff, false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
        if (t[i].positive ? t[i].v <= 0 : t[i].v < 0) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "lock client '%s': %s must be %s",
                        ns_host_name(h), t[i].name, t[i].positive ? "> 0" : ">= 0");
            return false;
        }
    if (o->backoff_max < o->backoff) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock client '%s': backoff_max must be >= backoff", ns_host_name(h));
        return false;
    }
    return true;
}

/* Names the first bad resource in list order: a name of 0 or more than
 * NS_LOCK_NAME_MAX bytes, or one listed before.  A set of the names seen
 * keeps it linear: 1,000 clients of a 100-name pool would otherwise cost
 * 5 M comparisons at setup. */
static bool check_names(ns_host *h, const char *const *names, unsigned n, GError **error)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    bool ok = true;
    for (unsigned i = 0; ok && i < n; i++) {
        size_t len = strlen(names[i]);
        if (len == 0 || len > NS_LOCK_NAME_MAX) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "lock client '%s': resource name '%s' must have 1 to %d bytes",
                        ns_host_name(h), names[i], NS_LOCK_NAME_MAX);
            ok = false;
        } else if (!g_hash_table_add(seen, (gpointer)names[i])) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "lock client '%s': resource '%s' listed twice", ns_host_name(h), names[i]);
            ok = false;
        }
    }
    g_hash_table_destroy(seen);
    return ok;
}

ns_lock_client *ns_lock_client_new(ns_lock_cluster *cl, ns_host *h,
                                   const struct ns_lock_client_opts *o, GError **error)
{
    g_return_val_if_fail(cl && h && o, NULL);
    const struct ns__lock_strategy *ops = ns__lock_strategy_find(o->strategy ? o->strategy : "");
    if (!ops) {
        g_autofree char *known = strategy_list();
        g_set_error(error, NS_ERROR, NS_ERROR_NOT_FOUND,
                    "lock client '%s': unknown strategy '%s' (known: %s)", ns_host_name(h),
                    o->strategy ? o->strategy : "", known);
        return NULL;
    }
    unsigned n = 0;
    while (o->resources && o->resources[n])
        n++;
    if (n == 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock client '%s': no resources to lock", ns_host_name(h));
        return NULL;
    }
    if (!check_names(h, o->resources, n, error))
        return NULL;
    if (!ns__lock_check_host_free(cl, cl->sim, h, error))
        return NULL;
    if (ns__lock_client_on(cl, h)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "host '%s' is already a lock client", ns_host_name(h));
        return NULL;
    }
    if (o->pick > n) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock client '%s': pick %u is more than the %u resources", ns_host_name(h),
                    o->pick, n);
        return NULL;
    }
    if (o->zipf_s < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock client '%s': negative zipf_s", ns_host_name(h));
        return NULL;
    }
    if (!check_times(h, o, error))
        return NULL;
    if (!ns__lock_detector_host_free(h, error) || !ns__lock_check_paths(cl, h, error))
        return NULL;
    ns_udp *sock = ns_udp_bind(h, 0, error);
    if (!sock)
        return NULL;
    ns_lock_client *c = g_new0(ns_lock_client, 1);
    c->cl = cl;
    c->host = h;
    c->sock = sock;
    c->id = ns_host_id(h);
    c->ops = ops;
    c->o = *o;
    c->o.resources = NULL;                 /* not kept: copied below */
    c->o.strategy = ops->name;
    if (c->o.transactions == 0)
        c->o.transactions = 1;
    c->nres = o->pick ? o->pick : n;
    c->res = g_new0(struct lock_client_res, c->nres);
    if (o->pick) {
        c->npool = n;
        c->pool = g_new0(char *, n + 1);
        for (unsigned i = 0; i < n; i++)
            c->pool[i] = g_strdup(o->resources[i]);
    }
    for (unsigned i = 0; i < c->nres; i++)          /* drawn again at each start */
        g_strlcpy(c->res[i].name, o->resources[i], sizeof c->res[i].name);
    if (ops->sorted)
        qsort(c->res, c->nres, sizeof *c->res, cmp_res);
    c->releases = g_array_new(FALSE, FALSE, sizeof(struct pending_release));
    c->rng = ns_host_rng(h, "lock");
    c->st.wait_since = -1;
    c->st.timestamp = -1;
    c->st.done_at = -1;
    c->state = NS_LOCK_IDLE;
    g_ptr_array_add(cl->clients, c);
    ns_udp_on_receive(sock, on_recv, c);
    ns__lock_label_port(cl->sim, sock);
    c->step = ns_event_after(cl->sim, o->start, begin_attempt, c);
    return c;
}

void ns__lock_client_free(ns_lock_client *c)
{
    g_array_free(c->releases, TRUE);
    g_strfreev(c->pool);
    g_free(c->res);
    g_free(c);
}
