/* test_oracle.c — a model's oracle violation fails the run: the verdict
 * API itself, then the lock model's safety oracle under the netsim
 * command (exit 1 with the violation, naming the sim:run line), under
 * `netsim explore` (the lowest breaking seed, no netsim.assert needed),
 * and netsim.new{violations = "allow"} for a what-if. */
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/oracle.h"
#include "tests.h"

static void test_verdicts(void)
{
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_EQUAL(ns_oracle_violations(sim), 0);
    CU_ASSERT_PTR_NULL(ns_oracle_first(sim));
    CU_ASSERT_FALSE(ns_oracle_failed(sim));
    ns_oracle_violation(sim, "demo", "x=%d", 1);
    ns_oracle_violation(sim, "demo", "x=%d", 2);
    CU_ASSERT_EQUAL(ns_oracle_violations(sim), 2);
    CU_ASSERT_STRING_EQUAL(ns_oracle_first(sim), "demo violated: x=1");   /* the first */
    CU_ASSERT_TRUE(ns_oracle_failed(sim));
    ns_oracle_allow(sim, true);
    CU_ASSERT_FALSE(ns_oracle_failed(sim));
    CU_ASSERT_EQUAL(ns_oracle_violations(sim), 2);
    ns_sim_free(sim);
}

/* a pauses inside R1 past its lease; b takes R1; a's write lands while b
 * is inside: a violation when the storage server does not fence.  The
 * pause starts at a seed-dependent time: only late starts (a already
 * inside) break safety.  No netsim.assert anywhere. */
static const char pause_scenario[] =
"local netsim = require 'netsim'\n"
"local p = netsim.params { fencing = false, allow = false }\n"
"local sim = netsim.new { violations = p.allow and 'allow' or 'fail' }\n"
"local cl = sim:lock_cluster { servers = 3, delay = '1ms', ttl = '50ms',\n"
"                              storage_fencing = p.fencing }\n"
"local ha, hb = sim:host 'a', sim:host 'b'\n"
"local a = ha:lock_client { cluster = cl, resources = 'R1', hold = '100ms' }\n"
"hb:lock_client { cluster = cl, resources = 'R1', hold = '100ms', start = '5ms' }\n"
"local at = (sim:seed() % 4 == 3) and 30 or 1\n"
"ha:pause(at .. 'ms', '300ms')\n"
"sim:run '10s'\n"
"netsim.result { violations = cl:report().violations }\n";

static char *setup(void)
{
    char *d = g_build_filename(ns_test_tmpdir(), "oracle", NULL);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(d, 0777), 0);
    ns_test_write_file(d, "pause.lua", pause_scenario);
    return d;
}

static struct ns_test_run netsim(const char *d, const char *args)
{
    char **words = g_strsplit(args, " ", -1);
    struct ns_test_run r = ns_test_netsim(d, (const char *const *)words);
    g_strfreev(words);
    return r;
}

static void expect(const struct ns_test_run *r, int status, const char *in_err)
{
    CU_ASSERT_EQUAL(r->status, status);
    CU_ASSERT_TRUE(!in_err || strstr(r->err, in_err) != NULL);
    if (r->status != status || (in_err && !strstr(r->err, in_err)))
        fprintf(stderr, "\n  exit %d (want %d), stderr: %s\n", r->status, status, r->err);
}

static void test_violation_fails_the_run(void)
{
    g_autofree char *d = setup();
    struct ns_test_run r = netsim(d, "--seed 3 pause.lua --out o3 -q");
    expect(&r, 1, "pause.lua:11: lock safety violated: t=");
    expect(&r, 1, "R1: b entered while a was inside (seed 3)");
    ns_test_run_clear(&r);
    /* The same run with fencing: the stale write is rejected, no violation. */
    r = netsim(d, "--seed 3 pause.lua -D fencing=true --out f3 -q");
    expect(&r, 0, NULL);
    ns_test_run_clear(&r);
    /* A what-if that shows the violation on purpose. */
    r = netsim(d, "--seed 3 pause.lua -D allow=true --out a3 -q");
    expect(&r, 0, NULL);
    ns_test_run_clear(&r);
    g_autofree char *json = ns_test_read_file(d, "a3/run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"violations\": 1"));
    /* Seeds where the pause starts before a holds R1 break nothing. */
    r = netsim(d, "--seed 1 pause.lua --out o1 -q");
    expect(&r, 0, NULL);
    ns_test_run_clear(&r);
    r = netsim(d, "pause.lua -D allow=maybe --out bad -q");
    expect(&r, 2, NULL);
    ns_test_run_clear(&r);
}

static void test_explore_finds_the_violation(void)
{
    g_autofree char *d = setup();
    struct ns_test_run r = netsim(d, "explore pause.lua --seeds 4..20 -j 2");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(g_str_has_prefix(r.out, "explore: seed 7 fails: pause.lua:11: lock safety "
                                           "violated: t="));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nreplay: netsim --seed 7 pause.lua\n"));
    if (r.status != 1 || !g_str_has_prefix(r.out, "explore: seed 7 fails"))
        fprintf(stderr, "\n  %s%s", r.out, r.err);
    ns_test_run_clear(&r);
}

static void test_bad_violations_option(void)
{
    g_autofree char *d = setup();
    ns_test_write_file(d, "bad.lua", "local netsim = require 'netsim'\n"
                                     "local sim = netsim.new { violations = 'ignore' }\n");
    struct ns_test_run r = netsim(d, "bad.lua --out b -q");
    expect(&r, 1, "bad.lua:2: netsim.new: violations = 'ignore': expected 'fail'");
    ns_test_run_clear(&r);
}

void test_oracle_register(void)
{
    CU_pSuite s = ns_test_suite("oracle", NULL, NULL);
    ns_test_add(s, "violations recorded, first kept, allow", test_verdicts);
    ns_test_add(s, "a lock safety violation fails the run", test_violation_fails_the_run);
    ns_test_add(s, "explore finds the first seed that breaks safety",
                test_explore_finds_the_violation);
    ns_test_add(s, "netsim.new{violations = ...} checked", test_bad_violations_option);
}
