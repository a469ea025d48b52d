/* pq_heap4.h — the 4-ary heap event queue (ops in pq_heap4.c): an array
 * min-heap of 16-byte entries, laid out so that the four children of a node
 * share one 64-byte cache line.
 *
 * Invariant: for every logical index i > 0, h[parent(i)] <= h[i] in
 * (at, key) order, where parent(i) = (i - 1) / 4 and the children of i are
 * 4i+1 .. 4i+4.  The array is allocated 64-byte aligned and h points three
 * entries in, so children 4i+1.. sit at physical 4(i+1): one line per family.
 * The three positions after the last entry always hold SENTINEL, larger than
 * any real entry, so every family has four members and the minimum of a
 * family is found without bounds checks.
 *
 * What makes it faster than a textbook heap at the scheduler's access
 * pattern (pop the minimum, then usually push one new event from inside its
 * callback), measured by the hold benchmark (tests/bench/bench_hold.c)
 * against one:
 *  - pop leaves a hole at the root instead of filling it at once; a push that
 *    follows fills the hole directly (one sift instead of two);
 *  - sifts are "bottom-up" (Floyd): the hole walks down along the smaller
 *    children to a leaf, then the element climbs back the little it needs.
 *    Most elements belong near the leaves;
 *  - the family minimum is a branch-free tournament (two pairs, then the
 *    winners): comparisons of random times are coin flips a branch predictor
 *    cannot learn;
 *  - branch-free, each level's address waits on the previous level's load,
 *    a chain of cache misses once the heap outgrows L1.  So below the levels
 *    that stay in L1 a step prefetches the four lines of its grandchildren,
 *    and below those that stay in L2 the sixteen of its great-grandchildren:
 *    the next levels' misses are in flight while this one compares.  Hold,
 *    2e6 events: 10^5 pending 0.33 -> 0.26 s, 10^6 pending 1.19 -> 0.66 s,
 *    and 0.63 -> 0.48 s more with the second level.
 * Known cost: a heap still touches log4(n) lines per event wherever the new
 * time lands, and the last levels of a 10^6 heap come from DRAM; a ladder
 * or calendar queue could be O(1) but needs tuning to the time spread.
 *
 * The hot paths are inline here so that a queue built around the heap (the
 * lanes queue, pq_lanes.c) pays no call through an ops table per event.
 */
#ifndef NETSIM_PQ_HEAP4_H
#define NETSIM_PQ_HEAP4_H

#include <stdbool.h>
#include <stddef.h>

#include "pq.h"

#define ALIGN_PAD     3              /* entries before logical index 0 */
#define TAIL_PAD      3              /* sentinels after the last entry */
/* Entries before these indices stay in L1 (21 KB) and L2 (1.4 MB) under
 * steady load; beyond them a step prefetches one, then two levels ahead. */
#define PREFETCH_L1   1365
#define PREFETCH_L2   87381

struct heap4 {
    struct ns_pq_entry *base;        /* aligned allocation */
    struct ns_pq_entry *h;           /* base + ALIGN_PAD: logical index 0 */
    size_t              n;           /* positions in use, hole included */
    size_t              cap;         /* positions available, pads excluded */
    bool                hole;        /* root popped but not refilled */
    /* While the hole is open: the root's smallest child if heap4_next_hint
     * found it (0 = not known), so the sift that fills the hole skips the
     * first level's comparisons.  Cleared whenever the hole closes. */
    size_t              root_child;
};

/* Larger than any real entry: a key is seq << 28 | slot, and the slab never
 * hands out slot 2^28 - 1 (sched.c asserts its size below that). */
static const struct ns_pq_entry SENTINEL = { INT64_MAX, UINT64_MAX };

typedef unsigned __int128 u128;

/* One 128-bit comparison instead of two 64-bit ones: times are never
 * negative, so (at, key) as an unsigned 128-bit number orders the same. */
static inline u128 rank(const struct ns_pq_entry *e)
{
    return ((u128)(uint64_t)e->at << 64) | e->key;
}

/* Cold paths, in pq_heap4.c. */
void   ns__heap4_free(struct heap4 *q);
void   ns__heap4_grow(struct heap4 *q);
void   ns__heap4_filter(struct heap4 *q, ns_pq_keep_fn keep, void *ud);
size_t ns__heap4_bytes(const struct heap4 *q);

/* Index of the smallest of the four children starting at c (c < n). */
static inline size_t min4(const struct ns_pq_entry *h, size_t c)
{
    /* Index arithmetic rather than ?: so the compiler cannot turn a pair
     * back into a branch (GCC 12 did, for one of the three). */
    size_t a = c + (rank(&h[c + 1]) < rank(&h[c]));
    size_t b = c + 2 + (rank(&h[c + 3]) < rank(&h[c + 2]));
    size_t sel = -(size_t)(rank(&h[b]) < rank(&h[a]));
    return a ^ ((a ^ b) & sel);
}

/* Places x into the hole at index i, moving it up while its parent is
 * larger, but not above index `top` (0: the root). */
static inline void sift_up(struct ns_pq_entry *h, size_t i, size_t top, struct ns_pq_entry x)
{
    u128 rx = rank(&x);
    while (i > top) {
        size_t p = (i - 1) / 4;
        if (rank(&h[p]) <= rx)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

/* Places x into the hole at index i (0 <= i < n) restoring the invariant,
 * assuming x is no smaller than the parent of `start` (true for the root).
 * The hole has already walked from `start` down to i along smallest
 * children (i == start when it has not moved). */
static inline void sift_down_bottom_up(struct ns_pq_entry *h, size_t n,
                                       size_t start, size_t i,
                                       struct ns_pq_entry x)
{
    size_t c;
    while ((c = 4 * i + 1) < n) {
        size_t g = 4 * c + 1;            /* first grandchild */
        if (g >= PREFETCH_L1) {
            /* Past the end, prefetch the (cached) root lines instead: a
             * select, where a branch would mispredict at the last level. */
            const struct ns_pq_entry *pg = g < n ? &h[g] : h;
            for (size_t k = 0; k < 16; k += 4)
                __builtin_prefetch(pg + k);
            size_t gg = 4 * g + 1;       /* first great-grandchild */
            if (gg >= PREFETCH_L2 && gg < n)
                for (size_t k = 0; k < 64; k += 4)
                    __builtin_prefetch(&h[gg + k]);
        }
        size_t m = min4(h, c);
        h[i] = h[m];
        i = m;
    }
    sift_up(h, i, start, x);
}

/* Fills the open hole at the root with x (n > 0 positions, hole
 * included).  A known smallest child moves up without comparisons, unless
 * it is the position fill_hole has just emptied. */
static inline void sift_root_hole(struct heap4 *q, struct ns_pq_entry x)
{
    size_t m = q->root_child, from = 0;
    q->root_child = 0;
    q->hole = false;
    if (m != 0 && m < q->n) {
        q->h[0] = q->h[m];
        from = m;
    }
    sift_down_bottom_up(q->h, q->n, 0, from, x);
}

static inline void heap4_fill_hole(struct heap4 *q)
{
    if (!q->hole)
        return;
    q->n--;
    struct ns_pq_entry last = q->h[q->n];
    q->h[q->n] = SENTINEL;
    if (q->n > 0) {
        sift_root_hole(q, last);
    } else {
        q->hole = false;
        q->root_child = 0;
    }
}

static inline void heap4_push_entry(struct heap4 *q, struct ns_pq_entry e)
{
    if (q->hole) {
        sift_root_hole(q, e);
        return;
    }
    if (q->n == q->cap)
        ns__heap4_grow(q);
    q->h[q->n + TAIL_PAD] = SENTINEL;       /* the tail moves one on */
    sift_up(q->h, q->n++, 0, e);
}

/* Removes the minimum into *out if its time is <= limit (see pq.h). */
static inline bool heap4_take_min(struct heap4 *q, ns_time_t limit,
                                  struct ns_pq_entry *out)
{
    heap4_fill_hole(q);
    if (q->n == 0 || q->h[0].at > limit)
        return false;
    *out = q->h[0];
    q->hole = true;
    return true;
}

/* Removes the root, which heap4_min() has just returned. */
static inline void heap4_take_root(struct heap4 *q, struct ns_pq_entry *out)
{
    *out = q->h[0];
    q->hole = true;
}

/* The minimum, or NULL when empty. */
static inline const struct ns_pq_entry *heap4_min(struct heap4 *q)
{
    heap4_fill_hole(q);
    return q->n ? &q->h[0] : NULL;
}

/* After a pop the next minimum is the smallest child of the root unless the
 * coming push undercuts it, which for any spread of times is rare.  The
 * child is remembered for the sift that fills the hole. */
static inline const struct ns_pq_entry *heap4_next_hint(struct heap4 *q)
{
    if (!q->hole || q->n < 2)
        return NULL;
    q->root_child = min4(q->h, 1);
    return &q->h[q->root_child];
}

static inline size_t heap4_count(const struct heap4 *q)
{
    return q->n - (q->hole ? 1 : 0);
}

#endif
