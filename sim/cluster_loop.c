/* cluster_loop.c — a cluster of n ranks inside one process: each rank has
 * a mailbox (a GAsyncQueue) the others push into.
 *
 * It exists so the sweep's distribution protocol is tested everywhere,
 * under AddressSanitizer too, with the same code paths MPI drives; the
 * ranks are threads of the test.  The shared part is freed by the last
 * rank to close.
 */
#include "netsim/cluster.h"
#include "netsim/sim.h"

struct loop_letter {
    int     src;
    GBytes *msg;
};

struct loop_shared {
    int          n;
    gint         open;             /* ranks not yet closed (atomic) */
    GAsyncQueue *box[];            /* one per rank */
};

struct loop_rank {
    ns_cluster          base;      /* first: ns_cluster* is a loop_rank* */
    struct loop_shared *shared;
};

static void letter_free(gpointer p)
{
    struct loop_letter *l = p;
    g_bytes_unref(l->msg);
    g_free(l);
}

static bool loop_send(ns_cluster *c, int dest, GBytes *msg, GError **error)
{
    struct loop_rank *r = (struct loop_rank *)c;
    if (dest < 0 || dest >= r->shared->n) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "no rank %d in a cluster of %d", dest, r->shared->n);
        return false;
    }
    struct loop_letter *l = g_new(struct loop_letter, 1);
    l->src = c->rank;
    l->msg = g_bytes_ref(msg);
    g_async_queue_push(r->shared->box[dest], l);
    return true;
}

static GBytes *loop_recv(ns_cluster *c, int *src, gint64 timeout_us)
{
    struct loop_rank *r = (struct loop_rank *)c;
    GAsyncQueue *q = r->shared->box[c->rank];
    struct loop_letter *l = timeout_us < 0 ? g_async_queue_pop(q)
                                           : g_async_queue_timeout_pop(q, (guint64)timeout_us);
    if (!l)
        return NULL;
    GBytes *msg = l->msg;
    *src = l->src;
    g_free(l);
    return msg;
}

static void loop_close(ns_cluster *c)
{
    struct loop_rank *r = (struct loop_rank *)c;
    struct loop_shared *s = r->shared;
    g_free(r);
    if (!g_atomic_int_dec_and_test(&s->open))
        return;
    for (int i = 0; i < s->n; i++)
        g_async_queue_unref(s->box[i]);
    g_free(s);
}

static const struct ns_cluster_ops loop_ops = {
    .name = "loop", .send = loop_send, .recv = loop_recv, .close = loop_close,
};

ns_cluster **ns_cluster_loop_new(int n)
{
    g_return_val_if_fail(n > 0, NULL);
    struct loop_shared *s = g_malloc0(sizeof *s + (size_t)n * sizeof s->box[0]);
    s->n = n;
    s->open = n;
    for (int i = 0; i < n; i++)
        s->box[i] = g_async_queue_new_full(letter_free);
    ns_cluster **ranks = g_new0(ns_cluster *, n);
    for (int i = 0; i < n; i++) {
        struct loop_rank *r = g_new0(struct loop_rank, 1);
        r->base.ops = &loop_ops;
        r->base.rank = i;
        r->base.size = n;
        r->shared = s;
        ranks[i] = &r->base;
    }
    return ranks;
}
