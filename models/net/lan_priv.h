/* lan_priv.h — what the LAN model's files (lan.c: the switch and its
 * interfaces; lan_port.c: a port's two directions; lan_fdb.c: the MAC
 * table) and arp.c share (models/net/ only).
 *
 * A LAN interface resolves a next hop to a MAC through ARP (arp.c) and
 * then hands the frame, with its Ethernet destination set, to its switch
 * port (lan.c).  ARP frames travel the same way.  arp.c uses only the
 * functions of the first part. */
#ifndef NETSIM_LAN_PRIV_H
#define NETSIM_LAN_PRIV_H

#include "net_priv.h"
#include "tx_priv.h"
#include "netsim/event.h"
#include "netsim/loss.h"
#include "netsim/u32map.h"

/* Whether ifc is a LAN port (and so may run ARP). */
bool ns__lan_is_port(const ns_iface *ifc);
/* Puts a frame whose eth_dst is set on ifc's uplink to the switch, with
 * ifc's MAC as its source; owns p. */
void ns__lan_send(ns_iface *ifc, ns_pkt *p);
/* Sends an IP packet to the port whose interface has `mac`, without ARP;
 * false (p dropped as NO_ARP, traced) when the LAN has none.  Owns p. */
bool ns__lan_send_to_mac(ns_iface *ifc, ns_pkt *p, const uint8_t mac[6]);
/* Calls fn for each interface on ifc's LAN in attachment order, without
 * building an array (route searches do this once per router port), and
 * returns the LAN's index in net->lans; -1 (no calls) when ifc is not a
 * LAN port. */
int ns__lan_each_port(ns_iface *ifc, void (*fn)(void *ud, ns_iface *o), void *ud);
/* The index in net->lans of ifc's LAN, or -1 when ifc is not a LAN port. */
int ns__lan_index(const ns_iface *ifc);
void ns__lan_free(ns_lan *lan);

/* Starts ARP for the sim's network: frames of type ARP reach arp.c from
 * now on.  Idempotent. */
void ns__arp_enable(struct ns_net *net);
/* Resolves next_hop on ifc (RFC 826) and sends p once it is known; p waits
 * (bounded) while a request is outstanding.  Owns p. */
void ns__arp_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop);

/* ---- inside the LAN model ---- */

struct lan_port;

/* One direction of a port. */
struct lan_dir {
    struct lan_port *port;
    bool             uplink;          /* host -> switch */
    ns_queue        *q;
    struct ns__tx    clk;             /* the transmitter (tx_priv.h) */
    struct ns__wire  inflight;        /* started, its arrival scheduled
                                       * (the one still being serialised
                                       * included) */
    ns_rng          *loss_rng;        /* the cable's loss draws (LAN loss > 0) */
};

struct lan_port {
    ns_lan                   *lan;
    ns_iface                 *ifc;    /* owned by its host */
    struct lan_dir            up;     /* host -> switch */
    struct lan_dir            down;   /* switch -> host */
    struct ns_lan_port_stats  stats;
    bool                      cut;    /* down: ns_lan_port_set_up(false) */
    int                       side;   /* of a partition (ns_lan_port_set_side) */
    char                      name[96]; /* "lan:host" for drop traces */
};

/* The switch's filtering database: MAC -> port, open addressing with
 * linear probing, keys stored as MAC + 1 so that 0 marks an empty slot
 * (a MAC has 48 bits).  Entries are only added or repointed (no ageing),
 * so no deletion is needed.  Two lookups per frame crossing the switch
 * made GLib's table, with its hash and equality called through pointers
 * and a heap-allocated key per entry, the costliest map on that path. */
struct fdb {
    uint64_t          *keys;          /* MAC + 1, or 0: empty */
    struct lan_port  **ports;
    uint32_t           cap;           /* slots, a power of two (or 0) */
    uint32_t           n;             /* entries; at most cap / 2 */
};
struct lan_port *ns__lan_fdb_get(const struct fdb *t, uint64_t mac);
void ns__lan_fdb_put(struct fdb *t, uint64_t mac, struct lan_port *port);
void ns__lan_fdb_clear(struct fdb *t);

struct ns_lan {
    struct ns_net       *net;
    uint32_t             index;       /* in net->lans */
    char                *name;
    double               rate_bps;
    uint64_t             rate_int;    /* rate_bps rounded, as serialisation uses it */
    ns_time_t            delay;
    char                *queue;       /* discipline name */
    struct ns_queue_cfg  qcfg;
    uint32_t             subnet;      /* network address, host order */
    int                  prefix;
    bool                 arp;
    ns_loss             *loss;        /* each cable's loss model, or NULL */
    GPtrArray           *ports;       /* struct lan_port*, owned, attachment order */
    struct fdb           fdb;         /* MAC -> lan_port*: looked up only,
                                       * never iterated */
    ns_u32map            by_addr;     /* address -> first lan_port* with it,
                                       * for LANs without ARP */
    bool                 by_addr_built;
    uint32_t             by_addr_gen; /* net->addr_gen it was built at */
    guint                by_addr_ports; /* ports->len it was built with */
    /* Batching (struct lan_batch).  `gather` is the batch that downlinks
     * whose events fire at gather->at join instead of scheduling their
     * own; it is open only inside a flood, so nothing else can be
     * scheduled between its members. */
    struct lan_batch    *gather;      /* open batch, or NULL */
    bool                 gathering;   /* inside a flood */
    GPtrArray           *batches;     /* struct lan_batch*, owned: all ever made */
    GPtrArray           *spare;       /* the idle ones among them */
};

/* Downlinks whose per-port events (tx_done, or arrive) would all fire at
 * one time, one after the other: one event fires them in the same order.
 * Its event is scheduled when the first member joins, where the first
 * per-port event would have been; a member joins only while nothing else
 * has been scheduled since, so the per-port events would have had
 * consecutive sequence numbers and nothing could have run between them.
 * Whatever a member's handling schedules comes after the whole batch, as
 * it would have after the later per-port events.  One difference: a
 * callback that stops the run (ns_sim_stop) stops it after the batch, not
 * after its own port. */
struct lan_batch {
    ns_lan          *lan;
    ns_time_t        at;              /* when the members' events fire */
    ns_event_fn      fn;              /* batch_arrive or batch_tx_done */
    struct lan_dir **dirs;            /* members, in scheduling order */
    guint            n, cap;
};

/* lan_port.c: a port's directions. */
void ns__lan_dir_init(struct lan_dir *d, struct lan_port *port, bool uplink);
/* Offers p to d's queue and starts it when d is idle; owns p. */
void ns__lan_dir_send(struct lan_dir *d, ns_pkt *p);
/* A queue's drop function (ud: the lan_dir); counts and traces. */
void ns__lan_dir_drop(void *ud, ns_pkt *p, enum ns_drop_cause cause);
/* Between these two calls (a flood), downlinks finishing or delivering at
 * one time share one event (struct lan_batch). */
void ns__lan_gather_begin(ns_lan *lan);
void ns__lan_gather_end(ns_lan *lan);
void ns__lan_port_free(ns_sim *sim, struct lan_port *port);
void ns__lan_batches_free(ns_lan *lan);
/* lan.c: a frame fully received by the switch from port `in`; owns p. */
void ns__lan_switch_receive(struct lan_port *in, ns_pkt *p);

#endif
