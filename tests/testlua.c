/* testlua.c — running Lua snippets in-process for the suites that test
 * the Lua API (test_lua.c, test_net_lua.c, test_tcp_lua.c, ...): one way
 * to build a scenario-like state, one way to run a chunk. */
#include <string.h>
#include <lualib.h>

#include "netsim/luabind.h"
#include "tests.h"

lua_State *ns_test_lua_state(ns_lua_run *run, uint64_t seed, const char *out)
{
    lua_State *L = luaL_newstate();
    CU_ASSERT_PTR_NOT_NULL_FATAL(L);
    luaL_openlibs(L);
    if (run)
        ns_lua_run_install(L, run);
    ns_lua_sandbox(L, seed);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_netsim);
    lua_setfield(L, -2, "netsim");
    lua_pop(L, 1);
    ns_lua_watchdog_install(L);
    CU_ASSERT_EQUAL_FATAL(luaL_dostring(L, "netsim = require 'netsim'"), LUA_OK);
    lua_pushstring(L, out);
    lua_setglobal(L, "OUT");
    return L;
}

char *ns_test_lua_chunk(lua_State *L, const char *code)
{
    int rc = luaL_loadbuffer(L, code, strlen(code), "@t.lua");
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 1, 0);
    char *r;
    if (rc == LUA_OK) {
        r = g_strdup(luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
    } else {
        const char *m = lua_tostring(L, -1);
        r = g_strdup_printf("error: %s", m ? m : "(not a string)");
    }
    lua_pop(L, 1);
    return r;
}
