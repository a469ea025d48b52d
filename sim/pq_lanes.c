/* pq_lanes.c — the default event queue: a few FIFO "lanes" in front of the
 * 4-ary heap (pq_heap4.c), for the many events scheduled at a fixed delay.
 *
 * Why: in a network simulation most events are scheduled a constant delay
 * after the event that creates them (a link's propagation plus a frame's
 * serialisation time, a fixed retry timer).  Events pushed at the same delay
 * d after a non-decreasing "now" arrive in (time, key) order, so a FIFO holds
 * them sorted at O(1) per event, where the heap pays log4(n) levels.  In
 * locks_contention 93 % of the pushes have one of four delays (50,584,
 * 50,592, 584 and 592 ns).
 *
 * How:
 *  - "now" is the time of the last popped entry; a push's delay is its time
 *    minus that.  Each lane is tagged with one delay; a push whose delay
 *    matches a tag is appended to that lane when it is no smaller than the
 *    lane's tail, otherwise it goes to the heap.
 *  - Correctness never depends on the tags: a lane only ever receives an
 *    entry no smaller than its tail, so every lane is sorted, and the minimum
 *    is the smallest of the heap's minimum and the lanes' heads.
 *  - Tags are kept like a CLOCK cache: a hit earns its lane credit (capped);
 *    a miss takes one credit from the lane under the clock hand and moves
 *    the hand on; a lane with no credit left is retagged to the missing
 *    delay, while that push itself still goes to the heap.  A hot delay thus
 *    keeps its lane, and a delay seen once (a random think time far ahead)
 *    never parks an entry in a lane, where it would block nearer delays.
 *  - A queue with no fixed delays (the hold benchmark) would pay for all
 *    this on every event, so the lanes are probed: when they take too few
 *    pushes they are emptied into the heap and bypassed for a while (see
 *    PROBE_PUSHES), and while no lane holds anything a pop is the heap's.
 *  - The lane holding the smallest head is cached, so a pop compares the
 *    heap's minimum with one entry.
 *
 * Measured (callgrind, instructions, against the heap alone as it was):
 * locks_contention --sizes 5000 3.314 G -> 2.948 G, udp_chain 14.52 G ->
 * 12.32 G, tcp_dumbbell 7.31 G -> 6.75 G, tls_handshakes 2.75 G -> 2.65 G,
 * dhcp_campus --sizes 50 834 M -> 832 M; hold with 10^6 events, 10^3
 * pending 639 M -> 619 M, 10^5 pending 890 M -> 871 M (part of that from
 * pq_heap4.h's hint reuse).  Cost: the rings' slack adds about 100 bytes
 * per TLS connection in tls_handshakes (2,677 -> 2,780).
 */
#include <string.h>
#include <glib.h>

#include "pq_heap4.h"

#define NLANES        4              /* delays tracked at once */
#define CREDIT_MAX    64             /* misses a hot lane survives */
#define LANE_CAP0     16             /* first ring size (a power of two) */
/* Lanes that take under a quarter of 256 pushes are emptied into the heap
 * and left out of the next 4,096 pushes, which go straight to the heap: a
 * queue without fixed delays (the hold benchmark) pays for the tag search
 * on 6 % of its pushes, and its pops find no lane to compare with. */
#define PROBE_PUSHES  256
#define PROBE_HITS    64
#define BYPASS_PUSHES 4096
/* Below this many pending events the heap is a few levels deep and the
 * lanes' bookkeeping costs more than they save (dhcp_campus with 400
 * clients: +3.7 % instructions with lanes), so a probe then bypasses them
 * too. */
#define PROBE_MIN_PENDING 1024

#define RANK_MAX      (~(u128)0)     /* head rank of an empty lane */

struct lane {
    struct ns_pq_entry *ring;        /* cap entries, a power of two */
    size_t              cap;
    size_t              head;        /* first entry (mod cap) */
    size_t              len;
};

/* The ranks of each lane's head and tail are kept beside the tags, so a
 * push or a pop reads one small array instead of four rings. */
struct lanes {
    struct heap4 heap;               /* everything no lane takes */
    ns_time_t   tag[NLANES];         /* the delay each lane takes */
    unsigned    credit[NLANES];
    u128        head_rank[NLANES];   /* RANK_MAX when empty */
    u128        tail_rank[NLANES];   /* 0 when empty: anything fits */
    unsigned    min_lane;            /* lane with the smallest head rank */
    unsigned    in_use;              /* bit i: lane i is not empty */
    unsigned    hand;                /* the CLOCK hand */
    unsigned    probe_left;          /* pushes left in this probe */
    unsigned    probe_hits;          /* of which the lanes took */
    unsigned    bypass_left;         /* pushes still sent to the heap */
    ns_time_t   now;                 /* time of the last popped entry */
    struct lane lane[NLANES];
};

static void *lanes_create(void)
{
    struct lanes *q = g_new0(struct lanes, 1);
    q->probe_left = PROBE_PUSHES;
    for (int i = 0; i < NLANES; i++) {
        q->tag[i] = -1;              /* no push has a negative delay */
        q->head_rank[i] = RANK_MAX;
    }
    return q;
}

static void lanes_destroy(void *qp)
{
    struct lanes *q = qp;
    if (!q)
        return;
    for (int i = 0; i < NLANES; i++)
        g_free(q->lane[i].ring);
    ns__heap4_free(&q->heap);
    g_free(q);
}

/* Doubles a full ring, unwrapping it so the head moves to index 0. */
static void lane_grow(struct lane *l)
{
    size_t ncap = l->cap ? l->cap * 2 : LANE_CAP0;
    struct ns_pq_entry *nr = g_new(struct ns_pq_entry, ncap);
    for (size_t k = 0; k < l->len; k++)
        nr[k] = l->ring[(l->head + k) & (l->cap - 1)];
    g_free(l->ring);
    l->ring = nr;
    l->cap = ncap;
    l->head = 0;
}

static inline void find_min_lane(struct lanes *q)
{
    unsigned best = 0;
    for (unsigned i = 1; i < NLANES; i++)
        if (q->head_rank[i] < q->head_rank[best])
            best = i;
    q->min_lane = best;
}

/* Recomputes the cached ranks of lane i after its contents changed. */
static void lane_sync(struct lanes *q, unsigned i)
{
    const struct lane *l = &q->lane[i];
    if (l->len == 0) {
        q->in_use &= ~(1u << i);
        q->head_rank[i] = RANK_MAX;
        q->tail_rank[i] = 0;
        return;
    }
    q->in_use |= 1u << i;
    q->head_rank[i] = rank(&l->ring[l->head]);
    q->tail_rank[i] = rank(&l->ring[(l->head + l->len - 1) & (l->cap - 1)]);
}

/* The lane e should be appended to, retagging one on a miss (see the top
 * comment), or NLANES when e goes to the heap.  A lane must stay sorted,
 * so e goes to a lane only if it is no smaller than the lane's tail. */
static unsigned lane_for(struct lanes *q, const struct ns_pq_entry *e, u128 r)
{
    ns_time_t delay = e->at - q->now;
    for (unsigned i = 0; i < NLANES; i++)
        if (q->tag[i] == delay) {
            q->credit[i] += q->credit[i] < CREDIT_MAX;
            return q->tail_rank[i] <= r ? i : NLANES;
        }
    unsigned victim = q->hand;
    q->hand = (q->hand + 1) % NLANES;
    if (q->credit[victim] > 0)
        q->credit[victim]--;
    /* Retag, but send e itself to the heap: a lane takes a delay's second
     * push on, so a delay seen once (a random timer far ahead) never parks
     * an entry that would make the lane refuse its next, nearer delay.  A
     * lane whose tail lies beyond e keeps its tag, for the same reason. */
    else if (q->tail_rank[victim] <= r)
        q->tag[victim] = delay;
    return NLANES;
}

/* Moves every lane's entries into the heap. */
static void empty_lanes(struct lanes *q)
{
    for (unsigned i = 0; i < NLANES; i++) {
        struct lane *l = &q->lane[i];
        for (; l->len > 0; l->len--) {
            heap4_push_entry(&q->heap, l->ring[l->head]);
            l->head = (l->head + 1) & (l->cap - 1);
        }
        lane_sync(q, i);
    }
    find_min_lane(q);
}

static size_t lanes_size(const void *qp);

/* Counts a push against the probe; at its end, decides on a bypass. */
static inline void probe_step(struct lanes *q, bool hit)
{
    q->probe_hits += hit;
    if (--q->probe_left > 0)
        return;
    if (q->probe_hits < PROBE_HITS || lanes_size(q) < PROBE_MIN_PENDING) {
        q->bypass_left = BYPASS_PUSHES;
        empty_lanes(q);
    }
    q->probe_left = PROBE_PUSHES;
    q->probe_hits = 0;
}

static void lanes_push(void *qp, struct ns_pq_entry e)
{
    struct lanes *q = qp;
    if (q->bypass_left) {
        q->bypass_left--;
        heap4_push_entry(&q->heap, e);
        return;
    }
    u128 r = rank(&e);
    unsigned i = lane_for(q, &e, r);
    probe_step(q, i < NLANES);
    /* A probe that ended here in a bypass has emptied the lanes: e goes
     * to the heap too, so no lane is left to compare with while bypassed. */
    if (i == NLANES || q->bypass_left) {
        heap4_push_entry(&q->heap, e);
        return;
    }
    struct lane *l = &q->lane[i];
    if (l->len == l->cap)
        lane_grow(l);
    l->ring[(l->head + l->len) & (l->cap - 1)] = e;
    l->len++;
    q->tail_rank[i] = r;
    /* Appending to a non-empty lane leaves its head, so the cache holds. */
    if (l->len == 1) {
        q->in_use |= 1u << i;
        q->head_rank[i] = r;
        if (r < q->head_rank[q->min_lane])
            q->min_lane = i;
    }
}

/* The smaller of the heap's minimum h (or NULL) and the lanes' head. */
static inline const struct ns_pq_entry *min_with_lanes(const struct lanes *q,
                                                       const struct ns_pq_entry *h)
{
    if (!q->in_use)
        return h;
    unsigned m = q->min_lane;
    if (h && rank(h) < q->head_rank[m])
        return h;
    const struct lane *l = &q->lane[m];
    return &l->ring[l->head];
}

static const struct ns_pq_entry *lanes_peek(void *qp)
{
    struct lanes *q = qp;
    return min_with_lanes(q, heap4_min(&q->heap));
}

static bool lanes_pop(void *qp, ns_time_t limit, struct ns_pq_entry *out)
{
    struct lanes *q = qp;
    if (!q->in_use) {                /* the heap alone */
        if (!heap4_take_min(&q->heap, limit, out))
            return false;
        q->now = out->at;
        return true;
    }
    const struct ns_pq_entry *h = heap4_min(&q->heap);
    const struct ns_pq_entry *m = min_with_lanes(q, h);
    if (!m || m->at > limit)
        return false;
    if (m == h) {
        heap4_take_root(&q->heap, out);
    } else {
        unsigned i = q->min_lane;
        struct lane *l = &q->lane[i];
        *out = *m;
        l->head = (l->head + 1) & (l->cap - 1);
        l->len--;
        if (l->len == 0)
            lane_sync(q, i);
        else                         /* the tail stays */
            q->head_rank[i] = rank(&l->ring[l->head]);
        find_min_lane(q);
    }
    q->now = out->at;
    return true;
}

/* Right after a pop: the heap's guess (or minimum) against the lanes. */
static const struct ns_pq_entry *lanes_peek_next(void *qp)
{
    struct lanes *q = qp;
    const struct ns_pq_entry *h = heap4_next_hint(&q->heap);
    if (!q->in_use)
        return h;
    if (!h)
        h = heap4_min(&q->heap);
    return min_with_lanes(q, h);
}

static size_t lanes_size(const void *qp)
{
    const struct lanes *q = qp;
    size_t n = heap4_count(&q->heap);
    for (int i = 0; i < NLANES; i++)
        n += q->lane[i].len;
    return n;
}

/* Compacts a lane in place, keeping its order (so it stays sorted). */
static void lane_filter(struct lane *l, ns_pq_keep_fn keep, void *ud)
{
    size_t w = 0;
    for (size_t r = 0; r < l->len; r++) {
        struct ns_pq_entry e = l->ring[(l->head + r) & (l->cap - 1)];
        if (keep(ud, &e))
            l->ring[(l->head + w++) & (l->cap - 1)] = e;
    }
    l->len = w;
}

static void lanes_filter(void *qp, ns_pq_keep_fn keep, void *ud)
{
    struct lanes *q = qp;
    ns__heap4_filter(&q->heap, keep, ud);
    for (unsigned i = 0; i < NLANES; i++) {
        lane_filter(&q->lane[i], keep, ud);
        lane_sync(q, i);
    }
    find_min_lane(q);
}

static size_t lanes_bytes(const void *qp)
{
    const struct lanes *q = qp;
    size_t b = sizeof *q + ns__heap4_bytes(&q->heap) - sizeof q->heap;
    for (int i = 0; i < NLANES; i++)
        b += q->lane[i].cap * sizeof(struct ns_pq_entry);
    return b;
}

const struct ns_pq_ops ns_pq_lanes = {
    .name      = "lanes",
    .create    = lanes_create,
    .destroy   = lanes_destroy,
    .push      = lanes_push,
    .pop       = lanes_pop,
    .peek      = lanes_peek,
    .peek_next = lanes_peek_next,
    .size      = lanes_size,
    .filter    = lanes_filter,
    .bytes     = lanes_bytes,
};
