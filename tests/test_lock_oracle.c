/* test_lock_oracle.c — what the lock oracle shows about clients that can
 * never proceed: the wait-for graph's colours and node marks (red only on
 * a deadlock cycle, crashed holders marked), the text's split between
 * cycle members and clients blocked behind them, and how many deadlocks
 * it counts.  The scenarios' own outputs are in test_lock_lua.c.
 *
 * The world (lockworld.h): a cluster on a 1 Gbit/s LAN with 1 ms port
 * delays, about 2 ms host to host. */
#include <stdlib.h>
#include <string.h>

#include "netsim/lock.h"
#include "netsim/output.h"
#include "netsim/rng.h"
#include "netsim/trace.h"
#include "tests.h"
#include "lockworld.h"

/* Whether the DOT edge waiter -> holder through `server` is present, and
 * drawn red (out: *red). */
static bool dot_edge(const char *dot, const char *waiter, const char *holder, const char *server,
                     bool *red)
{
    char *head = g_strdup_printf("  \"%s\" -> \"%s\" [label=\"R1@%s\"", waiter, holder, server);
    const char *at = strstr(dot, head);
    if (at) {
        const char *eol = strchr(at, '\n');
        const char *col = strstr(at, "color=red");
        *red = col && eol && col < eol;
    }
    g_free(head);
    return at != NULL;
}

/* The index of Mermaid edge "waiter -->|R1@server| holder" in order of
 * appearance, -1 if absent. */
static int mmd_edge_index(const char *mmd, const char *waiter, const char *holder,
                          const char *server)
{
    char *want = g_strdup_printf("  %s -->|R1@%s| %s\n", waiter, server, holder);
    int idx = -1, k = 0;
    for (const char *p = strstr(mmd, " -->|"); p; p = strstr(p + 1, " -->|"), k++) {
        const char *bol = p;
        while (bol > mmd && bol[-1] != '\n')
            bol--;
        if (strncmp(bol, want, strlen(want)) == 0)
            idx = k;
    }
    g_free(want);
    return idx;
}

/* Whether edge index k is listed in the Mermaid linkStyle (red) line. */
static bool mmd_red(const char *mmd, int k)
{
    const char *ls = strstr(mmd, "  linkStyle ");
    if (!ls || k < 0)
        return false;
    ls += strlen("  linkStyle ");
    char **ids = NULL;
    const char *sp = strchr(ls, ' ');
    char *list = g_strndup(ls, sp ? (gsize)(sp - ls) : strlen(ls));
    ids = g_strsplit(list, ",", -1);
    bool found = false;
    for (char **p = ids; *p; p++)
        found = found || atoi(*p) == k;
    g_strfreev(ids);
    g_free(list);
    return found;
}

/* Four clients race for R1 on three servers, starting at servers 1, 1, 2
 * and 3 (locks_race.lua -D clients=4): a, c and d each win one server
 * and wait for each other; b, second at ls1, holds nothing.  b is stuck
 * forever, but behind the cycle, not on it. */
static void four_on_three(struct world *w)
{
    world_init(w, 1, 3, NULL);
    const char *names[] = { "a", "b", "c", "d" };
    const unsigned first[] = { 0, 0, 1, 2 };
    for (unsigned i = 0; i < 4; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.first_server = first[i];
        add_client(w, i, names[i], "wait", r1, 0, &o);
    }
    ns_sim_run(w->sim, NS_SEC, 0);
}

static void test_graph_red_only_on_cycle(void)
{
    struct world w;
    four_on_three(&w);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 4);
    CU_ASSERT_STRING_EQUAL(ns_lock_server_holder(w.cl, 0, "R1"), "a");
    char *dot = ns_lock_waitfor_dot(w.cl), *mmd = ns_lock_waitfor_mermaid(w.cl);
    static const struct { const char *from, *to, *srv; bool red; } edges[] = {
        { "a", "c", "ls2", true },  { "a", "d", "ls3", true },  { "c", "a", "ls1", true },
        { "c", "d", "ls3", true },  { "d", "a", "ls1", true },  { "d", "c", "ls2", true },
        { "b", "a", "ls1", false }, { "b", "c", "ls2", false }, { "b", "d", "ls3", false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(edges); i++) {
        bool red = !edges[i].red;
        CU_ASSERT_TRUE(dot_edge(dot, edges[i].from, edges[i].to, edges[i].srv, &red));
        CU_ASSERT_EQUAL(red, edges[i].red);
        int k = mmd_edge_index(mmd, edges[i].from, edges[i].to, edges[i].srv);
        CU_ASSERT_TRUE(k >= 0);
        CU_ASSERT_EQUAL(mmd_red(mmd, k), edges[i].red);
    }
    CU_ASSERT_PTR_NULL(strstr(dot, "crashed"));
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\ndeadlocked: a, c, d (cycle); blocked behind them: b\n"));
    /* the cycle named runs among the members only, through all of them
     * (lock_cycle.c: a full cycle of a small component when one exists) */
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\ncycle: a -> c -> d -> a\n"));
    CU_ASSERT_EQUAL(ns_lock_n_deadlocks(w.cl), 1);
    g_free(rep);
    g_free(dot);
    g_free(mmd);
    world_free(&w);
}

/* a crashes holding R1 on a majority, no leases (locks_crash.lua -D
 * ttl=0): b and c wait for it forever, but there is no cycle, so no red
 * edge; a's node says it crashed, in both pictures. */
static void test_graph_crashed_holder(void)
{
    struct ns_lock_cluster_opts co;
    ns_lock_cluster_opts_defaults(&co);
    co.ttl = 0;
    struct world w;
    world_init(&w, 1, 3, &co);
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.crash_after_grants = 2;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    add_client(&w, 1, "b", "wait", r1, NS_MSEC, NULL);
    add_client(&w, 2, "c", "wait", r1, 2 * NS_MSEC, NULL);
    ns_sim_run(w.sim, 2 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_state(w.c[0]), NS_LOCK_CRASHED);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 2);
    char *forms[] = { ns_lock_waitfor_dot(w.cl), ns_lock_waitfor_mermaid(w.cl),
                      ns_lock_deadlock_dot(w.cl), ns_lock_deadlock_mermaid(w.cl) };
    for (unsigned i = 0; i < 4; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(forms[i]);
        bool dot = i % 2 == 0;
        CU_ASSERT_PTR_NULL(strstr(forms[i], dot ? "color=red" : "linkStyle"));
        CU_ASSERT_PTR_NOT_NULL(strstr(forms[i], dot ? "\"b\" -> \"a\" [label=\"R1@ls1\"]"
                                                    : "b -->|R1@ls1| a"));
        CU_ASSERT_PTR_NOT_NULL(strstr(forms[i], dot ? "  \"a\" [label=\"a (crashed)\", "
                                                    : "  a[\"a (crashed)\"]\n  style a "));
        CU_ASSERT_PTR_NULL(strstr(forms[i], "b (crashed)"));
        g_free(forms[i]);
    }
    char *rep = ns_lock_waiting_report(w.cl);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\nblocked behind crashed a: b, c\n"));
    CU_ASSERT_PTR_NULL(strstr(rep, "deadlocked"));
    CU_ASSERT_PTR_NULL(strstr(rep, "cycle"));
    g_free(rep);
    world_free(&w);
}

/* ---- counting deadlocks ---- */

/* Six detect clients, each locking two of R1..R3 in a random order five
 * times on 5 servers (locks_workload.lua -D strategy=detect): cycles
 * form and the detector breaks each by aborting its youngest member,
 * while the others around it keep queueing and retrying.  The
 * lock.deadlock rows go to `dir`/events.tsv.  Returns the count. */
static size_t detect_workload(uint64_t seed, const char *dir)
{
    struct world w;
    world_init(&w, seed, 5, NULL);
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, dir, NULL));
    CU_ASSERT_TRUE(ns_trace_enable(w.sim, NULL, NULL));
    static const char *const kinds[] = { "lock.deadlock", NULL };
    ns_trace_set_kinds(w.sim, kinds);
    static const char *const pairs[][3] = {
        { "R1", "R2", NULL }, { "R2", "R1", NULL }, { "R2", "R3", NULL },
        { "R3", "R2", NULL }, { "R3", "R1", NULL }, { "R1", "R3", NULL },
    };
    ns_rng r;
    ns_rng_init(&r, seed, "test.detect_workload");
    const char *names[] = { "c1", "c2", "c3", "c4", "c5", "c6" };
    for (unsigned i = 0; i < 6; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.transactions = 5;
        o.hold = o.think = 2 * NS_MSEC;
        o.timeout = 20 * NS_MSEC;
        add_client(&w, i, names[i], "detect", pairs[ns_rng_below(&r, 6)],
                   (ns_time_t)ns_rng_below(&r, 10 * NS_MSEC), &o);
    }
    ns_sim_run(w.sim, 120 * NS_SEC, 0);
    for (unsigned i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[i])->acquisitions, 5);
    size_t n = ns_lock_n_deadlocks(w.cl);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, NULL));
    world_free(&w);
    return n;
}

/* A row's cycle with its members' attempts, "c3#1 c6#1" (from the row's
 * blocked= list), and its members' names alone, "c3 c6". */
static void row_cycle(const char *row, GString *with_attempts, GString *names)
{
    g_string_truncate(with_attempts, 0);
    g_string_truncate(names, 0);
    const char *b = strstr(row, "blocked="), *c = strstr(row, " cycle=");
    if (!b || !c)
        return;
    char *blocked = g_strndup(b + strlen("blocked="), (gsize)(c - b - strlen("blocked=")));
    char **members = g_strsplit(blocked, " ", -1);
    char **cycle = g_strsplit(c + strlen(" cycle="), " -> ", -1);
    for (char **m = cycle; *m && m[1]; m++) {          /* the last repeats the first */
        g_string_append_printf(names, "%s%s", names->len ? " " : "", *m);
        for (char **x = members; *x; x++) {
            char *hash = strchr(*x, '#');
            if (hash && (size_t)(hash - *x) == strlen(*m) && strncmp(*x, *m, strlen(*m)) == 0)
                g_string_append_printf(with_attempts, "%s%s", with_attempts->len ? " " : "", *x);
        }
    }
    g_strfreev(cycle);
    g_strfreev(members);
    g_free(blocked);
}

/* A cycle that stands while others retry is one deadlock: no two rows
 * (so no two counts) show the same cycle with the same attempts.  A
 * cycle formed again after its victim's retry is a new one: the same
 * names come back with a new attempt. */
static void test_deadlock_counted_once(void)
{
    unsigned rows = 0, reformed = 0;
    size_t counted = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        char *dir = g_strdup_printf("%s/lock-oracle-%" G_GUINT64_FORMAT, ns_test_tmpdir(), seed);
        size_t n = detect_workload(seed, dir);
        counted += n;
        char *path = g_build_filename(dir, "events.tsv", NULL), *text = NULL;
        CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
        GPtrArray *seen = g_ptr_array_new_with_free_func(g_free);
        GPtrArray *seen_names = g_ptr_array_new_with_free_func(g_free);
        GString *cyc = g_string_new(NULL), *names = g_string_new(NULL);
        char **lines = g_strsplit(text, "\n", -1);
        unsigned here = 0;
        for (char **l = lines; *l; l++) {
            if (!strstr(*l, "\tlock.deadlock\t"))
                continue;
            here++;
            row_cycle(*l, cyc, names);
            CU_ASSERT_TRUE(cyc->len > 0);
            bool dup = false, again = false;
            for (guint i = 0; i < seen->len; i++) {
                dup = dup || strcmp(g_ptr_array_index(seen, i), cyc->str) == 0;
                again = again || strcmp(g_ptr_array_index(seen_names, i), names->str) == 0;
            }
            CU_ASSERT_FALSE(dup);
            if (dup)
                printf("\n  seed %" G_GUINT64_FORMAT ": counted again: %s\n", seed, *l);
            reformed += again;
            g_ptr_array_add(seen, g_strdup(cyc->str));
            g_ptr_array_add(seen_names, g_strdup(names->str));
        }
        CU_ASSERT_EQUAL(here, n);                   /* one row per counted deadlock */
        rows += here;
        g_strfreev(lines);
        g_string_free(cyc, TRUE);
        g_string_free(names, TRUE);
        g_ptr_array_free(seen, TRUE);
        g_ptr_array_free(seen_names, TRUE);
        g_free(text);
        g_free(path);
        g_free(dir);
    }
    CU_ASSERT_TRUE(counted > 10);                   /* the workload does deadlock */
    CU_ASSERT_TRUE(reformed > 0);                   /* and a re-formed cycle counts */
    printf("\n  detect workload, 10 seeds: %zu deadlocks, %u re-formed after an abort\n",
           counted, reformed);
}

void test_lock_oracle_register(void)
{
    CU_pSuite s = ns_test_suite("lock oracle", NULL, NULL);
    ns_test_add(s, "wait-for graph: red only on the cycle", test_graph_red_only_on_cycle);
    ns_test_add(s, "wait-for graph: crashed holder marked, no cycle", test_graph_crashed_holder);
    ns_test_add(s, "detect: a standing cycle is one deadlock", test_deadlock_counted_once);
}
