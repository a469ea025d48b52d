/* test_host.c — hosts driven from C: crash, restart and pause with their
 * observers, the CPU model, address rules and address observers. */
#include "testnet.h"

/* ---- host faults ------------------------------------------------------ */

struct fault_rec {
    const char        *host;
    enum ns_host_fault f;
    ns_time_t          at;
};

struct faults {
    int              n;
    struct fault_rec r[8];
};

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    struct faults *fs = ud;
    if (fs->n < 8)
        fs->r[fs->n] = (struct fault_rec){ ns_host_name(h), f, ns_sim_now(ns_host_sim(h)) };
    fs->n++;
}

struct fault_req {
    ns_host  *h;
    int       what;             /* 0 crash, 1 restart, 2 pause */
    ns_time_t dur;
};

static void do_fault(ns_sim *sim, void *arg)
{
    struct fault_req *r = arg;
    if (r->what == 0)
        ns_host_crash(r->h);
    else if (r->what == 1)
        ns_host_restart(r->h);
    else
        ns_host_pause(r->h, r->dur);
}

static void fault_at(struct world *w, ns_time_t at, ns_host *h, int what, ns_time_t dur)
{
    struct fault_req *r = own(w, sizeof *r);
    *r = (struct fault_req){ h, what, dur };
    ns_event_at(w->sim, at, do_fault, r, 0, NULL);
}

static void check_fault(const struct faults *fs, int i, const char *host,
                        enum ns_host_fault f, ns_time_t at)
{
    CU_ASSERT_TRUE_FATAL(i < fs->n);
    CU_ASSERT_STRING_EQUAL(fs->r[i].host, host);
    CU_ASSERT_EQUAL(fs->r[i].f, f);
    CU_ASSERT_EQUAL(fs->r[i].at, at);
}

static void test_crash_restart(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    struct faults fs = { 0 };
    ns_net_on_fault(w.sim, on_fault, &fs);
    ns_udp *sa = listen_on(&w, a, 5000), *sb = listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, 1, true);
    fault_at(&w, NS_MSEC / 2, b, 0, 0);
    struct tx *from_down = send_at(&w, 2 * NS_MSEC, sb, ns_host_addr(a), 5000, PAYLOAD, 2, true);
    fault_at(&w, 5 * NS_MSEC, b, 1, 0);
    send_at(&w, 6 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 3, true);
    world_run(&w);

    CU_ASSERT_EQUAL(fs.n, 2);
    check_fault(&fs, 0, "b", NS_HOST_CRASH, NS_MSEC / 2);
    check_fault(&fs, 1, "b", NS_HOST_RESTART, 5 * NS_MSEC);
    CU_ASSERT_FALSE(from_down->sent);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_HOST_DOWN], 2);   /* one in, one out */
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->tag, 3);
    CU_ASSERT_EQUAL(rx_at(&w, 0)->at, 6 * NS_MSEC + 113600 + NS_MSEC);
    CU_ASSERT_TRUE(ns_host_is_up(b));
    CU_ASSERT_STRING_EQUAL(ns_host_fault_name(NS_HOST_CRASH), "crash");
    world_free(&w);
}

/* b pauses from 0.5 ms to 10.5 ms: five datagrams arriving meanwhile are
 * handled at 10.5 ms, in order.  A crash during a pause drops what is
 * held and ends the pause without a resume. */
static void test_pause_holds(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    link_rd(&w, a, b, 10e6, NS_MSEC);
    struct faults fs = { 0 };
    ns_net_on_fault(w.sim, on_fault, &fs);
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    for (uint32_t k = 0; k < 5; k++)
        send_at(&w, 0, sa, ns_host_addr(b), PORT, PAYLOAD, k, true);
    fault_at(&w, NS_MSEC / 2, b, 2, 10 * NS_MSEC);
    send_at(&w, 20 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 5, true);
    fault_at(&w, 30 * NS_MSEC, b, 2, 10 * NS_MSEC);
    send_at(&w, 30 * NS_MSEC, sa, ns_host_addr(b), PORT, PAYLOAD, 6, true);
    fault_at(&w, 35 * NS_MSEC, b, 0, 0);
    fault_at(&w, 50 * NS_MSEC, b, 1, 0);
    world_run(&w);

    CU_ASSERT_EQUAL_FATAL(w.rx->len, 6);
    for (guint i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(rx_at(&w, i)->tag, i);
        CU_ASSERT_EQUAL(rx_at(&w, i)->at, 10 * NS_MSEC + NS_MSEC / 2);
    }
    CU_ASSERT_EQUAL(rx_at(&w, 5)->tag, 5);
    CU_ASSERT_EQUAL(rx_at(&w, 5)->at, 20 * NS_MSEC + 113600 + NS_MSEC);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_HOST_DOWN], 1);
    CU_ASSERT_EQUAL(fs.n, 5);
    check_fault(&fs, 0, "b", NS_HOST_PAUSE, NS_MSEC / 2);
    check_fault(&fs, 1, "b", NS_HOST_RESUME, 10 * NS_MSEC + NS_MSEC / 2);
    check_fault(&fs, 2, "b", NS_HOST_PAUSE, 30 * NS_MSEC);
    check_fault(&fs, 3, "b", NS_HOST_CRASH, 35 * NS_MSEC);
    check_fault(&fs, 4, "b", NS_HOST_RESTART, 50 * NS_MSEC);
    CU_ASSERT_FALSE(ns_host_is_paused(b));
    world_free(&w);
}

/* ---- CPU -------------------------------------------------------------- */

struct cpu_done {
    struct world *w;
    GArray       *log;          /* (id << 48 | ms) per completion */
    int           id;
};

static void cpu_done(ns_sim *sim, void *arg)
{
    struct cpu_done *d = arg;
    int64_t v = (int64_t)d->id << 48 | ns_sim_now(sim);
    g_array_append_val(d->log, v);
}

static struct cpu_done *cpu_item(struct world *w, GArray *log, int id)
{
    struct cpu_done *d = own(w, sizeof *d);
    *d = (struct cpu_done){ w, log, id };
    return d;
}

struct submit_req {
    ns_host         *h;
    ns_time_t        work;
    struct cpu_done *d;
};

static void do_submit(ns_sim *sim, void *arg)
{
    struct submit_req *r = arg;
    ns_cpu_submit(r->h, r->work, cpu_done, r->d);
}

static int64_t done_at(int id, ns_time_t t) { return (int64_t)id << 48 | t; }

static void test_cpu(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *h = host(&w, "h", false), *one = host(&w, "one", false);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(int64_t));
    ns_host_set_cores(h, 2);
    for (int i = 1; i <= 3; i++)
        ns_cpu_submit(h, 10 * NS_MSEC, cpu_done, cpu_item(&w, log, i));
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(log->len, 3);
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 0), done_at(1, 10 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 1), done_at(2, 10 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 2), done_at(3, 20 * NS_MSEC));
    CU_ASSERT_EQUAL(ns_cpu_busy_time(h), 30 * NS_MSEC);

    /* One core: item 4 done at 30 ms, 5 running and 6 queued at the crash
     * (35 ms) are dropped; submissions while down are ignored; after the
     * restart work runs again. */
    g_array_set_size(log, 0);
    for (int i = 4; i <= 6; i++)
        ns_cpu_submit(one, 10 * NS_MSEC, cpu_done, cpu_item(&w, log, i));
    fault_at(&w, 35 * NS_MSEC, one, 0, 0);
    struct submit_req *down = own(&w, sizeof *down);
    *down = (struct submit_req){ one, NS_MSEC, cpu_item(&w, log, 7) };
    ns_event_at(w.sim, 36 * NS_MSEC, do_submit, down, 0, NULL);
    fault_at(&w, 40 * NS_MSEC, one, 1, 0);
    struct submit_req *up = own(&w, sizeof *up);
    *up = (struct submit_req){ one, 5 * NS_MSEC, cpu_item(&w, log, 8) };
    ns_event_at(w.sim, 41 * NS_MSEC, do_submit, up, 0, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL_FATAL(log->len, 2);
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 0), done_at(4, 30 * NS_MSEC));
    CU_ASSERT_EQUAL(g_array_index(log, int64_t, 1), done_at(8, 46 * NS_MSEC));
    CU_ASSERT_EQUAL(ns_cpu_busy_time(one), 15 * NS_MSEC);
    CU_ASSERT_EQUAL(ns_event_pending_all(w.sim), 0);
    g_array_free(log, TRUE);
    world_free(&w);
}

/* ---- addresses and their errors --------------------------------------- */

static void test_address_errors(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false), *c = host(&w, "c", false);
    GError *err = NULL;
    struct ns_link_opts o;

    ns_link_opts_defaults(&o);
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, a, &o, &err));
    check_error(&err, "link 'a-a': cannot link host 'a' to itself");
    o.rate_bps = 0;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");
    o.rate_bps = -5e6;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': rate -5e+06 bit/s is not in [1 bit/s, 1 Pbit/s]");
    o.rate_bps = 1e6;
    o.loss = 1.5;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': loss 1.5 is outside [0, 1]");
    o.loss = -0.25;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': loss -0.25 is outside [0, 1]");
    o.loss = 0;
    o.delay = -1;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, b, &o, &err));
    check_error(&err, "link 'a-b': delay and jitter must not be negative");
    CU_ASSERT_EQUAL(ns_link_count(w.sim), 0);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 0);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(b), 0);

    ns_link *ab = link_addrs(&w, a, b, "10.0.1.1", "10.0.1.2");
    ns_link *ac = link_addrs(&w, a, c, "10.0.2.1", "10.0.2.2");
    CU_ASSERT_FALSE(ns_link_set_loss(ab, -1, 2, &err));
    check_error(&err, "link 'a-b': loss 2 is outside [0, 1]");
    CU_ASSERT_FALSE(ns_link_set_rate(ab, 0, 0, &err));
    check_error(&err, "link 'a-b': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");

    ns_iface *eth1 = ns_link_iface(ac, 0);
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.1.1"), 24, &err));
    CU_ASSERT_TRUE(err && g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    check_error(&err, "host 'a': address 10.0.1.1 is already on eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.1.77"), 24, &err));
    check_error(&err, "host 'a': subnet 10.0.1.0/24 of eth1 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.9.9"), 16, &err));
    check_error(&err, "host 'a': subnet 10.0.0.0/16 of eth1 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_FALSE(ns_iface_set_addr(eth1, ip("10.0.9.9"), 33, &err));
    check_error(&err, "host 'a': prefix /33 is outside [1, 32]");
    CU_ASSERT_EQUAL(ns_iface_addr(eth1), ip("10.0.2.1"));
    CU_ASSERT_EQUAL(ns_iface_prefix(eth1), 24);
    /* The same address on two different hosts' subnets is not this rule. */
    CU_ASSERT_TRUE(ns_iface_set_addr(ns_link_iface(ac, 1), ip("10.0.2.3"), 24, &err));

    /* A link whose given address clashes leaves nothing behind. */
    ns_link_opts_defaults(&o);
    o.a_addr = ip("10.0.1.5");
    o.b_addr = ip("10.0.1.6");
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': host 'a': subnet 10.0.1.0/24 of eth2 overlaps 10.0.1.0/24 of eth0");
    CU_ASSERT_EQUAL(ns_link_count(w.sim), 2);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 2);
    CU_ASSERT_EQUAL(ns_host_n_ifaces(c), 1);
    o.a_addr = ip("10.0.5.1");
    o.b_addr = ip("10.0.2.9");
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': host 'c': subnet 10.0.2.0/24 of eth1 overlaps 10.0.2.0/24 of eth0");
    CU_ASSERT_EQUAL(ns_host_n_ifaces(a), 2);
    CU_ASSERT_FALSE(ns_host_has_addr(a, ip("10.0.5.1")));
    o.a_addr = ip("10.0.5.1");
    o.b_addr = 0;
    CU_ASSERT_PTR_NULL(ns_link_new(w.sim, a, c, &o, &err));
    check_error(&err, "link 'a-c': give both addresses or neither");

    CU_ASSERT_PTR_NULL(ns_host_new(w.sim, "a", &err));
    check_error(&err, "host 'a' already exists");

    listen_on(&w, b, 7);
    CU_ASSERT_PTR_NULL(ns_udp_bind(b, 7, &err));
    CU_ASSERT_TRUE(err && g_error_matches(err, NS_ERROR, NS_ERROR_EXISTS));
    check_error(&err, "host 'b': UDP port 7 is already bound");
    world_free(&w);
}

struct addr_change {
    ns_iface *ifc;
    uint32_t  old, now;
};

static void on_addr(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud)
{
    struct addr_change c = { ifc, old_addr, new_addr };
    g_array_append_val((GArray *)ud, c);
}

static void test_addr_observers(void)
{
    struct world w;
    world_init(&w, 1);
    GArray *log = g_array_new(FALSE, FALSE, sizeof(struct addr_change));
    ns_net_on_addr_change(w.sim, on_addr, log);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_iface *ia = ns_link_iface(l, 0), *ib = ns_link_iface(l, 1);
    CU_ASSERT_EQUAL_FATAL(log->len, 2);
    struct addr_change *c = &g_array_index(log, struct addr_change, 0);
    CU_ASSERT_PTR_EQUAL(c[0].ifc, ia);
    CU_ASSERT_EQUAL(c[0].old, 0);
    CU_ASSERT_EQUAL(c[0].now, ip("10.0.1.1"));
    CU_ASSERT_PTR_EQUAL(c[1].ifc, ib);
    CU_ASSERT_EQUAL(c[1].now, ip("10.0.1.2"));

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_iface_set_addr(ib, ip("10.0.1.9"), 24, &err));
    CU_ASSERT_TRUE(ns_host_has_addr(b, ip("10.0.1.9")));
    CU_ASSERT_FALSE(ns_host_has_addr(b, ip("10.0.1.2")));
    CU_ASSERT_TRUE(ns_iface_set_addr(ib, 0, 0, &err));
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_EQUAL_FATAL(log->len, 4);
    c = &g_array_index(log, struct addr_change, 0);
    CU_ASSERT_PTR_EQUAL(c[2].ifc, ib);
    CU_ASSERT_EQUAL(c[2].old, ip("10.0.1.2"));
    CU_ASSERT_EQUAL(c[2].now, ip("10.0.1.9"));
    CU_ASSERT_EQUAL(c[3].old, ip("10.0.1.9"));
    CU_ASSERT_EQUAL(c[3].now, 0);
    CU_ASSERT_EQUAL(ns_iface_addr(ib), 0);
    CU_ASSERT_EQUAL(ns_iface_prefix(ib), 0);
    CU_ASSERT_EQUAL(ns_host_addr(b), 0);
    CU_ASSERT_FALSE(ns_host_has_addr(b, ip("10.0.1.9")));

    /* A datagram to the removed address reaches b and is not taken. */
    ns_udp *sa = listen_on(&w, a, 5000);
    listen_on(&w, b, PORT);
    send_at(&w, 0, sa, ip("10.0.1.9"), PORT, PAYLOAD, 0, false);
    world_run(&w);
    CU_ASSERT_EQUAL(w.rx->len, 0);
    CU_ASSERT_EQUAL(ns_host_stats(b)->drops[NS_DROP_NO_ROUTE], 1);
    g_array_free(log, TRUE);
    world_free(&w);
}

/* ns_host_owning answers what a linear ns_host_has_addr search over the
 * hosts in creation order answers, and follows address changes and new
 * hosts (its index is cached). */
static void test_owning(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_iface *ib = ns_link_iface(l, 1);
    CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, ip("10.0.1.1")), a);
    CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, ip("10.0.1.2")), b);
    /* the subnet broadcast: both accept it, the first created owns it */
    CU_ASSERT_TRUE(ns_host_has_addr(b, ip("10.0.1.255")));
    CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, ip("10.0.1.255")), a);
    CU_ASSERT_PTR_NULL(ns_host_owning(w.sim, NS_IP_BROADCAST));
    CU_ASSERT_PTR_NULL(ns_host_owning(w.sim, 0));
    CU_ASSERT_PTR_NULL(ns_host_owning(w.sim, ip("10.0.1.9")));

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_iface_set_addr(ib, ip("10.0.1.9"), 24, &err));
    CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, ip("10.0.1.9")), b);
    CU_ASSERT_PTR_NULL(ns_host_owning(w.sim, ip("10.0.1.2")));

    ns_host *c = host(&w, "c", false);
    CU_ASSERT_PTR_NULL(ns_host_owning(w.sim, ip("10.0.2.2")));
    link_rd(&w, b, c, 10e6, NS_MSEC);
    CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, ip("10.0.2.2")), c);
    for (uint32_t x = ip("10.0.0.0"); x < ip("10.0.3.0"); x++) {
        ns_host *first = NULL;
        for (size_t i = 0; i < ns_host_count(w.sim) && !first; i++)
            if (ns_host_has_addr(ns_host_nth(w.sim, i), x))
                first = ns_host_nth(w.sim, i);
        CU_ASSERT_PTR_EQUAL(ns_host_owning(w.sim, x), first);
    }
    world_free(&w);
}

/* ns_udp_rx_iface names the receiving interface during the receive
 * callback only; a callback may close its socket (and bind the port
 * anew): the new socket is then left without one. */
struct rx_iface_probe {
    struct world *w;
    ns_iface     *seen[2];        /* during the first and second receive */
    int           n;
    ns_udp       *rebound;
};

static void on_rx_iface(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)p; (void)src; (void)sport;
    struct rx_iface_probe *pr = ud;
    if (pr->n < 2)
        pr->seen[pr->n] = ns_udp_rx_iface(s);
    if (++pr->n == 2) {           /* the second: close, bind the port anew */
        ns_host *h = ns_udp_host(s);
        ns_udp_close(s);
        pr->rebound = listen_on(pr->w, h, PORT);
    }
}

static void test_udp_rx_iface(void)
{
    struct world w;
    world_init(&w, 1);
    ns_host *a = host(&w, "a", false), *b = host(&w, "b", false);
    ns_link *l = link_rd(&w, a, b, 10e6, NS_MSEC);
    ns_udp *sa = listen_on(&w, a, 5000);
    GError *err = NULL;
    ns_udp *sb = ns_udp_bind(b, PORT, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
    struct rx_iface_probe pr = { .w = &w };
    ns_udp_on_receive(sb, on_rx_iface, &pr);
    CU_ASSERT_PTR_NULL(ns_udp_rx_iface(sb));
    send_at(&w, 0, sa, ip("10.0.1.2"), PORT, PAYLOAD, 0, false);
    send_at(&w, NS_SEC, sa, ip("10.0.1.2"), PORT, PAYLOAD, 0, false);
    send_at(&w, 2 * NS_SEC, sa, ip("10.0.1.2"), PORT, PAYLOAD, 7, true);
    world_run(&w);
    CU_ASSERT_EQUAL(pr.n, 2);
    CU_ASSERT_PTR_EQUAL(pr.seen[0], ns_link_iface(l, 1));
    CU_ASSERT_PTR_EQUAL(pr.seen[1], ns_link_iface(l, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pr.rebound);
    CU_ASSERT_PTR_NULL(ns_udp_rx_iface(pr.rebound));
    CU_ASSERT_EQUAL(w.rx->len, 1);              /* the third, to the new socket */
    if (w.rx->len == 1)
        CU_ASSERT_EQUAL(rx_at(&w, 0)->tag, 7);
    world_free(&w);
}

void test_host_register(void)
{
    CU_pSuite s = ns_test_suite("host", NULL, NULL);
    ns_test_add(s, "crash drops, restart resumes, observers told", test_crash_restart);
    ns_test_add(s, "pause holds packets and delivers them in order", test_pause_holds);
    ns_test_add(s, "CPU: cores, FIFO, crash drops work", test_cpu);
    ns_test_add(s, "address, link and port errors", test_address_errors);
    ns_test_add(s, "address observers; removing an address", test_addr_observers);
    ns_test_add(s, "the owner of an address, cached, follows changes", test_owning);
    ns_test_add(s, "UDP receive interface, across a callback that closes", test_udp_rx_iface);
}
