/* test_sweep.c — sweeps and seed exploration: the grid, seed ranges and
 * shards parsed directly, then `netsim sweep` / `netsim explore` run as a
 * user runs them on tiny scenarios written to a scratch folder. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "netsim/sweep.h"
#include "tests.h"

/* ---- the grid ---- */

static char *joined(GPtrArray *a)
{
    g_ptr_array_add(a, NULL);
    char *s = g_strjoinv(" ", (char **)a->pdata);
    g_ptr_array_set_size(a, a->len - 1);
    return s;
}

/* Expands spec; returns the values joined by spaces, or "ERR: message". */
static char *expand(const char *spec)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    GError *err = NULL;
    char *s = ns_sweep_expand("x", spec, out, &err) ? joined(out)
            : g_strconcat("ERR: ", err->message, NULL);
    g_clear_error(&err);
    g_ptr_array_free(out, TRUE);
    return s;
}

static void expect_expand(const char *spec, const char *want)
{
    char *got = expand(spec);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  %s\n  got:  %s\n  want: %s\n", spec, got, want);
    g_free(got);
}

static void test_expand(void)
{
    expect_expand("reno,newreno,cubic", "reno newreno cubic");
    expect_expand("7", "7");
    expect_expand("1:5:5", "1 2 3 4 5");
    expect_expand("0:1:3", "0 0.5 1");
    expect_expand("10ms:50ms:5", "10ms 20ms 30ms 40ms 50ms");
    expect_expand("10Mbps:40Mbps:4", "10Mbps 20Mbps 30Mbps 40Mbps");
    expect_expand("0.001:1:log4", "0.001 0.01 0.1 1");
    expect_expand("1ms:1s:log4", "1ms 0.01 0.1 1s");      /* mixed units: SI seconds */
    expect_expand("3:3:1", "3");
    expect_expand("5:1:3", "ERR: -D x=5:1:3: reversed range (5 is above 1)");
    expect_expand("1:5:0", "ERR: -D x=1:5:0: empty range (0 points)");
    expect_expand("", "ERR: -D x=: empty value list");
    expect_expand("a,,b", "ERR: -D x=a,,b: empty value in the list");
    expect_expand("0:1:log3", "ERR: -D x=0:1:log3: a log range needs ends above 0");
    expect_expand("1:5:z", "ERR: -D x=1:5:z: 'z' is not a point count (N or logN)");
    expect_expand("1ms:5Mbps:3",
                  "ERR: -D x=1ms:5Mbps:3: the ends are of different kinds (time, rate)");
}

static void test_grid(void)
{
    g_autoptr(ns_sweep_grid) g = ns_sweep_grid_new();
    GError *err = NULL;
    CU_ASSERT_EQUAL(ns_sweep_grid_points(g), 1);
    CU_ASSERT_TRUE(ns_sweep_grid_add(g, "cc=reno,cubic", &err));
    CU_ASSERT_TRUE(ns_sweep_grid_add(g, "rtt=10ms:30ms:3", &err));
    CU_ASSERT_TRUE(ns_sweep_grid_add(g, "tag=a,b", &err));     /* repeated: literal */
    CU_ASSERT_TRUE(ns_sweep_grid_add(g, "tag=c,d", &err));
    CU_ASSERT_EQUAL(ns_sweep_grid_points(g), 2 * 3 * 2);
    /* The first parameter varies slowest. */
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 0, 0), "reno");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 0, 2), "a,b");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 1, 2), "c,d");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 2, 1), "20ms");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 5, 1), "30ms");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 6, 0), "cubic");
    CU_ASSERT_STRING_EQUAL(ns_sweep_grid_value(g, 11, 1), "30ms");
    CU_ASSERT_FALSE(ns_sweep_grid_add(g, "bad name=1", &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_FALSE(ns_sweep_grid_add(g, "=1", &err));
    g_clear_error(&err);
}

static void test_seeds_shards(void)
{
    uint64_t a = 0, b = 0;
    unsigned i = 0, n = 0;
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_sweep_parse_seeds("1..10", &a, &b, NULL));
    CU_ASSERT(a == 1 && b == 10);
    CU_ASSERT_TRUE(ns_sweep_parse_seeds("42", &a, &b, NULL));
    CU_ASSERT(a == 42 && b == 42);
    CU_ASSERT_TRUE(ns_sweep_parse_seeds("0..0", &a, &b, NULL));
    CU_ASSERT(a == 0 && b == 0);
    static const char *const bad[] = { "", "1..", "..5", "a..b", "1...5", "1..2x", "-1..3" };
    for (size_t k = 0; k < G_N_ELEMENTS(bad); k++) {
        CU_ASSERT_FALSE(ns_sweep_parse_seeds(bad[k], &a, &b, &err));
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err)
            CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "expected FIRST..LAST"));
        g_clear_error(&err);
    }
    CU_ASSERT_FALSE(ns_sweep_parse_seeds("10..1", &a, &b, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "--seeds 10..1: reversed range (10 is above 1)");
    g_clear_error(&err);

    CU_ASSERT_TRUE(ns_sweep_parse_shard("2/4", &i, &n, NULL));
    CU_ASSERT(i == 2 && n == 4);
    static const char *const badsh[] = { "0/4", "5/4", "1/0", "4", "a/b", "1/", "/2", "1/2/3" };
    for (size_t k = 0; k < G_N_ELEMENTS(badsh); k++) {
        CU_ASSERT_FALSE(ns_sweep_parse_shard(badsh[k], &i, &n, &err));
        CU_ASSERT_PTR_NOT_NULL(err);
        g_clear_error(&err);
    }
    CU_ASSERT(ns_sweep_t95(1) > 12.7 && ns_sweep_t95(1) < 12.71);
    CU_ASSERT(ns_sweep_t95(1000) == 1.96);
}

/* ---- the command ---- */

static char *workdir(const char *name)
{
    char *d = g_build_filename(ns_test_tmpdir(), "sweep", name, NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(d, 0777), 0);
    return d;
}

/* Runs netsim with the space-separated words of `args` in `dir`. */
static struct ns_test_run netsim(const char *dir, const char *args)
{
    char **words = g_strsplit(args, " ", -1);
    struct ns_test_run r = ns_test_netsim(dir, (const char *const *)words);
    g_strfreev(words);
    return r;
}

static void expect_status(const struct ns_test_run *r, int code)
{
    CU_ASSERT_EQUAL(r->status, code);
    if (r->status != code)
        fprintf(stderr, "\n  exit %d (want %d)\n  stderr: %s\n", r->status, code, r->err);
}

/* A scenario: x and cc are parameters, a few random events, one result;
 * it fails on demand (cc=bad fails at seed 3, every seed that is a
 * multiple of `failevery` fails). */
static const char scenario[] =
"local netsim = require 'netsim'\n"
"local p = netsim.params { cc = 'reno', x = 1.0, failevery = 0 }\n"
"local sim = netsim.new {}\n"
"local r = sim:rng 'x'\n"
"local sum = 0\n"
"for i = 1, 20 do sim:after(r:exp(0.01), function() sum = sum + r:uniform() end) end\n"
"sim:run()\n"
"if p.cc == 'bad' and sim:seed() == 3 then error('boom at seed 3') end\n"
"if p.failevery > 0 and sim:seed() % p.failevery == 0 then error('unlucky seed') end\n"
"print('noise')\n"
"netsim.result { y = sum * p.x, label = p.cc }\n";

static char *setup(const char *name)
{
    char *d = workdir(name);
    ns_test_write_file(d, "s.lua", scenario);
    ns_test_write_file(d, "noresult.lua",
               "local netsim = require 'netsim'\nlocal p = netsim.params { x = 1 }\n"
               "local sim = netsim.new {}\nsim:run()\n");
    return d;
}

static void test_sweep_tables(void)
{
    g_autofree char *d = setup("tables");
    struct ns_test_run r = netsim(d, "sweep s.lua -D cc=reno,cubic -D x=1:3:3 --seeds 1..4 -j 2 "
                                "--out o --quiet");
    expect_status(&r, 0);
    CU_ASSERT_STRING_EQUAL(r.out, "");          /* quiet, and print() muted */
    ns_test_run_clear(&r);
    g_autofree char *res = ns_test_read_file(d, "o/results.tsv");
    char **lines = g_strsplit(res, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 1 + 2 * 3 * 4 + 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "point\tcc\tx\tseed\tstatus\tevents\tlabel\ty\terror");
    CU_ASSERT_TRUE(g_str_has_prefix(lines[1], "0\treno\t1\t1\tok\t20\treno\t"));
    CU_ASSERT_TRUE(g_str_has_prefix(lines[4], "0\treno\t1\t4\tok\t20\t"));
    CU_ASSERT_TRUE(g_str_has_prefix(lines[5], "1\treno\t2\t1\tok\t"));
    CU_ASSERT_TRUE(g_str_has_prefix(lines[24], "5\tcubic\t3\t4\tok\t"));
    g_strfreev(lines);
    g_autofree char *sum = ns_test_read_file(d, "o/summary.tsv");
    CU_ASSERT_TRUE(g_str_has_prefix(sum, "point\tcc\tx\truns\tfailed\ty_mean\ty_sd\ty_ci95\n"
                                         "0\treno\t1\t4\t0\t"));
    g_autofree char *tim = ns_test_read_file(d, "o/timings.tsv");
    CU_ASSERT_TRUE(g_str_has_prefix(tim, "point\tcc\tx\tseed\twall_s\n0\treno\t1\t1\t"));
    /* Outputs were discarded, nothing else in o/. */
    g_autofree char *runs = g_build_filename(d, "o", "runs", NULL);
    CU_ASSERT_FALSE(g_file_test(runs, G_FILE_TEST_EXISTS));
}

static void test_same_bytes_any_j(void)
{
    g_autofree char *d = setup("anyj");
    struct ns_test_run r1 = netsim(d, "sweep s.lua -D cc=reno,cubic,newreno -D x=0.5:4:log4 "
                                 "--seeds 1..5 -j 1 --out j1 -q");
    struct ns_test_run r2 = netsim(d, "sweep s.lua -D cc=reno,cubic,newreno -D x=0.5:4:log4 "
                                 "--seeds 1..5 -j 2 --out j2 -q");
    expect_status(&r1, 0);
    expect_status(&r2, 0);
    g_autofree char *a = ns_test_read_file(d, "j1/results.tsv");
    g_autofree char *b = ns_test_read_file(d, "j2/results.tsv");
    g_autofree char *sa = ns_test_read_file(d, "j1/summary.tsv");
    g_autofree char *sb = ns_test_read_file(d, "j2/summary.tsv");
    CU_ASSERT_TRUE(strlen(a) > 500);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(sa, sb);
    ns_test_run_clear(&r1);
    ns_test_run_clear(&r2);
}

static void test_failures(void)
{
    g_autofree char *d = setup("failures");
    /* A Lua error: its row records it, the others run, exit 1. */
    struct ns_test_run r = netsim(d, "sweep s.lua -D cc=reno,bad --seeds 1..4 --out f -q");
    expect_status(&r, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "s.lua:8: boom at seed 3"));
    ns_test_run_clear(&r);
    g_autofree char *res = ns_test_read_file(d, "f/results.tsv");
    char **lines = g_strsplit(res, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 10);
    CU_ASSERT_TRUE(g_str_has_prefix(lines[7], "1\tbad\t3\tfailed\t20\t\t\ts.lua:8: boom at seed 3"));
    CU_ASSERT_TRUE(g_str_has_prefix(lines[8], "1\tbad\t4\tok\t"));
    g_strfreev(lines);

    /* No result reported: a clear error per row. */
    r = netsim(d, "sweep noresult.lua -D x=1,2 --out nr -q");
    expect_status(&r, 1);
    ns_test_run_clear(&r);
    g_autofree char *nr = ns_test_read_file(d, "nr/results.tsv");
    CU_ASSERT_PTR_NOT_NULL(strstr(nr, "failed\t0\tthe scenario reported no result"));

    /* A result named like a parameter or a fixed column becomes NAME_result:
     * the run succeeds and each column name appears once. */
    ns_test_write_file(d, "clash.lua",
               "local netsim = require 'netsim'\nlocal p = netsim.params { x = 1 }\n"
               "netsim.result { x = p.x * 2, events = 7, ok = 1 }\n");
    r = netsim(d, "sweep clash.lua -D x=1,2 --out c1 -q");
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_autofree char *c1 = ns_test_read_file(d, "c1/results.tsv");
    CU_ASSERT_STRING_EQUAL(c1, "point\tx\tseed\tstatus\tevents\tevents_result\tok\tx_result\terror\n"
                               "0\t1\t1\tok\t0\t7\t1\t2\t\n"
                               "1\t2\t1\tok\t0\t7\t1\t4\t\n");

    /* Unknown parameter: a usage error with a suggestion, no table. */
    r = netsim(d, "sweep s.lua -D cx=reno,cubic --out u");
    expect_status(&r, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "'cx'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "did you mean 'cc'?"));
    ns_test_run_clear(&r);
    g_autofree char *u = g_build_filename(d, "u", "results.tsv", NULL);
    CU_ASSERT_FALSE(g_file_test(u, G_FILE_TEST_EXISTS));

    static const struct { const char *args, *msg; } bad[] = {
        { "sweep s.lua -D x=5:1:3", "reversed range" },
        { "sweep s.lua -D x=", "empty value list" },
        { "sweep s.lua --seeds 1..x", "--seeds 1..x: expected FIRST..LAST" },
        { "sweep s.lua --seeds 9..2", "reversed range" },
        { "sweep s.lua --shard 3/2", "--shard 3/2: expected I/N" },
        { "sweep s.lua -j 0", "-j 0" },
        { "sweep missing.lua", "cannot read scenario 'missing.lua'" },
        { "explore s.lua", "explore needs --seeds" },
        { "explore s.lua --seeds 1..3 -D cc=a,b", "explore takes one per parameter" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        r = netsim(d, bad[i].args);
        expect_status(&r, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, bad[i].msg));
        if (!strstr(r.err, bad[i].msg))
            fprintf(stderr, "\n  %s: %s", bad[i].args, r.err);
        ns_test_run_clear(&r);
    }
}

static void test_keep_outputs(void)
{
    g_autofree char *d = setup("keep");
    struct ns_test_run r = netsim(d, "sweep s.lua -D cc=reno,cubic --seeds 1..2 --keep-outputs "
                                "--out k -q");
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_autofree char *json = ns_test_read_file(d, "k/runs/cc=cubic/seed-2/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"seed\": 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"label\": \"cubic\""));
}

static void test_explore(void)
{
    g_autofree char *d = setup("explore");
    /* Seeds divisible by 37 fail: the lowest in 5..200 is 37, whatever -j. */
    struct ns_test_run r1 = netsim(d, "explore s.lua --seeds 5..200 -D failevery=37 -j 1");
    struct ns_test_run r2 = netsim(d, "explore s.lua --seeds 5..200 -D failevery=37 -j 2");
    expect_status(&r1, 1);
    expect_status(&r2, 1);
    CU_ASSERT_STRING_EQUAL(r1.out, "explore: seed 37 fails: s.lua:9: unlucky seed\n"
                                   "replay: netsim --seed 37 -D failevery=37 s.lua\n");
    CU_ASSERT_STRING_EQUAL(r1.out, r2.out);
    ns_test_run_clear(&r1);
    ns_test_run_clear(&r2);
    /* The replay command reproduces it. */
    struct ns_test_run rp = netsim(d, "--seed 37 -D failevery=37 s.lua --out rp -q");
    expect_status(&rp, 1);
    ns_test_run_clear(&rp);

    struct ns_test_run all = netsim(d, "explore s.lua --seeds 5..200 -D failevery=37 -j 2 --all");
    expect_status(&all, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(all.out, "explore: 5 of 196 seeds fail\n"));
    ns_test_run_clear(&all);

    struct ns_test_run none = netsim(d, "explore s.lua --seeds 1..30 -D failevery=37 -j 2");
    expect_status(&none, 0);
    CU_ASSERT_STRING_EQUAL(none.out, "explore: no failing seed in 1..30 (30 runs)\n");
    ns_test_run_clear(&none);
}

static void test_shard_merge_resume(void)
{
    g_autofree char *d = setup("shard");
    const char *grid = "sweep s.lua -D cc=reno,cubic,newreno -D x=1:2:2 --seeds 1..5 -q";
    char *cmd;
    struct ns_test_run r;
    r = netsim(d, (cmd = g_strconcat(grid, " --out all", NULL)));
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_free(cmd);
    for (int i = 1; i <= 3; i++) {
        char *out = g_strdup_printf(" --shard %d/3 --out sh%d", i, i);
        r = netsim(d, (cmd = g_strconcat(grid, out, NULL)));
        expect_status(&r, 0);
        ns_test_run_clear(&r);
        g_free(cmd);
        g_free(out);
    }
    g_autofree char *s1 = ns_test_read_file(d, "sh1/results.tsv");
    g_autofree char *full = ns_test_read_file(d, "all/results.tsv");
    CU_ASSERT_TRUE(strlen(s1) < strlen(full) / 2);
    r = netsim(d, "sweep --merge sh3 sh1 sh2 --out merged");
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_autofree char *merged = ns_test_read_file(d, "merged/results.tsv");
    CU_ASSERT_STRING_EQUAL(merged, full);
    g_autofree char *msum = ns_test_read_file(d, "merged/summary.tsv");
    g_autofree char *fsum = ns_test_read_file(d, "all/summary.tsv");
    CU_ASSERT_STRING_EQUAL(msum, fsum);
    /* The shards' timings, joined and sorted like results.tsv: every row
     * of each shard's timings.tsv is in the merged one. */
    g_autofree char *mtim = ns_test_read_file(d, "merged/timings.tsv");
    char **mlines = g_strsplit(mtim, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(mlines), 1 + 3 * 2 * 5 + 1);
    CU_ASSERT_STRING_EQUAL(mlines[0], "point\tcc\tx\tseed\twall_s");
    CU_ASSERT_TRUE(g_str_has_prefix(mlines[1], "0\treno\t1\t1\t"));
    g_strfreev(mlines);
    for (int i = 1; i <= 3; i++) {
        g_autofree char *name = g_strdup_printf("sh%d/timings.tsv", i);
        g_autofree char *st = ns_test_read_file(d, name);
        char **sl = g_strsplit(st, "\n", -1);
        CU_ASSERT_TRUE(g_strv_length(sl) > 2);
        for (char **l = sl + 1; *l; l++)
            if (**l && !strstr(mtim, *l))
                CU_FAIL("a shard's timing row is missing from the merged timings.tsv");
        g_strfreev(sl);
    }

    /* The same shard twice overlaps. */
    r = netsim(d, "sweep --merge sh1 sh2 sh1 --out bad");
    expect_status(&r, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "overlapping"));
    ns_test_run_clear(&r);

    /* --resume completes a shard's folder into the full table, running
     * only what is missing. */
    g_autofree char *before = ns_test_read_file(d, "sh1/timings.tsv");
    char *row = strstr(before, "\n0\treno\t1\t1\t");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    g_autofree char *kept = g_strndup(row, strchr(row + 1, '\n') + 1 - row);
    r = netsim(d, (cmd = g_strconcat(grid, " --resume --out sh1", NULL)));
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_free(cmd);
    g_autofree char *resumed = ns_test_read_file(d, "sh1/results.tsv");
    CU_ASSERT_STRING_EQUAL(resumed, full);
    g_autofree char *tim = ns_test_read_file(d, "sh1/timings.tsv");
    /* Rows kept from before keep the wall time measured then; the new
     * ones have theirs. */
    CU_ASSERT_PTR_NOT_NULL(strstr(tim, kept));
    CU_ASSERT_PTR_NULL(strstr(tim, "\t0.000000\n"));
}

/* Ctrl-C in the middle of a sweep: exit 130, and results.tsv is complete
 * and sorted for the runs that finished (no half-written file); --resume
 * then finishes the table, equal to an uninterrupted sweep's. */
static void test_interrupt_and_resume(void)
{
    g_autofree char *d = setup("interrupt");
    ns_test_write_file(d, "slow.lua",
               "local netsim = require 'netsim'\n"
               "local p = netsim.params { x = 1 }\n"
               "local sim = netsim.new { trace = false }\n"
               "local n = 0\n"
               "local function tick() n = n + 1; if n < 150000 then sim:after(1e-6, tick) end end\n"
               "sim:at(0, tick)\n"
               "sim:run()\n"
               "netsim.result { n = n * p.x }\n");
    char *bin = g_canonicalize_filename(ns_test_netsim_bin(), NULL);
    char *argv[] = { bin, "sweep", "slow.lua", "-D", "x=1,2", "--seeds", "1..20", "-j", "2",
                     "--out", "o", "--quiet", NULL };
    GPid pid;
    CU_ASSERT_TRUE_FATAL(g_spawn_async(d, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                       &pid, NULL));
    g_usleep(600 * 1000);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    g_free(bin);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130);
    g_autofree char *part = ns_test_read_file(d, "o/results.tsv");
    char **lines = g_strsplit(part, "\n", -1);
    guint n = g_strv_length(lines);
    /* header + some rows + final empty string; fewer than all 40 runs */
    CU_ASSERT_TRUE(n >= 2 && n < 1 + 40 + 1);
    CU_ASSERT_TRUE(g_str_has_prefix(lines[0], "point\tx\tseed\tstatus"));
    bool sorted = true;
    for (guint i = 2; i + 1 < n; i++) {
        int p0, s0, p1, s1;
        sscanf(lines[i - 1], "%d\t%*s\t%d", &p0, &s0);
        sscanf(lines[i], "%d\t%*s\t%d", &p1, &s1);
        if (p1 < p0 || (p1 == p0 && s1 <= s0))
            sorted = false;
    }
    CU_ASSERT_TRUE(sorted);
    g_strfreev(lines);
    struct ns_test_run r = netsim(d, "sweep slow.lua -D x=1,2 --seeds 1..20 -j 2 --out o --resume --quiet");
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    r = netsim(d, "sweep slow.lua -D x=1,2 --seeds 1..20 -j 2 --out full --quiet");
    expect_status(&r, 0);
    ns_test_run_clear(&r);
    g_autofree char *resumed = ns_test_read_file(d, "o/results.tsv");
    g_autofree char *full = ns_test_read_file(d, "full/results.tsv");
    CU_ASSERT_STRING_EQUAL(resumed, full);
}

void test_sweep_register(void)
{
    CU_pSuite l = ns_test_suite("sweep (long)", NULL, NULL);
    ns_test_add(l, "Ctrl-C leaves a sorted partial table; --resume completes it",
                test_interrupt_and_resume);
    CU_pSuite s = ns_test_suite("sweep", NULL, NULL);
    ns_test_add(s, "value lists and ranges", test_expand);
    ns_test_add(s, "grid points", test_grid);
    ns_test_add(s, "seed ranges and shards", test_seeds_shards);
    ns_test_add(s, "results, summary, timings", test_sweep_tables);
    ns_test_add(s, "results.tsv identical for -j 1 and -j 2", test_same_bytes_any_j);
    ns_test_add(s, "failed runs and bad input", test_failures);
    ns_test_add(s, "--keep-outputs", test_keep_outputs);
    ns_test_add(s, "explore finds the lowest failing seed", test_explore);
    ns_test_add(s, "--shard, --merge and --resume", test_shard_merge_resume);
}
