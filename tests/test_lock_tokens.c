/* test_lock_tokens.c — quorum fencing tokens stay ordered when lock
 * servers crash and restart without their lock table (issue #12).
 *
 * The property: if A's token for a resource was fixed (committed on a
 * quorum) before B's attempt started, B's token is larger; and no two
 * fixed tokens of a resource are equal.  It holds because the token
 * registers are in stable storage: A's quorum and B's meet in a server
 * whose register already holds A's token.  The what-if `registers_lost`
 * resets the registers with the table, and the same workloads then
 * misorder holders: the tests assert that too, so they can fail.
 *
 * Observed through ns_lock_cluster_on_token, which reports each fixed
 * token with its attempt's start.  The world (lockworld.h): a cluster on
 * a 1 Gbit/s LAN with 1 ms port delays, about 2 ms host to host. */
#include <string.h>

#include "netsim/event.h"
#include "netsim/lock.h"
#include "netsim/rng.h"
#include "tests.h"
#include "lockworld.h"

/* ---- the observer: every fixed token, in the order they were fixed ---- */
struct fixed {
    char      client[16];
    char      resource[NS_LOCK_NAME_MAX + 1];
    uint64_t  token;
    ns_time_t start, at;
};

static void record(const struct ns_lock_token_fixed *t, void *ud)
{
    GArray *log = ud;
    struct fixed f = { .token = t->token, .start = t->attempt_start, .at = t->at };
    g_strlcpy(f.client, t->client, sizeof f.client);
    g_strlcpy(f.resource, t->resource, sizeof f.resource);
    g_array_append_val(log, f);
}

struct verdict {
    unsigned ordered_pairs;    /* A fixed before B started: compared */
    unsigned misordered;       /* ... and B's token <= A's */
    unsigned duplicates;       /* two fixed tokens of a resource equal */
};

static void judge(const GArray *log, struct verdict *v)
{
    for (guint i = 0; i < log->len; i++)
        for (guint j = 0; j < log->len; j++) {
            const struct fixed *a = &g_array_index(log, struct fixed, i);
            const struct fixed *b = &g_array_index(log, struct fixed, j);
            if (i == j || strcmp(a->resource, b->resource) != 0)
                continue;
            if (i < j && a->token == b->token)
                v->duplicates++;
            if (a->at < b->start) {
                v->ordered_pairs++;
                v->misordered += b->token <= a->token;
            }
        }
}

/* ---- faults scheduled at a time ---- */
static void crash_host(ns_sim *sim, void *arg)
{
    (void)sim;
    if (ns_host_is_up(arg))
        ns_host_crash(arg);
}

static void restart_host(ns_sim *sim, void *arg)
{
    (void)sim;
    if (!ns_host_is_up(arg))
        ns_host_restart(arg);
}

static void at(struct world *w, ns_time_t t, ns_event_fn fn, ns_host *h)
{
    GError *err = NULL;
    CU_ASSERT_NOT_EQUAL(ns_event_at(w->sim, t, fn, h, 0, &err).slot, 0);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
}

/* ---- the staged intersection ---- */

/* a locks R1 with `ordered` (ls1, ls2, ls3 in turn: it commits token 1 on
 * exactly {1,2,3}), works 10 ms and releases.  At 200 ms ls1 and ls2 go
 * down for good and ls3 crashes, restarting at 210 ms without its table.
 * b asks at 300 ms and can only win {3,4,5}: ls3 is its only witness of
 * a's token.  Fills b's first token, b's rejected writes and ls3's
 * register after the restart. */
struct staged {
    uint64_t a_token, b_first_token, b_last_token, ls3_reg;
    uint64_t regs_before[5], regs_after[5];
    uint64_t b_fenced, b_acquisitions;
    size_t   violations;
};

static void staged_case(bool registers_lost, struct staged *out)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.registers_lost = registers_lost;
    struct world w;
    world_init(&w, 1, 5, &co);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(struct fixed));
    ns_lock_cluster_on_token(w.cl, record, log);
    add_client(&w, 0, "a", "ordered", r1, 0, NULL);
    add_client(&w, 1, "b", "wait", r1, 300 * NS_MSEC, NULL);
    for (unsigned i = 0; i < 3; i++)
        at(&w, 200 * NS_MSEC, crash_host, ns_lock_cluster_server(w.cl, i));
    at(&w, 210 * NS_MSEC, restart_host, ns_lock_cluster_server(w.cl, 2));
    ns_sim_run(w.sim, 150 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_DONE);
    for (unsigned i = 0; i < 5; i++)
        out->regs_before[i] = ns_lock_server_token(w.cl, i, "R1");
    ns_sim_run(w.sim, 250 * NS_MSEC, 0);
    out->ls3_reg = ns_lock_server_token(w.cl, 2, "R1");
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_FATAL(log->len >= 2);
    const struct fixed *fa = &g_array_index(log, struct fixed, 0);
    const struct fixed *fb = &g_array_index(log, struct fixed, 1);
    CU_ASSERT_STRING_EQUAL(fa->client, "a");
    CU_ASSERT_STRING_EQUAL(fb->client, "b");
    out->a_token = fa->token;
    out->b_first_token = fb->token;
    out->b_last_token = ns_lock_client_stats(w.c[1])->last_token;
    out->b_fenced = ns_lock_client_stats(w.c[1])->fenced;
    out->b_acquisitions = ns_lock_client_stats(w.c[1])->acquisitions;
    for (unsigned i = 0; i < 5; i++)
        out->regs_after[i] = ns_lock_server_token(w.cl, i, "R1");
    out->violations = ns_lock_n_violations(w.cl);
    g_array_free(log, TRUE);
    world_free(&w);
}

static void test_staged_intersection(void)
{
    struct staged s = { 0 };
    staged_case(false, &s);
    /* the staging worked: a's token is on ls1..ls3 only */
    uint64_t want[5] = { 1, 1, 1, 0, 0 };
    for (unsigned i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(s.regs_before[i], want[i]);
    CU_ASSERT_EQUAL(s.a_token, 1);
    CU_ASSERT_EQUAL(s.ls3_reg, 1);             /* survived the crash */
    CU_ASSERT_EQUAL(s.b_first_token, 2);       /* larger than a's */
    CU_ASSERT_EQUAL(s.b_fenced, 0);            /* b, the later holder, never rejected */
    CU_ASSERT_EQUAL(s.b_acquisitions, 1);
    CU_ASSERT_EQUAL(s.violations, 0);
    uint64_t b_wrote[5] = { 1, 1, 2, 2, 2 };  /* b committed on ls3..ls5 only */
    for (unsigned i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(s.regs_after[i], b_wrote[i]);

    /* What-if: ls3's register restarts at 0, so b reads 0 on {3,4,5} and
     * gets a's token again: the storage server rejects b's BEGIN (same
     * token, another holder) though a is long gone; b's retry commits 2. */
    struct staged l = { 0 };
    staged_case(true, &l);
    for (unsigned i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(l.regs_before[i], want[i]);
    CU_ASSERT_EQUAL(l.a_token, 1);
    CU_ASSERT_EQUAL(l.ls3_reg, 0);
    CU_ASSERT_EQUAL(l.b_first_token, 1);       /* not larger than a's */
    CU_ASSERT_EQUAL(l.b_fenced, 1);            /* a legitimate holder rejected */
    CU_ASSERT_EQUAL(l.b_last_token, 2);
    CU_ASSERT_EQUAL(l.b_acquisitions, 1);
    CU_ASSERT_EQUAL(l.violations, 0);
    uint64_t b_wrote_lost[5] = { 0, 0, 2, 2, 2 };   /* ls1, ls2 crashed: 0 too */
    for (unsigned i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(l.regs_after[i], b_wrote_lost[i]);   /* its retry's 2 */
}

/* ---- the property over many seeds ---- */

#define PROP_SEEDS   200
#define PROP_CLIENTS 4
#define PROP_TX      8

/* Four release_all clients (each nearest another server) lock R1 then R2
 * eight times on 5 servers with 30 ms leases, while 3 to 6 crashes hit
 * random servers at random times in the first 400 ms, each down 1 to
 * 30 ms and restarting without its table.  Adds the seed's verdict to v
 * and returns the restarts that happened. */
static unsigned crash_run(uint64_t seed, bool registers_lost, struct verdict *v)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.registers_lost = registers_lost;
    co.ttl = 30 * NS_MSEC;
    struct world w;
    world_init(&w, seed, 5, &co);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(struct fixed));
    ns_lock_cluster_on_token(w.cl, record, log);
    ns_rng r;
    ns_rng_init(&r, seed, "test.crashes");
    const char *names[PROP_CLIENTS] = { "a", "b", "c", "d" };
    for (unsigned i = 0; i < PROP_CLIENTS; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.transactions = PROP_TX;
        o.hold = NS_MSEC;
        o.rto = 20 * NS_MSEC;
        o.timeout = 8 * NS_MSEC;
        o.backoff = 2 * NS_MSEC;
        o.backoff_max = 40 * NS_MSEC;
        o.think = (ns_time_t)ns_rng_below(&r, 10 * NS_MSEC);
        o.first_server = i;
        add_client(&w, i, names[i], "release_all", r12,
                   (ns_time_t)ns_rng_below(&r, 5 * NS_MSEC), &o);
    }
    /* one server down at a time at most, so a majority stays reachable
     * and every client finishes */
    unsigned crashes = 3 + (unsigned)ns_rng_below(&r, 4);
    ns_time_t free_at = 0;
    for (unsigned k = 0; k < crashes; k++) {
        ns_time_t down = free_at + (ns_time_t)ns_rng_below(&r, 400 * NS_MSEC / crashes);
        ns_time_t up = down + NS_MSEC + (ns_time_t)ns_rng_below(&r, 29 * NS_MSEC);
        ns_host *h = ns_lock_cluster_server(w.cl, (unsigned)ns_rng_below(&r, 5));
        at(&w, down, crash_host, h);
        at(&w, up, restart_host, h);
        free_at = up + 1;
    }
    ns_sim_run(w.sim, 120 * NS_SEC, 0);
    for (unsigned i = 0; i < PROP_CLIENTS; i++)
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, PROP_TX);
    judge(log, v);
    g_array_free(log, TRUE);
    world_free(&w);
    return crashes;
}

static void test_order_under_table_loss(void)
{
    struct verdict stable = { 0 }, lost = { 0 };
    unsigned crashes = 0, bad_seeds = 0;
    for (uint64_t seed = 1; seed <= PROP_SEEDS; seed++) {
        struct verdict v = { 0 };
        crashes += crash_run(seed, false, &stable);
        crash_run(seed, true, &v);
        bad_seeds += v.misordered + v.duplicates > 0;
        lost.ordered_pairs += v.ordered_pairs;
        lost.misordered += v.misordered;
        lost.duplicates += v.duplicates;
    }
    printf("\n  token order over %d seeds, %u table-losing crashes: stable registers "
           "%u/%u pairs misordered, %u duplicates; lost registers %u/%u misordered, "
           "%u duplicates (%u seeds)\n", PROP_SEEDS, crashes, stable.misordered,
           stable.ordered_pairs, stable.duplicates, lost.misordered, lost.ordered_pairs,
           lost.duplicates, bad_seeds);
    CU_ASSERT_TRUE(stable.ordered_pairs > PROP_SEEDS * 100);   /* the property was exercised */
    CU_ASSERT_EQUAL(stable.misordered, 0);
    CU_ASSERT_EQUAL(stable.duplicates, 0);
    CU_ASSERT_TRUE(lost.misordered > 0);       /* the what-if does break it */
    CU_ASSERT_TRUE(bad_seeds > 0);
}

void test_lock_tokens_register(void)
{
    CU_pSuite s = ns_test_suite("lock-tokens", NULL, NULL);
    ns_test_add(s, "A on {1,2,3}, ls3 loses its table, B on {3,4,5}", test_staged_intersection);
    ns_test_add(s, "later holders get larger tokens across table loss",
                test_order_under_table_loss);
}
