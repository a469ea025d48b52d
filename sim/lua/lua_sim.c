/* lua_sim.c — the netsim.Sim and netsim.Event types: creating a
 * simulation from Lua, scheduling Lua callbacks, running.
 *
 * Invariants:
 *  - A callback is held by a registry reference from the moment it is
 *    scheduled until it fires or is cancelled, and no longer.
 *  - The first Lua error inside a callback stops the run; sim:run then
 *    raises that same message ("script:line: ..."), so the error reaches the
 *    user pointing at the callback's line.
 *  - The sim pointer lives in the userdata, never in a C global.
 */
#include <string.h>

#include "lua_sim.h"
#include "netsim/event.h"
#include "netsim/oracle.h"
#include "netsim/output.h"
#include "netsim/trace.h"

#define LUA_SIM_KEY "lua.sim"     /* the ns_lua_sim, attached to its ns_sim */
#define DEFAULT_CALLBACK_LIMIT 100000000u    /* ~1 s of Lua: an endless loop */

struct ns_lua_cb {
    struct ns_lua_sim *ls;
    int                ref;          /* the function, in the registry */
    ns_event_id        id;
};

struct ns_lua_event {                /* netsim.Event userdata; uservalue 1: the Sim */
    ns_event_id        id;
};

bool ns__lua_sim_commit(struct ns_lua_sim *ls, GError **error);

struct ns_lua_sim *ns__lua_sim_check(lua_State *L, int idx)
{
    struct ns_lua_sim **p = luaL_checkudata(L, idx, NS_LUA_SIM);
    if (!*p || !(*p)->sim)
        luaL_error(L, "attempt to use a closed simulation");
    return *p;
}

struct ns_lua_sim *ns_lua_check_lsim(lua_State *L, int idx)
{
    return ns__lua_sim_check(L, idx);
}

struct ns_lua_sim *ns__lua_handle_sim(lua_State *L, int idx, const char *closed_msg)
{
    lua_getiuservalue(L, idx, 1);
    struct ns_lua_sim **p = lua_touserdata(L, -1);
    lua_pop(L, 1);                 /* still anchored by the handle */
    if (!p || !*p || !(*p)->sim)
        luaL_error(L, "%s", closed_msg ? closed_msg : "attempt to use a closed simulation");
    return *p;
}

ns_sim *ns_lua_check_sim(lua_State *L, int idx)
{
    return ns__lua_sim_check(L, idx)->sim;
}

static void cb_free(gpointer p)
{
    struct ns_lua_cb *cb = p;
    luaL_unref(cb->ls->main, LUA_REGISTRYINDEX, cb->ref);
    g_free(cb);
}

void ns__lua_sim_destroy(lua_State *L, struct ns_lua_sim *ls)
{
    if (!ls)
        return;
    if (ls->handle)
        *ls->handle = NULL;                    /* its handles now see "closed" */
    if (ls->pending)
        g_hash_table_destroy(ls->pending);     /* unrefs the callbacks */
    ns_sim_free(ls->sim);                      /* aborts uncommitted outputs */
    g_free(ls->error);
    g_free(ls->out_dir);
    g_free(ls);
}

/* ---- netsim.new ---------------------------------------------------- */

static const char *const new_options[] = {
    "seed", "out", "trace", "callback_limit", "violations", NULL
};

static uint64_t check_seed(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx))
        return (uint64_t)lua_tointeger(L, idx);   /* 2^63.. wrap as in C */
    if (lua_type(L, idx) == LUA_TSTRING) {
        guint64 v;
        if (g_ascii_string_to_unsigned(lua_tostring(L, idx), 10, 0, G_MAXUINT64, &v, NULL))
            return v;
    }
    luaL_error(L, "seed must be an integer between 0 and 2^64-1, got %s",
               luaL_tolstring(L, idx, NULL));
    return 0;
}

/* netsim.new{violations = "fail" | "allow"}: whether an oracle's
 * violation fails the run (oracle.h). */
static bool check_violations(lua_State *L, int idx)
{
    static const char *const names[] = { "fail", "allow", NULL };
    if (lua_type(L, idx) != LUA_TSTRING)
        ns__lua_option_typeerror(L, idx, 1, "violations", "string");
    const char *v = lua_tostring(L, idx);
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i == 1;
    return luaL_error(L, "netsim.new: violations = '%s': expected 'fail' (an oracle's "
                         "violation fails the run) or 'allow'", v);
}

int ns__lua_sim_new(lua_State *L)
{
    ns_lua_run *run = ns_lua_run_get(L);
    uint64_t seed = 1;
    const char *out = ".";
    bool trace = true;
    uint64_t limit = DEFAULT_CALLBACK_LIMIT;
    bool allow_violations = false;

    if (!lua_isnoneornil(L, 1)) {
        ns_lua_check_options(L, 1, "new", new_options);
        if (lua_getfield(L, 1, "seed") != LUA_TNIL)
            seed = check_seed(L, -1);
        if (lua_getfield(L, 1, "out") != LUA_TNIL) {
            if (lua_type(L, -1) != LUA_TSTRING)
                ns__lua_option_typeerror(L, -1, 1, "out", "string");
            out = lua_tostring(L, -1);
        }
        if (lua_getfield(L, 1, "trace") != LUA_TNIL) {
            if (lua_type(L, -1) != LUA_TBOOLEAN)
                ns__lua_option_typeerror(L, -1, 1, "trace", "boolean");
            trace = lua_toboolean(L, -1);
        }
        if (lua_getfield(L, 1, "callback_limit") != LUA_TNIL) {
            if (!lua_isinteger(L, -1))
                ns__lua_option_typeerror(L, -1, 1, "callback_limit", "integer");
            lua_Integer n = lua_tointeger(L, -1);
            luaL_argcheck(L, n >= 0, 1, "callback_limit must be >= 0");
            limit = (uint64_t)n;
        }
        if (lua_getfield(L, 1, "violations") != LUA_TNIL)
            allow_violations = check_violations(L, -1);
    }
    if (run) {
        if (run->has_seed)
            seed = run->seed;
        if (run->out_dir)
            out = run->out_dir;
        /* Two sims in one folder would overwrite each other's files. */
        for (guint i = 0; i < run->sims->len; i++) {
            const struct ns_lua_sim *other = g_ptr_array_index(run->sims, i);
            if (strcmp(other->out_dir, out) == 0)
                return luaL_error(L, "netsim.new: another simulation of this run already "
                                     "writes its outputs to '%s' (under the netsim command "
                                     "a run has one simulation)", out);
        }
    }

    struct ns_lua_sim **ud = lua_newuserdatauv(L, sizeof *ud, 1);
    *ud = NULL;                        /* safe state before acquiring */
    luaL_setmetatable(L, NS_LUA_SIM);

    struct ns_lua_sim *ls = g_new0(struct ns_lua_sim, 1);
    ls->sim = ns_sim_new(seed);
    ns_sim_attach(ls->sim, LUA_SIM_KEY, ls, NULL);   /* model callbacks find it */
    ls->run = run;
    ls->L = L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    ls->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    ls->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, cb_free);
    ls->callback_limit = limit;
    if (allow_violations)
        ns_oracle_allow(ls->sim, true);
    ls->out_dir = g_strdup(out);
    ls->last_stop = NS_STOP_EMPTY;
    ls->handle = ud;
    *ud = ls;
    if (run)
        g_ptr_array_add(run->sims, ls);   /* the run owns it from now on */

    GError *err = NULL;
    if (!ns_output_set_dir(ls->sim, out, &err) ||
        (trace && !ns_trace_enable(ls->sim, NULL, &err)))
        return ns_lua_raise_gerror(L, err);
    if (run && run->interrupt)
        ns_sim_set_interrupt_flag(ls->sim, run->interrupt);
    return 1;
}

/* ---- scheduling ---------------------------------------------------- */

/* ---- calls from model code ---- */

void ns_lua_unref(ns_sim *sim, int ref)
{
    struct ns_lua_sim *ls = ns_sim_attached(sim, LUA_SIM_KEY);
    if (ls && ref != LUA_NOREF && ref != LUA_REFNIL)
        luaL_unref(ls->main, LUA_REGISTRYINDEX, ref);
}

lua_State *ns_lua_call_begin(ns_sim *sim, int ref)
{
    struct ns_lua_sim *ls = ns_sim_attached(sim, LUA_SIM_KEY);
    if (!ls || ls->error || ref == LUA_NOREF || ref == LUA_REFNIL)
        return NULL;
    lua_State *T = ls->L;
    lua_rawgeti(T, LUA_REGISTRYINDEX, ref);
    return T;
}

lua_State *ns_lua_thread(ns_sim *sim)
{
    struct ns_lua_sim *ls = ns_sim_attached(sim, LUA_SIM_KEY);
    return ls && !ls->error ? ls->L : NULL;
}

bool ns_lua_call_results(ns_sim *sim, lua_State *T, int nargs, int nresults)
{
    struct ns_lua_sim *ls = ns_sim_attached(sim, LUA_SIM_KEY);
    ns__lua_watchdog_enter(T, ls->callback_limit);
    int rc = lua_pcall(T, nargs, nresults, 0);
    ns__lua_watchdog_leave(T);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(T, -1);
        ls->error = g_strdup(msg ? msg : "error object is not a string");
        lua_pop(T, 1);
        ns_sim_stop(sim);
        return false;
    }
    return true;
}

void ns_lua_call_end(ns_sim *sim, lua_State *T, int nargs)
{
    ns_lua_call_results(sim, T, nargs, 0);
}

static void fire_lua(ns_sim *sim, void *arg)
{
    struct ns_lua_cb *cb = arg;
    struct ns_lua_sim *ls = cb->ls;
    lua_State *L = ls->L;
    g_hash_table_steal(ls->pending, GUINT_TO_POINTER(cb->id.slot));
    lua_rawgeti(L, LUA_REGISTRYINDEX, cb->ref);
    luaL_unref(L, LUA_REGISTRYINDEX, cb->ref);
    g_free(cb);
    if (ls->error) {
        lua_pop(L, 1);
        return;
    }
    ns__lua_watchdog_enter(L, ls->callback_limit);
    int rc = lua_pcall(L, 0, 0, 0);
    ns__lua_watchdog_leave(L);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        ls->error = g_strdup(msg ? msg : "error object is not a string");
        lua_pop(L, 1);
        ns_sim_stop(sim);
    }
}

static int schedule(lua_State *L, ns_time_t at)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    ns_time_t now = ns_sim_now(ls->sim);
    if (at < now) {
        char a[NS_TIME_STRLEN], n[NS_TIME_STRLEN];
        return luaL_error(L, "cannot schedule at %s s: it is before now (%s s)",
                          ns_time_format(at, a), ns_time_format(now, n));
    }
    struct ns_lua_cb *cb = g_new0(struct ns_lua_cb, 1);
    cb->ls = ls;
    lua_pushvalue(L, 3);
    cb->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    cb->id = ns_event_at(ls->sim, at, fire_lua, cb, 0, NULL);
    g_hash_table_replace(ls->pending, GUINT_TO_POINTER(cb->id.slot), cb);

    struct ns_lua_event *ev = lua_newuserdatauv(L, sizeof *ev, 1);
    ev->id = cb->id;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);   /* keeps the sim alive while the handle is */
    luaL_setmetatable(L, NS_LUA_EVENT);
    return 1;
}

/* sim:at(time, fn): fn() runs at absolute simulated time `time`. */
static int sim_at(lua_State *L)
{
    ns__lua_sim_check(L, 1);
    return schedule(L, ns_lua_check_time(L, 2));
}

/* sim:after(delay, fn): fn() runs `delay` after now. */
static int sim_after(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    ns_time_t d = ns_lua_check_time(L, 2);
    ns_time_t now = ns_sim_now(ls->sim);
    if (d > NS_TIME_MAX - now)
        return luaL_argerror(L, 2, "delay is too large");
    return schedule(L, now + d);
}

static int event_cancel(lua_State *L)
{
    struct ns_lua_event *ev = luaL_checkudata(L, 1, NS_LUA_EVENT);
    struct ns_lua_sim *ls = ns__lua_handle_sim(L, 1, NULL);
    bool was = ns_event_cancel(ls->sim, ev->id);
    if (was)
        g_hash_table_remove(ls->pending, GUINT_TO_POINTER(ev->id.slot));
    lua_pushboolean(L, was);
    return 1;
}

static int event_pending(lua_State *L)
{
    struct ns_lua_event *ev = luaL_checkudata(L, 1, NS_LUA_EVENT);
    struct ns_lua_sim *ls = ns__lua_handle_sim(L, 1, NULL);
    lua_pushboolean(L, ns_event_is_pending(ls->sim, ev->id));
    return 1;
}

static int event_tostring(lua_State *L)
{
    struct ns_lua_event *ev = luaL_checkudata(L, 1, NS_LUA_EVENT);
    lua_getiuservalue(L, 1, 1);
    struct ns_lua_sim **p = lua_touserdata(L, -1);
    const char *state = "closed";
    if (p && *p && (*p)->sim)
        state = ns_event_is_pending((*p)->sim, ev->id) ? "pending" : "done";
    lua_pushfstring(L, "netsim.Event(%s)", state);
    return 1;
}

/* ---- running --------------------------------------------------------- */

static void show_progress(ns_sim *sim, void *ud)
{
    struct ns_lua_sim *ls = ud;
    if (!ls->run || !ls->run->progress)
        return;
    gint64 wall = g_get_monotonic_time();
    if (wall - ls->wall_start < G_USEC_PER_SEC || wall - ls->wall_last < G_USEC_PER_SEC / 4)
        return;
    ls->wall_last = wall;
    double secs = (double)(wall - ls->wall_start) / G_USEC_PER_SEC;
    char now[NS_TIME_STRLEN];
    ns_time_format(ns_sim_now(sim), now);
    if (ls->run->until != NS_TIME_MAX) {
        char u[NS_TIME_STRLEN];
        fprintf(stderr, "\r\033[Knetsim: t=%.3f s of %.3f s, %.2f M events/s",
                g_ascii_strtod(now, NULL), g_ascii_strtod(ns_time_format(ls->run->until, u), NULL),
                (double)ns_sim_events_run(sim) / secs / 1e6);
    } else {
        fprintf(stderr, "\r\033[Knetsim: t=%.3f s, %.2f M events/s",
                g_ascii_strtod(now, NULL), (double)ns_sim_events_run(sim) / secs / 1e6);
    }
    fflush(stderr);
}

/* sim:run([until]): runs until time `until` (absolute) or until no event is
 * left; --until and --max-events cap it.  Returns why it stopped:
 * "empty", "until", "stopped", "max-events". */
static int sim_run(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    ns_time_t until = lua_isnoneornil(L, 2) ? NS_TIME_MAX : ns_lua_check_time(L, 2);
    if (ns_sim_is_running(ls->sim))
        return luaL_error(L, "sim:run called from inside a callback");
    if (until < ns_sim_now(ls->sim))
        return luaL_argerror(L, 2, "time is before now");
    ns_lua_run *run = ls->run;
    uint64_t max = 0;
    bool capped_time = false;
    if (run) {
        ns__lua_params_check_unused(L);
        if (run->until < until) {
            until = run->until;
            capped_time = true;
        }
        if (run->max_events) {
            uint64_t done = ns_sim_events_run(ls->sim);
            if (done >= run->max_events) {
                lua_pushstring(L, "max-events");
                return 1;
            }
            max = run->max_events - done;
        }
    }
    ls->ran = true;
    ls->L = L;
    ls->wall_start = ls->wall_last = g_get_monotonic_time();
    ns_sim_set_poll(ls->sim, show_progress, ls, 1u << 16);
    enum ns_stop_reason why = ns_sim_run(ls->sim, until, max);
    if (run && run->progress && g_get_monotonic_time() - ls->wall_start >= G_USEC_PER_SEC)
        fprintf(stderr, "\r\033[K");
    ls->last_stop = why;
    if (ls->error) {
        lua_pushstring(L, ls->error);
        return lua_error(L);
    }
    if (ns_oracle_failed(ls->sim))
        return luaL_error(L, "%s (a what-if that shows this on purpose sets "
                             "netsim.new{violations = \"allow\"})", ns_oracle_first(ls->sim));
    if (why == NS_STOP_INTERRUPT) {
        if (run)
            run->interrupted = true;
        return luaL_error(L, "interrupted");
    }
    if (run && why == NS_STOP_UNTIL && capped_time)
        run->stopped_by_until = true;
    if (run && why == NS_STOP_MAX_EVENTS)
        run->stopped_by_max = true;
    lua_pushstring(L, ns_stop_reason_name(why));
    return 1;
}

static int sim_stop(lua_State *L)
{
    ns_sim_stop(ns_lua_check_sim(L, 1));
    return 0;
}

/* sim:now(): simulated time in seconds (a float). */
static int sim_now(lua_State *L)
{
    lua_pushnumber(L, ns_time_to_sec(ns_sim_now(ns_lua_check_sim(L, 1))));
    return 1;
}

/* sim:now_ns(): simulated time in integer nanoseconds. */
static int sim_now_ns(lua_State *L)
{
    lua_pushinteger(L, ns_sim_now(ns_lua_check_sim(L, 1)));
    return 1;
}

static int sim_seed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)ns_sim_seed(ns_lua_check_sim(L, 1)));
    return 1;
}

static int sim_events(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)ns_sim_events_run(ns_lua_check_sim(L, 1)));
    return 1;
}

static int sim_pending(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)ns_event_pending_strong(ns_lua_check_sim(L, 1)));
    return 1;
}

static int sim_out_dir(lua_State *L)
{
    lua_pushstring(L, ns__lua_sim_check(L, 1)->out_dir);
    return 1;
}

/* Under stock Lua the userdata owns the sim: closing commits its outputs.
 * Under the netsim command the run owns it and commits at the end. */
static int sim_close(lua_State *L)
{
    struct ns_lua_sim **p = luaL_checkudata(L, 1, NS_LUA_SIM);
    struct ns_lua_sim *ls = *p;
    if (!ls || ls->run)
        return 0;
    *p = NULL;
    GError *err = NULL;
    bool ok = ls->error || ns__lua_sim_commit(ls, &err);
    ns__lua_sim_destroy(L, ls);
    if (!ok)
        return ns_lua_raise_gerror(L, err);
    return 0;
}

/* __gc (collected) and __close (end of a `local s <close>` scope). */
static int sim_finalize(lua_State *L, bool collected)
{
    struct ns_lua_sim **p = luaL_checkudata(L, 1, NS_LUA_SIM);
    if (ns_lua_run_get(L)) {         /* the run owns (and frees) its sims */
        if (collected && *p)
            (*p)->handle = NULL;     /* the slot goes away with the userdata */
        return 0;
    }
    struct ns_lua_sim *ls = *p;
    if (!ls)
        return 0;
    *p = NULL;
    if (!ls->error)
        ns__lua_sim_commit(ls, NULL);
    ns__lua_sim_destroy(L, ls);
    return 0;
}

static int sim_gc(lua_State *L)
{
    return sim_finalize(L, true);
}

static int sim_tbc(lua_State *L)
{
    return sim_finalize(L, false);
}

static int sim_tostring(lua_State *L)
{
    struct ns_lua_sim **p = luaL_checkudata(L, 1, NS_LUA_SIM);
    if (!*p || !(*p)->sim)
        lua_pushliteral(L, "netsim.Sim(closed)");
    else
        lua_pushfstring(L, "netsim.Sim(seed=%I)", (lua_Integer)ns_sim_seed((*p)->sim));
    return 1;
}

static const luaL_Reg sim_methods[] = {
    { "at",       sim_at },
    { "after",    sim_after },
    { "run",      sim_run },
    { "stop",     sim_stop },
    { "now",      sim_now },
    { "now_ns",   sim_now_ns },
    { "seed",     sim_seed },
    { "events",   sim_events },
    { "pending",  sim_pending },
    { "out_dir",  sim_out_dir },
    { "close",    sim_close },
    { NULL, NULL }
};

static const luaL_Reg sim_meta[] = {
    { "__gc",       sim_gc },
    { "__close",    sim_tbc },
    { "__tostring", sim_tostring },
    { NULL, NULL }
};

static const luaL_Reg event_methods[] = {
    { "cancel",     event_cancel },
    { "pending",    event_pending },
    { "__tostring", event_tostring },
    { NULL, NULL }
};

void ns__lua_sim_open(lua_State *L)
{
    luaL_newmetatable(L, NS_LUA_SIM);
    luaL_setfuncs(L, sim_meta, 0);
    luaL_setfuncs(L, sim_methods, 0);
    ns__lua_trace_methods(L);
    ns__lua_rng_methods(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, NS_LUA_EVENT);
    luaL_setfuncs(L, event_methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
