/* test_tls_diagram.c — TLS in the sequence diagram: one arrow per flight,
 * labelled with its messages and size, from the moment the flight is
 * written to TCP to the moment the peer's TLS holds all of it; the TCP
 * segments under the flights only when asked; a summary line per client
 * connection with its round trips to the first application byte, or the
 * alert that ended it.
 *
 * The times an arrow must show come from the TLS callbacks and counters,
 * not from the diagram: with no CPU costs, a flight leaves the moment the
 * one before it has fully arrived, and the client's application data
 * reaches the server's callback when its flight has. */
#include <stdlib.h>
#include <string.h>

#include "netsim/diagram.h"
#include "netsim/host.h"
#include "tests.h"
#include "tlsworld.h"

static const char *const ab[] = { "a", "b", NULL };

static void open_diagram(struct world *w, enum ns_diagram_packets show)
{
    GError *err = NULL;
    ns_diagram *d = ns_net_open_diagram(w->sim, "hs", ab, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    ns_diagram *x = ns_net_diagram(w->a);          /* d is one of a's */
    while (x && x != d)
        x = ns_net_diagram_next(w->a, x);
    CU_ASSERT_PTR_EQUAL(x, d);
    ns_diagram_show_packets(d, show);
    /* Each diagram of a sim has a name of its own. */
    CU_ASSERT_PTR_NULL(ns_net_open_diagram(w->sim, "hs", ab, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    g_clear_error(&err);
}

/* Frees the world (committing its outputs) and reads chart `name`. */
static void finish(struct world *w, char **mmd, char **txt)
{
    char *dir = g_strdup(w->dir);
    world_free(w);
    for (int i = 0; i < 2; i++) {
        char *p = g_build_filename(dir, i ? "hs.txt" : "hs.mmd", NULL);
        char *got = NULL;
        CU_ASSERT_TRUE(g_file_get_contents(p, &got, NULL, NULL));
        g_free(p);
        *(i ? txt : mmd) = got ? got : g_strdup("");
    }
    g_free(dir);
}

/* "S.FFFFFFFFF" (as many digits as the chart uses) in ns, and the chart's
 * rounding unit. */
static ns_time_t parse_time(const char *s, ns_time_t *unit)
{
    const char *dot = strchr(s, '.');
    ns_time_t t = (ns_time_t)strtoll(s, NULL, 10) * NS_SEC, scale = NS_SEC;
    int digits = 0;
    for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, digits++) {
        scale /= 10;
        t += (*p - '0') * scale;
    }
    *unit = scale;
    return t;
}

/* The Mermaid arrow from -> to whose label starts with `label` (and "("
 * after it: the byte count), with its send and arrival times. */
static bool find_arrow(const char *mmd, const char *from, const char *to, const char *label,
                       ns_time_t *sent, ns_time_t *arrives, ns_time_t *unit)
{
    char *head = g_strdup_printf("    %s->>%s: %s (", from, to, label);
    const char *p = strstr(mmd, head);
    size_t n = strlen(head);
    g_free(head);
    if (!p)
        return false;
    const char *t = strstr(p + n, "(t=");
    const char *a = t ? strstr(t, ", arrives ") : NULL;
    if (!a)
        return false;
    *sent = parse_time(t + 3, unit);
    *arrives = parse_time(a + 10, unit);
    return true;
}

/* Asserts the arrow is there and shows these times (to the chart's precision). */
static void check_arrow(const char *mmd, const char *from, const char *to, const char *label,
                        ns_time_t want_sent, ns_time_t want_arrives)
{
    ns_time_t s = -1, a = -1, unit = 1;
    bool found = find_arrow(mmd, from, to, label, &s, &a, &unit);
    CU_ASSERT_TRUE(found);
    CU_ASSERT_TRUE(llabs(s - want_sent) * 2 <= unit);
    CU_ASSERT_TRUE(llabs(a - want_arrives) * 2 <= unit);
    if (!found || llabs(s - want_sent) * 2 > unit || llabs(a - want_arrives) * 2 > unit)
        fprintf(stderr, "\n  arrow %s->%s '%s': found %d, sent %lld (want %lld), arrives %lld (want %lld)\n",
                from, to, label, found, (long long)s, (long long)want_sent, (long long)a,
                (long long)want_arrives);
}

/* TLS 1.3: ClientHello, the server's flight, the client's Finished with
 * its request; each arrow ends where the next flight starts. */
static void test_tls13_arrows(void)
{
    struct world w;
    world_init(&w, 1, "diagram13");
    open_diagram(&w, NS_DIAGRAM_PACKETS_AUTO);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info ci;
    ns_tls_info(c, &ci);
    struct path path = path_to_est(&w.cli);
    char *mmd, *txt;
    finish(&w, &mmd, &txt);
    ns_time_t s = -1, sh_at = -1, unit;
    /* ClientHello: written the moment TCP is established. */
    CU_ASSERT_TRUE(find_arrow(mmd, "a", "b", "ClientHello", &s, &sh_at, &unit));
    CU_ASSERT_TRUE(llabs(s - ci.tcp_established_at) * 2 <= unit);
    CU_ASSERT_TRUE(sh_at > s + R / 2 && sh_at <= s + R / 2 + SER(path.max_bytes) + unit);
    /* The server's flight leaves when it has the ClientHello and is whole
     * at the client when the client completes the handshake. */
    check_arrow(mmd, "b", "a", "ServerHello+ChangeCipherSpec+EncryptedExtensions+"
                "Certificate(2.4KB)+CertificateVerify+Finished", sh_at, ci.established_at);
    /* The client's Finished and request: at the server's data callback. */
    check_arrow(mmd, "a", "b", "ChangeCipherSpec+Finished+ApplicationData", ci.first_app_tx_at,
                w.srv.first_rx_at);
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "Note over a: TLS 1.3 established\n"));
    /* No TCP segment drawn by default, but said so. */
    CU_ASSERT_PTR_NULL(strstr(mmd, "SYN seq="));
    CU_ASSERT_PTR_NULL(strstr(txt, "DATA seq="));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "packets under these messages are not drawn.\n"));
    /* The summary: 2 RTT, in both charts. */
    char want[160];
    g_snprintf(want, sizeof want, "TLS 1.3 full: first app byte at 2.00 RTT after SYN "
               "(%.1f ms, a:49152>b:443)", (double)ci.first_app_tx_at / NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, want));
    g_snprintf(want, sizeof want, "Note over a,b: TLS 1.3 full: first app byte at 2.00 RTT "
               "after SYN (%.1f ms, a:49152#62;b:443)\n", (double)ci.first_app_tx_at / NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, want));
    g_free(mmd);
    g_free(txt);
}

/* TLS 1.2 asks for one more round trip; with packets = show the TCP
 * segments are drawn as well, the flights over them. */
static void test_tls12_with_segments(void)
{
    struct world w;
    world_init(&w, 1, "diagram12");
    open_diagram(&w, NS_DIAGRAM_PACKETS_SHOW);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    co.max_version = NS_TLS_12;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info ci;
    ns_tls_info(c, &ci);
    char *mmd, *txt;
    finish(&w, &mmd, &txt);
    ns_time_t s, ch_at = -1, unit;
    CU_ASSERT_TRUE(find_arrow(mmd, "a", "b", "ClientHello", &s, &ch_at, &unit));
    ns_time_t s2 = -1, shd_at = -1;
    CU_ASSERT_TRUE(find_arrow(mmd, "b", "a", "ServerHello+Certificate(2.4KB)+ServerKeyExchange+"
                              "ServerHelloDone", &s2, &shd_at, &unit));
    CU_ASSERT_TRUE(llabs(s2 - ch_at) * 2 <= unit);
    ns_time_t s3 = -1, cke_at = -1;
    CU_ASSERT_TRUE(find_arrow(mmd, "a", "b", "ClientKeyExchange+ChangeCipherSpec+Finished",
                              &s3, &cke_at, &unit));
    CU_ASSERT_TRUE(llabs(s3 - shd_at) * 2 <= unit);
    check_arrow(mmd, "b", "a", "NewSessionTicket+ChangeCipherSpec+Finished", cke_at,
                ci.established_at);
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "a->>b: SYN seq=0 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, "b->>a: DATA seq=1 len=1448 "));
    CU_ASSERT_PTR_NULL(strstr(txt, "not drawn"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "TLS 1.2 full: first app byte at 3.00 RTT after SYN"));
    g_free(mmd);
    g_free(txt);
}

/* Several diagrams: the flights go to every one that has both ends, the
 * summary to every one that has the client.  "only_a" is opened first, so
 * drawing in just the first diagram with the client would lose them all. */
static void test_several_diagrams(void)
{
    struct world w;
    world_init(&w, 1, "diagram_several");
    static const char *const a_only[] = { "a", NULL };
    GError *err = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_net_open_diagram(w.sim, "only_a", a_only, &err));
    open_diagram(&w, NS_DIAGRAM_PACKETS_AUTO);
    ns_diagram *d2 = ns_net_open_diagram(w.sim, "hs2", ab, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
    CU_ASSERT_PTR_NULL(ns_net_diagram_next(w.b, d2));
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    world_run(&w);
    char *dir = g_strdup(w.dir);
    char *mmd, *txt;
    finish(&w, &mmd, &txt);
    char *mmd2 = ns_test_read_file(dir, "hs2.mmd"), *only = ns_test_read_file(dir, "only_a.txt");
    const char *flight = "b->>a: ServerHello+ChangeCipherSpec+EncryptedExtensions+";
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, flight));
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd2, flight));
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd2, "a->>b: ClientHello ("));
    CU_ASSERT_PTR_NULL(strstr(only, "ClientHello"));
    const char *summary = "TLS 1.3 full: first app byte at 2.00 RTT after SYN";
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, summary));
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd2, summary));
    CU_ASSERT_PTR_NOT_NULL(strstr(only, summary));
    g_free(mmd);
    g_free(mmd2);
    g_free(txt);
    g_free(only);
    g_free(dir);
}

/* Failed handshakes: the alert is an arrow of its own, and the client's
 * summary says what ended the connection.  In 1.3 a client without the
 * certificate the server requires has sent its request already (it is
 * established after the server's flight, RFC 8446 4.4.2): both lines. */
static void failure(bool mtls, const char *arrow, const char *summary, bool first_byte)
{
    struct world w;
    world_init(&w, 1, "diagram_fail");
    open_diagram(&w, NS_DIAGRAM_PACKETS_AUTO);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.require_client_cert = mtls;
    if (!mtls)
        co.cert_status = NS_TLS_CERT_UNKNOWN_CA;
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    world_run(&w);
    char *mmd, *txt;
    finish(&w, &mmd, &txt);
    CU_ASSERT_PTR_NOT_NULL(strstr(mmd, arrow));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, summary));
    CU_ASSERT_EQUAL(strstr(txt, "TLS 1.3 full: first app byte at 2.00 RTT") != NULL, first_byte);
    g_free(mmd);
    g_free(txt);
}

static void test_failure_summary(void)
{
    failure(true, "b->>a: certificate_required (24 B) (t=",
            "\nTLS 1.3: failed with certificate_required (a:49152>b:443)\n", true);
    failure(false, "a->>b: unknown_ca (24 B) (t=",
            "\nTLS 1.3: no app byte: the handshake failed with unknown_ca (a:49152>b:443)\n", false);
}

void test_tls_diagram_register(void)
{
    CU_pSuite s = ns_test_suite("tls_diagram", NULL, NULL);
    ns_test_add(s, "TLS 1.3 flights as arrows, summary line", test_tls13_arrows);
    ns_test_add(s, "TLS 1.2 flights over the TCP segments when asked", test_tls12_with_segments);
    ns_test_add(s, "a failed handshake's alert and summary", test_failure_summary);
    ns_test_add(s, "several diagrams: flights in each with both ends", test_several_diagrams);
}
