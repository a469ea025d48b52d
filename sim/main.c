/* main.c — the netsim command: runs a Lua scenario.
 *
 *   netsim [options] SCENARIO.lua
 *
 * Exit status: 0 success (reaching --until or --max-events is a normal end,
 * said on stderr); 1 the scenario failed (Lua error, failed netsim.assert,
 * outputs could not be written); 2 usage error (bad option, unreadable
 * script, undeclared or malformed -D, unwritable --out); 130 interrupted
 * (Ctrl-C; no output is left half-written).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "netsim/cluster.h"
#include "netsim/luabind.h"
#include "netsim/output.h"

enum { EXIT_OK = 0, EXIT_SCENARIO = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

static volatile int interrupted;     /* the only static: a signal flag */

static void on_sigint(int sig)
{
    (void)sig;
    if (interrupted)                 /* second Ctrl-C: stop at once */
        _exit(EXIT_INTERRUPTED);
    interrupted = 1;
}

static const char usage_text[] =
"Usage: netsim [OPTIONS] SCENARIO.lua\n"
"       netsim sweep|explore ...   (netsim sweep --help)\n"
"Run a netsim scenario: a Lua script that builds a simulation and runs it.\n"
"\n"
"Options:\n"
"  --seed N           run seed (0..2^64-1); overrides netsim.new{seed=...}\n"
"  -D NAME=VALUE      override the scenario parameter NAME (repeatable);\n"
"                     values take units: 20ms, 1.5s, 10Mbps, 64KiB\n"
"  --out DIR          folder for every output (default: out/SCENARIO-NAME)\n"
"  --until TIME       stop every run at simulated TIME (e.g. 10s)\n"
"  --max-events N     stop after N events\n"
"  --quiet            print nothing on success (no summary, no progress)\n"
"  --version          print the version and exit\n"
"  -h, --help         print this help and exit\n"
"\n"
"Exit status: 0 success, 1 scenario error or failed assertion,\n"
"2 usage error, 130 interrupted.\n"
"See README.md for the Lua API.\n";

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("netsim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see netsim --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

static void define_free(gpointer p)
{
    struct ns_lua_define *d = p;
    g_free(d->name);
    g_free(d->value);
    g_free(d);
}

static int parse_define(ns_lua_run *run, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return usage_error("-D %s: expected NAME=VALUE", text);
    for (const char *p = text; p < eq; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return usage_error("-D %s: '%.*s' is not a parameter name", text,
                               (int)(eq - text), text);
    struct ns_lua_define *d = g_new0(struct ns_lua_define, 1);
    d->name = g_strndup(text, (gsize)(eq - text));
    d->value = g_strdup(eq + 1);
    g_ptr_array_add(run->defines, d);
    return EXIT_OK;
}

/* Parses argv into run; returns EXIT_OK, EXIT_USAGE, or -1 for "done"
 * (--help, --version). */
static int parse_args(int argc, char **argv, ns_lua_run *run, char **out_dir)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return -1;
        } else if (strcmp(a, "--version") == 0) {
            printf("netsim %s\nOpen MPI (sweep --mpi): %s\n", NETSIM_VERSION,
                   ns_cluster_mpi_built() ? "yes" : "no (install libopenmpi-dev, make again)");
            return -1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            run->quiet = true;
        } else if (ns_cli_is_option(a, "--seed")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--seed")))
                return usage_error("--seed needs a value");
            guint64 seed;
            if (!g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, &seed, NULL))
                return usage_error("--seed %s: expected an integer between 0 and "
                                   "18446744073709551615", v);
            run->has_seed = true;
            run->seed = seed;
        } else if (strncmp(a, "-D", 2) == 0) {
            if (a[2])
                v = a + 2;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return usage_error("-D needs NAME=VALUE");
            if (parse_define(run, v) != EXIT_OK)
                return EXIT_USAGE;
        } else if (ns_cli_is_option(a, "--out")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--out")) || !*v)
                return usage_error("--out needs a folder");
            g_free(*out_dir);
            *out_dir = g_strdup(v);
        } else if (ns_cli_is_option(a, "--until")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--until")))
                return usage_error("--until needs a time");
            double s;
            GError *err = NULL;
            if (!ns_units_parse_as(v, NS_UNIT_TIME, &s, &err)) {
                int rc = usage_error("--until %s: %s", v, err->message);
                g_error_free(err);
                return rc;
            }
            run->until = ns_time_from_sec(s);
        } else if (ns_cli_is_option(a, "--max-events")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--max-events")))
                return usage_error("--max-events needs a number");
            guint64 n;
            if (!g_ascii_string_to_unsigned(v, 10, 1, G_MAXUINT64, &n, NULL))
                return usage_error("--max-events %s: expected a positive integer", v);
            run->max_events = n;
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 < argc && !run->scenario)
                run->scenario = argv[++i];
            if (i + 1 < argc)
                return usage_error("unexpected argument '%s'", argv[i + 1]);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (!run->scenario) {
            run->scenario = a;
        } else {
            return usage_error("unexpected argument '%s': one scenario per run", a);
        }
    }
    if (!run->scenario)
        return usage_error("no scenario given");
    return EXIT_OK;
}

/* out/<scenario file name without .lua> */
static char *default_out_dir(const char *scenario)
{
    char *base = g_path_get_basename(scenario);
    if (g_str_has_suffix(base, ".lua"))
        base[strlen(base) - 4] = '\0';
    char *dir = g_build_filename("out", base, NULL);
    g_free(base);
    return dir;
}

static int check_out_dir(const char *dir)
{
    if (g_mkdir_with_parents(dir, 0777) != 0)
        return usage_error("--out %s: cannot create the folder: %s", dir, g_strerror(errno));
    if (access(dir, W_OK) != 0)
        return usage_error("--out %s: the folder is not writable: %s", dir, g_strerror(errno));
    return EXIT_OK;
}

static int run_scenario(ns_lua_run *run)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fputs("netsim: out of memory\n", stderr);
        return EXIT_SCENARIO;
    }
    luaL_openlibs(L);
    ns_lua_run_install(L, run);
    ns_lua_sandbox(L, run->has_seed ? run->seed : 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_netsim);
    lua_setfield(L, -2, "netsim");
    lua_pop(L, 1);
    ns_lua_watchdog_install(L);

    int rc = EXIT_OK;
    int status = luaL_loadfile(L, run->scenario);
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, 0);
    if (status == LUA_OK) {
        /* A -D never matched (the scenario declared no parameters and never
         * ran) is still the user's mistake. */
        if (!run->params_declared && run->defines->len) {
            struct ns_lua_define *d = g_ptr_array_index(run->defines, 0);
            fprintf(stderr, "netsim: -D %s: the scenario declares no parameters "
                            "(it does not call netsim.params)\n", d->name);
            rc = EXIT_USAGE;
        }
    } else {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "netsim: %s\n", msg ? msg : "error object is not a string");
        rc = run->interrupted || interrupted ? EXIT_INTERRUPTED
           : run->usage_error               ? EXIT_USAGE
                                            : EXIT_SCENARIO;
    }
    GError *err = NULL;
    if (!ns_lua_run_finish(L, rc == EXIT_OK, &err)) {
        if (err) {
            fprintf(stderr, "netsim: %s\n", err->message);
            g_error_free(err);
        }
        if (rc == EXIT_OK)
            rc = EXIT_SCENARIO;
    }
    if (rc == EXIT_OK) {
        char t[NS_TIME_STRLEN];
        if (run->stopped_by_until)
            fprintf(stderr, "netsim: stopped at --until %s s\n", ns_time_format(run->until, t));
        if (run->stopped_by_max)
            fprintf(stderr, "netsim: stopped after --max-events %" G_GUINT64_FORMAT " events\n",
                    run->max_events);
        if (!run->quiet) {
            char *summary = ns_lua_run_summary(run);
            fputs(summary, stdout);
            g_free(summary);
        }
    }
    ns_lua_run_close(L);
    lua_close(L);
    return rc;
}

static void catch_interrupts(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* `netsim sweep|explore ...`, joining the MPI job first when --mpi asks
 * (before any thread starts, as MPI wants). */
static int sweep_main(int argc, char **argv)
{
    ns_cluster *cluster = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--mpi") != 0)
            continue;
        GError *err = NULL;
        if (!(cluster = ns_cluster_mpi_open(&argc, &argv, &err))) {
            fprintf(stderr, "netsim: %s\n", err->message);
            g_error_free(err);
            return EXIT_USAGE;
        }
        break;
    }
    int rc = ns_lua_sweep_main(argc - 1, argv + 1, &interrupted, cluster);
    ns_cluster_close(cluster);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "sweep") == 0 || strcmp(argv[1], "explore") == 0)) {
        catch_interrupts();
        return sweep_main(argc, argv);
    }
    ns_lua_run run = { 0 };
    run.until = NS_TIME_MAX;
    run.defines = g_ptr_array_new_with_free_func(define_free);
    run.sims = g_ptr_array_new();
    run.interrupt = &interrupted;
    char *out_dir = NULL;

    int rc = parse_args(argc, argv, &run, &out_dir);
    if (rc == -1) {
        rc = EXIT_OK;
        goto free_args;
    }
    if (rc != EXIT_OK)
        goto free_args;
    /* A folder passes access(R_OK) and leaves errno as it was. */
    bool is_dir = g_file_test(run.scenario, G_FILE_TEST_IS_DIR);
    if (is_dir || access(run.scenario, R_OK) != 0) {
        fprintf(stderr, "netsim: cannot read scenario '%s': %s\n", run.scenario,
                is_dir ? "is a folder" : g_strerror(errno));
        rc = EXIT_USAGE;
        goto free_args;
    }
    if (!out_dir)
        out_dir = default_out_dir(run.scenario);
    if ((rc = check_out_dir(out_dir)) != EXIT_OK)
        goto free_args;
    run.out_dir = out_dir;
    run.progress = !run.quiet && isatty(STDERR_FILENO);

    catch_interrupts();
    rc = run_scenario(&run);

free_args:
    g_ptr_array_free(run.sims, TRUE);
    g_ptr_array_free(run.defines, TRUE);
    g_free(run.params_json);
    g_free(run.results_json);
    g_free(out_dir);
    return rc;
}
