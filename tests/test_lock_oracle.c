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
    /* the cycle named runs among the members only */
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\ncycle: a -> c -> a\n"));
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

void test_lock_oracle_register(void)
{
    CU_pSuite s = ns_test_suite("lock oracle", NULL, NULL);
    ns_test_add(s, "wait-for graph: red only on the cycle", test_graph_red_only_on_cycle);
    ns_test_add(s, "wait-for graph: crashed holder marked, no cycle", test_graph_crashed_holder);
}
