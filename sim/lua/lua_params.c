/* lua_params.c — netsim.params{ name = default, ... }: a scenario's
 * parameters, typed by their defaults and overridden with -D name=value.
 *
 * A default's type fixes the parameter's: a number stays a number, a
 * boolean a boolean, a string with a unit ("40ms", "10Mbps", "64KiB")
 * becomes a number in SI base units (seconds, bit/s, bytes) and -D values
 * must carry a unit of the same kind (or none), any other string stays a
 * string.  Parameters are handled in name order, so messages and run.json
 * never depend on pairs() order.
 */
#include <math.h>
#include <string.h>

#include "lua_sim.h"
#include "netsim/trace.h"

enum ptype { P_NUMBER, P_BOOL, P_STRING, P_QUANTITY };

struct param {
    const char       *name;
    enum ptype        type;
    enum ns_unit_kind kind;       /* for P_QUANTITY */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A usage error: the user's command line is wrong, not the scenario. */
static int usage_error(lua_State *L, ns_lua_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    if (run)
        run->usage_error = true;
    return lua_error(L);
}

static struct ns_lua_define *find_define(ns_lua_run *run, const char *name)
{
    if (!run)
        return NULL;
    struct ns_lua_define *last = NULL;     /* the last -D of a name wins */
    for (guint i = 0; i < run->defines->len; i++) {
        struct ns_lua_define *d = g_ptr_array_index(run->defines, i);
        if (strcmp(d->name, name) == 0) {
            d->used = true;
            last = d;
        }
    }
    return last;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" };
    static const char *const no[] = { "false", "0", "no", "off" };
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) { *out = true; return true; }
        if (g_ascii_strcasecmp(s, no[i]) == 0) { *out = false; return true; }
    }
    return false;
}

/* Pushes the typed value of -D name=text, or raises a usage error. */
static void push_override(lua_State *L, ns_lua_run *run, const struct param *p,
                          const char *text)
{
    GError *err = NULL;
    double v;
    bool b = false;
    switch (p->type) {
    case P_STRING:
        lua_pushstring(L, text);
        return;
    case P_BOOL:
        if (!parse_bool(text, &b))
            usage_error(L, run, "-D %s=%s: expected true or false", p->name, text);
        lua_pushboolean(L, b);
        return;
    case P_NUMBER:
        if (!ns_units_parse_as(text, NS_UNIT_NUMBER, &v, &err)) {
            lua_pushstring(L, err->message);
            g_error_free(err);
            usage_error(L, run, "-D %s=%s: %s", p->name, text, lua_tostring(L, -1));
        }
        break;
    case P_QUANTITY:
        if (!ns_units_parse_as(text, p->kind, &v, &err)) {
            lua_pushstring(L, err->message);
            g_error_free(err);
            usage_error(L, run, "-D %s=%s: %s", p->name, text, lua_tostring(L, -1));
        }
        break;
    }
    /* Whole numbers stay integers so `for i = 1, p.flows` works. */
    if (p->type == P_NUMBER && strpbrk(text, ".eE") == NULL && v >= -0x1p63 && v < 0x1p63 &&
        v == (double)(lua_Integer)v)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, v);
}

static void json_value(GString *js, lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        g_string_append(js, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            g_string_append_printf(js, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            char buf[NS_DOUBLE_STRLEN];
            double d = lua_tonumber(L, idx);
            if (!isfinite(d))
                g_string_append(js, "null");
            else
                g_string_append(js, ns_trace_format_double(d, buf));
        }
        break;
    default: {
        const char *s = lua_tostring(L, idx);
        g_string_append_c(js, '"');
        for (; s && *s; s++) {
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
    }
}

/* Builds {"name": value, ...} from the table at idx with sorted keys
 * `names` (used for run.json's parameters and results). */
char *ns__lua_json_object(lua_State *L, int idx, const char **names, size_t n);
char *ns__lua_json_object(lua_State *L, int idx, const char **names, size_t n)
{
    GString *js = g_string_new("{");
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, idx, names[i]);
        g_string_append_printf(js, "%s\"%s\": ", i ? ", " : "", names[i]);
        json_value(js, L, -1);
        lua_pop(L, 1);
    }
    g_string_append_c(js, '}');
    return g_string_free(js, FALSE);
}

/* Sorted string keys of the table at idx (values must be scalars).  The
 * array is a userdata pushed on the stack, so a Lua error cannot leak it;
 * the strings are anchored in the table. */
const char **ns__lua_sorted_keys(lua_State *L, int idx, const char *fname, size_t *n);
const char **ns__lua_sorted_keys(lua_State *L, int idx, const char *fname, size_t *n)
{
    idx = lua_absindex(L, idx);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: names must be strings", fname);
        int t = lua_type(L, -1);
        if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
            luaL_error(L, "%s: '%s' must be a number, string or boolean, got %s",
                       fname, lua_tostring(L, -2), luaL_typename(L, -1));
        count++;
        lua_pop(L, 1);
    }
    const char **keys = lua_newuserdatauv(L, (count ? count : 1) * sizeof *keys, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        keys[i++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, count, sizeof *keys, cmp_str);
    *n = count;
    return keys;
}

static void classify(lua_State *L, int idx, struct param *p)
{
    GError *err = NULL;
    double v;
    enum ns_unit_kind kind;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:  p->type = P_NUMBER; return;
    case LUA_TBOOLEAN: p->type = P_BOOL; return;
    default:
        if (ns_units_parse(lua_tostring(L, idx), &kind, &v, &err) && kind != NS_UNIT_NUMBER) {
            p->type = P_QUANTITY;
            p->kind = kind;
        } else {
            p->type = P_STRING;
        }
        g_clear_error(&err);
    }
}

int ns__lua_params(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    ns_lua_run *run = ns_lua_run_get(L);
    if (run && run->params_declared)
        return luaL_error(L, "netsim.params called twice: declare every parameter in one call");
    size_t n;
    const char **names = ns__lua_sorted_keys(L, 1, "netsim.params", &n);  /* pushed */
    lua_createtable(L, 0, (int)n);
    int out = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        struct param p = { names[i], P_STRING, NS_UNIT_NUMBER };
        lua_getfield(L, 1, names[i]);
        classify(L, -1, &p);
        struct ns_lua_define *d = find_define(run, names[i]);
        if (d) {
            push_override(L, run, &p, d->value);
        } else if (p.type == P_QUANTITY) {
            double v;
            ns_units_parse(lua_tostring(L, -1), &p.kind, &v, NULL);
            lua_pushnumber(L, v);
        } else {
            lua_pushvalue(L, -1);
        }
        lua_setfield(L, out, names[i]);
        lua_pop(L, 1);
    }
    if (run) {
        run->params_declared = true;
        g_free(run->params_json);
        run->params_json = ns__lua_json_object(L, out, names, n);
        /* Keep the names for "did you mean" below: they live in table 1. */
        for (guint i = 0; i < run->defines->len; i++) {
            struct ns_lua_define *d = g_ptr_array_index(run->defines, i);
            if (!d->used) {
                const char *s = ns_lua_suggest(d->name, names, n);
                if (s)
                    return usage_error(L, run, "-D %s: the scenario declares no parameter "
                                               "'%s' (did you mean '%s'?)", d->name, d->name, s);
                return usage_error(L, run, "-D %s: the scenario declares no parameter '%s'",
                                   d->name, d->name);
            }
        }
    }
    return 1;
}

void ns__lua_params_check_unused(lua_State *L)
{
    ns_lua_run *run = ns_lua_run_get(L);
    if (!run || run->params_declared || run->defines->len == 0)
        return;
    struct ns_lua_define *d = g_ptr_array_index(run->defines, 0);
    usage_error(L, run, "-D %s: the scenario declares no parameters "
                        "(it does not call netsim.params)", d->name);
}
