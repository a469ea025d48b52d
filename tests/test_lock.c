/* test_lock.c — the distributed locking model driven from C: the
 * textbook deadlock under `wait` (found by the oracle with its
 * cycle), no deadlock under `release_all` and `ordered`, safety over many
 * seeds, determinism, and the bad-input errors.  The prevention strategies
 * (wait_die, wound_wait) on the two-client race and over 1,000 random
 * workloads; `detect` breaking the textbook and the three-way deadlocks
 * by aborting the youngest.  Crashed holders, leases and fencing are in
 * test_lock_faults.c, the Lua binding and the scenarios in
 * test_lock_lua.c, message bytes, names and paths in test_lock_proto.c.
 *
 * The world (lockworld.h): a cluster on a 1 Gbit/s LAN with 1 ms port
 * delays, about 2 ms host to host. */
#include <string.h>

#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/link.h"
#include "netsim/lock.h"
#include "netsim/output.h"
#include "netsim/pkt.h"
#include "netsim/rng.h"
#include "netsim/udp.h"
#include "tests.h"
#include "lockworld.h"

/* ---- deadlock ---- */

/* A locks R1 then R2, B locks R2 then R1, at the same time, under `wait`:
 * each takes its first resource on every server and queues for the other's. */
static void test_wait_deadlock(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_client(&w, 0, "a", "wait", r12, 0, NULL);
    add_client(&w, 1, "b", "wait", r21, 0, NULL);
    enum ns_stop_reason why = ns_sim_run(w.sim, 10 * NS_SEC, 0);
    /* never quiet: each keeps asking for the grant it waits for, which
     * could have been lost */
    CU_ASSERT_EQUAL(why, NS_STOP_UNTIL);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_ACQUIRING);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[1]), NS_LOCK_ACQUIRING);
    CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 2);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 2);
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    CU_ASSERT_TRUE(ns_lock_first_deadlock_at(w.cl) > 0);
    CU_ASSERT_TRUE(ns_lock_first_deadlock_at(w.cl) < 20 * NS_MSEC);
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "a waits for b (R2 on ls1 ls2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "b waits for a (R1 on ls1 ls2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "deadlocked: a, b (cycle)\ncycle: a -> b -> a\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "[blocked]"));
    g_free(rep);
    char *dot = ns_lock_waitfor_dot(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "\"a\" -> \"b\" [label=\"R2@ls1\", color=red"));
    g_free(dot);
    char *mmd = ns_lock_waitfor_mermaid(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "a -->|R2@ls1| b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "linkStyle"));
    g_free(mmd);
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    world_free(&w);
}

/* The same race, with the same order for both: no deadlock. */
static void test_wait_same_order(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_client(&w, 0, "a", "wait", r12, 0, NULL);
    add_client(&w, 1, "b", "wait", r12, 0, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 0);
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_STRING_EQUAL(rep, "");
    g_free(rep);
    CU_ASSERT_PTR_NULL(ns_lock_deadlock_report(w.cl));  /* no deadlock, no snapshot */
    CU_ASSERT_PTR_NULL(ns_lock_deadlock_dot(w.cl));
    world_free(&w);
}

static void run_race(const char *strategy, uint64_t seed, uint64_t *retries, uint64_t *acq)
{
    struct world w;
    world_init(&w, seed, 3, NULL);
    add_client(&w, 0, "a", strategy, r12, 0, NULL);
    add_client(&w, 1, "b", strategy, r21, 0, NULL);
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    *acq = ns_lock_client_stats(w.c[0])->acquisitions + ns_lock_client_stats(w.c[1])->acquisitions;
    *retries = ns_lock_client_stats(w.c[0])->retries + ns_lock_client_stats(w.c[1])->retries;
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 0);
    CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 0);
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    world_free(&w);
}

static void test_release_all_no_deadlock(void)
{
    uint64_t retries, acq, total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        run_race("release_all", seed, &retries, &acq);
        CU_ASSERT_EQUAL(acq, 2);
        total += retries;
    }
    CU_ASSERT_TRUE(total >= 20);       /* the symmetric race collides every time */
}

/* release_all's retries over 20 seeds of n clients, each locking R1 then
 * R2 or R2 then R1 (alternating) 3 times on 5 servers, random starts and
 * think times within 5 ms, asking servers from different first ones:
 * every transaction completes, nobody deadlocks. */
static uint64_t release_all_retries(unsigned n)
{
    const char *names[] = { "a", "b", "c", "d", "e", "f", "g", "h" };
    uint64_t retries = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct world w;
        world_init(&w, seed, 5, NULL);
        ns_rng r;
        ns_rng_init(&r, seed, "test.contention");
        for (unsigned i = 0; i < n; i++) {
            struct ns_lock_client_opts o;
            ns_lock_client_opts_defaults(&o);
            o.transactions = 3;
            o.hold = NS_MSEC;
            o.think = (ns_time_t)ns_rng_below(&r, 5 * NS_MSEC);
            o.timeout = 10 * NS_MSEC;
            o.first_server = i % 5;
            add_client(&w, i, names[i], "release_all", i % 2 ? r21 : r12,
                       (ns_time_t)ns_rng_below(&r, 5 * NS_MSEC), &o);
        }
        ns_sim_run(w.sim, 600 * NS_SEC, 0);
        for (unsigned i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 3);
            retries += ns_lock_client_stats(w.c[i])->retries;
        }
        CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 0);
        CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
        world_free(&w);
    }
    return retries;
}

/* The claim: release_all's retry count grows with contention.
 * Per critical section, 6 clients retry well over 2 clients' rate
 * (measured: 143 retries for 120 sections, 796 for 360). */
static void test_release_all_contention(void)
{
    uint64_t low = release_all_retries(2), high = release_all_retries(6);
    printf("\n  release_all retries over 20 seeds: 2 clients %" G_GUINT64_FORMAT
           " (of 120 sections), 6 clients %" G_GUINT64_FORMAT " (of 360)\n", low, high);
    /* per section: 6 clients retry over 1.5 times as often as 2 */
    CU_ASSERT_TRUE(high * 120 * 2 > low * 360 * 3);
    CU_ASSERT_TRUE(high > 0);
}

static void test_ordered_no_deadlock(void)
{
    uint64_t retries, acq;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        run_race("ordered", seed, &retries, &acq);
        CU_ASSERT_EQUAL(acq, 2);
        CU_ASSERT_EQUAL(retries, 0);
    }
}

/* Whether, now, a and b each hold R1 on some server while both are still
 * acquiring: a split vote (not the hand-over while one releases). */
static bool split_now(const struct world *w)
{
    if (ns_lock_client_state(w->c[0]) != NS_LOCK_ACQUIRING
        || ns_lock_client_state(w->c[1]) != NS_LOCK_ACQUIRING)
        return false;
    bool a = false, b = false;
    for (unsigned s = 0; s < 3; s++) {
        const char *h = ns_lock_server_holder(w->cl, s, "R1");
        a = a || (h && strcmp(h, "a") == 0);
        b = b || (h && strcmp(h, "b") == 0);
    }
    return a && b;
}

/* Two clients on three servers with a majority can never deadlock on one
 * resource: one always holds two.  Per seed each client asks the servers
 * from a random first one and starts at a random offset, within 3 us in
 * half the seeds (a request frame takes about 0.6 us on a port, so
 * their requests interleave) and within 3 ms in the others.  Close
 * starts from different first servers make both win a server each (a
 * split; the test counts them) and the third server settles it. */
static void test_two_on_three_never_deadlock(void)
{
    unsigned splits = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        struct world w;
        world_init(&w, seed, 3, NULL);
        ns_rng r;
        ns_rng_init(&r, seed, "test.starts");
        const char *names[] = { "a", "b" };
        uint64_t spread = seed % 2 ? 3 * NS_USEC : 3 * NS_MSEC;
        for (unsigned i = 0; i < 2; i++) {
            struct ns_lock_client_opts o;
            ns_lock_client_opts_defaults(&o);
            o.first_server = (unsigned)ns_rng_below(&r, 3);
            add_client(&w, i, names[i], "wait", r1, (ns_time_t)ns_rng_below(&r, spread), &o);
        }
        bool split = false;
        for (ns_time_t t = 0; t <= 20 * NS_MSEC && !split; t += 100 * NS_USEC) {
            ns_sim_run(w.sim, t, 0);
            split = split_now(&w);
        }
        splits += split;
        ns_sim_run(w.sim, 10 * NS_SEC, 0);
        CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 0);
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 1);
        CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
        world_free(&w);
    }
    printf("\n  2 clients on 3 servers: %u of 200 seeds split the servers\n", splits);
    CU_ASSERT_TRUE(splits >= 20);                  /* the splits were exercised */
}

/* Three clients, three servers, one resource, staged so each wins a
 * different server first (client i asks server i first, and its frames
 * leave its port one after the other): nobody reaches two of three, a
 * three-way deadlock. */
static void test_three_way_deadlock(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_staged_race(&w, "wait");
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 3);
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    for (unsigned i = 0; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(ns_lock_server_holder(w.cl, i, "R1"), ns_host_name(w.h[i]));
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 0);
    }
    /* everyone waits for both others: the cycle line runs through all
     * three (not the shorter a -> b -> a, which would leave out c, the
     * youngest, whom `detect` aborts) */
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "deadlocked: a, b, c (cycle)\ncycle: a -> b -> c -> a\n"));
    g_free(rep);
    world_free(&w);
}

/* Quorums other than a majority.  "all" (3 of 3): two clients staged to
 * win one server each deadlock under wait, which a majority rules out
 * (test_two_on_three_never_deadlock).  1 of 3: quorums need not
 * intersect, so two clients each win a server and both enter (a safety
 * violation without storage fencing). */
static void quorum_race(unsigned quorum, bool storage_fencing, size_t *deadlocks,
                        size_t *violations, uint64_t *acq)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.quorum = quorum;
    co.storage_fencing = storage_fencing;
    struct world w;
    world_init(&w, 1, 3, &co);
    CU_ASSERT_EQUAL(ns_lock_cluster_quorum(w.cl), quorum);
    const char *names[] = { "a", "b" };
    for (unsigned i = 0; i < 2; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.first_server = i;
        o.hold = 50 * NS_MSEC;
        add_client(&w, i, names[i], "wait", r1, 0, &o);
    }
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    *deadlocks = ns_lock_n_deadlocks(w.cl);
    *violations = ns_lock_n_violations(w.cl);
    *acq = ns_lock_client_stats(w.c[0])->acquisitions + ns_lock_client_stats(w.c[1])->acquisitions;
    world_free(&w);
}

static void test_quorum_all_and_numeric(void)
{
    size_t d, v;
    uint64_t acq;
    quorum_race(3, true, &d, &v, &acq);             /* all */
    CU_ASSERT_EQUAL(d, 1);
    CU_ASSERT_EQUAL(acq, 0);
    quorum_race(2, true, &d, &v, &acq);             /* the majority, for contrast */
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(acq, 2);
    quorum_race(1, false, &d, &v, &acq);
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(acq, 2);
    CU_ASSERT_EQUAL(v, 1);                          /* both inside at once */
}

/* ---- safety over seeds, determinism ---- */

/* Four clients on 5 servers, each running 3 transactions over R1..R3:
 * per client a transaction size of 1, 2 or 3 resources, and each
 * transaction draws its resources anew in a random order (pick, uniform),
 * so opposite orders and three-way overlaps meet; random start, hold and
 * think times. */
static void random_world(struct world *w, uint64_t seed, const char *strategy)
{
    world_init(w, seed, 5, NULL);
    ns_rng r;
    ns_rng_init(&r, seed, "test.workload");
    const char *names[] = { "a", "b", "c", "d" };
    static const char *const pool[] = { "R1", "R2", "R3", NULL };
    for (unsigned i = 0; i < 4; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.transactions = 3;
        o.hold = (ns_time_t)ns_rng_below(&r, 3 * NS_MSEC);
        o.think = (ns_time_t)ns_rng_below(&r, 3 * NS_MSEC);
        o.pick = 1 + (unsigned)ns_rng_below(&r, 3);
        add_client(w, i, names[i], strategy, pool, (ns_time_t)ns_rng_below(&r, 5 * NS_MSEC), &o);
    }
}

/* Runs the random workload for seeds 1..n under `strategy`: never two
 * holders in any seed, and unless the strategy is `wait` (which may
 * deadlock) nobody left waiting and every client's 3 transactions done.
 * Returns how many seeds deadlocked at some point. */
static unsigned deadlocked_seeds(const char *strategy, uint64_t n)
{
    bool must_finish = strcmp(strategy, "wait") != 0;
    unsigned deadlocked = 0;
    for (uint64_t seed = 1; seed <= n; seed++) {
        struct world w;
        random_world(&w, seed, strategy);
        /* a workload of millisecond holds deadlocks (if at all) within
         * milliseconds; after that `wait`'s stuck clients only keep
         * retransmitting, so their seeds need not run as long */
        ns_sim_run(w.sim, must_finish ? 120 * NS_SEC : 10 * NS_SEC, 0);
        CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
        deadlocked += ns_lock_n_deadlocks(w.cl) > 0;
        if (must_finish) {
            CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 0);
            for (unsigned i = 0; i < 4; i++)
                CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 3);
        }
        world_free(&w);
    }
    return deadlocked;
}

static void test_safety_many_seeds(void)
{
    CU_ASSERT_TRUE(deadlocked_seeds("wait", 150) > 0);  /* `wait` deadlocks in some seeds */
    CU_ASSERT_EQUAL(deadlocked_seeds("release_all", 150), 0);
    CU_ASSERT_EQUAL(deadlocked_seeds("ordered", 150), 0);
}

struct summary {
    uint64_t events, retries[4], grants[4];
    ns_time_t now, wait[4];
};

static void summarize(uint64_t seed, struct summary *s)
{
    struct world w;
    random_world(&w, seed, "release_all");
    ns_sim_run(w.sim, 120 * NS_SEC, 0);
    memset(s, 0, sizeof *s);
    s->events = ns_sim_events_run(w.sim);
    s->now = ns_sim_now(w.sim);
    for (unsigned i = 0; i < 4; i++) {
        s->retries[i] = ns_lock_client_stats(w.c[i])->retries;
        s->grants[i] = ns_lock_client_stats(w.c[i])->grants;
        s->wait[i] = ns_lock_client_stats(w.c[i])->longest_wait;
    }
    world_free(&w);
}

static void test_determinism(void)
{
    struct summary a, b, c;
    summarize(42, &a);
    summarize(42, &b);
    summarize(43, &c);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(&a, &c, sizeof a), 0);
}

/* ---- timestamp prevention and detection ---- */

struct race {
    uint64_t retries[2], acq[2];
    ns_time_t retry_ts;          /* b's timestamp seen during a retry, -1 */
    size_t deadlocks, waiting, violations;
};

/* a locks R1 then R2, b R2 then R1, starting at a_start and b_start.
 * Steps the run 1 ms at a time to catch b's timestamp in a later attempt. */
static void race2(const char *strategy, ns_time_t a_start, ns_time_t b_start, struct race *out)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_client(&w, 0, "a", strategy, r12, a_start, NULL);
    add_client(&w, 1, "b", strategy, r21, b_start, NULL);
    out->retry_ts = -1;
    for (ns_time_t t = NS_MSEC; t <= 10 * NS_SEC; t += NS_MSEC) {
        ns_sim_run(w.sim, t, 0);
        const struct ns_lock_client_stats *b = ns_lock_client_stats(w.c[1]);
        if (out->retry_ts < 0 && b->retries > 0
            && ns_lock_client_state(w.c[1]) == NS_LOCK_ACQUIRING)
            out->retry_ts = b->timestamp;
    }
    for (unsigned i = 0; i < 2; i++) {
        out->retries[i] = ns_lock_client_stats(w.c[i])->retries;
        out->acq[i] = ns_lock_client_stats(w.c[i])->acquisitions;
    }
    out->deadlocks = ns_lock_n_deadlocks(w.cl);
    out->waiting = ns_lock_n_waiting(w.cl);
    out->violations = ns_lock_n_violations(w.cl);
    world_free(&w);
}

/* a is older (it starts first): under wait_die the younger b dies when it
 * asks for R1, which a holds, and retries as old as it was; a waits for b's
 * R2 and never restarts.  Started the other way round, a dies. */
static void test_wait_die_race(void)
{
    struct race r;
    race2("wait_die", 0, NS_MSEC, &r);
    CU_ASSERT_EQUAL(r.acq[0], 1);
    CU_ASSERT_EQUAL(r.acq[1], 1);
    CU_ASSERT_EQUAL(r.retries[0], 0);
    CU_ASSERT_TRUE(r.retries[1] >= 1);
    CU_ASSERT_EQUAL(r.retry_ts, NS_MSEC);            /* a retry keeps its timestamp */
    CU_ASSERT_EQUAL(r.deadlocks, 0);
    CU_ASSERT_EQUAL(r.waiting, 0);
    CU_ASSERT_EQUAL(r.violations, 0);
    race2("wait_die", NS_MSEC, 0, &r);
    CU_ASSERT_TRUE(r.retries[0] >= 1);
    CU_ASSERT_EQUAL(r.retries[1], 0);
    CU_ASSERT_EQUAL(r.acq[0] + r.acq[1], 2);
}

/* Under wound_wait the older a's request for R2 wounds b, which is still
 * acquiring: b aborts once and retries with its old timestamp; a never
 * restarts.  Equal start times: the lower host id (a) is older. */
static void test_wound_wait_race(void)
{
    struct race r;
    race2("wound_wait", 0, NS_MSEC, &r);
    CU_ASSERT_EQUAL(r.acq[0], 1);
    CU_ASSERT_EQUAL(r.acq[1], 1);
    CU_ASSERT_EQUAL(r.retries[0], 0);
    CU_ASSERT_EQUAL(r.retries[1], 1);
    CU_ASSERT_EQUAL(r.retry_ts, NS_MSEC);
    CU_ASSERT_EQUAL(r.deadlocks, 0);
    CU_ASSERT_EQUAL(r.waiting, 0);
    race2("wound_wait", 0, 0, &r);
    CU_ASSERT_EQUAL(r.retries[0], 0);
    CU_ASSERT_EQUAL(r.retries[1], 1);
    race2("wound_wait", NS_MSEC, 0, &r);
    CU_ASSERT_EQUAL(r.retries[0], 1);
    CU_ASSERT_EQUAL(r.retries[1], 0);
    CU_ASSERT_EQUAL(r.deadlocks, 0);
}

/* Under detect the textbook deadlock forms (the oracle sees it), the
 * detector finds the cycle and aborts its youngest member only. */
static void test_detect_textbook(void)
{
    struct race r;
    race2("detect", 0, 0, &r);                       /* tie: b is younger */
    CU_ASSERT_EQUAL(r.deadlocks, 1);
    CU_ASSERT_EQUAL(r.retries[0], 0);
    CU_ASSERT_EQUAL(r.retries[1], 1);
    CU_ASSERT_EQUAL(r.acq[0], 1);
    CU_ASSERT_EQUAL(r.acq[1], 1);
    CU_ASSERT_EQUAL(r.waiting, 0);
    CU_ASSERT_EQUAL(r.violations, 0);
    race2("detect", NS_USEC, 0, &r);                 /* a started later */
    CU_ASSERT_EQUAL(r.deadlocks, 1);
    CU_ASSERT_EQUAL(r.retries[0], 1);
    CU_ASSERT_EQUAL(r.retries[1], 0);
    CU_ASSERT_EQUAL(r.waiting, 0);
    race2("wait", 0, 0, &r);                         /* without the detector */
    CU_ASSERT_EQUAL(r.waiting, 2);
}

/* The staged three-way deadlock (each client wins one server): the
 * detector aborts the youngest, c, and everyone then finishes. */
static void test_detect_three_way(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    add_staged_race(&w, "detect");
    ns_sim_run(w.sim, 40 * NS_MSEC, 0);              /* before the first look */
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 3);
    char *then = ns_lock_waiting_report(w.cl);
    char *then_dot = ns_lock_waitfor_dot(w.cl);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    /* the victim's abort dissolved the graph, but the snapshot taken when
     * the deadlock formed is the graph of that moment, cycle included */
    char *now = ns_lock_waiting_report(w.cl);
    CU_ASSERT_STRING_EQUAL(now, "");
    char *snap = ns_lock_deadlock_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
    CU_ASSERT_STRING_EQUAL(snap, then);
    CU_ASSERT_PTR_NOT_NULL(strstr(snap, "cycle: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(snap, "c waits for "));
    CU_ASSERT_PTR_NOT_NULL(strstr(snap, "deadlocked: a, b, c (cycle)\n")); /* all three */
    char *snap_dot = ns_lock_deadlock_dot(w.cl);
    CU_ASSERT_STRING_EQUAL(snap_dot, then_dot);
    CU_ASSERT_PTR_NOT_NULL(strstr(snap_dot, "color=red"));
    char *snap_mmd = ns_lock_deadlock_mermaid(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(snap_mmd, "linkStyle"));
    g_free(then);
    g_free(then_dot);
    g_free(now);
    g_free(snap);
    g_free(snap_dot);
    g_free(snap_mmd);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->retries, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->retries, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[2])->retries, 1);
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 0);
    world_free(&w);
}

/* 1,000 random workloads (random_world: random start, hold and think
 * times, transactions of one to three resources each drawn in a random
 * order, 5 servers): ordered, wait_die and
 * wound_wait never deadlock, detect never stays deadlocked, and everyone
 * finishes; the same workloads deadlock under wait in some seeds. */
static void test_prevention_many_seeds(void)
{
    const char *strategies[] = { "wait", "ordered", "wait_die", "wound_wait", "detect" };
    unsigned deadlocked[5];
    for (unsigned k = 0; k < 5; k++)
        deadlocked[k] = deadlocked_seeds(strategies[k], 1000);
    CU_ASSERT_TRUE(deadlocked[0] > 0);
    CU_ASSERT_EQUAL(deadlocked[1], 0);
    CU_ASSERT_EQUAL(deadlocked[2], 0);
    CU_ASSERT_EQUAL(deadlocked[3], 0);
    CU_ASSERT_TRUE(deadlocked[4] > 0);              /* they formed, and were broken */
    printf("\n  deadlocked seeds of 1000: wait %u, ordered %u, wait_die %u, wound_wait %u, "
           "detect %u\n", deadlocked[0], deadlocked[1], deadlocked[2], deadlocked[3],
           deadlocked[4]);
}

/* pick: each transaction draws its resources (Zipf: the first of the
 * list most often); stop_after stops the run at exactly that many
 * critical sections; the acquisitions table gets one row each. */
static void test_workload_options(void)
{
    static const char *const pool[] = { "R1", "R2", "R3", "R4", NULL };
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.stop_after = 40;
    struct world w;
    world_init(&w, 5, 3, &co);
    char *dir = g_strdup_printf("%s/lock-acq", ns_test_tmpdir());
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, dir, NULL));
    CU_ASSERT_TRUE(ns_lock_cluster_log_acquisitions(w.cl, "acq", NULL));
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.pick = 1;
    o.zipf_s = 1.0;
    o.think = 5 * NS_MSEC;
    o.think_exp = true;
    o.hold = NS_MSEC;
    o.transactions = 1000;
    add_client(&w, 0, "a", "wait", pool, 0, &o);
    add_client(&w, 1, "b", "wait", pool, 0, &o);
    enum ns_stop_reason why = ns_sim_run(w.sim, 100 * NS_SEC, 0);
    CU_ASSERT_EQUAL(why, NS_STOP_REQUESTED);
    CU_ASSERT_EQUAL(ns_lock_cluster_acquisitions(w.cl), 40);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions
                    + ns_lock_client_stats(w.c[1])->acquisitions, 40);
    /* per resource: how often each server-side table saw it granted */
    uint64_t seen[4] = { 0 };
    for (unsigned i = 0; i < 4; i++)
        seen[i] = ns_lock_server_token(w.cl, 0, pool[i]);   /* quorum tokens grow per holder */
    CU_ASSERT_TRUE(seen[0] > seen[3]);                     /* Zipf: R1 more than R4 */
    CU_ASSERT_TRUE(seen[1] + seen[2] + seen[3] > 0);       /* not always the first */
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, NULL));
    world_free(&w);
    char *path = g_build_filename(dir, "acq.tsv", NULL), *text = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
    if (text) {
        CU_ASSERT_TRUE(g_str_has_prefix(text, "time\tclient\tstrategy\twait_s\tretries\n"));
        unsigned lines = 0;
        for (const char *q = text; *q; q++)
            lines += *q == '\n';
        CU_ASSERT_EQUAL(lines, 41);                          /* header + 40 rows */
    }
    g_free(text);
    g_free(path);
    g_free(dir);
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    ns_host *s1 = ns_host_new(sim, "s1", &err), *st = ns_host_new(sim, "st", &err);
    ns_host *srv[] = { s1 };
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.quorum = 2;
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(sim, srv, 1, st, &co, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock cluster: quorum 2 is larger than the 1 servers");
    g_clear_error(&err);
    co.quorum = 0;
    co.ttl = -1;
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(sim, srv, 1, st, &co, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock cluster: negative ttl");
    g_clear_error(&err);
    co.ttl = 0;
    co.persist = true;
    co.registers_lost = true;
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(sim, srv, 1, st, &co, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock cluster: registers lost needs persist off "
                                         "(a kept table keeps its registers)");
    g_clear_error(&err);
    co.persist = co.registers_lost = false;
    co.ttl = -1;
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(sim, srv, 0, st, &co, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    co.ttl = 0;
    ns_lock_cluster *cl = ns_lock_cluster_new(sim, srv, 1, st, &co, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    CU_ASSERT_EQUAL(ns_lock_cluster_quorum(cl), 1);
    ns_host *a = ns_host_new(sim, "a", &err);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.resources = r1;
    o.strategy = "wiat";
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': unknown strategy 'wiat' "
                                         "(known: wait, release_all, ordered, "
                                         "wait_die, wound_wait, detect)");
    g_clear_error(&err);
    o.strategy = "wait";
    o.resources = NULL;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': no resources to lock");
    g_clear_error(&err);
    o.resources = r1;
    o.pick = 2;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': pick 2 is more than the 1 resources");
    g_clear_error(&err);
    o.pick = 0;
    o.zipf_s = -1;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': negative zipf_s");
    g_clear_error(&err);
    o.zipf_s = 0;
    /* each bad time names its option */
    o.timeout = 0;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': timeout must be > 0");
    g_clear_error(&err);
    o.timeout = NS_MSEC;
    o.hold = -1;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': hold must be >= 0");
    g_clear_error(&err);
    o.hold = 0;
    o.backoff = 2 * NS_MSEC;
    o.backoff_max = NS_MSEC;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': backoff_max must be >= backoff");
    g_clear_error(&err);
    ns_lock_client_opts_defaults(&o);
    o.resources = r1;
    static const char *const dup[] = { "R1", "R1", NULL };
    o.resources = dup;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': resource 'R1' listed twice");
    g_clear_error(&err);
    /* the first bad name in list order is the one named, whatever it is */
    static const char *const late_dup[] = { "R1", "R2", "R3", "R2", "", NULL };
    o.resources = late_dup;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': resource 'R2' listed twice");
    g_clear_error(&err);
    static const char *const empty_first[] = { "R1", "", "R1", NULL };
    o.resources = empty_first;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "lock client 'a': resource name '' must have 1 to 31 bytes");
    g_clear_error(&err);
    o.resources = r1;
    /* nothing connects the hosts yet: a would wait forever */
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': no network path to s1, st (link the "
                                         "hosts, or attach them to a LAN, before creating the "
                                         "client)");
    g_clear_error(&err);
    /* a link reaches s1 only: a host that does not forward ends a path */
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, a, s1, NULL, &err));
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "lock client 'a': no network path to st (link the "
                                         "hosts, or attach them to a LAN, before creating the "
                                         "client)");
    g_clear_error(&err);
    /* through a router, every host is reachable */
    ns_host *rt = ns_host_new(sim, "rt", &err);
    ns_host_set_forwarding(rt, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, a, rt, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_link_new(sim, rt, st, NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_PTR_NULL(ns_lock_client_new(cl, a, &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "host 'a' is already a lock client");
    g_clear_error(&err);
    enum ns_lock_fencing f;
    CU_ASSERT_FALSE(ns_lock_fencing_parse("quorom", &f, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_TRUE(ns_lock_fencing_parse("naive", &f, NULL));
    CU_ASSERT_EQUAL(f, NS_LOCK_FENCE_NAIVE);
    ns_sim_free(sim);
}

void test_lock_register(void)
{
    CU_pSuite s = ns_test_suite("lock", NULL, NULL);
    ns_test_add(s, "wait: the textbook deadlock and its cycle", test_wait_deadlock);
    ns_test_add(s, "wait: same order, no deadlock", test_wait_same_order);
    ns_test_add(s, "release_all: no deadlock, retries", test_release_all_no_deadlock);
    ns_test_add(s, "ordered: no deadlock, no retry", test_ordered_no_deadlock);
    ns_test_add(s, "release_all: retries grow with contention", test_release_all_contention);
    ns_test_add(s, "quorum all deadlocks 2 clients, quorum 1 breaks safety",
                test_quorum_all_and_numeric);
    ns_test_add(s, "2 clients on 3 servers never deadlock", test_two_on_three_never_deadlock);
    ns_test_add(s, "3 clients on 3 servers: staged 3-way deadlock", test_three_way_deadlock);
    ns_test_add(s, "safety over seeds, deadlocks only under wait", test_safety_many_seeds);
    ns_test_add(s, "determinism", test_determinism);
    ns_test_add(s, "wait_die: the younger dies, keeps its age", test_wait_die_race);
    ns_test_add(s, "wound_wait: the older wounds the younger", test_wound_wait_race);
    ns_test_add(s, "detect: textbook deadlock, youngest aborted", test_detect_textbook);
    ns_test_add(s, "detect: three-way deadlock, youngest aborted", test_detect_three_way);
    ns_test_add(s, "pick, Zipf, stop_after, acquisitions table", test_workload_options);
    ns_test_add(s, "bad input", test_bad_input);
    CU_pSuite l = ns_test_suite("lock (long)", NULL, NULL);
    ns_test_add(l, "no deadlock over 1,000 seeds: ordered, wait_die, wound_wait, detect",
                test_prevention_many_seeds);
}
