/* test_cli.c — the netsim command, run as a user runs it: a small scenario
 * written to a scratch folder, the binary spawned there (so messages carry
 * short relative paths), and the exit status, stderr and the files under
 * --out checked.  Each bad input must give its exit status and one line on
 * stderr naming the problem. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "tests.h"

/* A fresh working folder for one test. */
static char *workdir(const char *name)
{
    char *d = g_build_filename(ns_test_tmpdir(), "cli", name, NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(d, 0777), 0);
    return d;
}

/* Runs netsim ARGS... (NULL-terminated) in `dir`. */
static struct ns_test_run netsim(const char *dir, ...)
{
    GPtrArray *args = g_ptr_array_new();
    va_list ap;
    va_start(ap, dir);
    const char *a;
    while ((a = va_arg(ap, const char *)))
        g_ptr_array_add(args, (char *)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    struct ns_test_run r = ns_test_netsim(dir, (const char *const *)args->pdata);
    g_ptr_array_free(args, TRUE);
    return r;
}

static void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

/* Exit status `code` and exactly the line `line` on stderr. */
static void expect_failure(const struct ns_test_run *r, int code, const char *line)
{
    CU_ASSERT_EQUAL(r->status, code);
    if (r->status != code)
        fprintf(stderr, "\n  exit %d, want %d (stderr: %s)\n", r->status, code, r->err);
    char *want = g_strconcat(line, "\n", NULL);
    check_str(r->err, want);
    g_free(want);
}

static void expect_listing(const char *dir, const char *sub, const char *want)
{
    char *p = g_build_filename(dir, sub, NULL);
    char *got = ns_test_listing(p);
    check_str(got, want);
    g_free(got);
    g_free(p);
}

/* A scenario that writes a table and the event log, then ticks until 10 s
 * (or `stop`). */
static const char ticker[] =
    "local netsim = require 'netsim'\n"
    "local p = netsim.params { flows = 4, rtt = '40ms' }\n"
    "local sim = netsim.new { seed = 1 }\n"
    "local t = sim:table('ticks', { 'n' })\n"
    "local n = 0\n"
    "local function tick()\n"
    "  n = n + 1\n"
    "  t:row(n)\n"
    "  sim:log('tick', 'a', { n = n })\n"
    "  sim:after('100ms', tick)\n"
    "end\n"
    "sim:at(0, tick)\n"
    "sim:run('10s')\n";

/* ---- bad inputs ------------------------------------------------------- */

static void test_missing_script(void)
{
    char *d = workdir("missing");
    struct ns_test_run r = netsim(d, "nosuch.lua", NULL);
    expect_failure(&r, 2, "netsim: cannot read scenario 'nosuch.lua': No such file or directory");
    ns_test_run_clear(&r);
    r = netsim(d, NULL);
    expect_failure(&r, 2, "netsim: no scenario given (see netsim --help)");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_folder_script(void)
{
    char *d = workdir("folder");
    char *sub = g_build_filename(d, "dir.lua", NULL);
    g_mkdir(sub, 0777);
    struct ns_test_run r = netsim(d, "dir.lua", NULL);
    expect_failure(&r, 2, "netsim: cannot read scenario 'dir.lua': is a folder");
    ns_test_run_clear(&r);
    g_free(sub);
    g_free(d);
}

static void test_syntax_error(void)
{
    char *d = workdir("syntax");
    ns_test_write_file(d, "x.lua", "local netsim = require 'netsim'\n\nlocal x = = 1\n");
    struct ns_test_run r = netsim(d, "--out", "out", "x.lua", NULL);
    expect_failure(&r, 1, "netsim: x.lua:3: unexpected symbol near '='");
    check_str(r.out, "");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_callback_error(void)
{
    char *d = workdir("callback");
    ns_test_write_file(d, "cb.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:after('1s', function()\n"
               "  error('boom')\n"
               "end)\n"
               "sim:run()\n");
    struct ns_test_run r = netsim(d, "--out", "out", "cb.lua", NULL);
    expect_failure(&r, 1, "netsim: cb.lua:4: boom");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_wrong_argument_type(void)
{
    char *d = workdir("argtype");
    ns_test_write_file(d, "a.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:after({}, function() end)\n");
    ns_test_write_file(d, "b.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new { sede = 3 }\n");
    ns_test_write_file(d, "c.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new { trace = 1 }\n");
    struct ns_test_run r = netsim(d, "--out", "out", "a.lua", NULL);
    expect_failure(&r, 1, "netsim: a.lua:3: bad argument #1 to 'after' (time expected, got table)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "b.lua", NULL);
    expect_failure(&r, 1, "netsim: b.lua:2: unknown option 'sede' to 'new' (did you mean 'seed'?)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "c.lua", NULL);
    expect_failure(&r, 1, "netsim: c.lua:2: bad argument #1 to 'new' (option 'trace': boolean "
                          "expected, got number)");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_bad_times(void)
{
    char *d = workdir("times");
    ns_test_write_file(d, "neg.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:after(-0.5, function() end)\n");
    ns_test_write_file(d, "negs.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:at('-5ms', function() end)\n");
    ns_test_write_file(d, "bad.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:after('20xs', function() end)\n");
    struct ns_test_run r = netsim(d, "--out", "out", "neg.lua", NULL);
    expect_failure(&r, 1, "netsim: neg.lua:3: bad argument #1 to 'after' (time must be a finite "
                          "number >= 0, got -0.5)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "negs.lua", NULL);
    expect_failure(&r, 1, "netsim: negs.lua:3: bad argument #1 to 'at' ('-5ms' is a negative time)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "bad.lua", NULL);
    expect_failure(&r, 1, "netsim: bad.lua:3: bad argument #1 to 'after' (malformed quantity "
                          "'20xs' (unknown unit 'xs'))");
    ns_test_run_clear(&r);
    /* The same mistakes on the command line are usage errors. */
    ns_test_write_file(d, "t.lua", ticker);
    r = netsim(d, "--out", "out", "--until", "20xs", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: --until 20xs: malformed quantity '20xs' (unknown unit 'xs') "
                          "(see netsim --help)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "--until=-1s", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: --until -1s: '-1s' is a negative time (see netsim --help)");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_bad_defines(void)
{
    char *d = workdir("defines");
    ns_test_write_file(d, "t.lua", ticker);
    ns_test_write_file(d, "nop.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "sim:run()\n");
    struct ns_test_run r = netsim(d, "--out", "out", "-D", "flows", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: -D flows: expected NAME=VALUE (see netsim --help)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-Dfl-ows=3", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: -D fl-ows=3: 'fl-ows' is not a parameter name "
                          "(see netsim --help)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-D", "flows=abc", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: -D flows=abc: malformed quantity 'abc' (no number)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-D", "rtt=10Mbps", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: -D rtt=10Mbps: '10Mbps' is a rate, expected a time");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-D", "flow=3", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: -D flow: the scenario declares no parameter 'flow' "
                          "(did you mean 'flows'?)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-D", "x=1", "nop.lua", NULL);
    expect_failure(&r, 2, "netsim: -D x: the scenario declares no parameters "
                          "(it does not call netsim.params)");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "-D", "flows=2", "-D", "rtt=1s", "--quiet", "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    check_str(r.err, "");
    check_str(r.out, "");
    char *js = ns_test_read_file(d, "out/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"parameters\": {\"flows\": 2, \"rtt\": 1},"));
    g_free(js);
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_bad_seeds(void)
{
    static const char *const bad[] = { "-1", "18446744073709551616", "abc", "1.5", "" };
    char *d = workdir("seeds");
    ns_test_write_file(d, "t.lua", ticker);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct ns_test_run r = netsim(d, "--out", "out", "--seed", bad[i], "t.lua", NULL);
        char *line = g_strdup_printf("netsim: --seed %s: expected an integer between 0 and "
                                     "18446744073709551615 (see netsim --help)", bad[i]);
        expect_failure(&r, 2, line);
        g_free(line);
        ns_test_run_clear(&r);
    }
    /* Nothing ran: no output folder. */
    char *out = g_build_filename(d, "out", NULL);
    CU_ASSERT_FALSE(g_file_test(out, G_FILE_TEST_EXISTS));
    g_free(out);
    struct ns_test_run r = netsim(d, "--out", "out", "--seed=18446744073709551615", "--quiet",
                             "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    char *js = ns_test_read_file(d, "out/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"seed\": 18446744073709551615,"));
    g_free(js);
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "out", "--seed", NULL);
    expect_failure(&r, 2, "netsim: --seed needs a value (see netsim --help)");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_unknown_option(void)
{
    char *d = workdir("unknown");
    ns_test_write_file(d, "t.lua", ticker);
    struct ns_test_run r = netsim(d, "--bogus", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: unknown option '--bogus' (see netsim --help)");
    ns_test_run_clear(&r);
    r = netsim(d, "t.lua", "u.lua", NULL);
    expect_failure(&r, 2, "netsim: unexpected argument 'u.lua': one scenario per run "
                          "(see netsim --help)");
    ns_test_run_clear(&r);
    r = netsim(d, "--max-events", "0", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: --max-events 0: expected a positive integer "
                          "(see netsim --help)");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_unwritable_out(void)
{
    char *d = workdir("unwritable");
    ns_test_write_file(d, "t.lua", ticker);
    ns_test_write_file(d, "afile", "x");
    struct ns_test_run r = netsim(d, "--out", "/proc/netsim-test", "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_TRUE(g_str_has_prefix(r.err, "netsim: --out /proc/netsim-test: cannot create "
                                           "the folder: "));
    CU_ASSERT_TRUE(g_str_has_suffix(r.err, " (see netsim --help)\n"));
    CU_ASSERT_PTR_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "afile", "t.lua", NULL);
    expect_failure(&r, 2, "netsim: --out afile: cannot create the folder: Not a directory "
                          "(see netsim --help)");
    ns_test_run_clear(&r);
    g_free(d);
}

/* ---- normal ends ------------------------------------------------------- */

static void test_help_version(void)
{
    char *d = workdir("help");
    struct ns_test_run r = netsim(d, "--help", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(g_str_has_prefix(r.out, "Usage: netsim [OPTIONS] SCENARIO.lua\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--until TIME"));
    check_str(r.err, "");
    ns_test_run_clear(&r);
    r = netsim(d, "-h", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(g_str_has_prefix(r.out, "Usage: netsim"));
    ns_test_run_clear(&r);
    r = netsim(d, "--version", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    /* The version, then whether --mpi is built in (either answer). */
    CU_ASSERT_TRUE(g_str_has_prefix(r.out, "netsim " NETSIM_VERSION "\nOpen MPI (sweep --mpi): "));
    CU_ASSERT_TRUE(g_str_has_suffix(r.out, ": yes\n") || strstr(r.out, ": no (install") != NULL);
    check_str(r.err, "");
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_until_caps(void)
{
    char *d = workdir("until");
    ns_test_write_file(d, "t.lua", ticker);
    struct ns_test_run r = netsim(d, "--out", "out", "--until", "1s", "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    check_str(r.err, "netsim: stopped at --until 1.000000000 s\n");
    check_str(r.out, "outputs in out/: events.tsv ticks.tsv run.json\n");
    char *js = ns_test_read_file(d, "out/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"end\": {\"time_s\": \"1.000000000\", \"events\": 11, "
                                      "\"reason\": \"until\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"replay\": \"netsim --seed 1 --until 1.000000000s "
                                      "--out out t.lua\""));
    g_free(js);
    char *ticks = ns_test_read_file(d, "out/ticks.tsv");
    CU_ASSERT_TRUE(g_str_has_suffix(ticks, "\n1.000000000\t11\n"));
    g_free(ticks);
    ns_test_run_clear(&r);
    /* A cap the scenario never reaches says nothing. */
    r = netsim(d, "--out", "out2", "--until", "1h", "--quiet", "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    check_str(r.err, "");
    js = ns_test_read_file(d, "out2/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"time_s\": \"10.000000000\""));
    g_free(js);
    ns_test_run_clear(&r);
    g_free(d);
}

static void test_max_events_caps(void)
{
    char *d = workdir("maxev");
    ns_test_write_file(d, "t.lua", ticker);
    struct ns_test_run r = netsim(d, "--out", "out", "--max-events", "5", "--quiet", "t.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    check_str(r.err, "netsim: stopped after --max-events 5 events\n");
    check_str(r.out, "");
    char *js = ns_test_read_file(d, "out/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"end\": {\"time_s\": \"0.400000000\", \"events\": 5, "
                                      "\"reason\": \"max-events\"}"));
    g_free(js);
    char *ev = ns_test_read_file(d, "out/events.tsv");
    check_str(ev, "time\tkind\tnode\tdetails\n"
                  "0.000000000\ttick\ta\tn=1\n"
                  "0.100000000\ttick\ta\tn=2\n"
                  "0.200000000\ttick\ta\tn=3\n"
                  "0.300000000\ttick\ta\tn=4\n"
                  "0.400000000\ttick\ta\tn=5\n");
    g_free(ev);
    ns_test_run_clear(&r);
    g_free(d);
}

/* A failed run commits nothing: no output, no .part left over. */
static void test_failed_run_leaves_nothing(void)
{
    char *d = workdir("failed");
    ns_test_write_file(d, "late.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "local t = sim:table('q', { 'v' })\n"
               "sim:after(1, function() t:row(1); sim:log('k', 'n') end)\n"
               "sim:after(2, function() error('late') end)\n"
               "sim:run()\n");
    ns_test_write_file(d, "assert.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "local t = sim:table('q', { 'v' })\n"
               "sim:after(1, function() t:row(1); sim:log('k', 'n') end)\n"
               "sim:run()\n"
               "netsim.result { rows = 1 }\n"
               "netsim.assert(sim:now() > 5, 'ran past 5 s')\n");
    ns_test_write_file(d, "watchdog.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new { callback_limit = 100000 }\n"
               "local t = sim:table('q', { 'v' })\n"
               "sim:after(1, function()\n"
               "  t:row(1)\n"
               "  while true do end\n"
               "end)\n"
               "sim:run()\n");
    struct ns_test_run r = netsim(d, "--out", "o1", "late.lua", NULL);
    expect_failure(&r, 1, "netsim: late.lua:5: late");
    check_str(r.out, "");
    expect_listing(d, "o1", "");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "o2", "assert.lua", NULL);
    expect_failure(&r, 1, "netsim: assert.lua:7: assertion failed: ran past 5 s");
    expect_listing(d, "o2", "");
    ns_test_run_clear(&r);
    r = netsim(d, "--out", "o3", "watchdog.lua", NULL);
    expect_failure(&r, 1, "netsim: watchdog.lua:6: callback ran more than 100000 instructions "
                          "(an endless loop?); raise the limit with "
                          "netsim.new{ callback_limit = N }");
    expect_listing(d, "o3", "");
    ns_test_run_clear(&r);
    /* Two sims would share --out: refused before either writes. */
    ns_test_write_file(d, "two.lua",
               "local netsim = require 'netsim'\n"
               "local a = netsim.new {}\n"
               "a:at(1, function() a:log('x', 'a') end)\n"
               "a:run()\n"
               "local b = netsim.new {}\n");
    r = netsim(d, "--out", "o5", "two.lua", NULL);
    expect_failure(&r, 1, "netsim: two.lua:5: netsim.new: another simulation of this run already "
                          "writes its outputs to 'o5' (under the netsim command a run has one "
                          "simulation)");
    expect_listing(d, "o5", "");
    ns_test_run_clear(&r);
    /* The same scenario that succeeds leaves exactly its outputs. */
    ns_test_write_file(d, "ok.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "local t = sim:table('q', { 'v' })\n"
               "sim:after(1, function() t:row(1); sim:log('k', 'n') end)\n"
               "sim:run()\n");
    r = netsim(d, "--out", "o4", "--quiet", "ok.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    expect_listing(d, "o4", "events.tsv q.tsv run.json");
    ns_test_run_clear(&r);
    g_free(d);
}

/* Ctrl-C: exit 130, one line, nothing committed. */
static void test_interrupt(void)
{
    char *d = workdir("interrupt");
    ns_test_write_file(d, "forever.lua",
               "local netsim = require 'netsim'\n"
               "local sim = netsim.new {}\n"
               "local function tick() sim:log('tick', 'a'); sim:after('1ms', tick) end\n"
               "sim:at(0, tick)\n"
               "print('ready'); io.stdout:flush()\n"
               "sim:run()\n");
    char *bin = g_canonicalize_filename(ns_test_netsim_bin(), NULL);
    char *argv[] = { bin, "--out", "out", "forever.lua", NULL };
    GPid pid;
    int out_fd, err_fd;
    GError *err = NULL;
    gboolean ok = g_spawn_async_with_pipes(d, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, &out_fd, &err_fd, &err);
    CU_ASSERT_TRUE_FATAL(ok);
    char buf[64] = "";
    ssize_t n = read(out_fd, buf, sizeof buf - 1);   /* blocks until "ready" */
    CU_ASSERT_TRUE(n > 0 && g_str_has_prefix(buf, "ready"));
    kill(pid, SIGINT);
    int status;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_EQUAL(ns_test_exit_code(status), 130);
    GString *e = g_string_new(NULL);
    while ((n = read(err_fd, buf, sizeof buf)) > 0)
        g_string_append_len(e, buf, n);
    CU_ASSERT_TRUE(g_str_has_prefix(e->str, "netsim: forever.lua:"));
    CU_ASSERT_TRUE(g_str_has_suffix(e->str, ": interrupted\n"));
    CU_ASSERT_PTR_EQUAL(strchr(e->str, '\n'), e->str + e->len - 1);
    expect_listing(d, "out", "");
    g_string_free(e, TRUE);
    close(out_fd);
    close(err_fd);
    g_spawn_close_pid(pid);
    g_free(bin);
    g_free(d);
}

/* ---- determinism (about 0.1 s in all: quick tier) --------------------- */

/* Component A ticks on stream "a"; -D extra=true adds component B on its
 * own stream, interleaving its events with A's. */
static const char two_components[] =
    "local netsim = require 'netsim'\n"
    "local p = netsim.params { extra = false, n = 300 }\n"
    "local sim = netsim.new { seed = 1 }\n"
    "local t = sim:table('samples', { 'who', 'v' })\n"
    "local function component(name, mean)\n"
    "  local r, k = sim:rng(name), 0\n"
    "  local function step()\n"
    "    k = k + 1\n"
    "    local v = r:integer(1, 1000000)\n"
    "    sim:log('step', name, { k = k, v = v, u = r:uniform() })\n"
    "    t:row(name, v)\n"
    "    if k < p.n then sim:after(r:exp(mean), step) end\n"
    "  end\n"
    "  sim:at(0, step)\n"
    "end\n"
    "component('A', '10ms')\n"
    "if p.extra then component('B', '7ms') end\n"
    "sim:run()\n"
    "netsim.result { last = sim:now() }\n";

/* Runs the scenario in a fresh folder <name> with --out out; returns the
 * folder. */
static char *det_run(const char *name, const char *seed, const char *define)
{
    char *d = workdir(name);
    ns_test_write_file(d, "s.lua", two_components);
    struct ns_test_run r = define
        ? netsim(d, "--quiet", "--seed", seed, "-D", define, "--out", "out", "s.lua", NULL)
        : netsim(d, "--quiet", "--seed", seed, "--out", "out", "s.lua", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    check_str(r.err, "");
    ns_test_run_clear(&r);
    return d;
}

static void expect_same_file(const char *a, const char *b, const char *name)
{
    char *path = g_build_filename("out", name, NULL);
    char *x = ns_test_read_file(a, path), *y = ns_test_read_file(b, path);
    CU_ASSERT_FALSE(g_str_has_prefix(x, "(missing)"));
    CU_ASSERT_STRING_EQUAL(x, y);
    if (strcmp(x, y) != 0)
        fprintf(stderr, "\n%s differs between %s and %s\n", name, a, b);
    g_free(x);
    g_free(y);
    g_free(path);
}

static void test_same_seed_same_bytes(void)
{
    char *a = det_run("det-a", "42", NULL), *b = det_run("det-b", "42", NULL);
    expect_listing(a, "out", "events.tsv run.json samples.tsv");
    expect_listing(b, "out", "events.tsv run.json samples.tsv");
    expect_same_file(a, b, "events.tsv");
    expect_same_file(a, b, "samples.tsv");
    expect_same_file(a, b, "run.json");
    g_free(a);
    g_free(b);
}

static void test_other_seed_other_trace(void)
{
    char *a = det_run("seed-a", "42", NULL), *b = det_run("seed-b", "43", NULL);
    char *x = ns_test_read_file(a, "out/events.tsv"), *y = ns_test_read_file(b, "out/events.tsv");
    CU_ASSERT_TRUE(g_str_has_prefix(x, "time\tkind\tnode\tdetails\n0.000000000\tstep\tA\tk=1 "));
    CU_ASSERT_TRUE(g_str_has_prefix(y, "time\tkind\tnode\tdetails\n0.000000000\tstep\tA\tk=1 "));
    CU_ASSERT_STRING_NOT_EQUAL(x, y);
    g_free(x);
    g_free(y);
    g_free(a);
    g_free(b);
}

/* The rows of events.tsv whose node column is `node`, joined. */
static char *rows_of(const char *text, const char *node, unsigned *count)
{
    GString *s = g_string_new(NULL);
    char **lines = g_strsplit(text, "\n", -1);
    *count = 0;
    for (char **l = lines; *l; l++) {
        char **f = g_strsplit(*l, "\t", 4);
        if (g_strv_length(f) == 4 && strcmp(f[2], node) == 0) {
            g_string_append(s, *l);
            g_string_append_c(s, '\n');
            ++*count;
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    return g_string_free(s, FALSE);
}

static void test_extra_component_keeps_rows(void)
{
    char *a = det_run("comp-a", "7", NULL), *b = det_run("comp-b", "7", "extra=true");
    char *x = ns_test_read_file(a, "out/events.tsv"), *y = ns_test_read_file(b, "out/events.tsv");
    unsigned na, nb, nbb, nab;
    char *ra = rows_of(x, "A", &na), *rb = rows_of(y, "A", &nb);
    char *b_in_a = rows_of(x, "B", &nab), *b_in_b = rows_of(y, "B", &nbb);
    CU_ASSERT_EQUAL(na, 300);
    CU_ASSERT_EQUAL(nab, 0);
    CU_ASSERT_EQUAL(nbb, 300);            /* B really ran, interleaved */
    CU_ASSERT_STRING_EQUAL(ra, rb);
    CU_ASSERT_STRING_NOT_EQUAL(x, y);
    g_free(ra);
    g_free(rb);
    g_free(b_in_a);
    g_free(b_in_b);
    g_free(x);
    g_free(y);
    g_free(a);
    g_free(b);
}

void test_cli_register(void)
{
    CU_pSuite s = ns_test_suite("cli", NULL, NULL);
    ns_test_add(s, "missing script", test_missing_script);
    ns_test_add(s, "a folder as script", test_folder_script);
    ns_test_add(s, "Lua syntax error", test_syntax_error);
    ns_test_add(s, "runtime error in a callback", test_callback_error);
    ns_test_add(s, "wrong argument types", test_wrong_argument_type);
    ns_test_add(s, "negative and malformed times", test_bad_times);
    ns_test_add(s, "malformed and undeclared -D", test_bad_defines);
    ns_test_add(s, "seeds outside 0..2^64-1", test_bad_seeds);
    ns_test_add(s, "unknown option", test_unknown_option);
    ns_test_add(s, "unwritable --out", test_unwritable_out);
    ns_test_add(s, "--help and --version", test_help_version);
    ns_test_add(s, "--until caps a run", test_until_caps);
    ns_test_add(s, "--max-events caps a run", test_max_events_caps);
    ns_test_add(s, "a failed run leaves no outputs", test_failed_run_leaves_nothing);
    ns_test_add(s, "Ctrl-C exits 130 and commits nothing", test_interrupt);
    ns_test_add(s, "same seed, same bytes", test_same_seed_same_bytes);
    ns_test_add(s, "another seed changes events.tsv", test_other_seed_other_trace);
    ns_test_add(s, "another component keeps A's rows", test_extra_component_keeps_rows);
}
