/* test_tcp.c — the TCP connection's life driven from C, checked against
 * RFC 9293 and the RFCs it cites: handshake timing to the nanosecond, ISNs
 * from the seeded stream, every teardown, lost handshake and FIN segments,
 * retransmission with backoff, RFC 6298 timers, and bad input.
 *
 * The world (two hosts on one link, watches that record and drop
 * segments, the frame sizes the timings count on) is tests/tcpworld.h;
 * data transfer is tests/test_tcp_data.c. */
#include <string.h>

#include "tcpworld.h"

/* ---- handshake --------------------------------------------------------- */

/* RFC 9293 3.5: the client is ESTABLISHED when the SYN-ACK arrives, one
 * RTT plus the serialisation of SYN and SYN-ACK after its SYN; the server
 * half an RTT later, when the ACK (a 66-byte frame) arrives. */
static void test_handshake_timing(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_SYN_SENT);
    world_run(&w);

    ns_time_t syn = frame_time(SYN_FRAME, 3000000), ack = frame_time(TS_FRAME, 3000000);
    CU_ASSERT_EQUAL(syn, 197334);
    CU_ASSERT_EQUAL(ack, 176000);
    CU_ASSERT_EQUAL(c->established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(app_info(c).established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->established_at, 2 * syn + ack + 30 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_ESTABLISHED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_ESTABLISHED);
    /* The SYN left at 0: its serialisation ended at `syn`. */
    CU_ASSERT_EQUAL_FATAL(w.wa.segs->len, 2);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->at, syn);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->flags, F_SYN);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 1)->flags, F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wa, 1)->at, c->established_at + ack);
    CU_ASSERT_EQUAL_FATAL(w.wb.segs->len, 1);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->flags, F_SYN | F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->ack, seg_at(&w.wa, 0)->seq + 1);
    check_str(ns_tcp_name(c->c), "a:49152>b:80");
    check_str(ns_tcp_name(w.srv->c), "b:80>a:49152");
    world_free(&w);
}

static uint32_t isn_of(uint64_t seed, uint32_t *server_isn)
{
    struct world w;
    world_init(&w, seed, 10e6, NS_MSEC, 0);
    world_listen(&w, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    CU_ASSERT_TRUE_FATAL(w.wa.segs->len >= 1 && w.wb.segs->len >= 1);
    uint32_t isn = seg_at(&w.wa, 0)->seq;
    *server_isn = seg_at(&w.wb, 0)->seq;
    world_free(&w);
    return isn;
}

static void test_isn_seeded(void)
{
    uint32_t s1, s1b, s2;
    uint32_t c1 = isn_of(1, &s1), c1b = isn_of(1, &s1b), c2 = isn_of(2, &s2);
    CU_ASSERT_EQUAL(c1, c1b);
    CU_ASSERT_EQUAL(s1, s1b);
    CU_ASSERT_NOT_EQUAL(c1, c2);
    CU_ASSERT_NOT_EQUAL(s1, s2);
    CU_ASSERT_NOT_EQUAL(c1, s1);
    /* Two connections of one host draw two ISNs. */
    struct world w;
    world_init(&w, 1, 10e6, NS_MSEC, 0);
    world_listen(&w, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL(count_segs(&w.wa, 0xff, F_SYN, 0), 2);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, 0xff, F_SYN, 0, 0)->seq, c1);
    CU_ASSERT_NOT_EQUAL(nth_seg(&w.wa, 0xff, F_SYN, 0, 1)->seq, c1);
    world_free(&w);
}

/* ---- teardown ---------------------------------------------------------- */

/* The client closes at 1 s; the server closes 100 ms after hearing the
 * FIN, so the client sits in FIN-WAIT-2 and then TIME-WAIT for exactly
 * 2 MSL. */
static void test_four_way_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "four-way");
    struct ns_tcp_opts o = default_opts();
    o.msl = 3 * NS_SEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    call_at(&w, NS_SEC, do_close, c);
    world_run_until(&w, NS_SEC + 50 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_2);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSE_WAIT);
    CU_ASSERT_NOT_EQUAL(w.srv->eof_at, -1);
    call_at(&w, w.srv->eof_at + 100 * NS_MSEC, do_close, w.srv);
    world_run(&w);
    world_commit(&w);

    char *cs = states_of(&w, "a", false), *ss = states_of(&w, "b", false);
    check_str(cs, "SYN-SENT;ESTABLISHED;FIN-WAIT-1;FIN-WAIT-2;TIME-WAIT;CLOSED;");
    check_str(ss, "SYN-RECEIVED;ESTABLISHED;CLOSE-WAIT;LAST-ACK;CLOSED;");
    g_free(cs);
    g_free(ss);
    /* The server's FIN arrives at its close + ser + delay. */
    ns_time_t fin_at = w.srv->eof_at + 100 * NS_MSEC + frame_time(TS_FRAME, 10000000) +
                       10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->closed_at, fin_at);            /* TIME-WAIT counts as closed */
    char *ct = states_of(&w, "a", true);
    char want[128];
    g_snprintf(want, sizeof want, "TIME-WAIT@%.9f;CLOSED@%.9f;", fin_at / 1e9,
               (fin_at + 6 * NS_SEC) / 1e9);
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, want));
    if (!strstr(ct, want))
        fprintf(stderr, "\n  states: %s\n  want: %s\n", ct, want);
    g_free(ct);
    CU_ASSERT_NOT_EQUAL(w.srv->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    CU_ASSERT_EQUAL(w.srv->error_at, -1);
    world_free(&w);
}

static void test_simultaneous_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "simclose");
    struct ns_tcp_opts o = default_opts();
    o.msl = NS_SEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, NS_SEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    call_at(&w, NS_SEC, do_close, c);
    call_at(&w, NS_SEC, do_close, w.srv);
    world_run(&w);
    world_commit(&w);
    char *cs = states_of(&w, "a", false), *ss = states_of(&w, "b", false);
    check_str(cs, "SYN-SENT;ESTABLISHED;FIN-WAIT-1;CLOSING;TIME-WAIT;CLOSED;");
    check_str(ss, "SYN-RECEIVED;ESTABLISHED;FIN-WAIT-1;CLOSING;TIME-WAIT;CLOSED;");
    g_free(cs);
    g_free(ss);
    /* Both FINs cross; each ACK arrives one more hop later. */
    ns_time_t hop = frame_time(TS_FRAME, 10000000) + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->closed_at, NS_SEC + 2 * hop);
    CU_ASSERT_EQUAL(w.srv->closed_at, NS_SEC + 2 * hop);
    world_free(&w);
}

/* Both ends connect to each other at once: a from its first ephemeral
 * port to b's first, and b the other way, so the SYNs cross (RFC 9293
 * figure 7) without any listener. */
static void test_simultaneous_open(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    world_out(&w, "simopen");
    struct app *x = world_connect(&w, w.a, w.b, 49152, NULL);
    struct app *y = world_connect(&w, w.b, w.a, 49152, NULL);
    CU_ASSERT_EQUAL(ns_tcp_local_port(x->c), 49152);
    CU_ASSERT_EQUAL(ns_tcp_local_port(y->c), 49152);
    x->send_on_est = 3000;
    y->send_on_est = 2000;
    x->close_on_eof = y->close_on_eof = true;
    call_at(&w, 500 * NS_MSEC, do_shutdown, x);
    world_run(&w);
    world_commit(&w);
    char *xs = states_of(&w, "a", false), *ys = states_of(&w, "b", false);
    CU_ASSERT_TRUE(g_str_has_prefix(xs, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"));
    CU_ASSERT_TRUE(g_str_has_prefix(ys, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"));
    if (!g_str_has_prefix(xs, "SYN-SENT;SYN-RECEIVED;ESTABLISHED;"))
        fprintf(stderr, "\n  a: %s\n  b: %s\n", xs, ys);
    g_free(xs);
    g_free(ys);
    /* Each SYN-ACK is answered at once: ESTABLISHED when it arrives
     * (figure 7, line 5), two one-way trips after the SYNs. */
    ns_time_t hop = frame_time(SYN_FRAME, 10000000) + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(x->established_at, 2 * hop);
    CU_ASSERT_EQUAL(y->established_at, 2 * hop);
    CU_ASSERT_EQUAL(x->rx->len, 2000);
    CU_ASSERT_EQUAL(y->rx->len, 3000);
    CU_ASSERT_EQUAL(x->error_at, -1);
    CU_ASSERT_EQUAL(y->error_at, -1);
    CU_ASSERT_NOT_EQUAL(x->closed_at, -1);
    CU_ASSERT_NOT_EQUAL(y->closed_at, -1);
    world_free(&w);
}

/* Half-close: the client shuts its direction after 1000 bytes; the server
 * answers with 5000 bytes after the FIN, which the client still takes. */
static void test_half_close(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = default_opts();
    o.msl = NS_SEC;
    struct app *t = server_template(&w);
    t->reply = 5000;
    t->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 1000;
    world_run_until(&w, 500 * NS_MSEC);
    call_at(&w, 500 * NS_MSEC, do_shutdown, c);
    world_run_until(&w, 500 * NS_MSEC + 15 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_1);
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_tcp_send(c->c, NULL, 10, &err));
    check_error(&err, "connection a:49152>b:80 cannot send: it is FIN-WAIT-1 and shut down");
    world_run(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->rx->len, 1000);
    CU_ASSERT_EQUAL(c->rx->len, 5000);
    CU_ASSERT_NOT_EQUAL(c->eof_at, -1);
    CU_ASSERT_TRUE(w.srv->eof_at < c->eof_at);
    CU_ASSERT_EQUAL(app_info(w.srv).bytes_acked, 5000);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    world_free(&w);
}

/* A SYN to a port nobody listens on is answered by RST+ACK (RFC 9293
 * 3.10.7.1), which the client reports as "refused" one RTT later. */
static void test_refused(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT + 1, NULL);
    world_run(&w);
    check_str(c->error, "refused");
    CU_ASSERT_EQUAL(c->error_at, frame_time(SYN_FRAME, 3000000) + frame_time(RST_FRAME, 3000000) +
                                 20 * NS_MSEC);
    CU_ASSERT_EQUAL(c->established_at, -1);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL_FATAL(w.wb.segs->len, 1);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->flags, F_RST | F_ACK);
    CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->ack, seg_at(&w.wa, 0)->seq + 1);
    CU_ASSERT_PTR_NULL(w.srv);
    world_free(&w);
}

/* Closing a listener while a child is in SYN-RECEIVED: the child still
 * completes its handshake (and reads the listener's state then) but is
 * never handed to the closed listener; the port is free again. */
static void test_listener_closed_mid_handshake(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    ns_tcp_listener *l = world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run_until(&w, 15 * NS_MSEC);          /* SYN in, SYN-ACK on its way */
    CU_ASSERT_EQUAL(count_segs(&w.wb, F_SYN | F_ACK, F_SYN | F_ACK, 0), 1);
    ns_tcp_listener_close(l);
    world_run_until(&w, 200 * NS_MSEC);
    CU_ASSERT_TRUE(c->established_at >= 0);
    CU_ASSERT_PTR_NULL(w.srv);                  /* never accepted */
    struct app *late = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run_until(&w, 400 * NS_MSEC);
    check_str(late->error, "refused");
    world_free(&w);
}

static void test_abort(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    call_at(&w, NS_SEC, do_abort, c);
    world_run(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    check_str(w.srv->error, "reset");
    CU_ASSERT_EQUAL(w.srv->error_at, NS_SEC + frame_time(RST_FRAME, 3000000) + 10 * NS_MSEC);
    check_str(c->error, "aborted");
    CU_ASSERT_EQUAL(c->error_at, NS_SEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(count_segs(&w.wa, F_RST, F_RST, 0), 1);
    CU_ASSERT_EQUAL(count_segs(&w.wb, F_RST, F_RST, 0), 0);
    world_free(&w);
}

/* The client's address goes (as when its DHCP lease expires): its
 * connection ends at that instant with "local address lost", silently
 * (no address to send a RST from), while a connection to another address
 * would not notice.  The server hears nothing and stays ESTABLISHED. */
static void lose_address(struct app *a)
{
    ns_iface *ifc = ns_host_iface(a->w->a, 0);
    CU_ASSERT_TRUE(ns_iface_set_addr(ifc, 0, 0, NULL));
}

static void test_address_lost(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    call_at(&w, NS_SEC, lose_address, c);
    world_run(&w);
    check_str(c->error, "local address lost");
    CU_ASSERT_EQUAL(c->error_at, NS_SEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_ESTABLISHED);
    CU_ASSERT_EQUAL(count_segs(&w.wa, F_RST, F_RST, 0), 0);
    world_free(&w);
}

/* ---- lost handshake and FIN segments ---------------------------------- */

/* RFC 6298 2.1 and 5.5: the SYN is resent after the initial RTO of 1 s,
 * then after 2 s, 4 s, ...; ESTABLISHED one RTT after the SYN that got
 * through. */
static void test_lost_syn(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_SYN;
    w.wa.want = F_SYN;
    w.wa.nth[w.wa.nnth++] = 1;
    w.wa.nth[w.wa.nnth++] = 2;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = frame_time(SYN_FRAME, 3000000);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_SYN, F_SYN, 0), 3);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 0)->at, syn);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 1)->at, 1 * NS_SEC + syn);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 2)->at, 3 * NS_SEC + syn);
    CU_ASSERT_EQUAL(c->established_at, 3 * NS_SEC + 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(app_info(c).retransmits, 2);
    CU_ASSERT_EQUAL(app_info(c).timeouts, 2);
    world_free(&w);
}

/* syn_retries = 3: SYNs at 0, 1, 3, 7 s, then "timeout" at 15 s. */
static void test_syn_give_up(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_SYN;
    w.wa.want = F_SYN;
    w.wa.all = true;
    world_listen(&w, NULL);
    struct ns_tcp_opts o = default_opts();
    o.syn_retries = 3;
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_SYN, F_SYN, 0), 4);
    ns_time_t syn = frame_time(SYN_FRAME, 3000000);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_SYN, F_SYN, 0, 3)->at, 7 * NS_SEC + syn);
    check_str(c->error, "timeout");
    CU_ASSERT_EQUAL(c->error_at, 15 * NS_SEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_PTR_NULL(w.srv);
    world_free(&w);
}

/* The SYN-ACK is lost: the server resends it on its own RTO (1 s after
 * the first), and the client's own SYN retransmission at 1 s gets a
 * SYN-ACK too.  The client is ESTABLISHED when the first of those
 * arrives. */
static void test_lost_synack(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wb.mask = F_SYN | F_ACK;
    w.wb.want = F_SYN | F_ACK;
    w.wb.nth[w.wb.nnth++] = 1;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = frame_time(SYN_FRAME, 3000000), ack = frame_time(TS_FRAME, 3000000);
    ns_time_t first = syn + 10 * NS_MSEC;        /* the server sends its SYN-ACK */
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wb, 0xff, F_SYN | F_ACK, 0) >= 2, true);
    CU_ASSERT_EQUAL(nth_seg(&w.wb, 0xff, F_SYN | F_ACK, 0, 1)->at, first + NS_SEC + syn);
    CU_ASSERT_EQUAL(c->established_at, first + NS_SEC + syn + 10 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->established_at, c->established_at + ack + 10 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_ESTABLISHED);
    world_free(&w);
}

/* The client's final ACK is lost and it has nothing to send: the server
 * resends its SYN-ACK after 1 s, the client answers with an ACK
 * (RFC 9293 3.10.7.4: an unacceptable segment gets an ACK). */
static void test_lost_final_ack(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.mask = 0xff;
    w.wa.want = F_ACK;
    w.wa.nth[w.wa.nnth++] = 1;
    world_listen(&w, NULL);
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    world_run(&w);
    ns_time_t syn = frame_time(SYN_FRAME, 3000000), ack = frame_time(TS_FRAME, 3000000);
    ns_time_t synack_sent = syn + 10 * NS_MSEC;
    CU_ASSERT_EQUAL(c->established_at, 2 * syn + 20 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(count_segs(&w.wb, 0xff, F_SYN | F_ACK, 0), 2);
    CU_ASSERT_EQUAL(w.srv->established_at, synack_sent + NS_SEC + syn + ack + 20 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_ESTABLISHED);
    world_free(&w);
}

/* A FIN lost twice, timestamps off so the handshake gives the one RTT
 * sample: RTO = max(min_rto 200 ms, 3 x RTT) = 200 ms, then doubled. */
static void test_lost_fin(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.mask = F_FIN;
    w.wa.want = F_FIN;
    w.wa.nth[w.wa.nnth++] = 1;
    w.wa.nth[w.wa.nnth++] = 2;
    struct ns_tcp_opts o = default_opts();
    o.timestamps = false;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    call_at(&w, NS_SEC, do_close, c);
    world_run(&w);
    ns_time_t fin = frame_time(60, 10000000);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, F_FIN, F_FIN, 0), 3);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 0)->at, NS_SEC + fin);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 1)->at, NS_SEC + 200 * NS_MSEC + fin);
    CU_ASSERT_EQUAL(nth_seg(&w.wa, F_FIN, F_FIN, 0, 2)->at, NS_SEC + 600 * NS_MSEC + fin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->eof_at, NS_SEC + 600 * NS_MSEC + fin + 10 * NS_MSEC);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_EQUAL(app_info(c).retransmits, 2);
    world_free(&w);
}

/* Data lost every time: after `retries` retransmissions, "timeout". */
static void test_data_give_up(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    w.wa.all = true;
    struct ns_tcp_opts o = default_opts();
    o.retries = 3;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 100;
    world_run(&w);
    check_str(c->error, "timeout");
    CU_ASSERT_EQUAL(count_segs(&w.wa, 0, 0, 1), 4);
    CU_ASSERT_EQUAL(app_info(c).timeouts, 3);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    world_free(&w);
}

/* FIN-WAIT-2 after close() is bounded by fin_timeout (Linux
 * tcp_fin_timeout): the peer never closes, the client goes to CLOSED
 * exactly fin_timeout after entering FIN-WAIT-2, traced with its cause,
 * and hears a normal close.  After shutdown() it waits for ever: the
 * application still reads. */
static void test_fin_wait_2_timeout(void)
{
    for (int half = 0; half < 2; half++) {
        struct world w;
        world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
        world_out(&w, half ? "fin-timeout-half" : "fin-timeout");
        struct ns_tcp_opts o = default_opts();
        o.fin_timeout = 5 * NS_SEC;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        call_at(&w, NS_SEC, half ? do_shutdown : do_close, c);
        world_run_until(&w, 100 * NS_SEC);
        world_commit(&w);
        char *ct = states_of(&w, "a", true);
        double fw2 = -1, closed = -1;
        const char *p = strstr(ct, "FIN-WAIT-2@");
        if (p)
            sscanf(p, "FIN-WAIT-2@%lf;CLOSED@%lf;", &fw2, &closed);
        CU_ASSERT_TRUE(fw2 > 1.0 && fw2 < 1.1);
        if (!half) {
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
            CU_ASSERT_EQUAL(c->closed_at, (ns_time_t)(fw2 * 1e9 + 0.5) + 5 * NS_SEC);
            CU_ASSERT_DOUBLE_EQUAL(closed - fw2, 5.0, 1e-9);
            CU_ASSERT_EQUAL(c->error_at, -1);
            char *ev = world_file(&w, "events.tsv");
            CU_ASSERT_PTR_NOT_NULL(strstr(ev, "from=FIN-WAIT-2 to=CLOSED cause=FIN-WAIT-2 timeout"));
            g_free(ev);
            /* Nothing on the wire: the peer stays in CLOSE-WAIT. */
            CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSE_WAIT);
        } else {
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_FIN_WAIT_2);
            CU_ASSERT_EQUAL(c->closed_at, -1);
            /* close() after shutdown() starts the timer then. */
            call_at(&w, 100 * NS_SEC, do_close, c);
            world_run(&w);
            CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
            CU_ASSERT_EQUAL(c->closed_at, 105 * NS_SEC);
        }
        if (fw2 < 0)
            fprintf(stderr, "\n  states: %s\n", ct);
        g_free(ct);
        world_free(&w);
    }
}

/* ---- RFC 6298 ---------------------------------------------------------- */

static void rto_update(ns_time_t *srtt, ns_time_t *rttvar, ns_time_t r)
{
    if (*srtt == 0) {
        *srtt = r;
        *rttvar = r / 2;
    } else {
        ns_time_t d = *srtt > r ? *srtt - r : r - *srtt;
        *rttvar = (3 * *rttvar + d) / 4;
        *srtt = (7 * *srtt + r) / 8;
    }
}

/* Timestamps off, delayed ACKs off: the handshake gives R1, then each
 * lone 100-byte segment a sample R2 = frame_time(154) + frame_time(60) + 2 delays. */
static void test_rfc6298(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = default_opts();
    o.timestamps = false;
    o.delayed_ack = false;
    o.min_rto = NS_MSEC;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, 500 * NS_MSEC);
    /* SYN and SYN-ACK without timestamps: 66-byte frames. */
    ns_time_t r1 = 2 * frame_time(66, 3000000) + 20 * NS_MSEC;
    ns_time_t srtt = 0, rttvar = 0;
    rto_update(&srtt, &rttvar, r1);
    struct ns_tcp_info i = app_info(c);
    CU_ASSERT_EQUAL(i.srtt, r1);
    CU_ASSERT_EQUAL(i.rttvar, r1 / 2);
    CU_ASSERT_EQUAL(i.rto, r1 + 4 * (r1 / 2));
    ns_time_t r2 = frame_time(14 + 20 + 20 + 100, 3000000) + frame_time(60, 3000000) + 20 * NS_MSEC;
    for (int k = 0; k < 3; k++) {
        call_at(&w, (1 + k) * NS_SEC, do_send100, c);
        world_run_until(&w, (1 + k) * NS_SEC + 500 * NS_MSEC);
        rto_update(&srtt, &rttvar, r2);
        i = app_info(c);
        CU_ASSERT_EQUAL(i.srtt, srtt);
        CU_ASSERT_EQUAL(i.rttvar, rttvar);
        CU_ASSERT_EQUAL(i.rto, srtt + 4 * rttvar);
    }
    CU_ASSERT_EQUAL(i.min_rtt, r1 < r2 ? r1 : r2);
    world_run(&w);
    world_free(&w);

    /* The same with the default min_rto: 200 ms wins (RFC 6298 2.4). */
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    o.min_rto = 200 * NS_MSEC;
    world_listen(&w, &o);
    c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(app_info(c).srtt, r1);
    CU_ASSERT_EQUAL(app_info(c).rto, 200 * NS_MSEC);
    world_free(&w);
}

/* Karn: without timestamps a retransmitted segment gives no sample; with
 * them (RFC 7323 4.1) its echo does, and every ACK does. */
static void test_karn(void)
{
    for (int ts = 0; ts < 2; ts++) {
        struct world w;
        world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
        w.wa.min_len = 1;
        w.wa.nth[w.wa.nnth++] = 1;
        struct ns_tcp_opts o = default_opts();
        o.timestamps = ts;
        o.delayed_ack = false;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        world_run_until(&w, 500 * NS_MSEC);
        ns_time_t srtt0 = app_info(c).srtt;
        call_at(&w, NS_SEC, do_send100, c);
        world_run(&w);
        struct ns_tcp_info i = app_info(c);
        CU_ASSERT_EQUAL(i.retransmits, 1);
        CU_ASSERT_EQUAL(i.timeouts, 1);
        CU_ASSERT_EQUAL(i.bytes_acked, 100);
        if (!ts) {
            CU_ASSERT_EQUAL(i.srtt, srtt0);           /* no sample */
        } else {
            /* The echo of the retransmission's TSval: its true RTT, in
             * whole microseconds of the timestamp clock. */
            uint32_t frame = 14 + 20 + 32 + 100;
            struct seen *rx = nth_seg(&w.wa, 0, 0, 1, 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
            ns_time_t sent = rx->at - frame_time(frame, 3000000);
            ns_time_t acked = rx->at + 10 * NS_MSEC + frame_time(TS_FRAME, 3000000) + 10 * NS_MSEC;
            ns_time_t r = (acked / 1000 - sent / 1000) * 1000;
            CU_ASSERT_NOT_EQUAL(i.srtt, srtt0);
            CU_ASSERT_TRUE(i.min_rtt <= r);
            CU_ASSERT_EQUAL(i.srtt, (7 * srtt0 + r) / 8);
        }
        world_free(&w);
    }
}

/* RFC 6298 section 5 (the note after 5.7) with Karn's rule (section 3):
 * after a timeout the backed-off RTO stays until an ACK of a segment that
 * was not retransmitted gives a new RTT sample.  Timestamps off, so the
 * ACK of a retransmission gives none.  RTO is min_rto (200 ms). */
static void test_backoff_kept(void)
{
    struct world w;
    world_init(&w, 1, 3e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    w.wa.nth[w.wa.nnth++] = 1;          /* segment 1, first copy */
    w.wa.nth[w.wa.nnth++] = 3;          /* segment 2, first copy */
    w.wa.nth[w.wa.nnth++] = 6;          /* segment 4, first copy */
    struct ns_tcp_opts o = default_opts();
    o.timestamps = false;
    o.delayed_ack = false;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    for (int k = 1; k <= 4; k++)
        call_at(&w, k * NS_SEC, do_send100, c);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, 0, 0, 1), 7);
    ns_time_t gap[3];
    int pairs[3][2] = { { 0, 1 }, { 2, 3 }, { 5, 6 } };
    for (int i = 0; i < 3; i++)
        gap[i] = nth_seg(&w.wa, 0, 0, 1, pairs[i][1])->at - nth_seg(&w.wa, 0, 0, 1, pairs[i][0])->at;
    CU_ASSERT_EQUAL(gap[0], 200 * NS_MSEC);
    /* The ACK of segment 1's retransmission gave no sample: still backed
     * off for segment 2. */
    CU_ASSERT_EQUAL(gap[1], 400 * NS_MSEC);
    /* Segment 3, never retransmitted, gave a sample: back to 200 ms. */
    CU_ASSERT_EQUAL(gap[2], 200 * NS_MSEC);
    CU_ASSERT_EQUAL(app_info(c).timeouts, 3);
    CU_ASSERT_EQUAL(app_info(c).bytes_acked, 400);
    world_free(&w);
}

/* ---- bad input --------------------------------------------------------- */

static void test_bad_input(void)
{
    struct world w;
    world_init(&w, 1, 10e6, NS_MSEC, 0);
    GError *err = NULL;
    struct ns_tcp_opts o = default_opts();
    o.cc = "vegas";
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "unknown congestion control 'vegas' (known: reno, newreno, cubic)");
    o = default_opts();
    o.mss = 50;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option mss 50 is outside [88, 65495]");
    o = default_opts();
    o.mss = 70000;
    CU_ASSERT_PTR_NULL(ns_tcp_listen(w.b, PORT, &o, NULL, NULL, &err));
    check_error(&err, "TCP option mss 70000 is outside [88, 65495]");
    o = default_opts();
    o.sndbuf = 100;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option sndbuf 100 is outside [mss, 1 GiB]");
    o = default_opts();
    o.rcvbuf = (1u << 30) + 1;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option rcvbuf 1073741825 is outside [mss, 1 GiB]");
    o = default_opts();
    o.window_scale = false;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option rcvbuf 4194304 needs window_scale (the largest unscaled "
                      "window is 65535)");
    o = default_opts();
    o.init_cwnd = 0;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option init_cwnd 0 is outside [1, 1000] segments");
    o = default_opts();
    o.init_cwnd = 1001;
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), PORT, &o, &err));
    check_error(&err, "TCP option init_cwnd 1001 is outside [1, 1000] segments");
    CU_ASSERT_EQUAL(ns_tcp_count(w.sim), 0);       /* nothing was created */

    world_listen(&w, NULL);
    CU_ASSERT_PTR_NULL(ns_tcp_listen(w.b, PORT, NULL, NULL, NULL, &err));
    check_error(&err, "host 'b': TCP port 80 is already listening");
    CU_ASSERT_PTR_NULL(ns_tcp_connect(w.a, ns_host_addr(w.b), 0, NULL, &err));
    check_error(&err, "host 'a': cannot connect to port 0 of that address");

    /* Sending on a connection that is over names it. */
    struct app *c = world_connect(&w, w.a, w.b, PORT, NULL);
    c->close_on_est = true;
    struct app *t = server_template(&w);
    t->close_on_eof = true;
    world_run(&w);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_FALSE(ns_tcp_send(c->c, "x", 1, &err));
    check_error(&err, "connection a:49152>b:80 cannot send: it is CLOSED and shut down");
    /* A send that does not fit the buffer. */
    o = default_opts();
    o.sndbuf = 10000;
    struct app *d = world_connect(&w, w.a, w.b, PORT, &o);
    CU_ASSERT_FALSE(ns_tcp_send(d->c, NULL, 10001, &err));
    check_error(&err, "connection a:49153>b:80: 10001 bytes do not fit the send buffer "
                      "(10000 free of 10000)");
    ns_tcp_abort(d->c);
    world_run(&w);
    world_free(&w);
}

void test_tcp_register(void)
{
    CU_pSuite s = ns_test_suite("tcp", NULL, NULL);
    ns_test_add(s, "handshake: 1 RTT for the client, 1.5 for the server", test_handshake_timing);
    ns_test_add(s, "ISNs come from the seeded stream", test_isn_seeded);
    ns_test_add(s, "losing the local address ends the connection", test_address_lost);
    ns_test_add(s, "four-way close, FIN-WAIT-2, TIME-WAIT 2 MSL", test_four_way_close);
    ns_test_add(s, "FIN-WAIT-2 after close() times out; after shutdown() not",
                test_fin_wait_2_timeout);
    ns_test_add(s, "simultaneous close goes through CLOSING", test_simultaneous_close);
    ns_test_add(s, "simultaneous open goes through SYN-RECEIVED", test_simultaneous_open);
    ns_test_add(s, "half-close: the peer still sends", test_half_close);
    ns_test_add(s, "SYN to a closed port: RST, refused", test_refused);
    ns_test_add(s, "abort sends RST; the peer hears reset", test_abort);
    ns_test_add(s, "listener closed mid-handshake: child completes, not accepted",
                test_listener_closed_mid_handshake);
    ns_test_add(s, "lost SYN: 1 s then 2 s backoff", test_lost_syn);
    ns_test_add(s, "SYNs never answered: timeout after syn_retries", test_syn_give_up);
    ns_test_add(s, "lost SYN-ACK is resent", test_lost_synack);
    ns_test_add(s, "lost final ACK: SYN-ACK resent, ACK again", test_lost_final_ack);
    ns_test_add(s, "lost FIN: min RTO, then doubled", test_lost_fin);
    ns_test_add(s, "data never acknowledged: timeout after retries", test_data_give_up);
    ns_test_add(s, "RFC 6298 SRTT, RTTVAR, RTO, min RTO", test_rfc6298);
    ns_test_add(s, "Karn without timestamps; samples with them", test_karn);
    ns_test_add(s, "the backed-off RTO stays until a new RTT sample", test_backoff_kept);
    ns_test_add(s, "bad input: exact messages", test_bad_input);
}
