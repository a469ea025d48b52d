/* net_priv.h — the network layer's shared internals (models/net/ only).
 *
 * struct ns_net hangs off the sim (attachment "net"); every host, link and
 * LAN points back to it.  An interface sends frames through its ops (a
 * link end or a LAN port) and receives them through ns__iface_input.
 */
#ifndef NETSIM_NET_PRIV_H
#define NETSIM_NET_PRIV_H

#include "netsim/host.h"
#include "netsim/ipv4.h"
#include "netsim/lan.h"
#include "netsim/link.h"
#include "netsim/queue.h"
#include "netsim/trace.h"

struct ns_pcap;
struct ns_diagram;
struct ns_udp;

/* How an interface puts a packet on its medium. */
struct ns_iface_ops {
    /* Resolves next_hop to a MAC (or broadcast) and transmits; owns p. */
    void (*output)(ns_iface *ifc, ns_pkt *p, uint32_t next_hop);
    bool (*is_up)(const ns_iface *ifc);
};

struct ns_iface {
    ns_host                   *host;
    size_t                     index;
    uint16_t                   gid;          /* index in net->ifaces */
    char                       name[12];     /* "eth0" */
    uint8_t                    mac[6];
    uint64_t                   mac_key;      /* mac as a number (ns__mac_key),
                                              * kept with it: the switch
                                              * looks up two per frame */
    uint32_t                   addr;         /* host order; 0 = none */
    int                        prefix;
    uint32_t                   subnet_bcast; /* the subnet broadcast it accepts
                                              * (addr set, prefix < 31), else
                                              * 0: kept by ns_iface_set_addr,
                                              * as every datagram sent and
                                              * received asks */
    const struct ns_iface_ops *ops;
    void                      *medium;       /* link direction or LAN port */
    ns_iface                  *peer;         /* p2p: the other end */
    struct ns_pcap            *pcap;         /* capture, or NULL */
    bool                       accept_unconfigured; /* see ns_iface_set_accept_unconfigured */
};

/* Whether a is ifc's subnet broadcast (never 0, which marks none). */
static inline bool ns__iface_is_subnet_bcast(const ns_iface *ifc, uint32_t a)
{
    return ifc->subnet_bcast != 0 && a == ifc->subnet_bcast;
}

struct route {
    uint32_t  dst;                /* network, host order */
    uint32_t  mask;
    uint32_t  gateway;            /* 0: directly connected */
    ns_iface *out;
    bool      manual;             /* set by ns_route_add */
    int       dist;               /* computed subnet route: hops to the
                                     nearest host on it; -1 otherwise */
};

/* How a host's last search reached the single-interface plain hosts
 * ("leaves") of one LAN: what relax() would give any of them.  Kept so
 * that a leaf's address change can be shown not to touch the table. */
struct lan_reach {
    int       dist;               /* -1: the LAN is not reached */
    bool      direct;             /* the host itself is on it (the first
                                     hop is then the leaf itself) */
    uint32_t  hop_addr;           /* first hop, when not direct */
    ns_iface *hop_out;
};

/* A leaf's address change (route.c), logged instead of invalidating
 * every table: most (a DHCP client binding in a subnet its router
 * already serves) change no other host's routes. */
struct addr_change {
    ns_host  *host;               /* the leaf */
    uint32_t  lan;                /* index of its LAN in net->lans */
    uint64_t  old_key;            /* subnet keys (net << 32 | mask); 0: none */
    uint64_t  new_key;
};

/* A small direct-mapped cache of lookups: most traffic goes to few
 * destinations, and a full scan per hop showed in profiles. */
#define ROUTE_CACHE_HOST   16        /* hosts talk to few destinations */
#define ROUTE_CACHE_ROUTER 256       /* routers forward to many */
struct route_cache {
    uint32_t  dst;
    uint32_t  gen;                /* the host's cache_gen when filled; 0 = empty */
    ns_iface *out;
    uint32_t  next_hop;
};

struct held_pkt {                 /* packets held while paused */
    ns_iface *in;
    ns_pkt   *p;
};

struct ns_host {
    struct ns_net        *net;
    ns_sim               *sim;
    char                 *name;
    uint32_t              id;
    GPtrArray            *ifaces;        /* ns_iface*, owned */
    bool                  forwarding;
    bool                  up;
    bool                  paused;
    ns_event_id           resume_ev;
    GArray               *held;          /* struct held_pkt while paused */
    GArray               *routes;        /* struct route */
    bool                  static_routes;
    uint32_t              routes_gen;     /* net->topo_gen its table is for */
    uint32_t              cache_gen;      /* bumped when its table changes */
    struct lan_reach     *reach;          /* by LAN index, from its last search */
    uint32_t              n_reach;        /* LANs when it searched */
    uint64_t              log_seq;        /* net->addr_log position its table
                                             accounts for */
    struct route_cache   *rcache;        /* allocated on first lookup */
    uint32_t              rcache_mask;    /* entries - 1 */
    GHashTable           *local;          /* addresses and broadcasts it
                                             accepts, for hosts with many
                                             interfaces; NULL: scan */
    bool                  local_dirty;
    uint16_t              ip_id;         /* next IPv4 identification */
    struct ns_host_stats  stats;
    GPtrArray            *attachments;   /* struct ns_attachment-like */
    GHashTable           *rngs;           /* what -> ns_rng* (the sim's), ns_host_rng */
    void                 *udp;           /* udp.c's state, also attached: looked
                                             up once per datagram */
    void                 *arp;           /* arp.c's state, also attached: looked
                                             up once per ARP frame, and every
                                             host on a LAN hears each request */
    /* CPU */
    unsigned              cores;
    unsigned              busy_cores;
    GQueue               *cpu_queue;     /* struct cpu_item* */
    ns_time_t             cpu_busy;
    uint32_t              cpu_epoch;     /* bumped on crash */
};

struct observer {
    void (*fn)(void);
    void  *ud;
};

struct ns_net {
    ns_sim                    *sim;
    GPtrArray                 *hosts;         /* ns_host*, owned, creation order */
    GHashTable                *host_by_name;  /* name -> ns_host* */
    GPtrArray                 *links;         /* ns_link*, owned */
    GPtrArray                 *lans;          /* ns_lan*, owned */
    GPtrArray                 *ifaces;        /* ns_iface*, by gid (hosts own them) */
    uint32_t                   mac_gen;       /* bumped when an interface comes or
                                                 goes or a MAC is set: what
                                                 ns__mac_to_if answers may change */
    const struct ns_proto_ops *protos[256];
    GArray                    *fault_obs;     /* struct observer */
    GArray                    *addr_obs;
    uint32_t                   next_subnet;   /* auto: 10.(n>>8).(n&255).0/24 */
    bool                       routes_valid;
    uint32_t                   topo_gen;      /* bumped when the topology changed */
    uint32_t                   struct_gen;    /* topo_gen of the last change that
                                                 was not a logged leaf address */
    GArray                    *addr_log;      /* struct addr_change, oldest first */
    uint64_t                   log_base;      /* sequence number of addr_log[0] */
    bool                       log_pending;   /* logged since topo_gen was bumped */
    uint32_t                   addr_gen;      /* bumped by every address change */
    GHashTable                *owner;         /* address -> first ns_host* that has
                                                 it (host.c, ns_host_owning) */
    uint32_t                   owner_gen;     /* addr_gen it was built at */
    guint                      owner_hosts;   /* hosts->len it was built with */
    guint                      owner_ifaces;  /* ifaces->len it was built with */
    GPtrArray                 *leaf_tables;   /* ns_host*, by LAN index: the leaf
                                                 that last searched there */
    GPtrArray                 *diagrams;      /* ns_diagram*, open order; NULL
                                               * before the first (the sim's
                                               * outputs own them) */
    GHashTable                *diagram_msgs;  /* pkt uid -> pending arrow */
    /* ARP (arp.c), if a LAN runs it: frames of type ARP go here. */
    void                     (*arp_input)(ns_iface *in, ns_pkt *p);
};

struct ns_net *ns__net_get(ns_sim *sim);      /* creates on first use */
struct ns_net *ns__net_peek(ns_sim *sim);     /* NULL if none */

/* A fresh /24 from 10.0.1.0 upwards, in creation order. */
uint32_t ns__net_alloc_subnet(struct ns_net *net);

/* NULL when the sim already has NS_IF_MAX interfaces. */
ns_iface *ns__iface_new(ns_host *h, const struct ns_iface_ops *ops, void *medium);
/* Whether addr/prefix may go on h's interface `name` (`self` if it exists
 * already); the error names the clash. */
bool ns__host_check_addr(const ns_host *h, const ns_iface *self, const char *name,
                         uint32_t addr, int prefix, GError **error);
/* The MAC of an interface id (ff:ff:ff:ff:ff:ff for NS_IF_BROADCAST), and
 * the interface id owning a MAC (NS_IF_BROADCAST for the broadcast MAC;
 * NS_IF_MAX when no interface has it). */
const uint8_t *ns__if_mac(const struct ns_net *net, uint16_t gid);
uint16_t       ns__mac_to_if(const struct ns_net *net, const uint8_t mac[6]);
/* A MAC as a 48-bit number, first byte most significant. */
static inline uint64_t ns__mac_key(const uint8_t mac[6])
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}
/* ns__mac_key(ns__if_mac(net, gid)), without the bytes. */
static inline uint64_t ns__if_mac_key(const struct ns_net *net, uint16_t gid)
{
    if (gid >= net->ifaces->len)
        return UINT64_C(0xffffffffffff);             /* the broadcast MAC */
    return ((const ns_iface *)g_ptr_array_index(net->ifaces, gid))->mac_key;
}
/* A frame arrived on ifc (from its link or LAN port); takes ownership. */
void ns__iface_input(ns_iface *ifc, ns_pkt *p);
/* Captures a frame seen on ifc (tx or rx) if it is being captured. */
void ns__capture(ns_iface *ifc, const ns_pkt *p);

/* Computes p's transport checksum into hdr, a copy of its l4 header (the
 * model leaves it zero in packets; pcap and ICMP quotes need it). */
void ns__fill_l4_checksum(const ns_pkt *p, uint8_t *hdr);

/* Drops p at host h (NULL: not at a host) with cause, counting and
 * tracing it; owns p.  `where` names the place for the trace. */
void ns__net_drop(ns_sim *sim, ns_host *h, const char *where, ns_pkt *p,
                  enum ns_drop_cause cause);
/* IPv4 input of a frame at host h. */
void ns__ip_input(ns_host *h, ns_iface *in, ns_pkt *p);
void ns__route_compute(struct ns_net *net);
/* ifc's address was old/old_prefix: logs the change when it can only
 * matter to tables through ifc's own subnet (see route.c), otherwise
 * marks every table stale. */
void ns__route_addr_changed(ns_iface *ifc, uint32_t old, int old_prefix);
void ns__host_tell_fault(ns_host *h, enum ns_host_fault f);

/* Stops the traffic generators sending from s (it is being closed). */
void ns__traffic_socket_closed(struct ns_udp *s);

/* Built-in protocols, registered when the net starts. */
extern const struct ns_proto_ops ns__udp_proto;
extern const struct ns_proto_ops ns__icmp_proto;

/* Diagram bookkeeping. */
void ns__diagram_sent(ns_host *h, const ns_pkt *p);
void ns__diagram_delivered(ns_host *h, const ns_pkt *p);
void ns__diagram_dropped(struct ns_net *net, const ns_pkt *p, enum ns_drop_cause cause);

#endif
