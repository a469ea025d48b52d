/* queue.c — the queue object, the per-sim registry of disciplines, and
 * the simplest discipline, drop-tail.
 *
 * A queue is a FIFO of packets (linked through p->next) with packet and
 * byte counts, plus a discipline (an ns_queue_ops chosen by name) that
 * decides at enqueue and dequeue what to keep, drop or mark.
 *
 * Invariants:
 *  - len_pkts and len_bytes always equal the count and the summed
 *    ns__queue_pkt_bytes() of the packets linked from head;
 *  - a packet offered to the queue is owned by it until it leaves through
 *    ns_queue_dequeue (to the caller) or ns_queue_drop (to the drop
 *    callback, or freed here when there is none).
 *
 * Random streams: each queue draws from its own stream, named
 * "queue.<n>" where n counts the queues created in this sim (0, 1, ...),
 * so a run's drops depend only on the seed and the order in which the
 * scenario builds its queues.
 */
#include <math.h>
#include <string.h>

#include "netsim/queue.h"
#include "queue_priv.h"

/* The slot of the registry in the sim's attachments. */
#define REGISTRY_KEY "net.queue"

struct queue_registry {
    GPtrArray *ops;            /* const struct ns_queue_ops*, not owned;
                                  registration order */
    uint64_t   created;        /* queues made so far: names rng streams */
};

struct ns_queue {
    ns_sim                    *sim;
    const struct ns_queue_ops *ops;
    struct ns_queue_cfg        cfg;       /* a copy, validated */
    ns_queue_drop_fn           drop;      /* NULL: drops are freed here */
    void                      *drop_ud;
    ns_rng                    *rng;       /* owned by the sim */
    ns_time_t                  now;       /* of the current enqueue/dequeue:
                                             what fifo_push stamps */
    ns_pkt                    *head;      /* next to leave */
    ns_pkt                    *tail;      /* last in */
    size_t                     len_pkts;
    uint64_t                   len_bytes;
    void                      *priv;      /* ops->priv_size bytes, zeroed */
};

/* ---- drop causes ---------------------------------------------------- */

#define NS_X_NAME(name, str) [name] = str,
static const char *const drop_names[] = { NS_DROP_CAUSES(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_drop_cause_name(enum ns_drop_cause c)
{
    g_return_val_if_fail((size_t)c < G_N_ELEMENTS(drop_names), "?");
    return drop_names[c];
}

/* ---- configuration --------------------------------------------------- */

void ns_queue_cfg_defaults(struct ns_queue_cfg *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->limit_pkts = 100;
    cfg->limit_bytes = 0;
    cfg->ecn = false;
    cfg->rate_bps = 0;
    /* Floyd & Jacobson suggest min_th of at least 5 packets, max_th at
     * least twice min_th (here three times, as ns-2 does), max_p 0.1 and
     * wq 0.002; the gentle variant (Floyd, 2000) avoids the cliff at
     * max_th. */
    cfg->red_min_th = 5;
    cfg->red_max_th = 15;
    cfg->red_max_p = 0.1;
    cfg->red_wq = 0.002;
    cfg->red_gentle = true;
    /* RFC 8289 section 4.3/4.4: 5 ms target, 100 ms interval. */
    cfg->codel_target = 5 * NS_MSEC;
    cfg->codel_interval = 100 * NS_MSEC;
}

/* Checks what every discipline shares; the rest is the discipline's init. */
static bool cfg_check_common(const struct ns_queue_cfg *cfg, GError **error)
{
    if (!(cfg->rate_bps >= 0) || isinf(cfg->rate_bps)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "rate_bps %g must be a finite number >= 0", cfg->rate_bps);
        return false;
    }
    return true;
}

/* ---- registry -------------------------------------------------------- */

static void registry_free(void *obj)
{
    struct queue_registry *reg = obj;
    g_ptr_array_free(reg->ops, TRUE);
    g_free(reg);
}

static const struct ns_queue_ops *registry_lookup(const struct queue_registry *reg,
                                                  const char *name)
{
    for (guint i = 0; i < reg->ops->len; i++) {
        const struct ns_queue_ops *o = g_ptr_array_index(reg->ops, i);
        if (strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

static bool registry_add(struct queue_registry *reg, const struct ns_queue_ops *ops,
                         GError **error)
{
    if (!ops || !ops->name || !*ops->name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "a queue discipline needs a name");
        return false;
    }
    const char *missing = !ops->enqueue ? "enqueue" : !ops->dequeue ? "dequeue" : NULL;
    if (missing) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "queue discipline '%s' lacks the required hook '%s'",
                    ops->name, missing);
        return false;
    }
    if (registry_lookup(reg, ops->name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "queue discipline '%s' is already registered", ops->name);
        return false;
    }
    g_ptr_array_add(reg->ops, (void *)ops);
    return true;
}

/* The sim's registry, made on first use with the built-in disciplines, so
 * nothing has to "start" the network layer before a queue can be built. */
static struct queue_registry *registry(ns_sim *sim)
{
    struct queue_registry *reg = ns_sim_attached(sim, REGISTRY_KEY);
    if (reg)
        return reg;
    reg = g_new0(struct queue_registry, 1);
    reg->ops = g_ptr_array_new();
    static const struct ns_queue_ops *const builtins[] = {
        &ns_queue_droptail, &ns_queue_red, &ns_queue_codel,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(builtins); i++) {
        bool ok = registry_add(reg, builtins[i], NULL);
        g_assert(ok);
    }
    ns_sim_attach(sim, REGISTRY_KEY, reg, registry_free);
    return reg;
}

bool ns_queue_register(ns_sim *sim, const struct ns_queue_ops *ops, GError **error)
{
    g_return_val_if_fail(sim != NULL, false);
    return registry_add(registry(sim), ops, error);
}

const struct ns_queue_ops *ns_queue_find(ns_sim *sim, const char *name)
{
    g_return_val_if_fail(sim != NULL, NULL);
    if (!name)
        return NULL;
    return registry_lookup(registry(sim), name);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "codel, droptail, red": sorted, so the message does not depend on the
 * order in which disciplines were registered. */
static char *known_names(const struct queue_registry *reg)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < reg->ops->len; i++) {
        const struct ns_queue_ops *o = g_ptr_array_index(reg->ops, i);
        g_ptr_array_add(names, (void *)o->name);
    }
    g_ptr_array_sort(names, cmp_str);
    g_ptr_array_add(names, NULL);
    char *s = g_strjoinv(", ", (char **)names->pdata);
    g_ptr_array_free(names, TRUE);
    return s;
}

/* ---- life cycle ------------------------------------------------------ */

ns_queue *ns_queue_new(ns_sim *sim, const char *discipline,
                       const struct ns_queue_cfg *cfg,
                       ns_queue_drop_fn drop, void *drop_ud, GError **error)
{
    g_return_val_if_fail(sim != NULL, NULL);
    g_return_val_if_fail(discipline != NULL, NULL);
    struct queue_registry *reg = registry(sim);
    const struct ns_queue_ops *ops = registry_lookup(reg, discipline);
    if (!ops) {
        char *known = known_names(reg);
        g_set_error(error, NS_ERROR, NS_ERROR_NOT_FOUND,
                    "unknown queue discipline '%s' (known: %s)", discipline, known);
        g_free(known);
        return NULL;
    }
    struct ns_queue_cfg defaults;
    if (!cfg) {
        ns_queue_cfg_defaults(&defaults);
        cfg = &defaults;
    }
    if (!cfg_check_common(cfg, error)) {
        g_prefix_error(error, "queue '%s': ", ops->name);
        return NULL;
    }

    /* A safe, empty queue first: a failing init leaves nothing to undo
     * but the allocation. */
    ns_queue *q = g_new0(ns_queue, 1);
    q->sim = sim;
    q->ops = ops;
    q->cfg = *cfg;
    q->drop = drop;
    q->drop_ud = drop_ud;
    q->priv = ops->priv_size ? g_malloc0(ops->priv_size) : NULL;
    if (ops->init && !ops->init(q->priv, &q->cfg, error)) {
        g_prefix_error(error, "queue '%s': ", ops->name);
        g_free(q->priv);
        g_free(q);
        return NULL;
    }
    /* The stream is named by the owner (link, port) when it can be, so it
     * does not depend on creation order; else by a creation counter,
     * counted only once the queue exists so a rejected configuration does
     * not shift the streams of the queues built after it. */
    if (cfg->stream) {
        char *name = g_strdup_printf("queue.%s", cfg->stream);
        q->rng = ns_sim_rng(sim, name);
        g_free(name);
    } else {
        char name[32];
        g_snprintf(name, sizeof name, "queue.%" G_GUINT64_FORMAT, reg->created++);
        q->rng = ns_sim_rng(sim, name);
    }
    return q;
}

void ns_queue_free(ns_queue *q)
{
    if (!q)
        return;
    /* The owner is going away: queued packets are freed, not reported. */
    ns_pkt *p;
    while ((p = ns_queue_fifo_pop(q)))
        ns_pkt_free(q->sim, p);
    if (q->ops->destroy)
        q->ops->destroy(q->priv);
    g_free(q->priv);
    g_free(q);
}

void ns_queue_enqueue(ns_queue *q, ns_pkt *p, ns_time_t now)
{
    g_return_if_fail(q != NULL && p != NULL);
    q->now = now;
    p->next = NULL;
    q->ops->enqueue(q, q->priv, p, now);
}

ns_pkt *ns_queue_dequeue(ns_queue *q, ns_time_t now)
{
    g_return_val_if_fail(q != NULL, NULL);
    q->now = now;
    ns_pkt *p = q->ops->dequeue(q, q->priv, now);
    if (p)
        p->next = NULL;
    return p;
}

void ns_queue_flush(ns_queue *q, enum ns_drop_cause cause)
{
    g_return_if_fail(q != NULL);
    ns_pkt *p;
    while ((p = ns_queue_fifo_pop(q)))
        ns_queue_drop(q, p, cause);
}

size_t ns_queue_len_pkts(const ns_queue *q) { return q->len_pkts; }
uint64_t ns_queue_len_bytes(const ns_queue *q) { return q->len_bytes; }
const struct ns_queue_cfg *ns_queue_cfg(const ns_queue *q) { return &q->cfg; }
ns_sim *ns_queue_sim(const ns_queue *q) { return q->sim; }
struct ns_rng *ns_queue_rng(ns_queue *q) { return q->rng; }

/* ---- for disciplines ------------------------------------------------- */

/* The FIFO primitives and the capacity test, inline for drop-tail in
 * this file (every frame at every hop goes through them; exported
 * functions are not inlined under -fPIC) and exported, as wrappers, for
 * the other disciplines. */
static inline bool is_full(const ns_queue *q, const ns_pkt *p)
{
    if (q->cfg.limit_pkts && q->len_pkts >= q->cfg.limit_pkts)
        return true;
    if (q->cfg.limit_bytes && q->len_bytes + ns__queue_pkt_bytes(p) > q->cfg.limit_bytes)
        return true;
    return false;
}

static inline void fifo_push(ns_queue *q, ns_pkt *p)
{
    p->next = NULL;
    p->stamp = q->now;            /* CoDel's sojourn time starts here */
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->len_pkts++;
    q->len_bytes += ns__queue_pkt_bytes(p);
}

static inline ns_pkt *fifo_pop(ns_queue *q)
{
    ns_pkt *p = q->head;
    if (!p)
        return NULL;
    q->head = p->next;
    if (!q->head)
        q->tail = NULL;
    p->next = NULL;
    q->len_pkts--;
    q->len_bytes -= ns__queue_pkt_bytes(p);
    return p;
}

bool ns__queue_is_full(const ns_queue *q, const ns_pkt *p) { return is_full(q, p); }
void ns_queue_fifo_push(ns_queue *q, ns_pkt *p) { fifo_push(q, p); }
ns_pkt *ns_queue_fifo_pop(ns_queue *q) { return fifo_pop(q); }

ns_pkt *ns_queue_fifo_peek(const ns_queue *q)
{
    return q->head;
}

void ns_queue_drop(ns_queue *q, ns_pkt *p, enum ns_drop_cause cause)
{
    p->next = NULL;
    if (q->drop)
        q->drop(q->drop_ud, p, cause);       /* owns p from here */
    else
        ns_pkt_free(q->sim, p);
}

/* RFC 3168 section 5: a router may set CE only on a packet whose sender
 * declared ECN capability (ECT(0) or ECT(1)); one already CE stays CE
 * and counts as marked. */
bool ns_queue_mark_ce(ns_pkt *p)
{
    if (p->ethertype != NS_ETHERTYPE_IPV4)
        return false;
    uint8_t ecn = ns_ip_ecn(p);
    if (ecn == NS_ECN_NOT_ECT)
        return false;
    if (ecn != NS_ECN_CE)
        ns_ip_set_ecn(p, NS_ECN_CE);
    return true;
}

/* ---- drop-tail ------------------------------------------------------- */

/* Keeps every packet that fits under the packet and byte limits; drops
 * the arriving one otherwise (never a queued one). */
static void droptail_enqueue(ns_queue *q, void *priv, ns_pkt *p, ns_time_t now)
{
    if (is_full(q, p))
        ns_queue_drop(q, p, NS_DROP_QUEUE_FULL);
    else
        fifo_push(q, p);
}

static ns_pkt *droptail_dequeue(ns_queue *q, void *priv, ns_time_t now)
{
    return fifo_pop(q);
}

const struct ns_queue_ops ns_queue_droptail = {
    .name = "droptail",
    .priv_size = 0,
    .enqueue = droptail_enqueue,
    .dequeue = droptail_dequeue,
};
