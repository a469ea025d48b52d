/* test_lan_port.c — a LAN port's directions (lan_port.c): the end of a
 * frame's serialisation takes an event only when a frame waits behind it,
 * and the model stays exact: arrival times to the nanosecond, a pulled
 * cable, RED and CoDel on a congested port, and the event count itself.
 *
 * The world (three hosts a, b, c on "lan0" at 10 Mbit/s, 100 us per port)
 * and its timings are in lanworld.h. */
#include <string.h>

#include "lanworld.h"
#include "queue_recorder.h"

#define SER 113600                      /* one 142-byte frame on a port */

/* Arrival times to the nanosecond where a frame's end of serialisation
 * needs an event (frames queued behind it) and where it does not: a
 * burst queued on an uplink, frames sent while an uplink serialises a
 * frame that started on an empty queue (one at exactly its end, which
 * continues the busy period), an idle port, and two senders converging
 * on one downlink. */

static void test_lan_timing_queued_and_idle(void)
{
    struct world w;
    world_init(&w, false);
    for (int k = 0; k < 4; k++)
        send_at(&w, 0, 0, NET(2));                      /* burst a -> b */
    send_at(&w, NS_MSEC, 2, NET(1));                    /* c -> a, idle */
    send_at(&w, NS_MSEC + 50000, 2, NET(1));            /* during the first */
    send_at(&w, NS_MSEC + 2 * SER, 2, NET(1));          /* at the second's end */
    send_at(&w, 5 * NS_MSEC, 0, NET(2));                /* idle again */
    send_at(&w, 10 * NS_MSEC, 0, NET(2));               /* a and c to b at once */
    send_at(&w, 10 * NS_MSEC, 2, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL_FATAL(w.rx[1].n, 7);
    for (int k = 0; k < 4; k++)
        CU_ASSERT_EQUAL(w.rx[1].at[k], UDP_CROSS + k * SER);
    CU_ASSERT_EQUAL(w.rx[1].at[4], 5 * NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[5], 10 * NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(w.rx[1].at[6], 10 * NS_MSEC + UDP_CROSS + SER);
    CU_ASSERT_EQUAL_FATAL(w.rx[0].n, 3);
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(w.rx[0].at[k], NS_MSEC + UDP_CROSS + k * SER);
    world_finish(&w);
}

/* An uncongested crossing takes two events (arrival at the switch,
 * arrival at the host), not four; a burst needs a tx_done for every frame
 * that has another queued behind it on the uplink, and none downstream,
 * where each frame reaches the switch as the one before leaves. */
static void test_lan_events_per_datagram(void)
{
    struct world w;
    world_init(&w, false);
    for (int k = 0; k < 40; k++)
        send_at(&w, k * NS_MSEC, k % 2 ? 1 : 0, NET(k % 2 ? 1 : 2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[0].n + w.rx[1].n, 40);
    CU_ASSERT_EQUAL(w.rx[1].at[19], 38 * NS_MSEC + UDP_CROSS);
    CU_ASSERT_EQUAL(ns_sim_events_run(w.sim), 40 + 2 * 40);   /* sends + 2 each */

    uint64_t before = ns_sim_events_run(w.sim);
    for (int k = 0; k < 10; k++)
        send_at(&w, 100 * NS_MSEC, 0, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(w.rx[1].n, 30);
    /* 10 sends, 9 uplink tx_dones, 10 + 10 arrivals */
    CU_ASSERT_EQUAL(ns_sim_events_run(w.sim) - before, 10 + 9 + 20);
    world_finish(&w);
}

/* Pulling a cable while a frame is serialised on it loses the frame only
 * if the port is still down when the frame reaches the cable's far end,
 * at that instant, as before: restored in time, it is delivered. */
struct drop_probe {
    struct world *w;
    int           port;
    uint64_t      seen[4];
    int           n;
};

static void probe_drops(ns_sim *sim, void *arg)
{
    (void)sim;
    struct drop_probe *pr = arg;
    pr->seen[pr->n++] =
        ns_lan_port_stats(pr->w->lan, pr->w->ifc[pr->port])->drops[NS_DROP_LINK_DOWN];
}

static void restore_a(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_up(w->lan, w->ifc[0], true));
}

static void cut_a(ns_sim *sim, void *arg)
{
    (void)sim;
    struct world *w = arg;
    CU_ASSERT_TRUE(ns_lan_port_set_up(w->lan, w->ifc[0], false));
}

static void test_lan_port_down_serialising(void)
{
    struct world w;
    world_init(&w, false);
    struct drop_probe pr = { &w, 0, { 0 }, 0 };
    send_at(&w, 0, 0, NET(2));
    ns_event_at(w.sim, 50000, cut_a, &w, 0, NULL);          /* mid-serialisation */
    ns_event_at(w.sim, 150000, restore_a, &w, 0, NULL);     /* before the switch */
    ns_time_t t = NS_MSEC;                                  /* the switch gets it at t + 213,600 */
    send_at(&w, t, 0, NET(2));
    ns_event_at(w.sim, t + 50000, cut_a, &w, 0, NULL);
    ns_event_at(w.sim, t + SER + DELAY - 1, probe_drops, &pr, 0, NULL);
    ns_event_at(w.sim, t + SER + DELAY + 1, probe_drops, &pr, 0, NULL);
    ns_event_at(w.sim, t + 300000, restore_a, &w, 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL_FATAL(w.rx[1].n, 1);
    CU_ASSERT_EQUAL(w.rx[1].at[0], UDP_CROSS);
    CU_ASSERT_EQUAL(pr.seen[0], 0);
    CU_ASSERT_EQUAL(pr.seen[1], 1);
    CU_ASSERT_EQUAL(port_tx(&w, 0), 2);
    world_finish(&w);
}

/* RED and CoDel on a congested port: a and c each send one datagram per
 * serialisation time to b, twice what b's port can carry.  The discipline
 * drops on b's port only (the uplinks never queue), every frame is either
 * delivered or dropped once, b's port never idles while frames wait, and
 * the same seed gives the same drops. */
struct aqm_run {
    uint64_t aqm, other, up_drops;
    int      got;
    ns_time_t at[32];
};

static void aqm_send(ns_sim *sim, void *arg)
{
    struct world *w = arg;
    ns_udp_send(w->u[0], NET(2), PORT, NULL, PAYLOAD);
    ns_udp_send(w->u[2], NET(2), PORT, NULL, PAYLOAD);
    if (++w->nsends < 100)
        ns_event_after(sim, SER, aqm_send, w);
}

static void aqm_run(const char *discipline, struct aqm_run *r)
{
    struct world w;
    struct ns_lan_opts o;
    world_opts(&o, false);
    o.queue = discipline;
    o.qcfg.red_wq = 0.5;                    /* reacts within the run */
    o.qcfg.codel_target = 200 * NS_USEC;
    o.qcfg.codel_interval = NS_MSEC;
    world_init_opts(&w, &o, NULL);
    ns_event_at(w.sim, 0, aqm_send, &w, 0, NULL);
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    const struct ns_lan_port_stats *b = ns_lan_port_stats(w.lan, w.ifc[1]);
    r->aqm = b->drops[NS_DROP_AQM];
    r->other = b->drops[NS_DROP_QUEUE_FULL] + b->drops[NS_DROP_LINK_DOWN];
    r->up_drops = 0;
    for (int c = 0; c < NS_DROP_NCAUSES; c++)
        r->up_drops += ns_lan_port_stats(w.lan, w.ifc[0])->drops[c] +
                       ns_lan_port_stats(w.lan, w.ifc[2])->drops[c];
    r->got = w.rx[1].n;
    memcpy(r->at, w.rx[1].at, sizeof r->at);
    world_finish(&w);
}

static void check_aqm(const char *discipline)
{
    struct aqm_run r1, r2;
    aqm_run(discipline, &r1);
    aqm_run(discipline, &r2);
    CU_ASSERT_TRUE(r1.aqm > 0);
    CU_ASSERT_EQUAL(r1.up_drops, 0);
    CU_ASSERT_EQUAL((uint64_t)r1.got + r1.aqm + r1.other, 200);
    CU_ASSERT_EQUAL(r1.at[0], UDP_CROSS);
    for (int k = 1; k < 32 && k < r1.got; k++)
        CU_ASSERT_EQUAL(r1.at[k] - r1.at[k - 1], SER);
    CU_ASSERT_EQUAL(r1.aqm, r2.aqm);
    CU_ASSERT_EQUAL(r1.got, r2.got);
    CU_ASSERT_EQUAL(memcmp(r1.at, r2.at, sizeof r1.at), 0);
}

static void test_lan_red_congested(void) { check_aqm("red"); }
static void test_lan_codel_congested(void) { check_aqm("codel"); }

/* What a discipline sees of a direction: the recorder (queue_recorder.h)
 * logs every enqueue and dequeue on a's uplink with its time.  With one tx_done per frame a
 * direction asked its discipline for a next frame at every end of
 * serialisation, empty queue or not; without that event the empty
 * dequeue is made when the direction is next used, with tx_end as its
 * time, so the discipline sees the same calls at the same times (all but
 * the very last, which nothing follows). */
static void register_qrec(ns_sim *sim)
{
    qrec_watch(sim, "lan.lan0.a.up");
}

static void test_lan_discipline_calls(void)
{
    struct world w;
    struct ns_lan_opts o;
    world_opts(&o, false);
    o.queue = "recorder";
    world_init_opts(&w, &o, register_qrec);
    ns_time_t t = NS_MSEC;
    send_at(&w, 0, 0, NET(2));                  /* idle: no tx_done */
    send_at(&w, t, 0, NET(2));                  /* idle again */
    send_at(&w, t + 50000, 0, NET(2));          /* behind it: a tx_done */
    send_at(&w, 5 * t, 0, NET(2));
    CU_ASSERT_EQUAL(ns_sim_run(w.sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    static const char want_op[] = "EDdEDEDdED";
    const ns_time_t want_at[] = { 0, 0, SER, t, t, t + 50000, t + SER, t + 2 * SER,
                                  5 * t, 5 * t };
    qrec_expect(want_op, want_at);
    CU_ASSERT_EQUAL(w.rx[1].n, 4);
    CU_ASSERT_EQUAL(w.rx[1].at[2], t + UDP_CROSS + SER);
    world_finish(&w);
}

void test_lan_port_register(void)
{
    CU_pSuite s = ns_test_suite("lan_port", NULL, NULL);
    ns_test_add(s, "timing, queued and idle", test_lan_timing_queued_and_idle);
    ns_test_add(s, "events per datagram", test_lan_events_per_datagram);
    ns_test_add(s, "port down while serialising", test_lan_port_down_serialising);
    ns_test_add(s, "RED on a congested port", test_lan_red_congested);
    ns_test_add(s, "CoDel on a congested port", test_lan_codel_congested);
    ns_test_add(s, "what the discipline sees", test_lan_discipline_calls);
}
