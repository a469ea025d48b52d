/* test_lock_faults.c — the distributed locking model under faults: a
 * crashed holder freed by lease expiry one TTL after its grant (and
 * blocking forever without leases), a lost GRANT recovered by
 * retransmission, a committing quorum member crashing (the attempt
 * aborts, never hangs), lock servers restarting with and without their table
 * (the token registers surviving in stable storage, or lost as a what-if),
 * fencing: a paused holder's stale
 * write rejected with quorum tokens and a safety violation without
 * fencing, naive per-server tokens rejecting legitimate newer holders.
 *
 * The world (lockworld.h): a cluster on a 1 Gbit/s LAN with 1 ms port
 * delays, about 2 ms host to host. */
#include <math.h>
#include <string.h>

#include "netsim/link.h"
#include "netsim/lock.h"
#include "netsim/output.h"
#include "netsim/rng.h"
#include "tests.h"
#include "lockworld.h"

/* ---- crashed holders and leases ---- */

/* a crashes at its 2nd grant (a majority of 3): b, queued, gets R1 once
 * a's leases expire, one TTL after a's grants. */
static void test_crashed_holder_lease(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 500 * NS_MSEC;
    struct world w;
    world_init(&w, 1, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.crash_after_grants = 2;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, NS_MSEC, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_CRASHED);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 1);
    /* b's wait: a's grants at ~2 ms, expiry TTL later, then a 2 ms grant */
    ns_time_t waited = ns_lock_client_stats(w.c[1])->longest_wait;
    CU_ASSERT_TRUE(waited >= co.ttl);
    CU_ASSERT_TRUE(waited <= co.ttl + 10 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    world_free(&w);
}

/* crash_after_grants = 2 crashes a as its 2nd GRANT arrives, before it
 * reacts: the three ACQUIREs (one per server, before any grant) are all
 * a ever sends; no COMMIT to the two granting servers, no RELEASE to the
 * third. */
static void test_crash_at_kth_grant_sends_nothing(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.crash_after_grants = 2;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    ns_sim_run(w.sim, 20 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_CRASHED);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->grants, 2);
    CU_ASSERT_EQUAL(ns_host_stats(w.h[0])->tx_pkts, 3);
    /* the servers saw no COMMIT: their registers stay 0 */
    for (unsigned s = 0; s < 3; s++)
        CU_ASSERT_EQUAL(ns_lock_server_token(w.cl, s, "R1"), 0);
    world_free(&w);
}

/* The holds table over the crash: on each server a holds R1 from its
 * grant until its lease expires exactly one TTL later, b's grant follows
 * at that instant, and b, still holding when the run ends, gets an "end"
 * row (so every bar of plots/lock_gantt.gp has both ends). */
static void test_holds_table(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 500 * NS_MSEC;
    struct world w;
    world_init(&w, 1, 3, &co);
    char *dir = g_build_filename(ns_test_tmpdir(), "lock-holds", NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(dir, 0777), 0);
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, dir, NULL));
    CU_ASSERT_TRUE(ns_lock_cluster_log_holds(w.cl, "holds", NULL));
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.crash_after_grants = 2;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    struct ns_lock_client_opts ob;
    ns_lock_client_opts_defaults(&ob);
    ob.hold = 10 * NS_SEC;
    add_client(&w, 1, "b", "wait", r1, NS_MSEC, &ob);
    ns_sim_run(w.sim, 2 * NS_SEC, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, NULL));
    char *tsv = ns_test_read_file(dir, "holds.tsv");
    char **lines = g_strsplit(tsv, "\n", -1);
    CU_ASSERT_STRING_EQUAL(lines[0], "time\tserver\tresource\tholder\tcause");
    /* ls1's rows, in order: a's grant, its expiry, b's grant, the end. */
    ns_time_t t[4] = { 0 };
    const char *want[4] = { "\tls1\tR1\ta\tgrant", "\tls1\tR1\t\texpire",
                            "\tls1\tR1\tb\tgrant", "\tls1\tR1\tb\tend" };
    int k = 0;
    for (int i = 1; lines[i] && lines[i][0] && k < 4; i++) {
        const char *tab = strchr(lines[i], '\t');
        if (!tab || !g_str_has_prefix(tab, "\tls1\t"))
            continue;
        CU_ASSERT_STRING_EQUAL(tab, want[k]);
        t[k++] = (ns_time_t)llround(g_ascii_strtod(lines[i], NULL) * 1e9);
    }
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_TRUE(t[0] > 0);
    CU_ASSERT_EQUAL(t[1], t[0] + co.ttl);          /* the lease, to the nanosecond */
    CU_ASSERT_EQUAL(t[2], t[1]);
    CU_ASSERT_EQUAL(t[3], 2 * NS_SEC);              /* the run's end */
    g_strfreev(lines);
    g_free(tsv);
    g_free(dir);
    world_free(&w);
}

/* A holder that renews, then crashes: its lease runs out exactly one TTL
 * after the last RENEW reached the server, not one TTL after the grant.
 * a, alone on one server, holds R1 for 10 s with a 300 ms lease
 * (renewing every 100 ms) and crashes at 1 s; the run is stepped one
 * event at a time to note when ls1 last received a message from a. */
static void test_lease_after_last_renewal(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 300 * NS_MSEC;
    struct world w;
    world_init(&w, 1, 1, &co);
    char *dir = g_build_filename(ns_test_tmpdir(), "lock-renew", NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(dir, 0777), 0);
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, dir, NULL));
    CU_ASSERT_TRUE(ns_lock_cluster_log_holds(w.cl, "holds", NULL));
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 10 * NS_SEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    ns_host *ls1 = ns_lock_cluster_server(w.cl, 0);
    uint64_t rx = 0;
    ns_time_t last_rx = -1;
    while (ns_sim_now(w.sim) < NS_SEC) {
        ns_sim_run(w.sim, NS_SEC, 1);
        if (ns_host_stats(ls1)->rx_pkts != rx) {
            rx = ns_host_stats(ls1)->rx_pkts;
            last_rx = ns_sim_now(w.sim);
        }
    }
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_WORKING);
    CU_ASSERT_TRUE(rx >= 2 + 9);            /* ACQ, COMMIT, then renewals */
    ns_host_crash(w.h[0]);
    ns_sim_run(w.sim, 5 * NS_SEC, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, NULL));
    char *tsv = ns_test_read_file(dir, "holds.tsv");
    char **lines = g_strsplit(tsv, "\n", -1);
    ns_time_t grant = -1, expire = -1;
    for (int i = 1; lines[i] && lines[i][0]; i++) {
        ns_time_t t = (ns_time_t)llround(g_ascii_strtod(lines[i], NULL) * 1e9);
        if (strstr(lines[i], "\tls1\tR1\ta\tgrant"))
            grant = t;
        else if (strstr(lines[i], "\tls1\tR1\t\texpire"))
            expire = t;
    }
    CU_ASSERT_TRUE(grant > 0);
    CU_ASSERT_TRUE(last_rx > NS_SEC - 110 * NS_MSEC);   /* a renewal shortly before */
    CU_ASSERT_EQUAL(expire, last_rx + co.ttl);          /* to the nanosecond */
    CU_ASSERT_TRUE(expire > grant + 3 * co.ttl);
    g_strfreev(lines);
    g_free(tsv);
    g_free(dir);
    world_free(&w);
}

/* Without leases the crashed holder blocks b forever; the report says so,
 * and b's longest wait is the whole run, not 0. */
static void test_crashed_holder_no_lease(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.crash_after_grants = 2;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, NS_MSEC, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 0);
    /* b has waited since its start at 1 ms: the longest wait says so
     * (no completed wait yet), the crashed a waits for nothing */
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->longest_wait, 0);
    CU_ASSERT_EQUAL(ns_lock_client_longest_wait(w.c[1]), 10 * NS_SEC - NS_MSEC);
    CU_ASSERT_EQUAL(ns_lock_client_longest_wait(w.c[0]), 0);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 1);
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "b waits for a [crashed] (R1 on ls1 ls2"));
    g_free(rep);
    world_free(&w);
}

/* Two of three servers down for good before a asks: a holds ls1 and
 * waits; the report names the servers it waits for, not "nobody".  Once
 * ls2 is back (table and all) a's resent request reaches it, a goes in,
 * and nobody is reported waiting. */
static void restart_ls2(ns_sim *sim, void *arg)
{
    (void)sim;
    ns_host_restart(ns_lock_cluster_server(arg, 1));
}

static void test_waiting_on_servers_down(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    ns_host_crash(ns_lock_cluster_server(w.cl, 1));
    ns_host_crash(ns_lock_cluster_server(w.cl, 2));
    add_client(&w, 0, "a", "wait", r1, 0, NULL);
    ns_sim_run(w.sim, NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 1);
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "a waits for ls2 ls3 [down] since"));
    CU_ASSERT_PTR_NULL(strstr(rep, "nobody"));
    g_free(rep);
    ns_event_after(w.sim, 0, restart_ls2, w.cl);
    ns_sim_run(w.sim, 20 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_lock_n_waiting(w.cl), 0);
    rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NULL(strstr(rep, "waits for"));
    g_free(rep);
    world_free(&w);
}

/* ---- lost messages ---- */

static void port_down(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_up(w->lan, ns_host_iface(w->h[1], 0), false));
}

static void port_up(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_up(w->lan, ns_host_iface(w->h[1], 0), true));
}

/* Without leases, b queued on the only server loses the GRANT that a's
 * release sends it (b's port is down from 20 ms to 100 ms, when nothing
 * else reaches it).  b's queued request is retransmitted one RTO after
 * it was sent, the server answers its holder's duplicate with the GRANT
 * again, and b acquires a round trip later (plus the token's commit).  (It used to wait forever:
 * queued requests were retransmitted only with leases.) */
static void test_lost_grant_no_lease(void)
{
    struct world w;
    world_init(&w, 1, 1, NULL);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 50 * NS_MSEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, NS_MSEC, NULL);
    ns_event_at(w.sim, 20 * NS_MSEC, port_down, &w, 0, NULL);
    ns_event_at(w.sim, 100 * NS_MSEC, port_up, &w, 0, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    const struct ns_lan_port_stats *ps =
        ns_lan_port_stats(w.lan, ns_host_iface(w.h[1], 0));
    CU_ASSERT_EQUAL(ps->drops[NS_DROP_LINK_DOWN], 1);      /* the GRANT alone */
    const struct ns_lock_client_stats *st = ns_lock_client_stats(w.c[1]);
    CU_ASSERT_EQUAL(st->acquisitions, 1);
    CU_ASSERT_EQUAL(st->grants, 1);
    struct ns_lock_client_opts d;
    ns_lock_client_opts_defaults(&d);
    /* from b's request: one RTO, a round trip of about 4 ms for the
     * GRANT, another to commit the quorum token */
    CU_ASSERT_TRUE(st->longest_wait >= d.rto + 8 * NS_MSEC);
    CU_ASSERT_TRUE(st->longest_wait < d.rto + 9 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    world_free(&w);
}

/* ---- server crashes ---- */

/* a holds R1 on all three servers (no leases) and works for 1 s; ls1 and
 * ls2 crash at 100 ms and restart at 200 ms; b asks at 300 ms.  With a
 * persistent table the servers still know a: b queues and gets R1 after
 * a's release.  Without it ls1 and ls2 forgot a: b gets a majority there
 * while a still holds R1 on ls3 and is inside.  The registers survived in
 * stable storage, so b's token is larger than a's and fencing at the
 * storage server evicts a; with the what-if `registers_lost` they restart
 * at 0, b's token equals a's, and without storage fencing the storage
 * server sees b enter while a is inside. */
static void server_restart_case(bool persist, bool registers_lost, bool storage_fencing,
                                size_t *violations, ns_time_t *b_wait, uint64_t *b_token,
                                uint64_t fenced[2])
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.persist = persist;
    co.registers_lost = registers_lost;
    co.storage_fencing = storage_fencing;
    struct world w;
    world_init(&w, 1, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = NS_SEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, 300 * NS_MSEC, NULL);
    ns_sim_run(w.sim, 100 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_WORKING);
    for (unsigned i = 0; i < 2; i++)
        ns_host_crash(ns_lock_cluster_server(w.cl, i));
    ns_sim_run(w.sim, 200 * NS_MSEC, 0);
    for (unsigned i = 0; i < 2; i++)
        ns_host_restart(ns_lock_cluster_server(w.cl, i));
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 1);
    *violations = ns_lock_n_violations(w.cl);
    *b_wait = ns_lock_client_stats(w.c[1])->longest_wait;
    *b_token = ns_lock_client_stats(w.c[1])->last_token;
    for (unsigned i = 0; i < 2; i++)
        fenced[i] = ns_lock_client_stats(w.c[i])->fenced;
    world_free(&w);
}

static void test_server_restart_table(void)
{
    size_t v;
    ns_time_t wait;
    uint64_t token, fenced[2];
    server_restart_case(true, false, true, &v, &wait, &token, fenced);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_TRUE(wait > 700 * NS_MSEC);           /* until a's release, ~1 s */
    CU_ASSERT_EQUAL(token, 2);
    CU_ASSERT_EQUAL(fenced[0] + fenced[1], 0);
    /* Table lost, registers kept: b gets in at once with token 2 (ls1 and
     * ls2 remember a's 1).  Without storage fencing both are inside. */
    server_restart_case(false, false, false, &v, &wait, &token, fenced);
    CU_ASSERT_EQUAL(v, 1);                          /* b entered while a was inside */
    CU_ASSERT_TRUE(wait < 20 * NS_MSEC);
    CU_ASSERT_EQUAL(token, 2);                      /* larger than a's */
    /* With storage fencing b's BEGIN (2) evicts a at once: only a's END
     * is rejected, b, the later holder, never is. */
    server_restart_case(false, false, true, &v, &wait, &token, fenced);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_TRUE(wait < 20 * NS_MSEC);
    CU_ASSERT_EQUAL(token, 2);
    CU_ASSERT_EQUAL(fenced[0], 1);
    CU_ASSERT_EQUAL(fenced[1], 0);
    /* What-if, registers lost with the table: b's token is a's. */
    server_restart_case(false, true, false, &v, &wait, &token, fenced);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_TRUE(wait < 20 * NS_MSEC);
    CU_ASSERT_EQUAL(token, 1);                      /* the same token as a's */
    /* With storage fencing, b's BEGIN with a's token 1 is rejected (same
     * token, another holder); b's retry writes 2 to the registers and
     * enters, which evicts a: a's END is fenced, and the oracle, judging
     * by the storage server, sees no violation (a works on, unaware). */
    server_restart_case(false, true, true, &v, &wait, &token, fenced);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(token, 2);
    CU_ASSERT_EQUAL(fenced[0], 1);
    CU_ASSERT_EQUAL(fenced[1], 1);
    CU_ASSERT_TRUE(wait < 100 * NS_MSEC);
}

/* ---- a committing quorum member crashes ---- */

/* a locks R1 on a majority of three: ls1 and ls2, asked first on equal
 * paths (`ordered`: one after the other), grant first, so a commits its
 * token to those two.  ls1 crashes in the millisecond a started
 * committing, after its GRANT left and before the COMMIT (2 ms away)
 * arrives; b asks for R1 at 20 ms.  ls1 restarts (persist or not) at
 * `restart`, or never if it is negative.  The run is checked by the
 * oracle. */
struct commit_crash {
    uint64_t early_retries;      /* a's aborted attempts at 1.5 s */
    uint64_t retries;            /* ... at the end (60 s) */
    enum ns_lock_state end[2];   /* a's and b's states at the end */
};

static struct commit_crash commit_member_crash(const char *strategy, ns_time_t restart,
                                               bool persist)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.persist = persist;
    struct world w;
    world_init(&w, 1, 3, &co);
    add_client(&w, 0, "a", strategy, r1, 0, NULL);
    add_client(&w, 1, "b", strategy, r1, 20 * NS_MSEC, NULL);
    ns_host *ls1 = ns_lock_cluster_server(w.cl, 0);
    for (ns_time_t t = NS_MSEC; ns_lock_client_state(w.c[0]) != NS_LOCK_COMMITTING; t += NS_MSEC) {
        CU_ASSERT_FATAL(t < 20 * NS_MSEC);
        ns_sim_run(w.sim, t, 0);
    }
    ns_host_crash(ls1);
    struct commit_crash out = { 0 };
    if (restart < 0 || restart > 1500 * NS_MSEC) {
        ns_sim_run(w.sim, 1500 * NS_MSEC, 0);
        out.early_retries = ns_lock_client_stats(w.c[0])->retries;
    }
    if (restart >= 0) {
        ns_sim_run(w.sim, restart, 0);
        ns_host_restart(ls1);
    }
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    for (unsigned i = 0; i < 2; i++)
        out.end[i] = ns_lock_client_state(w.c[i]);
    out.retries = ns_lock_client_stats(w.c[0])->retries;
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    world_free(&w);
    return out;
}

/* ls1 is down for 5 s, then back with its table.  a cannot finish its
 * commit: it aborts that attempt (never enters) within four RTOs instead
 * of retransmitting COMMIT until ls1 returns, and retries as a new
 * attempt; every strategy then gets both clients through. */
static void test_commit_member_down_long(void)
{
    for (const char *const *s = ns_lock_strategy_names(); *s; s++) {
        struct commit_crash r = commit_member_crash(*s, 5 * NS_SEC, true);
        CU_ASSERT_TRUE(r.early_retries >= 1);
        CU_ASSERT_EQUAL(r.end[0], NS_LOCK_DONE);
        CU_ASSERT_EQUAL(r.end[1], NS_LOCK_DONE);
    }
}

/* ls1 never returns.  No strategy leaves a committing forever.
 * release_all (timeouts) and wound_wait (the older wounds the younger)
 * get both through on ls2 and ls3; `ordered` asks ls1 first again and
 * waits for it, as its order says.  wait, wait_die and detect hold and
 * wait for a silent server, so they may stall in phase one. */
static void test_commit_member_down_forever(void)
{
    for (const char *const *s = ns_lock_strategy_names(); *s; s++) {
        struct commit_crash r = commit_member_crash(*s, -1, false);
        CU_ASSERT_TRUE(r.early_retries >= 1);
        CU_ASSERT_NOT_EQUAL(r.end[0], NS_LOCK_COMMITTING);
        CU_ASSERT_NOT_EQUAL(r.end[1], NS_LOCK_COMMITTING);
        if (strcmp(*s, "release_all") == 0 || strcmp(*s, "wound_wait") == 0) {
            CU_ASSERT_EQUAL(r.end[0], NS_LOCK_DONE);
            CU_ASSERT_EQUAL(r.end[1], NS_LOCK_DONE);
        } else if (strcmp(*s, "ordered") == 0) {
            CU_ASSERT_EQUAL(r.end[0], NS_LOCK_ACQUIRING);
            CU_ASSERT_EQUAL(r.end[1], NS_LOCK_ACQUIRING);
        }
    }
}

/* ls1 restarts at 100 ms, before a's first COMMIT retransmission (one
 * RTO, 200 ms).  Without its table it no longer knows a holds R1 and
 * answers NOTHELD: a aborts that attempt and acquires on a retry.  With
 * its table the COMMIT lands and a goes on without aborting. */
static void test_commit_member_restart(void)
{
    for (const char *const *s = ns_lock_strategy_names(); *s; s++) {
        struct commit_crash r = commit_member_crash(*s, 100 * NS_MSEC, false);
        CU_ASSERT_EQUAL(r.retries, 1);
        CU_ASSERT_EQUAL(r.end[0], NS_LOCK_DONE);
        CU_ASSERT_EQUAL(r.end[1], NS_LOCK_DONE);
        r = commit_member_crash(*s, 100 * NS_MSEC, true);
        CU_ASSERT_EQUAL(r.retries, 0);
        CU_ASSERT_EQUAL(r.end[0], NS_LOCK_DONE);
        CU_ASSERT_EQUAL(r.end[1], NS_LOCK_DONE);
    }
}

/* ---- message loss on every link ---- */

/* The cluster on a star of links (every host linked to a router, 1 ms
 * each way, so about 2 ms host to host as on the LAN) with Bernoulli loss
 * `loss` on every link direction.  4 clients run 3 transactions each on
 * R1 and R2.  Returns the messages the links lost. */
static uint64_t lossy_run(uint64_t seed, const char *strategy, double loss, ns_time_t ttl,
                          bool *all_done, size_t *violations)
{
    ns_sim *sim = ns_sim_new(seed);
    ns_host *sw = ns_host_new(sim, "sw", NULL);
    ns_host_set_forwarding(sw, true);
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.delay = NS_MSEC;
    lo.loss = loss;
    GPtrArray *links = g_ptr_array_new();
    const char *names[] = { "ls1", "ls2", "ls3", "storage", "a", "b", "c", "d" };
    ns_host *h[8];
    for (unsigned i = 0; i < 8; i++) {
        h[i] = ns_host_new(sim, names[i], NULL);
        ns_link *l = ns_link_new(sim, h[i], sw, &lo, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(l);
        g_ptr_array_add(links, l);
    }
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = ttl;
    GError *err = NULL;
    ns_lock_cluster *cl = ns_lock_cluster_new(sim, h, 3, h[3], &co, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    ns_lock_client *c[4];
    for (unsigned i = 0; i < 4; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.strategy = strategy;
        o.resources = i % 2 ? r21 : r12;
        o.transactions = 3;
        o.hold = NS_MSEC;
        o.think = 2 * NS_MSEC;
        o.start = i * NS_MSEC / 2;
        c[i] = ns_lock_client_new(cl, h[4 + i], &o, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c[i]);
    }
    ns_sim_run(sim, 600 * NS_SEC, 0);
    *all_done = true;
    for (unsigned i = 0; i < 4; i++)
        *all_done = *all_done && ns_lock_client_stats(c[i])->acquisitions == 3;
    *violations = ns_lock_n_violations(cl);
    uint64_t lost = 0;
    for (guint i = 0; i < links->len; i++)
        for (int d = 0; d < 2; d++)
            lost += ns_link_stats(g_ptr_array_index(links, i), d)->drops[NS_DROP_LOSS];
    g_ptr_array_free(links, TRUE);
    ns_sim_free(sim);
    return lost;
}

/* "Message loss on any link": with 5 % loss on every link, under the
 * deadlock-free strategies, with and without leases, every client still
 * completes all its transactions (requests, grants, commits, writes and
 * releases are retransmitted) and the oracle finds no violation. */
static void test_loss_every_link(void)
{
    const char *strategies[] = { "ordered", "release_all", "wait_die" };
    uint64_t lost = 0;
    for (unsigned k = 0; k < 3; k++)
        for (uint64_t seed = 1; seed <= 10; seed++)
            for (int leases = 0; leases < 2; leases++) {
                bool done;
                size_t v;
                lost += lossy_run(seed, strategies[k], 0.05, leases ? 300 * NS_MSEC : 0,
                                  &done, &v);
                CU_ASSERT_TRUE(done);
                CU_ASSERT_EQUAL(v, 0);
                if (!done || v)
                    fprintf(stderr, "\n  %s seed %" G_GUINT64_FORMAT " leases %d: done %d, "
                            "violations %zu\n", strategies[k], seed, leases, done, v);
            }
    CU_ASSERT_TRUE(lost > 100);         /* the links did lose messages */
}

/* ---- fencing ---- */

/* a holds R1 and pauses past its lease; b takes R1 and enters; a wakes
 * and writes.  Returns the cluster's violations, a's fenced attempts and
 * the writes the storage rejected. */
static void pause_case(bool storage_fencing, size_t *violations, uint64_t *fenced,
                       uint64_t *b_token, uint64_t *a_token, uint64_t *rejected)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 50 * NS_MSEC;
    co.storage_fencing = storage_fencing;
    struct world w;
    world_init(&w, 3, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 100 * NS_MSEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, 5 * NS_MSEC, &o);
    ns_sim_run(w.sim, 20 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_WORKING);
    ns_host_pause(w.h[0], 300 * NS_MSEC);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    *violations = ns_lock_n_violations(w.cl);
    *fenced = ns_lock_client_stats(w.c[0])->fenced;
    *b_token = ns_lock_client_stats(w.c[1])->last_token;
    *a_token = 0;
    *rejected = ns_lock_storage_rejected(w.cl);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->acquisitions, 1);
    if (*violations) {
        const struct ns_lock_violation *v = ns_lock_violation_nth(w.cl, 0);
        CU_ASSERT_STRING_EQUAL(v->inside, "a");
        CU_ASSERT_STRING_EQUAL(v->entering, "b");
        CU_ASSERT_EQUAL(v->seed, 3);
        char *s = ns_lock_violation_format(v);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "R1: b entered while a was inside (seed 3)"));
        g_free(s);
    }
    world_free(&w);
}

static void test_pause_fencing(void)
{
    size_t v;
    uint64_t fenced, bt, at, rejected;
    pause_case(true, &v, &fenced, &bt, &at, &rejected);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(fenced, 1);          /* a's END write, token 1 < 2 */
    /* sent once: the leave step that ran on waking sent it, and the RTO
     * overdue since the pause restarts instead of sending it again */
    CU_ASSERT_EQUAL(rejected, 1);
    CU_ASSERT_EQUAL(bt, 2);
    pause_case(false, &v, &fenced, &bt, &at, &rejected);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(fenced, 0);
}

/* Many holders on 5 servers with a majority under contention: quorum
 * tokens never make the storage reject a legitimate holder (a later
 * holder always has a larger token), naive per-server counters do. */
static uint64_t contention_rejected(enum ns_lock_fencing f, uint64_t seed, size_t *viol)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.fencing = f;
    struct world w;
    world_init(&w, seed, 5, &co);
    ns_rng r;
    ns_rng_init(&r, seed, "test.starts");
    const char *names[] = { "a", "b", "c", "d" };
    for (unsigned i = 0; i < 4; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.transactions = 5;
        o.hold = NS_MSEC;
        o.timeout = 5 * NS_MSEC;
        o.backoff = 2 * NS_MSEC;
        o.backoff_max = 50 * NS_MSEC;
        o.think = (ns_time_t)ns_rng_below(&r, 5 * NS_MSEC);
        o.first_server = i;             /* each client nearest another server */
        add_client(&w, i, names[i], "release_all", r1, (ns_time_t)ns_rng_below(&r, 4 * NS_MSEC), &o);
    }
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    for (unsigned i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 5);
    uint64_t rej = ns_lock_storage_rejected(w.cl);
    *viol = ns_lock_n_violations(w.cl);
    /* quorum tokens: each of the 20 critical sections wrote a larger one */
    if (f == NS_LOCK_FENCE_QUORUM)
        CU_ASSERT_TRUE(ns_lock_storage_token(w.cl, "R1") >= 20);
    world_free(&w);
    return rej;
}

static void test_quorum_vs_naive_tokens(void)
{
    uint64_t naive = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        size_t v;
        CU_ASSERT_EQUAL(contention_rejected(NS_LOCK_FENCE_QUORUM, seed, &v), 0);
        CU_ASSERT_EQUAL(v, 0);
        naive += contention_rejected(NS_LOCK_FENCE_NAIVE, seed, &v);
        CU_ASSERT_EQUAL(v, 0);
    }
    CU_ASSERT_TRUE(naive > 0);          /* legitimate holders misordered */
}


void test_lock_faults_register(void)
{
    CU_pSuite s = ns_test_suite("lock-faults", NULL, NULL);
    ns_test_add(s, "crashed holder freed one TTL later", test_crashed_holder_lease);
    ns_test_add(s, "crashed holder without lease blocks", test_crashed_holder_no_lease);
    ns_test_add(s, "crash at the k-th grant: nothing sent after it",
                test_crash_at_kth_grant_sends_nothing);
    ns_test_add(s, "servers down for good: the report names them", test_waiting_on_servers_down);
    ns_test_add(s, "lost grant without leases: resent one RTO later", test_lost_grant_no_lease);
    ns_test_add(s, "server restart with and without its table", test_server_restart_table);
    ns_test_add(s, "committing member down 5 s: abort, everyone through",
                test_commit_member_down_long);
    ns_test_add(s, "committing member down for good: never stuck committing",
                test_commit_member_down_forever);
    ns_test_add(s, "committing member restarts: NOTHELD aborts, table commits",
                test_commit_member_restart);
    ns_test_add(s, "lease expires one TTL after the last renewal", test_lease_after_last_renewal);
    ns_test_add(s, "5% loss on every link: everyone completes", test_loss_every_link);
    ns_test_add(s, "holds table: grants, expiry to the ns, end rows", test_holds_table);
    ns_test_add(s, "pause: fencing rejects, no fencing violates", test_pause_fencing);
    ns_test_add(s, "quorum tokens order holders, naive do not", test_quorum_vs_naive_tokens);
}
