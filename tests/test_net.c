/* test_net.c — the network layer as users see it, driven from C: a pcap
 * of UDP and ICMP as tshark reads it, the counters.tsv summary, and
 * determinism.  (Links, routing, hosts and traffic have their own suites:
 * test_link.c, test_route.c, test_host.c, test_traffic.c.) */
#include "testnet.h"
#include "netsim/pool.h"

/* ---- pcap ------------------------------------------------------------- */

static char *tshark_V(const char *file, char **errout)
{
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark)
        return NULL;
    char *argv[] = {
        tshark, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        "-o", "tcp.check_checksum:TRUE", "-r", (char *)file, "-V", NULL,
    };
    char *out = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, errout,
                                &status, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    g_clear_error(&err);
    g_free(tshark);
    return out;
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, prefix, len) == 0)
            n++;
    return n;
}

/* a - r - b, b a router too; a's interface is captured while a pings b
 * (57 bytes: odd), sends to a closed port, sends real bytes of odd and
 * even length and a length-only odd datagram, and sends into a routing
 * loop between r and b (time exceeded). */
static void test_pcap_tshark(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "pcap");
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", true);
    ns_link *ar = link_rd(&w, a, r, 10e6, NS_MSEC);
    ns_link *rb = link_rd(&w, r, b, 10e6, NS_MSEC);
    GError *err = NULL;
    ns_pcap *pc = ns_pcap_open(w.sim, "a.pcap", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    ns_iface_capture(ns_host_iface(a, 0), pc);
    uint32_t net = ip("192.168.0.0");
    CU_ASSERT_TRUE(ns_route_add(a, net, 16, ns_iface_addr(ns_link_iface(ar, 1)),
                                ns_link_iface(ar, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(r, net, 16, ns_iface_addr(ns_link_iface(rb, 1)),
                                ns_link_iface(rb, 0), &err));
    CU_ASSERT_TRUE(ns_route_add(b, net, 16, ns_iface_addr(ns_link_iface(rb, 0)),
                                ns_link_iface(rb, 1), &err));
    CU_ASSERT_PTR_NULL(err);

    struct pong pg = { 0 };
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 4000);
    uint32_t dst = ns_host_addr(b);
    ping_at(&w, 0, a, dst, 1, 57, &pg);
    send_at(&w, 100 * NS_MSEC, sa, dst, PORT, PAYLOAD, 0, false);
    struct tx *odd = send_at(&w, 200 * NS_MSEC, sa, dst, 4000, 19, 0x68656c6c, true);
    send_at(&w, 300 * NS_MSEC, sa, dst, 4000, 20, 0x776f726c, true);
    send_at(&w, 350 * NS_MSEC, sa, dst, 4000, 33, 0, false);
    send_at(&w, 400 * NS_MSEC, sa, ip("192.168.1.1"), PORT, 11, 0x6c6f6f70, true);
    world_run(&w);
    CU_ASSERT_TRUE(odd->sent);
    CU_ASSERT_EQUAL(pg.n, 1);
    CU_ASSERT_EQUAL(w.rx->len, 3);
    CU_ASSERT_EQUAL(ns_pcap_frames(pc), 9);
    world_commit(&w);

    char *file = g_build_filename(w.dir, "a.pcap", NULL);
    char *errout = NULL;
    char *out = tshark_V(file, &errout);
    if (!out) {
        printf("\n  note: tshark not found, pcap decoding check skipped\n");
    } else {
        CU_ASSERT_EQUAL(count_lines_starting(out, "Frame "), 9);
        CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
        CU_ASSERT_PTR_NULL(strstr(out, "[Checksum Status: Bad]"));
        CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Checksum Status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Header checksum status: Good]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Echo (ping) request"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Echo (ping) reply"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Port unreachable"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Time to live exceeded in transit"));
        /* The real bytes: "hell" then 'x's (odd length), "worl" then 'x's. */
        const char *odd_data = strstr(out, "Data: 68656c6c" "787878787878787878787878787878\n");
        const char *even_data = strstr(out, "Data: 776f726c" "78787878787878787878787878787878\n");
        CU_ASSERT_PTR_NOT_NULL(odd_data);
        CU_ASSERT_PTR_NOT_NULL(even_data);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Length: 27"));          /* UDP: 8 + 19 */
        if (strstr(out, "Bad") || strstr(out, "Malformed") || !odd_data || !even_data ||
            count_lines_starting(out, "Frame ") != 9)
            fprintf(stderr, "\ntshark said:\n%s\n%s\n", out, errout ? errout : "");
    }
    g_free(out);
    g_free(errout);
    g_free(file);
    world_free(&w);
}

/* ---- counters.tsv ----------------------------------------------------- */

/* a -10 Mbit/s- r -1 Mbit/s- b, queue of 1 at r: of four datagrams sent
 * at once, r sends one, queues one and drops two; then one to a closed
 * port, answered with ICMP. */
static void test_counters_tsv(void)
{
    struct world w;
    world_init(&w, 1);
    world_out(&w, "counters");
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    link_rd(&w, a, r, 10e6, NS_MSEC);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 1e6;
    o.delay = NS_MSEC;
    o.qcfg.limit_pkts = 1;
    link_opts(&w, r, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, 7);
    for (uint32_t k = 0; k < 4; k++)
        send_at(&w, 0, sa, ns_host_addr(b), 7, PAYLOAD, k, false);
    send_at(&w, NS_SEC, sa, ns_host_addr(b), PORT, PAYLOAD, 0, false);
    world_run(&w);
    world_commit(&w);
    char *tsv = world_file(&w, "counters.tsv");
    check_str(tsv,
        "kind\tname\ttx_pkts\ttx_bytes\trx_pkts\trx_bytes\tfwd_pkts\tdrop_queue-full\tdrop_aqm"
        "\tdrop_loss\tdrop_link-down\tdrop_no-route\tdrop_ttl\tdrop_host-down\tdrop_no-port"
        "\tdrop_no-arp\n"
        "link\ta>r\t5\t710\t5\t710\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tr>a\t1\t70\t1\t70\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tr>b\t3\t426\t3\t426\t0\t2\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "link\tb>r\t1\t70\t1\t70\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\ta\t5\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\tr\t0\t0\t0\t0\t6\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
        "host\tb\t1\t0\t3\t0\t0\t0\t0\t0\t0\t0\t0\t0\t1\t0\n");
    g_free(tsv);
    CU_ASSERT_EQUAL(w.rx->len, 2);
    world_free(&w);
}

/* ---- determinism ------------------------------------------------------ */

/* Jitter, loss and Poisson traffic through a router, with every event
 * logged; returns events.tsv. */
static char *random_run(uint64_t seed, const char *name)
{
    struct world w;
    world_init(&w, seed);
    world_out(&w, name);
    ns_host *a = host(&w, "a", false), *r = host(&w, "r", true), *b = host(&w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.rate_bps = 10e6;
    o.delay = NS_MSEC;
    o.jitter = NS_MSEC;
    o.loss = 0.1;
    link_opts(&w, a, r, &o);
    o.qcfg.limit_pkts = 3;
    o.loss = 0;
    o.rate_bps = 1e6;
    link_opts(&w, r, b, &o);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    struct ns_traffic_opts t = {
        .kind = NS_TRAFFIC_POISSON, .dst = ns_host_addr(b), .dport = PORT, .size = PAYLOAD,
        .pkts_per_s = 800, .start = 0, .stop = NS_SEC,
    };
    traffic(sa, &t);
    t.kind = NS_TRAFFIC_ONOFF;
    t.dport = 4;
    t.mean_on = t.mean_off = 100 * NS_MSEC;
    traffic(sa, &t);
    world_run(&w);
    world_commit(&w);
    char *ev = world_file(&w, "events.tsv");
    world_free(&w);
    return ev;
}

static void test_determinism(void)
{
    char *one = random_run(7, "det-1"), *two = random_run(7, "det-2");
    char *other = random_run(8, "det-3");
    CU_ASSERT_TRUE(strlen(one) > 10000);
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=loss"));
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=queue-full"));
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "cause=no-port"));
    CU_ASSERT_STRING_EQUAL(one, two);
    CU_ASSERT_STRING_NOT_EQUAL(one, other);
    g_free(one);
    g_free(two);
    g_free(other);
}

/* ---- payloads ---------------------------------------------------------- */

/* ns_pkt_set_bytes keeps payload and bytes in one block; copies share it,
 * and a buffer taken into another payload outlives the packet's (the
 * ASan build turns a wrong free into a failure, a missed one into a leak). */
static void test_payload_block_lifetime(void)
{
    ns_sim *sim = ns_sim_new(1);
    ns_pkt *p = ns_pkt_new(sim);
    ns_pkt_set_bytes(p, "first", 5);
    ns_pkt_set_bytes(p, "hello", 5);                 /* replaces, frees "first" */
    CU_ASSERT_EQUAL(p->payload_len, 5);
    ns_pkt *c = ns_pkt_clone(sim, p);
    ns_pkt_free(sim, p);
    char got[6] = { 0 };
    ns_pkt_copy_payload(c, 0, 5, (uint8_t *)got);
    CU_ASSERT_STRING_EQUAL(got, "hello");
    memset(got, 0, sizeof got);
    ns_pkt_copy_payload(c, 1, 3, (uint8_t *)got);       /* inside the one span */
    CU_ASSERT_STRING_EQUAL(got, "ell");
    struct ns_span sp = c->payload->spans[0];
    sp.off = 1;
    sp.len = 3;
    struct ns_payload *keep = ns_payload_new(&sp, 1);  /* holds the buffer */
    ns_pkt_free(sim, c);                                /* the payload dies */
    CU_ASSERT_EQUAL(keep->len, 3);
    CU_ASSERT_EQUAL(memcmp(keep->spans[0].buf->data + keep->spans[0].off, "ell", 3), 0);
    ns_payload_unref(keep);                             /* the block goes now */
    ns_pkt *z = ns_pkt_new(sim);
    ns_pkt_set_bytes(z, NULL, 4);                       /* NULL bytes: zeros */
    uint8_t zeros[4] = { 1, 1, 1, 1 };
    ns_pkt_copy_payload(z, 0, 4, zeros);
    CU_ASSERT_TRUE(zeros[0] == 0 && zeros[1] == 0 && zeros[2] == 0 && zeros[3] == 0);
    ns_pkt_free(sim, z);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    ns_sim_free(sim);
}

/* ns_pkt_set_bytes_in: a small payload's block comes from the sim's pool
 * and goes back to it with the last reference (the payload's, or a span
 * of its buffer taken into another payload); a payload too large for a
 * block is malloc'd.  Bytes read back the same either way. */
static void test_payload_pooled_block(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_pool *pool = ns_sim_payload_pool(sim);
    ns_pkt *p = ns_pkt_new(sim);
    ns_pkt_set_bytes_in(sim, p, "first", 5);
    CU_ASSERT_EQUAL(pool->live, 1);
    ns_pkt_set_bytes_in(sim, p, "hello", 5);            /* replaces: "first" back */
    CU_ASSERT_EQUAL(pool->live, 1);
    ns_pkt *c = ns_pkt_clone(sim, p);                   /* shares the block */
    CU_ASSERT_EQUAL(pool->live, 1);
    ns_pkt_free(sim, p);
    CU_ASSERT_EQUAL(pool->live, 1);
    struct ns_span sp = c->payload->spans[0];
    sp.off = 1;
    sp.len = 3;
    struct ns_payload *keep = ns_payload_new(&sp, 1);  /* holds the buffer */
    ns_pkt_free(sim, c);                                /* the payload dies */
    CU_ASSERT_EQUAL(pool->live, 1);                     /* the buffer lives on */
    CU_ASSERT_EQUAL(memcmp(keep->spans[0].buf->data + keep->spans[0].off, "ell", 3), 0);
    ns_payload_unref(keep);
    CU_ASSERT_EQUAL(pool->live, 0);

    uint8_t big[200], back[200];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    ns_pkt *b = ns_pkt_new(sim);
    ns_pkt_set_bytes_in(sim, b, big, sizeof big);       /* too large: malloc'd */
    CU_ASSERT_EQUAL(pool->live, 0);
    ns_pkt_copy_payload(b, 0, sizeof back, back);
    CU_ASSERT_EQUAL(memcmp(big, back, sizeof big), 0);
    ns_pkt_set_bytes_in(sim, b, big, 64);               /* small again: pooled */
    CU_ASSERT_EQUAL(pool->live, 1);
    CU_ASSERT_EQUAL(b->payload_len, 64);
    memset(back, 0, sizeof back);
    ns_pkt_copy_payload(b, 0, 64, back);
    CU_ASSERT_EQUAL(memcmp(big, back, 64), 0);
    ns_pkt_set_bytes_in(sim, b, NULL, 4);               /* NULL bytes: zeros */
    ns_pkt_copy_payload(b, 0, 4, back);
    CU_ASSERT_TRUE(back[0] == 0 && back[1] == 0 && back[2] == 0 && back[3] == 0);
    ns_pkt_free(sim, b);
    CU_ASSERT_EQUAL(pool->live, 0);
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    ns_sim_free(sim);
}

void test_net_register(void)
{
    CU_pSuite s = ns_test_suite("net", NULL, NULL);
    ns_test_add(s, "pcap of UDP and ICMP reads clean in tshark", test_pcap_tshark);
    ns_test_add(s, "counters.tsv at commit", test_counters_tsv);
    ns_test_add(s, "same seed, same events.tsv", test_determinism);
    ns_test_add(s, "payload and bytes share one block", test_payload_block_lifetime);
    ns_test_add(s, "small payload blocks come from the sim's pool", test_payload_pooled_block);
}
