/* test_sched.c — the scheduler: ordering, ties, cancel, limits, weak events.
 *
 * The oracle for ordering is a sorted reference: every event records
 * (time, scheduling order) and the firing sequence must equal the reference
 * sorted by that pair. */
#include <stdlib.h>
#include <string.h>

#include "netsim/event.h"
#include "netsim/rng.h"
#include "tests.h"

struct rec {
    ns_time_t at;
    uint64_t  order;          /* scheduling order */
};

struct log {
    ns_sim   *sim;
    uint64_t *fired;          /* orders, in firing order */
    size_t    n;
    size_t    cap;
    struct rec *recs;
    ns_time_t last_time;
    bool      time_went_back;
};

/* Each event's arg points to its record; the log is found through an
 * attachment, so the callback needs no global. */
static void fire(ns_sim *sim, void *arg)
{
    struct rec *r = arg;
    struct log *lg = ns_sim_attached(sim, "test.log");
    if (ns_sim_now(sim) < lg->last_time)
        lg->time_went_back = true;
    lg->last_time = ns_sim_now(sim);
    CU_ASSERT_EQUAL(ns_sim_now(sim), r->at);
    if (lg->n == lg->cap) {
        lg->cap = lg->cap ? lg->cap * 2 : 1024;
        lg->fired = g_renew(uint64_t, lg->fired, lg->cap);
    }
    lg->fired[lg->n++] = r->order;
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void log_free(gpointer p)
{
    struct log *lg = p;
    g_free(lg->fired);
    g_free(lg->recs);
    g_free(lg);
}

static struct log *log_new(ns_sim *sim, size_t n)
{
    struct log *lg = g_new0(struct log, 1);
    lg->sim = sim;
    lg->recs = g_new0(struct rec, n);
    ns_sim_attach(sim, "test.log", lg, log_free);
    return lg;
}

/* n events at random times in [0, span) (span small forces many ties),
 * some scheduled from inside callbacks, checked against a sorted copy. */
static void random_schedule_matches_reference(size_t n, ns_time_t span)
{
    ns_sim *sim = ns_sim_new(42);
    struct log *lg = log_new(sim, n);
    ns_rng r;
    ns_rng_init(&r, 7, "test.sched");
    for (size_t i = 0; i < n; i++) {
        lg->recs[i].at = (ns_time_t)ns_rng_below(&r, (uint64_t)span);
        lg->recs[i].order = i;
        ns_event_id id = ns_event_at(sim, lg->recs[i].at, fire, &lg->recs[i], 0, NULL);
        CU_ASSERT_NOT_EQUAL(id.slot, 0);
    }
    CU_ASSERT_EQUAL(ns_event_pending_all(sim), n);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(lg->n, n);
    CU_ASSERT_FALSE(lg->time_went_back);
    struct rec *sorted = g_memdup2(lg->recs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_rec);
    size_t mismatches = 0;
    for (size_t i = 0; i < n && i < lg->n; i++)
        mismatches += sorted[i].order != lg->fired[i];
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(ns_sim_events_run(sim), n);
    g_free(sorted);
    ns_sim_free(sim);
}

static void test_random_small(void) { random_schedule_matches_reference(10000, 1000000); }
static void test_random_ties(void) { random_schedule_matches_reference(100000, 10); }
static void test_random_million(void) { random_schedule_matches_reference(1000000, 1000000000); }

/* The hold pattern: each fired event schedules one more; interleaved
 * pushes and pops must still come out in (time, order) order. */
struct hold {
    ns_rng    r;
    uint64_t  next_order;
    uint64_t  remaining;
    ns_time_t last_at;
    uint64_t  last_order;
    bool      bad;
    struct rec pool[4096];
    size_t    pool_i;
};

static void hold_fire(ns_sim *sim, void *arg)
{
    struct hold *h = ns_sim_attached(sim, "test.hold");
    struct rec *me = arg;
    if (me->at < h->last_at || (me->at == h->last_at && me->order < h->last_order))
        h->bad = true;
    if (ns_sim_now(sim) != me->at)
        h->bad = true;
    h->last_at = me->at;
    h->last_order = me->order;
    if (h->remaining == 0)
        return;
    h->remaining--;
    /* Recycle this record: it is no longer referenced by the queue. */
    me->at = ns_sim_now(sim) + (ns_time_t)ns_rng_below(&h->r, 50);
    me->order = h->next_order++;
    ns_event_at(sim, me->at, hold_fire, me, 0, NULL);
}

static void test_hold_order(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct hold *h = g_new0(struct hold, 1);
    ns_sim_attach(sim, "test.hold", h, g_free);
    ns_rng_init(&h->r, 3, "hold");
    h->remaining = 500000;
    for (size_t i = 0; i < 1000; i++) {
        struct rec *rc = &h->pool[i];
        rc->at = (ns_time_t)ns_rng_below(&h->r, 50);
        rc->order = h->next_order++;
        ns_event_at(sim, rc->at, hold_fire, rc, 0, NULL);
    }
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_FALSE(h->bad);
    CU_ASSERT_EQUAL(ns_sim_events_run(sim), 501000);
    ns_sim_free(sim);
}

/* --- small behaviours ----------------------------------------------- */

static int counter;   /* only touched by the single-threaded tests below */

static void count(ns_sim *sim, void *arg) { (void)sim; counter += arg ? *(int *)arg : 1; }
static void must_not_run(ns_sim *sim, void *arg) { CU_FAIL("a cancelled event ran"); }

static void test_equal_times_fire_in_order(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct log *lg = log_new(sim, 5);
    for (int i = 0; i < 5; i++) {
        lg->recs[i].at = 100;
        lg->recs[i].order = (uint64_t)i;
        ns_event_at(sim, 100, fire, &lg->recs[i], 0, NULL);
    }
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_EQUAL(lg->n, 5);
    for (size_t i = 0; i < lg->n; i++)
        CU_ASSERT_EQUAL(lg->fired[i], i);
    ns_sim_free(sim);
}

static void test_past_is_error(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_at(sim, 1000, count, NULL, 0, NULL);
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_EQUAL(ns_sim_now(sim), 1000);
    GError *err = NULL;
    ns_event_id id = ns_event_at(sim, 999, count, NULL, 0, &err);
    CU_ASSERT_EQUAL(id.slot, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message,
        "cannot schedule at 0.000000999 s: it is before now (0.000001000 s)");
    g_error_free(err);
    /* now itself is allowed */
    id = ns_event_at(sim, 1000, count, NULL, 0, NULL);
    CU_ASSERT_NOT_EQUAL(id.slot, 0);
    ns_sim_free(sim);
}

static void test_cancel(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_id a = ns_event_after(sim, 10, count, NULL);
    ns_event_id b = ns_event_after(sim, 20, must_not_run, NULL);
    CU_ASSERT_TRUE(ns_event_is_pending(sim, b));
    CU_ASSERT_EQUAL(ns_event_time(sim, b), 20);
    CU_ASSERT_TRUE(ns_event_cancel(sim, b));          /* pending */
    CU_ASSERT_FALSE(ns_event_cancel(sim, b));         /* already cancelled */
    CU_ASSERT_FALSE(ns_event_is_pending(sim, b));
    CU_ASSERT_EQUAL(ns_event_time(sim, b), NS_TIME_MAX);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 1);
    CU_ASSERT_FALSE(ns_event_cancel(sim, a));         /* already fired */
    CU_ASSERT_FALSE(ns_event_cancel(sim, NS_EVENT_NONE));
    /* A fired handle stays inert even after its cell is reused. */
    ns_event_id c = ns_event_after(sim, 5, count, NULL);
    CU_ASSERT_FALSE(ns_event_cancel(sim, a));
    CU_ASSERT_TRUE(ns_event_is_pending(sim, c));
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_EQUAL(counter, 2);
    ns_sim_free(sim);
}

/* Many cancellations trigger purges; the survivors still fire in order. */
static void test_mass_cancel(void)
{
    const size_t n = 50000;
    ns_sim *sim = ns_sim_new(1);
    struct log *lg = log_new(sim, n);
    ns_event_id *ids = g_new(ns_event_id, n);
    for (size_t i = 0; i < n; i++) {
        lg->recs[i].at = (ns_time_t)((i * 7919) % 1000);
        lg->recs[i].order = i;
        ids[i] = ns_event_at(sim, lg->recs[i].at, fire, &lg->recs[i], 0, NULL);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 10 != 0) {
            CU_ASSERT_TRUE(ns_event_cancel(sim, ids[i]));
        } else {
            kept++;
        }
    }
    CU_ASSERT_EQUAL(ns_event_pending_all(sim), kept);
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_EQUAL(lg->n, kept);
    bool ordered = true;
    for (size_t i = 1; i < lg->n; i++) {
        struct rec *p = &lg->recs[lg->fired[i - 1]], *q = &lg->recs[lg->fired[i]];
        if (cmp_rec(p, q) >= 0 || q->order % 10 != 0)
            ordered = false;
    }
    CU_ASSERT_TRUE(ordered);
    g_free(ids);
    ns_sim_free(sim);
}

static void test_run_until(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_after(sim, 10, count, NULL);
    ns_event_after(sim, 30, count, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, 20, 0), NS_STOP_UNTIL);
    CU_ASSERT_EQUAL(ns_sim_now(sim), 20);
    CU_ASSERT_EQUAL(counter, 1);
    CU_ASSERT_EQUAL(ns_event_pending_all(sim), 1);
    /* An event exactly at `until` runs; then nothing is left. */
    CU_ASSERT_EQUAL(ns_sim_run(sim, 30, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 2);
    CU_ASSERT_EQUAL(ns_sim_run(sim, 100, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_sim_now(sim), 30);   /* empty: time stays at the last event */
    ns_sim_free(sim);
}

static void test_max_events(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    for (int i = 0; i < 10; i++)
        ns_event_after(sim, i, count, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 4), NS_STOP_MAX_EVENTS);
    CU_ASSERT_EQUAL(counter, 4);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 10);
    ns_sim_free(sim);
}

static void stopper(ns_sim *sim, void *arg) { counter++; ns_sim_stop(sim); }

static void test_stop_from_callback(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_after(sim, 1, count, NULL);
    ns_event_after(sim, 2, stopper, NULL);
    ns_event_after(sim, 3, count, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_REQUESTED);
    CU_ASSERT_EQUAL(counter, 2);
    CU_ASSERT_EQUAL(ns_sim_now(sim), 2);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 3);
    ns_sim_free(sim);
}

static void periodic(ns_sim *sim, void *arg)
{
    counter++;
    ns_event_after_weak(sim, 10, periodic, NULL);
}

static void test_weak_events_do_not_keep_run_alive(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_after_weak(sim, 0, periodic, NULL);
    ns_event_after(sim, 35, count, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    /* periodic at 0,10,20,30 then the strong one at 35: 4 + 1 */
    CU_ASSERT_EQUAL(counter, 5);
    CU_ASSERT_EQUAL(ns_sim_now(sim), 35);
    CU_ASSERT_EQUAL(ns_event_pending_strong(sim), 0);
    CU_ASSERT_EQUAL(ns_event_pending_all(sim), 1);
    /* Only weak events: the run ends at once. */
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 5);
    ns_sim_free(sim);
}

static void test_huge_times(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    ns_event_at(sim, NS_TIME_MAX - 1, count, NULL, 0, NULL);
    ns_event_at(sim, 1, count, NULL, 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(counter, 2);
    CU_ASSERT_EQUAL(ns_sim_now(sim), NS_TIME_MAX - 1);
    ns_sim_free(sim);
}

static volatile int interrupt_flag;

static void raise_flag(ns_sim *sim, void *arg)
{
    counter++;
    if (counter == 100)
        interrupt_flag = 1;
    ns_event_after(sim, 1, raise_flag, NULL);
}

static void test_interrupt_flag(void)
{
    ns_sim *sim = ns_sim_new(1);
    counter = 0;
    interrupt_flag = 0;
    ns_sim_set_interrupt_flag(sim, &interrupt_flag);
    ns_sim_set_poll(sim, NULL, NULL, 64);
    ns_event_after(sim, 0, raise_flag, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(sim, NS_TIME_MAX, 0), NS_STOP_INTERRUPT);
    /* polled every 64 events: stops at the first poll after the flag */
    CU_ASSERT_EQUAL(counter, 128);
    ns_sim_free(sim);
}

static void test_time_conversion(void)
{
    CU_ASSERT_EQUAL(ns_time_from_sec(0.29), 290000000);
    CU_ASSERT_EQUAL(ns_time_from_sec(1e-9), 1);
    CU_ASSERT_EQUAL(ns_time_from_sec(0.1 + 0.2), 300000000);
    CU_ASSERT_EQUAL(ns_time_from_sec(1e30), NS_TIME_MAX);
    char buf[NS_TIME_STRLEN];
    CU_ASSERT_STRING_EQUAL(ns_time_format(12, buf), "0.000000012");
    CU_ASSERT_STRING_EQUAL(ns_time_format(1500000000, buf), "1.500000000");
    CU_ASSERT_STRING_EQUAL(ns_time_format(-1, buf), "-0.000000001");
    CU_ASSERT_STRING_EQUAL(ns_time_format(NS_TIME_MAX, buf), "9223372036.854775807");
}

/* No global state: the same workload on two threads at once gives exactly
 * what it gives alone. */
struct thread_job {
    uint64_t seed;
    uint64_t checksum;
    uint64_t events;
};

static void job_fire(ns_sim *sim, void *arg)
{
    struct thread_job *j = arg;
    ns_rng *r = ns_sim_rng(sim, "job");
    j->checksum = j->checksum * 31 + (uint64_t)ns_sim_now(sim);
    if (ns_sim_events_run(sim) < 200000)
        ns_event_after(sim, (ns_time_t)ns_rng_below(r, 1000), job_fire, j);
}

static gpointer run_job(gpointer p)
{
    struct thread_job *j = p;
    ns_sim *sim = ns_sim_new(j->seed);
    for (int i = 0; i < 100; i++)
        ns_event_after(sim, i, job_fire, j);
    ns_sim_run(sim, NS_TIME_MAX, 0);
    j->events = ns_sim_events_run(sim);
    ns_sim_free(sim);
    return NULL;
}

static void test_sims_on_threads(void)
{
    struct thread_job alone[2] = { { .seed = 1 }, { .seed = 2 } };
    run_job(&alone[0]);
    run_job(&alone[1]);
    CU_ASSERT_NOT_EQUAL(alone[0].checksum, alone[1].checksum);   /* seeds matter */
    struct thread_job together[2] = { { .seed = 1 }, { .seed = 2 } };
    GThread *t0 = g_thread_new("sim0", run_job, &together[0]);
    GThread *t1 = g_thread_new("sim1", run_job, &together[1]);
    g_thread_join(t0);
    g_thread_join(t1);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(together[i].checksum, alone[i].checksum);
        CU_ASSERT_EQUAL(together[i].events, alone[i].events);
    }
}

void test_sched_register(void)
{
    CU_pSuite s = ns_test_suite("sched", NULL, NULL);
    ns_test_add(s, "equal times fire in scheduling order", test_equal_times_fire_in_order);
    ns_test_add(s, "10^4 random events match a sorted reference", test_random_small);
    ns_test_add(s, "10^5 events on 10 distinct times keep insertion order", test_random_ties);
    ns_test_add(s, "hold pattern pops in order", test_hold_order);
    ns_test_add(s, "scheduling in the past is an error", test_past_is_error);
    ns_test_add(s, "cancel pending, fired, cancelled and reused handles", test_cancel);
    ns_test_add(s, "mass cancel purges and keeps order", test_mass_cancel);
    ns_test_add(s, "run until a time", test_run_until);
    ns_test_add(s, "max-events limit", test_max_events);
    ns_test_add(s, "stop from inside a callback", test_stop_from_callback);
    ns_test_add(s, "weak events do not keep a run alive", test_weak_events_do_not_keep_run_alive);
    ns_test_add(s, "huge times", test_huge_times);
    ns_test_add(s, "interrupt flag stops at the next poll", test_interrupt_flag);
    ns_test_add(s, "seconds to nanoseconds and back", test_time_conversion);
    ns_test_add(s, "two sims on two threads match sequential runs", test_sims_on_threads);
    CU_pSuite l = ns_test_suite("sched (long)", NULL, NULL);
    ns_test_add(l, "10^6 random events match a sorted reference", test_random_million);
}
