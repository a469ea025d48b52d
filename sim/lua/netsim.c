/* netsim.c — the front door of the Lua module: require "netsim".
 *
 * It is the one binding file that knows every module: adding a protocol is
 * a folder under models/ plus one line in `openers` below.  The same code
 * builds into the netsim command and into build/netsim.so for the stock
 * lua5.4 interpreter.
 */
#include <string.h>

#include "lua_sim.h"
#include "netsim/time.h"

/* Model bindings register their metatables and Sim methods here. */
static void (*const openers[])(lua_State *L) = {
    ns__lua_sim_open,
    ns_lua_open_net,
    ns_lua_open_tcp,
    ns_lua_open_dhcp,
    ns_lua_open_tls,
    ns_lua_open_lock,
};

char *ns__lua_json_object(lua_State *L, int idx, const char **names, size_t n);
const char **ns__lua_sorted_keys(lua_State *L, int idx, const char *fname, size_t *n);

/* netsim.assert(cond, msg): fails the run (exit 1) with the caller's line
 * when cond is false or nil. */
static int l_assert(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_toboolean(L, 1)) {
        lua_settop(L, 1);
        return 1;
    }
    if (lua_isnoneornil(L, 2))
        return luaL_error(L, "assertion failed");
    return luaL_error(L, "assertion failed: %s", luaL_checkstring(L, 2));
}

/* netsim.result{ name = value, ... }: the run's result values, written to
 * run.json (and read by sweeps). */
static int l_result(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n;
    const char **names = ns__lua_sorted_keys(L, 1, "netsim.result", &n);
    ns_lua_run *run = ns_lua_run_get(L);
    if (run) {
        g_free(run->results_json);
        run->results_json = ns__lua_json_object(L, 1, names, n);
    }
    (void)names;
    return 0;
}

/* netsim.time("20ms") -> 0.02; netsim.rate("10Mbps") -> 1e7;
 * netsim.size("64KiB") -> 65536. */
static int l_time(lua_State *L)
{
    lua_pushnumber(L, ns_lua_check_quantity(L, 1, NS_UNIT_TIME));
    return 1;
}

static int l_rate(lua_State *L)
{
    lua_pushnumber(L, ns_lua_check_rate(L, 1));
    return 1;
}

static int l_size(lua_State *L)
{
    lua_pushnumber(L, ns_lua_check_size(L, 1));
    return 1;
}

static const luaL_Reg module_functions[] = {
    { "new",    ns__lua_sim_new },
    { "params", ns__lua_params },
    { "assert", l_assert },
    { "result", l_result },
    { "time",   l_time },
    { "rate",   l_rate },
    { "size",   l_size },
    { NULL, NULL }
};

extern const char ns__lua_shapes[];

/* Runs shapes.lua (compiled in) with the Sim and Host metatables: helpers
 * written in Lua on top of the API (dumbbell, chain, tcp_bulk's sink). */
static void open_shapes(lua_State *L)
{
    if (luaL_loadbuffer(L, ns__lua_shapes, strlen(ns__lua_shapes), "=netsim/shapes.lua") != LUA_OK)
        lua_error(L);
    luaL_getmetatable(L, "netsim.Sim");
    luaL_getmetatable(L, "netsim.Host");
    lua_call(L, 2, 0);
}

int luaopen_netsim(lua_State *L)
{
    for (size_t i = 0; i < G_N_ELEMENTS(openers); i++)
        openers[i](L);
    open_shapes(L);
    luaL_newlib(L, module_functions);
    lua_pushliteral(L, NETSIM_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
