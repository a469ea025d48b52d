/* lua_rng.c — netsim.Rng: a scenario's named random streams.
 *
 * sim:rng(name) returns the stream "lua.<name>" of the sim: derived from
 * (seed, name) alone, so adding a stream or a model never changes another
 * stream's numbers, and model streams cannot collide with a script's. */
#include <math.h>

#include "lua_sim.h"
#include "netsim/rng.h"

#define NS_LUA_RNG "netsim.Rng"

struct ns_lua_rng {               /* uservalue 1: the Sim */
    ns_rng *r;                   /* owned by the sim: valid while it is open */
};

static ns_rng *check_rng(lua_State *L)
{
    struct ns_lua_rng *ud = luaL_checkudata(L, 1, NS_LUA_RNG);
    ns__lua_handle_sim(L, 1, NULL);         /* r dies with its sim */
    return ud->r;
}

static int sim_rng(lua_State *L)
{
    struct ns_lua_sim *ls = ns__lua_sim_check(L, 1);
    const char *name = luaL_checkstring(L, 2);
    lua_pushfstring(L, "lua.%s", name);
    struct ns_lua_rng *ud = lua_newuserdatauv(L, sizeof *ud, 1);
    ud->r = ns_sim_rng(ls->sim, lua_tostring(L, -2));
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, NS_LUA_RNG);
    return 1;
}

static double check_positive(lua_State *L, int arg, const char *what)
{
    double v = luaL_checknumber(L, arg);
    if (!(v > 0) || !isfinite(v))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be > 0", what));
    return v;
}

/* r:uniform() in [0,1); r:uniform(a, b) in [a,b). */
static int rng_uniform(lua_State *L)
{
    ns_rng *r = check_rng(L);
    if (lua_isnoneornil(L, 2)) {
        lua_pushnumber(L, ns_rng_uniform(r));
        return 1;
    }
    double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3);
    luaL_argcheck(L, a <= b, 3, "interval is empty");
    lua_pushnumber(L, ns_rng_uniform_range(r, a, b));
    return 1;
}

/* r:integer(m, n) in [m, n]. */
static int rng_integer(lua_State *L)
{
    ns_rng *r = check_rng(L);
    lua_Integer lo = luaL_checkinteger(L, 2), hi = luaL_checkinteger(L, 3);
    luaL_argcheck(L, lo <= hi, 3, "interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t v = span == UINT64_MAX ? ns_rng_u64(r) : ns_rng_below(r, span + 1);
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + v));
    return 1;
}

/* r:exp(mean): mean may be a time string ("1ms") or a number. */
static int rng_exp(lua_State *L)
{
    ns_rng *r = check_rng(L);
    double mean = lua_type(L, 2) == LUA_TSTRING ? ns_lua_check_time(L, 2) / 1e9
                                                : check_positive(L, 2, "mean");
    luaL_argcheck(L, mean > 0, 2, "mean must be > 0");
    lua_pushnumber(L, ns_rng_exp(r, mean));
    return 1;
}

static int rng_normal(lua_State *L)
{
    ns_rng *r = check_rng(L);
    double mu = luaL_optnumber(L, 2, 0), sigma = luaL_optnumber(L, 3, 1);
    luaL_argcheck(L, sigma >= 0, 3, "sigma must be >= 0");
    lua_pushnumber(L, ns_rng_normal(r, mu, sigma));
    return 1;
}

static int rng_bernoulli(lua_State *L)
{
    ns_rng *r = check_rng(L);
    double p = luaL_checknumber(L, 2);
    luaL_argcheck(L, p >= 0 && p <= 1, 2, lua_pushfstring(L, "p must be in [0, 1], got %f", p));
    lua_pushboolean(L, ns_rng_bernoulli(r, p));
    return 1;
}

static int rng_pareto(lua_State *L)
{
    ns_rng *r = check_rng(L);
    double xm = check_positive(L, 2, "scale"), alpha = check_positive(L, 3, "shape");
    lua_pushnumber(L, ns_rng_pareto(r, xm, alpha));
    return 1;
}

static int rng_zipf(lua_State *L)
{
    ns_rng *r = check_rng(L);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 1, 2, "n must be >= 1");
    double s = check_positive(L, 3, "exponent");
    lua_pushinteger(L, (lua_Integer)ns_rng_zipf(r, (uint64_t)n, s));
    return 1;
}

static int rng_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, NS_LUA_RNG);
    lua_pushliteral(L, "netsim.Rng");
    return 1;
}

static const luaL_Reg rng_methods[] = {
    { "uniform",    rng_uniform },
    { "integer",    rng_integer },
    { "exp",        rng_exp },
    { "normal",     rng_normal },
    { "bernoulli",  rng_bernoulli },
    { "pareto",     rng_pareto },
    { "zipf",       rng_zipf },
    { "__tostring", rng_tostring },
    { NULL, NULL }
};

void ns__lua_rng_methods(lua_State *L)
{
    lua_pushcfunction(L, sim_rng);
    lua_setfield(L, -2, "rng");                  /* into the Sim metatable */
    luaL_newmetatable(L, NS_LUA_RNG);
    luaL_setfuncs(L, rng_methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
