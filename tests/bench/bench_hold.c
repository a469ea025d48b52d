/* bench_hold.c — the "hold" benchmark: the scheduler under a steady load.
 *
 * N events are pending; every fired event schedules one more at
 * now + Exp(mean 1 µs), rounded to whole nanoseconds, so the queue stays at
 * N while `events` callbacks run.  This is the classic hold model for event
 * queues, and the shape of a busy simulation: each packet event schedules
 * the next.
 *
 * The yardstick runs in the same process on the same random draws: a plain
 * array 4-ary min-heap of 16-byte (time, seq) entries with textbook push and
 * pop, and no event slab, callbacks or bookkeeping.  Both consume the same
 * stream in the same order and break ties by insertion, so they must end at
 * the same simulated time — checked, so a fast but wrong queue fails.
 *
 * Only the runs are timed, not filling the queues; the best of `reps`
 * repetitions counts.
 *
 * Memory per pending event is the growth of the resident set from N = 1,000
 * to N = 1,000,000, each measured in a forked child that only fills the
 * queue, so neither measurement inherits the other's freed heap.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "netsim/event.h"
#include "netsim/rng.h"
#include "netsim/sim.h"

#define HOLD_MEAN_NS   1000.0              /* mean gap between an event and its successor */
#define HOLD_SEED      UINT64_C(20240601)
#define HOLD_EVENTS    UINT64_C(10000000)
#define HOLD_REPS      3u
#define MEM_SMALL      UINT64_C(1000)
#define MEM_LARGE      UINT64_C(1000000)
#define MEM_TARGET     48.0                /* bytes per pending event */

static const uint64_t default_sizes[] = { 1000, 100000, 1000000 };

/* The targets: a small queue lives in L1/L2 where the slab and the
 * callback cost show, so 0.9x; from 10^5 on the queue layout should win. */
static double ratio_target(uint64_t n)
{
    return n <= 1000 ? 0.9 : 1.0;
}

/* Both contestants draw their delays through this one function. */
static inline ns_time_t exp_delay(ns_rng *r)
{
    return (ns_time_t)llround(ns_rng_exp(r, HOLD_MEAN_NS));
}

/* --- netsim ---------------------------------------------------------- */

struct hold {
    ns_rng rng;
};

static void hold_fire(ns_sim *sim, void *arg)
{
    struct hold *h = arg;
    ns_event_after(sim, exp_delay(&h->rng), hold_fire, h);
}

static ns_sim *hold_fill(struct hold *h, uint64_t n)
{
    ns_sim *sim = ns_sim_new(HOLD_SEED);
    ns_rng_init(&h->rng, HOLD_SEED, "hold");
    for (uint64_t i = 0; i < n; i++)
        ns_event_after(sim, exp_delay(&h->rng), hold_fire, h);
    return sim;
}

/* Wall seconds for `events` callbacks at queue size n; *end = final time. */
static __attribute__((noinline)) double hold_netsim(uint64_t n, uint64_t events,
                                          ns_time_t *end)
{
    struct hold h;
    ns_sim *sim = hold_fill(&h, n);
    double t0 = bench_now();
    enum ns_stop_reason why = ns_sim_run(sim, NS_TIME_MAX, events);
    double wall = bench_now() - t0;
    *end = why == NS_STOP_MAX_EVENTS && ns_sim_events_run(sim) == events
         ? ns_sim_now(sim) : -1;
    ns_sim_free(sim);
    return wall;
}

/* --- the reference heap ---------------------------------------------- */

struct ref_entry {
    int64_t  time;
    uint64_t seq;               /* insertion order: the tie-break */
};

struct ref_heap {
    struct ref_entry *a;
    size_t            n;
    size_t            cap;
    uint64_t          next_seq;
};

static inline bool ref_less(const struct ref_entry *x, const struct ref_entry *y)
{
    return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

static inline void ref_push(struct ref_heap *h, int64_t time)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->a = g_renew(struct ref_entry, h->a, h->cap);
    }
    struct ref_entry e = { time, h->next_seq++ };
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!ref_less(&e, &h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
}

/* Removes and returns the minimum; h->n > 0. */
static inline struct ref_entry ref_pop(struct ref_heap *h)
{
    struct ref_entry top = h->a[0];
    struct ref_entry last = h->a[--h->n];
    size_t n = h->n;
    if (n == 0)
        return top;
    size_t i = 0;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t end = c + 4 < n ? c + 4 : n;
        size_t m = c;
        for (size_t j = c + 1; j < end; j++)
            if (ref_less(&h->a[j], &h->a[m]))
                m = j;
        if (!ref_less(&h->a[m], &last))
            break;
        h->a[i] = h->a[m];
        i = m;
    }
    h->a[i] = last;
    return top;
}

static void ref_fill(struct ref_heap *h, ns_rng *rng, uint64_t n)
{
    *h = (struct ref_heap){ 0 };
    ns_rng_init(rng, HOLD_SEED, "hold");
    for (uint64_t i = 0; i < n; i++)
        ref_push(h, exp_delay(rng));
}

static __attribute__((noinline)) double hold_ref(uint64_t n, uint64_t events,
                                       ns_time_t *end)
{
    struct ref_heap h;
    ns_rng rng;
    ref_fill(&h, &rng, n);
    int64_t now = 0;
    double t0 = bench_now();
    for (uint64_t k = 0; k < events; k++) {
        now = ref_pop(&h).time;
        ref_push(&h, now + exp_delay(&rng));
    }
    double wall = bench_now() - t0;
    *end = now;
    g_free(h.a);
    return wall;
}

/* --- memory ---------------------------------------------------------- */

struct fill_arg {
    uint64_t n;
    bool     reference;
};

static void fill_and_measure(void *arg, void *out)
{
    const struct fill_arg *a = arg;
    long *kb = out;
    if (a->reference) {
        struct ref_heap h;
        ns_rng rng;
        ref_fill(&h, &rng, a->n);
        *kb = bench_rss_kb();
    } else {
        struct hold h;
        ns_sim *sim = hold_fill(&h, a->n);
        *kb = bench_rss_kb();
        (void)sim;              /* the child exits next: nothing to free */
    }
}

/* VmRSS in kB of a fresh child after it filled a queue of n events (the
 * netsim scheduler, or the reference heap); -1 on failure. */
static long filled_rss_kb(uint64_t n, bool reference)
{
    struct fill_arg a = { n, reference };
    long kb = -1;
    return bench_in_child(fill_and_measure, &a, &kb, sizeof kb) ? kb : -1;
}

static double bytes_per_event(long small_kb, long large_kb)
{
    if (small_kb < 0 || large_kb < 0)
        return NAN;
    return (double)(large_kb - small_kb) * 1024.0 / (double)(MEM_LARGE - MEM_SMALL);
}

/* --- the benchmark --------------------------------------------------- */

static bool run_hold(const struct bench_opts *opts)
{
    uint64_t events = opts->events ? opts->events : HOLD_EVENTS;
    unsigned reps = opts->reps ? opts->reps : HOLD_REPS;
    GArray *sizes = bench_sizes(opts, default_sizes, G_N_ELEMENTS(default_sizes));
    if (!sizes) {
        fprintf(stderr, "bench hold: bad --sizes '%s'\n", opts->sizes);
        return false;
    }

    /* Memory first, while this process has not yet freed anything a child
     * could reuse without growing. */
    long small_kb = filled_rss_kb(MEM_SMALL, false);
    long large_kb = filled_rss_kb(MEM_LARGE, false);
    long ref_small_kb = filled_rss_kb(MEM_SMALL, true);
    long ref_large_kb = filled_rss_kb(MEM_LARGE, true);
    double bpe = bytes_per_event(small_kb, large_kb);
    double ref_bpe = bytes_per_event(ref_small_kb, ref_large_kb);
    bool mem_ok = bpe <= MEM_TARGET;        /* false for NaN too */

    bool ok = true, all_met = mem_ok;
    for (guint s = 0; s < sizes->len; s++) {
        uint64_t n = g_array_index(sizes, guint64, s);
        double best = INFINITY, ref_best = INFINITY;
        ns_time_t end = 0, ref_end = 0;
        /* Alternate the contestants so a noisy neighbour hits both alike. */
        for (unsigned r = 0; r < reps; r++) {
            double w = hold_netsim(n, events, &end);
            double rw = hold_ref(n, events, &ref_end);
            best = w < best ? w : best;
            ref_best = rw < ref_best ? rw : ref_best;
        }
        bool same = end >= 0 && end == ref_end;
        if (!same) {
            fprintf(stderr, "bench hold: n=%" G_GUINT64_FORMAT ": netsim ended at "
                    "%" G_GINT64_FORMAT " ns, the reference at %" G_GINT64_FORMAT " ns\n",
                    (guint64)n, (gint64)end, (gint64)ref_end);
            ok = false;
        }
        double eps = (double)events / best, ref_eps = (double)events / ref_best;
        double ratio = eps / ref_eps;
        bool met = same && mem_ok && ratio >= ratio_target(n);
        all_met = all_met && met;

        bench_json *j = bench_json_begin("hold");
        bench_json_int(j, "n", (int64_t)n);
        bench_json_int(j, "events", (int64_t)events);
        bench_json_int(j, "reps", reps);
        bench_json_num(j, "wall_s", best);
        bench_json_num(j, "events_per_s", eps);
        bench_json_num(j, "ref_wall_s", ref_best);
        bench_json_num(j, "ref_events_per_s", ref_eps);
        bench_json_num(j, "ratio", ratio);
        bench_json_num(j, "ratio_target", ratio_target(n));
        bench_json_num(j, "bytes_per_event", bpe);
        bench_json_bool(j, "same_result", same);
        bench_json_bool(j, "tracing", false);
        bench_json_bool(j, "target_met", met);
        bench_json_end(j);
    }

    bench_json *j = bench_json_begin("hold-memory");
    bench_json_int(j, "n_small", (int64_t)MEM_SMALL);
    bench_json_int(j, "n_large", (int64_t)MEM_LARGE);
    bench_json_int(j, "rss_small_kb", small_kb);
    bench_json_int(j, "rss_large_kb", large_kb);
    bench_json_num(j, "bytes_per_event", bpe);
    bench_json_num(j, "ref_bytes_per_event", ref_bpe);
    bench_json_num(j, "bytes_target", MEM_TARGET);
    bench_json_int(j, "peak_rss_kb", bench_peak_rss_kb());
    bench_json_bool(j, "target_met", all_met);
    bench_json_end(j);

    g_array_free(sizes, TRUE);
    return ok;
}

const struct bench bench_hold = {
    .name = "hold",
    .what = "N pending events, each schedules one more at now + Exp(1 us); vs a bare 4-ary heap",
    .run  = run_hold,
};
