/* test_lock_strategies.c — scenarios/locks_strategies.lua, the race of
 * locks_race.lua under every strategy, through the netsim binary: its
 * table (strategies.tsv, read by column name) shows what each strategy
 * does in the race, for several seeds; a run is byte-identical for one
 * seed and differs for another; a slot too short for the race, or a zero
 * slot, is an error naming the script line and the reason. */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "tests.h"

#define SCENARIO "scenarios/locks_strategies.lua"

/* strategies.tsv as a header and rows of cells. */
struct tsv {
    char **head;                     /* column names, NULL-terminated */
    GPtrArray *rows;                 /* char ** each (g_strfreev) */
};

static void tsv_free(struct tsv *t)
{
    g_strfreev(t->head);
    if (t->rows)
        g_ptr_array_free(t->rows, TRUE);
}

static struct tsv tsv_parse(const char *text)
{
    struct tsv t = { NULL, g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev) };
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l)
            continue;
        char **cells = g_strsplit(*l, "\t", -1);
        if (!t.head)
            t.head = cells;
        else
            g_ptr_array_add(t.rows, cells);
    }
    g_strfreev(lines);
    return t;
}

/* The cell of `col` in the row of `strategy`, or NULL (and a failure). */
static const char *cell(const struct tsv *t, const char *strategy, const char *col)
{
    int c = -1, s = -1;
    for (int i = 0; t->head && t->head[i]; i++)
        if (strcmp(t->head[i], col) == 0)
            c = i;
        else if (strcmp(t->head[i], "strategy") == 0)
            s = i;
    for (guint r = 0; c >= 0 && s >= 0 && r < t->rows->len; r++) {
        char **row = g_ptr_array_index(t->rows, r);
        if ((int)g_strv_length(row) > c && strcmp(row[s], strategy) == 0)
            return row[c];
    }
    CU_FAIL("strategies.tsv lacks a cell");
    fprintf(stderr, "\nno cell %s of %s in strategies.tsv\n", col, strategy);
    return NULL;
}

/* A numeric cell; "nan" (no such value) reads as NAN. */
static double num(const struct tsv *t, const char *strategy, const char *col)
{
    const char *v = cell(t, strategy, col);
    return v ? g_ascii_strtod(v, NULL) : NAN;
}

/* Runs the scenario into a fresh folder; returns the folder (g_free it)
 * and the run's result in *r. */
static char *run_scenario(const char *seed, const char *define, struct ns_test_run *r)
{
    static int n;
    char *dir = g_strdup_printf("%s/strategies-%d", ns_test_tmpdir(), n++);
    const char *args[10] = { "--quiet", "--out", dir, "--seed", seed };
    int k = 5;
    if (define) {
        args[k++] = "-D";
        args[k++] = define;
    }
    args[k++] = SCENARIO;
    args[k] = NULL;
    *r = ns_test_netsim(NULL, args);
    return dir;
}

static const char *const strategies[] = {
    "wait", "release_all", "ordered", "wait_die", "wound_wait", "detect", NULL
};

/* What the race shows whatever the seed (only backoff draws depend on
 * it): checks one run's table. */
static void check_table(const struct tsv *t)
{
    CU_ASSERT_EQUAL_FATAL(t->rows->len, 6);
    for (int i = 0; strategies[i]; i++) {     /* one row each, in registry order */
        char **row = g_ptr_array_index(t->rows, (guint)i);
        CU_ASSERT_STRING_EQUAL(row[1], strategies[i]);
        CU_ASSERT_EQUAL(num(t, strategies[i], "clients"), 3);
    }
    /* wait: each holds one server and waits for the others for good */
    CU_ASSERT_EQUAL(num(t, "wait", "finished"), 0);
    CU_ASSERT_EQUAL(num(t, "wait", "critical_sections"), 0);
    CU_ASSERT_EQUAL(num(t, "wait", "deadlocks"), 1);
    CU_ASSERT_EQUAL(num(t, "wait", "deadlocked"), 3);
    CU_ASSERT_EQUAL(num(t, "wait", "retries"), 0);
    CU_ASSERT_TRUE(isnan(num(t, "wait", "mean_wait_ms")));
    CU_ASSERT_TRUE(isnan(num(t, "wait", "done_ms")));
    CU_ASSERT_EQUAL(num(t, "wait", "max_wait_ms"), 1000);   /* the whole slot */
    unsigned off_grid = 0;           /* done_ms not on a 0.1 ms grid */
    for (int i = 1; strategies[i]; i++) {
        const char *s = strategies[i];
        CU_ASSERT_EQUAL(num(t, s, "finished"), 3);
        CU_ASSERT_EQUAL(num(t, s, "critical_sections"), 3);
        CU_ASSERT_EQUAL(num(t, s, "deadlocked"), 0);
        double mean = num(t, s, "mean_wait_ms"), max = num(t, s, "max_wait_ms");
        double done = num(t, s, "done_ms");
        /* someone waits at least a round trip; the last is done after
         * waiting, working 5 ms and writing END; done_ms is the clients'
         * done_at, to the nanosecond (6 decimals of ms in the table) */
        CU_ASSERT_TRUE(mean >= 2 && mean <= max && max + 5 < done && done < 1000);
        CU_ASSERT_TRUE(fabs(done * 1e6 - round(done * 1e6)) < 1e-3);
        off_grid += fabs(done * 10 - round(done * 10)) > 1e-6;
        if (strcmp(s, "detect") != 0)
            CU_ASSERT_EQUAL(num(t, s, "deadlocks"), 0);
    }
    /* done times come from the model, not from looking every 0.1 ms:
     * messages take 2 ms plus transmission times, so they fall between */
    CU_ASSERT_TRUE(off_grid >= 3);
    /* nobody reaches two servers without someone yielding one, except
     * under `ordered`, where everyone asks ls1 first */
    CU_ASSERT_EQUAL(num(t, "ordered", "retries"), 0);
    CU_ASSERT_TRUE(num(t, "release_all", "retries") > 0);
    CU_ASSERT_TRUE(num(t, "wait_die", "retries") > 0);
    CU_ASSERT_TRUE(num(t, "wound_wait", "retries") > 0);
    /* detect lets the cycle form, finds it after its 50 ms timeout and
     * aborts exactly one victim */
    CU_ASSERT_EQUAL(num(t, "detect", "deadlocks"), 1);
    CU_ASSERT_EQUAL(num(t, "detect", "retries"), 1);
    CU_ASSERT_TRUE(num(t, "detect", "max_wait_ms") > 50);
    /* retries cost messages: ordered's one-at-a-time climb sends fewest */
    CU_ASSERT_TRUE(num(t, "ordered", "packets") < num(t, "release_all", "packets"));
}

static void test_table(void)
{
    if (!g_file_test(SCENARIO, G_FILE_TEST_EXISTS)) {
        CU_FAIL(SCENARIO " not found: run the tests from the top of the tree");
        return;
    }
    for (int seed = 1; seed <= 5; seed++) {
        char s[8];
        g_snprintf(s, sizeof s, "%d", seed);
        struct ns_test_run r;
        char *dir = run_scenario(s, NULL, &r);
        CU_ASSERT_EQUAL(r.status, 0);
        if (r.status != 0)
            fprintf(stderr, "\nseed %d: %s\n", seed, r.err);
        char *text = ns_test_read_file(dir, "strategies.tsv");
        struct tsv t = tsv_parse(text);
        check_table(&t);
        tsv_free(&t);
        g_free(text);
        ns_test_run_clear(&r);
        g_free(dir);
    }
}

static void test_deterministic(void)
{
    struct ns_test_run r1, r2, r3;
    char *d1 = run_scenario("7", NULL, &r1), *d2 = run_scenario("7", NULL, &r2);
    char *d3 = run_scenario("8", NULL, &r3);
    CU_ASSERT_TRUE(r1.status == 0 && r2.status == 0 && r3.status == 0);
    const char *files[] = { "strategies.tsv", "events.tsv", "counters.tsv" };
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *a = ns_test_read_file(d1, files[i]), *b = ns_test_read_file(d2, files[i]);
        CU_ASSERT_STRING_EQUAL(a, b);
        CU_ASSERT_STRING_NOT_EQUAL(a, "(missing)");
        g_free(a);
        g_free(b);
    }
    /* another seed draws other backoffs, so the trace differs */
    char *a = ns_test_read_file(d1, "events.tsv"), *c = ns_test_read_file(d3, "events.tsv");
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    g_free(a);
    g_free(c);
    ns_test_run_clear(&r1);
    ns_test_run_clear(&r2);
    ns_test_run_clear(&r3);
    g_free(d1);
    g_free(d2);
    g_free(d3);
}

static void expect_error(const char *define, const char *needle)
{
    struct ns_test_run r;
    char *dir = run_scenario("1", define, &r);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, SCENARIO ":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, needle));
    if (!strstr(r.err, needle))
        fprintf(stderr, "\nexpected '%s', got '%s'\n", needle, r.err);
    ns_test_run_clear(&r);
    g_free(dir);
}

static void test_errors(void)
{
    /* release_all, first in the run, needs about 100 ms: an error, not a
     * table of strategies sharing the servers */
    expect_error("slot=50ms", "release_all: not every client got the "
                              "lock within the 0.05 s slot");
    expect_error("slot=0", "slot must be > 0");
}

void test_lock_strategies_register(void)
{
    CU_pSuite s = ns_test_suite("lock-strategies", NULL, NULL);
    ns_test_add(s, "the race's table shows each strategy (seeds 1..5)", test_table);
    ns_test_add(s, "same seed: same bytes; another seed: another trace", test_deterministic);
    ns_test_add(s, "a slot too short or zero is an error", test_errors);
}
