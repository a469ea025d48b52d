/* lanworld.h — what the LAN suites share (test_lan.c, test_lan_port.c).
 *
 * Every test builds one LAN "lan0" of three hosts a, b, c (10.0.1.1, .2,
 * .3) at 10 Mbit/s with 100 us per port, where the numbers are easy:
 * a UDP datagram of 100 bytes is a 142-byte frame, 113,600 ns on a port,
 * so one crossing (two serialisations, two delays) takes 427,200 ns; an ARP
 * frame (60 bytes) takes 48,000 ns a serialisation, 296,000 ns a crossing.
 * Each test runs the sim until no event is left and asserts that every
 * packet was freed before freeing the sim.  Helpers are static inline:
 * each suite uses a different subset. */
#ifndef NETSIM_LANWORLD_H
#define NETSIM_LANWORLD_H

#include <string.h>

#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/udp.h"
#include "tests.h"

#define RATE      10e6
#define DELAY     (100 * NS_USEC)
#define PAYLOAD   100
#define UDP_CROSS ((ns_time_t)2 * (113600 + 100000))   /* 427,200 ns */
#define ARP_CROSS ((ns_time_t)2 * (48000 + 100000))    /* 296,000 ns */
#define PORT      9
#define NET(x)    ((10u << 24) | (1u << 8) | (x))      /* 10.0.1.x */

struct rx {
    int       n;
    ns_time_t at[32];
};

struct send {
    struct world *w;
    int           from;
    uint32_t      dst;
};

struct world {
    ns_sim   *sim;
    ns_lan   *lan;
    ns_host  *h[3];
    ns_iface *ifc[3];
    ns_udp   *u[3];
    struct rx rx[3];
    struct send sends[64];
    int       nsends;
};

static inline void on_rx(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    struct rx *r = ud;
    if (r->n < (int)G_N_ELEMENTS(r->at))
        r->at[r->n] = ns_sim_now(ns_host_sim(ns_udp_host(s)));
    r->n++;
}

/* The lan's options at RATE and DELAY, as world_init uses them. */
static inline void world_opts(struct ns_lan_opts *o, bool arp)
{
    ns_lan_opts_defaults(o);
    o->rate_bps = RATE;
    o->delay = DELAY;
    o->arp = arp;
}

/* The world on a new sim (seed 1) with LAN options o; `setup`, when not
 * NULL, runs on the sim first (to register a queue discipline). */
static inline void world_init_opts(struct world *w, const struct ns_lan_opts *o,
                                   void (*setup)(ns_sim *sim))
{
    static const char *const names[] = { "a", "b", "c" };
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(1);
    if (setup)
        setup(w->sim);
    GError *err = NULL;
    w->lan = ns_lan_new(w->sim, "lan0", o, &err);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lan);
    for (int i = 0; i < 3; i++) {
        w->h[i] = ns_host_new(w->sim, names[i], NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w->h[i]);
        w->ifc[i] = ns_lan_attach(w->lan, w->h[i], 0, &err);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w->ifc[i]);
        w->u[i] = ns_udp_bind(w->h[i], PORT, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w->u[i]);
        ns_udp_on_receive(w->u[i], on_rx, &w->rx[i]);
    }
}

static inline void world_init(struct world *w, bool arp)
{
    struct ns_lan_opts o;
    world_opts(&o, arp);
    world_init_opts(w, &o, NULL);
}

/* Runs to the end, checks nothing leaked, frees. */
static inline void world_finish(struct world *w)
{
    CU_ASSERT_EQUAL(ns_sim_run(w->sim, NS_TIME_MAX, 0), NS_STOP_EMPTY);
    CU_ASSERT_EQUAL(ns_pkt_live(w->sim), 0);
    ns_sim_free(w->sim);
}

static inline void do_send(ns_sim *sim, void *arg)
{
    struct send *s = arg;
    ns_udp_send(s->w->u[s->from], s->dst, PORT, NULL, PAYLOAD);
}

/* Host `from` sends a datagram to dst at time t. */
static inline void send_at(struct world *w, ns_time_t t, int from, uint32_t dst)
{
    g_assert(w->nsends < (int)G_N_ELEMENTS(w->sends));
    struct send *s = &w->sends[w->nsends++];
    *s = (struct send){ w, from, dst };
    ns_event_at(w->sim, t, do_send, s, 0, NULL);
}

static inline uint64_t port_rx(struct world *w, int i)
{
    return ns_lan_port_stats(w->lan, w->ifc[i])->rx_pkts;
}

static inline uint64_t port_tx(struct world *w, int i)
{
    return ns_lan_port_stats(w->lan, w->ifc[i])->tx_pkts;
}

#endif
