/* lua_util.c — argument checking shared by every binding: quantities with
 * units, options tables, GError conversion, "did you mean" suggestions.
 *
 * Invariant: every message produced here reads like Lua's own argument
 * errors and is independent of pairs() order (Lua 5.4 seeds its string
 * hashes from the clock, so iteration order changes between runs). */
#include <math.h>
#include <string.h>

#include "lua_sim.h"

/* An argument error about the value of option `key` (NULL: the argument
 * itself): "bad argument #1 to 'new' (option 'trace': ...)". */
static int option_error(lua_State *L, int arg, const char *key, const char *msg)
{
    if (key)
        msg = lua_pushfstring(L, "option '%s': %s", key, msg);
    return luaL_argerror(L, arg, msg);
}

/* The quantity at stack index idx, reported as argument `arg` (and option
 * `key` when it comes from an options table). */
static double check_quantity(lua_State *L, int idx, int arg, const char *key,
                             enum ns_unit_kind kind)
{
    idx = lua_absindex(L, idx);
    double v;
    int t = lua_type(L, idx);
    if (t == LUA_TNUMBER) {
        v = lua_tonumber(L, idx);
    } else if (t == LUA_TSTRING) {
        GError *err = NULL;
        if (!ns_units_parse_as(lua_tostring(L, idx), kind, &v, &err)) {
            lua_pushstring(L, err->message);
            g_error_free(err);
            return option_error(L, arg, key, lua_tostring(L, -1));
        }
    } else if (!key) {
        return luaL_typeerror(L, arg, ns_unit_kind_name(kind));
    } else {
        return ns__lua_option_typeerror(L, idx, arg, key, ns_unit_kind_name(kind));
    }
    if (!isfinite(v) || v < 0)
        return option_error(L, arg, key,
                            lua_pushfstring(L, "%s must be a finite number >= 0, got %s",
                                            ns_unit_kind_name(kind),
                                            luaL_tolstring(L, idx, NULL)));
    return v;
}

int ns__lua_option_typeerror(lua_State *L, int idx, int arg, const char *key,
                             const char *expected)
{
    return option_error(L, arg, key, lua_pushfstring(L, "%s expected, got %s", expected,
                                                     luaL_typename(L, idx)));
}

double ns_lua_check_quantity(lua_State *L, int arg, enum ns_unit_kind kind)
{
    return check_quantity(L, arg, arg, NULL, kind);
}

static ns_time_t to_time(lua_State *L, int arg, const char *key, double s)
{
    if (s > 9.2e9)
        option_error(L, arg, key, "time is too large (over 292 years)");
    return ns_time_from_sec(s);
}

ns_time_t ns_lua_check_time(lua_State *L, int arg)
{
    return to_time(L, arg, NULL, check_quantity(L, arg, arg, NULL, NS_UNIT_TIME));
}

ns_time_t ns__lua_check_time_option(lua_State *L, int idx, int arg, const char *key)
{
    return to_time(L, arg, key, check_quantity(L, idx, arg, key, NS_UNIT_TIME));
}

double ns_lua_check_rate(lua_State *L, int arg)
{
    return check_quantity(L, arg, arg, NULL, NS_UNIT_RATE);
}

double ns_lua_check_size(lua_State *L, int arg)
{
    return check_quantity(L, arg, arg, NULL, NS_UNIT_SIZE);
}

const char *ns_lua_check_payload(lua_State *L, int arg, uint32_t *len)
{
    if (lua_type(L, arg) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, arg, &n);
        luaL_argcheck(L, n <= UINT32_MAX, arg, "too long");
        *len = (uint32_t)n;
        return s;
    }
    double n = ns_lua_check_size(L, arg);
    luaL_argcheck(L, n <= UINT32_MAX, arg, "too large");
    *len = (uint32_t)n;
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    /* Optimal string alignment: edits plus adjacent transpositions, the
     * commonest typo ("laod" for "load"). */
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *ns_lua_suggest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    /* Close means at most a third of the word wrong (and at most 3 edits). */
    size_t len = strlen(word);
    size_t limit = len / 3 > 3 ? 3 : (len / 3 ? len / 3 : 1);
    return best_d <= limit ? best : NULL;
}

void ns_lua_check_options(lua_State *L, int idx, const char *fname,
                          const char *const *allowed)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    size_t nallowed = 0;
    while (allowed[nallowed])
        nallowed++;
    /* Collect the offending keys, then report the smallest: the message
     * must not depend on pairs() order. */
    char *worst = NULL;
    bool bad_type = false;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            bad_type = true;
            continue;
        }
        const char *k = lua_tostring(L, -1);
        bool ok = false;
        for (size_t i = 0; i < nallowed && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok && (!worst || strcmp(k, worst) < 0)) {
            g_free(worst);
            worst = g_strdup(k);
        }
    }
    if (worst) {
        const char *s = ns_lua_suggest(worst, allowed, nallowed);
        lua_pushfstring(L, "unknown option '%s' to '%s'", worst, fname);
        if (s)
            lua_pushfstring(L, " (did you mean '%s'?)", s);
        else
            lua_pushliteral(L, "");
        lua_concat(L, 2);
        g_free(worst);
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        lua_error(L);
    }
    if (bad_type)
        luaL_error(L, "options to '%s' must have string keys", fname);
}

int ns_lua_raise_gerror(lua_State *L, GError *err)
{
    luaL_where(L, 1);
    lua_pushstring(L, err ? err->message : "unknown error");
    if (err)
        g_error_free(err);
    lua_concat(L, 2);
    return lua_error(L);
}

/* ---- options tables ---- */

int ns_lua_opt_error(lua_State *L, int arg, const char *key, const char *msg)
{
    return option_error(L, arg, key, msg);
}

/* Pushes t[key]; false (nothing pushed) when it is nil. */
static bool opt_push(lua_State *L, int tbl, const char *key)
{
    if (lua_isnoneornil(L, tbl))
        return false;
    if (lua_getfield(L, tbl, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    return true;
}

ns_time_t ns_lua_opt_time(lua_State *L, int tbl, int arg, const char *key, ns_time_t def)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    ns_time_t v = ns__lua_check_time_option(L, -1, arg, key);
    lua_pop(L, 1);
    return v;
}

static double opt_quantity(lua_State *L, int tbl, int arg, const char *key, double def,
                           enum ns_unit_kind kind)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    double v = check_quantity(L, -1, arg, key, kind);
    lua_pop(L, 1);
    return v;
}

double ns_lua_opt_rate(lua_State *L, int tbl, int arg, const char *key, double def)
{
    return opt_quantity(L, tbl, arg, key, def, NS_UNIT_RATE);
}

double ns_lua_opt_size(lua_State *L, int tbl, int arg, const char *key, double def)
{
    return opt_quantity(L, tbl, arg, key, def, NS_UNIT_SIZE);
}

double ns_lua_opt_number(lua_State *L, int tbl, int arg, const char *key, double def)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    if (lua_type(L, -1) != LUA_TNUMBER)
        return ns__lua_option_typeerror(L, -1, arg, key, "number");
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

lua_Integer ns_lua_opt_integer(lua_State *L, int tbl, int arg, const char *key, lua_Integer def)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    int isnum = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
        return ns__lua_option_typeerror(L, -1, arg, key, "integer");
    lua_pop(L, 1);
    return v;
}

bool ns_lua_opt_bool(lua_State *L, int tbl, int arg, const char *key, bool def)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        return ns__lua_option_typeerror(L, -1, arg, key, "boolean");
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

const char *ns_lua_opt_string(lua_State *L, int tbl, int arg, const char *key, const char *def)
{
    tbl = lua_absindex(L, tbl);
    if (!opt_push(L, tbl, key))
        return def;
    if (lua_type(L, -1) != LUA_TSTRING)
        return ns__lua_option_typeerror(L, -1, arg, key, "string") ? NULL : NULL;
    const char *v = lua_tostring(L, -1);      /* anchored in the table */
    lua_pop(L, 1);
    return v;
}

/* ---- handles ---- */

void *ns_lua_new_handle(lua_State *L, int sim_idx, size_t size, const char *tname)
{
    sim_idx = lua_absindex(L, sim_idx);
    ns__lua_sim_check(L, sim_idx);
    void *p = lua_newuserdatauv(L, size, 1);
    memset(p, 0, size);
    lua_pushvalue(L, sim_idx);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, tname);
    return p;
}

void *ns_lua_check_handle(lua_State *L, int idx, const char *tname)
{
    void *p = luaL_checkudata(L, idx, tname);
    ns__lua_handle_sim(L, idx, NULL);
    return p;
}

void ns_lua_push_handle_sim(lua_State *L, int idx)
{
    lua_getiuservalue(L, idx, 1);
}

int ns_lua_ref_function(lua_State *L, int idx)
{
    luaL_checktype(L, idx, LUA_TFUNCTION);
    lua_pushvalue(L, idx);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void ns_lua_replace_callback(lua_State *L, int idx, ns_sim *sim, int *slot)
{
    int ref = ns_lua_ref_function(L, idx);
    ns_lua_unref(sim, *slot);
    *slot = ref;
}

void ns_lua_new_type(lua_State *L, const char *tname, const luaL_Reg *methods)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
