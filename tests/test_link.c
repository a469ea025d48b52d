/* test_link.c — point-to-point links driven from C: serialisation to the
 * nanosecond, back-to-back packets without drift, 100 Gbit/s for hours,
 * jitter ordering, queue overflow, loss, link failure and rerouting, and
 * the event count where a packet's fate is known when it starts. */
#include "queue_recorder.h"
#include "testnet.h"

/* ---- timing ----------------------------------------------------------- */

static void test_one_link_timing(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 3e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    send_at(&w, 5 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    ns_time_t one = 378667 + NS_MSEC;               /* 1136 bits at 3 Mbit/s, rounded up */
    CU_ASSERT_EQUAL(ser(udp_bits(PAYLOAD), 3000000), 378667);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, one);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 5 * NS_SEC + one);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->src, ns_host_addr(a));
    CU_ASSERT_EQUAL(rx_at(&w, 0)->len, PAYLOAD);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL);
    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->tx_pkts, 2);
    CU_ASSERT_EQUAL(st->tx_bytes, 2 * 142);
    CU_ASSERT_EQUAL(st->rx_pkts, 2);
    CU_ASSERT_EQUAL(ns_link_stats(l, 1)->tx_pkts, 0);
    world_free(&w);
}

static void test_chain_timing(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true);
    ns_host *r2 = host(&w, "r2", true), *b = host(&w, "b", false);
    link_rd(&w, a, r1, 3e6, 1 * NS_MSEC);
    link_rd(&w, r1, r2, 7e6, 2 * NS_MSEC);
    link_rd(&w, r2, b, 11e6, 3 * NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    world_run(&w);

    uint64_t bits = udp_bits(PAYLOAD);
    ns_time_t want = ser(bits, 3000000) + 1 * NS_MSEC + ser(bits, 7000000) + 2 * NS_MSEC +
                     ser(bits, 11000000) + 3 * NS_MSEC;
    CU_ASSERT_EQUAL(want, 378667 + 162286 + 103273 + 6 * NS_MSEC);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, want);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL - 2);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->fwd_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(a)->tx_pkts, 1);
    CU_ASSERT_EQUAL(ns_host_stats(b)->rx_pkts, 1);
    world_free(&w);
}

/* 1000 datagrams handed over at once: the k-th ends its serialisation at
 * ceil(k * bits * 1e9 / rate), computed from the start of the busy period,
 * never by adding rounded per-packet times (which would drift by up to a
 * nanosecond a packet). */
static void test_back_to_back(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 3e6;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 1000; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1000);
    int bad = 0;
    for (uint32_t k = 1; k <= 1000; k++) {
        const struct rec *r = rx_at(&w, k - 1);
        if (r->tag != k - 1 || r->at != ser(k * udp_bits(PAYLOAD), 3000000) + NS_MSEC)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Adding rounded times would give 1000 * 378,667: 333 ns late. */
    CU_ASSERT_EQUAL(rx_at(&w, 999)->at, 378666667 + NS_MSEC);
    world_free(&w);
}

/* 100 Gbit/s at hours and weeks of simulated time: nothing overflows. */
static void test_100gbps_hours(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 100e9;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    const ns_time_t hour = 3600 * NS_SEC;
    const uint32_t size = 1472;                    /* a 1514-byte frame: 121.12 ns */
    send_at(&w, 1 * hour, sa, ns_host_addr(b), PORT, size, 0, false);
    send_at(&w, 10 * hour, sa, ns_host_addr(b), PORT, size, 0, false);
    for (uint32_t k = 0; k < 1000; k++)
        send_at(&w, 1000 * hour, sa, ns_host_addr(b), PORT, size, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1002);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 1 * hour + 122 + NS_MSEC);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 10 * hour + 122 + NS_MSEC);
    int bad = 0;
    for (uint32_t k = 1; k <= 1000; k++) {
        const struct rec *r = rx_at(&w, k + 1);
        if (r->tag != k - 1 || r->at != 1000 * hour + ser(k * udp_bits(size), 100000000000ull) + NS_MSEC)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(rx_at(&w, 1001)->at, 1000 * hour + 121120 + NS_MSEC);
    world_free(&w);
}

/* Jitter up to 2 ms on packets 48 us apart: in order unless reordering is
 * allowed; each arrival within [departure + delay, + jitter]. */
static void jitter_run(bool reorder, int *inversions, int *jittered, int *out_of_window)
{
    struct world w;
    world_init(&w, 3);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.jitter = 2 * NS_MSEC;
    o.jitter_reorders = reorder;
    o.qcfg.limit_pkts = 0;
    link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 300; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, 4, k, true);
    world_run(&w);

    CU_ASSERT_EQUAL(w.rx->len, 300);
    *inversions = *jittered = *out_of_window = 0;
    for (guint i = 0; i < w.rx->len; i++) {
        const struct rec *r = rx_at(&w, i);
        ns_time_t dep = ser((uint64_t)(r->tag + 1) * udp_bits(4), 10000000);
        if (r->at < dep + NS_MSEC || r->at > dep + 3 * NS_MSEC)
            (*out_of_window)++;
        if (r->at != dep + NS_MSEC)
            (*jittered)++;
        if (i > 0 && r->tag < rx_at(&w, i - 1)->tag)
            (*inversions)++;
        if (i > 0)
            CU_ASSERT_TRUE(r->at >= rx_at(&w, i - 1)->at);
    }
    world_free(&w);
}

static void test_jitter_order(void)
{
    int inv, jit, out;
    jitter_run(false, &inv, &jit, &out);
    CU_ASSERT_EQUAL(inv, 0);
    CU_ASSERT_TRUE(jit > 250);
    CU_ASSERT_EQUAL(out, 0);
    jitter_run(true, &inv, &jit, &out);
    CU_ASSERT_TRUE(inv > 10);
    CU_ASSERT_TRUE(jit > 250);
    CU_ASSERT_EQUAL(out, 0);
}

/* ---- drops ------------------------------------------------------------ */

static void test_queue_overflow(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.qcfg.limit_pkts = 10;
    ns_link *l = link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 25; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    world_run(&w);

    /* One on the transmitter, ten queued, fourteen dropped. */
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 11);
    for (guint i = 0; i < 11; i++)
        CU_ASSERT_EQUAL(rx_at(&w, i)->tag, i);
    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_QUEUE_FULL], 14);
    CU_ASSERT_EQUAL(st->tx_pkts, 11);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LOSS], 0);
    world_free(&w);
}

static void loss_run(double loss, uint64_t *received, uint64_t *lost)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.loss = loss;
    ns_link *l = link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 50; k++)
        send_at(&w, k * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, k, false);
    world_run(&w);
    *received = w.rx->len;
    *lost = ns_link_stats(l, 0)->drops[NS_DROP_LOSS];
    CU_ASSERT_EQUAL(ns_link_stats(l, 0)->tx_pkts, 50);
    world_free(&w);
}

static void test_loss_all_or_nothing(void)
{
    uint64_t rx, lost;
    loss_run(1.0, &rx, &lost);
    CU_ASSERT_EQUAL(rx, 0);
    CU_ASSERT_EQUAL(lost, 50);
    loss_run(0.0, &rx, &lost);
    CU_ASSERT_EQUAL(rx, 50);
    CU_ASSERT_EQUAL(lost, 0);
    loss_run(0.5, &rx, &lost);
    CU_ASSERT_EQUAL(rx + lost, 50);
    CU_ASSERT_TRUE(lost > 10 && lost < 40);
}

/* 1 Mbit/s, 10 ms: of 20 datagrams sent at 0, four are in flight, one on
 * the transmitter and fifteen queued when the link fails at 5 ms; all are
 * dropped as "link-down".  While it is down there is no route; once up,
 * datagrams pass again. */
static void test_link_down(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 1e6, 10 * NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    for (uint32_t k = 0; k < 20; k++)
        send_at(&w, 0, sa, dst, PORT, PAYLOAD, k, false);
    link_at(&w, 5 * NS_MSEC, l, false);
    struct tx *while_down = send_at(&w, 50 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 100 * NS_MSEC, l, true);
    struct tx *after = send_at(&w, 200 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LINK_DOWN], 20);
    CU_ASSERT_EQUAL(st->tx_pkts, 6);                 /* 5 before, 1 after */
    CU_ASSERT_FALSE(while_down->sent);
    CU_ASSERT_EQUAL(ns_host_stats(a)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_TRUE(after->sent);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 200 * NS_MSEC + 1136000 + 10 * NS_MSEC);
    CU_ASSERT_TRUE(ns_link_is_up(l));
    world_free(&w);
}

/* A ring of five routers, a at r0 and b at r2: r0-r1-r2 is the short way;
 * with r1-r2 down traffic goes r0-r4-r3-r2, one hop longer, and comes
 * back once the link is up. */
static void test_ring_reroute(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r[5];
    for (int i = 0; i < 5; i++) {
        char name[8];
        g_snprintf(name, sizeof name, "r%d", i);
        r[i] = host(&w, name, true);
    }
    link_rd(&w, a, r[0], 10e6, NS_MSEC);
    ns_link *ring[5];
    for (int i = 0; i < 5; i++)
        ring[i] = link_rd(&w, r[i], r[(i + 1) % 5], 10e6, NS_MSEC);
    link_rd(&w, r[2], b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 1 * NS_SEC, ring[1], false);
    send_at(&w, 2 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    link_at(&w, 3 * NS_SEC, ring[1], true);
    send_at(&w, 4 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);

    const ns_time_t hop = 113600 + NS_MSEC;
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 3);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 4 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->ttl, NS_IP_DEFAULT_TTL - 3);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 2 * NS_SEC + 5 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->ttl, NS_IP_DEFAULT_TTL - 4);
    CU_ASSERT_EQUAL(rx_at(&w, 2)->at, 4 * NS_SEC + 4 * hop);
    CU_ASSERT_EQUAL(rx_at(&w, 2)->ttl, NS_IP_DEFAULT_TTL - 3);
    CU_ASSERT_EQUAL(ns_link_stats(ring[4], 1)->tx_pkts, 1);   /* r0 -> r4 once */
    CU_ASSERT_EQUAL(ns_link_stats(ring[0], 0)->tx_pkts, 2);   /* r0 -> r1 twice */
    world_free(&w);
}

/* ---- events: decided at start where nothing is drawn at tx_end ---- */

/* A lossless link without jitter: one event per packet and hop when the
 * direction is idle (its arrival); a burst adds a tx_done for each packet
 * that has another queued behind it, or that one joins while it is on,
 * and arrival times stay those of one serialisation after the other. */
static void test_events_per_hop(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    link_rd(&w, a, r, 8e6, NS_MSEC);                  /* 142,000 ns a packet, */
    link_rd(&w, r, b, 8e6, NS_MSEC);                  /* no rounding */
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    for (int k = 0; k < 10; k++)
        send_at(&w, k * 10 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    ns_time_t one = ser(udp_bits(PAYLOAD), 8000000);
    CU_ASSERT_EQUAL(one, 142000);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 10);
    CU_ASSERT_EQUAL(rx_at(&w, 9)->at, 90 * NS_MSEC + 2 * (one + NS_MSEC));
    CU_ASSERT_EQUAL(ns_sim_events_run(w.sim), 10 + 2 * 10);    /* sends + hops */

    uint64_t before = ns_sim_events_run(w.sim);
    for (int k = 0; k < 5; k++)                             /* a burst of 5 */
        send_at(&w, NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    send_at(&w, NS_SEC + 4 * one + one / 2, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 16);
    for (int k = 0; k < 6; k++)
        CU_ASSERT_EQUAL(rx_at(&w, 10 + k)->at, NS_SEC + (k + 2) * one + 2 * NS_MSEC);
    /* 6 sends; on a -> r 5 tx_dones (4 with a packet behind, 1 joined
     * while on) and 6 arrivals; on r -> b, each packet arrives as the one
     * before ends: no tx_done, 6 arrivals */
    CU_ASSERT_EQUAL(ns_sim_events_run(w.sim) - before, 6 + 5 + 6 + 6);
    world_free(&w);
}

/* What tx_end decides is decided at tx_end even when the arrival was
 * scheduled at the start: a link that goes down and up again while a
 * packet is serialised loses it at its tx_end (counted then), a delay or
 * loss set while it is on applies to it, and one set after its tx_end
 * does not. */
struct change {
    ns_link  *l;
    int       what;                 /* 0: delay 5 ms, 1: loss 1, 2: loss 0 */
};

static void do_change(ns_sim *sim, void *arg)
{
    (void)sim;
    struct change *c = arg;
    bool ok = c->what == 0 ? ns_link_set_delay(c->l, -1, 5 * NS_MSEC, NULL)
                           : ns_link_set_loss(c->l, -1, c->what == 1 ? 1.0 : 0.0, NULL);
    CU_ASSERT_TRUE(ok);
}

static void change_at(struct world *w, ns_time_t at, ns_link *l, int what)
{
    struct change *c = own(w, sizeof *c);
    *c = (struct change){ l, what };
    ns_event_at(w->sim, at, do_change, c, 0, NULL);
}

struct drops_seen {
    ns_link  *l;
    uint64_t  seen[4];
    int       n;
};

static void see_drops(ns_sim *sim, void *arg)
{
    (void)sim;
    struct drops_seen *d = arg;
    const struct ns_link_stats *st = ns_link_stats(d->l, 0);
    d->seen[d->n++] = st->drops[NS_DROP_LINK_DOWN] + st->drops[NS_DROP_LOSS];
}

static void test_changes_while_serialising(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 3e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    ns_time_t one = ser(udp_bits(PAYLOAD), 3000000);        /* 378,667 ns */
    struct drops_seen ds = { l, { 0 }, 0 };

    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);       /* down and up: lost */
    link_at(&w, 100000, l, false);
    link_at(&w, 200000, l, true);
    ns_event_at(w.sim, one - 1, see_drops, &ds, 0, NULL);
    ns_event_at(w.sim, one + 1, see_drops, &ds, 0, NULL);

    ns_time_t t = 100 * NS_MSEC;
    send_at(&w, t, sa, dst, PORT, PAYLOAD, 0, false);       /* delay set while on */
    change_at(&w, t + 100000, l, 0);
    send_at(&w, 2 * t, sa, dst, PORT, PAYLOAD, 0, false);   /* loss set while on */
    change_at(&w, 2 * t + 100000, l, 1);
    change_at(&w, 2 * t + one + 1000, l, 2);
    send_at(&w, 3 * t, sa, dst, PORT, PAYLOAD, 0, false);   /* loss set after tx_end */
    change_at(&w, 3 * t + one, l, 1);
    change_at(&w, 3 * t + one + 1000, l, 2);
    world_run(&w);

    const struct ns_link_stats *st = ns_link_stats(l, 0);
    CU_ASSERT_EQUAL(ds.seen[0], 0);
    CU_ASSERT_EQUAL(ds.seen[1], 1);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LINK_DOWN], 1);
    CU_ASSERT_EQUAL(st->drops[NS_DROP_LOSS], 1);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, t + one + 5 * NS_MSEC);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 3 * t + one + 5 * NS_MSEC);
    world_free(&w);
}

/* The discipline sees the calls and times it saw with one tx_done per
 * packet: the empty dequeue at each tx_end is made when the direction is
 * next used (or the link goes down), with tx_end as its time; a link going
 * down and up asks for the next packet when it comes up, as before. */
static void test_discipline_calls(void)
{
    struct world w;
    world_init(&w, 1);
    qrec_watch(w.sim, "a-b.0");
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 8e6;                                   /* 142,000 ns a packet */
    o.delay = NS_MSEC;
    o.queue = "recorder";
    ns_link *l = link_opts(&w, a, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_host_addr(b);
    ns_time_t one = 142000, t = 10 * NS_MSEC;
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);       /* idle: no tx_done */
    send_at(&w, t, sa, dst, PORT, PAYLOAD, 0, false);       /* idle again */
    send_at(&w, t + 50000, sa, dst, PORT, PAYLOAD, 0, false);   /* behind it */
    link_at(&w, 5 * t, l, false);                           /* empty dequeue first */
    link_at(&w, 6 * t, l, true);                            /* asks: nothing */
    world_run(&w);
    static const char want_op[] = "EDdEDEDdd";
    const ns_time_t want_at[] = { 0, 0, one, t, t, t + 50000, t + one, t + 2 * one, 6 * t };
    qrec_expect(want_op, want_at);
    CU_ASSERT_EQUAL(w.rx->len, 3);
    world_free(&w);
}

void test_link_register(void)
{
    CU_pSuite s = ns_test_suite("link", NULL, NULL);
    ns_test_add(s, "one link: serialisation rounded up plus delay", test_one_link_timing);
    ns_test_add(s, "a chain of routers: the sum of its hops", test_chain_timing);
    ns_test_add(s, "1000 back-to-back packets do not drift", test_back_to_back);
    ns_test_add(s, "100 Gbit/s over hours does not overflow", test_100gbps_hours);
    ns_test_add(s, "jitter reorders only when allowed", test_jitter_order);
    ns_test_add(s, "drop-tail overflow counted as queue-full", test_queue_overflow);
    ns_test_add(s, "loss 1 drops all, loss 0 none", test_loss_all_or_nothing);
    ns_test_add(s, "link down drops queued and in-flight packets", test_link_down);
    ns_test_add(s, "a ring reroutes around a failed link", test_ring_reroute);
    ns_test_add(s, "one event per idle hop", test_events_per_hop);
    ns_test_add(s, "down, delay and loss changes while serialising", test_changes_while_serialising);
    ns_test_add(s, "what the discipline sees", test_discipline_calls);
}
