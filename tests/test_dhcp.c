/* test_dhcp.c — the DHCP model driven from C: message bytes round trip,
 * DORA timing on an idle LAN (2 round trips + start delay + probe), lease
 * timers to the nanosecond (T1, T2, expiry from the REQUEST's departure),
 * pool exhaustion with RFC backoff and a release, two servers with
 * disjoint and overlapping pools (with and without the ARP probe), a
 * relay, persistence across a server crash, tshark decoding every DHCP
 * frame, and the bad-input errors.  The world and its timings are in
 * dhcpworld.h. */
#include <string.h>
#include <glib/gstdio.h>

#include "netsim/arp.h"
#include "netsim/dhcp.h"
#include "netsim/luabind.h"
#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/output.h"
#include "netsim/pcap.h"
#include "netsim/trace.h"
#include "dhcpworld.h"

/* ---- messages ---- */

static void test_msg_roundtrip(void)
{
    struct ns_dhcp_msg m = {
        .op = NS_DHCP_BOOTREPLY, .hops = 1, .xid = 0xdeadbeef, .secs = 3,
        .flags = NS_DHCP_FLAG_BROADCAST, .ciaddr = 1, .yiaddr = ip("10.0.0.23"),
        .giaddr = ip("10.0.1.1"), .chaddr = { 2, 0, 0, 0, 0, 9 }, .type = NS_DHCP_OFFER,
        .server_id = ip("10.0.0.1"), .lease_s = 3600, .t1_s = 1000, .t2_s = 2000,
        .mask = 0xffffff00u, .router = ip("10.0.0.1"), .dns = ip("10.0.0.53"),
    };
    uint8_t buf[NS_DHCP_MSG_MAX];
    size_t len = ns_dhcp_encode(&m, buf);
    CU_ASSERT_EQUAL(len, NS_DHCP_MSG_MIN);
    CU_ASSERT_EQUAL(buf[236], 99);              /* magic cookie */
    CU_ASSERT_EQUAL(buf[239], 99);
    CU_ASSERT_EQUAL(buf[240], 53);              /* message type first */
    struct ns_dhcp_msg d;
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_dhcp_decode(buf, len, &d, &err));
    CU_ASSERT_EQUAL(memcmp(&m, &d, sizeof m), 0);
    char label[64];
    ns_dhcp_describe(&d, label, sizeof label);
    CU_ASSERT_STRING_EQUAL(label, "OFFER 10.0.0.23 lease=3600s");
    buf[237] = 0;                               /* bad cookie */
    CU_ASSERT_FALSE(ns_dhcp_decode(buf, len, &d, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    if (err)
        CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "magic cookie"));
    g_clear_error(&err);
    buf[237] = 130;
    buf[241] = 200;                             /* option 53 runs past the end */
    CU_ASSERT_FALSE(ns_dhcp_decode(buf, 250, &d, &err));
    g_clear_error(&err);
    CU_ASSERT_FALSE(ns_dhcp_decode(buf, 100, &d, NULL));
    CU_ASSERT_STRING_EQUAL(ns_dhcp_msg_type_name(NS_DHCP_NAK), "NAK");
    CU_ASSERT_STRING_EQUAL(ns_dhcp_state_name(NS_DHCP_INIT_REBOOT), "INIT-REBOOT");
}

/* ---- DORA and lease timers ---- */

static void test_dora_timing(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
    ns_dhcp_client *c = client(&w, w.lan, "c", 2 * NS_SEC, NS_SEC);
    struct timeline tl = { 0 };
    ns_dhcp_client_on_state(c, on_state, &tl);
    ns_sim_run(w.sim, 100 * NS_SEC, 0);
    /* DISCOVER at 2 s, OFFER back, REQUEST, ACK back: 4 hops, then the
     * 1 s probe. */
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_SELECTING), 2 * NS_SEC);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_REQUESTING), 2 * NS_SEC + 2 * HOP);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_BOUND), 2 * NS_SEC + 4 * HOP + NS_SEC);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c), NS_DHCP_BOUND);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c), ip("10.0.0.100"));
    CU_ASSERT_EQUAL(ns_iface_addr(ns_host_iface(ns_dhcp_client_host(c), 0)), ip("10.0.0.100"));
    CU_ASSERT_EQUAL(ns_iface_prefix(ns_host_iface(ns_dhcp_client_host(c), 0)), 24);
    const struct ns_dhcp_client_stats *st = ns_dhcp_client_stats(c);
    CU_ASSERT_EQUAL(st->discovers, 1);
    CU_ASSERT_EQUAL(st->requests, 1);
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), 1);
    world_free(&w);
}

static void crash_at(ns_sim *sim, void *arg) { (void)sim; ns_host_crash(arg); }

/* The server crashes once the client is bound: the unicast REQUEST at T1
 * and the broadcast one at T2 go unanswered, and the lease ends. */
static void test_lease_timers(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
    ns_dhcp_client *c = client(&w, w.lan, "c", 0, 0);
    struct timeline tl = { 0 };
    ns_dhcp_client_on_state(c, on_state, &tl);
    ns_event_after(w.sim, 60 * NS_SEC, crash_at, w.srv);
    ns_sim_run(w.sim, 4000 * NS_SEC, 0);
    struct ns_dhcp_lease_info li;
    CU_ASSERT_FALSE(ns_dhcp_client_lease(c, &li));  /* expired */
    ns_time_t r = 2 * HOP;                           /* the REQUEST left */
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_BOUND), 4 * HOP);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_RENEWING), r + 1800 * NS_SEC);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_REBINDING), r + 3150 * NS_SEC);
    /* back to INIT when the address is lost (after the first INIT entry) */
    ns_time_t lost = -1;
    for (int i = 0; i < tl.n; i++)
        if (tl.to[i] == NS_DHCP_INIT && tl.at[i] > r + 3150 * NS_SEC) {
            lost = tl.at[i];
            break;
        }
    CU_ASSERT_EQUAL(lost, r + 3600 * NS_SEC);
    const struct ns_dhcp_client_stats *st = ns_dhcp_client_stats(c);
    CU_ASSERT_EQUAL(st->expired, 1);
    CU_ASSERT_EQUAL(ns_iface_addr(ns_host_iface(ns_dhcp_client_host(c), 0)), 0);
    /* RENEWING retransmits after max(60, half the time to T2): 1800 s
     * to T2 minus 1350 s -> at +675, +337.5, +168.75, +84.4, then 60 s
     * steps would reach T2 -> 1 + 4 REQUESTs; REBINDING: 450 s to expiry
     * -> +225, +112.5, +60, +60 (the next would pass expiry) -> 1 + 3 or 4. */
    CU_ASSERT(st->requests >= 1 + 1 + 4 + 1 + 3);
    CU_ASSERT(st->requests <= 1 + 1 + 5 + 1 + 5);
    world_free(&w);
}

static void test_renew_ok(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 600);
    ns_dhcp_client *c = client(&w, w.lan, "c", 0, 0);
    struct timeline tl = { 0 };
    ns_dhcp_client_on_state(c, on_state, &tl);
    ns_sim_run(w.sim, 2000 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c), NS_DHCP_BOUND);
    const struct ns_dhcp_client_stats *st = ns_dhcp_client_stats(c);
    /* bound at ~0, renewed at 300, 600+, 900+, ..., < 2000: 6 renewals */
    CU_ASSERT_EQUAL(st->bound, 7);
    CU_ASSERT_EQUAL(st->requests, 7);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_RENEWING), 2 * HOP + 300 * NS_SEC);
    CU_ASSERT_EQUAL(first_entry(&tl, NS_DHCP_REBINDING), -1);
    struct ns_dhcp_lease_info li;
    CU_ASSERT_TRUE(ns_dhcp_client_lease(c, &li));
    /* the last renewal's REQUEST was unicast and answered in one round trip */
    CU_ASSERT_EQUAL(li.expires_at - li.requested_at, 600 * NS_SEC);
    world_free(&w);
}

/* ---- pools ---- */

static void test_pool_exhaustion(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.104", 3600);
    ns_dhcp_client *c[8];
    for (int i = 0; i < 8; i++) {
        char name[8];
        g_snprintf(name, sizeof name, "c%d", i);
        c[i] = client(&w, w.lan, name, (ns_time_t)i * NS_MSEC * 10, 0);
    }
    ns_sim_run(w.sim, 100 * NS_SEC, 0);
    int bound = 0;
    for (int i = 0; i < 8; i++) {
        if (ns_dhcp_client_state(c[i]) == NS_DHCP_BOUND) {
            bound++;
        } else {
            CU_ASSERT_EQUAL(ns_dhcp_client_state(c[i]), NS_DHCP_SELECTING);
            /* sent at 0, 4+-1, 12+-2, 28+-3, 60+-4; the next not before 119 */
            CU_ASSERT_EQUAL(ns_dhcp_client_stats(c[i])->discovers, 5);
        }
    }
    CU_ASSERT_EQUAL(bound, 5);
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), 5);
    CU_ASSERT(ns_dhcp_server_stats(w.ds)->exhausted >= 3 * 5);
    /* c0 leaves; a retransmitting client takes its address */
    uint32_t freed = ns_dhcp_client_addr(c[0]);
    CU_ASSERT_EQUAL(freed, ip("10.0.0.100"));
    ns_dhcp_client_release(c[0]);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c[0]), NS_DHCP_STOPPED);
    ns_sim_run(w.sim, 200 * NS_SEC, 0);
    bound = 0;
    for (int i = 1; i < 8; i++)
        bound += ns_dhcp_client_state(c[i]) == NS_DHCP_BOUND;
    CU_ASSERT_EQUAL(bound, 5);
    uint8_t mac[6];
    CU_ASSERT_TRUE(ns_dhcp_server_holder(w.ds, freed, mac));
    CU_ASSERT_NOT_EQUAL(memcmp(mac, ns_iface_mac(ns_host_iface(ns_dhcp_client_host(c[0]), 0)), 6), 0);
    CU_ASSERT_EQUAL(ns_dhcp_server_stats(w.ds)->releases, 1);
    world_free(&w);
}

static bool prefer_second(ns_dhcp_client *c, const struct ns_dhcp_msg *offer, void *ud)
{
    (void)c;
    return offer->server_id == *(uint32_t *)ud;
}

/* Two servers on one LAN.  c1 comes up while only s1 is up; c2 later
 * prefers s2's offer.  Disjoint pools: distinct addresses.  Overlapping
 * pools without the probe: both hold 10.0.0.100; with it, c2 declines. */
static int duplicate_run(bool overlap, ns_time_t probe, uint64_t *declines)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.109", 3600);
    ns_host *s2 = host(w.sim, "srv2");
    GError *err = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(w.lan, s2, ip("10.0.0.2"), &err));
    ns_dhcp_server *ds2 = ns_dhcp_server_new(s2, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds2);
    struct ns_dhcp_pool_cfg pc = { .first = ip(overlap ? "10.0.0.100" : "10.0.0.110"),
                                   .last = ip(overlap ? "10.0.0.109" : "10.0.0.119") };
    CU_ASSERT_TRUE(ns_dhcp_server_add_pool(ds2, &pc, &err));
    ns_host_crash(s2);
    ns_dhcp_client *c1 = client(&w, w.lan, "c1", 0, probe);
    ns_dhcp_client *c2 = client(&w, w.lan, "c2", 30 * NS_SEC, probe);
    uint32_t s2addr = ip("10.0.0.2");
    ns_dhcp_client_on_offer(c2, prefer_second, &s2addr);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    ns_host_restart(s2);
    ns_sim_run(w.sim, 120 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c1), NS_DHCP_BOUND);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c2), NS_DHCP_BOUND);
    *declines = ns_dhcp_client_stats(c2)->declines;
    int dup = ns_dhcp_client_addr(c1) == ns_dhcp_client_addr(c2);
    CU_ASSERT_EQUAL(ns_dhcp_client_lease(c2, &(struct ns_dhcp_lease_info){ 0 }), true);
    world_free(&w);
    return dup;
}

static void test_two_servers(void)
{
    uint64_t declines = 0;
    CU_ASSERT_EQUAL(duplicate_run(false, 0, &declines), 0);
    CU_ASSERT_EQUAL(declines, 0);
    CU_ASSERT_EQUAL(duplicate_run(true, 0, &declines), 1);
    CU_ASSERT_EQUAL(declines, 0);
    CU_ASSERT_EQUAL(duplicate_run(true, NS_SEC, &declines), 0);
    CU_ASSERT_EQUAL(declines, 1);
}

/* c1 is bound when the server crashes and restarts; c2 arrives later.
 * A server that kept its leases gives c2 another address; one that forgot
 * them offers c1's address again (c2 probes nothing here). */
static int persist_run(bool persist)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.109", 3600);
    ns_dhcp_server_set_persist(w.ds, persist);
    ns_dhcp_client *c1 = client(&w, w.lan, "c1", 0, 0);
    ns_dhcp_client *c2 = client(&w, w.lan, "c2", 50 * NS_SEC, 0);
    ns_sim_run(w.sim, 20 * NS_SEC, 0);
    ns_host_crash(w.srv);
    ns_host_restart(w.srv);
    ns_sim_run(w.sim, 100 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c1), NS_DHCP_BOUND);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c2), NS_DHCP_BOUND);
    int dup = ns_dhcp_client_addr(c1) == ns_dhcp_client_addr(c2);
    world_free(&w);
    return dup;
}

static void test_persistence(void)
{
    CU_ASSERT_EQUAL(persist_run(true), 0);
    CU_ASSERT_EQUAL(persist_run(false), 1);
}

static void test_relay(void)
{
    ns_sim *sim = ns_sim_new(3);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.subnet = ip("10.0.0.0");
    GError *err = NULL;
    ns_lan *core = ns_lan_new(sim, "core", &o, &err);
    o.subnet = ip("10.0.1.0");
    ns_lan *edge = ns_lan_new(sim, "edge", &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(edge);
    ns_host *srv = host(sim, "srv"), *rt = host(sim, "rt");
    ns_host_set_forwarding(rt, true);
    ns_lan_attach(core, srv, ip("10.0.0.1"), &err);
    ns_lan_attach(core, rt, ip("10.0.0.254"), &err);
    ns_lan_attach(edge, rt, ip("10.0.1.1"), &err);
    CU_ASSERT_PTR_NULL(err);
    ns_dhcp_server *ds = ns_dhcp_server_new(srv, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
    struct ns_dhcp_pool_cfg pc = { .first = ip("10.0.1.100"), .last = ip("10.0.1.110"),
                                   .router = ip("10.0.1.1") };
    CU_ASSERT_FALSE(ns_dhcp_server_add_pool(ds, &pc, &err));   /* not its subnet */
    g_clear_error(&err);
    pc.subnet = ip("10.0.1.0");
    pc.prefix = 24;
    CU_ASSERT_TRUE(ns_dhcp_server_add_pool(ds, &pc, &err));
    ns_dhcp_relay *r = ns_dhcp_relay_new(rt, ip("10.0.0.1"), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ns_host *h = host(sim, "c");
    ns_iface *ifc = ns_lan_attach(edge, h, NS_LAN_NO_ADDR, &err);
    struct ns_dhcp_client_opts co;
    ns_dhcp_client_opts_defaults(&co);
    ns_dhcp_client *c = ns_dhcp_client_new(ifc, &co, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ns_sim_run(sim, 4000 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(c), NS_DHCP_BOUND);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c), ip("10.0.1.100"));
    CU_ASSERT(ns_dhcp_relay_forwarded(r) >= 4);
    /* renewals are unicast to the server across the router */
    CU_ASSERT(ns_dhcp_client_stats(c)->bound >= 3);
    CU_ASSERT_EQUAL(ns_dhcp_client_stats(c)->naks, 0);
    ns_sim_free(sim);
}

/* ---- what Wireshark sees ---- */

static void test_tshark(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 600);
    w.dir = g_build_filename(ns_test_tmpdir(), "dhcp", "pcap", NULL);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, w.dir, &err));
    ns_pcap *pc = ns_pcap_open(w.sim, "dhcp.pcap", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    ns_iface_capture(ns_host_iface(w.srv, 0), pc);
    ns_dhcp_client *c = client(&w, w.lan, "c", NS_SEC, NS_SEC);
    ns_sim_run(w.sim, 400 * NS_SEC, 0);   /* DORA, one renewal */
    ns_dhcp_client_release(c);
    ns_sim_run(w.sim, 410 * NS_SEC, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, &err));
    char *file = g_build_filename(w.dir, "dhcp.pcap", NULL);
    char *tshark = g_find_program_in_path("tshark");
    if (!tshark) {
        printf("\n  note: tshark not found, DHCP decoding check skipped\n");
    } else {
        char *argv[] = { tshark, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                         "-r", file, "-V", NULL };
        char *out = NULL, *errout = NULL;
        int status = -1;
        CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                    &errout, &status, NULL));
        CU_ASSERT_PTR_NOT_NULL_FATAL(out);
        CU_ASSERT_PTR_NULL(strstr(out, "Malformed"));
        CU_ASSERT_PTR_NULL(strstr(out, "Bad"));
        CU_ASSERT_PTR_NULL(strstr(out, "Expert Info (Warning"));
        const char *kinds[] = { "DHCP Message Type (Discover)", "DHCP Message Type (Offer)",
                                "DHCP Message Type (Request)", "DHCP Message Type (ACK)",
                                "DHCP Message Type (Release)" };
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
            CU_ASSERT_PTR_NOT_NULL(strstr(out, kinds[i]));
        /* every UDP frame is DHCP: 1 D, 1 O, 2 R, 2 A, 1 release */
        int dhcp = 0, udp = 0;
        for (const char *l = out; (l = strstr(l, "Dynamic Host Configuration Protocol (")); l++)
            dhcp++;
        for (const char *l = out; (l = strstr(l, "User Datagram Protocol, Src Port")); l++)
            udp++;
        CU_ASSERT_EQUAL(dhcp, 7);
        CU_ASSERT_EQUAL(udp, 7);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "IP Address Lease Time: (600s)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Your (client) IP address: 10.0.0.100"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Magic cookie: DHCP"));
        if (strstr(out, "Malformed") || strstr(out, "Bad") || dhcp != 7)
            fprintf(stderr, "\ntshark said:\n%s\n%s\n", out, errout ? errout : "");
        g_free(out);
        g_free(errout);
        g_free(tshark);
    }
    g_free(file);
    world_free(&w);
}

/* ---- tables for plots ---- */



static void release_at(ns_sim *sim, void *arg) { (void)sim; ns_dhcp_client_release(arg); }
static void nothing(ns_sim *sim, void *arg) { (void)sim; (void)arg; }

/* One client with a 600 s lease: DORA from 1 s (no probe), a renewal at
 * T1 = REQUEST + 300 s (its unicast REQUEST first resolves the server's
 * MAC: two 60-byte ARP hops of 2 x (480 + 1,000,000) ns, then REQUEST and
 * ACK), a RELEASE at 400 s.  The timeline has one row per state change and
 * an "end" row at the commit; the pool table a row at the start, at each
 * sample where the count changed (the release shows at the 450 s sample)
 * and one at the commit.  Sampling is weak: an event at 460 s keeps the
 * run going that long. */
static void test_tables(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 600);
    w.dir = g_build_filename(ns_test_tmpdir(), "dhcp", "tables", NULL);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, w.dir, &err));
    CU_ASSERT_FALSE(ns_dhcp_trace_tables(w.sim, 0, &err));
    expect_error(&err, "DHCP pool sampling interval 0 s is not positive");
    CU_ASSERT_TRUE(ns_dhcp_trace_tables(w.sim, 50 * NS_SEC, &err));
    ns_dhcp_client *c = client(&w, w.lan, "c", NS_SEC, 0);
    ns_event_after(w.sim, 400 * NS_SEC, release_at, c);
    ns_event_after(w.sim, 460 * NS_SEC, nothing, NULL);
    ns_sim_run(w.sim, 460 * NS_SEC, 0);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, &err));
    char *tl = read_output(w.dir, "dhcp_timeline.tsv");
    expect_text(tl, "time\tclient\tstate\tcause\n"
                    "1.000000000\tc\tSELECTING\tstart\n"
                    "1.004010944\tc\tREQUESTING\toffer\n"
                    "1.008021888\tc\tBOUND\tack\n"
                    "301.004010944\tc\tRENEWING\tt1\n"
                    "301.012023808\tc\tBOUND\tack\n"
                    "400.000000000\tc\tSTOPPED\trelease\n"
                    "460.000000000\tc\tSTOPPED\tend\n");
    char *pool = read_output(w.dir, "dhcp_pool.tsv");
    expect_text(pool, "time\tserver\tleased\n"
                      "0.000000000\tsrv\t0\n"
                      "50.000000000\tsrv\t1\n"
                      "450.000000000\tsrv\t0\n"
                      "460.000000000\tsrv\t0\n");
    g_free(tl);
    g_free(pool);
    world_free(&w);
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
    GError *err = NULL;
    struct ns_dhcp_pool_cfg pc = { .first = ip("10.0.0.150"), .last = ip("10.0.0.100") };
    CU_ASSERT_FALSE(ns_dhcp_server_add_pool(w.ds, &pc, &err));
    expect_error(&err, "pool 10.0.0.150-10.0.0.100 is reversed");
    pc = (struct ns_dhcp_pool_cfg){ .first = ip("10.9.0.1"), .last = ip("10.9.0.9") };
    CU_ASSERT_FALSE(ns_dhcp_server_add_pool(w.ds, &pc, &err));
    expect_error(&err, "pool 10.9.0.1-10.9.0.9 is outside its subnet 10.0.0.0/24");
    pc = (struct ns_dhcp_pool_cfg){ .first = ip("10.0.0.200"), .last = ip("10.0.0.255") };
    CU_ASSERT_FALSE(ns_dhcp_server_add_pool(w.ds, &pc, &err));
    expect_error(&err, "outside its subnet");
    CU_ASSERT_FALSE(ns_dhcp_server_reserve(w.ds, "02:00:00:zz:00:01", ip("10.0.0.120"), &err));
    expect_error(&err, "malformed MAC '02:00:00:zz:00:01'");
    CU_ASSERT_TRUE(ns_dhcp_server_reserve(w.ds, "02:00:00:aa:00:01", ip("10.0.0.120"), &err));
    CU_ASSERT_FALSE(ns_dhcp_server_exclude(w.ds, ip("10.0.0.5"), &err));
    expect_error(&err, "excluded address 10.0.0.5");

    ns_host *h = host(w.sim, "s2");
    ns_lan_attach(w.lan, h, ip("10.0.0.2"), &err);
    struct ns_dhcp_server_opts so;
    ns_dhcp_server_opts_defaults(&so);
    so.lease_s = 0;
    CU_ASSERT_PTR_NULL(ns_dhcp_server_new(h, &so, &err));
    expect_error(&err, "lease time 0 s is not positive");
    ns_dhcp_server_opts_defaults(&so);
    so.t1_s = 2000;
    so.t2_s = 1000;
    CU_ASSERT_PTR_NULL(ns_dhcp_server_new(h, &so, &err));
    expect_error(&err, "T1 2000 s is not before T2 1000 s");
    ns_dhcp_server_opts_defaults(&so);
    so.t2_s = 3600;
    CU_ASSERT_PTR_NULL(ns_dhcp_server_new(h, &so, &err));
    expect_error(&err, "T2 3600 s is not before the lease end 3600 s");

    /* a second LAN reusing 10.0.0.0/24 with a server at 10.0.0.1 */
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.subnet = ip("10.0.0.0");
    ns_lan *other = ns_lan_new(w.sim, "other", &o, &err);
    g_clear_error(&err);
    if (other) {
        ns_host *twin = host(w.sim, "twin");
        if (ns_lan_attach(other, twin, ip("10.0.0.1"), &err)) {
            CU_ASSERT_PTR_NULL(ns_dhcp_server_new(twin, NULL, &err));
            expect_error(&err, "DHCP servers 'srv' and 'twin' have the same address 10.0.0.1");
        }
        g_clear_error(&err);
    }
    world_free(&w);
}

/* ---- bad input from Lua: the exact messages a script sees ---- */

static void test_lua_errors(void)
{
    expect_lua(OFFICE "local a, r = s:host 'a', s:router 'r'; s:link(a, r)\n"
               "a:dhcp_client{}",
               "error: t.lua:5: host 'a' has no LAN interface for a DHCP client");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', lease = 0 }",
               "error: t.lua:4: DHCP server 'srv': lease time 0 s is not positive");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', lease = -5 }",
               "error: t.lua:4: DHCP server 'srv': lease time -5 s is not positive");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', lease = '0s' }",
               "error: t.lua:4: DHCP server 'srv': lease time 0 s is not positive");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', lease = '-1h' }",
               "error: t.lua:4: bad argument #1 to 'dhcp_server' "
               "(option 'lease': '-1h' is a negative time)");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', leese = '1h' }",
               "error: t.lua:4: unknown option 'leese' to 'dhcp_server' (did you mean 'lease'?)");
    expect_lua(OFFICE "local b = s:host 'b'; lan:attach(b, false)\n"
               "b:dhcp_client{ start_dealy = 1 }",
               "error: t.lua:5: unknown option 'start_dealy' to 'dhcp_client' "
               "(did you mean 'start_delay'?)");
    expect_lua(OFFICE "s:dhcp_trace{ evry = '1s' }",
               "error: t.lua:4: unknown option 'evry' to 'dhcp_trace' (did you mean 'every'?)");
    expect_lua(OFFICE "s:dhcp_trace{ every = 0 }",
               "error: t.lua:4: bad argument #1 to 'dhcp_trace' "
               "(option 'every': a positive time expected)");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100..10.0.0.150' }",
               "error: t.lua:4: bad argument #1 to 'dhcp_server' (option 'pool': malformed "
               "range '10.0.0.100..10.0.0.150' (expected \"10.0.0.100-10.0.0.150\"))");
    expect_lua(OFFICE "srv:dhcp_server{ pools = { { range = '10.0.1.9', subnet = '10.0.1.0/24' } } }",
               "error: t.lua:4: bad argument #1 to 'dhcp_server' (option 'range': malformed "
               "range '10.0.1.9' (expected \"10.0.0.100-10.0.0.150\"))");
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.150-10.0.0.100' }",
               "error: t.lua:4: DHCP server 'srv': pool 10.0.0.150-10.0.0.100 is reversed");
    /* A callback that is no function: the client's record is owned by
     * the sim before the error is raised (under ASan, no leak). */
    expect_lua(OFFICE "local b = s:host 'b'; lan:attach(b, false)\n"
               "b:dhcp_client{ on_state = 5 }",
               "error: t.lua:5: bad argument #1 to 'dhcp_client' (option 'on_state': a function "
               "expected, got number)");
}

void test_dhcp_register(void)
{
    CU_pSuite s = ns_test_suite("dhcp", NULL, NULL);
    ns_test_add(s, "message bytes round trip", test_msg_roundtrip);
    ns_test_add(s, "DORA: 2 round trips + start delay + probe", test_dora_timing);
    ns_test_add(s, "T1, T2, expiry to the nanosecond", test_lease_timers);
    ns_test_add(s, "renewals answered", test_renew_ok);
    ns_test_add(s, "pool exhaustion, backoff, release", test_pool_exhaustion);
    ns_test_add(s, "two servers: disjoint, overlapping, probe", test_two_servers);
    ns_test_add(s, "server crash with persistence", test_persistence);
    ns_test_add(s, "relay with giaddr", test_relay);
    ns_test_add(s, "tshark decodes every DHCP frame", test_tshark);
    ns_test_add(s, "bad input", test_bad_input);
    ns_test_add(s, "timeline and pool tables", test_tables);
    ns_test_add(s, "bad input from Lua: exact messages", test_lua_errors);
}
