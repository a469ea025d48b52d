/* test_lua.c — the Lua API, in process: snippets run in a fresh lua_State
 * with the netsim module preloaded, and the test compares what they return
 * or the exact error they raise.
 *
 * Two modes, as the module has: stock Lua (no ns_lua_run installed; a sim
 * commits its outputs on sim:close) and the netsim command's (an ns_lua_run
 * carries -D defines and the seed; the run owns and commits the sims).
 * Snippets are loaded as "@t.lua", so messages read "t.lua:LINE: ...". */
#include <string.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "netsim/luabind.h"
#include "tests.h"

#define new_state ns_test_lua_state
#define run_chunk ns_test_lua_chunk

/* A fresh output folder for one snippet (not created: the module does). */
static char *fresh_out(void)
{
    static unsigned counter;         /* test-only: names scratch folders */
    char name[32];
    g_snprintf(name, sizeof name, "lua-%u", ++counter);
    return g_build_filename(ns_test_tmpdir(), name, NULL);
}



/* Stock-Lua mode, math.random seeded with 1; OUT is a fresh folder. */
static char *eval(const char *code)
{
    char *out = fresh_out();
    lua_State *L = new_state(NULL, 1, out);
    char *r = run_chunk(L, code);
    lua_close(L);
    g_free(out);
    return r;
}

static void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

static void expect(const char *code, const char *want)
{
    char *got = eval(code);
    check_str(got, want);
    g_free(got);
}

/* ---- the netsim command's mode --------------------------------------- */

struct cli {
    ns_lua_run run;
    char      *out;
};

static void define_free(gpointer p)
{
    struct ns_lua_define *d = p;
    g_free(d->name);
    g_free(d->value);
    g_free(d);
}

static void cli_init(struct cli *c)
{
    memset(c, 0, sizeof *c);
    c->run.scenario = "t.lua";
    c->run.until = NS_TIME_MAX;
    c->run.defines = g_ptr_array_new_with_free_func(define_free);
    c->run.sims = g_ptr_array_new();
    c->out = fresh_out();
    c->run.out_dir = c->out;
}

static void cli_define(struct cli *c, const char *name, const char *value)
{
    struct ns_lua_define *d = g_new0(struct ns_lua_define, 1);
    d->name = g_strdup(name);
    d->value = g_strdup(value);
    g_ptr_array_add(c->run.defines, d);
}

/* Runs `code` as the command would: run installed, outputs committed if
 * the chunk succeeded, sims freed before the state. */
static char *cli_eval(struct cli *c, const char *code)
{
    lua_State *L = new_state(&c->run, c->run.has_seed ? c->run.seed : 1, c->out);
    char *r = run_chunk(L, code);
    GError *err = NULL;
    bool ok = ns_lua_run_finish(L, !g_str_has_prefix(r, "error: "), &err);
    if (!ok && err) {
        fprintf(stderr, "\nfinish: %s\n", err->message);
        g_error_free(err);
    }
    ns_lua_run_close(L);
    lua_close(L);
    return r;
}

static void cli_free(struct cli *c)
{
    g_ptr_array_free(c->run.sims, TRUE);
    g_ptr_array_free(c->run.defines, TRUE);
    g_free(c->run.params_json);
    g_free(c->run.results_json);
    g_free(c->out);
}

static char *read_out(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

/* ---- argument errors -------------------------------------------------- */

static void test_argument_errors(void)
{
    /* Methods: Lua drops self from the count. */
    expect("local s = netsim.new{ out = OUT }\n"
           "s:after({}, function() end)",
           "error: t.lua:2: bad argument #1 to 'after' (time expected, got table)");
    /* Called as a function, self counts. */
    expect("local s = netsim.new{ out = OUT }\n"
           "s.after(s, {}, function() end)",
           "error: t.lua:2: bad argument #2 to 'after' (time expected, got table)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at(s, print)",
           "error: t.lua:2: bad argument #1 to 'at' (time expected, got netsim.Sim)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at('1s')",
           "error: t.lua:2: bad argument #2 to 'at' (function expected, got no value)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:run({})",
           "error: t.lua:2: bad argument #1 to 'run' (time expected, got table)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:rng()",
           "error: t.lua:2: bad argument #1 to 'rng' (string expected, got no value)");
    expect("local s = netsim.new{ out = OUT }\n"
           "local e = s:after(1, print)\n"
           "e.cancel(s)",
           "error: t.lua:3: bad argument #1 to 'cancel' (netsim.Event expected, got netsim.Sim)");
    expect("netsim.new(5)",
           "error: t.lua:1: bad argument #1 to 'new' (table expected, got number)");
    expect("return netsim.time('10Mbps')",
           "error: t.lua:1: bad argument #1 to 'time' ('10Mbps' is a rate, expected a time)");
}

static void test_new_options(void)
{
    expect("netsim.new{ sed = 1 }",
           "error: t.lua:1: unknown option 'sed' to 'new' (did you mean 'seed'?)");
    expect("netsim.new{ qwertyuiop = 1 }",
           "error: t.lua:1: unknown option 'qwertyuiop' to 'new'");
    /* The smallest bad key is named, whatever pairs() order is. */
    expect("netsim.new{ zz = 1, sede = 2, out = OUT }",
           "error: t.lua:1: unknown option 'sede' to 'new' (did you mean 'seed'?)");
    /* A badly typed option names the option, not a stack slot. */
    expect("netsim.new{ out = OUT, trace = 'yes' }",
           "error: t.lua:1: bad argument #1 to 'new' (option 'trace': boolean expected, got string)");
    expect("netsim.new{ out = OUT, callback_limit = 'x' }",
           "error: t.lua:1: bad argument #1 to 'new' (option 'callback_limit': integer expected, "
           "got string)");
    expect("netsim.new{ out = {} }",
           "error: t.lua:1: bad argument #1 to 'new' (option 'out': string expected, got table)");
    expect("netsim.new{ out = OUT, callback_limit = -1 }",
           "error: t.lua:1: bad argument #1 to 'new' (callback_limit must be >= 0)");
    expect("netsim.new{ out = OUT, seed = 'abc' }",
           "error: t.lua:1: seed must be an integer between 0 and 2^64-1, got abc");
    expect("return netsim.new{ out = OUT, seed = '18446744073709551615' }:seed()", "-1");
    expect("return netsim.new{ out = OUT, seed = 42 }:seed()", "42");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:trace{ from = {} }",
           "error: t.lua:2: bad argument #1 to 'trace' (option 'from': time expected, got table)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:trace{ to = '1xs' }",
           "error: t.lua:2: bad argument #1 to 'trace' (option 'to': malformed quantity '1xs' "
           "(unknown unit 'xs'))");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:trace{ kinds = {}, form = 1 }",
           "error: t.lua:2: unknown option 'form' to 'trace' (did you mean 'from'?)");
}

static void test_times(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "s:after('20xs', print)",
           "error: t.lua:2: bad argument #1 to 'after' (malformed quantity '20xs' "
           "(unknown unit 'xs'))");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:after(-1, print)",
           "error: t.lua:2: bad argument #1 to 'after' (time must be a finite number >= 0, got -1)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at('-5ms', print)",
           "error: t.lua:2: bad argument #1 to 'at' ('-5ms' is a negative time)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:after(math.huge, print)",
           "error: t.lua:2: bad argument #1 to 'after' (time must be a finite number >= 0, "
           "got inf)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:after(1e10, print)",
           "error: t.lua:2: bad argument #1 to 'after' (time is too large (over 292 years))");
    /* Scheduling in the past, from a callback: the run reports it. */
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at(2, function()\n"
           "  s:at(1, print)\n"
           "end)\n"
           "s:run()",
           "error: t.lua:3: cannot schedule at 1.000000000 s: it is before now (2.000000000 s)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at(2, function() end)\n"
           "s:run()\n"
           "s:run(1)",
           "error: t.lua:4: bad argument #1 to 'run' (time is before now)");
    expect("return netsim.time('40ms') .. ' ' .. netsim.rate('10Mbps') .. ' ' .. "
           "netsim.size('64KiB') .. ' ' .. netsim.time(3)",
           "0.04 10000000.0 65536.0 3.0");
}

/* ---- scheduling ------------------------------------------------------- */

static void test_equal_times_in_order(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local r = {}\n"
           "for i = 1, 5 do s:at('1s', function() r[#r + 1] = i end) end\n"
           "s:after(1, function() r[#r + 1] = 'a' end)\n"
           "s:at(1.0, function() r[#r + 1] = 'b' end)\n"
           "s:at(0.5, function() r[#r + 1] = 'early' end)\n"
           "s:run()\n"
           "return table.concat(r, ' ')",
           "early 1 2 3 4 5 a b");
}

static void test_at_after_now(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local r = { s:now() }\n"
           "s:at(2, function() r[#r + 1] = 'at2@' .. s:now() end)\n"
           "s:after('1s', function()\n"
           "  r[#r + 1] = 'a1@' .. s:now()\n"
           "  s:after('500ms', function() r[#r + 1] = 'n@' .. s:now_ns() end)\n"
           "  s:at(s:now(), function() r[#r + 1] = 'same@' .. s:now() end)\n"
           "end)\n"
           "local why = s:run()\n"
           "r[#r + 1] = why\n"
           "r[#r + 1] = s:events()\n"
           "r[#r + 1] = s:pending()\n"
           "return table.concat(r, ' ')",
           "0.0 a1@1.0 same@1.0 n@1500000000 at2@2.0 empty 4 0");
    /* run(until) stops there; the rest still runs later. */
    expect("local s = netsim.new{ out = OUT }\n"
           "local n = 0\n"
           "for i = 1, 4 do s:at(i, function() n = n + 1 end) end\n"
           "local a = s:run('2.5s')\n"
           "local r = a .. ' ' .. n .. ' ' .. s:now() .. ' ' .. s:pending()\n"
           "s:at(3, function() s:stop() end)\n"
           "return r .. ' | ' .. s:run() .. ' ' .. n .. ' ' .. s:now()",
           "until 2 2.5 2 | stopped 3 3.0");
}

static void test_cancel(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local fired = 0\n"
           "local e1 = s:after(1, function() fired = fired + 1 end)\n"
           "local e2 = s:after(2, function() fired = fired + 10 end)\n"
           "local r = { e1:pending(), e2:cancel(), e2:cancel(), e2:pending(), s:pending() }\n"
           "s:run()\n"
           "r[#r + 1] = e1:pending()\n"
           "r[#r + 1] = e1:cancel()\n"
           "r[#r + 1] = fired\n"
           "r[#r + 1] = s:now()\n"
           "for i, v in ipairs(r) do r[i] = tostring(v) end\n"
           "return table.concat(r, ' ')",
           "true true false false 1 false false 1 1.0");
    /* A callback cancels a later one at the same time. */
    expect("local s = netsim.new{ out = OUT }\n"
           "local r = {}\n"
           "local later\n"
           "s:at(1, function() r[#r + 1] = tostring(later:cancel()) end)\n"
           "later = s:at(1, function() r[#r + 1] = 'must not run' end)\n"
           "s:run()\n"
           "return table.concat(r, ' ') .. ' ' .. tostring(later)",
           "true netsim.Event(done)");
}

static void test_callback_error_stops_run(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local after = false\n"
           "s:at(1, function()\n"
           "  error('boom')\n"
           "end)\n"
           "s:at(2, function() after = true end)\n"
           "local ok, msg = pcall(s.run, s)\n"
           "return tostring(ok) .. ' [' .. msg .. '] ' .. tostring(after) .. ' ' .. s:now()",
           "false [t.lua:4: boom] false 1.0");
    /* Uncaught, it reaches the caller of sim:run with the callback's line. */
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at(1, function() local x = nil; return x.y end)\n"
           "s:run()",
           "error: t.lua:2: attempt to index a nil value (local 'x')");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:at(1, function() s:run() end)\n"
           "s:run()",
           "error: t.lua:2: sim:run called from inside a callback");
}

static void test_assert(void)
{
    expect("netsim.assert(1 == 2, 'one is two')",
           "error: t.lua:1: assertion failed: one is two");
    expect("\nnetsim.assert(nil)", "error: t.lua:2: assertion failed");
    expect("return netsim.assert(42, 'fine')", "42");
    expect("netsim.assert()",
           "error: t.lua:1: bad argument #1 to 'assert' (value expected)");
}

static void test_closed_sim(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "s:close()\n"
           "s:now()",
           "error: t.lua:3: attempt to use a closed simulation");
    expect("local s = netsim.new{ out = OUT }\n"
           "local e = s:after(1, print)\n"
           "s:close()\n"
           "e:cancel()",
           "error: t.lua:4: attempt to use a closed simulation");
    expect("local s = netsim.new{ out = OUT }\n"
           "local r = s:rng 'a'\n"
           "s:close()\n"
           "r:uniform()",
           "error: t.lua:4: attempt to use a closed simulation");
    expect("local s = netsim.new{ out = OUT }\n"
           "local t = s:table('q', { 'v' })\n"
           "s:close()\n"
           "t:row(1)",
           "error: t.lua:4: attempt to use a table of a closed simulation");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:close()\n"
           "return tostring(s)",
           "netsim.Sim(closed)");
}

/* note(text): appends text to the GString in upvalue 1 (lets a finalizer
 * report after lua_close). */
static int note(lua_State *L)
{
    GString *s = lua_touserdata(L, lua_upvalueindex(1));
    g_string_append(s, luaL_checkstring(L, 1));
    g_string_append_c(s, ';');
    return 0;
}

/* Under the command the run frees its sims before lua_close; a finalizer
 * that runs during lua_close and touches a handle gets an error, not freed
 * memory. */
static void test_handles_after_run_close(void)
{
    struct cli c;
    cli_init(&c);
    GString *notes = g_string_new(NULL);
    lua_State *L = new_state(&c.run, 1, c.out);
    lua_pushlightuserdata(L, notes);
    lua_pushcclosure(L, note, 1);
    lua_setglobal(L, "note");
    char *r = run_chunk(L,
        "local s = netsim.new{}\n"
        "local e = s:after(5, print)\n"
        "local r = s:rng 'x'\n"
        "local t = s:table('q', { 'v' })\n"
        "s:run(1)\n"
        "KEEP = setmetatable({}, { __gc = function()\n"
        "  note(select(2, pcall(s.now, s)))\n"
        "  note(select(2, pcall(e.pending, e)))\n"
        "  note(select(2, pcall(r.uniform, r)))\n"
        "  note(select(2, pcall(t.row, t, 1)))\n"
        "  note(tostring(s) .. ' ' .. tostring(e))\n"
        "end })\n"
        "return 'ok'");
    check_str(r, "ok");
    g_free(r);
    CU_ASSERT_TRUE(ns_lua_run_finish(L, true, NULL));
    ns_lua_run_close(L);
    lua_close(L);
    check_str(notes->str, "attempt to use a closed simulation;attempt to use a closed simulation;"
                          "attempt to use a closed simulation;"
                          "attempt to use a table of a closed simulation;"
                          "netsim.Sim(closed) netsim.Event(closed);");
    g_string_free(notes, TRUE);
    cli_free(&c);
}

static void test_one_sim_per_run(void)
{
    struct cli c;
    cli_init(&c);
    char *r = cli_eval(&c, "local a = netsim.new{}\n"
                           "a:at(1, function() a:log('x', 'a') end)\n"
                           "local b = netsim.new{ out = 'elsewhere' }\n");
    char *want = g_strdup_printf("error: t.lua:3: netsim.new: another simulation of this run "
                                 "already writes its outputs to '%s' (under the netsim command "
                                 "a run has one simulation)", c.out);
    check_str(r, want);
    g_free(want);
    g_free(r);
    CU_ASSERT_FALSE(c.run.usage_error);
    cli_free(&c);
}

/* ---- parameters ------------------------------------------------------- */

static const char params_code[] =
    "local p = netsim.params { flows = 4, rtt = '40ms', rate = '10Mbps', buf = '64KiB',\n"
    "                          on = true, cc = 'newreno', loss = 0.5 }\n"
    "return string.format('%s %s %s %s %s %s %s %s %s', math.type(p.flows), p.flows,\n"
    "  p.rtt == 0.04, p.rate == 1e7, p.buf == 65536, tostring(p.on), p.cc,\n"
    "  p.loss, math.type(p.rtt))";

static void test_params_typed(void)
{
    expect(params_code, "integer 4 true true true true newreno 0.5 float");
    /* Under the command: the same without -D. */
    struct cli c;
    cli_init(&c);
    char *r = cli_eval(&c, params_code);
    check_str(r, "integer 4 true true true true newreno 0.5 float");
    g_free(r);
    CU_ASSERT_FALSE(c.run.usage_error);
    CU_ASSERT_STRING_EQUAL(c.run.params_json,
                           "{\"buf\": 65536, \"cc\": \"newreno\", \"flows\": 4, "
                           "\"loss\": 0.5, \"on\": true, \"rate\": 10000000, \"rtt\": 0.04}");
    cli_free(&c);
}

static void test_params_defines(void)
{
    struct cli c;
    cli_init(&c);
    cli_define(&c, "flows", "8");
    cli_define(&c, "rtt", "80ms");
    cli_define(&c, "on", "off");
    cli_define(&c, "cc", "cubic");
    cli_define(&c, "rate", "1Gbps");
    cli_define(&c, "buf", "1500");
    cli_define(&c, "loss", "0.25");
    cli_define(&c, "flows", "16");          /* the last one wins */
    char *r = cli_eval(&c, "local p = netsim.params { flows = 4, rtt = '40ms', rate = '10Mbps',\n"
                           "  buf = '64KiB', on = true, cc = 'newreno', loss = 0.5 }\n"
                           "return string.format('%s %s %s %s %s %s %s %s', math.type(p.flows),\n"
                           "  p.flows, p.rtt == 0.08, p.rate == 1e9, p.buf == 1500,\n"
                           "  tostring(p.on), p.cc, p.loss)");
    check_str(r, "integer 16 true true true false cubic 0.25");
    g_free(r);
    CU_ASSERT_FALSE(c.run.usage_error);
    cli_free(&c);

    /* A malformed value is the command line's fault: exit 2. */
    cli_init(&c);
    cli_define(&c, "flows", "abc");
    r = cli_eval(&c, "local p = netsim.params { flows = 4 }");
    check_str(r, "error: -D flows=abc: malformed quantity 'abc' (no number)");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    cli_init(&c);
    cli_define(&c, "rtt", "10Mbps");
    r = cli_eval(&c, "local p = netsim.params { rtt = '40ms' }");
    check_str(r, "error: -D rtt=10Mbps: '10Mbps' is a rate, expected a time");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    cli_init(&c);
    cli_define(&c, "on", "maybe");
    r = cli_eval(&c, "local p = netsim.params { on = false }");
    check_str(r, "error: -D on=maybe: expected true or false");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    /* Too big for an integer: stays a float, never wraps. */
    cli_init(&c);
    cli_define(&c, "flows", "100000000000000000000000");
    r = cli_eval(&c, "local p = netsim.params { flows = 4 }\n"
                     "return math.type(p.flows) .. ' ' .. tostring(p.flows == 1e23)");
    check_str(r, "float true");
    g_free(r);
    cli_free(&c);

    /* Undeclared: named, with a suggestion when one is close. */
    cli_init(&c);
    cli_define(&c, "flow", "3");
    r = cli_eval(&c, "local p = netsim.params { flows = 4, rtt = '1ms' }");
    check_str(r, "error: -D flow: the scenario declares no parameter 'flow' "
                 "(did you mean 'flows'?)");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    cli_init(&c);
    cli_define(&c, "bandwidth", "3");
    r = cli_eval(&c, "local p = netsim.params { flows = 4 }");
    check_str(r, "error: -D bandwidth: the scenario declares no parameter 'bandwidth'");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    /* No netsim.params at all: caught when the sim runs. */
    cli_init(&c);
    cli_define(&c, "x", "1");
    r = cli_eval(&c, "local s = netsim.new{}\ns:run()");
    check_str(r, "error: -D x: the scenario declares no parameters "
                 "(it does not call netsim.params)");
    g_free(r);
    CU_ASSERT_TRUE(c.run.usage_error);
    cli_free(&c);

    cli_init(&c);
    r = cli_eval(&c, "netsim.params { a = 1 }\nnetsim.params { b = 2 }");
    check_str(r, "error: t.lua:2: netsim.params called twice: declare every parameter in "
                 "one call");
    g_free(r);
    CU_ASSERT_FALSE(c.run.usage_error);
    cli_free(&c);
}

static void test_cli_seed_override(void)
{
    struct cli c;
    cli_init(&c);
    c.run.has_seed = true;
    c.run.seed = 7;
    char *r = cli_eval(&c, "return netsim.new{ seed = 1 }:seed()");
    check_str(r, "7");
    g_free(r);
    /* The run committed run.json with the overriding seed and the replay. */
    char *js = read_out(c.out, "run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"seed\": 7,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"replay\": \"netsim --seed 7 --out "));
    g_free(js);
    cli_free(&c);
}

/* ---- sandbox ----------------------------------------------------------- */

static char *random_draws(uint64_t seed, const char *code)
{
    char *out = fresh_out();
    lua_State *L = new_state(NULL, seed, out);
    char *r = run_chunk(L, code);
    lua_close(L);
    g_free(out);
    return r;
}

static void test_math_random(void)
{
    static const char draws[] =
        "local r = {}\n"
        "for i = 1, 5 do r[#r + 1] = math.random(1, 1000000) end\n"
        "r[#r + 1] = string.format('%.17g', math.random())\n"
        "return table.concat(r, ' ')";
    char *a = random_draws(5, draws), *b = random_draws(5, draws), *c = random_draws(6, draws);
    CU_ASSERT_FALSE(g_str_has_prefix(a, "error"));
    check_str(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    g_free(a);
    g_free(b);
    g_free(c);
    /* randomseed restarts the sequence. */
    expect("math.randomseed(3)\n"
           "local a = { math.random(100), math.random(100), math.random(100) }\n"
           "math.randomseed(3)\n"
           "local b = { math.random(100), math.random(100), math.random(100) }\n"
           "math.randomseed(4)\n"
           "local c = { math.random(100), math.random(100), math.random(100) }\n"
           "return table.concat(a, ',') == table.concat(b, ',') and\n"
           "       table.concat(a, ',') ~= table.concat(c, ',')",
           "true");
    /* The Lua contract: bounds hold, an empty interval is an error. */
    expect("for i = 1, 1000 do\n"
           "  local v = math.random(3, 5)\n"
           "  assert(v >= 3 and v <= 5 and math.type(v) == 'integer')\n"
           "  local f = math.random()\n"
           "  assert(f >= 0 and f < 1)\n"
           "end\n"
           "return 'ok'",
           "ok");
    expect("math.random(5, 1)",
           "error: t.lua:1: bad argument #2 to 'random' (interval is empty)");
}

static void test_wall_clock_refused(void)
{
    expect("os.time()",
           "error: t.lua:1: os.time is not available in netsim scenarios (runs must not "
           "depend on the wall clock): use sim:now()");
    expect("local x = os.clock()",
           "error: t.lua:1: os.clock is not available in netsim scenarios (runs must not "
           "depend on the wall clock): use sim:now()");
    expect("\nreturn os.date('%Y')",
           "error: t.lua:2: os.date is not available in netsim scenarios (runs must not "
           "depend on the wall clock): use sim:now()");
}

static void test_watchdog(void)
{
    expect("local s = netsim.new{ out = OUT, callback_limit = 100000 }\n"
           "s:after(1, function()\n"
           "  while true do end\n"
           "end)\n"
           "s:run()",
           "error: t.lua:3: callback ran more than 100000 instructions (an endless loop?); "
           "raise the limit with netsim.new{ callback_limit = N }");
    /* Under the limit, many callbacks each doing real work are fine: the
     * count restarts per callback. */
    expect("local s = netsim.new{ out = OUT, callback_limit = 100000 }\n"
           "local n = 0\n"
           "for i = 1, 50 do s:at(i, function() for j = 1, 5000 do n = n + 1 end end) end\n"
           "s:run()\n"
           "return n",
           "250000");
}

/* ---- random streams ---------------------------------------------------- */

static void test_rng_streams(void)
{
    expect("local function draws(sim, name)\n"
           "  local r, t = sim:rng(name), {}\n"
           "  for i = 1, 4 do t[#t + 1] = string.format('%.17g', r:uniform()) end\n"
           "  t[#t + 1] = r:integer(1, 1000000000)\n"
           "  t[#t + 1] = string.format('%.17g', r:exp('1ms'))\n"
           "  return table.concat(t, ' ')\n"
           "end\n"
           "local a = netsim.new{ out = OUT .. '/a', seed = 9 }\n"
           "local b = netsim.new{ out = OUT .. '/b', seed = 9 }\n"
           "local c = netsim.new{ out = OUT .. '/c', seed = 10 }\n"
           "local x, y = draws(a, 'arrivals'), draws(b, 'arrivals')\n"
           "local r = { x == y, x ~= draws(a, 'service'), x ~= draws(c, 'arrivals') }\n"
           "for i, v in ipairs(r) do r[i] = tostring(v) end\n"
           "return table.concat(r, ' ')",
           "true true true");
    /* A second handle on a name continues the same stream: one stream per name. */
    expect("local a = netsim.new{ out = OUT .. '/a', seed = 9 }\n"
           "local b = netsim.new{ out = OUT .. '/b', seed = 9 }\n"
           "local x1, x2 = a:rng('s'):uniform(), a:rng('s'):uniform()\n"
           "local r = b:rng('s')\n"
           "return tostring(x1 == r:uniform() and x2 == r:uniform())",
           "true");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:rng('a'):bernoulli(2)",
           "error: t.lua:2: bad argument #1 to 'bernoulli' (p must be in [0, 1], got 2.0)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:rng('a'):integer(5, 1)",
           "error: t.lua:2: bad argument #2 to 'integer' (interval is empty)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:rng('a'):exp(0)",
           "error: t.lua:2: bad argument #1 to 'exp' (mean must be > 0)");
}

/* ---- outputs ----------------------------------------------------------- */

static void test_table_and_log(void)
{
    char *out = fresh_out();
    lua_State *L = new_state(NULL, 1, out);
    char *r = run_chunk(L,
        "local s = netsim.new{ out = OUT, seed = 3 }\n"
        "local t = s:table('q', { 'n', 'what' })\n"
        "s:after(1, function()\n"
        "  t:row(1, 'x y')\n"
        "  s:log('k', 'n1', { zeta = 1, alpha = 'q', mid = true, num = 0.5 })\n"
        "end)\n"
        "s:after('1.5s', function() t:row(2.5, true); s:log('plain', 'n2', 'a=b') end)\n"
        "s:run()\n"
        "s:close()\n"
        "return 'done'");
    check_str(r, "done");
    g_free(r);
    lua_close(L);

    char *q = read_out(out, "q.tsv");
    check_str(q, "time\tn\twhat\n1.000000000\t1\tx y\n1.500000000\t2.5\ttrue\n");
    char *ev = read_out(out, "events.tsv");
    check_str(ev, "time\tkind\tnode\tdetails\n"
                  "1.000000000\tk\tn1\talpha=q mid=true num=0.5 zeta=1\n"
                  "1.500000000\tplain\tn2\ta=b\n");
    char *js = read_out(out, "run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"seed\": 3,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"end\": {\"time_s\": \"1.500000000\", \"events\": 2, "
                                      "\"reason\": \"empty\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"scenario\": null"));
    char *part = g_build_filename(out, "q.tsv.part", NULL);
    CU_ASSERT_FALSE(g_file_test(part, G_FILE_TEST_EXISTS));
    g_free(part);
    g_free(js);
    g_free(ev);
    g_free(q);
    g_free(out);

    expect("local s = netsim.new{ out = OUT }\n"
           "local t = s:table('q', { 'a', 'b' })\n"
           "t:row(1)",
           "error: t.lua:3: row has 1 values, table has 2 columns (after time)");
    expect("local s = netsim.new{ out = OUT }\n"
           "local t = s:table('q', { 'a' })\n"
           "t:row({})",
           "error: t.lua:3: bad argument #1 to 'row' (number or string expected, got table)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:table('q', { 'time' })",
           "error: t.lua:2: bad argument #2 to 'table' ('time' is implicit: the first column "
           "is always time)");
    expect("local s = netsim.new{ out = OUT }\n"
           "s:log('k', 'n', { x = {} })",
           "error: t.lua:2: log: 'x' must be a number, string or boolean, got table");
}

/* A failed callback leaves no outputs behind under stock Lua either. */
static void test_failed_sim_writes_nothing(void)
{
    char *out = fresh_out();
    lua_State *L = new_state(NULL, 1, out);
    char *r = run_chunk(L,
        "local s = netsim.new{ out = OUT }\n"
        "local t = s:table('q', { 'n' })\n"
        "s:after(1, function() t:row(1); s:log('k', 'n') end)\n"
        "s:after(2, function() error('late') end)\n"
        "local ok, msg = pcall(s.run, s)\n"
        "s:close()\n"
        "return msg");
    check_str(r, "t.lua:4: late");
    g_free(r);
    lua_close(L);
    GDir *d = g_dir_open(out, 0, NULL);
    const char *name = d ? g_dir_read_name(d) : NULL;
    CU_ASSERT_PTR_NULL(name);
    if (name)
        fprintf(stderr, "\nleft behind: %s\n", name);
    if (d)
        g_dir_close(d);
    g_free(out);
}

void test_lua_register(void)
{
    CU_pSuite s = ns_test_suite("lua", NULL, NULL);
    ns_test_add(s, "argument errors read like Lua's", test_argument_errors);
    ns_test_add(s, "netsim.new and trace options", test_new_options);
    ns_test_add(s, "malformed, negative and huge times", test_times);
    ns_test_add(s, "equal times run in scheduling order", test_equal_times_in_order);
    ns_test_add(s, "at, after, now, run(until), stop", test_at_after_now);
    ns_test_add(s, "Event:cancel and pending", test_cancel);
    ns_test_add(s, "a callback error stops the run", test_callback_error_stops_run);
    ns_test_add(s, "netsim.assert", test_assert);
    ns_test_add(s, "handles of a closed sim raise", test_closed_sim);
    ns_test_add(s, "handles after the run freed its sims", test_handles_after_run_close);
    ns_test_add(s, "one sim per run under the command", test_one_sim_per_run);
    ns_test_add(s, "params are typed by their defaults", test_params_typed);
    ns_test_add(s, "-D overrides and their errors", test_params_defines);
    ns_test_add(s, "--seed overrides netsim.new", test_cli_seed_override);
    ns_test_add(s, "math.random is seeded and resettable", test_math_random);
    ns_test_add(s, "os.time, os.clock, os.date raise", test_wall_clock_refused);
    ns_test_add(s, "the watchdog stops an endless callback", test_watchdog);
    ns_test_add(s, "sim:rng streams by name", test_rng_streams);
    ns_test_add(s, "sim:table rows and sim:log details", test_table_and_log);
    ns_test_add(s, "a failed sim writes nothing", test_failed_sim_writes_nothing);
}
