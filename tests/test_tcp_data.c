/* test_tcp_data.c — TCP data transfer driven from C, checked against the
 * RFCs: byte-stream exactness over lossy links, fast retransmit, NewReno,
 * SACK, flow control, Nagle, delayed ACKs, options, ECN, pcap as tshark
 * reads it, and determinism.
 *
 * The world (two hosts on one link, watches that record and drop
 * segments, the frame sizes the timings count on) is tests/tcpworld.h;
 * the connection's life is tests/test_tcp.c. */
#include <inttypes.h>
#include <string.h>

#include "netsim/pcap.h"
#include "netsim/rng.h"
#include "tcpworld.h"

/* ---- byte stream ------------------------------------------------------- */

/* Writes a seeded mix of real-byte and length-only chunks, closes, and
 * checks the server's callbacks put exactly the same stream back
 * together, in order, real bytes where real bytes were written. */
static void stream_run(uint64_t seed, bool sack, bool timestamps)
{
    struct world w;
    world_init(&w, seed, 10e6, 5 * NS_MSEC, 0.05);
    struct ns_tcp_opts o = default_opts();
    o.sack = sack;
    o.timestamps = timestamps;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    wait_established(&w, c);

    GByteArray *want = g_byte_array_new(), *want_real = g_byte_array_new();
    ns_rng rs, *r = &rs;
    ns_rng_init(r, seed, "test.stream");
    uint64_t total = 0;
    for (int i = 0; i < 300; i++) {
        uint32_t len = 1 + (uint32_t)ns_rng_below(r, i % 7 == 0 ? 5000 : 700);
        bool real = ns_rng_below(r, 2) == 0;
        uint8_t *buf = g_malloc(len);
        for (uint32_t k = 0; k < len; k++)
            buf[k] = real ? (uint8_t)(1 + ns_rng_below(r, 255)) : 0;
        uint8_t *mark = g_malloc(len);
        memset(mark, real, len);
        GError *err = NULL;
        CU_ASSERT_TRUE(ns_tcp_send(c->c, real ? buf : NULL, len, &err));
        CU_ASSERT_PTR_NULL(err);
        g_clear_error(&err);
        g_byte_array_append(want, buf, len);
        g_byte_array_append(want_real, mark, len);
        total += len;
        g_free(buf);
        g_free(mark);
    }
    ns_tcp_close(c->c);
    world_run(&w);

    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    CU_ASSERT_EQUAL(w.srv->rx->len, total);
    CU_ASSERT_TRUE(w.srv->rx->len == want->len &&
                   memcmp(w.srv->rx->data, want->data, want->len) == 0);
    CU_ASSERT_TRUE(w.srv->rx_real->len == want_real->len &&
                   memcmp(w.srv->rx_real->data, want_real->data, want_real->len) == 0);
    CU_ASSERT_EQUAL(c->acked, total);
    CU_ASSERT_NOT_EQUAL(w.srv->eof_at, -1);
    CU_ASSERT_NOT_EQUAL(c->closed_at, -1);
    CU_ASSERT_NOT_EQUAL(w.srv->closed_at, -1);
    CU_ASSERT_EQUAL(c->error_at, -1);
    CU_ASSERT_EQUAL(ns_tcp_state(c->c), NS_TCP_CLOSED);
    CU_ASSERT_EQUAL(ns_tcp_state(w.srv->c), NS_TCP_CLOSED);
    CU_ASSERT_TRUE(app_info(c).retransmits > 0);       /* the loss was real */
    CU_ASSERT_EQUAL(app_info(w.srv).bytes_received, total);
    g_byte_array_free(want, TRUE);
    g_byte_array_free(want_real, TRUE);
    world_free(&w);
}

static void test_stream_exact(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++)
        stream_run(seed, true, true);
    stream_run(5, false, true);
    stream_run(6, false, false);
    stream_run(7, true, false);
}

/* ---- recovery ---------------------------------------------------------- */

struct bulk_result {
    struct ns_tcp_info ci;      /* the sender's */
    ns_time_t done;             /* the receiver saw the FIN */
    uint64_t  received;
    int       wire_data;        /* data segments the sender put on the wire */
};

/* 300 kB over 10 Mbit/s, 10 ms, dropping the listed data segments (the
 * k-th data segment sent, 1-based) once. */
static struct bulk_result bulk(const char *cc, bool sack, const uint32_t *drops, int ndrops)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    w.wa.min_len = 1;
    for (int i = 0; i < ndrops; i++)
        w.wa.nth[w.wa.nnth++] = drops[i];
    struct ns_tcp_opts o = default_opts();
    o.sack = sack;
    o.cc = cc;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 300000;
    c->close_on_est = true;
    world_run(&w);
    struct bulk_result r = { app_info(c), w.srv ? w.srv->eof_at : -1, w.srv ? w.srv->rx->len : 0,
                             count_segs(&w.wa, 0, 0, 1) };
    CU_ASSERT_EQUAL(c->error_at, -1);
    world_free(&w);
    return r;
}

static void test_fast_retransmit(void)
{
    static const uint32_t one[] = { 5 };
    for (int sack = 0; sack < 2; sack++) {
        struct bulk_result r = bulk("newreno", sack, one, 1);
        CU_ASSERT_EQUAL(r.received, 300000);
        CU_ASSERT_EQUAL(r.ci.retransmits, 1);
        CU_ASSERT_EQUAL(r.ci.fast_retransmits, 1);
        CU_ASSERT_EQUAL(r.ci.timeouts, 0);
        CU_ASSERT_EQUAL(r.ci.recoveries, 1);
    }
}

/* Three losses in one window.  NewReno (RFC 6582) retransmits one hole
 * per partial ACK and stays in recovery: no timeout, one reduction.  SACK
 * (RFC 6675) repairs all three within about one RTT.  Reno leaves
 * recovery at the first partial ACK and needs a timeout or another fast
 * retransmit, halving the window again each time (RFC 5681 has no
 * "recover" guard), so it finishes last. */
static void test_newreno_sack_reno(void)
{
    static const uint32_t three[] = { 30, 33, 36 };
    struct bulk_result nr = bulk("newreno", false, three, 3);
    CU_ASSERT_EQUAL(nr.received, 300000);
    CU_ASSERT_EQUAL(nr.ci.timeouts, 0);
    CU_ASSERT_EQUAL(nr.ci.recoveries, 1);
    CU_ASSERT_EQUAL(nr.ci.retransmits, 3);

    struct bulk_result sk = bulk("newreno", true, three, 3);
    CU_ASSERT_EQUAL(sk.received, 300000);
    CU_ASSERT_EQUAL(sk.ci.timeouts, 0);
    CU_ASSERT_EQUAL(sk.ci.recoveries, 1);
    CU_ASSERT_EQUAL(sk.ci.retransmits, 3);
    CU_ASSERT_TRUE(sk.done < nr.done);

    struct bulk_result re = bulk("reno", false, three, 3);
    CU_ASSERT_EQUAL(re.received, 300000);
    CU_ASSERT_TRUE(re.ci.timeouts + re.ci.recoveries > 1);
    CU_ASSERT_TRUE(re.done > nr.done);
    if (re.ci.timeouts + re.ci.recoveries <= 1)
        fprintf(stderr, "\n  reno: timeouts %" PRIu64 " recoveries %" PRIu64 "\n",
                re.ci.timeouts, re.ci.recoveries);
}

/* Six losses in one window: SACK still recovers without a timeout and
 * retransmits only what was lost. */
static void test_sack_many(void)
{
    static const uint32_t six[] = { 30, 32, 34, 36, 38, 40 };
    struct bulk_result sk = bulk("newreno", true, six, 6);
    struct bulk_result nr = bulk("newreno", false, six, 6);
    CU_ASSERT_EQUAL(sk.received, 300000);
    CU_ASSERT_EQUAL(nr.received, 300000);
    CU_ASSERT_EQUAL(sk.ci.timeouts, 0);
    CU_ASSERT_EQUAL(sk.ci.recoveries, 1);
    CU_ASSERT_EQUAL(sk.ci.retransmits, 6);
    CU_ASSERT_TRUE(sk.ci.retransmits <= nr.ci.retransmits);
    CU_ASSERT_TRUE(sk.done < nr.done);
}

/* ---- flow control ------------------------------------------------------ */

static void fast_reader(struct app *a) { ns_tcp_set_read_rate(a->c, 200000); }

/* A receiver that reads 200 kB/s with a 64 kB buffer: the sender fills
 * the window, sees it shut, probes it while the reader pauses, and the
 * transfer proceeds at the reader's pace. */
static void test_flow_control(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 5 * NS_MSEC, 0);
    struct ns_tcp_opts o = default_opts();
    o.rcvbuf = 65536;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    world_run_until(&w, 100 * NS_MSEC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.srv);
    ns_tcp_set_read_rate(w.srv->c, 1);            /* a paused reader */
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 1000000, NULL));
    ns_tcp_close(c->c);
    call_at(&w, 5 * NS_SEC, fast_reader, w.srv);
    world_run(&w);

    CU_ASSERT_EQUAL(w.srv->rx->len, 1000000);
    int zero = 0;
    for (guint i = 0; i < w.wb.segs->len; i++)
        if (seg_at(&w.wb, i)->win == 0 && !(seg_at(&w.wb, i)->flags & F_SYN))
            zero++;
    CU_ASSERT_TRUE(zero > 0);
    /* Probes: one byte beyond the shut window, while the reader paused. */
    int probes = 0;
    for (guint i = 0; i < w.wa.segs->len; i++)
        if (seg_at(&w.wa, i)->len == 1 && seg_at(&w.wa, i)->at < 5 * NS_SEC)
            probes++;
    CU_ASSERT_TRUE(probes >= 3);
    /* Nothing got through beyond the buffer while paused. */
    uint64_t by5 = 0;
    for (guint i = 0; i < w.wa.segs->len; i++)
        if (seg_at(&w.wa, i)->at < 5 * NS_SEC)
            by5 += seg_at(&w.wa, i)->len;
    CU_ASSERT_TRUE(by5 <= 65536 + 16);
    /* Then the reader's pace: (1e6 - 64 kB) at 200 kB/s is 4.67 s. */
    double secs = (w.srv->eof_at - 5 * NS_SEC) / 1e9;
    CU_ASSERT_TRUE(secs > 4.5 && secs < 4.9);
    if (!(secs > 4.5 && secs < 4.9))
        fprintf(stderr, "\n  reader-paced transfer took %.3f s\n", secs);
    CU_ASSERT_EQUAL(app_info(c).timeouts, 0);
    /* At most the probe byte, resent in the first segment after. */
    CU_ASSERT_TRUE(app_info(c).retransmits <= 1);
    world_free(&w);
}

/* ---- Nagle and delayed ACKs -------------------------------------------- */

static void ten_small(struct app *a)
{
    for (int i = 0; i < 10; i++)
        CU_ASSERT_TRUE(ns_tcp_send(a->c, NULL, 100, NULL));
}

static void test_nagle(void)
{
    for (int nodelay = 0; nodelay < 2; nodelay++) {
        struct world w;
        world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
        struct ns_tcp_opts o = default_opts();
        o.nodelay = nodelay;
        world_listen(&w, &o);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
        call_at(&w, NS_SEC, ten_small, c);
        world_run(&w);
        CU_ASSERT_EQUAL(w.srv->rx->len, 1000);
        if (nodelay) {
            CU_ASSERT_EQUAL(count_segs(&w.wa, 0, 0, 1), 10);
        } else {
            /* The first at once; the other nine wait for its ACK. */
            CU_ASSERT_EQUAL_FATAL(count_segs(&w.wa, 0, 0, 1), 2);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 0)->len, 100);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 1)->len, 900);
            ns_time_t first = frame_time(TS_FRAME + 100, 10000000);
            CU_ASSERT_EQUAL(nth_seg(&w.wa, 0, 0, 1, 1)->at,
                            NS_SEC + first + 10 * NS_MSEC + frame_time(TS_FRAME, 10000000) +
                            10 * NS_MSEC + frame_time(TS_FRAME + 900, 10000000));
        }
        world_free(&w);
    }
}

static void test_delayed_ack(void)
{
    struct world w;
    world_init(&w, 1, 10e6, 10 * NS_MSEC, 0);
    struct ns_tcp_opts o = default_opts();
    o.nodelay = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    /* 40 full segments at 1 s: quick ACKs first, then one ACK every
     * second segment. */
    world_run_until(&w, NS_SEC);
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 40 * 1448, NULL));
    world_run_until(&w, 2 * NS_SEC);
    /* The first data segment is ACKed the moment it arrives. */
    struct seen *d0 = nth_seg(&w.wa, 0, 0, 1, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d0);
    int n_pure = 0;
    ns_time_t first_ack = -1;
    for (guint i = 0; i < w.wb.segs->len; i++) {
        struct seen *s = seg_at(&w.wb, i);
        if (s->flags == F_ACK && s->at > NS_SEC) {
            n_pure++;
            if (first_ack < 0)
                first_ack = s->at;
        }
    }
    CU_ASSERT_EQUAL(first_ack, d0->at + 10 * NS_MSEC + frame_time(TS_FRAME, 10000000));
    /* 40 segments: fewer ACKs than segments, more than a quarter. */
    CU_ASSERT_TRUE(n_pure < 40 && n_pure >= 20);
    int quick = 0;
    {
        /* After the quick ACKs, ACKs acknowledge two segments each. */
        uint32_t prev = 0;
        int pairs = 0;
        for (guint i = 0; i < w.wb.segs->len; i++) {
            struct seen *s = seg_at(&w.wb, i);
            if (s->flags != F_ACK || s->at <= NS_SEC)
                continue;
            if (prev && s->ack - prev == 1448)
                quick++;
            if (prev && s->ack - prev == 2 * 1448)
                pairs++;
            prev = s->ack;
        }
        CU_ASSERT_TRUE(quick >= 10);
        CU_ASSERT_TRUE(pairs >= 5);
        CU_ASSERT_EQUAL(quick + pairs + 1, n_pure);
    }
    /* A lone segment later: ACKed after the delayed-ACK timeout. */
    call_at(&w, 3 * NS_SEC, do_send100, c);
    world_run(&w);
    struct seen *lone = nth_seg(&w.wa, 0, 0, 1, 40);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lone);
    struct seen *last = seg_at(&w.wb, w.wb.segs->len - 1);
    CU_ASSERT_EQUAL(last->at,
                    lone->at + 10 * NS_MSEC + 40 * NS_MSEC + frame_time(TS_FRAME, 10000000));
    world_free(&w);
}

/* ---- options ----------------------------------------------------------- */

static double goodput_over(ns_time_t delay, double rate, bool ws, uint32_t rcvbuf, int *shift)
{
    struct world w;
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.rate_bps = rate;
    lo.delay = delay;
    lo.qcfg.limit_pkts = 2000;
    world_init_opts(&w, 1, &lo);
    struct ns_tcp_opts o = default_opts();
    o.window_scale = ws;
    o.rcvbuf = rcvbuf;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 4000000;
    c->close_on_est = true;
    world_run(&w);
    *shift = seg_at(&w.wa, 0)->wscale;
    CU_ASSERT_EQUAL(w.srv->rx->len, 4000000);
    double secs = (w.srv->eof_at - c->established_at) / 1e9;
    world_free(&w);
    return 4e6 * 8 / secs;
}

/* A 4 MiB buffer needs shift 7 (4 MiB >> 7 = 32768 <= 65535 < 65536);
 * over 100 Mbit/s and 100 ms RTT the flow beats 64 KiB per RTT many times
 * over, which it cannot without the option. */
static void test_window_scale(void)
{
    int shift = 0;
    double scaled = goodput_over(50 * NS_MSEC, 100e6, true, 4u << 20, &shift);
    CU_ASSERT_EQUAL(shift, 7);
    double cap = 65536.0 * 8 / 0.1;               /* 64 KiB per RTT: 5.2 Mbit/s */
    CU_ASSERT_TRUE(scaled > 3 * cap);
    double plain = goodput_over(50 * NS_MSEC, 100e6, false, 65535, &shift);
    CU_ASSERT_EQUAL(shift, -1);
    CU_ASSERT_TRUE(plain < cap);
    if (!(scaled > 3 * cap) || !(plain < cap))
        fprintf(stderr, "\n  scaled %.0f, plain %.0f, 64 KiB/RTT %.0f bit/s\n", scaled, plain, cap);
}

static uint32_t max_payload(struct watch *w)
{
    uint32_t m = 0;
    for (guint i = 0; i < w->segs->len; i++)
        if (seg_at(w, i)->len > m)
            m = seg_at(w, i)->len;
    return m;
}

/* Payload per segment = min(our mss, peer's mss) - 12 with timestamps. */
static void test_mss(void)
{
    for (int ts = 0; ts < 2; ts++) {
        struct world w;
        world_init(&w, 1, 10e6, NS_MSEC, 0);
        struct ns_tcp_opts so = default_opts(), co = default_opts();
        so.timestamps = co.timestamps = ts;
        co.mss = 1000;
        struct app *t = server_template(&w);
        t->send_on_est = 20000;
        world_listen(&w, &so);
        struct app *c = world_connect(&w, w.a, w.b, PORT, &co);
        c->send_on_est = 20000;
        world_run(&w);
        CU_ASSERT_EQUAL(seg_at(&w.wa, 0)->mss, 1000);
        CU_ASSERT_EQUAL(seg_at(&w.wb, 0)->mss, 1460);
        CU_ASSERT_EQUAL(max_payload(&w.wa), ts ? 988 : 1000);
        CU_ASSERT_EQUAL(max_payload(&w.wb), ts ? 988 : 1000);
        /* Timestamps on every segment once negotiated (RFC 7323 3.2). */
        int with_ts = 0;
        for (guint i = 0; i < w.wa.segs->len; i++)
            with_ts += seg_at(&w.wa, i)->ts;
        CU_ASSERT_EQUAL(with_ts, ts ? (int)w.wa.segs->len : 0);
        CU_ASSERT_EQUAL(c->rx->len, 20000);
        world_free(&w);
    }
}

/* ---- ECN --------------------------------------------------------------- */

static void test_ecn(void)
{
    struct world w;
    struct ns_link_opts lo;
    ns_link_opts_defaults(&lo);
    lo.rate_bps = 10e6;
    lo.delay = 10 * NS_MSEC;
    lo.queue = "codel";
    lo.qcfg.ecn = true;
    lo.qcfg.limit_pkts = 1000;
    world_init_opts(&w, 1, &lo);
    struct ns_tcp_opts o = default_opts();
    o.ecn = true;
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 4000000;
    c->close_on_est = true;
    world_run(&w);
    CU_ASSERT_EQUAL(w.srv->rx->len, 4000000);
    int ce = 0, ect = 0, ece = 0, cwr = 0;
    for (guint i = 0; i < w.wa.segs->len; i++) {
        struct seen *s = seg_at(&w.wa, i);
        ce += s->ecn == NS_ECN_CE;
        ect += s->ecn == NS_ECN_ECT0 && s->len > 0;
        cwr += (s->flags & F_CWR) && !(s->flags & F_SYN);
    }
    for (guint i = 0; i < w.wb.segs->len; i++)
        ece += (seg_at(&w.wb, i)->flags & F_ECE) && !(seg_at(&w.wb, i)->flags & F_SYN);
    struct ns_tcp_info i = app_info(c);
    CU_ASSERT_TRUE(ce > 0);
    CU_ASSERT_TRUE(ect > 0);
    CU_ASSERT_TRUE(ece >= ce);
    CU_ASSERT_TRUE(i.ecn_reductions > 0);
    CU_ASSERT_EQUAL(i.ecn_reductions, (uint64_t)cwr);      /* one CWR per reduction */
    CU_ASSERT_TRUE(i.ecn_reductions < (uint64_t)ece);      /* once per window */
    CU_ASSERT_EQUAL(i.retransmits, 0);
    CU_ASSERT_EQUAL(i.timeouts, 0);
    const struct ns_link_stats *st = ns_link_stats(w.l, 0);
    uint64_t drops = 0;
    for (int k = 0; k < NS_DROP_NCAUSES; k++)
        drops += st->drops[k];
    CU_ASSERT_EQUAL(drops, 0);
    if (ce == 0 || i.ecn_reductions == 0)
        fprintf(stderr, "\n  ce %d ece %d cwr %d reductions %" PRIu64 "\n", ce, ece, cwr,
                i.ecn_reductions);
    world_free(&w);
}

/* ---- pcap and tshark --------------------------------------------------- */

static char *run_tshark(char **argv_tail, int ntail)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark)
        return NULL;
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, tshark);
    for (int i = 0; i < ntail; i++)
        g_ptr_array_add(argv, argv_tail[i]);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *errout = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                &out, &errout, &status, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    g_clear_error(&err);
    g_free(errout);
    g_ptr_array_free(argv, TRUE);
    g_free(tshark);
    return out;
}

static int count_substr(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A lossy transfer captured at the client: tshark decodes it clean, and
 * the frames it calls retransmissions are the ones we made. */
static void test_pcap_tshark(void)
{
    struct world w;
    world_init(&w, 3, 10e6, 5 * NS_MSEC, 0.02);
    world_out(&w, "pcap");
    GError *err = NULL;
    ns_pcap *pc = ns_pcap_open(w.sim, "a.pcap", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    ns_iface_capture(ns_host_iface(w.a, 0), pc);
    struct ns_tcp_opts o = default_opts();
    o.msl = NS_SEC;
    struct app *t = server_template(&w);
    t->close_on_eof = true;
    t->reply = 3000;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    wait_established(&w, c);
    uint8_t bytes[3333];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 7 + 1);
    CU_ASSERT_TRUE(ns_tcp_send(c->c, bytes, sizeof bytes, NULL));
    CU_ASSERT_TRUE(ns_tcp_send(c->c, NULL, 400000, NULL));
    ns_tcp_close(c->c);
    world_run(&w);
    world_commit(&w);
    CU_ASSERT_EQUAL(w.srv->rx->len, 400000 + sizeof bytes);

    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    char *v_args[] = { "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                       "-o", "tcp.relative_sequence_numbers:TRUE", "-r", file, "-V" };
    char *out = run_tshark(v_args, G_N_ELEMENTS(v_args));
    if (!out) {
        printf("\n  note: tshark not found, pcap check skipped\n");
        g_free(file);
        world_free(&w);
        return;
    }
    CU_ASSERT_EQUAL(count_substr(out, "Malformed"), 0);
    CU_ASSERT_EQUAL(count_substr(out, "[Checksum Status: Bad]"), 0);
    CU_ASSERT_TRUE(count_substr(out, "[Checksum Status: Good]") > 100);
    CU_ASSERT_TRUE(count_substr(out, "Window scale: 7") >= 2);
    CU_ASSERT_TRUE(count_substr(out, "SACK permitted") >= 2);
    g_free(out);

    /* Every frame tshark flags, by kind. */
    char *f_args[] = { "-r", file, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update",
                       "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.analysis.retransmission",
                       "-e", "tcp.analysis.fast_retransmission", "-e",
                       "tcp.analysis.spurious_retransmission", "-e", "tcp.analysis.duplicate_ack",
                       "-e", "_ws.expert.message", "-E", "separator=|" };
    out = run_tshark(f_args, G_N_ELEMENTS(f_args));
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    int rexmit_a = 0, other = 0;
    char **lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        char **f = g_strsplit(*l, "|", 6);
        bool is_rexmit = f[1] && f[2] && f[3] && (*f[1] || *f[2] || *f[3]);
        bool is_dup = f[4] && *f[4];
        if (is_rexmit && f[0] && strcmp(f[0], "49152") == 0)
            rexmit_a++;
        else if (!is_dup) {
            other++;
            fprintf(stderr, "\n  tshark flags: %s\n", *l);
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(out);
    struct ns_tcp_info ci = app_info(c);
    CU_ASSERT_TRUE(ci.retransmits > 0);
    CU_ASSERT_EQUAL((uint64_t)rexmit_a, ci.retransmits);
    if ((uint64_t)rexmit_a != ci.retransmits)
        fprintf(stderr, "\n  tshark: %d retransmissions, the model: %" PRIu64 "\n", rexmit_a,
                ci.retransmits);
    CU_ASSERT_EQUAL(other, 0);
    g_free(file);
    world_free(&w);
}

/* ---- determinism ------------------------------------------------------- */

static char *lossy_events(uint64_t seed, const char *name)
{
    struct world w;
    world_init(&w, seed, 10e6, 5 * NS_MSEC, 0.03);
    world_out(&w, name);
    struct ns_tcp_opts o = default_opts();
    o.msl = NS_SEC;
    server_template(&w)->close_on_eof = true;
    world_listen(&w, &o);
    struct app *c = world_connect(&w, w.a, w.b, PORT, &o);
    c->send_on_est = 200000;
    c->close_on_est = true;
    world_run(&w);
    world_commit(&w);
    char *ev = world_file(&w, "events.tsv");
    world_free(&w);
    return ev;
}

static void test_determinism(void)
{
    char *a = lossy_events(1, "det1"), *b = lossy_events(1, "det2"), *c = lossy_events(2, "det3");
    CU_ASSERT_TRUE(strlen(a) > 10000);
    CU_ASSERT_TRUE(strstr(a, "tcp.seg") != NULL);
    check_str(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    g_free(a);
    g_free(b);
    g_free(c);
}


void test_tcp_data_register(void)
{
    CU_pSuite s = ns_test_suite("tcp-data", NULL, NULL);
    ns_test_add(s, "bytes and lengths come back exactly over loss", test_stream_exact);
    ns_test_add(s, "fast retransmit on three duplicate ACKs", test_fast_retransmit);
    ns_test_add(s, "NewReno partial ACKs, SACK, Reno", test_newreno_sack_reno);
    ns_test_add(s, "SACK: six losses in one window", test_sack_many);
    ns_test_add(s, "flow control: zero window, probes, reader's pace", test_flow_control);
    ns_test_add(s, "Nagle coalesces; nodelay does not", test_nagle);
    ns_test_add(s, "delayed ACK: quick, every second, timeout", test_delayed_ack);
    ns_test_add(s, "window scale 7 and a long fat link", test_window_scale);
    ns_test_add(s, "MSS: min of both, less 12 with timestamps", test_mss);
    ns_test_add(s, "ECN: CE, ECE, one reduction per window, CWR", test_ecn);
    ns_test_add(s, "pcap of a lossy transfer reads clean in tshark", test_pcap_tshark);
    ns_test_add(s, "same seed, same events.tsv", test_determinism);
}
