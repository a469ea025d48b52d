/* lua_trace.c — traces from Lua: sim:trace{...} chooses what the event log
 * keeps, sim:log adds a row to it, sim:table opens a named-column table
 * (netsim.Table) that t:row(...) appends to.
 *
 * Invariant: a details table is written with its keys sorted, so a row's
 * bytes never depend on pairs() order. */
#include <string.h>

#include "lua_sim.h"
#include "netsim/trace.h"

#define NS_LUA_TABLE "netsim.Table"

struct ns_lua_table {                 /* uservalue 1: the Sim */
    ns_table          *t;             /* owned by the sim: valid while it is open */
};

const char **ns__lua_sorted_keys(lua_State *L, int idx, const char *fname, size_t *n);

/* A NULL-terminated array of strings from a Lua list, as a userdata on the
 * stack (so an error cannot leak it). */
static const char **check_string_list(lua_State *L, int idx, const char *what)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char **v = lua_newuserdatauv(L, 2 * sizeof *v, 0);
        v[0] = lua_tostring(L, idx);
        v[1] = NULL;
        return v;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be a string or a list of strings", what);
    lua_Integer n = luaL_len(L, idx);
    const char **v = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            v[i - 1] = lua_tostring(L, -1);      /* anchored in the list */
        } else {
            luaL_error(L, "%s[%d] must be a string, got %s", what, (int)i, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
    v[n] = NULL;
    return v;
}

static const char *const trace_options[] = { "kinds", "nodes", "from", "to", NULL };

/* sim:trace{ kinds = {...}, nodes = {...}, from = t, to = t } narrows the
 * event log; sim:trace(false) turns it off, sim:trace(true) on again. */
static int sim_trace(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    GError *err = NULL;
    if (lua_type(L, 2) == LUA_TBOOLEAN) {
        if (!lua_toboolean(L, 2))
            ns_trace_disable(ls->sim);
        else if (!ns_trace_enable(ls->sim, NULL, &err))
            return ns_lua_raise_gerror(L, err);
        return 0;
    }
    ns_lua_check_options(L, 2, "trace", trace_options);
    if (!ns_trace_enable(ls->sim, NULL, &err))
        return ns_lua_raise_gerror(L, err);
    if (lua_getfield(L, 2, "kinds") != LUA_TNIL)
        ns_trace_set_kinds(ls->sim, check_string_list(L, -1, "kinds"));
    if (lua_getfield(L, 2, "nodes") != LUA_TNIL)
        ns_trace_set_nodes(ls->sim, check_string_list(L, -1, "nodes"));
    ns_time_t from = 0, to = NS_TIME_MAX;
    if (lua_getfield(L, 2, "from") != LUA_TNIL)
        from = ns__lua_check_time_option(L, -1, 2, "from");
    if (lua_getfield(L, 2, "to") != LUA_TNIL)
        to = ns__lua_check_time_option(L, -1, 2, "to");
    if (to < from)
        return luaL_error(L, "trace window is empty: 'to' is before 'from'");
    ns_trace_set_window(ls->sim, from, to);
    return 0;
}

/* sim:log(kind, node, details): details is a string or a table written as
 * "k=v k=v" with sorted keys. */
static int sim_log(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    const char *kind = luaL_checkstring(L, 2);
    const char *node = luaL_checkstring(L, 3);
    if (!ns_trace_on(ls->sim, kind, node))
        return 0;
    if (lua_isnoneornil(L, 4)) {
        ns_trace_event(ls->sim, kind, node, "%s", "");
    } else if (lua_type(L, 4) == LUA_TTABLE) {
        size_t n;
        const char **keys = ns__lua_sorted_keys(L, 4, "log", &n);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (size_t i = 0; i < n; i++) {
            if (i)
                luaL_addchar(&b, ' ');
            luaL_addstring(&b, keys[i]);
            luaL_addchar(&b, '=');
            lua_getfield(L, 4, keys[i]);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        ns_trace_event(ls->sim, kind, node, "%s", lua_tostring(L, -1));
    } else {
        ns_trace_event(ls->sim, kind, node, "%s", luaL_checkstring(L, 4));
    }
    return 0;
}

/* sim:table(name, { "col", ... }) -> netsim.Table writing <name>.tsv with
 * columns time, col, ...  */
static int sim_table(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    const char *name = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    const char **cols = check_string_list(L, 3, "columns");
    if (!cols[0])
        return luaL_argerror(L, 3, "a table needs at least one column");
    for (const char **c = cols; *c; c++)
        if (strcmp(*c, "time") == 0)
            return luaL_argerror(L, 3, "'time' is implicit: the first column is always time");
    GError *err = NULL;
    ns_table *t = ns_table_open(ls->sim, name, cols, &err);
    if (!t)
        return ns_lua_raise_gerror(L, err);
    struct ns_lua_table *ud = lua_newuserdatauv(L, sizeof *ud, 1);
    ud->t = t;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);       /* the sim outlives the handle */
    luaL_setmetatable(L, NS_LUA_TABLE);
    return 1;
}

/* t:row(v1, v2, ...): one value per column (numbers or strings), written
 * at the current simulated time. */
static int table_row(lua_State *L)
{
    struct ns_lua_table *ud = luaL_checkudata(L, 1, NS_LUA_TABLE);
    ns__lua_handle_sim(L, 1, "attempt to use a table of a closed simulation");
    int n = lua_gettop(L) - 1;
    if ((size_t)n != ns_table_ncolumns(ud->t))
        return luaL_error(L, "row has %d values, table has %d columns (after time)",
                          n, (int)ns_table_ncolumns(ud->t));
    for (int i = 2; i <= n + 1; i++) {
        int t = lua_type(L, i);
        if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
            return luaL_typeerror(L, i, "number or string");
    }
    ns_table_begin(ud->t);
    for (int i = 2; i <= n + 1; i++) {
        if (lua_isinteger(L, i))
            ns_table_i64(ud->t, lua_tointeger(L, i));
        else if (lua_type(L, i) == LUA_TNUMBER)
            ns_table_f64(ud->t, lua_tonumber(L, i));
        else if (lua_type(L, i) == LUA_TBOOLEAN)
            ns_table_str(ud->t, lua_toboolean(L, i) ? "true" : "false");
        else
            ns_table_str(ud->t, lua_tostring(L, i));
    }
    ns_table_end(ud->t);
    return 0;
}

static int table_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, NS_LUA_TABLE);
    lua_pushliteral(L, "netsim.Table");
    return 1;
}

static const luaL_Reg sim_trace_methods[] = {
    { "trace", sim_trace },
    { "log",   sim_log },
    { "table", sim_table },
    { NULL, NULL }
};

static const luaL_Reg table_methods[] = {
    { "row",        table_row },
    { "__tostring", table_tostring },
    { NULL, NULL }
};

void ns__lua_trace_methods(lua_State *L)
{
    luaL_setfuncs(L, sim_trace_methods, 0);      /* into the Sim metatable */
    luaL_newmetatable(L, NS_LUA_TABLE);
    luaL_setfuncs(L, table_methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
