/* traffic.h — traffic generators on UDP sockets: constant bit rate,
 * Poisson, and on/off (exponentially distributed on and off periods, CBR
 * while on).  Each generator draws from its own stream, named after the
 * host, the socket port and its creation index, so adding a generator
 * never changes another's packets.
 */
#ifndef NETSIM_TRAFFIC_H
#define NETSIM_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/udp.h"

enum ns_traffic_kind { NS_TRAFFIC_CBR, NS_TRAFFIC_POISSON, NS_TRAFFIC_ONOFF };

struct ns_traffic_opts {
    enum ns_traffic_kind kind;
    uint32_t  dst;               /* destination address */
    uint16_t  dport;
    uint32_t  size;              /* payload bytes per packet (length-only) */
    double    pkts_per_s;        /* mean packet rate (CBR: exact) */
    ns_time_t start;             /* first packet (absolute) */
    ns_time_t stop;              /* no packet at or after (NS_TIME_MAX: none) */
    uint64_t  count;             /* stop after this many packets (0: none) */
    ns_time_t mean_on, mean_off; /* on/off periods */
};

typedef struct ns_traffic ns_traffic;

/* Starts a generator sending from s; the generator is owned by the sim
 * (freed with it) and can be stopped; closing s stops it. */
ns_traffic *ns_traffic_start(ns_udp *s, const struct ns_traffic_opts *o, GError **error);
void        ns_traffic_stop(ns_traffic *t);
uint64_t    ns_traffic_sent(const ns_traffic *t);

#endif
