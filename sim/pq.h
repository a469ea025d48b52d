/* pq.h — the pluggable priority queue behind the scheduler (private to sim/).
 *
 * An entry is 16 bytes: the event time and a key whose high bits are the
 * insertion sequence and whose low NS_PQ_SLOT_BITS bits are the event's slab
 * slot.  Ordering by (at, key) is therefore ordering by (time, insertion):
 * the tie-break the engine promises.  A queue implementation never looks
 * inside the key beyond comparing it.
 */
#ifndef NETSIM_PQ_H
#define NETSIM_PQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netsim/time.h"

#define NS_PQ_SLOT_BITS 28                       /* 268 M pending events */
#define NS_PQ_SLOT_MASK ((UINT64_C(1) << NS_PQ_SLOT_BITS) - 1)
#define NS_PQ_SEQ_LIMIT (UINT64_C(1) << (64 - NS_PQ_SLOT_BITS))

struct ns_pq_entry {
    ns_time_t at;         /* when the event fires */
    uint64_t  key;        /* seq << NS_PQ_SLOT_BITS | slot */
};

static inline bool ns_pq_before(const struct ns_pq_entry *a,
                                const struct ns_pq_entry *b)
{
    return a->at < b->at || (a->at == b->at && a->key < b->key);
}

typedef bool (*ns_pq_keep_fn)(void *ud, const struct ns_pq_entry *e);

/* A queue discipline.  All hooks are required except peek_next. */
struct ns_pq_ops {
    const char *name;
    void   *(*create)(void);
    void    (*destroy)(void *q);
    void    (*push)(void *q, struct ns_pq_entry e);
    /* Removes the minimum into *out if its time is <= limit; false when
     * empty or when the minimum lies after limit (it then stays queued, so
     * a run that stops at `until` never pops and re-pushes). */
    bool    (*pop)(void *q, ns_time_t limit, struct ns_pq_entry *out);
    /* The minimum, or NULL when empty; valid until the next call. */
    const struct ns_pq_entry *(*peek)(void *q);
    size_t  (*size)(const void *q);
    /* Drops every entry for which keep() is false (used to purge cancelled
     * events and to renumber sequences). */
    void    (*filter)(void *q, ns_pq_keep_fn keep, void *ud);
    /* Heap bytes held, for memory accounting. */
    size_t  (*bytes)(const void *q);
    /* Optional (NULL = no hint).  Right after a pop, an entry likely to be
     * the next minimum, or NULL; a guess that may be wrong, and valid only
     * until the next call.  The scheduler prefetches that event's slab cell
     * so its cache miss overlaps the running callback. */
    const struct ns_pq_entry *(*peek_next)(void *q);
};

extern const struct ns_pq_ops ns_pq_heap4;       /* cache-aligned 4-ary heap */
extern const struct ns_pq_ops ns_pq_lanes;       /* fixed-delay FIFOs + heap4 */

#endif
