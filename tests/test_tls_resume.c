/* test_tls_resume.c — TLS resumption driven from C: round trips before
 * the first application byte of a second connection offering the first's
 * session (RFC 8446 PSK resumption, 0-RTT accepted and rejected; RFC 5246
 * abbreviated handshake) and RFC 5077 session tickets in TLS 1.2: the
 * NewSessionTicket in the final flight to the byte, resumption by ticket
 * and by session id, tickets from another server or from none.
 *
 * The world (tlsworld.h): a and b on a 1 Gbit/s link, R = 50 ms, "k round
 * trips" asserted to within the serialisation on the critical path. */
#include "tlsworld.h"

/* ---- resumption and 0-RTT ---- */

/* A first connection, then a second at 1 s offering its session. */
struct resume_run {
    struct world w;
    struct side  cli2;
    ns_tls      *c1, *c2, *s1;
    bool         reject_early;
};

static void resume(struct resume_run *r, enum ns_tls_version v, struct ns_tls_opts *so,
                   const char *early, int *status)
{
    struct world *w = &r->w;
    world_init(w, 1, NULL);
    struct ns_tls_opts co;
    opts(&co);
    co.max_version = v;
    world_listen(w, so);
    r->c1 = world_connect(w, &w->cli, &co);
    world_run(w);
    CU_ASSERT_TRUE_FATAL(ns_tls_has_session(r->c1));
    r->s1 = w->srv.t;
    side_free(&w->srv);
    side_init(&w->srv);
    if (r->reject_early)
        ns_tls_listener_set_accept_early_data(w->lis, false);
    co.resume = r->c1;
    if (early) {
        co.early_data = (const uint8_t *)early;
        co.early_len = (uint32_t)strlen(early);
    }
    ns_time_t start = ns_sim_now(w->sim);
    ns_tls *c2 = world_connect(w, &r->cli2, &co);
    r->cli2.send_on_est = early ? NULL : "GET /";
    r->c2 = c2;
    world_run(w);
    struct ns_tls_info i;
    ns_tls_info(c2, &i);
    i.started_at -= start;
    *status = ns_tls_early_data_status(c2);
}

static void test_resume13(void)
{
    struct resume_run r = { 0 };
    struct ns_tls_opts so;
    opts(&so);
    int st;
    resume(&r, NS_TLS_13, &so, NULL, &st);
    struct ns_tls_info i1, i2;
    ns_tls_info(r.s1, &i1);
    ns_tls_info(r.c2, &i2);
    CU_ASSERT_TRUE(ns_tls_resumed(r.c2));
    CU_ASSERT_EQUAL(st, -1);
    check_rtts(i2.first_app_tx_at, i2.started_at, 2, path_to_est(&r.cli2));
    CU_ASSERT_TRUE(rx_is(&r.w.srv, "GET /"));
    ns_tls_info(r.w.srv.t, &i2);
    /* no certificate the second time: far fewer bytes */
    CU_ASSERT_TRUE(i2.handshake_bytes + 2000 < i1.handshake_bytes);
    side_free(&r.cli2);
    world_free(&r.w);
}

static void test_resume12(void)
{
    struct resume_run r = { 0 };
    struct ns_tls_opts so;
    opts(&so);
    int st;
    resume(&r, NS_TLS_12, &so, NULL, &st);
    struct ns_tls_info i2;
    ns_tls_info(r.c2, &i2);
    CU_ASSERT_TRUE(ns_tls_resumed(r.c2));
    CU_ASSERT_EQUAL(ns_tls_version(r.c2), NS_TLS_12);
    check_rtts(i2.first_app_tx_at, i2.started_at, 2, path_to_est(&r.cli2));
    CU_ASSERT_TRUE(rx_is(&r.w.srv, "GET /"));
    side_free(&r.cli2);
    world_free(&r.w);
}

static void test_zero_rtt(void)
{
    struct resume_run r = { 0 };
    struct ns_tls_opts so;
    opts(&so);
    int st;
    resume(&r, NS_TLS_13, &so, "GET /early", &st);
    struct ns_tls_info i2;
    ns_tls_info(r.c2, &i2);
    CU_ASSERT_EQUAL(st, 1);
    /* early data leaves with the ClientHello, 1 RTT after the SYN, and
     * reaches the server half a round trip later */
    check_rtts(i2.first_app_tx_at, i2.started_at, 1, path_to_now(&r.cli2));
    struct path early = { 0, r.w.srv.wire_at_rx - r.cli2.wire_at_start, 0 };
    check_rtts(r.w.srv.first_rx_at, i2.started_at + R / 2, 1, early);
    CU_ASSERT_TRUE(rx_is(&r.w.srv, "GET /early"));
    side_free(&r.cli2);
    world_free(&r.w);
}

static void test_zero_rtt_rejected(void)
{
    struct resume_run r = { 0 };
    struct ns_tls_opts so;
    opts(&so);
    r.reject_early = true;
    int st;
    resume(&r, NS_TLS_13, &so, "GET /early", &st);
    struct ns_tls_info i2;
    ns_tls_info(r.c2, &i2);
    CU_ASSERT_EQUAL(st, 0);
    /* discarded by the server, resent after the handshake: exactly once */
    CU_ASSERT_TRUE(rx_is(&r.w.srv, "GET /early"));
    check_rtts(r.w.srv.first_rx_at, i2.started_at + R / 2, 2, path_to_rx(&r.w.srv, &r.cli2));
    side_free(&r.cli2);
    world_free(&r.w);
}

/* ---- TLS 1.2 session tickets (RFC 5077) ---- */

/* A 1.2 connection from a to b on `port`, run to the end; the client's
 * and the server's info in ci and si. */
static ns_tls *conn12(struct world *w, uint16_t port, bool client_tickets, ns_tls *resume,
                      struct ns_tls_info *ci, struct ns_tls_info *si)
{
    struct ns_tls_opts co;
    opts(&co);
    co.max_version = NS_TLS_12;
    co.tickets = client_tickets;
    co.resume = resume;
    GError *err = NULL;
    side_free(&w->srv);
    side_init(&w->srv);
    side_free(&w->cli);
    side_init(&w->cli);
    side_start(w, &w->cli);
    w->cli.send_on_est = "GET /";
    ns_time_t start = ns_sim_now(w->sim);
    ns_tls *c = ns_tls_connect(w->a, ns_host_addr(w->b), port, NULL, &co, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    g_clear_error(&err);
    w->cli.t = c;
    ns_tls_set_callbacks(c, &cbs, &w->cli);
    world_run(w);
    ns_tls_info(c, ci);
    ns_tls_info(w->srv.t, si);
    ci->started_at -= start;
    ci->first_app_tx_at -= start;
    CU_ASSERT_TRUE(rx_is(&w->srv, "GET /"));
    CU_ASSERT_EQUAL(w->cli.error[0], 0);
    CU_ASSERT_EQUAL(w->srv.error[0], 0);
    return c;
}

/* Full handshake: a client sending the empty SessionTicket extension gets
 * an empty session id, the extension back and a NewSessionTicket before
 * the server's ChangeCipherSpec, still 3 RTT; the server's bytes differ
 * from a session-id handshake by exactly that: + 4 (empty extension)
 * - 32 (no session id) + 5 + 4 + 4 + 2 + 128 (NewSessionTicket record). */
static void test_tickets12_full(void)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so;
    opts(&so);
    world_listen(&w, &so);
    struct ns_tls_info ci, si, ci0, si0;
    ns_tls *c = conn12(&w, PORT, true, NULL, &ci, &si);
    CU_ASSERT_EQUAL(ci.tickets_in, 1);
    CU_ASSERT_TRUE(ns_tls_has_session(c));
    check_rtts(ci.first_app_tx_at, 0, 3, path_to_est(&w.cli));
    ns_tls *c0 = conn12(&w, PORT, false, NULL, &ci0, &si0);
    CU_ASSERT_EQUAL(ci0.tickets_in, 0);
    CU_ASSERT_TRUE(ns_tls_has_session(c0));        /* by session id */
    CU_ASSERT_EQUAL((int64_t)si.handshake_bytes - (int64_t)si0.handshake_bytes,
                    4 - 32 + 5 + 4 + 4 + 2 + 128);
    CU_ASSERT_EQUAL(ci.handshake_bytes - ci0.handshake_bytes, 4);   /* the empty extension */
    world_free(&w);
}

/* Abbreviated by ticket: 2 RTT, the ticket renewed, and the renewed one
 * resumes again; by session id when the client sends no extension. */
static void test_tickets12_resume(void)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so;
    opts(&so);
    world_listen(&w, &so);
    struct ns_tls_info ci, si;
    ns_tls *c1 = conn12(&w, PORT, true, NULL, &ci, &si);
    ns_tls *c2 = conn12(&w, PORT, true, c1, &ci, &si);
    CU_ASSERT_TRUE(ns_tls_resumed(c2));
    CU_ASSERT_TRUE(ns_tls_resumed(w.srv.t));
    CU_ASSERT_EQUAL(ci.tickets_in, 1);
    check_rtts(ci.first_app_tx_at, 0, 2, path_to_est(&w.cli));
    ns_tls *c3 = conn12(&w, PORT, true, c2, &ci, &si);
    CU_ASSERT_TRUE(ns_tls_resumed(c3));
    check_rtts(ci.first_app_tx_at, 0, 2, path_to_est(&w.cli));
    ns_tls *s1 = conn12(&w, PORT, false, NULL, &ci, &si);
    ns_tls *s2 = conn12(&w, PORT, false, s1, &ci, &si);
    CU_ASSERT_TRUE(ns_tls_resumed(s2));
    CU_ASSERT_EQUAL(ci.tickets_in, 0);
    check_rtts(ci.first_app_tx_at, 0, 2, path_to_est(&w.cli));
    world_free(&w);
}

/* A ticket another server issued is not accepted: a full handshake (3
 * RTT) that issues a new ticket; a server with tickets off issues none. */
static void test_tickets12_unknown(void)
{
    struct world w;
    world_init(&w, 1, NULL);
    struct ns_tls_opts so;
    opts(&so);
    world_listen(&w, &so);
    struct ns_tls_info ci, si;
    ns_tls *c1 = conn12(&w, PORT, true, NULL, &ci, &si);
    GError *err = NULL;
    so.tickets = false;
    CU_ASSERT_PTR_NOT_NULL(ns_tls_listen(w.b, PORT + 1, NULL, &so, on_accept, &w, &err));
    so.tickets = true;
    CU_ASSERT_PTR_NOT_NULL(ns_tls_listen(w.b, PORT + 2, NULL, &so, on_accept, &w, &err));
    g_clear_error(&err);
    ns_tls *c2 = conn12(&w, PORT + 2, true, c1, &ci, &si);
    CU_ASSERT_FALSE(ns_tls_resumed(c2));
    CU_ASSERT_EQUAL(ci.tickets_in, 1);
    check_rtts(ci.first_app_tx_at, 0, 3, path_to_est(&w.cli));
    ns_tls *c3 = conn12(&w, PORT + 1, true, NULL, &ci, &si);
    CU_ASSERT_EQUAL(ci.tickets_in, 0);
    CU_ASSERT_FALSE(ns_tls_has_session(c3));
    world_free(&w);
}


void test_tls_resume_register(void)
{
    CU_pSuite s = ns_test_suite("tls-resume", NULL, NULL);
    ns_test_add(s, "TLS 1.3 PSK resumption", test_resume13);
    ns_test_add(s, "TLS 1.2 abbreviated: 2 RTT", test_resume12);
    ns_test_add(s, "0-RTT accepted: data in the first flight", test_zero_rtt);
    ns_test_add(s, "0-RTT rejected: resent once", test_zero_rtt_rejected);
    ns_test_add(s, "1.2 tickets: NewSessionTicket in the final flight", test_tickets12_full);
    ns_test_add(s, "1.2 tickets: abbreviated by ticket and by session id", test_tickets12_resume);
    ns_test_add(s, "1.2 tickets: unknown ticket, server without tickets", test_tickets12_unknown);
}
