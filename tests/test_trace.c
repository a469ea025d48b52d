/* test_trace.c — the event log and tables, byte for byte.
 *
 * Each test writes through a fresh sim into its own folder, commits, and
 * compares whole files with the expected text: formatting, escaping, filters
 * and column counts are all visible in the bytes. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/event.h"
#include "netsim/output.h"
#include "netsim/trace.h"
#include "tests.h"

static void noop(ns_sim *sim, void *arg) { }

/* Moves simulated time to `at` by running a no-op event there, so rows
 * written afterwards from the test body carry that time. */
static void advance(ns_sim *sim, ns_time_t at)
{
    ns_event_at(sim, at, noop, NULL, NS_EVENT_STRONG, NULL);
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_EQUAL(ns_sim_now(sim), at);
}

static ns_sim *sim_in(const char *test, char **dir)
{
    *dir = g_build_filename(ns_test_tmpdir(), "trace", test, NULL);
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, *dir, NULL));
    return sim;
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char *p = g_build_filename(dir, name, NULL);
    char *got = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(p, &got, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s:\n--- got\n%s--- want\n%s---\n", name, got, want);
    g_free(got);
    g_free(p);
}

static bool exists(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    bool e = g_file_test(p, G_FILE_TEST_EXISTS);
    g_free(p);
    return e;
}

/* --- the event log --- */

struct row {
    ns_time_t   at;
    const char *kind;
    const char *node;
    const char *details;
};

/* Rows are logged from inside event callbacks, as models do. */
static void log_row(ns_sim *sim, void *arg)
{
    const struct row *r = arg;
    ns_trace_event(sim, r->kind, r->node, "%s", r->details);
}

static void schedule_rows(ns_sim *sim, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ns_event_at(sim, rows[i].at, log_row, (void *)&rows[i], NS_EVENT_STRONG, NULL);
}

static void test_event_log_bytes(void)
{
    static const struct row rows[] = {
        { 0,                      "link.tx",   "a",  "bytes=1500 seq=1" },
        { 12,                     "link.rx",   "b",  "bytes=1500" },
        { 3 * NS_SEC / 2,         "tcp.state", "a",  "from=SYN_SENT to=ESTABLISHED" },
        { 3 * NS_SEC / 2,         "note",      NULL, "" },
        { 12 * NS_SEC + 500,      "x",         "h1", "k=v" },
    };
    char *dir;
    ns_sim *sim = sim_in("log", &dir);
    CU_ASSERT_FALSE(ns_trace_on(sim, "link.tx", "a"));
    /* Before enable nothing is written and no file is opened. */
    ns_trace_event(sim, "early", "a", "lost=1");
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(ns_trace_on(sim, "link.tx", "a"));
    schedule_rows(sim, rows, G_N_ELEMENTS(rows));
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000000\tlink.tx\ta\tbytes=1500 seq=1\n"
                "0.000000012\tlink.rx\tb\tbytes=1500\n"
                "1.500000000\ttcp.state\ta\tfrom=SYN_SENT to=ESTABLISHED\n"
                "1.500000000\tnote\t-\t\n"
                "12.000000500\tx\th1\tk=v\n");
    /* After the commit rows are dropped, not written to a closed file. */
    ns_trace_event(sim, "late", "a", "x=1");
    ns_sim_free(sim);
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000000\tlink.tx\ta\tbytes=1500 seq=1\n"
                "0.000000012\tlink.rx\tb\tbytes=1500\n"
                "1.500000000\ttcp.state\ta\tfrom=SYN_SENT to=ESTABLISHED\n"
                "1.500000000\tnote\t-\t\n"
                "12.000000500\tx\th1\tk=v\n");
    g_free(dir);
}

static void test_event_log_escaping(void)
{
    char *dir;
    ns_sim *sim = sim_in("escape", &dir);
    CU_ASSERT_TRUE(ns_trace_enable(sim, "logs/ev.tsv", NULL));
    ns_trace_event(sim, "k\tind", "no\nde", "msg=%s n=%d", "a\tb\\c\r\nd", 7);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "logs/ev.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000000\tk\\tind\tno\\nde\tmsg=a\\tb\\\\c\\r\\nd n=7\n");
    CU_ASSERT_FALSE(exists(dir, "events.tsv"));
    ns_sim_free(sim);
    g_free(dir);
}

static void test_kind_filter(void)
{
    static const struct row rows[] = {
        { 1, "tcp",       "a", "1" },
        { 2, "tcp.state", "a", "2" },
        { 3, "tcpx",      "a", "3" },
        { 4, "udp",       "a", "4" },
        { 5, "tc",        "a", "5" },
        { 6, "arp.req",   "a", "6" },
        { 7, "arp",       "a", "7" },
        { 8, "tcp.seg.x", "a", "8" },
    };
    static const char *const kinds[] = { "tcp", "arp.req", NULL };
    char *dir;
    ns_sim *sim = sim_in("kinds", &dir);
    ns_trace_set_kinds(sim, kinds);
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    CU_ASSERT_TRUE(ns_trace_on(sim, "tcp.state", "a"));
    CU_ASSERT_FALSE(ns_trace_on(sim, "tcpx", "a"));
    schedule_rows(sim, rows, G_N_ELEMENTS(rows));
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000001\ttcp\ta\t1\n"
                "0.000000002\ttcp.state\ta\t2\n"
                "0.000000006\tarp.req\ta\t6\n"
                "0.000000008\ttcp.seg.x\ta\t8\n");
    ns_sim_free(sim);
    g_free(dir);
}

static void test_node_filter(void)
{
    static const struct row rows[] = {
        { 1, "k", "a",  "1" },
        { 2, "k", "b",  "2" },
        { 3, "k", "ab", "3" },
        { 4, "k", NULL, "4" },
        { 5, "k", "c",  "5" },
    };
    static const char *const nodes[] = { "a", "c", NULL };
    char *dir;
    ns_sim *sim = sim_in("nodes", &dir);
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    ns_trace_set_nodes(sim, nodes);
    schedule_rows(sim, rows, G_N_ELEMENTS(rows));
    ns_sim_run(sim, NS_TIME_MAX, 0);
    /* NULL lifts the filter again. */
    ns_trace_set_nodes(sim, NULL);
    ns_trace_event(sim, "k", "b", "after");
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000001\tk\ta\t1\n"
                "0.000000005\tk\tc\t5\n"
                "0.000000005\tk\tb\tafter\n");
    ns_sim_free(sim);
    g_free(dir);
}

static void test_window(void)
{
    static const struct row rows[] = {
        { NS_SEC - 1,     "k", "a", "before" },
        { NS_SEC,         "k", "a", "from" },
        { 2 * NS_SEC - 1, "k", "a", "last" },
        { 2 * NS_SEC,     "k", "a", "to" },
    };
    char *dir;
    ns_sim *sim = sim_in("window", &dir);
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    ns_trace_set_window(sim, NS_SEC, 2 * NS_SEC);
    CU_ASSERT_FALSE(ns_trace_on(sim, "k", "a"));
    schedule_rows(sim, rows, G_N_ELEMENTS(rows));
    ns_sim_run(sim, NS_TIME_MAX, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "1.000000000\tk\ta\tfrom\n"
                "1.999999999\tk\ta\tlast\n");
    ns_sim_free(sim);
    g_free(dir);
}

static void test_disable_and_reenable(void)
{
    char *dir;
    ns_sim *sim = sim_in("disable", &dir);
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    ns_trace_event(sim, "k", "a", "one");
    ns_trace_disable(sim);
    CU_ASSERT_FALSE(ns_trace_on(sim, "k", "a"));
    ns_trace_event(sim, "k", "a", "off");
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    ns_trace_event(sim, "k", "a", "two");
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv",
                "time\tkind\tnode\tdetails\n"
                "0.000000000\tk\ta\tone\n"
                "0.000000000\tk\ta\ttwo\n");
    ns_sim_free(sim);
    g_free(dir);
}

static void test_enable_unwritable(void)
{
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, "/proc/netsim-no-such-dir", NULL));
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_trace_enable(sim, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_IO));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "cannot create output folder "
                           "'/proc/netsim-no-such-dir': No such file or directory");
    g_clear_error(&err);
    CU_ASSERT_FALSE(ns_trace_on(sim, "k", "a"));
    ns_trace_event(sim, "k", "a", "x");
    ns_sim_free(sim);
}

static void test_abort_leaves_nothing(void)
{
    static const char *const cols[] = { "v", NULL };
    char *dir;
    ns_sim *sim = sim_in("abort", &dir);
    CU_ASSERT_TRUE(ns_trace_enable(sim, NULL, NULL));
    ns_table *t = ns_table_open(sim, "tab", cols, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    ns_trace_event(sim, "k", "a", "x");
    ns_table_begin(t);
    ns_table_i64(t, 1);
    ns_table_end(t);
    CU_ASSERT_TRUE(exists(dir, "events.tsv.part"));
    CU_ASSERT_TRUE(exists(dir, "tab.tsv.part"));
    ns_output_abort_all(sim);
    /* Rows after the abort are dropped without touching freed streams. */
    ns_trace_event(sim, "k", "a", "y");
    ns_table_begin(t);
    ns_table_i64(t, 2);
    ns_table_end(t);
    ns_sim_free(sim);
    CU_ASSERT_FALSE(exists(dir, "events.tsv.part"));
    CU_ASSERT_FALSE(exists(dir, "tab.tsv.part"));
    CU_ASSERT_FALSE(exists(dir, "events.tsv"));
    CU_ASSERT_FALSE(exists(dir, "tab.tsv"));
    g_free(dir);
}

/* --- tables --- */

static void test_table_bytes(void)
{
    static const char *const cols[] = { "flow", "count", "ratio", "state", "rtt", NULL };
    char *dir;
    ns_sim *sim = sim_in("table", &dir);
    /* Event-log filters do not apply to tables, nor does the log being off. */
    static const char *const kinds[] = { "none", NULL };
    ns_trace_set_kinds(sim, kinds);
    ns_trace_set_window(sim, 100 * NS_SEC, 200 * NS_SEC);

    ns_table *t = ns_table_open(sim, "cwnd", cols, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(ns_table_ncolumns(t), 5);
    ns_table_begin(t);
    ns_table_i64(t, -3);
    ns_table_u64(t, UINT64_MAX);
    ns_table_f64(t, 0.1);
    ns_table_str(t, "a\tb\nc\\d");
    ns_table_time(t, 12);
    ns_table_end(t);
    advance(sim, 2250 * NS_MSEC);
    ns_table_begin(t);
    ns_table_i64(t, INT64_MIN);
    ns_table_u64(t, 0);
    ns_table_f64(t, NAN);
    ns_table_str(t, "");
    ns_table_time(t, -1);
    ns_table_end(t);
    ns_table_begin(t);
    ns_table_i64(t, 0);
    ns_table_u64(t, 1);
    ns_table_f64(t, -INFINITY);
    ns_table_str(t, NULL);
    ns_table_time(t, 3 * NS_SEC);
    ns_table_end(t);

    static const double doubles[] = { 0.5, 1e300, -2.5e-8, 1.0 / 3.0, 100.0, INFINITY, -0.0 };
    static const char *const one[] = { "v", NULL };
    ns_table *d = ns_table_open(sim, "sub/doubles", one, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    for (size_t i = 0; i < G_N_ELEMENTS(doubles); i++) {
        ns_table_begin(d);
        ns_table_f64(d, doubles[i]);
        ns_table_end(d);
    }
    /* A table with no row still gets its header. */
    CU_ASSERT_PTR_NOT_NULL(ns_table_open(sim, "empty", NULL, NULL));

    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "cwnd.tsv",
                "time\tflow\tcount\tratio\tstate\trtt\n"
                "0.000000000\t-3\t18446744073709551615\t0.1\t"
                "a\\tb\\nc\\\\d\t0.000000012\n"
                "2.250000000\t-9223372036854775808\t0\tnan\t\t-0.000000001\n"
                "2.250000000\t0\t1\t-inf\t\t3.000000000\n");
    assert_file(dir, "sub/doubles.tsv",
                "time\tv\n"
                "2.250000000\t0.5\n"
                "2.250000000\t1e+300\n"
                "2.250000000\t-2.5e-08\n"
                "2.250000000\t0.3333333333333333\n"
                "2.250000000\t100\n"
                "2.250000000\tinf\n"
                "2.250000000\t-0\n");
    assert_file(dir, "empty.tsv", "time\n");
    /* Files were opened (and committed) in table opening order. */
    const GPtrArray *c = ns_output_committed(sim);
    CU_ASSERT_EQUAL_FATAL(c->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 0), "cwnd.tsv");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 1), "sub/doubles.tsv");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 2), "empty.tsv");
    CU_ASSERT_FALSE(exists(dir, "events.tsv"));
    ns_sim_free(sim);
    g_free(dir);
}

static void test_table_reopen(void)
{
    static const char *const cols[] = { "a", "b", NULL };
    static const char *const same[] = { "a", "b", NULL };
    static const char *const fewer[] = { "a", NULL };
    static const char *const more[] = { "a", "b", "c", NULL };
    static const char *const other[] = { "a", "x", NULL };
    static const char *const with_time[] = { "time", NULL };
    static const char *const with_tab[] = { "a\tb", NULL };
    char *dir;
    ns_sim *sim = sim_in("reopen", &dir);
    CU_ASSERT_PTR_NULL(ns_table_find(sim, "t"));
    ns_table *t = ns_table_open(sim, "t", cols, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_EQUAL(ns_table_open(sim, "t", same, NULL), t);
    CU_ASSERT_PTR_EQUAL(ns_table_find(sim, "t"), t);
    CU_ASSERT_PTR_NULL(ns_table_find(sim, "u"));

    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "t", other, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "",
                           "table 't' is already open with columns time,a,b, not time,a,x");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "t", fewer, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "t", more, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "t", NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    g_clear_error(&err);

    CU_ASSERT_PTR_NULL(ns_table_open(sim, "u", with_time, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "u", with_tab, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_open(sim, "../u", cols, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_table_find(sim, "u"));
    CU_ASSERT_PTR_NULL(ns_table_find(sim, "../u"));

    /* The event log and a table may not share a file. */
    CU_ASSERT_PTR_NOT_NULL(ns_table_open(sim, "events", NULL, NULL));
    CU_ASSERT_FALSE(ns_trace_enable(sim, NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    g_clear_error(&err);
    ns_sim_free(sim);
    g_free(dir);
}

/* Criticals from g_return_if_fail are counted instead of printed. */
static void count_critical(const gchar *domain, GLogLevelFlags level,
                           const gchar *message, gpointer ud)
{
    (*(int *)ud)++;
}

static void test_table_cell_count(void)
{
    static const char *const cols[] = { "a", "b", NULL };
    char *dir;
    ns_sim *sim = sim_in("cells", &dir);
    ns_table *t = ns_table_open(sim, "t", cols, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    int criticals = 0;
    /* Under G_DEBUG=fatal-criticals the refusals must not abort the run:
     * fatality is lifted for the duration, and the handler takes the
     * fatal flag too or GLib would pass it by. */
    GLogLevelFlags fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    guint h = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL
                                | G_LOG_FLAG_RECURSION, count_critical, &criticals);

    ns_table_i64(t, 9);                 /* cell outside a row */
    CU_ASSERT_EQUAL(criticals, 1);
    ns_table_begin(t);
    ns_table_i64(t, 1);
    ns_table_end(t);                    /* one cell short: refused */
    CU_ASSERT_EQUAL(criticals, 2);
    ns_table_begin(t);                  /* still inside the row: refused */
    CU_ASSERT_EQUAL(criticals, 3);
    ns_table_i64(t, 2);
    ns_table_i64(t, 3);                 /* one cell too many: dropped */
    CU_ASSERT_EQUAL(criticals, 4);
    ns_table_end(t);
    CU_ASSERT_EQUAL(criticals, 4);
    ns_table_end(t);                    /* no row open */
    CU_ASSERT_EQUAL(criticals, 5);

    g_log_remove_handler(NULL, h);
    g_log_set_always_fatal(fatal);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "t.tsv", "time\ta\tb\n0.000000000\t1\t2\n");
    ns_sim_free(sim);
    g_free(dir);
}

/* A locale with a decimal comma must not reach the files. */
static void test_locale_independent(void)
{
    static const char *const candidates[] = {
        "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8", NULL
    };
    const char *loc = NULL;
    for (const char *const *c = candidates; *c && !loc; c++)
        if (setlocale(LC_NUMERIC, *c))
            loc = *c;
    if (!loc) {
        setlocale(LC_NUMERIC, "C");
        fprintf(stderr, "[no decimal-comma locale installed: locale test skipped] ");
        return;
    }
    char probe[32];
    snprintf(probe, sizeof probe, "%g", 0.5);
    CU_ASSERT_STRING_EQUAL(probe, "0,5");        /* the locale took effect */

    static const char *const cols[] = { "v", NULL };
    char *dir;
    ns_sim *sim = sim_in("locale", &dir);
    ns_table *t = ns_table_open(sim, "t", cols, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    advance(sim, 1500 * NS_MSEC);
    ns_table_begin(t);
    ns_table_f64(t, 1234.5);
    ns_table_end(t);
    ns_table_begin(t);
    ns_table_f64(t, 0.1);
    ns_table_end(t);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    setlocale(LC_NUMERIC, "C");
    assert_file(dir, "t.tsv", "time\tv\n1.500000000\t1234.5\n1.500000000\t0.1\n");
    ns_sim_free(sim);
    g_free(dir);
}

void test_trace_register(void)
{
    CU_pSuite s = ns_test_suite("trace", NULL, NULL);
    ns_test_add(s, "event log bytes and time formatting", test_event_log_bytes);
    ns_test_add(s, "event log escapes tabs, newlines, backslashes", test_event_log_escaping);
    ns_test_add(s, "kind filter matches exactly or by dotted prefix", test_kind_filter);
    ns_test_add(s, "node filter matches exactly", test_node_filter);
    ns_test_add(s, "time window is [from, to)", test_window);
    ns_test_add(s, "disable then enable continues the file", test_disable_and_reenable);
    ns_test_add(s, "enable reports an unwritable folder", test_enable_unwritable);
    ns_test_add(s, "abort leaves no trace file", test_abort_leaves_nothing);
    ns_test_add(s, "table header and rows, byte for byte", test_table_bytes);
    ns_test_add(s, "reopening a table: same columns or an error", test_table_reopen);
    ns_test_add(s, "cell counts are checked", test_table_cell_count);
    ns_test_add(s, "doubles ignore a decimal-comma locale", test_locale_independent);
}
