/* test_process.c — netsim as a process among others: the module loaded by
 * the stock lua5.4 interpreter, and Ctrl-C leaving no half-written output.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "tests.h"

static char *write_scenario(const char *name, const char *text)
{
    char *path = g_build_filename(ns_test_tmpdir(), name, NULL);
    g_file_set_contents(path, text, -1, NULL);
    return path;
}

static size_t count_files(const char *dir)
{
    size_t n = 0;
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

/* require "netsim" from lua5.4 through package.cpath; the same API. */
static void test_stock_lua_require(void)
{
    char *lua = g_find_program_in_path("lua5.4");
    bool have = lua && g_file_test("build/netsim.so", G_FILE_TEST_EXISTS);
    g_free(lua);
    if (!have) {
        CU_FAIL("build/netsim.so or lua5.4 missing");
        return;
    }
    char *out = g_build_filename(ns_test_tmpdir(), "stock", NULL);
    char *code = g_strdup_printf(
        "package.cpath = 'build/?.so;' .. package.cpath\n"
        "local netsim = require 'netsim'\n"
        "local sim = netsim.new{ seed = 5, out = '%s' }\n"
        "local t = {}\n"
        "sim:at('2ms', function() t[#t+1] = sim:now_ns() end)\n"
        "sim:after(0.001, function() t[#t+1] = sim:now_ns() end)\n"
        "sim:log('x', 'n', { b = 2, a = 1 })\n"
        "assert(sim:run() == 'empty')\n"
        "sim:close()\n"
        "io.write(table.concat(t, ','), ' ', netsim.version)\n", out);
    char *argv[] = { "lua5.4", "-e", code, NULL };
    char *sout = NULL, *serr = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                      &sout, &serr, &status, &err));
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_TRUE(g_str_has_prefix(sout, "1000000,2000000 "));
    char *events = g_build_filename(out, "events.tsv", NULL);
    char *text = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(events, &text, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "0.000000000\tx\tn\ta=1 b=2\n"));
    g_free(text);
    g_free(events);
    g_free(sout);
    g_free(serr);
    g_free(code);
    g_free(out);
}

/* Starts netsim on `scenario`, sends SIGINT after `delay_ms`, returns the
 * exit code and stderr. */
static int run_and_interrupt(const char *scenario, const char *out, int delay_ms, char **serr)
{
    char *argv[] = { (char *)ns_test_netsim_bin(), "--out", (char *)out,
                     (char *)scenario, NULL };
    GPid pid;
    int err_fd;
    GError *err = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &pid, NULL, NULL, &err_fd, &err)) {
        g_error_free(err);
        return -1;
    }
    g_usleep((gulong)delay_ms * 1000);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    GString *e = g_string_new(NULL);
    char buf[512];
    ssize_t n;
    while ((n = read(err_fd, buf, sizeof buf)) > 0)
        g_string_append_len(e, buf, n);
    close(err_fd);
    *serr = g_string_free(e, FALSE);
    ns_test_no_sanitizer_report(scenario, *serr);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_interrupt_during_run(void)
{
    char *sc = write_scenario("forever.lua",
        "local netsim = require 'netsim'\n"
        "local sim = netsim.new()\n"
        "local t = sim:table('ticks', { 'n' })\n"
        "local n = 0\n"
        "local function tick() n = n + 1; t:row(n); sim:after('1us', tick) end\n"
        "sim:at(0, tick)\n"
        "sim:run()\n");
    char *out = g_build_filename(ns_test_tmpdir(), "forever-out", NULL);
    char *serr = NULL;
    int rc = run_and_interrupt(sc, out, 700, &serr);
    CU_ASSERT_EQUAL(rc, 130);
    CU_ASSERT_PTR_NOT_NULL(serr && strstr(serr, "interrupted"));
    CU_ASSERT_EQUAL(count_files(out), 0);     /* no .part, no half file */
    g_free(serr);
    g_free(out);
    g_free(sc);
}

static void test_interrupt_in_lua_loop(void)
{
    char *sc = write_scenario("loop.lua",
        "local netsim = require 'netsim'\n"
        "local sim = netsim.new()\n"
        "sim:log('k', 'n', 'before')\n"
        "while true do end\n");
    char *out = g_build_filename(ns_test_tmpdir(), "loop-out", NULL);
    char *serr = NULL;
    int rc = run_and_interrupt(sc, out, 500, &serr);
    CU_ASSERT_EQUAL(rc, 130);
    CU_ASSERT_PTR_NOT_NULL(serr && strstr(serr, "loop.lua:4: interrupted"));
    CU_ASSERT_EQUAL(count_files(out), 0);
    g_free(serr);
    g_free(out);
    g_free(sc);
}

void test_process_register(void)
{
    CU_pSuite s = ns_test_suite("process", NULL, NULL);
    ns_test_add(s, "stock lua5.4 requires build/netsim.so", test_stock_lua_require);
    ns_test_add(s, "Ctrl-C during a run: exit 130, no output left", test_interrupt_during_run);
    ns_test_add(s, "Ctrl-C in a Lua loop: exit 130 with the line", test_interrupt_in_lua_loop);
}
