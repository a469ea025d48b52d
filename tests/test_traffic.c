/* test_traffic.c — the UDP traffic generators: CBR count and spacing,
 * Poisson rate and gaps, on/off periods. */
#include "testnet.h"

/* ---- traffic generators ----------------------------------------------- */

#define GEN_LAT 1136

static void gen_world(struct world *w, ns_udp **sa)
{
    world_init(w, 5);
    ns_host *a = host(w, "a", false), *b = host(w, "b", false);
    struct ns_link_opts o;
    ns_link_opts_defaults(&o);
    o.qcfg.limit_pkts = 0;
    link_opts(w, a, b, &o);
    *sa = listen_on(w, a, 5000);
    listen_on(w, b, PORT);
}

static void do_close(ns_sim *sim, void *arg)
{
    ns_udp_close(arg);
}

static void test_cbr(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    uint32_t dst = ns_host_addr(ns_host_find(w.sim, "b"));
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_CBR, .dst = dst, .dport = PORT, .size = PAYLOAD,
        .pkts_per_s = 1000, .start = NS_SEC / 2, .stop = 3 * NS_SEC / 2,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 1000);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 1000);
    int bad = 0;
    for (guint k = 0; k < 1000; k++)
        if (rx_at(&w, k)->at != NS_SEC / 2 + k * NS_MSEC + GEN_LAT || rx_at(&w, k)->len != PAYLOAD)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);

    /* 3 packets/s for 1000 s: exactly 3000, the k-th at k/3 s rounded (a
     * rounded gap added each time would drift and send a 3001st). */
    g_array_set_size(w.rx, 0);
    o.pkts_per_s = 3;
    o.start = 2 * NS_SEC;
    o.stop = 1002 * NS_SEC;
    t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 3000);
    CU_ASSERT_EQUAL_FATAL(w.rx->len, 3000);
    bad = 0;
    for (guint k = 0; k < 3000; k++)
        if (rx_at(&w, k)->at != 2 * NS_SEC + (k * NS_SEC + 1) / 3 + GEN_LAT)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);

    /* count stops it; ns_traffic_stop stops it. */
    g_array_set_size(w.rx, 0);
    o.pkts_per_s = 100;
    o.start = 2000 * NS_SEC;
    o.stop = 0;
    o.count = 7;
    t = traffic(sa, &o);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 7);
    CU_ASSERT_EQUAL(w.rx->len, 7);
    o.count = 0;
    o.start = 3000 * NS_SEC;
    t = traffic(sa, &o);
    ns_traffic_stop(t);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 0);

    /* Closing the socket stops its generators (at 4000.35 s: 4 sent). */
    ns_udp *tmp = listen_on(&w, ns_udp_host(sa), 6000);
    o.start = 4000 * NS_SEC;
    o.pkts_per_s = 10;
    t = traffic(tmp, &o);
    ns_event_at(w.sim, 4000 * NS_SEC + 350 * NS_MSEC, do_close, tmp, 0, NULL);
    world_run(&w);
    CU_ASSERT_EQUAL(ns_traffic_sent(t), 4);

    GError *err = NULL;
    o.pkts_per_s = 0;
    CU_ASSERT_PTR_NULL(ns_traffic_start(sa, &o, &err));
    check_error(&err, "traffic from 'a': packet rate 0/s must be > 0");
    world_free(&w);
}

static void test_poisson(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_POISSON, .dst = ns_host_addr(ns_host_find(w.sim, "b")),
        .dport = PORT, .size = PAYLOAD, .pkts_per_s = 1000, .start = 0, .stop = 100 * NS_SEC,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);
    uint64_t n = ns_traffic_sent(t);
    CU_ASSERT_EQUAL(w.rx->len, n);
    /* 100,000 expected, standard deviation 316. */
    CU_ASSERT_TRUE(n > 98500 && n < 101500);
    /* Exponential gaps: the standard deviation equals the mean. */
    double sum = 0, sum2 = 0;
    for (guint k = 1; k < w.rx->len; k++) {
        double g = (double)(rx_at(&w, k)->at - rx_at(&w, k - 1)->at);
        sum += g;
        sum2 += g * g;
    }
    double m = sum / (w.rx->len - 1), sd = sqrt(sum2 / (w.rx->len - 1) - m * m);
    CU_ASSERT_DOUBLE_EQUAL(m, 1e6, 2e4);
    CU_ASSERT_DOUBLE_EQUAL(sd / m, 1.0, 0.03);
    world_free(&w);
}

/* On/off: the periods are drawn from the generator's own stream
 * ("traffic.<host>.<port>.<index>"), on first, each starting where the
 * last ended; replaying the stream gives exactly the times packets must
 * be sent: 1/rate apart from the start of each on period, none in off
 * periods. */
static void test_onoff(void)
{
    struct world w;
    ns_udp *sa;
    gen_world(&w, &sa);
    const double pps = 100;
    struct ns_traffic_opts o = {
        .kind = NS_TRAFFIC_ONOFF, .dst = ns_host_addr(ns_host_find(w.sim, "b")),
        .dport = PORT, .size = PAYLOAD, .pkts_per_s = pps, .start = NS_SEC,
        .stop = 301 * NS_SEC, .mean_on = NS_SEC, .mean_off = 2 * NS_SEC,
    };
    ns_traffic *t = traffic(sa, &o);
    world_run(&w);

    ns_rng r;
    ns_rng_init(&r, 5, "traffic.a.5000.0");
    GArray *want = g_array_new(FALSE, FALSE, sizeof(ns_time_t));
    ns_time_t begin = o.start;
    int on_periods = 0;
    for (bool on = true; begin < o.stop; on = !on) {
        ns_time_t end = begin + ns_time_from_sec(ns_rng_exp(&r, on ? 1.0 : 2.0));
        for (uint64_t n = 0; on; n++) {
            ns_time_t at = begin + (ns_time_t)llround((double)n * 1e9 / pps);
            if (at >= end || at >= o.stop)
                break;
            g_array_append_val(want, at);
        }
        on_periods += on;
        begin = end;
    }
    CU_ASSERT_TRUE(on_periods > 50);
    CU_ASSERT_TRUE(want->len > 5000 && want->len < 15000);   /* about 10,000 */
    CU_ASSERT_EQUAL(ns_traffic_sent(t), want->len);
    CU_ASSERT_EQUAL(w.rx->len, want->len);
    int bad = 0;
    for (guint k = 0; k < w.rx->len && k < want->len; k++)
        if (rx_at(&w, k)->at != g_array_index(want, ns_time_t, k) + GEN_LAT)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    g_array_free(want, TRUE);

    GError *err = NULL;
    o.mean_off = 0;
    CU_ASSERT_PTR_NULL(ns_traffic_start(sa, &o, &err));
    check_error(&err, "traffic from 'a': on and off periods must be > 0");
    world_free(&w);
}

void test_traffic_register(void)
{
    CU_pSuite s = ns_test_suite("traffic", NULL, NULL);
    ns_test_add(s, "CBR: exact count and spacing", test_cbr);
    ns_test_add(s, "Poisson: mean rate and exponential gaps", test_poisson);
    ns_test_add(s, "on/off: sends only in on periods", test_onoff);
}
