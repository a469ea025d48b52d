/* test_route.c — IPv4 routing, TTL and ICMP driven from C: ties to the
 * lowest next hop whatever the creation order, plain hosts that do not
 * relay, static routes, routing loops, unreachable destinations and
 * ports, exact ping round trips. */
#include "testnet.h"

/* ---- routing ---------------------------------------------------------- */

/* a and b joined through r1 and through r2, two hops either way.  `low`
 * names the router given the lower addresses; `swap` builds everything
 * in the other order.  Returns how many datagrams crossed a-r1 and a-r2
 * (a to b) and r1-b and r2-b (b to a). */
struct tie { uint64_t a_r1, a_r2, b_r1, b_r2; };

static struct tie tie_run(int low, bool swap)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, swap ? "r2" : "r1", true), *r2 = host(&w, swap ? "r1" : "r2", true);
    if (swap) {
        ns_host *t = r1;
        r1 = r2;
        r2 = t;
    }
    /* Lower addresses: 10.3.x (a side) and 10.4.x (b side); higher: 10.9.x, 10.7.x. */
    const char *lo[4] = { "10.3.0.1", "10.3.0.2", "10.4.0.1", "10.4.0.2" };
    const char *hi[4] = { "10.9.0.1", "10.9.0.2", "10.7.0.1", "10.7.0.2" };
    const char *const *x1 = low == 1 ? lo : hi, *const *x2 = low == 1 ? hi : lo;
    ns_link *ar1, *r1b, *ar2, *r2b;
    if (!swap) {
        ar1 = link_addrs(&w, a, r1, x1[0], x1[1]);
        r1b = link_addrs(&w, r1, b, x1[2], x1[3]);
        ar2 = link_addrs(&w, a, r2, x2[0], x2[1]);
        r2b = link_addrs(&w, r2, b, x2[2], x2[3]);
    } else {
        ar2 = link_addrs(&w, a, r2, x2[0], x2[1]);
        r2b = link_addrs(&w, r2, b, x2[2], x2[3]);
        ar1 = link_addrs(&w, a, r1, x1[0], x1[1]);
        r1b = link_addrs(&w, r1, b, x1[2], x1[3]);
    }
    ns_udp *sa = listen_on(&w, a, 5000), *sb = listen_on(&w, b, PORT);
    /* Both of b's addresses, then both of a's. */
    send_at(&w, 0, sa, ip(x1[3]), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sa, ip(x2[3]), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sb, ip(x1[0]), 5000, PAYLOAD, 0, false);
    send_at(&w, 0, sb, ip(x2[0]), 5000, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 4);
    struct tie t = {
        ns_link_stats(ar1, 0)->tx_pkts, ns_link_stats(ar2, 0)->tx_pkts,
        ns_link_stats(r1b, 1)->tx_pkts, ns_link_stats(r2b, 1)->tx_pkts,
    };
    world_free(&w);
    return t;
}

static void test_tie_break(void)
{
    for (int swap = 0; swap < 2; swap++) {
        struct tie t = tie_run(2, swap);
        CU_ASSERT_EQUAL(t.a_r1, 0);
        CU_ASSERT_EQUAL(t.a_r2, 2);
        CU_ASSERT_EQUAL(t.b_r1, 0);
        CU_ASSERT_EQUAL(t.b_r2, 2);
        t = tie_run(1, swap);
        CU_ASSERT_EQUAL(t.a_r1, 2);
        CU_ASSERT_EQUAL(t.a_r2, 0);
        CU_ASSERT_EQUAL(t.b_r1, 2);
        CU_ASSERT_EQUAL(t.b_r2, 0);
    }
}

/* a - h - b, and a - r1 - r2 - b: with h a plain host the longer way
 * through the routers is taken; once h forwards, the short one. */
static void test_hosts_do_not_relay(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *h = host(&w, "h", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    link_rd(&w, a, h, 10e6, NS_MSEC);
    ns_link *hb = link_rd(&w, h, b, 10e6, NS_MSEC);
    link_rd(&w, a, r1, 10e6, NS_MSEC);
    link_rd(&w, r1, r2, 10e6, NS_MSEC);
    link_rd(&w, r2, b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    uint32_t dst = ns_iface_addr(ns_link_iface(hb, 1));      /* b's address toward h */
    send_at(&w, 0, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    const ns_time_t hop = 113600 + NS_MSEC;
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 3 * hop);
    CU_ASSERT_EQUAL(ns_host_stats(h)->fwd_pkts, 0);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 1);

    ns_host_set_forwarding(h, true);
    send_at(&w, 1 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(rx_at(&w, 1)->at, 1 * NS_SEC + 2 * hop);
    CU_ASSERT_EQUAL(ns_host_stats(h)->fwd_pkts, 1);

    /* A plain host given a packet to relay drops it. */
    ns_host_set_forwarding(h, false);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, dst, 32, ns_iface_addr(ns_link_iface(hb, 0)),
                                ns_host_iface(a, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    send_at(&w, 2 * NS_SEC, sa, dst, PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(ns_host_stats(h)->drops[NS_DROP_NO_ROUTE], 1);
    world_free(&w);
}

/* The computed route from a to b's 10.7.0.2 goes via r2 (lower next hop);
 * a static route sends it via r1, and other routes stay. */
static void test_static_route(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_host *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    ns_link *ar1 = link_addrs(&w, a, r1, "10.9.0.1", "10.9.0.2");
    link_addrs(&w, r1, b, "10.7.0.1", "10.7.0.2");
    ns_link *ar2 = link_addrs(&w, a, r2, "10.3.0.1", "10.3.0.2");
    link_addrs(&w, r2, b, "10.4.0.1", "10.4.0.2");
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);

    ns_iface *out = NULL;
    uint32_t next = 0;
    CU_ASSERT_TRUE(ns_route_lookup(a, ip("10.7.0.2"), &out, &next));
    CU_ASSERT_PTR_EQUAL(out, ns_link_iface(ar2, 0));
    CU_ASSERT_EQUAL(next, ip("10.3.0.2"));

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, ip("10.7.0.0"), 24, ip("10.9.0.2"), ns_link_iface(ar1, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_FALSE(ns_route_add(a, 0, 33, 0, ns_link_iface(ar1, 0), &err));
    check_error(&err, "host 'a': prefix /33 is outside [0, 32]");
    CU_ASSERT_TRUE(ns_route_lookup(a, ip("10.7.0.2"), &out, &next));
    CU_ASSERT_PTR_EQUAL(out, ns_link_iface(ar1, 0));
    CU_ASSERT_EQUAL(next, ip("10.9.0.2"));

    send_at(&w, 0, sa, ip("10.7.0.2"), PORT, PAYLOAD, 0, false);
    send_at(&w, 0, sa, ip("10.4.0.2"), PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    CU_ASSERT_EQUAL(ns_link_stats(ar1, 0)->tx_pkts, 1);
    CU_ASSERT_EQUAL(ns_link_stats(ar2, 0)->tx_pkts, 1);
    world_free(&w);
}

/* ---- TTL and ICMP ----------------------------------------------------- */

/* A test protocol: records the ICMP errors its packets cause. */
struct probe_log {
    int       n;
    uint8_t   type, code;
    uint32_t  quoted_dst;
    uint8_t   quoted_proto, quoted_ttl;
    ns_time_t at;
};

static void probe_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    ns_pkt_free(ns_host_sim(h), p);
}

static void probe_icmp_error(ns_host *h, uint8_t type, uint8_t code, const uint8_t *quoted,
                             size_t len)
{
    struct probe_log *log = ns_host_attached(h, "probe");
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_TRUE(len >= 28);
    log->n++;
    log->type = type;
    log->code = code;
    log->quoted_dst = ns_get32(quoted + 16);
    log->quoted_proto = quoted[9];
    log->quoted_ttl = quoted[8];
    log->at = ns_sim_now(ns_host_sim(h));
}

static const struct ns_proto_ops probe_proto = {
    .name = "probe", .proto = PROBE, .input = probe_input, .icmp_error = probe_icmp_error,
};

static struct probe_log *probe_init(struct world *w, ns_host *h)
{
    GError *err = NULL;
    if (!ns_net_proto(w->sim, PROBE))
        CU_ASSERT_TRUE(ns_net_register_proto(w->sim, &probe_proto, &err));
    CU_ASSERT_FALSE(ns_net_register_proto(w->sim, &probe_proto, &err));
    check_error(&err, "IP protocol 253 is already registered by 'probe'");
    struct probe_log *log = g_new0(struct probe_log, 1);
    ns_host_attach(h, "probe", log, g_free);
    return log;
}

struct probe_req {
    ns_host *h;
    uint32_t dst;
};

static void do_probe(ns_sim *sim, void *arg)
{
    struct probe_req *r = arg;
    ns_pkt *p = ns_pkt_new(sim);
    memset(ns_pkt_l4(p), 0xab, 8);
    p->l4_len = 8;
    ns_ip_output(r->h, p, 0, r->dst, PROBE, 0);
}

static void probe_at(struct world *w, ns_time_t at, ns_host *h, uint32_t dst)
{
    struct probe_req *r = own(w, sizeof *r);
    *r = (struct probe_req){ h, dst };
    ns_event_at(w->sim, at, do_probe, r, 0, NULL);
}

/* a -> r1 <-> r2: r1 and r2 route 192.168/16 to each other.  The packet
 * bounces until its TTL runs out at r2 (the 64th arrival), and a hears
 * "time exceeded" after 64 crossings of 60-byte frames and two of the
 * 70-byte error. */
static void test_ttl_loop(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true), *r2 = host(&w, "r2", true);
    ns_link *ar1 = link_rd(&w, a, r1, 10e6, NS_MSEC);
    ns_link *r12 = link_rd(&w, r1, r2, 10e6, NS_MSEC);
    struct probe_log *log = probe_init(&w, a);
    GError *err = NULL;
    uint32_t net = ip("192.168.0.0");
    CU_ASSERT_TRUE(ns_route_add(a, net, 16, ns_iface_addr(ns_link_iface(ar1, 1)),
                                ns_link_iface(ar1, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r1, net, 16, ns_iface_addr(ns_link_iface(r12, 1)),
                                ns_link_iface(r12, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r2, net, 16, ns_iface_addr(ns_link_iface(r12, 0)),
                                ns_link_iface(r12, 1), &err));
    CU_ASSERT_PTR_NULL(err);
    probe_at(&w, 0, a, ip("192.168.1.1"));
    world_run(&w);

    CU_ASSERT_EQUAL(log->n, 1);
    CU_ASSERT_EQUAL(log->type, NS_ICMP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(log->code, 0);
    CU_ASSERT_EQUAL(log->quoted_dst, ip("192.168.1.1"));
    CU_ASSERT_EQUAL(log->quoted_proto, PROBE);
    CU_ASSERT_EQUAL(log->quoted_ttl, 1);
    CU_ASSERT_EQUAL(log->at, 64 * (48000 + NS_MSEC) + 2 * (56000 + NS_MSEC));
    CU_ASSERT_EQUAL(ns_host_stats(r2)->drops[NS_DROP_TTL], 1);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->drops[NS_DROP_TTL], 0);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->fwd_pkts, 32 + 1);   /* and the error */
    CU_ASSERT_EQUAL(ns_host_stats(r2)->fwd_pkts, 31);
    CU_ASSERT_EQUAL(ns_host_stats(r2)->tx_pkts, 1);
    world_free(&w);
}

/* a's default route points at r1, which has no route to 192.168.1.1: it
 * answers "net unreachable".  A host without any route drops at once. */
static void test_no_route(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r1 = host(&w, "r1", true), *c = host(&w, "c", false);
    ns_link *ar1 = link_rd(&w, a, r1, 10e6, NS_MSEC);
    link_rd(&w, c, r1, 10e6, NS_MSEC);
    struct probe_log *log = probe_init(&w, a);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_route_add(a, 0, 0, ns_iface_addr(ns_link_iface(ar1, 1)),
                                ns_link_iface(ar1, 0), &err));
    CU_ASSERT_PTR_NULL(err);
    probe_at(&w, 0, a, ip("192.168.1.1"));
    ns_udp *sc = listen_on(&w, c, 5000);
    CU_ASSERT_FALSE(ns_udp_send(sc, ip("192.168.1.1"), PORT, NULL, 10));
    world_run(&w);

    CU_ASSERT_EQUAL(log->n, 1);
    CU_ASSERT_EQUAL(log->type, NS_ICMP_UNREACH);
    CU_ASSERT_EQUAL(log->code, NS_ICMP_UNREACH_NET);
    CU_ASSERT_EQUAL(log->quoted_dst, ip("192.168.1.1"));
    CU_ASSERT_EQUAL(log->quoted_ttl, NS_IP_DEFAULT_TTL);
    CU_ASSERT_EQUAL(ns_host_stats(r1)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_EQUAL(ns_host_stats(c)->drops[NS_DROP_NO_ROUTE], 1);
    CU_ASSERT_EQUAL(ns_host_stats(c)->rx_pkts, 0);
    world_free(&w);
}

static void test_port_unreachable(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "port-unreachable");
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 7);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    send_at(&w, NS_SEC, sa, ns_host_addr(b), 7, PAYLOAD, 0, false);
    world_run(&w);
    world_commit(&w);

    CU_ASSERT_EQUAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(ns_udp_closed_port_drops(b), 1);
    CU_ASSERT_EQUAL(ns_udp_closed_port_drops(a), 0);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_NO_PORT], 1);
    CU_ASSERT_EQUAL(ns_host_stats(a)->rx_pkts, 1);      /* the ICMP error */
    char *ev = world_file(&w, "events.tsv");
    /* Out 1,113,600 ns; back: 20 + 8 + 28 bytes of ICMP, 70-byte frame. */
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "0.002169600\ticmp.error\ta\ttype=3 code=3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev, "\tnet.drop\tb\tuid=1 cause=no-port "));
    g_free(ev);
    world_free(&w);
}

static void test_ping_rtt(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    link_rd(&w, a, r, 3e6, 1 * NS_MSEC);
    link_rd(&w, r, b, 7e6, 2 * NS_MSEC);
    struct pong pg = { 0 };
    ping_at(&w, 0, a, ns_host_addr(b), 7, 56, &pg);
    ping_at(&w, NS_SEC, a, ns_host_addr(b), 8, 1001, &pg);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(pg.n, 2);
    CU_ASSERT_EQUAL(pg.from, ns_host_addr(b));
    /* 56 bytes: a 98-byte frame, 784 bits. */
    CU_ASSERT_EQUAL(pg.seq[0], 7);
    CU_ASSERT_EQUAL(pg.rtt[0], 2 * (261334 + 1 * NS_MSEC + 112000 + 2 * NS_MSEC));
    CU_ASSERT_EQUAL(pg.seq[1], 8);
    uint64_t bits = (14 + 20 + 8 + 1001) * 8;
    CU_ASSERT_EQUAL(pg.rtt[1], 2 * (ser(bits, 3000000) + 1 * NS_MSEC + ser(bits, 7000000) +
                                    2 * NS_MSEC));
    world_free(&w);
}

void test_route_register(void)
{
    CU_pSuite s = ns_test_suite("route", NULL, NULL);
    ns_test_add(s, "equal paths: the lowest next hop, whatever the order", test_tie_break);
    ns_test_add(s, "plain hosts do not relay", test_hosts_do_not_relay);
    ns_test_add(s, "static routes override computed ones", test_static_route);
    ns_test_add(s, "a routing loop ends in time exceeded", test_ttl_loop);
    ns_test_add(s, "no route: net unreachable, or a local drop", test_no_route);
    ns_test_add(s, "a closed UDP port: ICMP port unreachable", test_port_unreachable);
    ns_test_add(s, "ping RTT is twice delays plus serialisation", test_ping_rtt);
}
