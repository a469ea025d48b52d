/* test_tls_ciphers.c — cipher-suite negotiation: the client offers its
 * list in order, the server takes the first of its own preference list
 * the client offered (handshake_failure when none is common), and the
 * record overhead follows the suite negotiated (TLS 1.3: inner type + 16-
 * byte tag; 1.2 AES-GCM: 8-byte explicit nonce + 16-byte tag; 1.2
 * ChaCha20-Poly1305: 16-byte tag).  The ClientHello grows by two bytes per
 * suite offered per version.  From Lua: `ciphers = {...}`, info().cipher,
 * and the errors for bad lists. */
#include <lualib.h>

#include "netsim/luabind.h"
#include "tlsworld.h"

#define AES128 NS_TLS_AES128_GCM
#define AES256 NS_TLS_AES256_GCM
#define CHACHA NS_TLS_CHACHA20

struct list { uint8_t n, c[NS_TLS_NCIPHERS]; };     /* n 0: the defaults */

static void set_list(struct ns_tls_opts *o, struct list l)
{
    o->n_ciphers = l.n;
    memcpy(o->ciphers, l.c, sizeof o->ciphers);
}

struct run {
    enum ns_tls_cipher cli, srv;                    /* negotiated at each end */
    char   cli_error[40], srv_error[40];
    uint64_t client_hello_bytes;                    /* the client's handshake bytes */
    uint64_t app_wire;                              /* TCP bytes for 40,000 app bytes */
};

static void send_40000(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_tls_send(w->cli.t, NULL, 40000, &err));
    g_clear_error(&err);
}

/* A handshake with these lists, then 40,000 bytes of application data
 * from the client 1 s later (when it succeeded). */
static struct run negotiate(enum ns_tls_version v, struct list client, struct list server)
{
    struct run out = { 0 };
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so, co;
    opts(&so);
    opts(&co);
    co.max_version = v;
    set_list(&co, client);
    set_list(&so, server);
    world_listen(&w, &so);
    ns_tls *c = world_connect(&w, &w.cli, &co);
    w.cli.send_on_est = NULL;
    world_run(&w);
    g_strlcpy(out.cli_error, w.cli.error, sizeof out.cli_error);
    g_strlcpy(out.srv_error, w.srv.error, sizeof out.srv_error);
    out.cli = ns_tls_cipher(c);
    out.srv = w.srv.t ? ns_tls_cipher(w.srv.t) : (enum ns_tls_cipher)-1;
    struct ns_tls_info ci;
    ns_tls_info(c, &ci);
    out.client_hello_bytes = ci.handshake_bytes;
    if (ns_tls_is_established(c)) {
        struct ns_tcp_info before, after;
        ns_tcp_info(ns_tls_tcp(c), &before);
        ns_event_after(w.sim, NS_SEC, send_40000, &w);
        world_run(&w);
        ns_tcp_info(ns_tls_tcp(c), &after);
        CU_ASSERT_EQUAL(w.srv.rx->len, 40000);
        out.app_wire = after.bytes_acked - before.bytes_acked;
    }
    world_free(&w);
    return out;
}

static void expect_suite(enum ns_tls_version v, struct list client, struct list server,
                         enum ns_tls_cipher want, uint32_t overhead)
{
    struct run r = negotiate(v, client, server);
    CU_ASSERT_EQUAL(r.cli_error[0], 0);
    CU_ASSERT_EQUAL(r.cli, want);
    CU_ASSERT_EQUAL(r.srv, want);
    /* 16384 + 16384 + 7232: three records, each header + overhead */
    CU_ASSERT_EQUAL(r.app_wire, 40000 + 3 * (5 + overhead));
    if (r.cli != want || r.srv != want)
        fprintf(stderr, "\n  TLS 1.%d: got %s/%s, want %s\n", v == NS_TLS_13 ? 3 : 2,
                ns_tls_cipher_name(r.cli), ns_tls_cipher_name(r.srv), ns_tls_cipher_name(want));
}

static void test_server_preference(void)
{
    struct list defaults = { 0 }, chacha_first = { 2, { CHACHA, AES128 } };
    struct list aes256_pref = { 3, { AES256, AES128, CHACHA } };
    /* the client's only suite, whatever the server prefers */
    expect_suite(NS_TLS_13, (struct list){ 1, { CHACHA } }, defaults, CHACHA, 17);
    expect_suite(NS_TLS_12, (struct list){ 1, { CHACHA } }, defaults, CHACHA, 16);
    /* the server's order decides: aes256gcm not offered, aes128gcm before chacha20 */
    expect_suite(NS_TLS_13, chacha_first, aes256_pref, AES128, 17);
    expect_suite(NS_TLS_12, chacha_first, aes256_pref, AES128, 8 + 16);
    /* the server prefers chacha20 over what the client lists first */
    expect_suite(NS_TLS_12, (struct list){ 2, { AES256, CHACHA } },
                 (struct list){ 2, { CHACHA, AES256 } }, CHACHA, 16);
    expect_suite(NS_TLS_12, (struct list){ 1, { AES256 } }, defaults, AES256, 8 + 16);
}

static void test_no_common_suite(void)
{
    for (int i = 0; i < 2; i++) {
        struct run r = negotiate(i ? NS_TLS_12 : NS_TLS_13, (struct list){ 1, { CHACHA } },
                                 (struct list){ 2, { AES128, AES256 } });
        CU_ASSERT_STRING_EQUAL(r.srv_error, "handshake_failure");
        CU_ASSERT_STRING_EQUAL(r.cli_error, "handshake_failure");
        CU_ASSERT_EQUAL(r.app_wire, 0);
    }
}

/* Each suite is two bytes in the ClientHello's list, once per version
 * offered (a default client offers 1.3 and 1.2). */
static void test_client_hello_size(void)
{
    struct list one = { 1, { CHACHA } }, all = { 0 };
    struct run a = negotiate(NS_TLS_13, all, all), b = negotiate(NS_TLS_13, one, all);
    CU_ASSERT_EQUAL(a.cli, AES128);
    CU_ASSERT_EQUAL(b.cli, CHACHA);
    /* the whole client side differs only by the hello: 2 suites x 2 versions x 2 bytes,
     * and by the tag-less overhead, which is the same in 1.3 */
    CU_ASSERT_EQUAL(a.client_hello_bytes - b.client_hello_bytes, 2 * 2 * 2);
}

static void test_bad_lists(void)
{
    struct ns_tls_opts o;
    GError *err = NULL;
    ns_tls_opts_defaults(&o);
    set_list(&o, (struct list){ 2, { CHACHA, CHACHA } });
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, false, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "tls: cipher suite 'chacha20' is listed twice");
    g_clear_error(&err);
    set_list(&o, (struct list){ 1, { 7 } });
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, true, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "tls: unknown cipher suite #1");
    g_clear_error(&err);
    o.n_ciphers = NS_TLS_NCIPHERS + 1;
    CU_ASSERT_FALSE(ns_tls_opts_check(&o, true, &err));
    g_clear_error(&err);
}

/* ---- from Lua ---- */

static void test_lua(void)
{
    tls_lua_expect("tls-ciphers", LAB "b:tls_listen(443, { ciphers = { 'aes256gcm', 'chacha20' } })\n"
               "local c = a:tls_connect(b, 443, { ciphers = { 'chacha20', 'aes256gcm' } })\n"
               "local d = a:tls_connect(b, 443, { version = '1.2', ciphers = { 'chacha20' } })\n"
               "s:run()\n"
               "return c:info().cipher .. ' ' .. d:info().cipher .. ' ' .. d:info().version",
               "aes256gcm chacha20 1.2");
    tls_lua_expect("tls-ciphers", LAB "b:tls_listen(443, { ciphers = { 'aes128gcm' } })\n"
               "local err\n"
               "local c = a:tls_connect(b, 443, { ciphers = { 'chacha20' },\n"
               "  on_error = function(_, e) err = e end })\n"
               "s:run()\n"
               "return err .. ' ' .. tostring(c:info().version)",
               "handshake_failure false");             /* no ServerHello came */
    tls_lua_expect("tls-ciphers", LAB "a:tls_connect(b, 443, { ciphers = { 'aes128gcm', 'rc4' } })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'ciphers': "
               "unknown cipher suite 'rc4' (aes128gcm, aes256gcm, chacha20))");
    tls_lua_expect("tls-ciphers", LAB "b:tls_listen(443, { ciphers = { 'chacha20', 'chacha20' } })",
               "error: t.lua:4: bad argument #2 to 'tls_listen' (option 'ciphers': "
               "cipher suite 'chacha20' is listed twice)");
    tls_lua_expect("tls-ciphers", LAB "a:tls_connect(b, 443, { ciphers = {} })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'ciphers': "
               "a list of 1 to 3 suites expected)");
    tls_lua_expect("tls-ciphers", LAB "a:tls_connect(b, 443, { ciphers = 'chacha20' })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'ciphers': "
               "a list of cipher suite names expected)");
    tls_lua_expect("tls-ciphers", LAB "a:tls_connect(b, 443, { cipher = 'chacha20', ciphers = { 'chacha20' } })",
               "error: t.lua:4: bad argument #3 to 'tls_connect' (option 'ciphers': "
               "give 'cipher' or 'ciphers', not both)");
}

void test_tls_ciphers_register(void)
{
    CU_pSuite s = ns_test_suite("tls_ciphers", NULL, NULL);
    ns_test_add(s, "the server's preference among the client's suites", test_server_preference);
    ns_test_add(s, "no suite in common: handshake_failure", test_no_common_suite);
    ns_test_add(s, "two bytes per suite offered in the ClientHello", test_client_hello_size);
    ns_test_add(s, "bad suite lists in C", test_bad_lists);
    ns_test_add(s, "ciphers from Lua", test_lua);
}
