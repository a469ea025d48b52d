/* test_tls_compat.c — two RFC 8446 details that change what is on the
 * wire but not the round trips: the HelloRetryRequest cookie (4.2.2: the
 * server's HRR carries it, the client echoes it in its second
 * ClientHello) and the middlebox-compatibility ChangeCipherSpec (D.4: one
 * 6-byte record from each side, the client's before its second flight,
 * the server's after its first handshake message).  Sizes to the byte,
 * round trips unchanged, tshark decoding both, options from Lua. */
#include <lualib.h>

#include "netsim/host.h"
#include "netsim/luabind.h"
#include "tlsworld.h"

struct bytes {
    uint64_t cli, srv;            /* handshake bytes each side wrote */
    ns_time_t first_tx;           /* the client's first application byte */
    struct path path;
    char *pcap;                   /* the capture's path, owned */
};

/* A TLS 1.3 handshake, with a HelloRetryRequest when hrr (the server
 * insists on secp256r1, the client guesses x25519). */
static struct bytes handshake(bool hrr, uint16_t cookie, bool compat_cli, bool compat_srv,
                              const char *out)
{
    struct bytes r = { 0 };
    struct world w;
    world_init(&w, 1, out);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    if (hrr)
        so.group = NS_TLS_SECP256R1;
    so.hrr_cookie = cookie;
    co.middlebox_compat = compat_cli;
    so.middlebox_compat = compat_srv;
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    world_run(&w);
    CU_ASSERT_TRUE(rx_is(&w.srv, "GET /"));
    struct ns_tls_info ci, si;
    ns_tls_info(c, &ci);
    ns_tls_info(w.srv.t, &si);
    CU_ASSERT_EQUAL(ci.hello_retries, hrr ? 1 : 0);
    r.cli = ci.handshake_bytes;
    r.srv = si.handshake_bytes;
    r.first_tx = ci.first_app_tx_at;
    r.path = path_to_est(&w.cli);
    if (out)
        r.pcap = g_build_filename(w.dir, "a.pcap", NULL);
    world_free(&w);
    return r;
}

/* The cookie: 4 bytes of extension header, 2 of length, then the cookie,
 * once in the HRR and once in the second ClientHello; the round trips
 * stay 3. */
static void test_cookie_sizes(void)
{
    struct bytes none = handshake(true, 0, true, true, NULL);
    struct bytes c64 = handshake(true, 64, true, true, NULL);
    struct bytes c1 = handshake(true, 1, true, true, NULL);
    CU_ASSERT_EQUAL(c64.srv - none.srv, 4 + 2 + 64);
    CU_ASSERT_EQUAL(c64.cli - none.cli, 4 + 2 + 64);
    CU_ASSERT_EQUAL(c1.cli - none.cli, 4 + 2 + 1);
    check_rtts(c64.first_tx, 0, 3, c64.path);
    /* without an HRR there is no cookie to send */
    struct bytes plain = handshake(false, 0, true, true, NULL), plain64 = handshake(false, 64, true, true, NULL);
    CU_ASSERT_EQUAL(plain64.srv, plain.srv);
    CU_ASSERT_EQUAL(plain64.cli, plain.cli);
}

/* The compatibility CCS: 5 + 1 bytes from each side, once even with an
 * HRR (the client's before its second ClientHello, the server's after
 * the HRR); a server answers one only to a client in compatibility mode
 * (non-empty legacy_session_id: ours always sends one with 1.3), so a
 * client with the option off still gets the server's. */
static void test_compat_ccs_sizes(void)
{
    for (int hrr = 0; hrr < 2; hrr++) {
        struct bytes on = handshake(hrr, 0, true, true, NULL);
        struct bytes off = handshake(hrr, 0, false, false, NULL);
        struct bytes cli_off = handshake(hrr, 0, false, true, NULL);
        CU_ASSERT_EQUAL(on.cli - off.cli, 6);
        CU_ASSERT_EQUAL(on.srv - off.srv, 6);
        CU_ASSERT_EQUAL(cli_off.cli, off.cli);
        CU_ASSERT_EQUAL(cli_off.srv, on.srv);
        check_rtts(on.first_tx, 0, hrr ? 3 : 2, on.path);
        check_rtts(off.first_tx, 0, hrr ? 3 : 2, off.path);
    }
    /* the defaults: on at both ends */
    struct ns_tls_opts o;
    ns_tls_opts_defaults(&o);
    CU_ASSERT_TRUE(o.middlebox_compat);
    CU_ASSERT_EQUAL(o.hrr_cookie, 0);
}

/* Every "Cookie: " line of tshark's output: the HRR's and the echo. */
static GPtrArray *cookies(const char *out)
{
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
    for (const char *p = out; (p = strstr(p, "Cookie: ")) != NULL; p++) {
        const char *e = strchr(p, '\n');
        g_ptr_array_add(v, g_strndup(p, e ? (size_t)(e - p) : strlen(p)));
    }
    return v;
}

static void test_pcap(void)
{
    struct bytes r = handshake(true, 48, true, true, "compat_pcap");
    char *out = tshark_V(r.pcap);
    g_free(r.pcap);
    if (!out) {
        printf("\n  note: tshark not found, TLS decoding check skipped\n");
        return;
    }
    CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
    CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Extension: cookie (len=50)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Cookie length: 48"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Change Cipher Spec Protocol: Change Cipher Spec"));
    GPtrArray *v = cookies(out);
    CU_ASSERT_EQUAL(v->len, 2);
    if (v->len == 2)
        CU_ASSERT_STRING_EQUAL(g_ptr_array_index(v, 0), g_ptr_array_index(v, 1));
    g_ptr_array_free(v, TRUE);
    /* two CCS records: the server's and the client's */
    int n = 0;
    for (const char *p = out; (p = strstr(p, "Content Type: Change Cipher Spec (20)")) != NULL; p++)
        n++;
    CU_ASSERT_EQUAL(n, 2);
    g_free(out);
}

/* With 0-RTT data the client's CCS goes right after the ClientHello,
 * before the early data (RFC 8446 D.4), and not again later: seen in the
 * flights' labels in the sequence diagram. */
static void test_compat_ccs_early_data(void)
{
    struct world w;
    world_init(&w, 1, "compat_early");
    static const char *const ab[] = { "a", "b", NULL };
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_net_open_diagram(w.sim, "d", ab, NULL));
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    world_listen(&w, &so);
    ns_tls *c1 = world_connect(&w, &w.cli, &co);
    world_run(&w);
    CU_ASSERT_TRUE_FATAL(ns_tls_has_session(c1));
    struct side cli2;
    co.resume = c1;
    co.early_data = (const uint8_t *)"GET /early";
    co.early_len = 10;
    ns_tls *c2 = world_connect(&w, &cli2, &co);
    cli2.send_on_est = NULL;
    world_run(&w);
    CU_ASSERT_EQUAL(ns_tls_early_data_status(c2), 1);
    char *p = g_build_filename(w.dir, "d.mmd", NULL);
    side_free(&cli2);
    world_free(&w);
    char *mmd = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(p, &mmd, NULL, NULL));
    g_free(p);
    const char *first = mmd ? strstr(mmd, "a->>b: ClientHello+ChangeCipherSpec+EarlyData (") : NULL;
    CU_ASSERT_PTR_NOT_NULL(first);
    /* its second flight has no CCS of its own */
    CU_ASSERT_PTR_NOT_NULL(first ? strstr(first, "a->>b: EndOfEarlyData+Finished (") : NULL);
    /* the first connection's CCS came with its Finished */
    CU_ASSERT_PTR_NOT_NULL(mmd ? strstr(mmd, "a->>b: ChangeCipherSpec+Finished+ApplicationData (") : NULL);
    g_free(mmd);
}

/* ---- from Lua ---- */

static void test_lua(void)
{
    /* 70 more bytes each way with a 64-byte cookie, 6 fewer without the CCS */
    tls_lua_expect("tls-compat", LAB "local function run(port, so, co)\n"
               "  so.group = 'secp256r1'\n"
               "  b:tls_listen(port, so)\n"
               "  local c = a:tls_connect(b, port, co)\n"
               "  s:run()\n"
               "  return c:info().handshake_bytes, c:info().hello_retries\n"
               "end\n"
               "local x, r = run(1, {}, {})\n"
               "local y = run(2, { hrr_cookie = 64 }, {})\n"
               "local z = run(3, {}, { middlebox_compat = false })\n"
               "return string.format('%d %d %d', r, y - x, x - z)",
               "1 70 6");
    tls_lua_expect("tls-compat", LAB "b:tls_listen(443, { hrr_cookie = -1 })",
               "error: t.lua:4: bad argument #2 to 'tls_listen' (option 'hrr_cookie': "
               "size must be a finite number >= 0, got -1)");
    tls_lua_expect("tls-compat", LAB "b:tls_listen(443, { hrr_cookie = 70000 })",
               "error: t.lua:4: bad argument #2 to 'tls_listen' (option 'hrr_cookie': "
               "must be in [0, 65533] bytes)");
    tls_lua_expect("tls-compat", LAB "b:tls_listen(443, { middlebox_compat = 'yes' })",
               "error: t.lua:4: bad argument #2 to 'tls_listen' (option 'middlebox_compat': "
               "boolean expected, got string)");
}

void test_tls_compat_register(void)
{
    CU_pSuite s = ns_test_suite("tls_compat", NULL, NULL);
    ns_test_add(s, "HRR cookie: sizes and round trips", test_cookie_sizes);
    ns_test_add(s, "compatibility CCS: sizes and round trips", test_compat_ccs_sizes);
    ns_test_add(s, "tshark decodes the cookie and the CCS", test_pcap);
    ns_test_add(s, "compatibility CCS before early data", test_compat_ccs_early_data);
    ns_test_add(s, "cookie and compatibility from Lua", test_lua);
}
