/* test_lock_multi.c — several lock clusters in one simulation: each is
 * independent (a crash in one leaves the other's tables alone, a lease
 * runs out in whichever cluster it was granted), each oracle counts its
 * own deadlocks and violations, and a host serves one cluster only.
 *
 * The world (lockworld.h) builds cluster "locks" (ls1.., storage) on one
 * LAN; the tests add a second cluster, "split", on the same LAN with its
 * own hosts, locking the same resource names. */
#include <string.h>

#include "netsim/lock.h"
#include "netsim/oracle.h"
#include "tests.h"
#include "lockworld.h"

struct second {
    ns_lock_cluster *cl;
    ns_host *srv[3];
    ns_host *storage;
};

/* Cluster "split" on w's LAN: servers s_ls1..3 and storage s_storage. */
static void second_init(struct world *w, struct second *s, const struct ns_lock_cluster_opts *co)
{
    static const char *const names[] = { "s_ls1", "s_ls2", "s_ls3" };
    for (unsigned i = 0; i < 3; i++)
        s->srv[i] = lan_host(w, names[i]);
    s->storage = lan_host(w, "s_storage");
    struct ns_lock_cluster_opts o = *co;
    o.name = "split";
    GError *err = NULL;
    s->cl = ns_lock_cluster_new(w->sim, s->srv, 3, s->storage, &o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->cl);
}

static ns_lock_client *client_of(struct world *w, ns_lock_cluster *cl, const char *name,
                                 const struct ns_lock_client_opts *base, unsigned first,
                                 ns_time_t start)
{
    struct ns_lock_client_opts o = *base;
    o.resources = r1;
    o.first_server = first;
    o.start = start;
    GError *err = NULL;
    ns_lock_client *c = ns_lock_client_new(cl, lan_host(w, name), &o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* How many of cl's 3 servers have `who` (NULL: nobody) as R1's holder. */
static unsigned holders(const ns_lock_cluster *cl, const char *who)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 3; i++) {
        const char *h = ns_lock_server_holder(cl, i, "R1");
        n += who ? (h && strcmp(h, who) == 0) : h == NULL;
    }
    return n;
}

/* The sim lists both clusters, finds them by name, and they are apart. */
static void test_two_clusters_listed(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    struct world w;
    world_init(&w, 1, 3, &co);
    struct second s;
    second_init(&w, &s, &co);
    CU_ASSERT_EQUAL(ns_lock_n_clusters(w.sim), 2);
    CU_ASSERT_PTR_EQUAL(ns_lock_cluster_nth(w.sim, 0), w.cl);
    CU_ASSERT_PTR_EQUAL(ns_lock_cluster_nth(w.sim, 1), s.cl);
    CU_ASSERT_PTR_NULL(ns_lock_cluster_nth(w.sim, 2));
    CU_ASSERT_PTR_EQUAL(ns_lock_cluster_find(w.sim, "locks"), w.cl);
    CU_ASSERT_PTR_EQUAL(ns_lock_cluster_find(w.sim, "split"), s.cl);
    CU_ASSERT_PTR_NULL(ns_lock_cluster_find(w.sim, "other"));
    CU_ASSERT_STRING_EQUAL(ns_lock_cluster_name(w.cl), "locks");
    CU_ASSERT_STRING_EQUAL(ns_lock_cluster_name(s.cl), "split");
    CU_ASSERT_PTR_EQUAL(ns_lock_cluster_server(s.cl, 0), s.srv[0]);
    world_free(&w);
}

/* Both clusters hold R1 on a majority, ls1 and ls2 (ca in "locks", cb in
 * "split", with 50 ms leases they renew).  Crashing split's first server
 * empties its table and no other; crashing cb lets its remaining lease
 * run out one TTL later, while ca keeps both grants and completes. */
static void test_crash_stays_in_its_cluster(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 50 * NS_MSEC;
    struct world w;
    world_init(&w, 1, 3, &co);
    struct second s;
    second_init(&w, &s, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 2 * NS_SEC;
    ns_lock_client *ca = client_of(&w, w.cl, "ca", &o, 0, 0);
    ns_lock_client *cb = client_of(&w, s.cl, "cb", &o, 0, 0);
    ns_sim_run(w.sim, 100 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(holders(w.cl, "ca"), 2);
    CU_ASSERT_EQUAL(holders(s.cl, "cb"), 2);
    CU_ASSERT_STRING_EQUAL(ns_lock_server_holder(s.cl, 0, "R1"), "cb");

    ns_host_crash(s.srv[0]);
    CU_ASSERT_PTR_NULL(ns_lock_server_holder(s.cl, 0, "R1"));
    CU_ASSERT_EQUAL(holders(s.cl, "cb"), 1);
    CU_ASSERT_EQUAL(holders(w.cl, "ca"), 2);

    ns_host_crash(ns_lock_client_host(cb));
    ns_sim_run(w.sim, 100 * NS_MSEC + co.ttl + 20 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(holders(s.cl, NULL), 3);           /* the leases ran out */
    CU_ASSERT_EQUAL(holders(w.cl, "ca"), 2);           /* renewed all along */
    CU_ASSERT_EQUAL(ns_lock_client_state(cb), NS_LOCK_CRASHED);
    CU_ASSERT_EQUAL(ns_lock_client_state(ca), NS_LOCK_WORKING);

    ns_sim_run(w.sim, 5 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(ca), NS_LOCK_DONE);
    CU_ASSERT_EQUAL(ns_lock_cluster_acquisitions(w.cl), 1);
    CU_ASSERT_EQUAL(ns_lock_cluster_acquisitions(s.cl), 0);   /* cb died inside */
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl) + ns_lock_n_violations(s.cl), 0);
    world_free(&w);
}

/* "locks" stages the 3-on-3 race (each client wins a different server
 * first): one deadlock of a1, a2, a3.  "split" runs two clients on three
 * servers, where a majority always goes to one of them: no deadlock.  Each
 * oracle reports its own. */
static void test_deadlocks_counted_per_cluster(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    struct world w;
    world_init(&w, 1, 3, &co);
    struct second s;
    second_init(&w, &s, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    client_of(&w, w.cl, "a1", &o, 0, 0);
    client_of(&w, w.cl, "a2", &o, 1, 0);
    client_of(&w, w.cl, "a3", &o, 2, 0);
    client_of(&w, s.cl, "b1", &o, 0, 0);
    client_of(&w, s.cl, "b2", &o, 1, 0);
    ns_sim_run(w.sim, 2 * NS_SEC, 0);

    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    CU_ASSERT_TRUE(ns_lock_first_deadlock_at(w.cl) >= 0);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 3);
    CU_ASSERT_EQUAL(ns_lock_cluster_acquisitions(w.cl), 0);
    char *g = ns_lock_deadlock_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(g, "a1") && strstr(g, "a2") && strstr(g, "a3"));
    CU_ASSERT_PTR_NULL(strstr(g, "b1"));
    CU_ASSERT_PTR_NULL(strstr(g, "b2"));
    g_free(g);

    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(s.cl), 0);
    CU_ASSERT_EQUAL(ns_lock_first_deadlock_at(s.cl), -1);
    CU_ASSERT_PTR_NULL(ns_lock_deadlock_report(s.cl));
    CU_ASSERT_EQUAL(ns_lock_n_blocked(s.cl), 0);
    CU_ASSERT_EQUAL(ns_lock_cluster_acquisitions(s.cl), 2);
    world_free(&w);
}

/* "split" without fencing: pa holds R1 and pauses past its 50 ms lease,
 * pb takes R1, pa wakes inside: a violation in "split" only, named so in
 * the sim's oracle.  "locks" runs a client through undisturbed. */
static void test_violation_counted_in_its_cluster(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    struct world w;
    world_init(&w, 3, 3, &co);
    struct ns_lock_cluster_opts so = co;
    so.ttl = 50 * NS_MSEC;
    so.storage_fencing = false;
    struct second s;
    second_init(&w, &s, &so);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 100 * NS_MSEC;
    ns_lock_client *ca = client_of(&w, w.cl, "ca", &o, 0, 0);
    ns_lock_client *pa = client_of(&w, s.cl, "pa", &o, 0, 0);
    client_of(&w, s.cl, "pb", &o, 0, 5 * NS_MSEC);
    ns_sim_run(w.sim, 20 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(pa), NS_LOCK_WORKING);
    ns_host_pause(ns_lock_client_host(pa), 300 * NS_MSEC);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);

    CU_ASSERT_EQUAL(ns_lock_n_violations(s.cl), 1);
    CU_ASSERT_EQUAL(ns_lock_n_violations(w.cl), 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(ca)->acquisitions, 1);
    CU_ASSERT_EQUAL(ns_oracle_violations(w.sim), 1);
    const char *first = ns_oracle_first(w.sim);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_TRUE(g_str_has_prefix(first, "lock safety violated: cluster 'split': t="));
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "R1: pb entered while pa was inside (seed 3)"));
    world_free(&w);
}

/* A host takes part in one cluster: its server, storage, client or
 * detector role in one makes it an error anywhere in another, naming
 * host, role and cluster; and two clusters cannot share a name. */
static void test_host_in_one_cluster(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    struct world w;
    world_init(&w, 1, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    ns_lock_client *ca = client_of(&w, w.cl, "ca", &o, 0, 0);
    ns_host *free_host = lan_host(&w, "spare");
    GError *err = NULL;

    /* the same name (NULL: "locks") twice */
    ns_host *srv[1] = { free_host };
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(w.sim, srv, 1, lan_host(&w, "st2"), &co, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message,
                           "lock cluster 'locks': the sim has a cluster of that name already");
    g_clear_error(&err);

    struct ns_lock_cluster_opts named = co;
    named.name = "two";
    srv[0] = ns_lock_cluster_server(w.cl, 1);
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(w.sim, srv, 1, free_host, &named, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message, "lock cluster 'two': host 'ls2' is already a lock "
                                         "server of lock cluster 'locks' (a host takes part "
                                         "in one lock cluster)");
    g_clear_error(&err);

    srv[0] = free_host;
    CU_ASSERT_PTR_NULL(ns_lock_cluster_new(w.sim, srv, 1, ns_lock_client_host(ca), &named,
                                           &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "host 'ca' is already a lock client of lock "
                                                "cluster 'locks'"));
    g_clear_error(&err);
    CU_ASSERT_EQUAL(ns_lock_n_clusters(w.sim), 1);     /* nothing half-made */

    ns_lock_cluster *two = ns_lock_cluster_new(w.sim, srv, 1, lan_host(&w, "st3"), &named,
                                               &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    struct ns_lock_client_opts c = o;
    c.resources = r1;
    CU_ASSERT_PTR_NULL(ns_lock_client_new(two, ns_lock_cluster_storage(w.cl), &c, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message, "host 'storage' is already a storage server of "
                                         "lock cluster 'locks' (a host takes part in one "
                                         "lock cluster)");
    g_clear_error(&err);

    /* a detector works for one cluster: its host is taken too */
    struct ns_lock_detector_opts dopt;
    ns_lock_detector_opts_defaults(&dopt);
    ns_host *dd = lan_host(&w, "dd");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lock_detector_new(w.cl, dd, &dopt, &err));
    CU_ASSERT_PTR_NULL(ns_lock_client_new(two, dd, &c, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message, "host 'dd' is already a lock detector host of lock "
                                         "cluster 'locks' (a host takes part in one lock "
                                         "cluster)");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_lock_detector_new(two, ns_lock_cluster_server(w.cl, 0), &dopt, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "host 'ls1' is already a lock server of lock "
                                                "cluster 'locks'"));
    g_clear_error(&err);
    CU_ASSERT_EQUAL(ns_lock_cluster_n_clients(two), 0);
    world_free(&w);
}

void test_lock_multi_register(void)
{
    CU_pSuite s = ns_test_suite("lock-multi", NULL, NULL);
    ns_test_add(s, "two clusters: listed, found by name", test_two_clusters_listed);
    ns_test_add(s, "a crash stays in its cluster; leases expire in theirs",
                test_crash_stays_in_its_cluster);
    ns_test_add(s, "each cluster's oracle counts its own deadlocks",
                test_deadlocks_counted_per_cluster);
    ns_test_add(s, "each cluster's oracle counts its own violations",
                test_violation_counted_in_its_cluster);
    ns_test_add(s, "a host takes part in one cluster; names are unique",
                test_host_in_one_cluster);
}
