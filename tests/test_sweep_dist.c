/* test_sweep_dist.c — one sweep over the ranks of a cluster.
 *
 * The coordinator/worker protocol runs here on the in-process loop
 * cluster, its ranks as threads calling ns_lua_sweep_main as mpirun's
 * processes would: results identical to one process, dynamic assignment
 * (a slow rank gets fewer jobs), a run's usage error and a coordinator
 * that fails after the other ranks started both end every rank.  Then the
 * real thing: `mpirun -np 2 netsim sweep --mpi` and `explore --mpi` give
 * the bytes and the seed one process gives, or, in a netsim built without
 * Open MPI, --mpi is refused with the way to get it. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "netsim/cluster.h"
#include "netsim/luabind.h"
#include "tests.h"

/* Twelve random events; seeds that are multiples of `failevery` fail. */
static const char scenario[] =
"local netsim = require 'netsim'\n"
"local p = netsim.params { x = 1.0, failevery = 0 }\n"
"local sim = netsim.new {}\n"
"local r = sim:rng 'draw'\n"
"local acc = 0\n"
"for _ = 1, 12 do sim:after(r:exp(0.002), function() acc = acc + r:uniform() end) end\n"
"sim:run()\n"
"if p.failevery > 0 and sim:seed() % p.failevery == 0 then error('bad seed') end\n"
"netsim.result { v = acc * p.x }\n";

static char *setup(const char *name)
{
    char *d = g_build_filename(ns_test_tmpdir(), "sweep-dist", name, NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(d, 0777), 0);
    ns_test_write_file(d, "s.lua", scenario);
    return d;
}

/* ---- a loop cluster whose ranks count what they receive ---- */

struct counted {
    ns_cluster  base;              /* first */
    ns_cluster *inner;
    gint        received;          /* messages (atomic) */
    gulong      send_delay_us;     /* makes this rank slow */
};

static bool counted_send(ns_cluster *c, int dest, GBytes *msg, GError **error)
{
    struct counted *k = (struct counted *)c;
    if (k->send_delay_us)
        g_usleep(k->send_delay_us);
    return ns_cluster_send(k->inner, dest, msg, error);
}

static GBytes *counted_recv(ns_cluster *c, int *src, gint64 timeout_us)
{
    struct counted *k = (struct counted *)c;
    GBytes *b = ns_cluster_recv(k->inner, src, timeout_us);
    if (b)
        g_atomic_int_inc(&k->received);
    return b;
}

static void counted_close(ns_cluster *c)
{
    struct counted *k = (struct counted *)c;
    ns_cluster_close(k->inner);        /* k itself is read, then freed, by the test */
}

static const struct ns_cluster_ops counted_ops = {
    .name = "counted", .send = counted_send, .recv = counted_recv, .close = counted_close,
};

struct rank_run {
    struct counted c;
    char         **argv;
    int            rc;
    volatile int   interrupt;
    gint           finished;       /* atomic */
};

static gpointer rank_main(gpointer p)
{
    struct rank_run *r = p;
    r->rc = ns_lua_sweep_main((int)g_strv_length(r->argv), r->argv, &r->interrupt, &r->c.base);
    ns_cluster_close(&r->c.base);
    g_atomic_int_set(&r->finished, 1);
    return NULL;
}

enum { RANKS = 3 };

/* The sweeps below fail on purpose and say so on stderr, in this process:
 * keep the test report readable.  Returns the saved stderr. */
static int mute_stderr(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDERR_FILENO);
        close(null);
    }
    return saved;
}

static void unmute_stderr(int saved)
{
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
}

/* Runs `args` (space-separated, after "sweep") on RANKS threads, rank i
 * sleeping delay_us[i] before each message it sends; fills ranks[].  False
 * when a rank did not finish within 60 s (the threads are left behind). */
static bool run_cluster(const char *args, const gulong *delay_us, struct rank_run *ranks)
{
    ns_cluster **loop = ns_cluster_loop_new(RANKS);
    GThread *t[RANKS];
    for (int i = 0; i < RANKS; i++) {
        memset(&ranks[i], 0, sizeof ranks[i]);
        ranks[i].c.base.ops = &counted_ops;
        ranks[i].c.base.rank = i;
        ranks[i].c.base.size = RANKS;
        ranks[i].c.inner = loop[i];
        ranks[i].c.send_delay_us = delay_us ? delay_us[i] : 0;
        ranks[i].argv = g_strsplit(args, " ", -1);
    }
    g_free(loop);
    int saved = mute_stderr();
    for (int i = 0; i < RANKS; i++)
        t[i] = g_thread_new("rank", rank_main, &ranks[i]);
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    bool all = false;
    while (!all && g_get_monotonic_time() < deadline) {
        all = true;
        for (int i = 0; i < RANKS; i++)
            all = all && g_atomic_int_get(&ranks[i].finished);
        if (!all)
            g_usleep(2000);
    }
    unmute_stderr(saved);
    if (!all) {
        fprintf(stderr, "\n  a rank is still running after 60 s: %s\n", args);
        return false;
    }
    for (int i = 0; i < RANKS; i++) {
        g_thread_join(t[i]);
        g_strfreev(ranks[i].argv);
    }
    return true;
}

/* Jobs rank i ran: every message it got but the final STOP. */
static int jobs_of(const struct rank_run *r)
{
    return g_atomic_int_get((gint *)&r->c.received) - 1;
}

static int run_alone(const char *args)
{
    char **argv = g_strsplit(args, " ", -1);
    volatile int interrupt = 0;
    int saved = mute_stderr();
    int rc = ns_lua_sweep_main((int)g_strv_length(argv), argv, &interrupt, NULL);
    unmute_stderr(saved);
    g_strfreev(argv);
    return rc;
}

static void expect_same_file(const char *a, const char *b)
{
    char *ta = NULL, *tb = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(a, &ta, NULL, NULL));
    CU_ASSERT_TRUE(g_file_get_contents(b, &tb, NULL, NULL));
    CU_ASSERT_TRUE(ta && tb && strcmp(ta, tb) == 0);
    if (ta && tb && strcmp(ta, tb) != 0)
        fprintf(stderr, "\n  %s and %s differ\n", a, b);
    g_free(ta);
    g_free(tb);
}

static void test_loop_same_results(void)
{
    g_autofree char *d = setup("same");
    g_autofree char *args = g_strdup_printf(
        "sweep %s/s.lua -D x=1:4:4 -D failevery=0,7 --seeds 1..12 --out %s/%%s --quiet", d, d);
    g_autofree char *one = g_strdup_printf(args, "one");
    g_autofree char *many = g_strdup_printf(args, "many");
    g_autofree char *alone = g_strconcat(one, " -j 1", NULL);
    CU_ASSERT_EQUAL(run_alone(alone), 1);          /* failevery=7: seeds 7 fail */
    /* Rank 1 is slow: dynamic assignment gives it fewer jobs than rank 2. */
    static const gulong delay[RANKS] = { 0, 30000, 0 };
    struct rank_run r[RANKS];
    CU_ASSERT_TRUE_FATAL(run_cluster(many, delay, r));
    CU_ASSERT_EQUAL(r[0].rc, 1);                   /* rank 0 has the sweep's status */
    CU_ASSERT_EQUAL(r[1].rc, 0);
    CU_ASSERT_EQUAL(r[2].rc, 0);
    int j1 = jobs_of(&r[1]), j2 = jobs_of(&r[2]);
    CU_ASSERT_TRUE(j2 >= 1);
    CU_ASSERT_TRUE(j1 < j2);
    CU_ASSERT_TRUE(j1 + j2 < 96);                  /* rank 0's own worker ran some */
    if (!(j2 >= 1 && j1 < j2 && j1 + j2 < 96))
        fprintf(stderr, "\n  jobs: rank 1 %d, rank 2 %d of 96\n", j1, j2);
    g_autofree char *a = g_build_filename(d, "one", "results.tsv", NULL);
    g_autofree char *b = g_build_filename(d, "many", "results.tsv", NULL);
    expect_same_file(a, b);
    g_autofree char *sa = g_build_filename(d, "one", "summary.tsv", NULL);
    g_autofree char *sb = g_build_filename(d, "many", "summary.tsv", NULL);
    expect_same_file(sa, sb);
    /* The other ranks keep no files of their own. */
    g_autofree char *listing = ns_test_listing(d);
    CU_ASSERT_STRING_EQUAL(listing, "many/results.tsv many/summary.tsv many/timings.tsv "
                                    "one/results.tsv one/summary.tsv one/timings.tsv s.lua");
}

static void test_loop_errors_end_every_rank(void)
{
    g_autofree char *d = setup("errors");
    struct rank_run r[RANKS];
    /* A run's usage error (an undeclared -D) on any rank stops them all. */
    g_autofree char *bad = g_strdup_printf("sweep %s/s.lua -D nosuch=1,2 --seeds 1..20 "
                                           "--out %s/bad --quiet", d, d);
    CU_ASSERT_TRUE_FATAL(run_cluster(bad, NULL, r));
    CU_ASSERT_EQUAL(r[0].rc, 2);
    g_autofree char *res = g_build_filename(d, "bad", "results.tsv", NULL);
    CU_ASSERT_FALSE(g_file_test(res, G_FILE_TEST_EXISTS));

    /* Rank 0 fails after the others started waiting for work (--resume
     * over another grid's results): they are released, not left hanging. */
    g_autofree char *first = g_strdup_printf("sweep %s/s.lua -D x=1,2 --out %s/r --quiet", d, d);
    CU_ASSERT_EQUAL(run_alone(first), 0);
    g_autofree char *other = g_strdup_printf("sweep %s/s.lua -D x=5,6 --out %s/r --resume "
                                             "--quiet", d, d);
    CU_ASSERT_TRUE_FATAL(run_cluster(other, NULL, r));
    CU_ASSERT_EQUAL(r[0].rc, 2);
    CU_ASSERT_EQUAL(r[1].rc, 0);
    CU_ASSERT_EQUAL(r[2].rc, 0);
    CU_ASSERT_EQUAL(jobs_of(&r[1]), 0);
    CU_ASSERT_EQUAL(jobs_of(&r[2]), 0);
}

/* ---- mpirun ---- */

static bool netsim_has_mpi(const char *d)
{
    const char *const args[] = { "--version", NULL };
    struct ns_test_run r = ns_test_netsim(d, args);
    bool yes = strstr(r.out, "Open MPI (sweep --mpi): yes") != NULL;
    ns_test_run_clear(&r);
    return yes;
}

static struct ns_test_run netsim_words(const char *d, const char *const *launcher,
                                       const char *args)
{
    char **words = g_strsplit(args, " ", -1);
    struct ns_test_run r = ns_test_netsim_under(d, launcher, (const char *const *)words);
    g_strfreev(words);
    return r;
}

static void expect_status(const struct ns_test_run *r, int code)
{
    CU_ASSERT_EQUAL(r->status, code);
    if (r->status != code)
        fprintf(stderr, "\n  exit %d (want %d)\n  stdout: %s\n  stderr: %s\n", r->status, code,
                r->out, r->err);
}

static void test_mpirun(void)
{
    g_autofree char *d = setup("mpirun");
    if (!netsim_has_mpi(d)) {
        struct ns_test_run r = netsim_words(d, NULL, "sweep s.lua --mpi --out o");
        expect_status(&r, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "built without Open MPI; install it"));
        ns_test_run_clear(&r);
        return;
    }
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!mpirun) {
        CU_FAIL("netsim has Open MPI but mpirun is missing: apt-get install openmpi-bin");
        return;
    }
    /* Open MPI refuses root unless told; CI runs as root. */
    g_setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", TRUE);
    g_setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", TRUE);
    static const char *const np2[] = { "mpirun", "-np", "2", "--oversubscribe", NULL };
    const char *grid = "sweep s.lua -D x=0.5:4:log4 --seeds 1..16 --quiet";
    g_autofree char *cmd_mpi = g_strconcat(grid, " --mpi --out m", NULL);
    g_autofree char *cmd_one = g_strconcat(grid, " -j 1 --out one", NULL);
    struct ns_test_run rm = netsim_words(d, np2, cmd_mpi);
    struct ns_test_run r1 = netsim_words(d, NULL, cmd_one);
    expect_status(&rm, 0);
    expect_status(&r1, 0);
    ns_test_run_clear(&rm);
    ns_test_run_clear(&r1);
    g_autofree char *a = g_build_filename(d, "m", "results.tsv", NULL);
    g_autofree char *b = g_build_filename(d, "one", "results.tsv", NULL);
    expect_same_file(a, b);

    /* explore: the same lowest failing seed and replay line as one process. */
    const char *ex = "explore s.lua --seeds 5..120 -D failevery=23";
    g_autofree char *ex_mpi = g_strconcat(ex, " --mpi", NULL);
    g_autofree char *ex_one = g_strconcat(ex, " -j 1", NULL);
    rm = netsim_words(d, np2, ex_mpi);
    r1 = netsim_words(d, NULL, ex_one);
    expect_status(&rm, 1);
    expect_status(&r1, 1);
    CU_ASSERT_STRING_EQUAL(r1.out, "explore: seed 23 fails: s.lua:8: bad seed\n"
                                   "replay: netsim --seed 23 -D failevery=23 s.lua\n");
    CU_ASSERT_STRING_EQUAL(rm.out, r1.out);
    ns_test_run_clear(&rm);
    ns_test_run_clear(&r1);
}

void test_sweep_dist_register(void)
{
    CU_pSuite s = ns_test_suite("sweep over a cluster", NULL, NULL);
    ns_test_add(s, "loop cluster: results as one process, dynamic assignment",
                test_loop_same_results);
    ns_test_add(s, "loop cluster: errors end every rank", test_loop_errors_end_every_rank);
    ns_test_add(s, "mpirun -np 2: same results.tsv and explore seed (or --mpi refused)",
                test_mpirun);
}
