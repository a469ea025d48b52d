/* test_dhcp_proto.c — DHCP behaviour beyond DORA and lease timers: how a
 * server picks addresses as its pool fills, empties and expires, and how
 * replies reach a client without an address (the BROADCAST flag).  The
 * world and its timings are in dhcpworld.h. */
#include "netsim/event.h"
#include "dhcpworld.h"

static void crash_host(ns_sim *sim, void *arg) { (void)sim; ns_host_crash(arg); }
static void release_client(ns_sim *sim, void *arg) { (void)sim; ns_dhcp_client_release(arg); }

/* The server offers the lowest free address (RFC 2131 4.3.1 leaves it to
 * the server; netsim's rule) whether it was never used, released below
 * addresses still leased, or held by a lease that expired unnoticed: its
 * summary of the pool (dhcp_lease.c) must not hide any of them. */
static void test_lowest_free(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.104", 100);
    ns_dhcp_client *c[5];
    for (int i = 0; i < 3; i++) {
        char name[8];
        g_snprintf(name, sizeof name, "c%d", i);
        c[i] = client(&w, w.lan, name, (ns_time_t)i * 10 * NS_MSEC, 0);
    }
    c[3] = client(&w, w.lan, "c3", 40 * NS_SEC, 0);
    c[4] = client(&w, w.lan, "c4", 150 * NS_SEC, 0);
    /* c0 dies holding .100 (no RELEASE: it expires at ~100 s); c1 gives
     * back .101 at 20 s while .102 stays leased; c3 asks at 40 s, when no
     * record has expired, c4 at 150 s */
    ns_event_at(w.sim, 1 * NS_SEC, crash_host, ns_dhcp_client_host(c[0]), 0, NULL);
    ns_event_at(w.sim, 20 * NS_SEC, release_client, c[1], 0, NULL);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c[2]), ip("10.0.0.102"));
    ns_sim_run(w.sim, 100 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c[3]), ip("10.0.0.101"));
    ns_sim_run(w.sim, 200 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c[4]), ip("10.0.0.100"));
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c[2]), ip("10.0.0.102"));
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), 3);
    world_free(&w);
}

/* RFC 2131 4.1: OFFER and ACK go to the client's MAC and yiaddr unless it
 * set the BROADCAST flag, so a bystander on the LAN hears only the
 * client's DISCOVER and REQUEST; with the flag it hears all four.  The
 * client binds at the same time either way (unicast or broadcast, a reply
 * crosses the switch the same way). */
static void test_broadcast_flag(void)
{
    ns_time_t bound_at[2];
    for (int flag = 0; flag < 2; flag++) {
        struct world w;
        world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
        ns_host *b = host(w.sim, "bystander");
        ns_iface *bi = ns_lan_attach(w.lan, b, ip("10.0.0.2"), NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bi);
        ns_host *h = host(w.sim, "c");
        ns_iface *ifc = ns_lan_attach(w.lan, h, NS_LAN_NO_ADDR, NULL);
        struct ns_dhcp_client_opts o;
        ns_dhcp_client_opts_defaults(&o);
        o.start_min = o.start_max = NS_SEC;
        o.probe_wait = 0;
        o.broadcast = flag;
        ns_dhcp_client *c = ns_dhcp_client_new(ifc, &o, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        struct timeline tl = { 0 };
        ns_dhcp_client_on_state(c, on_state, &tl);
        ns_sim_run(w.sim, 10 * NS_SEC, 0);
        CU_ASSERT_EQUAL(ns_dhcp_client_addr(c), ip("10.0.0.100"));
        bound_at[flag] = first_entry(&tl, NS_DHCP_BOUND);
        CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, bi)->rx_pkts, flag ? 4 : 2);
        CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, ifc)->rx_pkts, 2);
        CU_ASSERT_EQUAL(ns_dhcp_client_stats(c)->offers, 1);
        CU_ASSERT_EQUAL(ns_dhcp_client_stats(c)->acks, 1);
        world_free(&w);
    }
    CU_ASSERT_EQUAL(bound_at[0], NS_SEC + 2 * 2 * HOP);
    CU_ASSERT_EQUAL(bound_at[1], bound_at[0]);
}

void test_dhcp_proto_register(void)
{
    CU_pSuite s = ns_test_suite("dhcp_proto", NULL, NULL);
    ns_test_add(s, "lowest free address: new, released, expired", test_lowest_free);
    ns_test_add(s, "BROADCAST flag: unicast or broadcast replies", test_broadcast_flag);
}
