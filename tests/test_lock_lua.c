/* test_lock_lua.c — the distributed locking model from Lua, through the
 * netsim binary: the scenarios run and show their point, the options of
 * sim:lock_cluster (quorum names, registers), cl:partition, and bad input as Lua
 * errors naming the script line, the call and the option. */
#include <string.h>
#include <glib.h>

#include "tests.h"

/* Runs netsim on a script with extra arguments; returns the exit code
 * (128 + signal for a crash) and fills *out (stdout) and *errout
 * (stderr).  A sanitizer report on stderr fails the test. */
static int run_netsim(const char *script, const char *d1, const char *d2, char **out,
                      char **errout)
{
    static int n;
    char *bin = g_canonicalize_filename(ns_test_netsim_bin(), NULL);
    char *dir = g_strdup_printf("%s/lock-%d", ns_test_tmpdir(), n++);
    const char *argv[10] = { bin, "--out", dir };
    int k = 3;
    if (d1) { argv[k++] = "-D"; argv[k++] = d1; }
    if (d2) { argv[k++] = "-D"; argv[k++] = d2; }
    argv[k++] = script;
    argv[k] = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                                errout, &status, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    g_free(bin);
    g_free(dir);
    ns_test_no_sanitizer_report(script, *errout);
    return ns_test_exit_code(status);
}

static void expect_scenario(const char *script, const char *d1, const char *d2,
                            const char *needle)
{
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim(script, d1, d2, &out, &errout), 0);
    if (errout && *errout)
        fprintf(stderr, "\n%s: %s\n", script, errout);
    if (needle)
        CU_ASSERT_PTR_NOT_NULL(out && strstr(out, needle));
    g_free(out);
    g_free(errout);
}

static void test_scenarios(void)
{
    if (!g_file_test("scenarios/locks_transactions.lua", G_FILE_TEST_EXISTS)) {
        CU_FAIL("scenarios/locks_transactions.lua not found: run the tests from the top of the tree");
        return;
    }
    expect_scenario("scenarios/locks_transactions.lua", NULL, NULL, "cycle: a -> b -> c -> a");
    /* plain `wait` clients and a detector host aborting the oldest (a) on
     * each of the two cycles: a retries twice, the others never */
    expect_scenario("scenarios/locks_transactions.lua", "detector=true", "victim=oldest",
                    "a  done       acquisitions=2 retries=2");
    expect_scenario("scenarios/locks_transactions.lua", "detector=true", "victim=oldest",
                    "b  done       acquisitions=2 retries=0");
    expect_scenario("scenarios/locks_transactions.lua", "strategy=release_all", NULL, "c  done");
    expect_scenario("scenarios/locks_transactions.lua", "strategy=ordered", NULL, "c  done");
    expect_scenario("scenarios/locks_transactions.lua", "strategy=wait_die", NULL, "c  done");
    expect_scenario("scenarios/locks_transactions.lua", "strategy=wound_wait", NULL, "c  done");
    expect_scenario("scenarios/locks_transactions.lua", "strategy=detect", NULL, "c  done");
    expect_scenario("scenarios/locks_workload.lua", "strategy=wait_die", NULL,
                    "wait_die         30/30");
    expect_scenario("scenarios/locks_workload.lua", "strategy=detect", NULL,
                    "detect           30/30");
    expect_scenario("scenarios/locks_workload.lua", NULL, NULL, "wait              2/30");
    expect_scenario("scenarios/locks_crash.lua", NULL, NULL, "b  done");
    expect_scenario("scenarios/locks_crash.lua", "ttl=0", NULL, "b waits for a [crashed]");
}

/* Runs a scenario with up to two -D and checks every needle is in its
 * output (exit 0: the scenario's own asserts held). */
static void expect_all(const char *script, const char *d1, const char *d2,
                       const char *const *needles)
{
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim(script, d1, d2, &out, &errout), 0);
    for (const char *const *n = needles; *n; n++) {
        CU_ASSERT_PTR_NOT_NULL(out && strstr(out, *n));
        if (!(out && strstr(out, *n)))
            fprintf(stderr, "\n%s: expected '%s' in:\n%s%s\n", script, *n, out ? out : "",
                    errout ? errout : "");
    }
    g_free(out);
    g_free(errout);
}

/* locks_race.lua runs both races in one simulation, each on its own
 * cluster: by default both deadlock (a, b, c on three servers; x and y
 * splitting four 2-2), each reported with its cycle; under detect both
 * parts get through; split=false leaves part two out. */
static void test_race_both_parts(void)
{
    static const char *const wait[] = {
        "part one: 3 clients, 3 servers, quorum 2, strategy wait", "deadlocked: a, b, c (cycle)",
        "deadlock formed at 0.006004528; blocked at the end: 3 of 3",
        "part two (split): 2 clients, 4 servers, quorum 3, strategy wait",
        "split_ls1 holder of R1: x", "split_ls2 holder of R1: x",
        "split_ls3 holder of R1: y", "split_ls4 holder of R1: y",
        "cycle: x -> y -> x",
        "deadlock formed at 0.006005008; blocked at the end: 2 of 2",
        "locks_race.txt", "locks_race_split.txt", NULL };     /* a diagram each */
    static const char *const detect[] = {
        "c  done       acquisitions=1 retries=1", "y  done       acquisitions=1 retries=1",
        NULL };
    expect_all("scenarios/locks_race.lua", NULL, NULL, wait);
    expect_all("scenarios/locks_race.lua", "strategy=detect", NULL, detect);
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim("scenarios/locks_race.lua", "split=false", NULL, &out, &errout),
                    0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "part one: 3 clients"));
    CU_ASSERT_PTR_NULL(out && strstr(out, "part two"));
    g_free(out);
    g_free(errout);
}

/* Runs locks_pause_fencing.lua with one -D and checks every needle is in
 * its output. */
static void expect_pause_outcome(const char *define, const char *const *needles)
{
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim("scenarios/locks_pause_fencing.lua", define, NULL, &out,
                               &errout), 0);
    for (const char *const *n = needles; *n; n++) {
        CU_ASSERT_PTR_NOT_NULL(out && strstr(out, *n));
        if (!(out && strstr(out, *n)))
            fprintf(stderr, "\n-D %s: expected '%s' in:\n%s%s\n", define ? define : "(none)",
                    *n, out ? out : "", errout ? errout : "");
    }
    g_free(out);
    g_free(errout);
}

/* The pause scenario under each kind of token.  The warm-up leaves the
 * per-server grant counters at ls1 3, ls2 6, ls3 3; a locks R1 on
 * {ls1, ls2}, b (after a's lease ran out) on {ls3, ls1}.
 * - quorum tokens: b's token (8) is above a's (7): a's stale write is the
 *   one rejected, once;
 * - naive tokens: b's highest counter (5) is below a's (7): the storage
 *   rejects the legitimate b (tokens 5, 6 and the equal 7: 3 attempts,
 *   each a BEGIN and an END) and accepts a's stale write; b gets in with
 *   8 once its counters passed a's;
 * - no tokens (or no fencing): both are inside R1 at once. */
static void test_pause_fencing_tokens(void)
{
    static const char *const quorum[] = {
        "violations=0 rejected_writes=1 a.fenced=1 b.fenced=0",
        "what happened: a's write after its pause was rejected", NULL };
    static const char *const naive[] = {
        "violations=0 rejected_writes=6 a.fenced=0 b.fenced=3",
        "was rejected 3 time(s) while a's stale write after its pause was accepted: "
        "naive tokens misordered the holders", NULL };
    static const char *const none[] = {
        "violation: t=0.284677242 R1: b entered while a was inside (seed 1)",
        "violations=1 rejected_writes=0 a.fenced=0 b.fenced=0",
        "what happened: a and b were inside R1 at once", NULL };
    static const char *const unfenced[] = {
        "violation: t=0.288679850 R1: b entered while a was inside (seed 1)",
        "what happened: a and b were inside R1 at once", NULL };
    expect_pause_outcome(NULL, quorum);
    expect_pause_outcome("tokens=quorum", quorum);
    expect_pause_outcome("tokens=naive", naive);
    expect_pause_outcome("tokens=none", none);
    expect_pause_outcome("fencing=false", unfenced);
}

static void expect_lua_error(const char *body, const char *needle)
{
    char *path = g_strdup_printf("%s/lock_bad.lua", ns_test_tmpdir());
    char *src = g_strdup_printf("local netsim = require 'netsim'\n"
                                "local sim = netsim.new{}\n%s\n", body);
    CU_ASSERT_TRUE(g_file_set_contents(path, src, -1, NULL));
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim(path, NULL, NULL, &out, &errout), 1);
    CU_ASSERT_PTR_NOT_NULL(errout && strstr(errout, needle));
    if (!(errout && strstr(errout, needle)))
        fprintf(stderr, "\nexpected '%s', got '%s'\n", needle, errout ? errout : "");
    g_free(out);
    g_free(errout);
    g_free(src);
    g_free(path);
}

/* Runs a Lua body (after `local netsim`, `local sim = netsim.new{...}`)
 * that must succeed; returns its stdout (g_free it). */
static char *run_lua_body(const char *sim_opts, const char *body, const char *d1)
{
    char *path = g_strdup_printf("%s/lock_ok.lua", ns_test_tmpdir());
    char *src = g_strdup_printf("local netsim = require 'netsim'\n"
                                "local sim = netsim.new{ %s }\n%s\n", sim_opts, body);
    CU_ASSERT_TRUE(g_file_set_contents(path, src, -1, NULL));
    char *out = NULL, *errout = NULL;
    CU_ASSERT_EQUAL(run_netsim(path, d1, NULL, &out, &errout), 0);
    if (errout && *errout)
        fprintf(stderr, "\n%s\n", errout);
    g_free(errout);
    g_free(src);
    g_free(path);
    return out;
}

/* cl:partition cuts the holder a off the cluster's LAN from 100 ms to
 * 1.1 s while it works (2 s).  With leases its locks expire one TTL
 * after its last renewal (renewals every TTL/3, so 133..200 ms after the
 * cut) and b, queued since 50 ms, takes R1; a's END write after the heal
 * is fenced, or without fencing is a safety violation.  Without leases b
 * waits for a's release (after 2 s).  With name=two the cluster is the
 * second of the sim, on LAN 'two' beside the first's 'locks': the cut
 * must land on its own LAN. */
static const char partition_body[] =
"local p = netsim.params { ttl = '200ms', fencing = true, name = 'locks' }\n"
"if p.name ~= 'locks' then sim:lock_cluster{ servers = 2 } end\n"
"local cl = sim:lock_cluster{ servers = 3, delay = '1ms', ttl = p.ttl,\n"
"                             storage_fencing = p.fencing, name = p.name }\n"
"local a = sim:host('a'):lock_client{ cluster = cl, resources = 'R1', hold = '2s' }\n"
"local b = sim:host('b'):lock_client{ cluster = cl, resources = 'R1', start = '50ms' }\n"
"cl:partition{ at = '100ms', duration = '1s', hosts = { sim:host_named('a') } }\n"
"sim:run '10s'\n"
"local r = cl:report()\n"
"print(string.format('a=%d fenced=%d b=%d violations=%d wait=%.3f', a:stats().acquisitions,\n"
"      a:stats().fenced, b:stats().acquisitions, r.violations, b:stats().longest_wait))\n";

static double field(const char *out, const char *key)
{
    const char *p = out ? strstr(out, key) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return g_ascii_strtod(p + strlen(key), NULL);
}

static void test_lua_partition(void)
{
    char *out = run_lua_body("violations = 'allow'", partition_body, NULL);
    CU_ASSERT_EQUAL(field(out, "a="), 1);
    CU_ASSERT_EQUAL(field(out, "fenced="), 1);           /* a's stale END */
    CU_ASSERT_EQUAL(field(out, "b="), 1);
    CU_ASSERT_EQUAL(field(out, "violations="), 0);
    double w = field(out, "wait=");                        /* from 50 ms */
    CU_ASSERT_TRUE(w > 0.1 + 0.2 - 0.2 / 3 - 0.05 && w < 0.1 + 0.2 - 0.05 + 0.01);
    g_free(out);
    out = run_lua_body("violations = 'allow'", partition_body, "fencing=false");
    CU_ASSERT_EQUAL(field(out, "fenced="), 0);
    CU_ASSERT_EQUAL(field(out, "violations="), 1);
    g_free(out);
    out = run_lua_body("violations = 'allow'", partition_body, "name=two");
    CU_ASSERT_EQUAL(field(out, "fenced="), 1);
    CU_ASSERT_EQUAL(field(out, "b="), 1);
    CU_ASSERT_TRUE(field(out, "wait=") < 0.3);             /* not a's release at 2 s */
    g_free(out);
    out = run_lua_body("violations = 'allow'", partition_body, "ttl=0");
    CU_ASSERT_EQUAL(field(out, "violations="), 0);
    CU_ASSERT_EQUAL(field(out, "fenced="), 0);
    CU_ASSERT_TRUE(field(out, "wait=") > 1.95);            /* until a's release */
    g_free(out);
}

/* quorum = 'all', 'majority' or a number, from Lua. */
static void test_lua_quorum(void)
{
    const char *q[] = { "'all'", "'majority'", "2" };
    const double want[] = { 4, 3, 2 };
    for (unsigned i = 0; i < 3; i++) {
        char *body = g_strdup_printf("print('quorum=' .. sim:lock_cluster{ servers = 4, "
                                     "quorum = %s }:quorum())", q[i]);
        char *out = run_lua_body("", body, NULL);
        CU_ASSERT_EQUAL(field(out, "quorum="), want[i]);
        g_free(out);
        g_free(body);
    }
}

/* Message loss from Lua: a cluster over a script-built star of lossy
 * links, every client completes (in
 * this seed the links lose 68 messages, as counters.tsv shows). */
static const char lossy_body[] =
"local sw = sim:router 'sw'\n"
"local function linked(name)\n"
"  local h = sim:host(name)\n"
"  sim:link(h, sw, { delay = '1ms', loss = 0.05 })\n"
"  return h\n"
"end\n"
"local cl = sim:lock_cluster{ servers = { linked 'ls1', linked 'ls2', linked 'ls3' },\n"
"                             storage = linked 'storage' }\n"
"local cs = {}\n"
"for i, n in ipairs { 'a', 'b', 'c' } do\n"
"  cs[i] = linked(n):lock_client{ cluster = cl, strategy = 'ordered', transactions = 5,\n"
"                                 resources = { 'R1', 'R2' }, hold = '1ms' }\n"
"end\n"
"sim:run '600s'\n"
"local r = cl:report()\n"
"print(string.format('acquisitions=%d violations=%d waiting=%d', r.acquisitions,\n"
"                    r.violations, r.waiting))\n";

static void test_lua_lossy_links(void)
{
    char *out = run_lua_body("seed = 2", lossy_body, NULL);
    CU_ASSERT_EQUAL(field(out, "acquisitions="), 15);
    CU_ASSERT_EQUAL(field(out, "violations="), 0);
    CU_ASSERT_EQUAL(field(out, "waiting="), 0);
    g_free(out);
}

/* The cluster's own LAN with lossy cables (loss per port direction):
 * without leases, every client still completes all its transactions
 * (queued requests are retransmitted) with no violation, and the run is
 * not the lossless one (frames were lost: test_lan checks the counts). */
static const char lan_loss_body[] =
"local p = netsim.params { loss = 0.05 }\n"
"local cl = sim:lock_cluster{ servers = 3, loss = p.loss }\n"
"for _, n in ipairs { 'a', 'b', 'c' } do\n"
"  sim:host(n):lock_client{ cluster = cl, strategy = 'release_all', transactions = 5,\n"
"                           resources = 'R1', hold = '2ms', think = '3ms' }\n"
"end\n"
"sim:run '600s'\n"
"local r = cl:report()\n"
"print(string.format('acquisitions=%d violations=%d waiting=%d end=%.9f', r.acquisitions,\n"
"                    r.violations, r.waiting, sim:now()))\n";

static void test_lua_lossy_lan(void)
{
    char *lossy = run_lua_body("seed = 3", lan_loss_body, NULL);
    char *clean = run_lua_body("seed = 3", lan_loss_body, "loss=0");
    CU_ASSERT_EQUAL(field(lossy, "acquisitions="), 15);
    CU_ASSERT_EQUAL(field(lossy, "violations="), 0);
    CU_ASSERT_EQUAL(field(lossy, "waiting="), 0);
    CU_ASSERT_EQUAL(field(clean, "acquisitions="), 15);
    CU_ASSERT_NOT_EQUAL(field(lossy, "end="), field(clean, "end="));
    g_free(lossy);
    g_free(clean);
}

/* client:release() ends a holding early: a would hold R1 for 10 s but
 * releases at 100 ms, so b (queued since 5 ms) waits about 0.1 s, not
 * 10 s; cl:crash("a", t) crashes a's host at t (with leases b then gets
 * R1 one TTL later). */
static const char release_body[] =
"local p = netsim.params { crash = false }\n"
"local cl = sim:lock_cluster{ servers = 3, ttl = '1s' }\n"
"local a = sim:host('a'):lock_client{ cluster = cl, resources = 'R1', hold = '10s' }\n"
"local b = sim:host('b'):lock_client{ cluster = cl, resources = 'R1', start = '5ms' }\n"
"if p.crash then cl:crash('a', '100ms')\n"
"else sim:at('100ms', function() assert(a:state() == 'working'); a:release() end) end\n"
"sim:run '30s'\n"
"print(string.format('a_crashed=%d b=%d wait=%.3f', a:state() == 'crashed' and 1 or 0,\n"
"                    b:stats().acquisitions, b:stats().longest_wait))\n";

static void test_lua_release_and_crash(void)
{
    char *rel = run_lua_body("seed = 1", release_body, NULL);
    CU_ASSERT_EQUAL(field(rel, "a_crashed="), 0);
    CU_ASSERT_EQUAL(field(rel, "b="), 1);
    double w = field(rel, "wait=");
    CU_ASSERT_TRUE(w > 0.09 && w < 0.12);
    char *crash = run_lua_body("seed = 1", release_body, "crash=true");
    CU_ASSERT_EQUAL(field(crash, "a_crashed="), 1);
    CU_ASSERT_EQUAL(field(crash, "b="), 1);
    w = field(crash, "wait=");
    CU_ASSERT_TRUE(w > 1.0 && w < 1.2);             /* a's leases run out */
    if (!(w > 1.0 && w < 1.2))
        fprintf(stderr, "\n%s%s", rel, crash);
    g_free(rel);
    g_free(crash);
}

/* client:stats().done_at: nil until the last transaction ends, then the
 * exact time the client became done.  a runs two transactions behind b;
 * the same run stopped (-D stop=...) one nanosecond before done_at finds
 * a not done yet, and stopped at done_at finds it done. */
static const char done_at_body[] =
"local p = netsim.params { stop = 0 }\n"
"local cl = sim:lock_cluster{ servers = 3, delay = '1ms' }\n"
"sim:host('b'):lock_client{ cluster = cl, resources = 'R1', hold = '3ms' }\n"
"local a = sim:host('a'):lock_client{ cluster = cl, resources = 'R1', hold = '5ms',\n"
"                                     start = '1ms', transactions = 2 }\n"
"if p.stop > 0 then\n"
"  sim:run(p.stop)\n"
"  print(string.format('done=%d', a:state() == 'done' and 1 or 0))\n"
"else\n"
"  sim:run '30ms'\n"
"  local mid = a:stats()\n"
"  sim:run '10s'\n"
"  print(string.format('mid_nil=%d d=%.9f', mid.done_at == nil and 1 or 0,\n"
"        a:stats().done_at))\n"
"end\n";

static void test_lua_done_at(void)
{
    char *out = run_lua_body("seed = 1", done_at_body, NULL);
    CU_ASSERT_EQUAL(field(out, "mid_nil="), 1);
    double d = field(out, "d=");
    CU_ASSERT_TRUE(d > 0.03 && d < 0.2);      /* b's turn, then a's two */
    char def[64];
    g_snprintf(def, sizeof def, "stop=%.9f", d - 1e-9);
    char *before = run_lua_body("seed = 1", done_at_body, def);
    g_snprintf(def, sizeof def, "stop=%.9f", d);
    char *at = run_lua_body("seed = 1", done_at_body, def);
    CU_ASSERT_EQUAL(field(before, "done="), 0);
    CU_ASSERT_EQUAL(field(at, "done="), 1);
    if (!(d > 0.03 && d < 0.2))
        fprintf(stderr, "\n%s", out);
    g_free(out);
    g_free(before);
    g_free(at);
}

/* A two-sided split (side = { a, ls1 }) against cutting a off (hosts =
 * { a }): on its side a still renews at ls1, which keeps R1 for a at
 * 600 ms; cut off, ls1's lease runs out too.  Either way b, on the
 * majority side, gets R1 once a's leases on ls2 and ls3 expire, and a's
 * late write is fenced. */
static const char split_body[] =
"local p = netsim.params { split = true }\n"
"local cl = sim:lock_cluster{ servers = 3, delay = '1ms', ttl = '200ms' }\n"
"local a = sim:host('a'):lock_client{ cluster = cl, resources = 'R1', hold = '2s' }\n"
"local b = sim:host('b'):lock_client{ cluster = cl, resources = 'R1', start = '50ms' }\n"
"local who = p.split and 'side' or 'hosts'\n"
"local set = p.split and { sim:host_named 'a', cl:servers()[1] } or { sim:host_named 'a' }\n"
"cl:partition{ at = '100ms', duration = '1s', [who] = set }\n"
"local h1\n"
"sim:at('600ms', function() h1 = cl:holder(1, 'R1') end)\n"
"sim:run '10s'\n"
"print(string.format('a_keeps_ls1=%d b=%d fenced=%d', h1 == 'a' and 1 or 0,\n"
"                    b:stats().acquisitions, a:stats().fenced))\n";

static void test_lua_split(void)
{
    char *split = run_lua_body("seed = 1", split_body, NULL);
    char *cut = run_lua_body("seed = 1", split_body, "split=false");
    CU_ASSERT_EQUAL(field(split, "a_keeps_ls1="), 1);
    CU_ASSERT_EQUAL(field(cut, "a_keeps_ls1="), 0);
    CU_ASSERT_EQUAL(field(split, "b="), 1);
    CU_ASSERT_EQUAL(field(cut, "b="), 1);
    CU_ASSERT_EQUAL(field(split, "fenced="), 1);
    g_free(split);
    g_free(cut);
}

/* The staged intersection of test_lock_tokens.c from Lua: a commits
 * token 1 on ls1..ls3 (ordered), ls1 and ls2 go down, ls3 restarts
 * without its table, and b can only win ls3..ls5.  With stable registers
 * ls3 still holds 1 and b's token is 2; with registers = 'lost' b reads
 * 0 everywhere, gets 1 again and the storage server rejects it once. */
static const char registers_body[] =
"local p = netsim.params { registers = 'stable' }\n"
"local cl = sim:lock_cluster{ servers = 5, registers = p.registers }\n"
"local a = sim:host('a'):lock_client{ cluster = cl, strategy = 'ordered', resources = 'R1' }\n"
"local b = sim:host('b'):lock_client{ cluster = cl, resources = 'R1', start = '300ms' }\n"
"local ls = cl:servers()\n"
"for i = 1, 3 do ls[i]:crash('200ms') end\n"
"ls[3]:restart('210ms')\n"
"local reg3\n"
"sim:at('250ms', function() reg3 = cl:token(3, 'R1') end)\n"
"sim:run '10s'\n"
"print(string.format('a=%d reg3=%d b=%d b_token=%d b_fenced=%d', a:stats().token,\n"
"                    reg3, b:stats().acquisitions, b:stats().token, b:stats().fenced))\n";

static void test_lua_registers(void)
{
    char *stable = run_lua_body("seed = 1", registers_body, NULL);
    char *lost = run_lua_body("seed = 1", registers_body, "registers=lost");
    CU_ASSERT_EQUAL(field(stable, "a="), 1);
    CU_ASSERT_EQUAL(field(stable, "reg3="), 1);
    CU_ASSERT_EQUAL(field(stable, "b="), 1);
    CU_ASSERT_EQUAL(field(stable, "b_token="), 2);
    CU_ASSERT_EQUAL(field(stable, "b_fenced="), 0);
    CU_ASSERT_EQUAL(field(lost, "a="), 1);
    CU_ASSERT_EQUAL(field(lost, "reg3="), 0);
    CU_ASSERT_EQUAL(field(lost, "b="), 1);
    CU_ASSERT_EQUAL(field(lost, "b_fenced="), 1);  /* its first token was a's */
    CU_ASSERT_EQUAL(field(lost, "b_token="), 2);   /* the retry's */
    g_free(stable);
    g_free(lost);
}

static void test_lua_errors(void)
{
    expect_lua_error("sim:lock_cluster{ servers = 3, quorum = 4 }",
                     "lock_bad.lua:3: bad argument #1 to 'lock_cluster' (option 'quorum': 4 is "
                     "outside [1, 3]: the cluster has 3 servers)");
    expect_lua_error("sim:lock_cluster{ servers = 3, quorum = 'most' }",
                     "(option 'quorum': 'majority', 'all' or a number expected, got 'most')");
    expect_lua_error("sim:lock_cluster{ servers = 3, ttl = -1 }", "option 'ttl'");
    expect_lua_error("sim:lock_cluster{ servers = 3, registers = 'gone' }",
                     "lock_bad.lua:3: bad argument #1 to 'lock_cluster' (option 'registers': "
                     "'stable' or 'lost' expected, got 'gone')");
    expect_lua_error("sim:lock_cluster{ servers = 3, persist = true, registers = 'lost' }",
                     "(option 'registers': 'lost' needs persist = false (a kept table keeps "
                     "its registers))");
    expect_lua_error("sim:lock_cluster{ servers = 3, registers = 1 }", "option 'registers'");
    expect_lua_error("sim:lock_cluster{ servers = 3, loss = 2 }", "loss 2 is outside [0, 1]");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "cl:partition{ side = cl:servers(), hosts = cl:servers() }",
                     "(option 'side': give hosts (each cut off) or side (a split), not both)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1' }\n"
                     "cl:crash('zz', '1s')",
                     "lock_bad.lua:5: cl:crash: no lock client 'zz' (clients: a)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "local a = sim:host('a'):lock_client{ cluster = cl, resources = 'R1' }\n"
                     "a:release()",
                     "lock_bad.lua:5: client:release: a is not inside a critical section "
                     "(state idle): it holds no lock to release");
    expect_lua_error("sim:lock_cluster{ servers = { sim:host 's1' }, storage = sim:host 'st', "
                     "loss = 0.1 }", "(option 'loss': only for a cluster that builds its own LAN");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, strategy = 'wiat', resources = 'R1' }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_client' (option 'strategy': unknown "
                     "strategy 'wiat' (known: wait, release_all, ordered, wait_die, "
                     "wound_wait, detect))");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, strategy = 'detect',\n"
                     "                           resources = 'R1', victim = 'newest' }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_client' (option 'victim': unknown "
                     "victim policy 'newest' (known: youngest, oldest, fewest_locks))");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1',\n"
                     "                           strategy = 'detect', collect_timeout = 0 }",
                     "(option 'collect_timeout': must be > 0)");
    /* detection options on a strategy that runs no detector */
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1',\n"
                     "                           victim = 'oldest' }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_client' (option 'victim': only "
                     "the 'detect' strategy uses it, not 'wait' (a detector host takes its own: "
                     "cl:detector{...}))");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1',\n"
                     "                           strategy = 'ordered', collect_timeout = '5ms' }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_client' (option 'collect_timeout': "
                     "only the 'detect' strategy uses it, not 'ordered'");
    /* a detector host and a lock client never share a host, in either order */
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "local a = sim:host 'a'\n"
                     "a:lock_client{ cluster = cl, resources = 'R1', strategy = 'detect' }\n"
                     "cl:detector{ host = a }",
                     "lock_bad.lua:6: lock detector 'a': the host is a lock client; a detector "
                     "needs a host of its own (a `detect` client has its own detector)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "local a = sim:host 'a'\n"
                     "cl:detector{ host = a }\n"
                     "a:lock_client{ cluster = cl, resources = 'R1', strategy = 'detect' }",
                     "lock_bad.lua:6: lock client 'a': the host runs a lock detector; a detector "
                     "needs a host of its own");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "cl:detector{ host = sim:host 'd', victim = 'eldest' }",
                     "lock_bad.lua:4: bad argument #1 to 'detector' (option 'victim': unknown "
                     "victim policy 'eldest' (known: youngest, oldest, fewest_locks))");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "cl:detector{ host = sim:host 'd', period = 0 }",
                     "(option 'period': must be > 0)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "local d = sim:host 'd'\ncl:detector{ host = d }\ncl:detector{ host = d }",
                     "lock_bad.lua:6: host 'd' runs a lock detector already");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1', hodl = 1 }",
                     "unknown option 'hodl' to 'lock_client' (did you mean 'hold'?)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "sim:host('a'):lock_client{ cluster = cl }",
                     "(option 'resources': a name or a list of names is required)");
    /* several clusters are fine, two of one name are not */
    expect_lua_error("sim:lock_cluster{ servers = 3 }\nsim:lock_cluster{ servers = 3 }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_cluster' (option 'name': the "
                     "simulation has a lock cluster 'locks' already (give each cluster its own "
                     "name))");
    expect_lua_error("sim:lock_cluster{ servers = 3, name = '' }",
                     "lock_bad.lua:3: bad argument #1 to 'lock_cluster' (option 'name': an "
                     "empty name)");
    expect_lua_error("sim:host 'split_ls2'\nsim:lock_cluster{ servers = 3, name = 'split' }",
                     "lock_bad.lua:4: bad argument #1 to 'lock_cluster' (option 'name': host "
                     "'split_ls2' exists already: the cluster would build it)");
    expect_lua_error("sim:lock_cluster{ servers = 3 }\n"
                     "sim:lock_cluster{ servers = { sim:host_named 'ls2' }, "
                     "storage = sim:host 'st2', name = 'two' }",
                     "lock_bad.lua:4: lock cluster 'two': host 'ls2' is already a lock server "
                     "of lock cluster 'locks' (a host takes part in one lock cluster)");
    expect_lua_error("local one = sim:lock_cluster{ servers = 3 }\n"
                     "local two = sim:lock_cluster{ servers = 3, name = 'two' }\n"
                     "local a = sim:host 'a'\n"
                     "a:lock_client{ cluster = one, resources = 'R1' }\n"
                     "a:lock_client{ cluster = two, resources = 'R1' }",
                     "lock_bad.lua:7: host 'a' is already a lock client of lock cluster 'locks'");
    expect_lua_error("sim:lock_cluster{ servers = 3, quorum = 0 }",
                     "(option 'quorum': 0 is outside [1, 3]: the cluster has 3 servers)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "cl:partition{ at = '1s', hosts = { sim:host 'x' } }",
                     "lock_bad.lua:4: bad argument #1 to 'partition' (option 'hosts': host 'x' "
                     "is not on the cluster's LAN)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = 3 }\n"
                     "cl:partition{ at = '1s', duration = 0, hosts = cl:servers() }",
                     "(option 'duration': must be > 0)");
    /* script hosts that nothing connects: the client would wait forever */
    expect_lua_error("local cl = sim:lock_cluster{ servers = { sim:host 's1', sim:host 's2' },\n"
                     "                              storage = sim:host 'st' }\n"
                     "sim:host('a'):lock_client{ cluster = cl, resources = 'R1' }",
                     "lock_bad.lua:5: lock client 'a': no network path to s1, s2, st (link the "
                     "hosts, or attach them to a LAN, before creating the client)");
    expect_lua_error("local cl = sim:lock_cluster{ servers = { sim:host 's1' },\n"
                     "                              storage = sim:host 'st' }\n"
                     "local a = sim:host 'a'\n"
                     "sim:link(a, sim:host_named 's1')\n"
                     "a:lock_client{ cluster = cl, resources = 'R1' }",
                     "lock_bad.lua:7: lock client 'a': no network path to st (");
    /* a detector needs the servers (not the storage) */
    expect_lua_error("local cl = sim:lock_cluster{ servers = { sim:host 's1', sim:host 's2' },\n"
                     "                              storage = sim:host 'st' }\n"
                     "local d = sim:host 'd'\n"
                     "sim:link(d, sim:host_named 's1')\n"
                     "cl:detector{ host = d }",
                     "lock_bad.lua:7: lock detector 'd': no network path to s2 (link the "
                     "hosts, or attach them to a LAN, before creating the detector)");
}

/* The staged three-way race under detect from Lua, with the victim policy
 * per client: all youngest, c alone is aborted and no choice is a
 * phantom; with a's detector choosing the oldest (itself), a aborts
 * first and the others, judging a graph collected before that, abort c
 * for nothing: phantoms, in cl:report(). */
static const char detect_body[] =
"local p = netsim.params { a_victim = 'youngest' }\n"
"local cl = sim:lock_cluster{ servers = 3, delay = '1ms' }\n"
"local cs = {}\n"
"for i, n in ipairs { 'a', 'b', 'c' } do\n"
"  cs[i] = sim:host(n):lock_client{ cluster = cl, strategy = 'detect', resources = 'R1',\n"
"    first_server = i, victim = i == 1 and p.a_victim or 'youngest',\n"
"    collect_timeout = '30ms' }\n"
"end\n"
"sim:run '10s'\n"
"local r = cl:report()\n"
"print(string.format('done=%d victims=%d phantoms=%d a=%d c=%d', r.acquisitions, r.victims,\n"
"      r.phantoms, cs[1]:stats().retries, cs[3]:stats().retries))\n";

/* The same race under plain `wait`: deadlocked for good, unless a
 * detector host (cl:detector) runs its rounds. */
static const char detector_body[] =
"local p = netsim.params { detector = true }\n"
"local cl = sim:lock_cluster{ servers = 3, delay = '1ms' }\n"
"local cs = {}\n"
"for i, n in ipairs { 'a', 'b', 'c' } do\n"
"  cs[i] = sim:host(n):lock_client{ cluster = cl, resources = 'R1', first_server = i }\n"
"end\n"
"if p.detector then cl:detector{ host = sim:host 'det', period = '30ms' } end\n"
"sim:run '2s'\n"
"local r = cl:report()\n"
"print(string.format('done=%d victims=%d c=%d', r.acquisitions, r.victims,\n"
"      cs[3]:stats().retries))\n";

static void test_lua_detect(void)
{
    char *none = run_lua_body("seed = 1", detector_body, "detector=false");
    CU_ASSERT_EQUAL(field(none, "done="), 0);
    CU_ASSERT_EQUAL(field(none, "victims="), 0);
    char *host = run_lua_body("seed = 1", detector_body, NULL);
    CU_ASSERT_EQUAL(field(host, "done="), 3);
    CU_ASSERT_EQUAL(field(host, "victims="), 1);
    CU_ASSERT_EQUAL(field(host, "c="), 1);
    g_free(none);
    g_free(host);

    char *plain = run_lua_body("seed = 1", detect_body, NULL);
    CU_ASSERT_EQUAL(field(plain, "done="), 3);
    CU_ASSERT_TRUE(field(plain, "victims=") >= 1);
    CU_ASSERT_EQUAL(field(plain, "phantoms="), 0);
    CU_ASSERT_EQUAL(field(plain, "a="), 0);
    CU_ASSERT_EQUAL(field(plain, "c="), 1);
    char *mixed = run_lua_body("seed = 1", detect_body, "a_victim=oldest");
    CU_ASSERT_EQUAL(field(mixed, "done="), 3);
    CU_ASSERT_TRUE(field(mixed, "phantoms=") >= 1);
    CU_ASSERT_EQUAL(field(mixed, "a="), 1);
    CU_ASSERT_EQUAL(field(mixed, "c="), 1);
    g_free(plain);
    g_free(mixed);
}

void test_lock_lua_register(void)
{
    CU_pSuite s = ns_test_suite("lock-lua", NULL, NULL);
    ns_test_add(s, "scenarios run and show their point", test_scenarios);
    ns_test_add(s, "locks_race.lua: both races deadlock in one run", test_race_both_parts);
    ns_test_add(s, "pause scenario: quorum, naive and no tokens differ",
                test_pause_fencing_tokens);
    ns_test_add(s, "Lua errors name the call and the option", test_lua_errors);
    ns_test_add(s, "Lua partition: leases free, fencing rejects", test_lua_partition);
    ns_test_add(s, "Lua quorum: all, majority, a number", test_lua_quorum);
    ns_test_add(s, "Lua: a cluster over lossy links completes", test_lua_lossy_links);
    ns_test_add(s, "Lua: a cluster on its own lossy LAN completes", test_lua_lossy_lan);
    ns_test_add(s, "Lua: client:release() early, cl:crash(name, at)", test_lua_release_and_crash);
    ns_test_add(s, "Lua: stats().done_at is nil, then exactly when done", test_lua_done_at);
    ns_test_add(s, "Lua: a two-sided split keeps each side talking", test_lua_split);
    ns_test_add(s, "Lua: registers stable or lost across table loss", test_lua_registers);
    ns_test_add(s, "Lua: victim policies, phantoms, a detector host", test_lua_detect);
}
