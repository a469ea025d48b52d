/* pq_heap4.c — the default event queue: an array 4-ary min-heap of 16-byte
 * entries, laid out so that the four children of a node share one 64-byte
 * cache line.
 *
 * Invariant: for every logical index i > 0, h[parent(i)] <= h[i] in
 * (at, key) order, where parent(i) = (i - 1) / 4 and the children of i are
 * 4i+1 .. 4i+4.  The array is allocated 64-byte aligned and h points three
 * entries in, so children 4i+1.. sit at physical 4(i+1): one line per family.
 *
 * Two things make it faster than a textbook heap at the scheduler's access
 * pattern (pop the minimum, then usually push one new event from inside its
 * callback):
 *  - pop leaves a hole at the root instead of filling it at once; a push that
 *    follows fills the hole directly (one sift instead of two);
 *  - sifts are "bottom-up" (Floyd): the hole walks down along the smaller
 *    children to a leaf with three comparisons per level, then the element
 *    climbs back the little it needs.  Most elements belong near the leaves.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "pq.h"

#define ALIGN_PAD 3                  /* entries before logical index 0 */

struct heap4 {
    struct ns_pq_entry *base;        /* aligned allocation */
    struct ns_pq_entry *h;           /* base + ALIGN_PAD: logical index 0 */
    size_t              n;           /* positions in use, hole included */
    size_t              cap;         /* positions available */
    bool                hole;        /* root popped but not refilled */
};

typedef unsigned __int128 u128;

/* One 128-bit comparison instead of two 64-bit ones: times are never
 * negative, so (at, key) as an unsigned 128-bit number orders the same. */
static inline u128 rank(const struct ns_pq_entry *e)
{
    return ((u128)(uint64_t)e->at << 64) | e->key;
}

static void *heap4_create(void)
{
    struct heap4 *q = g_new0(struct heap4, 1);
    return q;
}

static void heap4_destroy(void *qp)
{
    struct heap4 *q = qp;
    if (!q)
        return;
    g_aligned_free(q->base);
    g_free(q);
}

static const struct ns_pq_entry SENTINEL = { INT64_MAX, UINT64_MAX };

static void grow(struct heap4 *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 64;
    struct ns_pq_entry *nb = g_aligned_alloc(ncap + ALIGN_PAD,
                                             sizeof(struct ns_pq_entry), 64);
    if (q->n)
        memcpy(nb + ALIGN_PAD, q->h, q->n * sizeof(struct ns_pq_entry));
    g_aligned_free(q->base);
    q->base = nb;
    q->h = nb + ALIGN_PAD;
    q->cap = ncap;
    for (size_t k = q->n; k < q->n + 3; k++) q->h[k] = SENTINEL;
}

/* Index of the smallest of the children starting at c (c < n). */
static inline size_t min_child(const struct ns_pq_entry *h, size_t c, size_t n)
{
    size_t m = c;
    u128 best = rank(&h[c]);
    size_t end = c + 4 < n ? c + 4 : n;
    for (size_t j = c + 1; j < end; j++) {
        u128 r = rank(&h[j]);
        if (r < best) {
            best = r;
            m = j;
        }
    }
    return m;
}

#ifndef VARIANT
#define VARIANT 2
#endif

static inline size_t min4(const struct ns_pq_entry *h, size_t c)
{
#if VARIANT >= 3
    size_t m = c;
    if (ns_pq_before(&h[c + 1], &h[m])) m = c + 1;
    if (ns_pq_before(&h[c + 2], &h[m])) m = c + 2;
    if (ns_pq_before(&h[c + 3], &h[m])) m = c + 3;
    return m;
#else
    size_t a = rank(&h[c + 1]) < rank(&h[c]) ? c + 1 : c;
    size_t b = rank(&h[c + 3]) < rank(&h[c + 2]) ? c + 3 : c + 2;
    return rank(&h[b]) < rank(&h[a]) ? b : a;
#endif
}

/* Places x into the hole at index i (0 <= i < n) restoring the invariant,
 * assuming x is no smaller than the parent of i (true for the root). */
static inline void sift_down_bottom_up(struct ns_pq_entry *h, size_t n,
                                       size_t i, struct ns_pq_entry x)
{
    size_t start = i;
    size_t c;
#if VARIANT == 0
    while ((c = 4 * i + 1) < n) {
        size_t m = min_child(h, c, n);
        h[i] = h[m];
        i = m;
    }
#else
    while ((c = 4 * i + 1) < n) {
#if VARIANT == 2 || VARIANT == 4
        const struct ns_pq_entry *g = &h[4 * c + 1];
        __builtin_prefetch(g);
        __builtin_prefetch(g + 4);
        __builtin_prefetch(g + 8);
        __builtin_prefetch(g + 12);
#endif
        size_t m = min4(h, c);
        h[i] = h[m];
        i = m;
    }
#endif
    u128 rx = rank(&x);
    while (i > start) {
        size_t p = (i - 1) / 4;
        if (rank(&h[p]) <= rx)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static inline void sift_up(struct ns_pq_entry *h, size_t i, struct ns_pq_entry x)
{
    u128 rx = rank(&x);
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (rank(&h[p]) <= rx)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static void fill_hole(struct heap4 *q)
{
    if (!q->hole)
        return;
    q->hole = false;
    q->n--;
    struct ns_pq_entry last = q->h[q->n];
    q->h[q->n] = SENTINEL;
    if (q->n > 0)
        sift_down_bottom_up(q->h, q->n, 0, last);
}

static void heap4_push(void *qp, struct ns_pq_entry e)
{
    struct heap4 *q = qp;
    if (q->hole) {
        q->hole = false;
        sift_down_bottom_up(q->h, q->n, 0, e);
        return;
    }
    if (q->n + 4 > q->cap)
        grow(q);
    q->h[q->n + 3] = SENTINEL;
    sift_up(q->h, q->n++, e);
}

static bool heap4_pop(void *qp, struct ns_pq_entry *out)
{
    struct heap4 *q = qp;
    fill_hole(q);
    if (q->n == 0)
        return false;
    *out = q->h[0];
    q->hole = true;
    return true;
}

static const struct ns_pq_entry *heap4_peek(void *qp)
{
    struct heap4 *q = qp;
    fill_hole(q);
    return q->n ? &q->h[0] : NULL;
}

static size_t heap4_size(const void *qp)
{
    const struct heap4 *q = qp;
    return q->n - (q->hole ? 1 : 0);
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
            size_t m = min_child(q->h, c, q->n);
            if (rank(&q->h[m]) >= rx)
                break;
            q->h[j] = q->h[m];
            j = m;
        }
        q->h[j] = x;
    }
}

static void heap4_filter(void *qp, ns_pq_keep_fn keep, void *ud)
{
    struct heap4 *q = qp;
    fill_hole(q);
    size_t w = 0;
    for (size_t r = 0; r < q->n; r++)
        if (keep(ud, &q->h[r]))
            q->h[w++] = q->h[r];
    q->n = w;
    for (size_t k = w; k < w + 3; k++) q->h[k] = SENTINEL;
    heapify(q);
}

static size_t heap4_bytes(const void *qp)
{
    const struct heap4 *q = qp;
    return (q->cap + ALIGN_PAD) * sizeof(struct ns_pq_entry) + sizeof *q;
}

const struct ns_pq_ops ns_pq_heap4 = {
    .name    = "heap4",
    .create  = heap4_create,
    .destroy = heap4_destroy,
    .push    = heap4_push,
    .pop     = heap4_pop,
    .peek    = heap4_peek,
    .size    = heap4_size,
    .filter  = heap4_filter,
    .bytes   = heap4_bytes,
};
