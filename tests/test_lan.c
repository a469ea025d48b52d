/* test_lan.c — LANs and ARP: store-and-forward timing to the nanosecond,
 * broadcast reach, switch learning, address assignment and its errors,
 * and ARP (RFC 826) resolution, cache expiry, retries and give-up, with
 * the RFC 5227 probe and announcement.
 *
 * The world (three hosts a, b, c on "lan0" at 10 Mbit/s, 100 us per port)
 * and its timings are in lanworld.h. */
#include <string.h>

#include "lanworld.h"
#include "netsim/arp.h"
#include "netsim/output.h"
#include "netsim/trace.h"

/* ---- addresses and errors ---- */

static void test_lan_addresses(void)
{
    struct world w;
    world_init(&w, true);
    CU_ASSERT_EQUAL(ns_lan_subnet(w.lan), NET(0));
    CU_ASSERT_EQUAL(ns_lan_prefix(w.lan), 24);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(ns_iface_addr(w.ifc[i]), NET(i + 1));
        CU_ASSERT_EQUAL(ns_iface_prefix(w.ifc[i]), 24);
        CU_ASSERT_PTR_EQUAL(ns_lan_port_iface(w.lan, i), w.ifc[i]);
    }
    CU_ASSERT_EQUAL(ns_lan_n_ports(w.lan), 3);
    CU_ASSERT_PTR_EQUAL(ns_lan_find(w.sim, "lan0"), w.lan);
    CU_ASSERT_EQUAL(ns_lan_count(w.sim), 1);
    CU_ASSERT_STRING_EQUAL(ns_lan_name(w.lan), "lan0");

    GError *err = NULL;
    ns_host *d = ns_host_new(w.sim, "d", NULL);
    CU_ASSERT_PTR_NULL(ns_lan_attach(w.lan, d, (10u << 24) | (2u << 8) | 5, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'lan0': address 10.0.2.5 is outside 10.0.1.0/24");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_lan_attach(w.lan, d, NET(2), &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'lan0': address 10.0.1.2 is already used by host 'b'");
    g_clear_error(&err);
    CU_ASSERT_PTR_NULL(ns_lan_attach(w.lan, d, NET(255), &err));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "LAN 'lan0': address 10.0.1.255 is the broadcast address of 10.0.1.0/24");
    g_clear_error(&err);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(d), 0);        /* failures leave nothing */
    CU_ASSERT_EQUAL(ns_lan_n_ports(w.lan), 3);

    /* Unaddressed (DHCP will set it), then the next free address is .4. */
    ns_iface *di = ns_lan_attach(w.lan, d, NS_LAN_NO_ADDR, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(di);
    CU_ASSERT_EQUAL(ns_iface_addr(di), 0);
    ns_host *e = ns_host_new(w.sim, "e", NULL);
    ns_iface *ei = ns_lan_attach(w.lan, e, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ei);
    CU_ASSERT_EQUAL(ns_iface_addr(ei), NET(4));
    ns_host *f = ns_host_new(w.sim, "f", NULL);
    ns_iface *fi = ns_lan_attach(w.lan, f, NET(200), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fi);
    CU_ASSERT_EQUAL(ns_iface_addr(fi), NET(200));
    CU_ASSERT_EQUAL(ns_lan_n_ports(w.lan), 6);

    /* The next LAN gets the next subnet. */
    ns_lan *l2 = ns_lan_new(w.sim, "lan1", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    CU_ASSERT_EQUAL(ns_lan_subnet(l2), (10u << 24) | (2u << 8));
    world_finish(&w);
}

/* Automatic addresses are the lowest free ones of the subnet, around
 * given ones and into gaps that address changes leave, until none is
 * left below the broadcast address. */
static void test_lan_auto_addr_lowest_free(void)
{
    ns_sim *sim = ns_sim_new(1);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.subnet = (10u << 24) | (9u << 16);                /* 10.9.0.0/29: .1 to .6 */
    o.prefix = 29;
    GError *err = NULL;
    ns_lan *lan = ns_lan_new(sim, "small", &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lan);
    static const uint32_t given[] = { 0, 3, 0, 0, 0, 0 };
    static const uint32_t want[] = { 1, 3, 2, 4, 5, 6 };
    ns_iface *ifc[G_N_ELEMENTS(given)];
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        char name[8];
        g_snprintf(name, sizeof name, "h%zu", i);
        ns_host *h = ns_host_new(sim, name, NULL);
        ifc[i] = ns_lan_attach(lan, h, given[i] ? o.subnet | given[i] : 0, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ifc[i]);
        CU_ASSERT_EQUAL(ns_iface_addr(ifc[i]), o.subnet | want[i]);
        if (i == 3) {                                   /* free .2: the next takes it */
            CU_ASSERT_TRUE(ns_iface_set_addr(ifc[2], 0, 0, &err));
            ns_host *g = ns_host_new(sim, "gap", NULL);
            ns_iface *gi = ns_lan_attach(lan, g, 0, &err);
            CU_ASSERT_PTR_NOT_NULL_FATAL(gi);
            CU_ASSERT_EQUAL(ns_iface_addr(gi), o.subnet | 2);
        }
    }
    ns_host *late = ns_host_new(sim, "late", NULL);
    CU_ASSERT_PTR_NULL(ns_lan_attach(lan, late, 0, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'small': no free address in 10.9.0.0/29");
    g_clear_error(&err);
    ns_sim_free(sim);
}

static void test_lan_errors(void)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    struct ns_lan_opts o;
    CU_ASSERT_PTR_NOT_NULL(ns_lan_new(sim, "x", NULL, &err));
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "x", NULL, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'x' already exists");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.rate_bps = 0;
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'y': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.delay = -1;
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'y': delay must not be negative");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.subnet = (192u << 24) | (168u << 16) | 1;
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'y': subnet 192.168.0.1 has bits set beyond /24");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.prefix = 31;
    o.subnet = (192u << 24) | (168u << 16);
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message, "LAN 'y': prefix /31 is outside [1, 30]");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.prefix = 16;
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_STRING_EQUAL(err->message,
                           "LAN 'y': prefix /16 needs a given subnet (automatic ones are /24)");
    g_clear_error(&err);

    ns_lan_opts_defaults(&o);
    o.queue = "nope";
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "y", &o, &err));
    CU_ASSERT_TRUE(g_str_has_prefix(err->message, "LAN 'y': unknown queue discipline 'nope'"));
    g_clear_error(&err);
    CU_ASSERT_EQUAL(ns_lan_count(sim), 1);

    /* A given subnet, and a host whose other interface overlaps it. */
    ns_lan_opts_defaults(&o);
    o.subnet = (192u << 24) | (168u << 16);
    o.prefix = 16;
    ns_lan *g = ns_lan_new(sim, "g", &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    ns_host *h = ns_host_new(sim, "h", NULL);
    ns_iface *i1 = ns_lan_attach(g, h, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(i1);
    CU_ASSERT_EQUAL(ns_iface_addr(i1), (192u << 24) | (168u << 16) | 1);
    CU_ASSERT_EQUAL(ns_iface_prefix(i1), 16);
    CU_ASSERT_PTR_NULL(ns_lan_attach(g, h, 0, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    CU_ASSERT_TRUE(err && g_str_has_prefix(err->message, "LAN 'g': host 'h': subnet"));
    g_clear_error(&err);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(h), 1);
    CU_ASSERT_EQUAL(ns_lan_n_ports(g), 1);
    ns_sim_free(sim);
}

/* ---- timing and reach ---- */

/* Unicast without ARP: two store-and-forward hops, to the nanosecond;
 * back-to-back frames follow one serialisation apart. */
static void test_lan_unicast_timing_noarp(void)
{
    struct world w;
    world_init(&w, false);
    send_at(&w, 0, 0, NET(2));
    send_at(&w, 0, 0, NET(2));
    send_at(&w, NS_MSEC, 2, NET(1));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[1].at[0], UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[1], UDP_CROSS + 113600);
    CU_ASSERT_EQUAL(w.rx[0].n, 1);
    CU_ASSERT_EQUAL(w.rx[0].at[0], NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[2].n, 0);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 2);             /* no ARP frames */
    world_finish(&w);
}

/* With ARP the first datagram waits for request and reply; the second
 * finds the cache filled.  The reply taught the asker, the request taught
 * the target, and c learned nothing (RFC 826 merges only known or
 * targeted mappings). */
static void test_lan_unicast_timing_arp(void)
{
    struct world w;
    world_init(&w, true);
    send_at(&w, 0, 0, NET(2));
    send_at(&w, 10 * NS_MSEC, 0, NET(2));
    send_at(&w, 20 * NS_MSEC, 1, NET(1));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[1].at[0], 2 * ARP_CROSS + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[1], 10 * NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[0].n, 1);
    CU_ASSERT_EQUAL(w.rx[0].at[0], 20 * NS_MSEC + UDP_CROSS);   /* b knew a */
    CU_ASSERT_EQUAL(w.rx[2].n, 0);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 3);             /* request + 2 datagrams */
    CU_ASSERT_EQUAL(port_tx(&w, 1), 2);             /* reply + 1 datagram */
    uint8_t mac[6];
    CU_ASSERT_TRUE(ns_arp_lookup(w.ifc[0], NET(2), mac));
    CU_ASSERT_EQUAL(memcmp(mac, ns_iface_mac(w.ifc[1]), 6), 0);
    CU_ASSERT_TRUE(ns_arp_lookup(w.ifc[1], NET(1), mac));
    CU_ASSERT_EQUAL(memcmp(mac, ns_iface_mac(w.ifc[0]), 6), 0);
    CU_ASSERT_FALSE(ns_arp_lookup(w.ifc[2], NET(1), NULL));
    CU_ASSERT_FALSE(ns_arp_lookup(w.ifc[2], NET(2), NULL));
    world_finish(&w);
}

/* Limited and subnet-directed broadcasts reach every other host, once,
 * with no ARP, and never come back to the sender. */
static void test_lan_broadcast(void)
{
    struct world w;
    world_init(&w, true);
    send_at(&w, 0, 0, NS_IP_BROADCAST);
    send_at(&w, NS_MSEC, 0, NET(255));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    for (int i = 1; i < 3; i++) {
        CU_ASSERT_EQUAL(w.rx[i].n, 2);
        CU_ASSERT_EQUAL(w.rx[i].at[0], UDP_CROSS);
        CU_ASSERT_EQUAL(w.rx[i].at[1], NS_MSEC + UDP_CROSS);
        CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[i])->rx_filtered, 0);
    }
    CU_ASSERT_EQUAL(w.rx[0].n, 0);
    CU_ASSERT_EQUAL(port_rx(&w, 0), 0);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 2);
    world_finish(&w);
}

/* Copies of one flood reach their hosts in attachment order at the same
 * instant, for one event in all (the downlinks were idle, so the end of
 * their transmissions needs no event, and one delivers every copy), and a
 * frame queued behind a copy on one port still leaves that port one
 * serialisation later. */
static int order_log[8], order_n;

static void on_rx_order(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    on_rx(s, p, src, sport, ud);
    if (order_n < (int)G_N_ELEMENTS(order_log))
        order_log[order_n] = (int)(ns_host_name(ns_udp_host(s))[0] - 'a');
    order_n++;
}

static void test_lan_broadcast_batched(void)
{
    struct world w;
    world_init(&w, false);
    order_n = 0;
    for (int i = 0; i < 3; i++)
        ns_udp_on_receive(w.u[i], on_rx_order, &w.rx[i]);
    send_at(&w, 0, 0, NS_IP_BROADCAST);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    /* send, uplink arrival, copies arrive (no tx_done: nothing queued) */
    CU_ASSERT_EQUAL(ns_sim_events_run(w.sim), 3);
    CU_ASSERT_EQUAL(order_n, 2);
    CU_ASSERT_EQUAL(order_log[0], 1);
    CU_ASSERT_EQUAL(order_log[1], 2);
    CU_ASSERT_EQUAL(w.rx[1].at[0], UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[2].at[0], UDP_CROSS);

    /* b's unicast to c (unknown to the switch: flooded too) reaches the
     * switch with a's broadcast, just after it: on c's port it waits one
     * serialisation; a and b get their copies at once. */
    order_n = 0;
    send_at(&w, NS_MSEC, 0, NS_IP_BROADCAST);
    send_at(&w, NS_MSEC, 1, NET(3));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[1].at[1], NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[2].n, 3);
    CU_ASSERT_EQUAL(w.rx[2].at[1], NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[2].at[2], NS_MSEC + UDP_CROSS + 113600);
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[0])->rx_filtered, 1);
    CU_ASSERT_EQUAL(order_n, 3);
    CU_ASSERT_EQUAL(order_log[0], 1);
    CU_ASSERT_EQUAL(order_log[1], 2);
    CU_ASSERT_EQUAL(order_log[2], 2);
    world_finish(&w);
}

/* The switch floods a unicast frame while its destination is unknown and
 * forwards only to the learned port afterwards; c's interface ignores the
 * flooded copy. */
static void test_lan_learning(void)
{
    struct world w;
    world_init(&w, false);
    send_at(&w, 0, 0, NET(2));              /* b unknown: flooded */
    send_at(&w, NS_MSEC, 1, NET(1));        /* a learned: direct */
    send_at(&w, 2 * NS_MSEC, 0, NET(2));    /* b learned: direct */
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[0].n, 1);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[2].n, 0);
    CU_ASSERT_EQUAL(port_rx(&w, 2), 1);
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[2])->rx_filtered, 1);
    CU_ASSERT_EQUAL(port_rx(&w, 1), 2);
    CU_ASSERT_EQUAL(port_rx(&w, 0), 1);
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[1])->rx_filtered, 0);
    world_finish(&w);
}

/* Without ARP a next hop nobody on the LAN has is dropped at once. */
static void test_lan_noarp_unknown(void)
{
    struct world w;
    world_init(&w, false);
    send_at(&w, 0, 0, NET(77));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 0);
    CU_ASSERT_EQUAL(ns_sim_now(w.sim), 0);
    world_finish(&w);
}

/* ---- ARP ---- */

struct check {
    struct world *w;
    int           n;              /* lookups made */
    bool          found[8];
};

static void check_cache(ns_sim *sim, void *arg)
{
    struct check *c = arg;
    c->found[c->n++] = ns_arp_lookup(c->w->ifc[0], NET(2), NULL);
}

/* An entry older than the timeout is not used: the next datagram asks
 * again (and pays for the exchange again). */
static void test_arp_timeout(void)
{
    struct world w;
    world_init(&w, true);
    ns_arp_set_timeout(w.sim, NS_SEC);
    CU_ASSERT_EQUAL(ns_arp_timeout(w.sim), NS_SEC);
    struct check c = { &w, 0, { 0 } };
    send_at(&w, 0, 0, NET(2));
    send_at(&w, NS_SEC / 2, 0, NET(2));
    send_at(&w, 2 * NS_SEC, 0, NET(2));
    /* The entry was made when the reply arrived, at 2 * ARP_CROSS. */
    ns_event_at(w.sim, 2 * ARP_CROSS + NS_SEC - 1, check_cache, &c, 0, NULL);
    ns_event_at(w.sim, 2 * ARP_CROSS + NS_SEC, check_cache, &c, 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(c.n, 2);
    CU_ASSERT_TRUE(c.found[0]);
    CU_ASSERT_FALSE(c.found[1]);
    CU_ASSERT_EQUAL(w.rx[1].n, 3);
    CU_ASSERT_EQUAL(w.rx[1].at[0], 2 * ARP_CROSS + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[1], NS_SEC / 2 + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[2], 2 * NS_SEC + 2 * ARP_CROSS + UDP_CROSS);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 5);             /* 2 requests, 3 datagrams */
    world_finish(&w);
}

/* Reads a committed output file of the sim into a new string. */
static char *read_output(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    return text;
}

static int count_substr(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, s)); p += strlen(s))
        n++;
    return n;
}

struct live_check {
    ns_sim  *sim;
    uint64_t live;
};

static void note_live(ns_sim *sim, void *arg)
{
    struct live_check *l = arg;
    l->live = ns_pkt_live(sim);
}

/* Nobody answers: the request goes out at 0, 1, 2 and 3 s (the first and
 * NS_ARP_RETRIES resends); at 4 s the waiting datagrams are dropped as
 * "no-arp".  Only NS_ARP_MAX_WAITING wait; the rest are dropped at once. */
static void test_arp_unanswered(void)
{
    struct world w;
    world_init(&w, true);
    char *dir = g_build_filename(ns_test_tmpdir(), "lan-unanswered", NULL);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_set_dir(w.sim, dir, &err));
    CU_ASSERT_TRUE(ns_trace_enable(w.sim, NULL, &err));
    const char *const kinds[] = { "arp", "net.drop", NULL };
    ns_trace_set_kinds(w.sim, kinds);
    for (int i = 0; i < NS_ARP_MAX_WAITING + 4; i++)
        send_at(&w, 0, 0, NET(77));
    struct live_check before = { w.sim, 0 }, after = { w.sim, 0 };
    ns_event_at(w.sim, 4 * NS_SEC - 1, note_live, &before, 0, NULL);
    ns_event_at(w.sim, 4 * NS_SEC + 1, note_live, &after, 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(before.live, NS_ARP_MAX_WAITING);
    CU_ASSERT_EQUAL(after.live, 0);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 1 + NS_ARP_RETRIES);
    CU_ASSERT_EQUAL(port_rx(&w, 1), 1 + NS_ARP_RETRIES);
    CU_ASSERT_TRUE(ns_output_commit_all(w.sim, &err));
    CU_ASSERT_PTR_NULL(err);
    char *text = read_output(dir, "events.tsv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_substr(text, "cause=no-arp"), NS_ARP_MAX_WAITING + 4);
    CU_ASSERT_EQUAL(count_substr(text, "op=request who-has=10.0.1.77 tell=10.0.1.1"),
                    1 + NS_ARP_RETRIES);
    CU_ASSERT_EQUAL(count_substr(text, "op=fail who-has=10.0.1.77 dropped=16"), 1);
    g_free(text);
    g_free(dir);
    world_finish(&w);
}

struct probe_result {
    int       n;
    bool      in_use;
    uint32_t  addr;
    ns_time_t at;
};

static void on_probe(ns_iface *ifc, uint32_t addr, bool in_use, void *ud)
{
    struct probe_result *r = ud;
    r->n++;
    r->in_use = in_use;
    r->addr = addr;
    r->at = ns_sim_now(ns_host_sim(ns_iface_host(ifc)));
}

/* RFC 5227: a probe for a used address is answered by its owner; one for
 * a free address hears nothing until the wait ends; two hosts probing
 * the same free address at once both see a conflict. */
static void test_arp_probe(void)
{
    struct world w;
    world_init(&w, true);
    ns_host *d = ns_host_new(w.sim, "d", NULL);
    ns_iface *di = ns_lan_attach(w.lan, d, NS_LAN_NO_ADDR, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(di);
    struct probe_result used = { 0 }, freed = { 0 }, race_a = { 0 }, race_d = { 0 };
    ns_arp_probe(di, NET(2), NS_SEC, on_probe, &used);
    ns_arp_probe(di, NET(50), NS_SEC, on_probe, &freed);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(used.n, 1);
    CU_ASSERT_TRUE(used.in_use);
    CU_ASSERT_EQUAL(used.addr, NET(2));
    /* Two probes back to back from d: b answers the first. */
    CU_ASSERT_EQUAL(used.at, 2 * ARP_CROSS);
    CU_ASSERT_EQUAL(freed.n, 1);
    CU_ASSERT_FALSE(freed.in_use);
    CU_ASSERT_EQUAL(freed.at, NS_SEC);
    /* The prober learned nothing from the 0.0.0.0 sender. */
    CU_ASSERT_FALSE(ns_arp_lookup(w.ifc[1], 0, NULL));

    ns_time_t t0 = ns_sim_now(w.sim);
    ns_arp_probe(w.ifc[0], NET(60), NS_SEC, on_probe, &race_a);
    ns_arp_probe(di, NET(60), NS_SEC, on_probe, &race_d);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(race_a.n, 1);
    CU_ASSERT_TRUE(race_a.in_use);
    CU_ASSERT_EQUAL(race_a.at, t0 + ARP_CROSS);
    CU_ASSERT_EQUAL(race_d.n, 1);
    CU_ASSERT_TRUE(race_d.in_use);
    world_finish(&w);
}

static void change_mac_and_announce(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
    ns_iface_set_mac(w->ifc[1], mac);
    ns_arp_announce(w->ifc[1]);
}

/* A gratuitous ARP refreshes the mapping in caches that hold one (a) and
 * adds none where there was none (c); traffic then follows the new MAC. */
static void test_arp_announce(void)
{
    struct world w;
    world_init(&w, true);
    send_at(&w, 0, 0, NET(2));
    ns_event_at(w.sim, 10 * NS_MSEC, change_mac_and_announce, &w, 0, NULL);
    send_at(&w, 20 * NS_MSEC, 0, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    uint8_t mac[6];
    CU_ASSERT_TRUE(ns_arp_lookup(w.ifc[0], NET(2), mac));
    CU_ASSERT_EQUAL(mac[5], 0x42);
    CU_ASSERT_EQUAL(mac[0], 0x02);
    CU_ASSERT_FALSE(ns_arp_lookup(w.ifc[2], NET(2), NULL));
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[1].at[1], 20 * NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 3);             /* no new request */
    /* The announce was broadcast; the switch learned b's new MAC from it,
     * so the second datagram was not flooded to c. */
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[2])->rx_filtered, 0);
    world_finish(&w);
}

static void hand_mac_to_c(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    uint8_t old[6];
    static const uint8_t fresh[6] = { 0x02, 0, 0, 0, 0, 0x43 };
    memcpy(old, ns_iface_mac(w->ifc[1]), 6);
    ns_iface_set_mac(w->ifc[1], fresh);
    ns_iface_set_mac(w->ifc[2], old);
}

/* A cache entry names a MAC, not an interface: when b's MAC moves to c
 * without an announcement, a's next datagram for b's address is a frame
 * for c's interface (b's NIC ignores it, the switch still sending b's old
 * MAC to b's port), however often a sent with the entry before. */
static void test_arp_entry_follows_mac(void)
{
    struct world w;
    world_init(&w, true);
    send_at(&w, 0, 0, NET(2));
    send_at(&w, 5 * NS_MSEC, 0, NET(2));
    ns_event_at(w.sim, 10 * NS_MSEC, hand_mac_to_c, &w, 0, NULL);
    send_at(&w, 20 * NS_MSEC, 0, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);
    CU_ASSERT_EQUAL(w.rx[2].n, 0);
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[1])->rx_filtered, 1);
    world_finish(&w);
}

static void crash_a(ns_sim *sim, void *arg)
{
    ns_host_crash(arg);
}

/* A crash empties the caches and drops what waited for resolution. */
static void test_arp_crash(void)
{
    struct world w;
    world_init(&w, true);
    send_at(&w, 0, 0, NET(2));
    send_at(&w, 10 * NS_MSEC, 0, NET(77));
    ns_event_at(w.sim, 20 * NS_MSEC, crash_a, w.h[0], 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_sim_now(w.sim), 20 * NS_MSEC);  /* no retries left */
    CU_ASSERT_FALSE(ns_arp_lookup(w.ifc[0], NET(2), NULL));
    CU_ASSERT_EQUAL(port_tx(&w, 0), 3);
    world_finish(&w);
}

/* A port taken down loses every frame reaching it, those already on the
 * wire included, counts them as link-down and reports its interface
 * down; back up, frames pass again.  Other ports are unaffected. */
static void cut_port(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_up(w->lan, w->ifc[1], false));
}

static void test_lan_port_down(void)
{
    struct world w;
    world_init(&w, false);
    send_at(&w, 0, 0, NET(2));                      /* on the wire when cut */
    ns_event_at(w.sim, UDP_CROSS / 2, cut_port, &w, 0, NULL);
    send_at(&w, NS_MSEC, 2, NET(1));                /* a: still up */
    ns_sim_run(w.sim, 10 * NS_MSEC, 0);
    CU_ASSERT_EQUAL(w.rx[1].n, 0);
    CU_ASSERT_EQUAL(w.rx[0].n, 1);
    CU_ASSERT_FALSE(ns_iface_is_up(w.ifc[1]));
    CU_ASSERT_TRUE(ns_iface_is_up(w.ifc[0]));
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[1])->drops[NS_DROP_LINK_DOWN], 1);
    CU_ASSERT_TRUE(ns_lan_port_set_up(w.lan, w.ifc[1], true));
    CU_ASSERT_TRUE(ns_iface_is_up(w.ifc[1]));
    send_at(&w, 20 * NS_MSEC, 0, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 1);
    CU_ASSERT_EQUAL(w.rx[1].at[0], 20 * NS_MSEC + UDP_CROSS);
    world_finish(&w);
}

/* One datagram every 10 µs, `left` of them: no queue ever fills. */
struct pacer {
    ns_udp  *from;
    uint32_t to;
    int      left;
};

static void paced_send(ns_sim *sim, void *arg)
{
    struct pacer *p = arg;
    CU_ASSERT_TRUE(ns_udp_send(p->from, p->to, PORT, "x", 1));
    if (--p->left > 0)
        ns_event_after(sim, 10 * NS_USEC, paced_send, p);
}

/* A lossy LAN (loss = 0.2 per port direction): a frame from a to b
 * crosses two cables and survives with probability 0.8^2 = 0.64; drops
 * are counted as loss on the port where they happened, and the same seed
 * loses the same frames. */
static unsigned lossy_run(uint64_t seed, uint64_t drops[2])
{
    ns_sim *sim = ns_sim_new(seed);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.arp = false;
    o.loss = 0.2;
    ns_lan *lan = ns_lan_new(sim, "lossy", &o, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lan);
    ns_host *a = ns_host_new(sim, "a", NULL), *b = ns_host_new(sim, "b", NULL);
    ns_iface *ia = ns_lan_attach(lan, a, 0, NULL), *ib = ns_lan_attach(lan, b, 0, NULL);
    struct rx got = { 0 };
    struct pacer pace = { ns_udp_bind(a, PORT, NULL), ns_iface_addr(ib), 1000 };
    ns_udp *ub = ns_udp_bind(b, PORT, NULL);
    ns_udp_on_receive(ub, on_rx, &got);
    ns_event_after(sim, 0, paced_send, &pace);
    ns_sim_run(sim, NS_TIME_MAX, 0);
    drops[0] = ns_lan_port_stats(lan, ia)->drops[NS_DROP_LOSS];
    drops[1] = ns_lan_port_stats(lan, ib)->drops[NS_DROP_LOSS];
    CU_ASSERT_EQUAL(ns_pkt_live(sim), 0);
    ns_sim_free(sim);
    return (unsigned)got.n;
}

static void test_lan_loss(void)
{
    uint64_t d1[2], d2[2];
    unsigned n1 = lossy_run(1, d1), n2 = lossy_run(1, d2);
    CU_ASSERT_EQUAL(n1, n2);                        /* deterministic */
    CU_ASSERT_EQUAL(d1[0], d2[0]);
    /* 1000 frames: E = 640 arrive, sd = 15; 560..720 is over 5 sd. */
    CU_ASSERT_TRUE(n1 > 560 && n1 < 720);
    CU_ASSERT_EQUAL(d1[0] + d1[1] + n1, 1000);      /* every loss counted once */
    CU_ASSERT_TRUE(d1[0] > 120 && d1[0] < 280);    /* ~200 on a's cable */
    /* Out of range is refused, naming the LAN. */
    ns_sim *sim = ns_sim_new(1);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.loss = 1.5;
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_lan_new(sim, "bad", &o, &err));
    CU_ASSERT_STRING_EQUAL(err ? err->message : "", "LAN 'bad': loss 1.5 is outside [0, 1]");
    g_clear_error(&err);
    ns_sim_free(sim);
}

/* A split: a and b on side 1, c on side 0.  a reaches b but not c (the
 * switch, which knows c's port, drops the frame as link-down on a's
 * port); a broadcast from a reaches only b; after healing, c hears a
 * again. */
static void split_ab(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_side(w->lan, w->ifc[0], 1));
    CU_ASSERT_TRUE(ns_lan_port_set_side(w->lan, w->ifc[1], 1));
}

static void heal_ab(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_side(w->lan, w->ifc[0], 0));
    CU_ASSERT_TRUE(ns_lan_port_set_side(w->lan, w->ifc[1], 0));
}

static void test_lan_sides(void)
{
    struct world w;
    world_init(&w, false);
    send_at(&w, 0, 2, NET(1));                      /* c -> a: the switch learns c */
    ns_event_at(w.sim, NS_MSEC, split_ab, &w, 0, NULL);
    send_at(&w, 2 * NS_MSEC, 0, NET(2));            /* a -> b: same side */
    send_at(&w, 2 * NS_MSEC, 0, NET(3));            /* a -> c: across */
    send_at(&w, 3 * NS_MSEC, 0, NET(255));          /* broadcast from a */
    ns_event_at(w.sim, 10 * NS_MSEC, heal_ab, &w, 0, NULL);
    send_at(&w, 11 * NS_MSEC, 0, NET(3));           /* healed: a -> c */
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 2);                  /* unicast + broadcast */
    CU_ASSERT_EQUAL(w.rx[2].n, 1);                  /* only after the heal */
    CU_ASSERT_EQUAL(w.rx[0].n, 1);                  /* c's, before the split */
    CU_ASSERT_EQUAL(ns_lan_port_stats(w.lan, w.ifc[0])->drops[NS_DROP_LINK_DOWN], 1);
    world_finish(&w);
}

void test_lan_register(void)
{
    CU_pSuite s = ns_test_suite("lan", NULL, NULL);
    ns_test_add(s, "addresses", test_lan_addresses);
    ns_test_add(s, "automatic addresses: the lowest free", test_lan_auto_addr_lowest_free);
    ns_test_add(s, "errors", test_lan_errors);
    ns_test_add(s, "unicast timing without ARP", test_lan_unicast_timing_noarp);
    ns_test_add(s, "unicast timing with ARP", test_lan_unicast_timing_arp);
    ns_test_add(s, "broadcast", test_lan_broadcast);
    ns_test_add(s, "broadcast batched", test_lan_broadcast_batched);
    ns_test_add(s, "switch learning", test_lan_learning);
    ns_test_add(s, "no ARP, unknown next hop", test_lan_noarp_unknown);
    ns_test_add(s, "port down and up", test_lan_port_down);
    ns_test_add(s, "lossy cables", test_lan_loss);
    ns_test_add(s, "partition sides", test_lan_sides);
    ns_test_add(s, "ARP cache timeout", test_arp_timeout);
    ns_test_add(s, "ARP unanswered", test_arp_unanswered);
    ns_test_add(s, "ARP probe", test_arp_probe);
    ns_test_add(s, "ARP announce", test_arp_announce);
    ns_test_add(s, "ARP entry follows its MAC to another interface", test_arp_entry_follows_mac);
    ns_test_add(s, "ARP crash", test_arp_crash);
}
