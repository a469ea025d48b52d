/* lua_sandbox.c — what makes a Lua scenario reproducible and stoppable:
 * math.random backed by a netsim stream, os.time/os.clock/os.date refused,
 * and a watchdog that stops a callback looping forever.
 *
 * Invariant: nothing a scenario can call returns a value that depends on
 * the wall clock or on Lua's time-seeded generator.  (Lua 5.4 also seeds
 * its string hashes from the clock, so pairs() order varies between runs;
 * that cannot be changed from outside the interpreter, so the bindings
 * never let pairs() order reach an output, and the README says so.)
 */
#include <string.h>

#include "lua_sim.h"
#include "netsim/rng.h"

#define WATCHDOG_STEP 1000          /* instructions between hook calls */

struct watchdog {
    uint64_t      ticks;            /* hook calls in the current callback */
    uint64_t      limit_ticks;      /* 0: no limit */
    uint64_t      limit;            /* instructions, for the message */
    int           depth;            /* nested callbacks */
    volatile int *interrupt;
};

static const char WATCHDOG_KEY = 'w';   /* address = registry key */
static const char RNG_KEY = 'r';

static struct watchdog *watchdog_get(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &WATCHDOG_KEY);
    struct watchdog *w = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return w;
}

/* "script:line: " of the Lua function running when the hook fired (level
 * 0 from inside a hook; luaL_where(L, 1) would name its caller). */
static const char *where_running(lua_State *L)
{
    lua_Debug d;
    if (lua_getstack(L, 0, &d) && lua_getinfo(L, "Sl", &d) && d.currentline > 0)
        return lua_pushfstring(L, "%s:%d: ", d.short_src, d.currentline);
    return "";
}

static void watchdog_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct watchdog *w = watchdog_get(L);
    if (!w)
        return;
    if (w->interrupt && *w->interrupt) {
        ns_lua_run *run = ns_lua_run_get(L);
        if (run)
            run->interrupted = true;
        lua_pushfstring(L, "%sinterrupted", where_running(L));
        lua_error(L);
    }
    if (w->depth > 0 && w->limit_ticks && ++w->ticks > w->limit_ticks) {
        lua_pushfstring(L, "%scallback ran more than %I instructions (an endless loop?); "
                           "raise the limit with netsim.new{ callback_limit = N }",
                        where_running(L), (lua_Integer)w->limit);
        lua_error(L);
    }
}

void ns_lua_watchdog_install(lua_State *L)
{
    struct watchdog *w = lua_newuserdatauv(L, sizeof *w, 0);
    memset(w, 0, sizeof *w);
    ns_lua_run *run = ns_lua_run_get(L);
    w->interrupt = run ? run->interrupt : NULL;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &WATCHDOG_KEY);
    lua_sethook(L, watchdog_hook, LUA_MASKCOUNT, WATCHDOG_STEP);
}

void ns__lua_watchdog_enter(lua_State *L, uint64_t limit)
{
    struct watchdog *w = watchdog_get(L);
    if (!w)
        return;
    if (w->depth++ == 0) {
        w->ticks = 0;
        w->limit = limit;
        w->limit_ticks = limit ? (limit + WATCHDOG_STEP - 1) / WATCHDOG_STEP : 0;
    }
    /* A hook is per thread; a callback may run on a coroutine that was
     * created before the hook was set. */
    if (lua_gethook(L) != watchdog_hook)
        lua_sethook(L, watchdog_hook, LUA_MASKCOUNT, WATCHDOG_STEP);
}

void ns__lua_watchdog_leave(lua_State *L)
{
    struct watchdog *w = watchdog_get(L);
    if (w && w->depth > 0)
        w->depth--;
}

/* ---- math.random on a netsim stream ---------------------------------- */

static ns_rng *lua_rng(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &RNG_KEY);
    ns_rng *r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
}

/* Same contract as Lua 5.4's math.random: () -> [0,1), (m) -> [1,m],
 * (m, n) -> [m,n]. */
static int random_lua(lua_State *L)
{
    ns_rng *r = lua_rng(L);
    lua_Integer lo, hi;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, ns_rng_uniform(r));
        return 1;
    case 1:
        lo = 1;
        hi = luaL_checkinteger(L, 1);
        if (hi == 0) {           /* Lua 5.4: random(0) gives a whole integer */
            lua_pushinteger(L, (lua_Integer)ns_rng_u64(r));
            return 1;
        }
        break;
    case 2:
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
        break;
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t v = span == UINT64_MAX ? ns_rng_u64(r) : ns_rng_below(r, span + 1);
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + v));
    return 1;
}

static int randomseed_lua(lua_State *L)
{
    ns_rng *r = lua_rng(L);
    uint64_t seed = (uint64_t)luaL_optinteger(L, 1, 0);
    ns_rng_init(r, seed, "lua.math.random");
    return 0;
}

static int refused(lua_State *L)
{
    return luaL_error(L, "%s is not available in netsim scenarios (runs must not "
                         "depend on the wall clock): use sim:now()",
                      lua_tostring(L, lua_upvalueindex(1)));
}

void ns_lua_sandbox(lua_State *L, uint64_t seed)
{
    ns_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
    ns_rng_init(r, seed, "lua.math.random");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &RNG_KEY);

    if (lua_getglobal(L, "math") == LUA_TTABLE) {
        lua_pushcfunction(L, random_lua);
        lua_setfield(L, -2, "random");
        lua_pushcfunction(L, randomseed_lua);
        lua_setfield(L, -2, "randomseed");
    }
    lua_pop(L, 1);
    if (lua_getglobal(L, "os") == LUA_TTABLE) {
        static const char *const names[] = { "time", "clock", "date" };
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
            lua_pushfstring(L, "os.%s", names[i]);
            lua_pushcclosure(L, refused, 1);
            lua_setfield(L, -2, names[i]);
        }
    }
    lua_pop(L, 1);
}
