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

/* RFC 2131 3.4 / 4.3.5: a host configured by hand at 10.0.0.50 broadcasts
 * an INFORM; the server ACKs to ciaddr (after resolving it: two 60-byte
 * ARP hops) with mask and router, no yiaddr and no lease, and leases
 * nothing.  Without a server the INFORM is sent `tries` times, backing
 * off 4 s, 8 s (+-1 s). */
#define ARP_HOP ((ns_time_t)2 * (480 + 1000000))

static void test_inform(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
    ns_host *m = host(w.sim, "manual");
    ns_iface *ifc = ns_lan_attach(w.lan, m, ip("10.0.0.50"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ifc);
    ns_dhcp_inform *q = ns_dhcp_inform_new(ifc, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    struct ns_dhcp_inform_info info;
    CU_ASSERT_FALSE(ns_dhcp_inform_result(q, &info));
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    CU_ASSERT_TRUE_FATAL(ns_dhcp_inform_result(q, &info));
    CU_ASSERT_EQUAL(info.at, 2 * HOP + 2 * ARP_HOP);
    CU_ASSERT_EQUAL(info.server, ip("10.0.0.1"));
    CU_ASSERT_EQUAL(info.mask, ip("255.255.255.0"));
    CU_ASSERT_EQUAL(info.router, ip("10.0.0.1"));
    CU_ASSERT_EQUAL(info.lease_s, 0);
    CU_ASSERT_EQUAL(info.yiaddr, 0);
    CU_ASSERT_EQUAL(ns_dhcp_inform_sent(q), 1);
    CU_ASSERT_EQUAL(ns_dhcp_server_stats(w.ds)->informs, 1);
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), 0);
    CU_ASSERT_EQUAL(ns_iface_addr(ifc), ip("10.0.0.50"));

    /* no server on this LAN: 3 tries, then silence */
    struct ns_lan_opts lo;
    ns_lan_opts_defaults(&lo);
    lo.subnet = ip("10.0.9.0");
    ns_lan *lonely = ns_lan_new(w.sim, "lonely", &lo, NULL);
    ns_host *m2 = host(w.sim, "manual2");
    ns_iface *ifc2 = ns_lan_attach(lonely, m2, ip("10.0.9.5"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ifc2);
    struct ns_dhcp_inform_opts o;
    ns_dhcp_inform_opts_defaults(&o);
    o.tries = 3;
    ns_time_t t0 = ns_sim_now(w.sim);
    ns_dhcp_inform *q2 = ns_dhcp_inform_new(ifc2, &o, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q2);
    ns_sim_run(w.sim, t0 + 2 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_inform_sent(q2), 1);
    ns_sim_run(w.sim, t0 + 5 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_inform_sent(q2), 2);
    ns_sim_run(w.sim, t0 + 9 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_inform_sent(q2), 2);
    ns_sim_run(w.sim, t0 + 200 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_inform_sent(q2), 3);
    CU_ASSERT_FALSE(ns_dhcp_inform_result(q2, &info));

    /* errors: no address; UDP 68 already taken (by the first INFORM) */
    GError *err = NULL;
    ns_host *bare = host(w.sim, "bare");
    ns_iface *bi = ns_lan_attach(w.lan, bare, NS_LAN_NO_ADDR, NULL);
    CU_ASSERT_PTR_NULL(ns_dhcp_inform_new(bi, NULL, &err));
    expect_error(&err, "host 'bare': DHCPINFORM needs an address on eth0");
    CU_ASSERT_PTR_NULL(ns_dhcp_inform_new(ifc, NULL, &err));
    expect_error(&err, "already sent a DHCPINFORM");
    world_free(&w);
}

static void test_inform_lua(void)
{
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150', router = srv }\n"
               "local m = s:host 'm'; lan:attach(m, '10.0.0.7')\n"
               "m:dhcp_inform{}\n"
               "assert(m:dhcp_informed() == nil)\n"
               "s:run '10s'\n"
               "local i = m:dhcp_informed()\n"
               "return ('%s %s %s %s'):format(i.server, i.mask, i.router, i.dns)",
               "10.0.0.1 255.255.255.0 10.0.0.1 nil");
    expect_lua(OFFICE "local b = s:host 'b'; lan:attach(b, false)\n"
               "b:dhcp_inform{ server = srv }",
               "error: t.lua:5: host 'b' has no address for a DHCPINFORM (set one by hand)");
    expect_lua(OFFICE "srv:dhcp_inform{ tries = 0 }",
               "error: t.lua:4: bad argument #1 to 'dhcp_inform' (option 'tries': at least 1 expected)");
}

/* Option 61 survives encoding; a 1-byte one (invalid, RFC 2132 9.14) is
 * ignored when decoding. */
static void test_client_id_bytes(void)
{
    struct ns_dhcp_msg m = { .op = NS_DHCP_BOOTREQUEST, .type = NS_DHCP_DISCOVER, .xid = 7 };
    m.client_id_len = 7;
    memcpy(m.client_id, "\0laptop", 7);
    uint8_t buf[NS_DHCP_MSG_MAX];
    size_t len = ns_dhcp_encode(&m, buf);
    struct ns_dhcp_msg d;
    CU_ASSERT_TRUE_FATAL(ns_dhcp_decode(buf, len, &d, NULL));
    CU_ASSERT_EQUAL(d.client_id_len, 7);
    CU_ASSERT_EQUAL(memcmp(d.client_id, "\0laptop", 7), 0);
    /* find option 61 and make it 1 byte long (a PAD follows) */
    for (size_t i = 240; i + 1 < len; i += 2u + buf[i + 1]) {
        if (buf[i] == 61) {
            buf[i + 1] = 1;
            memset(buf + i + 3, 0, 6);
            break;
        }
    }
    CU_ASSERT_TRUE_FATAL(ns_dhcp_decode(buf, len, &d, NULL));
    CU_ASSERT_EQUAL(d.client_id_len, 0);
}

static ns_dhcp_client *client_with_id(struct world *w, const char *name, ns_time_t start,
                                      const char *id)
{
    ns_host *h = host(w->sim, name);
    ns_iface *ifc = ns_lan_attach(w->lan, h, NS_LAN_NO_ADDR, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ifc);
    struct ns_dhcp_client_opts o;
    ns_dhcp_client_opts_defaults(&o);
    o.start_min = o.start_max = start;
    o.probe_wait = 0;
    if (id) {
        o.client_id_len = (uint8_t)(strlen(id) + 1);
        memcpy(o.client_id + 1, id, strlen(id));
    }
    ns_dhcp_client *c = ns_dhcp_client_new(ifc, &o, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* RFC 2131 4.2: with a client identifier the server keys the lease by it,
 * not by chaddr.  "laptop" binds .100 and dies; the same identifier on
 * another host (another MAC) gets .100 back, while a client without one
 * gets .101; a third client whose MAC is the first one's but with no
 * identifier is another client, and gets .102. */
static void test_client_id_lease(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.104", 3600);
    ns_dhcp_client *a = client_with_id(&w, "a", 0, "laptop");
    ns_event_at(w.sim, NS_SEC, crash_host, ns_dhcp_client_host(a), 0, NULL);
    ns_dhcp_client *b = client_with_id(&w, "b", 5 * NS_SEC, "laptop");
    ns_dhcp_client *c = client_with_id(&w, "c", 6 * NS_SEC, NULL);
    ns_sim_run(w.sim, 2 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_state(a), NS_DHCP_INIT);
    ns_sim_run(w.sim, 10 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(b), ip("10.0.0.100"));
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c), ip("10.0.0.101"));
    uint8_t mac[6];
    CU_ASSERT_TRUE(ns_dhcp_server_holder(w.ds, ip("10.0.0.100"), mac));
    CU_ASSERT_EQUAL(memcmp(mac, ns_iface_mac(ns_host_iface(ns_dhcp_client_host(b), 0)), 6), 0);

    ns_host *h = host(w.sim, "d");
    ns_iface *ifc = ns_lan_attach(w.lan, h, NS_LAN_NO_ADDR, NULL);
    ns_iface_set_mac(ifc, ns_iface_mac(ns_host_iface(ns_dhcp_client_host(a), 0)));
    struct ns_dhcp_client_opts o;
    ns_dhcp_client_opts_defaults(&o);
    o.start_min = o.start_max = 0;
    o.probe_wait = 0;
    o.broadcast = true;           /* a unicast to the shared MAC finds a first */
    ns_dhcp_client *d = ns_dhcp_client_new(ifc, &o, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    ns_sim_run(w.sim, 20 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(d), ip("10.0.0.102"));

    GError *err = NULL;
    ns_host *e = host(w.sim, "e");
    o.client_id_len = 1;
    CU_ASSERT_PTR_NULL(ns_dhcp_client_new(ns_lan_attach(w.lan, e, NS_LAN_NO_ADDR, NULL), &o, &err));
    expect_error(&err, "host 'e': DHCP client identifier of 1 bytes is outside [2, 32]");
    world_free(&w);
}

static void test_client_id_lua(void)
{
    expect_lua(OFFICE "srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150' }\n"
               "local a = s:host 'a'; lan:attach(a, false)\n"
               "local c = a:dhcp_client{ client_id = 'mac', probe = 0 }\n"
               "s:run '20s'\n"
               "return c:addr()",
               "10.0.0.100");
    expect_lua(OFFICE "local a = s:host 'a'; lan:attach(a, false)\n"
               "a:dhcp_client{ client_id = '' }",
               "error: t.lua:5: bad argument #1 to 'dhcp_client' (option 'client_id': '' is "
               "not 1 to 31 bytes long)");
}

/* A server whose configuration fails is taken down completely: off its
 * host, out of the sim's list, UDP 67 closed; a correct server can then
 * be created on the same host (no "already runs", "same address" or
 * "port 67 bound" error) and serves. */
static void test_failed_server_torn_down(void)
{
    struct world w;
    world_init(&w, "10.0.0.100", "10.0.0.150", 3600);
    ns_host *h = host(w.sim, "srv2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(w.lan, h, ip("10.0.0.2"), NULL));
    GError *err = NULL;
    ns_dhcp_server *bad = ns_dhcp_server_new(h, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    struct ns_dhcp_pool_cfg pc = { .first = ip("10.0.0.160"), .last = ip("10.0.0.170") };
    CU_ASSERT_TRUE(ns_dhcp_server_add_pool(bad, &pc, NULL));
    ns_dhcp_server_free(bad);
    CU_ASSERT_PTR_NULL(ns_dhcp_server_of(h));
    ns_dhcp_server *good = ns_dhcp_server_new(h, NULL, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_EQUAL(ns_dhcp_server_of(h), good);
    CU_ASSERT_TRUE(ns_dhcp_server_add_pool(good, &pc, NULL));
    /* the first server's pool is full: the client can only bind from srv2 */
    ns_dhcp_server_exclude(w.ds, ip("10.0.0.100"), NULL);
    for (uint32_t a = ip("10.0.0.101"); a <= ip("10.0.0.150"); a++)
        CU_ASSERT_TRUE(ns_dhcp_server_exclude(w.ds, a, NULL));
    ns_dhcp_client *c = client(&w, w.lan, "c", 0, 0);
    ns_sim_run(w.sim, 20 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_client_addr(c), ip("10.0.0.160"));
    CU_ASSERT_EQUAL(ns_dhcp_server_stats(good)->acks, 1);
    world_free(&w);
}

static void test_failed_server_lua(void)
{
    /* refused by the server (reversed pool; malformed reservation MAC
     * after a good pool), then by Lua (bad exclusion), then a good one */
    expect_lua(OFFICE "local ok, e = pcall(srv.dhcp_server, srv, { pool = '10.0.0.150-10.0.0.100' })\n"
               "assert(not ok and e:find 'reversed', e)\n"
               "ok, e = pcall(srv.dhcp_server, srv, { pool = '10.0.0.100-10.0.0.150',\n"
               "  reserve = { ['02:00:zz:00:00:01'] = '10.0.0.120' } })\n"
               "assert(not ok and e:find 'malformed MAC', e)\n"
               "ok, e = pcall(srv.dhcp_server, srv, { pool = '10.0.0.100-10.0.0.150',\n"
               "  exclude = { 'bogus' } })\n"
               "assert(not ok, e)\n"
               "local server = srv:dhcp_server{ pool = '10.0.0.100-10.0.0.150' }\n"
               "local a = s:host 'a'; lan:attach(a, false)\n"
               "local c = a:dhcp_client{ probe = 0 }\n"
               "s:run '20s'\n"
               "return c:addr() .. ' ' .. server:active()",
               "10.0.0.100 1");
}

/* The server finds its records by address after many were removed from
 * the middle of its table: 120 clients bound, every other one releases,
 * the rest renew at T1 keeping their addresses, and 60 newcomers get 60
 * other addresses (a record lost by a removal would be handed out again
 * or its holder NAKed). */
static void test_records_after_releases(void)
{
    enum { N = 120 };
    struct world w;
    world_init(&w, "10.0.0.10", "10.0.0.250", 600);
    ns_dhcp_client *c[N], *late[N / 2];
    uint32_t held[N];
    for (int i = 0; i < N; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "c%d", i);
        c[i] = client(&w, w.lan, name, i * 10 * NS_MSEC, 0);
    }
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    for (int i = 0; i < N; i++) {
        held[i] = ns_dhcp_client_addr(c[i]);
        CU_ASSERT_NOT_EQUAL(held[i], 0);
        if (i % 2)
            ns_dhcp_client_release(c[i]);
    }
    ns_sim_run(w.sim, 70 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), N / 2);
    ns_sim_run(w.sim, 400 * NS_SEC, 0);             /* past T1 = 300 s */
    for (int i = 0; i < N; i += 2) {
        const struct ns_dhcp_client_stats *st = ns_dhcp_client_stats(c[i]);
        CU_ASSERT_EQUAL(ns_dhcp_client_state(c[i]), NS_DHCP_BOUND);
        CU_ASSERT_EQUAL(ns_dhcp_client_addr(c[i]), held[i]);
        CU_ASSERT_EQUAL(st->acks, 2);
        CU_ASSERT_EQUAL(st->naks, 0);
    }
    for (int i = 0; i < N / 2; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "late%d", i);
        late[i] = client(&w, w.lan, name, i * 10 * NS_MSEC, 0);
    }
    ns_sim_run(w.sim, 460 * NS_SEC, 0);
    CU_ASSERT_EQUAL(ns_dhcp_server_active(w.ds), N);
    for (int i = 0; i < N / 2; i++) {
        uint32_t a = ns_dhcp_client_addr(late[i]);
        CU_ASSERT_NOT_EQUAL(a, 0);
        for (int k = 0; k < N; k += 2)
            CU_ASSERT_NOT_EQUAL(a, held[k]);
        for (int k = 0; k < i; k++)
            CU_ASSERT_NOT_EQUAL(a, ns_dhcp_client_addr(late[k]));
    }
    world_free(&w);
}

/* The lease timers of many clients share one queue (dhcp_timers.c): each
 * client still enters RENEWING exactly at its own T1, in time order, also
 * after clients ahead of it in the queue released their leases; and once
 * every lease is released nothing is left to keep the run going. */
static void test_lease_timers_queue(void)
{
    enum { N = 24 };
    struct world w;
    world_init(&w, "10.0.0.10", "10.0.0.250", 600);
    ns_dhcp_client *c[N];
    struct timeline tl[N];
    struct ns_dhcp_lease_info li[N];
    for (int i = 0; i < N; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "c%d", i);
        /* reversed start order: queue order is not creation order */
        c[i] = client(&w, w.lan, name, (N - i) * 137 * NS_MSEC, 0);
        memset(&tl[i], 0, sizeof tl[i]);
        ns_dhcp_client_on_state(c[i], on_state, &tl[i]);
    }
    ns_sim_run(w.sim, 60 * NS_SEC, 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_TRUE(ns_dhcp_client_lease(c[i], &li[i]));
    /* the three earliest T1s (the last created) stop before theirs */
    for (int i = N - 3; i < N; i++)
        ns_dhcp_client_release(c[i]);
    ns_sim_run(w.sim, 400 * NS_SEC, 0);
    for (int i = 0; i < N - 3; i++) {
        CU_ASSERT_EQUAL(first_entry(&tl[i], NS_DHCP_RENEWING), li[i].t1_at);
        CU_ASSERT_EQUAL(ns_dhcp_client_state(c[i]), NS_DHCP_BOUND);
    }
    for (int i = N - 3; i < N; i++)
        CU_ASSERT_EQUAL(first_entry(&tl[i], NS_DHCP_RENEWING), -1);
    for (int i = 0; i < N - 3; i++)
        ns_dhcp_client_release(c[i]);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, 10000 * NS_SEC, 0), NS_STOP_EMPTY);
    CU_ASSERT_TRUE(ns_sim_now(w.sim) < 500 * NS_SEC);
    world_free(&w);
}

void test_dhcp_proto_register(void)
{
    CU_pSuite s = ns_test_suite("dhcp_proto", NULL, NULL);
    ns_test_add(s, "lowest free address: new, released, expired", test_lowest_free);
    ns_test_add(s, "BROADCAST flag: unicast or broadcast replies", test_broadcast_flag);
    ns_test_add(s, "INFORM: ACK to ciaddr, no lease; retries", test_inform);
    ns_test_add(s, "INFORM from Lua", test_inform_lua);
    ns_test_add(s, "client identifier: bytes", test_client_id_bytes);
    ns_test_add(s, "client identifier: leases keyed by it", test_client_id_lease);
    ns_test_add(s, "client identifier from Lua", test_client_id_lua);
    ns_test_add(s, "failed server torn down", test_failed_server_torn_down);
    ns_test_add(s, "failed server from Lua, then a good one", test_failed_server_lua);
    ns_test_add(s, "records found after releases in between", test_records_after_releases);
    ns_test_add(s, "lease timers of many clients in one queue", test_lease_timers_queue);
}
