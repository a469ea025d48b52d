/* pq_heap4.c — the plain 4-ary heap as a queue discipline (the heap
 * itself, and why it is laid out as it is: pq_heap4.h), and the heap's cold
 * paths: growth, filter, accounting.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "pq_heap4.h"

static void *heap4_create(void)
{
    struct heap4 *q = g_new0(struct heap4, 1);
    return q;
}

void ns__heap4_free(struct heap4 *q)
{
    g_aligned_free(q->base);
    q->base = q->h = NULL;
    q->n = q->cap = 0;
    q->hole = false;
    q->root_child = 0;
}

static void heap4_destroy(void *qp)
{
    struct heap4 *q = qp;
    if (!q)
        return;
    ns__heap4_free(q);
    g_free(q);
}

static void set_tail(struct heap4 *q)
{
    for (size_t k = q->n; k < q->n + TAIL_PAD; k++)
        q->h[k] = SENTINEL;
}

void ns__heap4_grow(struct heap4 *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 64;
    struct ns_pq_entry *nb = g_aligned_alloc(ALIGN_PAD + ncap + TAIL_PAD,
                                             sizeof(struct ns_pq_entry), 64);
    if (q->n)
        memcpy(nb + ALIGN_PAD, q->h, q->n * sizeof(struct ns_pq_entry));
    g_aligned_free(q->base);
    q->base = nb;
    q->h = nb + ALIGN_PAD;
    q->cap = ncap;
    set_tail(q);
}

static void heapify(struct heap4 *q)
{
    if (q->n < 2)
        return;
    for (size_t i = (q->n - 2) / 4 + 1; i-- > 0;) {
        struct ns_pq_entry x = q->h[i];
        /* Textbook sift-down: the subtree below i is already a heap. */
        size_t j = i, c;
        u128 rx = rank(&x);
        while ((c = 4 * j + 1) < q->n) {
            size_t m = min4(q->h, c);
            if (rank(&q->h[m]) >= rx)
                break;
            q->h[j] = q->h[m];
            j = m;
        }
        q->h[j] = x;
    }
}

void ns__heap4_filter(struct heap4 *q, ns_pq_keep_fn keep, void *ud)
{
    heap4_fill_hole(q);
    if (q->n == 0)
        return;
    size_t w = 0;
    for (size_t r = 0; r < q->n; r++)
        if (keep(ud, &q->h[r]))
            q->h[w++] = q->h[r];
    q->n = w;
    set_tail(q);
    heapify(q);
}

size_t ns__heap4_bytes(const struct heap4 *q)
{
    size_t slots = q->cap ? ALIGN_PAD + q->cap + TAIL_PAD : 0;
    return slots * sizeof(struct ns_pq_entry) + sizeof *q;
}

/* The ops: thin wrappers over pq_heap4.h. */
static void heap4_push(void *q, struct ns_pq_entry e) { heap4_push_entry(q, e); }

static bool heap4_pop(void *q, ns_time_t limit, struct ns_pq_entry *out)
{
    return heap4_take_min(q, limit, out);
}

static const struct ns_pq_entry *heap4_peek(void *q) { return heap4_min(q); }
static const struct ns_pq_entry *heap4_peek_next(void *q) { return heap4_next_hint(q); }
static size_t heap4_size(const void *q) { return heap4_count(q); }
static void heap4_filter(void *q, ns_pq_keep_fn keep, void *ud) { ns__heap4_filter(q, keep, ud); }
static size_t heap4_bytes(const void *q) { return ns__heap4_bytes(q); }

const struct ns_pq_ops ns_pq_heap4 = {
    .name      = "heap4",
    .create    = heap4_create,
    .destroy   = heap4_destroy,
    .push      = heap4_push,
    .pop       = heap4_pop,
    .peek      = heap4_peek,
    .peek_next = heap4_peek_next,
    .size      = heap4_size,
    .filter    = heap4_filter,
    .bytes     = heap4_bytes,
};
