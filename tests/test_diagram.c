/* test_diagram.c — sequence charts, compared whole.
 *
 * A TCP-like handshake between two hosts, with a lost SYN-ACK, its
 * retransmission, a state note and a segment still in flight at the end,
 * must give exactly the expected text chart and Mermaid file; messages
 * involving other hosts leave no trace; equal recordings give equal bytes,
 * whatever order equal-time rows were recorded in relative to others. */
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/diagram.h"
#include "netsim/output.h"
#include "tests.h"

static const char *const two[] = { "client", "server", NULL };

static ns_sim *sim_in(const char *test, char **dir)
{
    *dir = g_build_filename(ns_test_tmpdir(), "diagram", test, NULL);
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, *dir, NULL));
    return sim;
}

static void commit_and_free(ns_sim *sim)
{
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(sim, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    ns_sim_free(sim);
}

static char *slurp(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    char *got = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(p, &got, NULL, NULL));
    g_free(p);
    return got ? got : g_strdup("");
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char *got = slurp(dir, name);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s:\n--- got\n%s--- want\n%s---\n", name, got, want);
    g_free(got);
}

#define MS(x) ((ns_time_t)(x) * NS_MSEC)

/* The handshake: SYN, SYN-ACK lost in a queue, SYN-ACK again after the
 * server's timeout, ACK, then data the run ends before delivering. */
static void record_handshake(ns_diagram *d)
{
    uint64_t m = ns_diagram_send(d, MS(0), "client", "server", "SYN seq=0");
    CU_ASSERT_NOT_EQUAL(m, 0);
    ns_diagram_recv(d, m, MS(20));
    m = ns_diagram_send(d, MS(20), "server", "client", "SYN-ACK seq=0 ack=1");
    ns_diagram_drop(d, m, MS(30), "queue full");
    m = ns_diagram_send(d, MS(1020), "server", "client", "SYN-ACK seq=0 ack=1");
    ns_diagram_recv(d, m, MS(1040));
    ns_diagram_note(d, MS(1040), "client", "ESTABLISHED");
    m = ns_diagram_send(d, MS(1040), "client", "server", "ACK ack=1");
    ns_diagram_recv(d, m, MS(1060));
    ns_diagram_note(d, MS(1060), "server", "ESTABLISHED");
    ns_diagram_send(d, MS(1060), "client", "server", "GET /a;b #2");
}

static const char handshake_txt[] =
"Sequence diagram 'handshake'\n"
"Time runs down; each arrow is drawn when its message is sent; times in seconds.\n"
"\n"
"  sent -> arrives       client                         server\n"
"                           |                              |\n"
" 0.000 -> 0.020            |--------- SYN seq=0 --------->|\n"
" 0.020 -> lost             |   X-- SYN-ACK seq=0 ack=1 ---|   lost at 0.030 s: queue full\n"
" 1.020 -> 1.040            |<---- SYN-ACK seq=0 ack=1 ----|\n"
" 1.040               [ESTABLISHED]                        |\n"
" 1.040 -> 1.060            |--------- ACK ack=1 --------->|\n"
" 1.060                     |                        [ESTABLISHED]\n"
" 1.060 -> ...              |........ GET /a;b #2 ........>|   still in flight at the end\n"
"                           |                              |\n"
"\n"
"5 messages: 3 delivered, 1 lost, 1 still in flight.\n"
"Arrows: ---> delivered, ---X lost on the way, ...> still in flight when the run ended.\n";

static const char handshake_mmd[] =
"sequenceDiagram\n"
"    participant client\n"
"    participant server\n"
"    client->>server: SYN seq=0 (t=0.000 s, arrives 0.020 s)\n"
"    server--xclient: SYN-ACK seq=0 ack=1 (t=0.020 s, lost at 0.030 s: queue full)\n"
"    server->>client: SYN-ACK seq=0 ack=1 (t=1.020 s, arrives 1.040 s)\n"
"    Note over client: ESTABLISHED\n"
"    client->>server: ACK ack=1 (t=1.040 s, arrives 1.060 s)\n"
"    Note over server: ESTABLISHED\n"
"    client-->>server: GET /a#59;b #35;2 (t=1.060 s, still in flight at the end)\n";

static void test_text_chart(void)
{
    char *dir;
    ns_sim *sim = sim_in("text", &dir);
    ns_diagram *d = ns_diagram_open(sim, "handshake", two, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_EQUAL(ns_diagram_find(sim, "handshake"), d);
    record_handshake(d);
    commit_and_free(sim);
    assert_file(dir, "handshake.txt", handshake_txt);
    g_free(dir);
}

/* A label too long for its column is cut with "...", keeping a trailing
 * " (size)" so flights cut alike stay apart; other labels lose their end. */
static void test_long_labels(void)
{
    char *dir;
    ns_sim *sim = sim_in("long", &dir);
    ns_diagram *d = ns_diagram_open(sim, "long", two, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    GString *name = g_string_new("ServerHello");
    for (int i = 0; i < 12; i++)
        g_string_append(name, "+EncryptedExtensions");
    char *sized = g_strconcat(name->str, " (2768 B)", NULL);
    ns_diagram_recv(d, ns_diagram_send(d, MS(0), "server", "client", sized), MS(20));
    ns_diagram_recv(d, ns_diagram_send(d, MS(30), "server", "client", name->str), MS(50));
    commit_and_free(sim);
    char *txt = slurp(dir, "long.txt");
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "|<-- ServerHello+EncryptedExtensions+"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "+Encrypte... (2768 B) --|"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "+EncryptedExtension...--|"));
    if (!strstr(txt, "+Encrypte... (2768 B) --|"))
        fprintf(stderr, "\n%s", txt);
    g_free(txt);
    g_free(sized);
    g_string_free(name, TRUE);
    g_free(dir);
}

static void test_mermaid(void)
{
    char *dir;
    ns_sim *sim = sim_in("mermaid", &dir);
    ns_diagram *d = ns_diagram_open(sim, "handshake", two, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    record_handshake(d);
    commit_and_free(sim);
    assert_file(dir, "handshake.mmd", handshake_mmd);
    g_free(dir);
}

/* Names Mermaid would misread become aliases; the label stays readable. */
static void test_mermaid_aliases(void)
{
    char *dir;
    ns_sim *sim = sim_in("aliases", &dir);
    const char *const ps[] = { "h1", "router-1", "end", "P2", NULL };
    ns_diagram *d = ns_diagram_open(sim, "alias", ps, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    uint64_t m = ns_diagram_send(d, MS(1), "end", "router-1", "a<b>");
    ns_diagram_drop(d, m, MS(2), NULL);
    ns_diagram_note(d, MS(3), "router-1", "UP");
    commit_and_free(sim);
    assert_file(dir, "alias.mmd",
                "sequenceDiagram\n"
                "    participant h1\n"
                "    participant P2_ as router-1\n"
                "    participant P3 as end\n"
                "    participant P2\n"
                "    P3--xP2_: a#60;b#62; (t=0.001 s, lost at 0.002 s)\n"
                "    Note over P2_: UP\n");
    g_free(dir);
}

/* Only messages between participants are kept: send returns 0 for the
 * others, and 0 is a harmless id. */
static void test_non_participants(void)
{
    char *dir;
    ns_sim *sim = sim_in("others", &dir);
    ns_diagram *d = ns_diagram_open(sim, "handshake", two, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_TRUE(ns_diagram_has(d, "client"));
    CU_ASSERT_TRUE(ns_diagram_has(d, "server"));
    CU_ASSERT_FALSE(ns_diagram_has(d, "router"));
    CU_ASSERT_FALSE(ns_diagram_has(d, NULL));

    uint64_t x = ns_diagram_send(d, MS(0), "client", "router", "ARP who-has");
    uint64_t y = ns_diagram_send(d, MS(0), "router", "server", "ARP reply");
    uint64_t z = ns_diagram_send(d, MS(0), NULL, "server", "?");
    CU_ASSERT_EQUAL(x, 0);
    CU_ASSERT_EQUAL(y, 0);
    CU_ASSERT_EQUAL(z, 0);
    ns_diagram_recv(d, x, MS(5));
    ns_diagram_drop(d, y, MS(5), "no route");
    ns_diagram_note(d, MS(5), "router", "UP");
    record_handshake(d);
    ns_diagram_send(d, MS(2000), "server", "nobody", "late");
    commit_and_free(sim);
    assert_file(dir, "handshake.txt", handshake_txt);
    assert_file(dir, "handshake.mmd", handshake_mmd);
    g_free(dir);
}

/* Rows follow (time, recording order), not recording order alone; equal
 * recordings give equal bytes. */
static void record_shuffled(ns_diagram *d)
{
    ns_diagram_note(d, MS(50), "server", "LATE");
    uint64_t a = ns_diagram_send(d, MS(10), "client", "server", "first");
    uint64_t b = ns_diagram_send(d, MS(10), "server", "client", "second");
    ns_diagram_note(d, MS(10), "client", "third");
    ns_diagram_recv(d, b, MS(30));
    ns_diagram_recv(d, a, MS(40));
}

static void test_determinism(void)
{
    char *dirs[2];
    for (int i = 0; i < 2; i++) {
        char *test = g_strdup_printf("same%d", i);
        ns_sim *sim = sim_in(test, &dirs[i]);
        g_free(test);
        ns_diagram *d = ns_diagram_open(sim, "d", two, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        record_shuffled(d);
        commit_and_free(sim);
    }
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "d.mmd" : "d.txt";
        char *a = slurp(dirs[0], name), *b = slurp(dirs[1], name);
        CU_ASSERT_STRING_EQUAL(a, b);
        g_free(a);
        g_free(b);
    }
    char *txt = slurp(dirs[0], "d.txt");
    /* Labels sit between blanks on their arrows ("seconds" is in the header). */
    const char *first = strstr(txt, " first "), *second = strstr(txt, " second ");
    const char *third = strstr(txt, "[third]"), *late = strstr(txt, "[LATE]");
    CU_ASSERT_TRUE(first && second && third && late);
    CU_ASSERT_TRUE(first < second && second < third && third < late);
    g_free(txt);
    assert_file(dirs[0], "d.mmd",
                "sequenceDiagram\n"
                "    participant client\n"
                "    participant server\n"
                "    client->>server: first (t=0.010 s, arrives 0.040 s)\n"
                "    server->>client: second (t=0.010 s, arrives 0.030 s)\n"
                "    Note over client: third\n"
                "    Note over server: LATE\n");
    g_free(dirs[0]);
    g_free(dirs[1]);
}

/* Milliseconds would print 10.0002 ms and 10.0004 ms alike: the chart
 * switches to microseconds rather than show two instants as one. */
static void test_precision(void)
{
    char *dir;
    ns_sim *sim = sim_in("precision", &dir);
    ns_diagram *d = ns_diagram_open(sim, "p", two, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    uint64_t m = ns_diagram_send(d, MS(10) + 200 * NS_USEC, "client", "server", "a");
    ns_diagram_recv(d, m, MS(10) + 400 * NS_USEC);
    commit_and_free(sim);
    assert_file(dir, "p.mmd",
                "sequenceDiagram\n"
                "    participant client\n"
                "    participant server\n"
                "    client->>server: a (t=0.010200 s, arrives 0.010400 s)\n");
    g_free(dir);
}

static void assert_error(GError *err, int code, const char *msg)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, code));
    CU_ASSERT_STRING_EQUAL(err->message, msg);
    if (strcmp(err->message, msg) != 0)
        fprintf(stderr, "\nerror: got '%s', want '%s'\n", err->message, msg);
}

static void test_open_errors(void)
{
    char *dir;
    ns_sim *sim = sim_in("errors", &dir);
    GError *err = NULL;
    const char *const none[] = { NULL };
    const char *const dup[] = { "a", "b", "a", NULL };
    const char *const empty[] = { "a", "", NULL };

    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "x", none, &err));
    assert_error(err, NS_ERROR_INVALID, "diagram 'x': no participants");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "x", dup, &err));
    assert_error(err, NS_ERROR_INVALID, "diagram 'x': participant 'a' is listed twice");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "x", empty, &err));
    assert_error(err, NS_ERROR_INVALID, "diagram 'x': participant 2 has an empty name");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "", two, &err));
    assert_error(err, NS_ERROR_INVALID, "the diagram name is empty");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "../up", two, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    g_clear_error(&err);

    CU_ASSERT_PTR_NOT_NULL(ns_diagram_open(sim, "x", two, NULL));
    CU_ASSERT_PTR_NULL(ns_diagram_open(sim, "x", two, &err));
    assert_error(err, NS_ERROR_EXISTS, "diagram 'x' is already open");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_diagram_find(sim, "y"));

    /* Nothing was opened by the failed calls: only x's two files appear. */
    commit_and_free(sim);
    char *p = g_build_filename(dir, "x.txt", NULL);
    CU_ASSERT_TRUE(g_file_test(p, G_FILE_TEST_EXISTS));
    g_free(p);
    GDir *gd = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (gd && g_dir_read_name(gd))
        n++;
    if (gd)
        g_dir_close(gd);
    CU_ASSERT_EQUAL(n, 2);
    g_free(dir);
}

/* Application messages over packets: a message of a byte stream arrives
 * when the receiver holds its last byte (not before, whatever else of the
 * stream came), so two messages in one read arrive together; the packets
 * under them are drawn only when asked, and a chart without application
 * messages keeps its packets. */
static void record_layers(ns_diagram *d)
{
    ns_diagram_note(d, MS(0), "client", "ESTABLISHED");
    uint64_t p = ns_diagram_send(d, MS(0), "client", "server", "DATA len=300");
    ns_diagram_stream_send(d, MS(0), "s1", 300, "client", "server", "Hello");
    ns_diagram_stream_send(d, MS(1), "s1", 500, "client", "server", "Finished");
    ns_diagram_stream_send(d, MS(1), "s1", 600, "client", "server", "Data");
    ns_diagram_stream_recv(d, MS(9), "other", 600);     /* unknown stream: ignored */
    ns_diagram_stream_recv(d, MS(10), "s1", 299);       /* one byte short */
    ns_diagram_recv(d, p, MS(10));
    ns_diagram_stream_recv(d, MS(11), "s1", 550);       /* Hello and Finished */
    ns_diagram_summary(d, "TLS 1.3 full: first app byte at 2.00 RTT after SYN");
}

static void test_layers(void)
{
    static const struct { enum ns_diagram_packets show; bool app; const char *name; } cases[] = {
        { NS_DIAGRAM_PACKETS_AUTO, true, "auto" },
        { NS_DIAGRAM_PACKETS_SHOW, true, "show" },
        { NS_DIAGRAM_PACKETS_HIDE, true, "hide" },
        { NS_DIAGRAM_PACKETS_AUTO, false, "auto_packets_only" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *dir;
        ns_sim *sim = sim_in(cases[i].name, &dir);
        ns_diagram *d = ns_diagram_open(sim, "l", two, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        ns_diagram_show_packets(d, cases[i].show);
        if (cases[i].app) {
            record_layers(d);
        } else {
            uint64_t p = ns_diagram_send(d, MS(0), "client", "server", "DATA len=300");
            ns_diagram_recv(d, p, MS(10));
        }
        commit_and_free(sim);
        char *txt = slurp(dir, "l.txt"), *mmd = slurp(dir, "l.mmd");
        bool packets = cases[i].show == NS_DIAGRAM_PACKETS_SHOW || !cases[i].app;
        CU_ASSERT_EQUAL(strstr(mmd, "client->>server: DATA len=300 (t=0.000 s, arrives 0.010 s)") != NULL,
                        packets);
        CU_ASSERT_EQUAL(strstr(txt, "DATA len=300") != NULL, packets);
        if (cases[i].app) {
            CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "client->>server: Hello (t=0.000 s, arrives 0.011 s)\n"));
            CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "client->>server: Finished (t=0.001 s, arrives 0.011 s)\n"));
            CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "client-->>server: Data (t=0.001 s, not all read by the receiver at the end)\n"));
            CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "Note over client: ESTABLISHED\n"));
            CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "    Note over client,server: TLS 1.3 full: "
                                               "first app byte at 2.00 RTT after SYN\n"));
            CU_ASSERT_PTR_NOT_NULL(strstr(txt, " 0.000 -> 0.011 ") );
            CU_ASSERT_TRUE(g_str_has_suffix(txt, "TLS 1.3 full: first app byte at 2.00 RTT after SYN\n"));
            CU_ASSERT_EQUAL(strstr(txt, "1 packet under these messages is not drawn.\n") != NULL,
                            !packets);
            /* The unread Data is counted as such, not as in flight. */
            CU_ASSERT_PTR_NOT_NULL(strstr(txt, packets
                ? "4 messages: 3 delivered, 0 lost, 0 still in flight, 1 not all read by the receiver.\n"
                : "3 messages: 2 delivered, 0 lost, 0 still in flight, 1 not all read by the receiver.\n"));
        }
        g_free(txt);
        g_free(mmd);
        g_free(dir);
    }
}

void test_diagram_register(void)
{
    CU_pSuite s = ns_test_suite("diagram", NULL, NULL);
    ns_test_add(s, "a long label keeps its size", test_long_labels);
    ns_test_add(s, "text chart of a lossy handshake", test_text_chart);
    ns_test_add(s, "Mermaid chart of a lossy handshake", test_mermaid);
    ns_test_add(s, "Mermaid aliases and escapes", test_mermaid_aliases);
    ns_test_add(s, "messages with non-participants are ignored", test_non_participants);
    ns_test_add(s, "rows by (time, recording order), equal bytes", test_determinism);
    ns_test_add(s, "times precise enough to keep instants apart", test_precision);
    ns_test_add(s, "open refuses bad participants and names", test_open_errors);
    ns_test_add(s, "application messages over packets, summary lines", test_layers);
}
