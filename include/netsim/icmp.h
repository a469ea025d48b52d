/* icmp.h — ICMP (RFC 792): echo request/reply (ping), destination and port
 * unreachable, time exceeded. */
#ifndef NETSIM_ICMP_H
#define NETSIM_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "netsim/host.h"

#define NS_ICMP_ECHO_REPLY     0
#define NS_ICMP_UNREACH        3
#define NS_ICMP_ECHO_REQUEST   8
#define NS_ICMP_TIME_EXCEEDED 11
#define NS_ICMP_UNREACH_NET    0
#define NS_ICMP_UNREACH_HOST   1
#define NS_ICMP_UNREACH_PORT   3

/* An echo reply came back: rtt is the round trip; seq its sequence. */
typedef void (*ns_ping_fn)(ns_host *h, uint32_t from, uint16_t seq,
                           ns_time_t rtt, void *ud);
/* Sends one echo request of `size` payload bytes; replies go to fn. */
bool ns_icmp_ping(ns_host *h, uint32_t dst, uint16_t seq, uint32_t size,
                  ns_ping_fn fn, void *ud);
/* Sends an ICMP error about `about` (which stays the caller's). */
void ns_icmp_error(ns_host *h, const ns_pkt *about, uint8_t type, uint8_t code);

#endif
