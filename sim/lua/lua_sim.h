/* lua_sim.h — the netsim.Sim userdata, shared by the binding files in
 * sim/lua/ only.  Models reach it through luabind.h's ns_lua_check_sim. */
#ifndef NETSIM_LUA_SIM_H
#define NETSIM_LUA_SIM_H

#include "netsim/luabind.h"

#define NS_LUA_SIM   "netsim.Sim"
#define NS_LUA_EVENT "netsim.Event"

/* A Lua-side simulation.  Owned by the run (CLI) or by its userdata (stock
 * Lua); the userdata holds a pointer to it. */
struct ns_lua_sim {
    ns_sim      *sim;              /* NULL once closed */
    struct ns_lua_sim **handle;    /* the Sim userdata's slot, NULL once collected */
    ns_lua_run  *run;              /* NULL under stock lua5.4 */
    lua_State   *L;                /* the thread running sim:run, if any */
    lua_State   *main;             /* the main thread: registry refs */
    GHashTable  *pending;          /* event slot -> struct ns_lua_cb*, owned */
    char        *error;            /* first callback error, stops the run */
    uint64_t     callback_limit;   /* instructions per callback, 0 = none */
    char        *out_dir;          /* where outputs go */
    bool         committed;
    enum ns_stop_reason last_stop;
    bool         ran;              /* sim:run was called at least once */
    gint64       wall_start;       /* progress display only */
    gint64       wall_last;
};

struct ns_lua_sim *ns__lua_sim_check(lua_State *L, int idx);
/* Frees a sim's C state (pending callbacks included). */
void ns__lua_sim_destroy(lua_State *L, struct ns_lua_sim *ls);
void ns__lua_sim_open(lua_State *L);       /* metatables */
int  ns__lua_sim_new(lua_State *L);        /* netsim.new */

/* The sim behind a handle (Event, Rng, Table: uservalue 1 is the Sim
 * userdata); raises `closed_msg` once the sim is closed. */
struct ns_lua_sim *ns__lua_handle_sim(lua_State *L, int idx, const char *closed_msg);

/* Options-table values (lua_util.c): the value at stack index idx came
 * from option `key` of argument `arg`, and errors say so ("bad argument #1
 * to 'new' (option 'trace': boolean expected, got string)"). */
int  ns__lua_option_typeerror(lua_State *L, int idx, int arg, const char *key,
                              const char *expected);
ns_time_t ns__lua_check_time_option(lua_State *L, int idx, int arg, const char *key);

/* Parameters, trace, rng bindings (their own files). */
int  ns__lua_params(lua_State *L);         /* netsim.params */
void ns__lua_trace_methods(lua_State *L);  /* adds sim:trace/log/table */
void ns__lua_rng_methods(lua_State *L);    /* adds sim:rng */
void ns__lua_watchdog_enter(lua_State *L, uint64_t limit);
void ns__lua_watchdog_leave(lua_State *L);
/* Undeclared -D names: raises a usage error if any (needs params done). */
void ns__lua_params_check_unused(lua_State *L);

#endif
