/* test_lock_trace.c — the lock model's event log records every request
 * and every waiter leaving a queue: each retransmitted ACQUIRE is a
 * lock.req row marked retransmit=yes (first sends retransmit=no), and a
 * queued request dropped by a server is a lock.dequeue row with its cause
 * ("release": the client gave it up; "superseded": a newer attempt of the
 * same client asked).
 *
 * The world (lockworld.h): a cluster on a 1 Gbit/s LAN with 1 ms port
 * delays, about 2 ms host to host. */
#include <stdlib.h>
#include <string.h>

#include "netsim/lock.h"
#include "netsim/output.h"
#include "netsim/trace.h"
#include "netsim/udp.h"
#include "tests.h"
#include "lockworld.h"

/* Logs `kind` rows to a fresh folder under the test tmpdir; returns it. */
static char *trace_to(struct world *w, const char *name, const char *kind)
{
    char *dir = g_strdup_printf("%s/%s", ns_test_tmpdir(), name);
    CU_ASSERT_TRUE(ns_output_set_dir(w->sim, dir, NULL));
    CU_ASSERT_TRUE(ns_trace_enable(w->sim, NULL, NULL));
    const char *kinds[] = { kind, NULL };
    ns_trace_set_kinds(w->sim, kinds);
    return dir;
}

/* The rows of events.tsv in dir containing every needle (NULL-ended),
 * as a NULL-terminated array (g_strfreev it); commits the outputs and
 * frees the world first. */
static char **rows_with(struct world *w, const char *dir, const char *const *needles)
{
    CU_ASSERT_TRUE(ns_output_commit_all(w->sim, NULL));
    world_free(w);
    char *path = g_build_filename(dir, "events.tsv", NULL), *text = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
    GPtrArray *out = g_ptr_array_new();
    char **lines = g_strsplit(text ? text : "", "\n", -1);
    for (char **l = lines; *l; l++) {
        bool all = **l != '\0';
        for (const char *const *n = needles; all && *n; n++)
            all = strstr(*l, *n) != NULL;
        if (all)
            g_ptr_array_add(out, g_strdup(*l));
    }
    g_ptr_array_add(out, NULL);
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* The textbook deadlock under `wait` (a: R1 then R2, b: R2 then R1): a
 * keeps resending its queued R2 requests every rto until the run ends.
 * Each resend is a row, rto apart, of the same attempt; the first sends
 * are marked retransmit=no. */
static void test_retransmitted_requests_traced(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    char *dir = trace_to(&w, "lock-trace-req", "lock.req");
    add_client(&w, 0, "a", "wait", r12, 0, NULL);
    add_client(&w, 1, "b", "wait", r21, 0, NULL);
    struct ns_lock_client_opts d;
    ns_lock_client_opts_defaults(&d);
    const ns_time_t until = NS_SEC;
    ns_sim_run(w.sim, until, 0);
    CU_ASSERT_EQUAL(ns_lock_n_blocked(w.cl), 2);
    const char *all_req[] = { "\tlock.req\t", NULL };
    char **all = rows_with(&w, dir, all_req);        /* frees the world */
    unsigned n_first = 0, n_again = 0, n_any_again = 0, n_all = 0;
    ns_time_t prev = -1;
    for (char **l = all; *l; l++) {
        n_all++;
        bool yes = strstr(*l, " retransmit=yes") != NULL;
        CU_ASSERT_TRUE(yes || strstr(*l, " retransmit=no"));
        n_any_again += yes;
        if (!strstr(*l, "\ta\tresource=R2 "))
            continue;
        n_first += !yes;
        if (!yes || !strstr(*l, " server=ls2 "))
            continue;
        n_again++;
        CU_ASSERT_PTR_NOT_NULL(strstr(*l, " attempt=1 wait=1 "));
        ns_time_t t = (ns_time_t)(g_ascii_strtod(*l, NULL) * 1e9 + 0.5);
        if (prev >= 0)
            CU_ASSERT_EQUAL(t - prev, d.rto);          /* one resend per rto */
        prev = t;
    }
    CU_ASSERT_EQUAL(n_first, 3);                       /* R2 asked of each server once */
    /* a queued on ls2 within ~10 ms: resends at every rto from then on */
    CU_ASSERT_EQUAL(n_again, (unsigned)(until / d.rto));
    CU_ASSERT_TRUE(n_any_again >= 4 * n_again);        /* a and b, two servers each */
    CU_ASSERT_EQUAL(n_all, 12 + n_any_again);          /* 2 clients x 2 resources x 3 */
    g_strfreev(all);
    g_free(dir);
}

/* Sends one lock message by hand (the wire format of lock_priv.h: magic,
 * version, type, flags, client, attempt, token, aux, name) from u to
 * server s: a client whose RELEASE was lost looks like this to a server. */
enum { ACQUIRE = 0, RELEASE = 4, F_WAIT = 1 };
static void send_raw(struct world *w, ns_udp *u, unsigned s, uint8_t type, uint8_t flags,
                     uint32_t client, uint32_t attempt, const char *name)
{
    uint8_t b[64] = { 'L', 1, type, flags };
    for (int k = 0; k < 4; k++) {
        b[4 + k] = (uint8_t)(client >> (24 - 8 * k));
        b[8 + k] = (uint8_t)(attempt >> (24 - 8 * k));
    }
    size_t nl = strlen(name);
    b[28] = (uint8_t)nl;
    memcpy(b + 29, name, nl);
    CU_ASSERT_TRUE(ns_udp_send(u, ns_host_addr(ns_lock_cluster_server(w->cl, s)), NS_LOCK_PORT,
                               b, 29 + nl));
}

/* a holds R1 (a long critical section).  Requester x queues attempt 1,
 * then asks again as attempt 2 (its release of attempt 1 lost): the
 * server drops attempt 1 from the queue, "superseded"; x then releases
 * attempt 2 while still queued: dropped, "release".  Each is one row. */
static void test_dequeue_traced(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    char *dir = trace_to(&w, "lock-trace-dequeue", "lock");
    struct ns_lock_client_opts o;
    ns_lock_client_opts_defaults(&o);
    o.hold = 10 * NS_SEC;
    add_client(&w, 0, "a", "wait", r1, 0, &o);
    ns_host *x = lan_host(&w, "x");
    ns_udp *u = ns_udp_bind(x, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    ns_sim_run(w.sim, 100 * NS_MSEC, 0);
    CU_ASSERT_STRING_EQUAL(ns_lock_server_holder(w.cl, 0, "R1"), "a");
    send_raw(&w, u, 0, ACQUIRE, F_WAIT, 99, 1, "R1");
    ns_sim_run(w.sim, 200 * NS_MSEC, 0);
    send_raw(&w, u, 0, ACQUIRE, F_WAIT, 99, 2, "R1");
    ns_sim_run(w.sim, 300 * NS_MSEC, 0);
    send_raw(&w, u, 0, RELEASE, 0, 99, 2, "R1");
    send_raw(&w, u, 0, RELEASE, 0, 99, 2, "R1");   /* a duplicate drops nothing */
    ns_sim_run(w.sim, 400 * NS_MSEC, 0);
    CU_ASSERT_STRING_EQUAL(ns_lock_server_holder(w.cl, 0, "R1"), "a");   /* untouched */
    const char *deq[] = { "\tlock.dequeue\t", NULL };
    char **all = rows_with(&w, dir, deq);
    CU_ASSERT_EQUAL(g_strv_length(all), 2);
    if (g_strv_length(all) == 2) {
        CU_ASSERT_PTR_NOT_NULL(strstr(all[0], "\tls1\tresource=R1 client=? attempt=1 "
                                              "cause=superseded"));
        CU_ASSERT_TRUE(g_str_has_prefix(all[0], "0.2"));
        CU_ASSERT_PTR_NOT_NULL(strstr(all[1], "\tls1\tresource=R1 client=? attempt=2 "
                                              "cause=release"));
        CU_ASSERT_TRUE(g_str_has_prefix(all[1], "0.3"));
    }
    g_strfreev(all);
    g_free(dir);
}

/* Under detect the textbook deadlock's victim b gives up its queued R1
 * requests: each server that queued it logs a "release" dequeue of b's
 * attempt 1, and nobody else is dequeued. */
static void test_victim_dequeue_traced(void)
{
    struct world w;
    world_init(&w, 1, 3, NULL);
    char *dir = trace_to(&w, "lock-trace-victim", "lock");
    add_client(&w, 0, "a", "detect", r12, 0, NULL);
    add_client(&w, 1, "b", "detect", r21, 0, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[1])->retries, 1);
    CU_ASSERT_EQUAL(ns_lock_client_stats(w.c[0])->acquisitions, 1);
    const char *q[] = { "\tlock.queue\t", "client=b attempt=1", NULL };
    const char *deq[] = { "\tlock.dequeue\t", NULL };
    char **all = rows_with(&w, dir, deq);
    char *path = g_build_filename(dir, "events.tsv", NULL), *text = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
    unsigned queued = 0;
    char **lines = g_strsplit(text ? text : "", "\n", -1);
    for (char **l = lines; *l; l++)
        queued += strstr(*l, q[0]) && strstr(*l, q[1]);
    CU_ASSERT_TRUE(queued >= 2);                       /* b waited on a majority */
    CU_ASSERT_EQUAL(g_strv_length(all), queued);
    for (char **l = all; *l; l++)
        CU_ASSERT_PTR_NOT_NULL(strstr(*l, "resource=R1 client=b attempt=1 cause=release"));
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    g_strfreev(all);
    g_free(dir);
}

void test_lock_trace_register(void)
{
    CU_pSuite s = ns_test_suite("lock trace", NULL, NULL);
    ns_test_add(s, "every retransmitted request is a lock.req row",
                test_retransmitted_requests_traced);
    ns_test_add(s, "a superseded or released waiter is a lock.dequeue row", test_dequeue_traced);
    ns_test_add(s, "detect's victim leaves the queues: lock.dequeue", test_victim_dequeue_traced);
}
