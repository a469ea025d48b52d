/* host.h — hosts and their interfaces; how protocol models plug in.
 *
 * A host has a name (unique in the sim), interfaces with deterministic MAC
 * addresses (derived from host name and interface index, settable) and
 * IPv4 addresses (given, assigned automatically per link/LAN, or set later
 * by a model such as DHCP: an interface may start at 0.0.0.0).  A host that
 * forwards is a router.  Hosts crash, restart and pause; models register
 * to hear about it and about address changes, so every protocol gets
 * faults the same way.
 *
 * Protocols above IPv4 register a struct ns_proto_ops per IP protocol
 * number (the network layer knows ICMP and UDP; TCP registers itself).
 */
#ifndef NETSIM_HOST_H
#define NETSIM_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/diagram.h"
#include "netsim/event.h"
#include "netsim/pcap.h"
#include "netsim/pkt.h"
#include "netsim/queue.h"
#include "netsim/sim.h"

typedef struct ns_host  ns_host;
typedef struct ns_iface ns_iface;

/* ---- hosts ---- */
ns_host    *ns_host_new(ns_sim *sim, const char *name, GError **error);
ns_host    *ns_host_find(ns_sim *sim, const char *name);
size_t      ns_host_count(ns_sim *sim);
ns_host    *ns_host_nth(ns_sim *sim, size_t i);     /* creation order */
const char *ns_host_name(const ns_host *h);
ns_sim     *ns_host_sim(const ns_host *h);
uint32_t    ns_host_id(const ns_host *h);           /* creation index */

void ns_host_set_forwarding(ns_host *h, bool on);   /* a router */
bool ns_host_is_forwarding(const ns_host *h);

size_t    ns_host_n_ifaces(const ns_host *h);
ns_iface *ns_host_iface(const ns_host *h, size_t i);
/* The first non-zero interface address, 0 if none. */
uint32_t  ns_host_addr(const ns_host *h);
/* Whether addr is one of h's addresses (or a broadcast it accepts). */
bool      ns_host_has_addr(const ns_host *h, uint32_t addr);
/* The first host, in creation order, for which ns_host_has_addr(h, addr)
 * holds; NULL if none, and NULL for the limited broadcast (every host
 * accepts it, none owns it). */
ns_host  *ns_host_owning(ns_sim *sim, uint32_t addr);
/* Counters of IP packets at a host. */
struct ns_host_stats {
    uint64_t tx_pkts;             /* IP packets originated */
    uint64_t rx_pkts;             /* IP packets delivered locally */
    uint64_t fwd_pkts;            /* IP packets forwarded */
    uint64_t drops[NS_DROP_NCAUSES];
};
const struct ns_host_stats *ns_host_stats(const ns_host *h);
/* h's random stream `what` (named "host.<name>.<what>"). */
struct ns_rng *ns_host_rng(ns_host *h, const char *what);

/* Per-host model state, destroyed with the host (reverse order). */
void  ns_host_attach(ns_host *h, const char *key, void *obj, GDestroyNotify destroy);
void *ns_host_attached(const ns_host *h, const char *key);
/* Removes the attachment under key without destroying its object, which
 * it returns (NULL if none): for undoing a model set up half-way. */
void *ns_host_detach(ns_host *h, const char *key);

/* ---- interfaces ---- */
ns_host    *ns_iface_host(const ns_iface *ifc);
const char *ns_iface_name(const ns_iface *ifc);     /* "eth0", ... */
size_t      ns_iface_index(const ns_iface *ifc);
uint32_t    ns_iface_addr(const ns_iface *ifc);     /* 0 if none */
int         ns_iface_prefix(const ns_iface *ifc);
uint32_t    ns_iface_broadcast(const ns_iface *ifc);/* subnet broadcast */
const uint8_t *ns_iface_mac(const ns_iface *ifc);
/* While ifc has no address, deliver unicast IPv4 datagrams that reach
 * its MAC whatever their destination address: what a DHCP client's packet
 * socket sees, so that a server can unicast to a client that is not
 * configured yet (RFC 2131 4.1).  Off by default. */
void ns_iface_set_accept_unconfigured(ns_iface *ifc, bool on);
void        ns_iface_set_mac(ns_iface *ifc, const uint8_t mac[6]);
/* Sets (or with addr 0 removes) the address; checks duplicates on the
 * host and overlapping subnets; tells address observers. */
bool ns_iface_set_addr(ns_iface *ifc, uint32_t addr, int prefix, GError **error);
bool ns_iface_is_up(const ns_iface *ifc);          /* its link/port is up */
/* Writes every frame ifc sends or receives to pc (NULL: stops). */
void ns_iface_capture(ns_iface *ifc, ns_pcap *pc);

typedef void (*ns_addr_fn)(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud);
void ns_net_on_addr_change(ns_sim *sim, ns_addr_fn fn, void *ud);

/* ---- faults ---- */
#define NS_HOST_FAULTS(X)                                          \
    X(NS_HOST_CRASH,   "crash")    /* state lost, stops */        \
    X(NS_HOST_RESTART, "restart")  /* back up after a crash */    \
    X(NS_HOST_PAUSE,   "pause")    /* stop-the-world begins */    \
    X(NS_HOST_RESUME,  "resume")   /* ... and ends */
#define NS_X_ENUM(name, str) name,
enum ns_host_fault { NS_HOST_FAULTS(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_host_fault_name(enum ns_host_fault f);

bool ns_host_is_up(const ns_host *h);        /* not crashed */
bool ns_host_is_paused(const ns_host *h);
/* Immediate faults (Lua schedules them at a time).  While crashed a host
 * drops every packet (counted as "host down"); while paused it holds
 * arriving packets and handles them, in order, when it resumes. */
void ns_host_crash(ns_host *h);
void ns_host_restart(ns_host *h);
void ns_host_pause(ns_host *h, ns_time_t duration);

typedef void (*ns_fault_fn)(ns_host *h, enum ns_host_fault f, void *ud);
void ns_net_on_fault(ns_sim *sim, ns_fault_fn fn, void *ud);

/* ---- CPU ---- */
/* A host has `cores` cores (default 1) and a FIFO of work items: the item
 * runs done(sim, arg) after `work` of CPU time once a core is free.  A
 * crash drops queued work (done is not called for it: owners hear the
 * crash).  Free when unused. */
void ns_host_set_cores(ns_host *h, unsigned cores);
void ns_cpu_submit(ns_host *h, ns_time_t work, ns_event_fn done, void *arg);
ns_time_t ns_cpu_busy_time(const ns_host *h);        /* total work done */

/* ---- protocols above IPv4 ---- */
struct ns_proto_ops {
    const char *name;                                     /* "udp" */
    uint8_t     proto;                                    /* IP protocol number */
    /* Required: a packet for one of h's addresses.  Takes ownership. */
    void (*input)(ns_host *h, ns_iface *in, ns_pkt *p);
    /* Optional: a short label for sequence diagrams ("SYN seq=0"), of a
     * packet `sender` sends (so numbers can be made relative). */
    void (*describe)(ns_host *sender, const ns_pkt *p, char *buf, size_t len);
    /* Optional: the ICMP error about a packet this protocol sent
     * (type, code, and the offending packet's first bytes in `quoted`). */
    void (*icmp_error)(ns_host *h, uint8_t type, uint8_t code,
                       const uint8_t *quoted, size_t len);
};
/* Registers ops for its protocol number; refuses a number taken or a
 * table without input. */
bool ns_net_register_proto(ns_sim *sim, const struct ns_proto_ops *ops, GError **error);
const struct ns_proto_ops *ns_net_proto(ns_sim *sim, uint8_t proto);

/* A remark (a model's state change, "ESTABLISHED") at h's column of
 * every open sequence diagram that has h. */
void ns_net_diagram_note(ns_host *h, const char *text);
/* Opens a sequence diagram over the hosts named: the network layer draws
 * the packets between them (in every open diagram that has both ends),
 * and models their messages and notes.  A sim may have several, each with
 * its own name (NS_ERROR_EXISTS for a name in use).  See diagram.h. */
ns_diagram *ns_net_open_diagram(ns_sim *sim, const char *name,
                                const char *const *hosts, GError **error);
/* The first open sequence diagram that has h as a column, or NULL: for
 * models that draw their own messages (a TLS flight) over the packets the
 * network layer draws, and for a cheap "is h drawn at all?". */
ns_diagram *ns_net_diagram(ns_host *h);
/* The next open diagram after `after` (in opening order) that has h, the
 * first for NULL, NULL past the last: a model draws its messages in each,
 * as the network layer draws packets in every diagram with both ends. */
ns_diagram *ns_net_diagram_next(ns_host *h, const ns_diagram *after);

#endif
