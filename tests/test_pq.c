/* test_pq.c — the scheduler's event queues (sim/pq.h), each one driven
 * through its ops table: order, ties, the pop limit, filter, peek and the
 * peek_next hint, and long mixed sequences checked against a sorted
 * reference and against the plain heap.
 *
 * Entries carry keys built as the scheduler builds them (sequence << 28 |
 * slot), so (time, key) order is (time, insertion) order.  The fixed-delay
 * patterns are what the lanes queue (pq_lanes.c) routes to its FIFOs; the
 * random ones are what it leaves to its heap. */
#include <stdlib.h>

#include "../sim/pq.h"
#include "netsim/rng.h"
#include "tests.h"

static const struct ns_pq_ops *const queues[] = { &ns_pq_heap4, &ns_pq_lanes };

static struct ns_pq_entry entry(ns_time_t at, uint64_t seq)
{
    return (struct ns_pq_entry){ at, (seq << NS_PQ_SLOT_BITS) | (seq & 0xfff) };
}

static int cmp_entry(const void *a, const void *b)
{
    const struct ns_pq_entry *x = a, *y = b;
    if (ns_pq_before(x, y))
        return -1;
    return ns_pq_before(y, x);
}

static bool same_entry(const struct ns_pq_entry *a, const struct ns_pq_entry *b)
{
    return a->at == b->at && a->key == b->key;
}

/* Pops everything, asking for the hint after each pop as the scheduler
 * does (the heap reuses what the hint found); true when the pops equal
 * want[0..n) in order. */
static bool drains_as(const struct ns_pq_ops *ops, void *q,
                      const struct ns_pq_entry *want, size_t n)
{
    bool ok = ops->size(q) == n;
    for (size_t i = 0; i < n && ok; i++) {
        struct ns_pq_entry e;
        ok = ops->pop(q, NS_TIME_MAX, &e) && same_entry(&e, &want[i]);
        if (ops->peek_next && i % 3 != 2)
            ops->peek_next(q);
    }
    struct ns_pq_entry e;
    return ok && !ops->pop(q, NS_TIME_MAX, &e) && ops->size(q) == 0;
}

static void test_random_times_sort(void)
{
    enum { N = 20000 };
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        ns_rng rng;
        ns_rng_init(&rng, 7, "pq");
        struct ns_pq_entry *all = g_new(struct ns_pq_entry, N);
        void *q = ops->create();
        for (uint64_t i = 0; i < N; i++) {
            all[i] = entry((ns_time_t)ns_rng_below(&rng, 1000000), i);
            ops->push(q, all[i]);
        }
        qsort(all, N, sizeof *all, cmp_entry);
        CU_ASSERT_TRUE(drains_as(ops, q, all, N));
        ops->destroy(q);
        g_free(all);
    }
}

/* Equal times pop in key (insertion) order, whichever delay brought them. */
static void test_ties_keep_insertion_order(void)
{
    enum { N = 3000 };
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        struct ns_pq_entry want[N];
        for (uint64_t i = 0; i < N; i++) {
            want[i] = entry((ns_time_t)(i % 3) * 10, i);
            ops->push(q, want[i]);
        }
        qsort(want, N, sizeof *want, cmp_entry);
        CU_ASSERT_EQUAL(want[0].key, entry(0, 0).key);
        CU_ASSERT_EQUAL(want[1].key, entry(0, 3).key);
        CU_ASSERT_TRUE(drains_as(ops, q, want, N));
        ops->destroy(q);
    }
}

/* A queue may not assume pushes come in key order: pushed newest first,
 * equal times (one "delay" for the lanes queue) still pop by key. */
static void test_keys_pushed_backwards(void)
{
    enum { N = 1000 };
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        struct ns_pq_entry want[N];
        for (uint64_t i = 0; i < N; i++) {
            want[i] = entry(500 + (ns_time_t)(i / 100), N - 1 - i);
            ops->push(q, want[i]);
        }
        qsort(want, N, sizeof *want, cmp_entry);
        CU_ASSERT_TRUE(drains_as(ops, q, want, N));
        ops->destroy(q);
    }
}

/* The same with the lanes in use: the lanes queue bypasses them while
 * fewer than about a thousand events are pending, so 5,000 entries at one
 * far time (one delay, rising keys) come first. */
static void test_keys_pushed_backwards_in_a_full_queue(void)
{
    enum { FAR = 5000, N = 1000 };
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        struct ns_pq_entry *want = g_new(struct ns_pq_entry, FAR + N);
        for (uint64_t i = 0; i < FAR; i++) {
            want[i] = entry(1000000, i);
            ops->push(q, want[i]);
        }
        for (uint64_t i = 0; i < N; i++) {
            want[FAR + i] = entry(500 + (ns_time_t)(i / 100), FAR + N - 1 - i);
            ops->push(q, want[FAR + i]);
        }
        qsort(want, FAR + N, sizeof *want, cmp_entry);
        CU_ASSERT_TRUE(drains_as(ops, q, want, FAR + N));
        ops->destroy(q);
        g_free(want);
    }
}

static void test_pop_limit_keeps_entry(void)
{
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        struct ns_pq_entry e;
        CU_ASSERT_FALSE(ops->pop(q, NS_TIME_MAX, &e));
        CU_ASSERT_PTR_NULL(ops->peek(q));
        /* Two pushes at one delay after time 0: the lanes queue's FIFOs. */
        ops->push(q, entry(100, 0));
        ops->push(q, entry(150, 1));
        ops->push(q, entry(200, 2));
        CU_ASSERT_FALSE(ops->pop(q, 99, &e));
        CU_ASSERT_EQUAL(ops->size(q), 3);
        CU_ASSERT_TRUE(ops->pop(q, 100, &e));
        CU_ASSERT_EQUAL(e.at, 100);
        CU_ASSERT_FALSE(ops->pop(q, 149, &e));
        CU_ASSERT_EQUAL(ops->peek(q)->at, 150);
        CU_ASSERT_TRUE(ops->pop(q, 150, &e));
        CU_ASSERT_EQUAL(e.at, 150);
        CU_ASSERT_EQUAL(ops->size(q), 1);
        ops->destroy(q);
    }
}

static bool drop_odd_seq(void *ud, const struct ns_pq_entry *e)
{
    (void)ud;
    return ((e->key >> NS_PQ_SLOT_BITS) & 1) == 0;
}

/* A purge of "cancelled" events: one in eight. */
static bool drop_one_in_eight(void *ud, const struct ns_pq_entry *e)
{
    (void)ud;
    return ((e->key >> NS_PQ_SLOT_BITS) & 7) != 3;
}

/* Filter keeps exactly the entries keep() accepts, in order, whether they
 * sit in the heap or in a lane. */
static void test_filter_drops_and_keeps_order(void)
{
    enum { N = 4000 };
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        struct ns_pq_entry want[N / 2];
        size_t nw = 0;
        /* Alternate a fixed delay after a moving "now" (lane material) with
         * scattered times (heap material). */
        ns_time_t now = 0;
        for (uint64_t i = 0; i < N; i++) {
            struct ns_pq_entry e = entry(i % 2 ? now + 700 : (ns_time_t)((i * 7919) % 100000), i);
            ops->push(q, e);
            if (drop_odd_seq(NULL, &e))
                want[nw++] = e;
            if (i % 50 == 49) {
                /* Pop the minimum so that "now" moves as in a run. */
                struct ns_pq_entry m;
                CU_ASSERT_TRUE_FATAL(ops->pop(q, NS_TIME_MAX, &m));
                now = m.at;
                for (size_t j = 0; j < nw; j++)
                    if (same_entry(&want[j], &m))
                        want[j] = want[--nw];
            }
        }
        ops->filter(q, drop_odd_seq, NULL);
        qsort(want, nw, sizeof *want, cmp_entry);
        CU_ASSERT_TRUE(drains_as(ops, q, want, nw));
        ops->destroy(q);
    }
}

/* With no push in between, the hint after a pop is the next pop. */
static void test_peek_next_names_the_next_minimum(void)
{
    for (size_t k = 0; k < G_N_ELEMENTS(queues); k++) {
        const struct ns_pq_ops *ops = queues[k];
        void *q = ops->create();
        for (uint64_t i = 0; i < 200; i++)
            ops->push(q, entry(i % 2 ? (ns_time_t)i * 10 : (ns_time_t)((i * 37) % 500), i));
        size_t checked = 0, wrong = 0;
        struct ns_pq_entry e;
        while (ops->pop(q, NS_TIME_MAX, &e)) {
            const struct ns_pq_entry *hint = ops->peek_next ? ops->peek_next(q) : NULL;
            struct ns_pq_entry h = hint ? *hint : (struct ns_pq_entry){ 0, 0 };
            const struct ns_pq_entry *top = ops->peek(q);
            if (hint && top) {
                checked++;
                wrong += !same_entry(&h, top);
            }
        }
        CU_ASSERT_TRUE(checked > 100);
        CU_ASSERT_EQUAL(wrong, 0);
        ops->destroy(q);
    }
}

/* One step of a simulation-like load: pop the minimum (now = its time),
 * then push `pushes` new events, most at one of a few fixed delays, some at
 * random ones.  Returns false when empty. */
struct load {
    ns_rng   rng;
    uint64_t seq;
    ns_time_t now;
    bool     random_only;     /* a phase without fixed delays */
};

static const ns_time_t fixed_delays[] = { 50584, 50592, 584, 592, 2000000, 0 };

static ns_time_t next_delay(struct load *ld)
{
    uint64_t pick = ld->random_only ? 15 : ns_rng_below(&ld->rng, 16);
    if (pick < G_N_ELEMENTS(fixed_delays))
        return fixed_delays[pick];
    if (pick < 12)
        return fixed_delays[0];
    return (ns_time_t)ns_rng_below(&ld->rng, 5000000);
}

/* Runs the same load on `ops` and on the heap, step by step: every pop,
 * size and peek must agree, which checks the queue against the heap for
 * any mix of delays and cancellations the load produces. */
static void check_against_heap(const struct ns_pq_ops *ops, uint64_t seed,
                               size_t steps, size_t filter_every,
                               size_t phase_steps)
{
    struct load ld = { .seq = 0, .now = 0 };
    ns_rng_init(&ld.rng, seed, "pq-load");
    void *q = ops->create(), *ref = ns_pq_heap4.create();
    for (int i = 0; i < 500; i++) {
        struct ns_pq_entry e = entry(next_delay(&ld), ld.seq++);
        ops->push(q, e);
        ns_pq_heap4.push(ref, e);
    }
    size_t mismatches = 0, popped = 0;
    for (size_t s = 0; s < steps; s++) {
        struct ns_pq_entry a, b;
        bool pa = ops->pop(q, NS_TIME_MAX, &a);
        bool pb = ns_pq_heap4.pop(ref, NS_TIME_MAX, &b);
        if (pa != pb || (pa && !same_entry(&a, &b))) {
            mismatches++;
            break;
        }
        if (!pa)
            break;
        popped++;
        ld.now = a.at;
        /* The queue under test gets the hint as in a run; the reference
         * does not, so the heap's two ways of filling its hole meet. */
        if (ops->peek_next)
            ops->peek_next(q);
        /* Alternating phases with and without fixed delays switch the
         * lanes queue's bypass on and off. */
        if (phase_steps && s % phase_steps == phase_steps - 1)
            ld.random_only = !ld.random_only;
        /* Usually one successor, sometimes none or two (9/8 on average,
         * which outgrows the purges), so the size drifts as in a run. */
        uint64_t r = ns_rng_below(&ld.rng, 8);
        unsigned pushes = r == 0 ? 0 : r <= 2 ? 2 : 1;
        for (unsigned k = 0; k < pushes; k++) {
            struct ns_pq_entry e = entry(ld.now + next_delay(&ld), ld.seq++);
            ops->push(q, e);
            ns_pq_heap4.push(ref, e);
        }
        if (filter_every && s % filter_every == filter_every - 1) {
            ops->filter(q, drop_one_in_eight, NULL);
            ns_pq_heap4.filter(ref, drop_one_in_eight, NULL);
        }
        if (ops->size(q) != ns_pq_heap4.size(ref))
            mismatches++;
        const struct ns_pq_entry *ta = ops->peek(q), *tb = ns_pq_heap4.peek(ref);
        if ((ta == NULL) != (tb == NULL) || (ta && !same_entry(ta, tb)))
            mismatches++;
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(popped, steps);         /* the queue never ran dry */
    ops->destroy(q);
    ns_pq_heap4.destroy(ref);
}

static void test_lanes_match_heap(void)
{
    check_against_heap(&ns_pq_lanes, 11, 200000, 0, 0);
}

static void test_lanes_match_heap_with_filters(void)
{
    check_against_heap(&ns_pq_lanes, 12, 200000, 997, 0);
}

static void test_lanes_match_heap_in_phases(void)
{
    check_against_heap(&ns_pq_lanes, 13, 300000, 1999, 30011);
}

/* The heap against itself, hint or no hint: the pops must not differ. */
static void test_heap_with_hints_matches_heap(void)
{
    check_against_heap(&ns_pq_heap4, 14, 200000, 1009, 0);
}

static void test_lanes_match_heap_long(void)
{
    for (uint64_t seed = 100; seed < 104; seed++)
        check_against_heap(&ns_pq_lanes, seed, 1000000, seed % 2 ? 0 : 50021,
                           seed % 2 ? 70001 : 0);
}

void test_pq_register(void)
{
    CU_pSuite s = ns_test_suite("pq", NULL, NULL);
    ns_test_add(s, "random times pop sorted", test_random_times_sort);
    ns_test_add(s, "ties pop in insertion order", test_ties_keep_insertion_order);
    ns_test_add(s, "keys pushed backwards still pop in order", test_keys_pushed_backwards);
    ns_test_add(s, "keys pushed backwards into a full queue", test_keys_pushed_backwards_in_a_full_queue);
    ns_test_add(s, "pop limit keeps the minimum queued", test_pop_limit_keeps_entry);
    ns_test_add(s, "filter drops and keeps order", test_filter_drops_and_keeps_order);
    ns_test_add(s, "peek_next names the next minimum", test_peek_next_names_the_next_minimum);
    ns_test_add(s, "heap with hints matches the heap without", test_heap_with_hints_matches_heap);
    ns_test_add(s, "lanes match the heap on a mixed load", test_lanes_match_heap);
    ns_test_add(s, "lanes match the heap with filters", test_lanes_match_heap_with_filters);
    ns_test_add(s, "lanes match the heap through load phases", test_lanes_match_heap_in_phases);
    CU_pSuite l = ns_test_suite("pq (long)", NULL, NULL);
    ns_test_add(l, "lanes match the heap, 4 seeds x 10^6 steps", test_lanes_match_heap_long);
}
