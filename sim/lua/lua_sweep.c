/* lua_sweep.c — `netsim sweep` and `netsim explore`: many runs of one
 * scenario on every core, each in a fresh lua_State with its own
 * ns_lua_run, and the results table they fill.
 *
 * Invariant: a run shares nothing with the others but the read-only job
 * description; workers take jobs in run order from one atomic counter and
 * write only their own row, so the answer (results.tsv, the lowest failing
 * seed) cannot depend on -j or on which thread finished first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "lua_sweep.h"

static void define_free(gpointer p)
{
    struct ns_lua_define *d = p;
    g_free(d->name);
    g_free(d->value);
    g_free(d);
}

static int no_print(lua_State *L)
{
    (void)L;
    return 0;
}

/* Removes a folder and the files in it (outputs are flat files). */
static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *p = g_build_filename(dir, name, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR))
                remove_tree(p);
            else
                g_unlink(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_rmdir(dir);
}

/* runs/cc=reno,loss=0.01 (characters a path cannot hold become '_'). */
static char *point_dir(const struct sweep *sw, uint64_t point)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < sw->grid->params->len; i++) {
        const struct ns_sweep_param *p = g_ptr_array_index(sw->grid->params, i);
        g_string_append_printf(s, "%s%s=%s", i ? "," : "", p->name,
                               ns_sweep_grid_value(sw->grid, point, i));
    }
    if (!s->len)
        g_string_append(s, "default");
    for (char *c = s->str; *c; c++)
        if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20)
            *c = '_';
    if (strcmp(s->str, ".") == 0 || strcmp(s->str, "..") == 0)
        g_string_append_c(s, '_');
    return g_string_free(s, FALSE);
}

static void set_row_error(struct ns_sweep_row *row, const char *msg)
{
    row->status = NS_SWEEP_FAILED;
    g_free(row->error);
    row->error = g_strdup(msg ? msg : "error object is not a string");
}

void ns__sweep_fill_params(const struct sweep *sw, struct ns_sweep_row *row)
{
    g_ptr_array_set_size(row->params, 0);
    for (guint i = 0; i < sw->grid->params->len; i++)
        g_ptr_array_add(row->params, g_strdup(ns_sweep_grid_value(sw->grid, row->point, i)));
}

/* One run of the scenario for row's point and seed, in a fresh lua_State;
 * fills the row. */
bool ns__sweep_run_one(struct sweep *sw, struct ns_sweep_row *row, const char *tmp_dir,
                       char **usage)
{
    gint64 t0 = g_get_monotonic_time();
    ns_lua_run run = { 0 };
    run.scenario = sw->scenario;
    run.has_seed = true;
    run.seed = row->seed;
    run.until = sw->until;
    run.max_events = sw->max_events;
    run.quiet = true;
    run.interrupt = sw->interrupt;
    run.defines = g_ptr_array_new_with_free_func(define_free);
    run.sims = g_ptr_array_new();
    for (guint i = 0; i < sw->grid->params->len; i++) {
        const struct ns_sweep_param *p = g_ptr_array_index(sw->grid->params, i);
        struct ns_lua_define *d = g_new0(struct ns_lua_define, 1);
        d->name = g_strdup(p->name);
        d->value = g_strdup(ns_sweep_grid_value(sw->grid, row->point, i));
        g_ptr_array_add(run.defines, d);
    }
    ns__sweep_fill_params(sw, row);
    char *keep_dir = NULL;
    if (sw->keep_outputs) {
        char *pd = point_dir(sw, row->point);
        char seed[32];
        g_snprintf(seed, sizeof seed, "seed-%" G_GUINT64_FORMAT, row->seed);
        keep_dir = g_build_filename(sw->out_dir, "runs", pd, seed, NULL);
        g_free(pd);
        g_mkdir_with_parents(keep_dir, 0777);
    }
    run.out_dir = keep_dir ? keep_dir : tmp_dir;

    bool usage_ok = true;
    lua_State *L = luaL_newstate();
    if (!L) {
        set_row_error(row, "out of memory");
        goto free_run;
    }
    luaL_openlibs(L);
    lua_pushcfunction(L, no_print);        /* 64 runs printing at once help no one */
    lua_setglobal(L, "print");
    ns_lua_run_install(L, &run);
    ns_lua_sandbox(L, run.seed);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_netsim);
    lua_setfield(L, -2, "netsim");
    lua_pop(L, 1);
    ns_lua_watchdog_install(L);

    int status = luaL_loadfile(L, run.scenario);
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, 0);
    bool ok = status == LUA_OK;
    if (!ok && run.usage_error) {
        *usage = g_strdup(lua_tostring(L, -1));
        usage_ok = false;
    } else if (ok && !run.params_declared && run.defines->len) {
        const struct ns_lua_define *d = g_ptr_array_index(run.defines, 0);
        *usage = g_strdup_printf("-D %s: the scenario declares no parameters "
                                 "(it does not call netsim.params)", d->name);
        usage_ok = false;
    } else if (!ok) {
        set_row_error(row, lua_tostring(L, -1));
    } else if (!sw->explore && !run.results_json) {
        set_row_error(row, "the scenario reported no result: call "
                           "netsim.result{name = value, ...} for a sweep");
        ok = false;
    }
    for (guint i = 0; i < run.sims->len; i++) {
        const struct ns_lua_sim *ls = g_ptr_array_index(run.sims, i);
        if (ls->sim)
            row->events += ns_sim_events_run(ls->sim);
    }
    GError *err = NULL;
    /* Without --keep-outputs every output is aborted: nothing is kept. */
    if (!ns_lua_run_finish(L, ok && sw->keep_outputs, &err) && ok && sw->keep_outputs) {
        set_row_error(row, err ? err->message : "outputs could not be written");
        ok = false;
    }
    g_clear_error(&err);
    if (ok && run.results_json) {
        if (ns_sweep_row_set_results(row, run.results_json, &err)) {
            ns_sweep_row_rename_clashes(sw->table, row);
            row->status = NS_SWEEP_OK;
        } else {
            set_row_error(row, err->message);
        }
        g_clear_error(&err);
    } else if (ok) {
        row->status = NS_SWEEP_OK;
    }
    /* An interrupted run did not finish: it is not a result. */
    if (run.interrupted || (*sw->interrupt && row->status == NS_SWEEP_FAILED)) {
        row->status = NS_SWEEP_PENDING;
        g_ptr_array_set_size(row->params, 0);
    }
    ns_lua_run_close(L);
    lua_close(L);
free_run:
    row->wall_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_ptr_array_free(run.sims, TRUE);
    g_ptr_array_free(run.defines, TRUE);
    g_free(run.params_json);
    g_free(run.results_json);
    g_free(keep_dir);
    return usage_ok;
}

struct ns_sweep_row *ns__sweep_next_job(struct sweep *sw, guint *k)
{
    if (*sw->interrupt || g_atomic_int_get(&sw->stop))
        return NULL;
    *k = (guint)g_atomic_int_add(&sw->next, 1);
    if (*k >= sw->jobs->len)
        return NULL;
    struct ns_sweep_row *row = g_ptr_array_index(sw->jobs, *k);
    if (sw->explore && !sw->all) {
        /* Jobs go out in seed order: every seed below a failure found is
         * already taken, so stopping here keeps the lowest one. */
        g_mutex_lock(&sw->lock);
        bool past = sw->found && row->seed > sw->min_fail;
        g_mutex_unlock(&sw->lock);
        if (past)
            return NULL;
    }
    return row;
}

void ns__sweep_count(struct sweep *sw, const struct ns_sweep_row *row)
{
    if (row->status == NS_SWEEP_FAILED) {
        g_mutex_lock(&sw->lock);
        sw->failures++;
        if (!sw->found || row->seed < sw->min_fail) {
            sw->found = true;
            sw->min_fail = row->seed;
        }
        g_mutex_unlock(&sw->lock);
    }
    g_atomic_int_inc(&sw->done);
}

void ns__sweep_usage(struct sweep *sw, char *msg)
{
    g_mutex_lock(&sw->lock);
    if (!sw->usage_msg)
        sw->usage_msg = msg;
    else
        g_free(msg);
    g_mutex_unlock(&sw->lock);
    g_atomic_int_set(&sw->stop, 1);
}

char *ns__sweep_scratch_dir(const struct sweep *sw)
{
    if (sw->keep_outputs)
        return NULL;
    char *tmp = g_dir_make_tmp("netsim-sweep-XXXXXX", NULL);
    return tmp ? tmp : g_strdup(g_get_tmp_dir());     /* outputs are aborted anyway */
}

void ns__sweep_scratch_free(const struct sweep *sw, char *tmp)
{
    if (tmp && !sw->keep_outputs && strcmp(tmp, g_get_tmp_dir()) != 0)
        remove_tree(tmp);
    g_free(tmp);
}

static gpointer worker(gpointer data)
{
    struct sweep *sw = data;
    char *tmp = ns__sweep_scratch_dir(sw);
    guint k;
    struct ns_sweep_row *row;
    while ((row = ns__sweep_next_job(sw, &k))) {
        char *usage = NULL;
        if (!ns__sweep_run_one(sw, row, tmp, &usage)) {
            ns__sweep_usage(sw, usage);
            break;
        }
        ns__sweep_count(sw, row);
    }
    ns__sweep_scratch_free(sw, tmp);
    g_mutex_lock(&sw->lock);
    sw->alive--;
    g_cond_signal(&sw->finished);
    g_mutex_unlock(&sw->lock);
    return NULL;
}

void ns__sweep_progress(const struct sweep *sw, gint64 t0, bool last)
{
    guint done = (guint)g_atomic_int_get((gint *)&sw->done), total = sw->jobs->len;
    double el = (double)(g_get_monotonic_time() - t0) / 1e6;
    double rate = el > 0 ? done / el : 0;
    fprintf(stderr, "\r%s: %u/%u runs, %.1f runs/s", sw->explore ? "explore" : "sweep",
            done, total, rate);
    if (rate > 0 && !last)
        fprintf(stderr, ", %.0f s left", (total - done) / rate);
    fputs(last ? "\n" : "   ", stderr);
    fflush(stderr);
}

/* Runs every job on sw->jobs_n threads, and on the cluster's other ranks
 * when there is one; shows progress on a terminal. */
static void run_jobs(struct sweep *sw)
{
    bool show = !sw->quiet && isatty(STDERR_FILENO);
    gint64 t0 = g_get_monotonic_time();
    unsigned n = sw->jobs_n;
    if (n > sw->jobs->len)
        n = sw->jobs->len ? sw->jobs->len : 1;
    GThread **threads = g_new0(GThread *, n);
    sw->alive = n;
    for (unsigned i = 0; i < n; i++)
        threads[i] = g_thread_new("netsim-run", worker, sw);
    if (sw->cluster && sw->cluster->size > 1)
        ns__sweep_coordinate(sw, t0, show);
    g_mutex_lock(&sw->lock);
    while (sw->alive) {
        gint64 until = g_get_monotonic_time() + G_TIME_SPAN_SECOND / 2;
        if (!g_cond_wait_until(&sw->finished, &sw->lock, until) && show) {
            g_mutex_unlock(&sw->lock);
            ns__sweep_progress(sw, t0, false);
            g_mutex_lock(&sw->lock);
        }
    }
    g_mutex_unlock(&sw->lock);
    for (unsigned i = 0; i < n; i++)
        g_thread_join(threads[i]);
    g_free(threads);
    if (show)
        ns__sweep_progress(sw, t0, true);
}

/* ---- the command line ---- */

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

static int gerror_usage(GError *err)
{
    int rc = usage_error("%s", err->message);
    g_error_free(err);
    return rc;
}

static const char sweep_usage[] =
"Usage: netsim sweep SCENARIO.lua [-D NAME=VALUES]... [--seeds A..B] [OPTIONS]\n"
"       netsim sweep --merge DIR... [--out DIR]\n"
"       netsim explore SCENARIO.lua --seeds A..B [-D NAME=VALUE]... [-j N] [--all]\n"
"\n"
"VALUES: a list (reno,cubic), a linear range (10ms:200ms:5) or a log range\n"
"(0.001:0.05:log8), N points with both ends; repeat -D NAME=VALUE for values\n"
"containing commas.\n"
"\n"
"  --seeds A..B       seeds of every point (default 1)\n"
"  -j N               parallel runs (default: the number of cores)\n"
"  --out DIR          results.tsv, summary.tsv, timings.tsv (default out/NAME-sweep)\n"
"  --keep-outputs     keep each run's outputs under DIR/runs/POINT/seed-N/\n"
"  --resume           skip the runs already in DIR/results.tsv\n"
"  --shard I/N        run only the I-th of N shares of the runs\n"
"  --merge DIR...     join shards' results.tsv into --out\n"
"  --all              explore: run every seed and count failures\n"
"  --mpi              spread the runs over the ranks of an MPI job:\n"
"                     mpirun -np N netsim sweep ... --mpi (rank 0 writes the\n"
"                     results; -j is then threads per rank, default 1)\n"
"  --until TIME, --max-events N, --quiet   as for a single run\n"
"\n"
"Exit status: 0 every run succeeded (explore: no failing seed), 1 some run\n"
"failed (explore: a failing seed found), 2 usage error, 130 interrupted.\n";

static int merge_main(const char *out_dir, GPtrArray *dirs)
{
    if (!dirs->len)
        return usage_error("--merge needs at least one folder");
    g_autofree char *first = g_build_filename(g_ptr_array_index(dirs, 0), "results.tsv", NULL);
    GError *err = NULL;
    GPtrArray *names = ns_sweep_read_param_names(first, &err);
    if (!names)
        return gerror_usage(err);
    g_autoptr(ns_sweep_table) t = ns_sweep_table_new(names);
    g_ptr_array_free(names, TRUE);
    for (guint i = 0; i < dirs->len; i++) {
        g_autofree char *p = g_build_filename(g_ptr_array_index(dirs, i), "results.tsv", NULL);
        if (!ns_sweep_table_read(t, p, &err))
            return gerror_usage(err);
    }
    /* timings.tsv too, when every shard has one (a row's wall time is
     * looked up by point and seed, so each shard's file fills its rows). */
    bool timings = true;
    for (guint i = 0; i < dirs->len && timings; i++) {
        g_autofree char *p = g_build_filename(g_ptr_array_index(dirs, i), "timings.tsv", NULL);
        timings = ns_sweep_table_read_timings(t, p, NULL);
    }
    if (g_mkdir_with_parents(out_dir, 0777) != 0)
        return usage_error("--out %s: cannot create the folder: %s", out_dir, g_strerror(errno));
    if (!ns_sweep_table_write(t, out_dir, timings, &err)) {
        fprintf(stderr, "netsim: %s\n", err->message);
        g_error_free(err);
        return EXIT_FAILED;
    }
    for (guint i = 0; i < t->rows->len; i++)
        if (((struct ns_sweep_row *)g_ptr_array_index(t->rows, i))->status != NS_SWEEP_OK)
            return EXIT_FAILED;
    return EXIT_OK;
}

/* --resume: keeps the finished rows of DIR/results.tsv, which must come from
 * the same grid. */
static int load_previous(struct sweep *sw, GHashTable *have)
{
    g_autofree char *path = g_build_filename(sw->out_dir, "results.tsv", NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return EXIT_OK;
    GError *err = NULL;
    if (!ns_sweep_table_read(sw->table, path, &err))
        return gerror_usage(err);
    /* Kept rows keep their wall times where the earlier timings.tsv has them. */
    g_autofree char *tpath = g_build_filename(sw->out_dir, "timings.tsv", NULL);
    ns_sweep_table_read_timings(sw->table, tpath, NULL);
    uint64_t npoints = ns_sweep_grid_points(sw->grid);
    for (guint i = 0; i < sw->table->rows->len; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(sw->table->rows, i);
        bool same = r->point < npoints;
        for (guint j = 0; same && j < r->params->len; j++)
            same = strcmp(g_ptr_array_index(r->params, j),
                          ns_sweep_grid_value(sw->grid, r->point, j)) == 0;
        if (!same)
            return usage_error("--resume: %s holds point %" G_GUINT64_FORMAT
                               " of another grid", path, r->point);
        g_hash_table_add(have, g_strdup_printf("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                               r->point, r->seed));
    }
    return EXIT_OK;
}

/* The single-run command that replays seed `seed` of an exploration. */
static char *replay_command(const struct sweep *sw, uint64_t seed)
{
    GPtrArray *defs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < sw->grid->params->len; i++) {
        const struct ns_sweep_param *p = g_ptr_array_index(sw->grid->params, i);
        g_ptr_array_add(defs, g_strdup_printf("%s=%s", p->name,
                                              (const char *)g_ptr_array_index(p->values, 0)));
    }
    char *cmd = ns_cli_replay_command(seed, defs, sw->until, sw->max_events, NULL,
                                      sw->scenario);
    g_ptr_array_free(defs, TRUE);
    return cmd;
}

static int parse(struct sweep *sw, int argc, char **argv, GPtrArray *merge, bool *merging,
                 char **out_dir)
{
    const char *cmd = argv[0];
    bool explore = sw->explore;
    bool seeds_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        GError *err = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(sweep_usage, stdout);
            return -1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            sw->quiet = true;
        } else if (!explore && strcmp(a, "--keep-outputs") == 0) {
            sw->keep_outputs = true;
        } else if (!explore && strcmp(a, "--resume") == 0) {
            sw->resume = true;
        } else if (strcmp(a, "--mpi") == 0) {
            sw->mpi = true;                /* main() joined the MPI job */
        } else if (explore && strcmp(a, "--all") == 0) {
            sw->all = true;
        } else if (!explore && strcmp(a, "--merge") == 0) {
            *merging = true;
            while (i + 1 < argc && argv[i + 1][0] != '-')
                g_ptr_array_add(merge, argv[++i]);
        } else if (strncmp(a, "-D", 2) == 0) {
            v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
            if (!v)
                return usage_error("-D needs NAME=VALUES");
            if (!ns_sweep_grid_add(sw->grid, v, &err))
                return gerror_usage(err);
        } else if (ns_cli_is_option(a, "--seeds")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--seeds")))
                return usage_error("--seeds needs FIRST..LAST");
            if (!ns_sweep_parse_seeds(v, &sw->seed_first, &sw->seed_last, &err))
                return gerror_usage(err);
            seeds_given = true;
        } else if (strncmp(a, "-j", 2) == 0) {
            v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
            guint64 n;
            if (!v || !g_ascii_string_to_unsigned(v, 10, 1, 4096, &n, NULL))
                return usage_error("-j %s: expected a number of parallel runs (1..4096)",
                                   v ? v : "");
            sw->jobs_n = (unsigned)n;
        } else if (!explore && ns_cli_is_option(a, "--shard")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--shard")))
                return usage_error("--shard needs I/N");
            if (!ns_sweep_parse_shard(v, &sw->shard_i, &sw->shard_n, &err))
                return gerror_usage(err);
        } else if (ns_cli_is_option(a, "--out")) {
            if (!(v = ns_cli_option_value(argc, argv, &i, "--out")) || !*v)
                return usage_error("--out needs a folder");
            g_free(*out_dir);
            *out_dir = g_strdup(v);
        } else if (ns_cli_is_option(a, "--until")) {
            double s;
            if (!(v = ns_cli_option_value(argc, argv, &i, "--until")))
                return usage_error("--until needs a time");
            if (!ns_units_parse_as(v, NS_UNIT_TIME, &s, &err))
                return gerror_usage(err);
            sw->until = ns_time_from_sec(s);
        } else if (ns_cli_is_option(a, "--max-events")) {
            guint64 n;
            if (!(v = ns_cli_option_value(argc, argv, &i, "--max-events")) ||
                !g_ascii_string_to_unsigned(v, 10, 1, G_MAXUINT64, &n, NULL))
                return usage_error("--max-events needs a positive integer");
            sw->max_events = n;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("%s: unknown option '%s'", cmd, a);
        } else if (!sw->scenario) {
            sw->scenario = a;
        } else {
            return usage_error("%s: unexpected argument '%s': one scenario", cmd, a);
        }
    }
    if (*merging && sw->mpi)
        return usage_error("--merge runs in one process: drop --mpi");
    if (*merging)
        return sw->scenario ? usage_error("--merge takes result folders, not a scenario")
                            : EXIT_OK;
    if (!sw->scenario)
        return usage_error("%s: no scenario given", cmd);
    if (explore && !seeds_given)
        return usage_error("explore needs --seeds FIRST..LAST");
    if (explore) {
        for (guint i = 0; i < sw->grid->params->len; i++) {
            const struct ns_sweep_param *p = g_ptr_array_index(sw->grid->params, i);
            if (p->values->len != 1)
                return usage_error("explore: -D %s has %u values; explore takes one per "
                                   "parameter (use sweep for grids)", p->name, p->values->len);
        }
    }
    /* The other ranks of a cluster take rank 0's word: their parse must
     * fail exactly when rank 0's does, so it reads nothing but argv (a
     * scenario they cannot read fails each of their runs instead). */
    if (sw->cluster && sw->cluster->rank != 0)
        return EXIT_OK;
    bool is_dir = g_file_test(sw->scenario, G_FILE_TEST_IS_DIR);
    if (is_dir || access(sw->scenario, R_OK) != 0) {
        fprintf(stderr, "netsim: cannot read scenario '%s': %s\n", sw->scenario,
                is_dir ? "is a folder" : g_strerror(errno));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* An empty results table with the grid's parameter columns. */
static ns_sweep_table *new_table(const struct sweep *sw)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < sw->grid->params->len; i++)
        g_ptr_array_add(names, ((struct ns_sweep_param *)g_ptr_array_index(sw->grid->params, i))->name);
    ns_sweep_table *t = ns_sweep_table_new(names);
    g_ptr_array_free(names, TRUE);
    return t;
}

/* Builds the job list: every (point, seed) of this shard not already done. */
static int make_jobs(struct sweep *sw)
{
    uint64_t npoints = ns_sweep_grid_points(sw->grid);
    uint64_t nseeds = sw->seed_last - sw->seed_first + 1;
    if (npoints > G_MAXINT / nseeds)
        return usage_error("%" G_GUINT64_FORMAT " points x %" G_GUINT64_FORMAT
                           " seeds is too many runs", npoints, nseeds);
    sw->table = new_table(sw);
    GHashTable *have = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = sw->resume ? load_previous(sw, have) : EXIT_OK;
    sw->jobs = g_ptr_array_new();
    for (uint64_t p = 0; rc == EXIT_OK && p < npoints; p++) {
        for (uint64_t s = 0; s < nseeds; s++) {
            uint64_t run = p * nseeds + s;
            if (sw->shard_n && run % sw->shard_n != sw->shard_i - 1)
                continue;
            char key[48];
            g_snprintf(key, sizeof key, "%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, p,
                       sw->seed_first + s);
            if (g_hash_table_contains(have, key))
                continue;
            g_ptr_array_add(sw->jobs, ns_sweep_table_add(sw->table, p, sw->seed_first + s));
        }
    }
    g_hash_table_destroy(have);
    return rc;
}

static char *default_out(const char *scenario)
{
    char *base = g_path_get_basename(scenario);
    if (g_str_has_suffix(base, ".lua"))
        base[strlen(base) - 4] = '\0';
    char *name = g_strconcat(base, "-sweep", NULL);
    char *dir = g_build_filename("out", name, NULL);
    g_free(base);
    g_free(name);
    return dir;
}

static int finish_explore(struct sweep *sw)
{
    if (*sw->interrupt && !sw->found)
        return EXIT_INTERRUPTED;
    if (!sw->found) {
        if (!sw->quiet)
            printf("explore: no failing seed in %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                   " (%d runs)\n", sw->seed_first, sw->seed_last, g_atomic_int_get(&sw->done));
        return EXIT_OK;
    }
    const struct ns_sweep_row *row = NULL;
    for (guint i = 0; i < sw->jobs->len && !row; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(sw->jobs, i);
        if (r->seed == sw->min_fail)
            row = r;
    }
    g_autofree char *cmd = replay_command(sw, sw->min_fail);
    printf("explore: seed %" G_GUINT64_FORMAT " fails: %s\n", sw->min_fail,
           row && row->error ? row->error : "?");
    if (sw->all)
        printf("explore: %" G_GUINT64_FORMAT " of %d seeds fail\n", sw->failures,
               g_atomic_int_get(&sw->done));
    printf("replay: %s\n", cmd);
    return EXIT_FAILED;
}

int ns_lua_sweep_main(int argc, char **argv, volatile int *interrupt, ns_cluster *cluster)
{
    struct sweep sw = { 0 };
    sw.explore = strcmp(argv[0], "explore") == 0;
    sw.grid = ns_sweep_grid_new();
    sw.seed_first = sw.seed_last = 1;
    sw.cluster = cluster;
    sw.until = NS_TIME_MAX;
    sw.interrupt = interrupt;
    g_mutex_init(&sw.lock);
    g_cond_init(&sw.finished);
    /* GLib defines the quark lazily in a static: make it before threads race. */
    (void)ns_error_quark();
    (void)g_get_tmp_dir();                 /* the same: cached on first call */
    GPtrArray *merge = g_ptr_array_new();
    bool merging = false;
    char *out_dir = NULL;
    bool release = false;
    int rc = parse(&sw, argc, argv, merge, &merging, &out_dir);
    if (rc == -1) {
        rc = EXIT_OK;
        goto done;
    }
    if (rc != EXIT_OK)
        goto done;
    if (merging) {
        rc = merge_main(out_dir ? out_dir : "out/merged", merge);
        goto done;
    }
    bool spread = cluster && cluster->size > 1;
    if (!sw.jobs_n)                    /* MPI users start one rank per core */
        sw.jobs_n = spread ? 1 : g_get_num_processors();
    if (!out_dir)
        out_dir = default_out(sw.scenario);
    sw.out_dir = out_dir;
    if (cluster && cluster->rank != 0) {
        sw.table = new_table(&sw);
        rc = ns__sweep_serve(&sw);
        goto done;
    }
    /* From here the other ranks are waiting for work: every way out of
     * rank 0 must tell them to stop. */
    release = spread;
    if (!sw.explore && g_mkdir_with_parents(out_dir, 0777) != 0) {
        rc = usage_error("--out %s: cannot create the folder: %s", out_dir, g_strerror(errno));
        goto done;
    }
    if ((rc = make_jobs(&sw)) != EXIT_OK)
        goto done;
    run_jobs(&sw);
    release = false;
    if (sw.usage_msg) {
        fprintf(stderr, "netsim: %s\n", sw.usage_msg);
        rc = EXIT_USAGE;
        goto done;
    }
    if (sw.explore) {
        rc = finish_explore(&sw);
        goto done;
    }
    GError *err = NULL;
    if (!ns_sweep_table_write(sw.table, out_dir, true, &err)) {
        fprintf(stderr, "netsim: %s\n", err->message);
        g_error_free(err);
        rc = EXIT_FAILED;
        goto done;
    }
    guint failed = 0;
    for (guint i = 0; i < sw.table->rows->len; i++) {
        const struct ns_sweep_row *r = g_ptr_array_index(sw.table->rows, i);
        if (r->status == NS_SWEEP_FAILED) {
            if (!failed++)
                fprintf(stderr, "netsim: run of point %" G_GUINT64_FORMAT " seed %"
                        G_GUINT64_FORMAT " failed: %s\n", r->point, r->seed, r->error);
        }
    }
    if (failed)
        fprintf(stderr, "netsim: %u of %u runs failed (see %s/results.tsv)\n", failed,
                sw.table->rows->len, out_dir);
    else if (!sw.quiet)
        printf("sweep: %u runs, results in %s/: results.tsv summary.tsv timings.tsv\n",
               sw.table->rows->len, out_dir);
    rc = *interrupt ? EXIT_INTERRUPTED : failed ? EXIT_FAILED : EXIT_OK;
done:
    if (release) {
        g_atomic_int_set(&sw.stop, 1);
        ns__sweep_coordinate(&sw, 0, false);
    }
    if (sw.jobs)
        g_ptr_array_free(sw.jobs, TRUE);
    ns_sweep_table_free(sw.table);
    ns_sweep_grid_free(sw.grid);
    g_free(sw.usage_msg);
    g_mutex_clear(&sw.lock);
    g_cond_clear(&sw.finished);
    g_ptr_array_free(merge, TRUE);
    g_free(out_dir);
    return rc;
}
