/* lua_run.c — the run: what the command line decided, handed to the module
 * through the registry, and the end of a run — committing every output and
 * writing run.json, the record that replays it.
 *
 * Invariant: run.json holds nothing that differs between two identical
 * runs (no wall-clock time, no host name), so golden tests can compare it. */
#include <string.h>

#include "lua_sim.h"
#include "netsim/output.h"

static const char RUN_KEY = 'R';

void ns_lua_run_install(lua_State *L, ns_lua_run *run)
{
    lua_pushlightuserdata(L, run);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &RUN_KEY);
}

ns_lua_run *ns_lua_run_get(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &RUN_KEY);
    ns_lua_run *run = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return run;
}


static void json_string(GString *js, const char *s)
{
    g_string_append_c(js, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            g_string_append_printf(js, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf(js, "\\u%04x", c);
        else
            g_string_append_c(js, (char)c);
    }
    g_string_append_c(js, '"');
}

/* The command that replays this run exactly. */
static char *replay_command(const ns_lua_run *run, const struct ns_lua_sim *ls)
{
    GPtrArray *defs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < run->defines->len; i++) {
        const struct ns_lua_define *d = g_ptr_array_index(run->defines, i);
        g_ptr_array_add(defs, g_strdup_printf("%s=%s", d->name, d->value));
    }
    char *cmd = ns_cli_replay_command(ns_sim_seed(ls->sim), defs, run->until,
                                      run->max_events, ls->out_dir, run->scenario);
    g_ptr_array_free(defs, TRUE);
    return cmd;
}

static bool write_run_json(const ns_lua_run *run, const struct ns_lua_sim *ls,
                           GError **error)
{
    ns_output *o = ns_output_open(ls->sim, "run.json", error);
    if (!o)
        return false;
    GString *js = g_string_new("{\n");
    g_string_append_printf(js, "  \"netsim\": \"%s\",\n", NETSIM_VERSION);
    g_string_append(js, "  \"scenario\": ");
    if (run && run->scenario) {
        json_string(js, run->scenario);
        char *text = NULL;
        gsize len = 0;
        g_string_append(js, ",\n  \"scenario_sha256\": ");
        if (g_file_get_contents(run->scenario, &text, &len, NULL)) {
            char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
            json_string(js, sum);
            g_free(sum);
            g_free(text);
        } else {
            g_string_append(js, "null");
        }
    } else {
        g_string_append(js, "null");
    }
    g_string_append_printf(js, ",\n  \"seed\": %" G_GUINT64_FORMAT ",\n", ns_sim_seed(ls->sim));
    g_string_append_printf(js, "  \"parameters\": %s,\n",
                           run && run->params_json ? run->params_json : "{}");
    char t[NS_TIME_STRLEN];
    g_string_append_printf(js, "  \"end\": {\"time_s\": \"%s\", \"events\": %" G_GUINT64_FORMAT
                               ", \"reason\": \"%s\"},\n",
                           ns_time_format(ns_sim_now(ls->sim), t),
                           ns_sim_events_run(ls->sim), ns_stop_reason_name(ls->last_stop));
    g_string_append_printf(js, "  \"results\": %s,\n",
                           run && run->results_json ? run->results_json : "{}");
    g_string_append(js, "  \"replay\": ");
    if (run && run->scenario) {
        char *cmd = replay_command(run, ls);
        json_string(js, cmd);
        g_free(cmd);
    } else {
        g_string_append(js, "null");
    }
    g_string_append(js, "\n}\n");
    fwrite(js->str, 1, js->len, ns_output_file(o));
    g_string_free(js, TRUE);
    return true;
}

bool ns_lua_run_finish(lua_State *L, bool ok, GError **error)
{
    ns_lua_run *run = ns_lua_run_get(L);
    g_return_val_if_fail(run != NULL, false);
    bool good = ok;
    for (guint i = 0; i < run->sims->len; i++) {
        struct ns_lua_sim *ls = g_ptr_array_index(run->sims, i);
        if (good && !ls->error) {
            if (!write_run_json(run, ls, error) || !ns_output_commit_all(ls->sim, error))
                good = false;
        }
    }
    /* Abort what was not committed (all of it after a failure). */
    for (guint i = 0; i < run->sims->len; i++) {
        struct ns_lua_sim *ls = g_ptr_array_index(run->sims, i);
        if (!good)
            ns_output_abort_all(ls->sim);
    }
    return good;
}

/* Used by the stock-Lua path (sim:close / __gc). */
bool ns__lua_sim_commit(struct ns_lua_sim *ls, GError **error);
bool ns__lua_sim_commit(struct ns_lua_sim *ls, GError **error)
{
    return write_run_json(NULL, ls, error) && ns_output_commit_all(ls->sim, error);
}

char *ns_lua_run_summary(const ns_lua_run *run)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < run->sims->len; i++) {
        const struct ns_lua_sim *ls = g_ptr_array_index(run->sims, i);
        const GPtrArray *files = ns_output_committed(ls->sim);
        if (!files || files->len == 0)
            continue;
        g_string_append_printf(out, "outputs in %s/:", ns_output_dir(ls->sim));
        for (guint j = 0; j < files->len; j++)
            g_string_append_printf(out, " %s", (const char *)g_ptr_array_index(files, j));
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

void ns_lua_run_close(lua_State *L)
{
    ns_lua_run *run = ns_lua_run_get(L);
    if (!run)
        return;
    for (guint i = 0; i < run->sims->len; i++)
        ns__lua_sim_destroy(L, g_ptr_array_index(run->sims, i));
    g_ptr_array_set_size(run->sims, 0);
}

/* ---- the command line ---- */

bool ns_cli_is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *ns_cli_option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* One word of a command line, shell-quoted unless it is plainly safe. */
static void append_arg(GString *cmd, const char *arg)
{
    bool plain = *arg != '\0';
    for (const char *p = arg; *p && plain; p++)
        plain = g_ascii_isalnum(*p) || strchr("-_./=:,+@%", *p);
    g_string_append_c(cmd, ' ');
    if (plain) {
        g_string_append(cmd, arg);
    } else {
        char *q = g_shell_quote(arg);
        g_string_append(cmd, q);
        g_free(q);
    }
}

char *ns_cli_replay_command(uint64_t seed, const GPtrArray *defines, ns_time_t until,
                            uint64_t max_events, const char *out_dir, const char *scenario)
{
    GString *cmd = g_string_new("netsim");
    char buf[64];
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, seed);
    append_arg(cmd, "--seed");
    append_arg(cmd, buf);
    for (guint i = 0; i < defines->len; i++) {
        append_arg(cmd, "-D");
        append_arg(cmd, g_ptr_array_index(defines, i));
    }
    if (until != NS_TIME_MAX) {
        char t[NS_TIME_STRLEN + 1];
        ns_time_format(until, t);
        strcat(t, "s");
        append_arg(cmd, "--until");
        append_arg(cmd, t);
    }
    if (max_events) {
        g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, max_events);
        append_arg(cmd, "--max-events");
        append_arg(cmd, buf);
    }
    if (out_dir) {
        append_arg(cmd, "--out");
        append_arg(cmd, out_dir);
    }
    append_arg(cmd, scenario);
    return g_string_free(cmd, FALSE);
}
