/* test_tls.c — the TLS model driven from C: round trips before the first
 * application byte to within serialisation on a lossless link (RFC 8446
 * 1-RTT and HelloRetryRequest, RFC 5246 full), a server flight over the
 * initial window, crypto costs on the CPU model to the nanosecond, mutual
 * TLS and its alerts, certificate and version failures, record sizes per
 * cipher suite, tshark decoding a pcap of each version, bad input, errors
 * and tickets from Lua, and determinism.  Resumption, 0-RTT and session
 * tickets are in test_tls_resume.c.
 *
 * The world (tlsworld.h): two hosts, a (client) and b (server), on a
 * 1 Gbit/s link with 25 ms each way: R = 50 ms.  "k round trips" is
 * asserted to within the serialisation on the critical path (tlsworld.h:
 * struct path), a window of a few tens of microseconds. */
#include <string.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "netsim/link.h"
#include "netsim/luabind.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/tls.h"
#include "netsim/trace.h"
#include "tests.h"
#include "tlsworld.h"

/* ---- round trips ---- */

static void first_byte(enum ns_tls_version cv, int rtts)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    co.max_version = cv;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info i;
    ns_tls_info(c, &i);
    CU_ASSERT_EQUAL(ns_tls_version(c), cv);
    check_rtts(i.tcp_established_at, 0, 1, path_to_now(&w.cli));
    check_rtts(i.first_app_tx_at, 0, rtts, path_to_est(&w.cli));
    CU_ASSERT_EQUAL(i.first_app_tx_at, w.cli.est_at);
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    check_rtts(w.srv.first_rx_at, R / 2, rtts, path_to_rx(&w.srv, &w.cli));
    CU_ASSERT_EQUAL(w.cli.error[0], 0);
    CU_ASSERT_EQUAL(w.srv.error[0], 0);
    CU_ASSERT_FALSE(ns_tls_resumed(c));
    world_free(&w);
}

static void test_tls13_full(void) { first_byte(NS_TLS_13, 2); }

/* The same with the default handshake crypto costs: the round trips stay,
 * moved by the work on the critical path (as test_cpu_costs counts it:
 * ECDHE 60 us, sign 40 us, verify 80 us). */
static void first_byte_with_costs(enum ns_tls_version v, int rtts, ns_time_t cpu)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    ns_tls_opts_defaults(&so);
    ns_tls_opts_defaults(&co);
    /* per-record costs are counted to the nanosecond in test_record_costs */
    so.costs.record = co.costs.record = 0;
    so.costs.aead_ns_per_byte = co.costs.aead_ns_per_byte = 0;
    co.max_version = v;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info i;
    ns_tls_info(c, &i);
    struct path p = path_to_est(&w.cli);
    p.cpu = cpu;
    check_rtts(i.first_app_tx_at, 0, rtts, p);
    struct path q = path_to_rx(&w.srv, &w.cli);
    q.cpu = cpu;
    check_rtts(w.srv.first_rx_at, R / 2, rtts, q);
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    world_free(&w);
}

static void test_tls13_costs(void)
{
    first_byte_with_costs(NS_TLS_13, 2, 60000 + (2 * 60000 + 40000) + (60000 + 2 * 80000 + 80000));
}

static void test_tls12_costs(void)
{
    first_byte_with_costs(NS_TLS_12, 3, (60000 + 40000) + (2 * 80000 + 80000 + 2 * 60000) + 60000);
}
static void test_tls12_full(void) { first_byte(NS_TLS_12, 3); }

static void test_hrr(void)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.group = NS_TLS_SECP256R1;
    co.group = NS_TLS_X25519;                      /* the wrong guess */
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info i;
    ns_tls_info(c, &i);
    CU_ASSERT_EQUAL(i.hello_retries, 1);
    check_rtts(i.first_app_tx_at, 0, 3, path_to_est(&w.cli));
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    world_free(&w);
}

/* ---- a server flight larger than the initial window ---- */

/* The client's first byte, in round trips, with the server's first flight
 * exactly `flight` bytes (one certificate sized to make it so) and
 * init_cwnd segments.  With tickets off, the server writes that flight
 * and, in 1.2, a last one of CCS (6 bytes) and Finished (5 + 4 + 12 +
 * 8 + 16 with AES-GCM). */
#define LAST12 (6 + 5 + 4 + 12 + 8 + 16)
static int rtts_for_flight(enum ns_tls_version v, uint32_t init_cwnd, uint32_t flight)
{
    uint32_t cert = 1000;
    /* sizes the certificate until the flight is exact: a message over
     * 2^14 bytes takes a second record, so the first guess can be short */
    for (int pass = 0; pass < 4; pass++) {
        struct world w;
        world_init(&w, 1, NULL);
        struct ns_tls_opts so, co;
        struct ns_tcp_opts to;
        opts(&so);
        opts(&co);
        co.max_version = v;
        so.tickets = false;
        so.chain_len = 1;
        so.cert_size = cert;
        ns_tcp_opts_defaults(&to);
        to.nodelay = true;
        to.init_cwnd = init_cwnd;
        world_listen_tcp(&w, &so, &to);
        ns_tls *c = world_connect(&w, &w.cli, &co);
        world_run(&w);
        struct ns_tls_info ci, si;
        ns_tls_info(c, &ci);
        ns_tls_info(w.srv.t, &si);
        CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
        struct path path = path_to_est(&w.cli);
        world_free(&w);
        uint32_t got = (uint32_t)si.handshake_bytes - (v == NS_TLS_12 ? LAST12 : 0);
        if (got != flight) {
            cert += flight - got;
            continue;
        }
        ns_time_t d = ci.first_app_tx_at;
        int k = (int)(d / R);
        /* Only kR below: the flight's first window crosses while the
         * ACKs that open the next come back, so its serialisation is not
         * all on the path. */
        if (d < k * R || d > k * R + SER(path.max_bytes))
            return -1;                             /* not a whole number of RTTs */
        return k;
    }
    CU_FAIL("no certificate size gives that flight");
    return -1;
}

static void test_big_chain(void)
{
    /* init_cwnd 10 segments of 1448 bytes (1460 less the timestamps
     * option) = 14480: one byte more costs one RTT, and so does up to
     * twice the window (slow start doubles it in that round trip) */
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 10, 14480), 2);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 10, 14481), 3);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 10, 28960), 3);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_12, 10, 14480), 3);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_12, 10, 14481), 4);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 4, 5792), 2);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 4, 5793), 3);
    CU_ASSERT_EQUAL(rtts_for_flight(NS_TLS_13, 4, 11584), 3);
}

/* ---- mutual TLS ---- */

static void mtls(enum ns_tls_version v, unsigned client_certs, const char *alert)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.require_client_cert = true;
    co.max_version = v;
    co.client_certs = client_certs;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info i;
    ns_tls_info(c, &i);
    if (!alert) {
        check_rtts(i.first_app_tx_at, 0, v == NS_TLS_13 ? 2 : 3, path_to_est(&w.cli)); /* no extra RTT */
        CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
        CU_ASSERT_EQUAL(w.srv.error[0], 0);
    } else {
        CU_ASSERT_STRING_EQUAL(w.srv.error, alert);
        CU_ASSERT_STRING_EQUAL(w.cli.error, alert);
        char want[64];
        g_snprintf(want, sizeof want, "s:%s ", alert);
        CU_ASSERT_STRING_EQUAL(w.srv.alerts, want);
        g_snprintf(want, sizeof want, "r:%s ", alert);
        CU_ASSERT_STRING_EQUAL(w.cli.alerts, want);
        CU_ASSERT_EQUAL(w.srv.rx->len, 0);        /* the request never got through */
    }
    world_free(&w);
}

static void test_mtls13(void) { mtls(NS_TLS_13, 1, NULL); }
static void test_mtls12(void) { mtls(NS_TLS_12, 2, NULL); }
static void test_mtls13_no_cert(void) { mtls(NS_TLS_13, 0, "certificate_required"); }
static void test_mtls12_no_cert(void) { mtls(NS_TLS_12, 0, "handshake_failure"); }

/* ---- failures ---- */

static void fail_case(enum ns_tls_cert_status cs, enum ns_tls_version cmax,
                      enum ns_tls_version smin, const char *alert, bool client_sends)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    co.cert_status = cs;
    co.max_version = cmax;
    so.min_version = smin;
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    world_run(&w);
    char want[64];
    CU_ASSERT_STRING_EQUAL(w.cli.error, alert);
    CU_ASSERT_STRING_EQUAL(w.srv.error, alert);
    g_snprintf(want, sizeof want, "%s:%s ", client_sends ? "s" : "r", alert);
    CU_ASSERT_STRING_EQUAL(w.cli.alerts, want);
    CU_ASSERT_EQUAL(w.cli.est_at, -1);
    world_free(&w);
}

static void test_unknown_ca(void) { fail_case(NS_TLS_CERT_UNKNOWN_CA, NS_TLS_13, NS_TLS_12, "unknown_ca", true); }
static void test_expired(void) { fail_case(NS_TLS_CERT_EXPIRED, NS_TLS_12, NS_TLS_12, "certificate_expired", true); }
static void test_no_version(void) { fail_case(NS_TLS_CERT_OK, NS_TLS_12, NS_TLS_13, "protocol_version", false); }

/* A server that accepts the TCP connection but never speaks TLS: the
 * client gives up exactly handshake_timeout after it connected, with the
 * reason "handshake timeout" and no alert, and resets the connection. */
static void silent_accept(ns_tcp_listener *l, ns_tcp *c, void *ud)
{
    (void)l;
    *(ns_tcp **)ud = c;
}

static void test_handshake_timeout(void)
{
    struct world w;
    world_init(&w, 1, NULL);
    ns_tcp *srv = NULL;
    GError *err = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_tcp_listen(w.b, PORT, NULL, silent_accept, &srv, &err));
    struct ns_tls_opts co;
    opts(&co);
    co.handshake_timeout = 2 * NS_SEC;
    world_connect(&w, &w.cli, &co);
    ns_sim_run(w.sim, 2 * NS_SEC - 1, 0);
    CU_ASSERT_PTR_NOT_NULL(srv);                 /* TCP is up, TLS is not */
    CU_ASSERT_STRING_EQUAL(w.cli.error, "");
    ns_sim_run(w.sim, 2 * NS_SEC, 0);
    CU_ASSERT_STRING_EQUAL(w.cli.error, "handshake timeout");
    CU_ASSERT_STRING_EQUAL(w.cli.alerts, "");
    CU_ASSERT_EQUAL(w.cli.est_at, -1);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_tcp_state(ns_tls_tcp(w.cli.t)), NS_TCP_CLOSED);
    if (srv)
        CU_ASSERT_EQUAL(ns_tcp_state(srv), NS_TCP_CLOSED);   /* reset by the client */
    world_free(&w);
}

/* ---- CPU costs: the exact sum on the critical path ---- */

static ns_time_t first_tx_with(const struct ns_tls_costs *k, enum ns_tls_version v)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.costs = *k;
    co.costs = *k;
    co.max_version = v;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    struct ns_tls_info i;
    ns_tls_info(c, &i);
    world_free(&w);
    return i.first_app_tx_at;
}

/* The client's first byte moves by the CPU work on the critical path,
 * less what overlaps with the arrival of the rest of a flight (the client
 * works on ServerHello while the certificates are still on the wire: at
 * most the serialisation of the flight, ~40 us here, less than any single
 * cost, so a cost missing or counted twice fails). */
static void check_cost(ns_time_t d, ns_time_t sum, ns_time_t overlap_max)
{
    CU_ASSERT_TRUE(d <= sum && d > sum - overlap_max);
    if (!(d <= sum && d > sum - overlap_max))
        fprintf(stderr, "\n  CPU delay %ld ns, critical path %ld ns\n", (long)d, (long)sum);
}

static void test_cpu_costs(void)
{
    struct ns_tls_costs zero = { 0 }, k = { 60 * NS_USEC, 40 * NS_USEC, 80 * NS_USEC, 0, 0 };
    ns_time_t d13 = first_tx_with(&k, NS_TLS_13) - first_tx_with(&zero, NS_TLS_13);
    ns_time_t d12 = first_tx_with(&k, NS_TLS_12) - first_tx_with(&zero, NS_TLS_12);
    /* 1.3: client key share; server key share + secret + CertificateVerify
     * signature; client secret, two certificates and CertificateVerify */
    check_cost(d13, 60000 + (2 * 60000 + 40000) + (60000 + 2 * 80000 + 80000), 15000);
    /* 1.2: no key share in the hello; server key pair + ServerKeyExchange
     * signature; client two certificates, the SKE signature, key pair and
     * secret; server secret (ClientKeyExchange) before its Finished */
    check_cost(d12, (60000 + 40000) + (2 * 80000 + 80000 + 2 * 60000) + 60000, 15000);
}

/* Record protection costs CPU at both ends, per record (fixed) and per
 * plaintext byte: the sender's before the record leaves, the receiver's
 * when it decrypts (charged with the next CPU pass of that connection:
 * delivery does not wait for it, what the connection sends next does).
 * n bytes sent 1 s after the handshake in records of record_size, all in
 * one segment: each host's CPU busy time grows by exactly records x
 * (record + aead x bytes each), and the server's on_data moves by the
 * sender's share alone. */
struct send_later {
    struct world *w;
    uint32_t  n;
    ns_time_t busy_cli, busy_srv;        /* CPU busy time at the send */
};

static void send_n(ns_sim *sim, void *arg)
{
    struct send_later *s = arg;
    GError *err = NULL;
    s->busy_cli = ns_cpu_busy_time(s->w->a);
    s->busy_srv = ns_cpu_busy_time(s->w->b);
    CU_ASSERT_TRUE(ns_tls_send(s->w->cli.t, NULL, s->n, &err));
    g_clear_error(&err);
}

struct record_run { ns_time_t delay, cpu_cli, cpu_srv; };

static struct record_run data_costs(ns_time_t record, double aead, uint32_t n, uint32_t record_size)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.costs.record = co.costs.record = record;
    so.costs.aead_ns_per_byte = co.costs.aead_ns_per_byte = aead;
    co.record_size = record_size;
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    w.cli.send_on_est = NULL;
    struct send_later s = { &w, n, 0, 0 };
    ns_event_after(w.sim, NS_SEC, send_n, &s);        /* at 1 s: the sim starts at 0 */
    world_run(&w);
    CU_ASSERT_EQUAL(w.srv.rx->len, n);
    struct record_run r = { w.srv.first_rx_at - NS_SEC, ns_cpu_busy_time(w.a) - s.busy_cli,
                            ns_cpu_busy_time(w.b) - s.busy_srv };
    world_free(&w);
    return r;
}

static void check_record_costs(ns_time_t record, double aead, uint32_t record_size,
                               ns_time_t per_side)
{
    struct record_run base = data_costs(0, 0, 1000, record_size);
    struct record_run r = data_costs(record, aead, 1000, record_size);
    CU_ASSERT_EQUAL(base.cpu_cli, 0);
    CU_ASSERT_EQUAL(r.cpu_cli, per_side);                /* encryption */
    CU_ASSERT_EQUAL(r.cpu_srv, per_side);                /* decryption */
    CU_ASSERT_EQUAL(r.delay - base.delay, per_side);
    if (r.cpu_cli != per_side || r.cpu_srv != per_side || r.delay - base.delay != per_side)
        fprintf(stderr, "\n  record %ld ns, aead %.1f ns/B, records of %u: CPU %ld/%ld ns, "
                "delay +%ld ns, want %ld\n", (long)record, aead, record_size, (long)r.cpu_cli,
                (long)r.cpu_srv, (long)(r.delay - base.delay), (long)per_side);
}

static void test_record_costs(void)
{
    check_record_costs(1000, 2.0, 16384, 1000 + 2 * 1000);      /* one record */
    check_record_costs(1000, 2.0, 250, 4 * (1000 + 2 * 250));   /* four */
    check_record_costs(0, 0.5, 16384, 500);                     /* fractional ns/B */
    check_record_costs(300, 0, 16384, 300);                     /* fixed part alone */
    /* the defaults, documented in tls.h */
    struct ns_tls_opts o;
    ns_tls_opts_defaults(&o);
    CU_ASSERT_EQUAL(o.costs.record, 200);
    CU_ASSERT_TRUE(o.costs.aead_ns_per_byte == 0.5);
}

/* ---- record sizes ---- */

static void after_send(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_tls_send(w->cli.t, NULL, 40000, &err));
    g_clear_error(&err);
}

static uint64_t bytes_for_40000(enum ns_tls_version v, enum ns_tls_cipher c)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.cipher = co.cipher = c;
    co.max_version = v;
    world_listen(&w, &so);
    ns_tls *t = world_connect(&w, &w.cli, &co);
    w.cli.send_on_est = NULL;
    world_run(&w);
    struct ns_tcp_info before, after;
    ns_tcp_info(ns_tls_tcp(t), &before);
    ns_event_after(w.sim, NS_SEC, after_send, &w);
    world_run(&w);
    ns_tcp_info(ns_tls_tcp(t), &after);
    CU_ASSERT_EQUAL(w.srv.rx->len, 40000);
    size_t nonzero = 0;                           /* NULL sends zeros, sealed and opened */
    for (guint i = 0; i < w.srv.rx->len; i++)
        nonzero += w.srv.rx->data[i] != 0;
    CU_ASSERT_EQUAL(nonzero, 0);
    world_free(&w);
    return after.bytes_acked - before.bytes_acked;
}

static void test_record_sizes(void)
{
    /* 16384 + 16384 + 7232: three records of 5-byte header + overhead */
    CU_ASSERT_EQUAL(bytes_for_40000(NS_TLS_13, NS_TLS_AES128_GCM), 40000 + 3 * (5 + 17));
    CU_ASSERT_EQUAL(bytes_for_40000(NS_TLS_12, NS_TLS_AES128_GCM), 40000 + 3 * (5 + 24));
    CU_ASSERT_EQUAL(bytes_for_40000(NS_TLS_12, NS_TLS_CHACHA20), 40000 + 3 * (5 + 16));
}

/* The certificate chain decides the server's flight: two certificates
 * more of 1200 bytes make it exactly 2 x (1200 + 3-byte length [+ 2-byte
 * extensions in 1.3]) larger, so certificates are exactly the size asked. */
static uint64_t server_bytes(enum ns_tls_version v, unsigned chain, uint32_t size)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    so.chain_len = chain;
    so.cert_size = size;
    so.tickets = false;
    co.max_version = v;
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    world_run(&w);
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    struct ns_tls_info i;
    ns_tls_info(w.srv.t, &i);
    world_free(&w);
    return i.handshake_bytes;
}

static void test_cert_sizes(void)
{
    CU_ASSERT_EQUAL(server_bytes(NS_TLS_13, 4, 1200) - server_bytes(NS_TLS_13, 2, 1200), 2 * 1205);
    CU_ASSERT_EQUAL(server_bytes(NS_TLS_12, 4, 1200) - server_bytes(NS_TLS_12, 2, 1200), 2 * 1203);
    CU_ASSERT_EQUAL(server_bytes(NS_TLS_12, 1, 1301) - server_bytes(NS_TLS_12, 1, 1300), 1);
    CU_ASSERT_EQUAL(server_bytes(NS_TLS_12, 1, 700) - server_bytes(NS_TLS_12, 1, 600), 100);
}

/* ---- tshark ---- */

static void pcap_case(enum ns_tls_version v, const char *const *want, size_t nwant)
{
    struct world w;
    world_init(&w, 1, v == NS_TLS_13 ? "pcap13" : "pcap12");
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    co.max_version = v;
    so.chain_len = 3;
    so.cert_size = 1500;
    world_listen(&w, &so);
    world_connect(&w, &w.cli, &co);
    world_run(&w);
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    world_free(&w);
    char *out = tshark_V(file);
    if (!out) {
        printf("\n  note: tshark not found, TLS decoding check skipped\n");
    } else {
        bool ok = strstr(out, "Malformed") == NULL && strstr(out, "Bad") == NULL;
        CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
        CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
        for (size_t i = 0; i < nwant; i++) {
            CU_ASSERT_PTR_NOT_NULL(strstr(out, want[i]));
            if (!strstr(out, want[i])) {
                fprintf(stderr, "\n  tshark output lacks '%s'\n", want[i]);
                ok = false;
            }
        }
        if (!ok)
            fprintf(stderr, "%s\n", out);
    }
    g_free(out);
    g_free(file);
}

static void test_pcap13(void)
{
    static const char *const want[] = {
        "Handshake Protocol: Client Hello", "Server Name: server.example",
        "Supported Version: TLS 1.3 (0x0304)", "Cipher Suite: TLS_AES_128_GCM_SHA256 (0x1301)",
        "Handshake Protocol: Server Hello", "Opaque Type: Application Data (23)",
        "ALPN Next Protocol: h2",
    };
    pcap_case(NS_TLS_13, want, G_N_ELEMENTS(want));
}

static void test_pcap12(void)
{
    static const char *const want[] = {
        "Handshake Protocol: Client Hello", "Handshake Protocol: Server Hello",
        "Handshake Protocol: Certificate", "Certificates Length: 4509",
        "Handshake Protocol: Server Key Exchange", "Handshake Protocol: Server Hello Done",
        "Handshake Protocol: Client Key Exchange", "Change Cipher Spec Protocol",
        "id-at-commonName=server.example", "Encrypted Handshake Message", "Application Data Protocol",
    };
    pcap_case(NS_TLS_12, want, G_N_ELEMENTS(want));
}

/* ---- bad input, determinism ---- */

static void test_bad_input(void)
{
    struct ns_tls_opts o;
    GError *err = NULL;
    ns_tls_opts_defaults(&o);
    o.chain_len = 0;
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, true, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "tls: a server needs a chain of at least one certificate");
    g_clear_error(&err);
    ns_tls_opts_defaults(&o);
    o.early_len = 5;
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, false, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "",
                           "tls: early_data needs a resumable TLS 1.3 session (option 'resume')");
    g_clear_error(&err);
    ns_tls_opts_defaults(&o);
    o.cert_size = 10;
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, true, &err));
    g_clear_error(&err);
    enum ns_tls_version v;
    CU_ASSERT_FALSE(ns_tls_version_parse("1.1", &v));
    CU_ASSERT_TRUE(ns_tls_version_parse("1.2", &v) && v == NS_TLS_12);
    enum ns_tls_cipher c;
    CU_ASSERT_FALSE(ns_tls_cipher_parse("rc4", &c));

    struct world w;
    world_init(&w, 1, NULL);
    opts(&o);
    world_listen(&w, &o);
    ns_tls *t = world_connect(&w, &w.cli, &o);
    CU_ASSERT_FALSE(ns_tls_send(t, "x", 1, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    if (err)
        CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "the handshake is not done"));
    g_clear_error(&err);
    world_run(&w);
    world_free(&w);
}

/* ---- from Lua: error text is behaviour (STYLE.md 9) ---- */

static void test_lua_errors(void)
{
    tls_lua_expect("tls-lua", LAB "a:tls_connect(b, 443, { chian_len = 2 })",
               "error: t.lua:4: unknown option 'chian_len' to 'tls_connect' (did you mean 'chain_len'?)");
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, { verion = '1.3' })",
               "error: t.lua:4: unknown option 'verion' to 'tls_listen' (did you mean 'version'?)");
    tls_lua_expect("tls-lua", LAB "a:tls_connect(b, 443, { version = '1.1' })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'version': "
               "unknown TLS version '1.1' (1.2 or 1.3))");
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, { min_version = 'tls13' })",
               "error: t.lua:4: bad argument #2 to 'tls_listen' (option 'min_version': "
               "unknown TLS version 'tls13' (1.2 or 1.3))");
    tls_lua_expect("tls-lua", LAB "a:tls_connect(b, 443, { cipher = 'rc4' })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'cipher': "
               "unknown cipher suite 'rc4' (aes128gcm, aes256gcm, chacha20))");
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, { chain_len = 0 })",
               "error: t.lua:4: tls: a server needs a chain of at least one certificate");
    tls_lua_expect("tls-lua", LAB "a:tls_connect(b, 443, { early_data = 'GET /' })",
               "error: t.lua:4: tls: early_data needs a resumable TLS 1.3 session (option 'resume')");
    /* send before the handshake: a Lua error naming the state and the way out */
    tls_lua_expect("tls-lua", LAB "local c = a:tls_connect(b, 443)\nc:send('x')",
               "error: t.lua:5: conn:send: tls a:49152>b:443: cannot send in state START: the "
               "handshake is not done (data before it goes in the 'early_data' option)");
    /* and from inside a callback, mid-handshake, the error stops the run */
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, { on_accept = function(c) c:send('x') end })\n"
               "a:tls_connect(b, 443)\ns:run()",
               "error: t.lua:4: conn:send: tls b:443>a:49152: cannot send in state WAIT_CH: the "
               "handshake is not done (data before it goes in the 'early_data' option)");
}

/* The same API working: a 1.2 handshake, a ticket, a resumption by it. */
static void test_lua_tickets(void)
{
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, {})\n"
               "local c1 = a:tls_connect(b, 443, { version = '1.2' })\n"
               "s:run()\n"
               "local c2 = a:tls_connect(b, 443, { version = '1.2', resume = c1,\n"
               "  on_established = function(c) c:send('GET /') end })\n"
               "s:run()\n"
               "local i1, i2 = c1:info(), c2:info()\n"
               "return string.format('%s %s %d %s %s %d %.2f', i1.version, tostring(i1.resumed), "
               "i1.tickets, i2.version, tostring(i2.resumed), i2.tickets, i2.rtts)",
               "1.2 false 1 1.2 true 1 2.00");
    tls_lua_expect("tls-lua", LAB "b:tls_listen(443, {})\n"
               "local c1 = a:tls_connect(b, 443, { version = '1.2', tickets = false })\n"
               "s:run()\n"
               "local c2 = a:tls_connect(b, 443, { version = '1.2', tickets = false, resume = c1 })\n"
               "s:run()\n"
               "return tostring(c2:info().resumed) .. ' ' .. c2:info().tickets",
               "true 0");
}

static char *run_for_bytes(uint64_t seed)
{
    struct world w;
    world_init(&w, seed, seed == 7 ? "det7" : "det8");
    struct ns_tls_opts o;
    opts(&o);
    world_listen(&w, &o);
    world_connect(&w, &w.cli, &o);
    world_run(&w);
    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    world_free(&w);
    char *text = NULL;
    gsize len = 0;
    CU_ASSERT_TRUE(g_file_get_contents(file, &text, &len, NULL));
    g_free(file);
    char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
    g_free(text);
    return hex;
}

static void test_determinism(void)
{
    char *a = run_for_bytes(7), *b = run_for_bytes(7);
    CU_ASSERT_STRING_EQUAL(a, b);
    g_free(b);
    b = run_for_bytes(8);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    g_free(a);
    g_free(b);
}

/* The record keystream (models/tls/tls_record.c, internal: declared here
 * rather than reaching into the model's private header) depends only on
 * (key, direction, record number) and the byte's position: whatever path
 * a length takes (short records byte- and word-wise, long ones four words
 * at a time where the CPU allows), every prefix of a long keystream is
 * the keystream of the shorter record, and XORing twice restores the
 * plaintext. */
void ns__tls_keystream_xor(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len);
void ns__tls_keystream_fill(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len);

static void test_keystream_prefixes(void)
{
    enum { MAX = 300 };
    uint8_t full[MAX], part[MAX];
    for (int dir = 0; dir < 2; dir++) {
        memset(full, 0, sizeof full);
        ns__tls_keystream_xor(0x0123456789abcdefull, dir, 7, full, MAX);
        size_t zeros = 0;
        for (size_t i = 0; i < MAX; i++)
            zeros += full[i] == 0;
        CU_ASSERT_TRUE(zeros < 8);                 /* it is a keystream, not nothing */
        for (size_t len = 0; len <= MAX; len++) {
            memset(part, 0, sizeof part);
            ns__tls_keystream_xor(0x0123456789abcdefull, dir, 7, part, len);
            CU_ASSERT_EQUAL(memcmp(part, full, len), 0);
            for (size_t i = len; i < MAX; i++)
                CU_ASSERT_EQUAL_FATAL(part[i], 0);   /* nothing past the record */
            /* fill (for zero plaintext) writes what XOR over zeros gives,
             * whatever buf held before */
            memset(part, 0xa5, sizeof part);
            ns__tls_keystream_fill(0x0123456789abcdefull, dir, 7, part, len);
            CU_ASSERT_EQUAL(memcmp(part, full, len), 0);
            for (size_t i = len; i < MAX; i++)
                CU_ASSERT_EQUAL_FATAL(part[i], 0xa5);
        }
        ns__tls_keystream_xor(0x0123456789abcdefull, dir, 7, full, MAX);
        for (size_t i = 0; i < MAX; i++)
            CU_ASSERT_EQUAL_FATAL(full[i], 0);
    }
    /* another record number, another direction: another keystream */
    uint8_t a[64] = { 0 }, b[64] = { 0 }, c[64] = { 0 };
    ns__tls_keystream_xor(1, 0, 0, a, sizeof a);
    ns__tls_keystream_xor(1, 0, 1, b, sizeof b);
    ns__tls_keystream_xor(1, 1, 0, c, sizeof c);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, sizeof a), 0);
}

void test_tls_register(void)
{
    CU_pSuite s = ns_test_suite("tls", NULL, NULL);
    ns_test_add(s, "TLS 1.3 full: first byte at 2 RTT", test_tls13_full);
    ns_test_add(s, "TLS 1.2 full: first byte at 3 RTT", test_tls12_full);
    ns_test_add(s, "TLS 1.3 with crypto costs: 2 RTT + CPU", test_tls13_costs);
    ns_test_add(s, "TLS 1.2 with crypto costs: 3 RTT + CPU", test_tls12_costs);
    ns_test_add(s, "HelloRetryRequest: +1 RTT", test_hrr);
    ns_test_add(s, "flight over the initial window: +1 RTT", test_big_chain);
    ns_test_add(s, "mTLS 1.3: no extra RTT", test_mtls13);
    ns_test_add(s, "mTLS 1.2", test_mtls12);
    ns_test_add(s, "mTLS 1.3 without cert: certificate_required", test_mtls13_no_cert);
    ns_test_add(s, "mTLS 1.2 without cert: handshake_failure", test_mtls12_no_cert);
    ns_test_add(s, "unknown CA", test_unknown_ca);
    ns_test_add(s, "expired certificate", test_expired);
    ns_test_add(s, "no common version", test_no_version);
    ns_test_add(s, "handshake timeout against a silent server", test_handshake_timeout);
    ns_test_add(s, "crypto costs on the critical path", test_cpu_costs);
    ns_test_add(s, "record protection costs at both ends, to the ns", test_record_costs);
    ns_test_add(s, "record sizes per suite", test_record_sizes);
    ns_test_add(s, "certificate sizes", test_cert_sizes);
    ns_test_add(s, "tshark decodes TLS 1.3", test_pcap13);
    ns_test_add(s, "tshark decodes TLS 1.2", test_pcap12);
    ns_test_add(s, "bad input", test_bad_input);
    ns_test_add(s, "errors from Lua", test_lua_errors);
    ns_test_add(s, "tickets from Lua", test_lua_tickets);
    ns_test_add(s, "determinism", test_determinism);
    ns_test_add(s, "record keystream: every prefix, any path", test_keystream_prefixes);
}
