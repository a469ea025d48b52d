/* test_dhcp_proto.c — DHCP behaviour beyond DORA and lease timers: how a
 * server picks addresses as its pool fills, empties and expires.  The
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

void test_dhcp_proto_register(void)
{
    CU_pSuite s = ns_test_suite("dhcp_proto", NULL, NULL);
    ns_test_add(s, "lowest free address: new, released, expired", test_lowest_free);
}
