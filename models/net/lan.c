/* lan.c — a LAN segment: one store-and-forward learning switch with a port
 * per attached interface.
 *
 * A port has two directions, each a queue feeding a transmitter at the
 * port rate followed by the port delay: the host's uplink (host -> switch)
 * and the downlink (switch -> host).  A frame is forwarded only once the
 * switch has received all of it, so crossing the LAN costs two
 * serialisations and two delays.  The switch learns, from every frame it
 * receives, that the frame's source MAC sits behind the ingress port
 * (IEEE 802.1D backward learning, without ageing: a MAC that moves is
 * relearned by its next frame); it
 * sends a unicast frame to the learned port, floods it to every other
 * port while unknown, and copies a broadcast to every other port.
 *
 * Serialisation follows link.c: while a direction stays busy, a frame ends
 * at busy_since + ceil(bits_since * 1e9 / rate) in 128-bit arithmetic, so
 * back-to-back frames never drift.
 *
 * Events: a frame that starts with nothing queued behind it needs no event
 * at the end of its serialisation.  Its arrival time is known when it
 * starts (tx_end + delay), so only the arrival is scheduled, and the
 * direction is busy until tx_end implicitly, in time.  Only when a frame
 * is queued behind it is a tx_done event scheduled at tx_end, to start the
 * next one; a frame that starts with others queued behind it gets its
 * tx_done at once and its arrival from there, as every frame used to.  An
 * uncongested crossing thus costs two events (arrival at the switch,
 * arrival at the host) instead of four.  The discipline still sees every
 * frame through enqueue and dequeue, at the same times: the dequeue a
 * tx_done would have made at tx_end on an empty queue (RED starts its idle
 * period there, CoDel leaves its dropping state) is made when the
 * direction is next used, with tx_end as its time (see owes_dequeue).
 * What changes is the order of some events at one instant: a tx_done
 * scheduled late fires after same-instant events scheduled before it.
 *
 * A flood to N ports costs one event, not N: the downlinks it starts
 * together on idle ports deliver together, so one "batch" event delivers
 * all the copies (and where ports were busy, one ends all their
 * transmissions; see struct lan_batch).  Arrival times and the order of
 * everything that happens at one instant are those of one event per port;
 * only the event count differs.
 *
 * Invariants: at most one frame is on a direction's transmitter; frames on
 * a direction arrive in the order sent (the delay is constant); a frame is
 * never sent back out of the port it came in on; an interface hands its
 * host only frames addressed to its MAC or to the broadcast MAC.
 */
#include <math.h>
#include <stdio.h>

#include "lan_priv.h"
#include "netsim/event.h"
#include "netsim/loss.h"
#include "netsim/u32map.h"

typedef unsigned __int128 u128;

struct lan_port;

/* One direction of a port. */
struct lan_dir {
    struct lan_port *port;
    bool             uplink;          /* host -> switch */
    ns_queue        *q;
    ns_pkt          *tx;              /* being serialised and to be sent on
                                       * its way by the pending tx_done, or
                                       * NULL (a frame started on an empty
                                       * queue is in inflight at once) */
    ns_time_t        busy_since;      /* anchor of the current busy period */
    u128             bits_since;      /* bits started since the anchor */
    ns_time_t        tx_end;          /* when the last frame started ends:
                                       * busy while now < tx_end */
    bool             tx_event;        /* a tx_done is pending at tx_end */
    bool             owes_dequeue;    /* nothing asked the discipline for a
                                       * next frame at tx_end yet: the
                                       * frame started on an empty queue
                                       * and no tx_done was needed */
    ns_pkt          *inflight_head;   /* on the wire, in arrival order,
                                       * linked by next (no allocation per
                                       * frame, as in link.c) */
    ns_pkt          *inflight_tail;
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

static uint32_t fdb_slot(const struct fdb *t, uint64_t key)
{
    return (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (t->cap - 1);
}

static struct lan_port *fdb_get(const struct fdb *t, uint64_t mac)
{
    if (t->cap == 0)
        return NULL;
    uint64_t key = mac + 1;
    for (uint32_t i = fdb_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
        if (t->keys[i] == key)
            return t->ports[i];
        if (t->keys[i] == 0)
            return NULL;
    }
}

static void fdb_insert(struct fdb *t, uint64_t key, struct lan_port *port)
{
    uint32_t i = fdb_slot(t, key);
    while (t->keys[i] != 0 && t->keys[i] != key)
        i = (i + 1) & (t->cap - 1);
    t->n += t->keys[i] == 0;
    t->keys[i] = key;
    t->ports[i] = port;
}

static void fdb_put(struct fdb *t, uint64_t mac, struct lan_port *port)
{
    if (2 * (t->n + 1) > t->cap) {
        struct fdb old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->keys = g_new0(uint64_t, t->cap);
        t->ports = g_new0(struct lan_port *, t->cap);
        t->n = 0;
        for (uint32_t i = 0; i < old.cap; i++)
            if (old.keys[i])
                fdb_insert(t, old.keys[i], old.ports[i]);
        g_free(old.keys);
        g_free(old.ports);
    }
    fdb_insert(t, mac + 1, port);
}

static void fdb_clear(struct fdb *t)
{
    g_free(t->keys);
    g_free(t->ports);
    *t = (struct fdb){ 0 };
}

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
     * finishing at gather_at join instead of scheduling their own event;
     * it is set only inside a flood or a batch's own handler, so nothing
     * else can be scheduled between its members. */
    struct lan_batch    *gather;      /* open batch, or NULL */
    bool                 gathering;   /* inside a flood / batch handler */
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

static const struct ns_iface_ops lan_iface_ops;
static bool start_tx(struct lan_dir *d);
static void switch_receive(struct lan_port *in, ns_pkt *p);

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

static uint64_t mac_key(const uint8_t mac[6])
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}

void ns_lan_opts_defaults(struct ns_lan_opts *o)
{
    *o = (struct ns_lan_opts){ 0 };
    o->rate_bps = 1e9;
    o->queue = "droptail";
    ns_queue_cfg_defaults(&o->qcfg);
    o->prefix = 24;
    o->arp = true;
}

/* ---- drops ---- */

static void dir_drop(void *ud, ns_pkt *p, enum ns_drop_cause cause)
{
    struct lan_dir *d = ud;
    d->port->stats.drops[cause]++;
    ns__net_drop(d->port->lan->net->sim, NULL, d->port->name, p, cause);
}

static void inflight_push(struct lan_dir *d, ns_pkt *p)
{
    p->next = NULL;
    if (d->inflight_tail)
        d->inflight_tail->next = p;
    else
        d->inflight_head = p;
    d->inflight_tail = p;
}

/* The first frame on d's wire, or NULL. */
static ns_pkt *inflight_pop(struct lan_dir *d)
{
    ns_pkt *p = d->inflight_head;
    if (p) {
        d->inflight_head = p->next;
        if (!d->inflight_head)
            d->inflight_tail = NULL;
        p->next = NULL;
    }
    return p;
}

/* ---- batches ---- */

static struct lan_batch *batch_take(ns_lan *lan, ns_time_t at, ns_event_fn fn)
{
    struct lan_batch *b;
    if (lan->spare->len)
        b = g_ptr_array_steal_index_fast(lan->spare, lan->spare->len - 1);
    else {
        b = g_new0(struct lan_batch, 1);
        b->lan = lan;
        g_ptr_array_add(lan->batches, b);
    }
    b->at = at;
    b->fn = fn;
    b->n = 0;
    return b;
}

static void batch_give_back(struct lan_batch *b)
{
    g_ptr_array_add(b->lan->spare, b);
}

static void batch_add(struct lan_batch *b, struct lan_dir *d)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->dirs = g_renew(struct lan_dir *, b->dirs, b->cap);
    }
    b->dirs[b->n++] = d;
}

/* Schedules fn(d) at `at`; while gathering, joins the open batch instead
 * (opening one, with an event for batch_fn, when the open one is not a
 * batch_fn at `at`: a flood schedules arrivals and tx_dones). */
static void schedule_dir(struct lan_dir *d, ns_time_t at, ns_event_fn fn,
                         ns_event_fn batch_fn)
{
    ns_lan *lan = d->port->lan;
    ns_sim *sim = lan->net->sim;
    if (!lan->gathering) {
        ns_event_after(sim, at - ns_sim_now(sim), fn, d);
        return;
    }
    if (!lan->gather || lan->gather->at != at || lan->gather->fn != batch_fn) {
        lan->gather = batch_take(lan, at, batch_fn);
        ns_event_after(sim, at - ns_sim_now(sim), batch_fn, lan->gather);
    }
    batch_add(lan->gather, d);
}

/* ---- one direction: queue, transmitter, propagation ---- */

static void arrive(ns_sim *sim, void *arg)
{
    struct lan_dir *d = arg;
    struct lan_port *port = d->port;
    ns_pkt *p = inflight_pop(d);
    /* A down port (a pulled cable) loses what reaches either end of it;
     * checked on arrival, so frames already on the wire are lost too. */
    if (port->cut) {
        dir_drop(d, p, NS_DROP_LINK_DOWN);
        return;
    }
    /* A lossy cable (the LAN's loss option): the links' loss model, drawn
     * independently in each direction from that direction's own stream. */
    if (d->loss_rng && ns_loss_drops(port->lan->loss, p, d->loss_rng)) {
        dir_drop(d, p, NS_DROP_LOSS);
        return;
    }
    if (d->uplink) {
        switch_receive(port, p);
        return;
    }
    port->stats.rx_pkts++;
    port->stats.rx_bytes += ns_pkt_frame_len(p);
    /* A NIC not in promiscuous mode ignores unicast for others: flooded
     * frames reach every port but only their addressee's host. */
    if (p->eth_dst_if != NS_IF_BROADCAST && p->eth_dst_if != port->ifc->gid) {
        port->stats.rx_filtered++;
        ns_pkt_free(sim, p);
        return;
    }
    ns__capture(port->ifc, p);
    ns__iface_input(port->ifc, p);
}

static void batch_arrive(ns_sim *sim, void *arg)
{
    struct lan_batch *b = arg;
    for (guint i = 0; i < b->n; i++)
        arrive(sim, b->dirs[i]);
    batch_give_back(b);
}

static void batch_tx_done(ns_sim *sim, void *arg);

/* tx_end has come with a tx_done event: the frame left to it goes on the
 * wire, and the discipline is asked for the next one. */
static void finish_tx(struct lan_dir *d)
{
    ns_lan *lan = d->port->lan;
    d->tx_event = false;
    d->owes_dequeue = false;            /* start_tx asks it now */
    if (d->tx) {
        ns_pkt *p = d->tx;
        d->tx = NULL;
        inflight_push(d, p);
        schedule_dir(d, ns_sim_now(lan->net->sim) + lan->delay, arrive, batch_arrive);
    }
    /* A next frame schedules its own event: later arrivals may no longer
     * join the open batch. */
    bool was_gathering = lan->gathering;
    lan->gathering = false;
    bool started = start_tx(d);
    lan->gathering = was_gathering;
    if (started)
        lan->gather = NULL;
}

static void tx_done(ns_sim *sim, void *arg)
{
    (void)sim;
    finish_tx(arg);
}

static void batch_tx_done(ns_sim *sim, void *arg)
{
    (void)sim;
    struct lan_batch *b = arg;
    ns_lan *lan = b->lan;
    lan->gathering = true;
    lan->gather = NULL;
    for (guint i = 0; i < b->n; i++)
        finish_tx(b->dirs[i]);
    lan->gathering = false;
    lan->gather = NULL;
    batch_give_back(b);
}

/* ceil(bits * 1e9 / rate): in 64 bits while that cannot overflow (a busy
 * period of up to ~18 Gbit), the same value as the 128-bit form, whose
 * library division showed in profiles at one call per frame. */
static uint64_t serialisation_ns(u128 bits, uint64_t rate)
{
    if (bits <= (UINT64_MAX - rate) / 1000000000u)
        return ((uint64_t)bits * 1000000000u + rate - 1) / rate;
    return (uint64_t)((bits * 1000000000u + rate - 1) / rate);
}

/* Starts the next queued frame on d's idle transmitter, continuing the
 * busy period when it was busy until now; false when the discipline has
 * nothing to send. */
static bool start_tx(struct lan_dir *d)
{
    struct lan_port *port = d->port;
    ns_lan *lan = port->lan;
    ns_time_t now = ns_sim_now(lan->net->sim);
    ns_pkt *p = ns_queue_dequeue(d->q, now);
    if (!p)
        return false;
    if (d->tx_end != now || d->bits_since == 0) {
        d->busy_since = now;            /* a new busy period: new anchor */
        d->bits_since = 0;
    }
    uint32_t bytes = ns_pkt_frame_len(p);
    d->bits_since += (u128)bytes * 8;
    d->tx_end = d->busy_since + (ns_time_t)serialisation_ns(d->bits_since, lan->rate_int);
    if (d->uplink) {
        port->stats.tx_pkts++;
        port->stats.tx_bytes += bytes;
        ns__capture(port->ifc, p);      /* the host's capture sees tx start */
    }
    if (ns_queue_len_pkts(d->q) > 0) {
        /* Frames wait: the tx_done that starts the next one is needed
         * anyway, and sends this one on its way as it always did. */
        d->tx = p;
        d->tx_event = true;
        schedule_dir(d, d->tx_end, tx_done, batch_tx_done);
    } else {
        /* Nothing waits: the arrival is all that must happen (dir_send
         * adds a tx_done if a frame comes while this one is on). */
        inflight_push(d, p);
        d->owes_dequeue = true;
        schedule_dir(d, d->tx_end + lan->delay, arrive, batch_arrive);
    }
    return true;
}

static void dir_send(struct lan_dir *d, ns_pkt *p)
{
    ns_time_t now = ns_sim_now(d->port->lan->net->sim);
    if (d->tx_event) {                  /* the pending tx_done will start it */
        ns_queue_enqueue(d->q, p, now);
        return;
    }
    if (now < d->tx_end) {
        /* Serialising a frame no event waits for: one must now start
         * this frame at tx_end, unless the discipline refused it. */
        ns_queue_enqueue(d->q, p, now);
        if (ns_queue_len_pkts(d->q) > 0) {
            d->tx_event = true;
            d->owes_dequeue = false;    /* the tx_done will ask */
            schedule_dir(d, d->tx_end, tx_done, batch_tx_done);
        }
        return;
    }
    /* Idle.  The discipline first gets the empty dequeue it would have
     * had at tx_end, so that its state (RED's idle start, CoDel's
     * dropping state) is what it was with one event per frame. */
    if (d->owes_dequeue) {
        d->owes_dequeue = false;
        ns_pkt *none = ns_queue_dequeue(d->q, d->tx_end);
        g_assert(none == NULL);         /* nothing was queued since */
    }
    ns_queue_enqueue(d->q, p, now);
    start_tx(d);
}

/* ---- the switch ---- */

/* A frame fully received from port `in`: learn, then forward, flood or
 * filter. */
static void switch_receive(struct lan_port *in, ns_pkt *p)
{
    ns_lan *lan = in->lan;
    ns_sim *sim = lan->net->sim;
    uint64_t src = mac_key(ns__if_mac(lan->net, p->eth_src_if));
    if (fdb_get(&lan->fdb, src) != in)
        fdb_put(&lan->fdb, src, in);
    if (p->eth_dst_if != NS_IF_BROADCAST) {
        uint64_t dst = mac_key(ns__if_mac(lan->net, p->eth_dst_if));
        struct lan_port *out = fdb_get(&lan->fdb, dst);
        if (out) {
            if (out == in)
                ns_pkt_free(sim, p);    /* 802.1D: never back where it came from */
            else if (out->side != in->side)
                dir_drop(&in->up, p, NS_DROP_LINK_DOWN);   /* across the partition */
            else
                dir_send(&out->down, p);
            return;
        }
    }
    /* Broadcast, or unicast to a MAC not learned yet: every other port,
     * in attachment order, the original going to the last. */
    struct lan_port *last = NULL;
    lan->gathering = true;
    lan->gather = NULL;
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (o == in || o->side != in->side)
            continue;
        if (last)
            dir_send(&last->down, ns_pkt_clone(sim, p));
        last = o;
    }
    if (last)
        dir_send(&last->down, p);
    else
        ns_pkt_free(sim, p);
    lan->gathering = false;
    lan->gather = NULL;
}

/* ---- interface ops ---- */

void ns__lan_send(ns_iface *ifc, ns_pkt *p)
{
    struct lan_port *port = ifc->medium;
    p->eth_src_if = ifc->gid;
    dir_send(&port->up, p);
}

bool ns__lan_send_to_mac(ns_iface *ifc, ns_pkt *p, const uint8_t mac[6])
{
    ns_lan *lan = ((struct lan_port *)ifc->medium)->lan;
    /* A linear search: used once per DHCP reply, not per frame. */
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (memcmp(o->ifc->mac, mac, 6) == 0) {
            p->eth_dst_if = o->ifc->gid;
            ns__lan_send(ifc, p);
            return true;
        }
    }
    ns__net_drop(lan->net->sim, ifc->host, ifc->host->name, p, NS_DROP_NO_ARP);
    return false;
}

static bool is_ip_broadcast(const ns_iface *ifc, const ns_pkt *p, uint32_t next_hop)
{
    if (next_hop == NS_IP_BROADCAST || (p->flags & NS_PKT_BROADCAST))
        return true;
    return ifc->addr && ifc->prefix < 31 && next_hop == ns_iface_broadcast(ifc);
}

/* The first port, in attachment order, whose interface has addr (not 0),
 * or NULL.  From a map rebuilt after any address change or attachment:
 * addresses change at any time (DHCP), but a campus LAN of 200 hosts
 * scanned per unicast frame showed in profiles. */
static struct lan_port *port_by_addr(ns_lan *lan, uint32_t addr)
{
    if (!lan->by_addr_built || lan->by_addr_gen != lan->net->addr_gen ||
        lan->by_addr_ports != lan->ports->len) {
        ns_u32map_reset(&lan->by_addr);
        for (guint i = 0; i < lan->ports->len; i++) {
            struct lan_port *o = g_ptr_array_index(lan->ports, i);
            if (o->ifc->addr && !ns_u32map_get(&lan->by_addr, o->ifc->addr))
                ns_u32map_put(&lan->by_addr, o->ifc->addr, o);
        }
        lan->by_addr_built = true;
        lan->by_addr_gen = lan->net->addr_gen;
        lan->by_addr_ports = lan->ports->len;
    }
    return addr ? ns_u32map_get(&lan->by_addr, addr) : NULL;
}

static void lan_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop)
{
    struct lan_port *port = ifc->medium;
    ns_lan *lan = port->lan;
    if (is_ip_broadcast(ifc, p, next_hop)) {
        /* RFC 919 / RFC 922: IP broadcasts go to the link broadcast. */
        p->flags |= NS_PKT_BROADCAST;
        p->eth_dst_if = NS_IF_BROADCAST;
        ns__lan_send(ifc, p);
        return;
    }
    if (lan->arp) {
        ns__arp_output(ifc, p, next_hop);
        return;
    }
    /* Without ARP every neighbour is known. */
    struct lan_port *o = port_by_addr(lan, next_hop);
    if (o) {
        p->eth_dst_if = o->ifc->gid;
        ns__lan_send(ifc, p);
        return;
    }
    ns__net_drop(lan->net->sim, ifc->host, ifc->host->name, p, NS_DROP_NO_ARP);
}

/* A port is up unless ns_lan_port_set_up took it down. */
static bool lan_iface_up(const ns_iface *ifc)
{
    return !((const struct lan_port *)ifc->medium)->cut;
}

static const struct ns_iface_ops lan_iface_ops = {
    .output = lan_output,
    .is_up  = lan_iface_up,
};

bool ns__lan_is_port(const ns_iface *ifc)
{
    return ifc->ops == &lan_iface_ops;
}

int ns__lan_each_port(ns_iface *ifc, void (*fn)(void *ud, ns_iface *o), void *ud)
{
    if (!ns__lan_is_port(ifc))
        return -1;
    ns_lan *lan = ((struct lan_port *)ifc->medium)->lan;
    for (guint i = 0; i < lan->ports->len; i++)
        fn(ud, ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc);
    return (int)lan->index;
}

int ns__lan_index(const ns_iface *ifc)
{
    return ns__lan_is_port(ifc) ? (int)((struct lan_port *)ifc->medium)->lan->index : -1;
}

/* ---- construction ---- */

static void dir_init(struct lan_dir *d, struct lan_port *port, bool uplink)
{
    d->port = port;
    d->uplink = uplink;
}

static void dir_clear(ns_sim *sim, struct lan_dir *d)
{
    if (d->tx)
        ns_pkt_free(sim, d->tx);
    ns_pkt *p;
    while ((p = inflight_pop(d)))
        ns_pkt_free(sim, p);
    if (d->q)
        ns_queue_free(d->q);
}

static void port_free(ns_sim *sim, struct lan_port *port)
{
    dir_clear(sim, &port->up);
    dir_clear(sim, &port->down);
    g_free(port);
}

void ns__lan_free(ns_lan *lan)
{
    for (guint i = 0; i < lan->ports->len; i++)
        port_free(lan->net->sim, g_ptr_array_index(lan->ports, i));
    g_ptr_array_free(lan->ports, TRUE);
    for (guint i = 0; i < lan->batches->len; i++) {
        struct lan_batch *b = g_ptr_array_index(lan->batches, i);
        g_free(b->dirs);
        g_free(b);
    }
    g_ptr_array_free(lan->batches, TRUE);
    g_ptr_array_free(lan->spare, TRUE);
    fdb_clear(&lan->fdb);
    if (lan->loss)
        ns_loss_free(lan->loss);
    ns_u32map_free(&lan->by_addr);
    g_free(lan->queue);
    g_free(lan->name);
    g_free(lan);
}

ns_lan *ns_lan_find(ns_sim *sim, const char *name)
{
    struct ns_net *net = ns__net_peek(sim);
    for (guint i = 0; net && i < net->lans->len; i++) {
        ns_lan *lan = g_ptr_array_index(net->lans, i);
        if (strcmp(lan->name, name) == 0)
            return lan;
    }
    return NULL;
}

ns_lan *ns_lan_new(ns_sim *sim, const char *name, const struct ns_lan_opts *o,
                   GError **error)
{
    struct ns_lan_opts def;
    char a[NS_ADDR_STRLEN];
    if (!o) {
        ns_lan_opts_defaults(&def);
        o = &def;
    }
    if (!name || !*name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "a LAN needs a name");
        return NULL;
    }
    if (ns_lan_find(sim, name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS, "LAN '%s' already exists", name);
        return NULL;
    }
    if (!(o->rate_bps >= 1) || !isfinite(o->rate_bps) || o->rate_bps > 1e15) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': rate %g bit/s is not in [1 bit/s, 1 Pbit/s]", name, o->rate_bps);
        return NULL;
    }
    if (o->delay < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': delay must not be negative", name);
        return NULL;
    }
    if (!(o->loss >= 0 && o->loss <= 1)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': loss %g is outside [0, 1]", name, o->loss);
        return NULL;
    }
    /* /31 and /32 leave no room for a broadcast address and several hosts. */
    if (o->prefix < 1 || o->prefix > 30) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': prefix /%d is outside [1, 30]", name, o->prefix);
        return NULL;
    }
    if (!o->subnet && o->prefix != 24) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': prefix /%d needs a given subnet (automatic ones are /24)",
                    name, o->prefix);
        return NULL;
    }
    if (o->subnet && (o->subnet & ~mask_of(o->prefix))) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': subnet %s has bits set beyond /%d", name,
                    ns_addr_format(o->subnet, a), o->prefix);
        return NULL;
    }
    /* Try the discipline once now so a bad name or configuration is
     * reported against the LAN, not at the first attachment. */
    const char *queue = o->queue ? o->queue : "droptail";
    struct ns_queue_cfg qc = o->qcfg;
    qc.rate_bps = o->rate_bps;
    ns_queue *trial = ns_queue_new(sim, queue, &qc, NULL, NULL, error);
    if (!trial) {
        g_prefix_error(error, "LAN '%s': ", name);
        return NULL;
    }
    ns_queue_free(trial);

    struct ns_net *net = ns__net_get(sim);
    ns_lan *lan = g_new0(ns_lan, 1);
    lan->net = net;
    lan->name = g_strdup(name);
    lan->rate_bps = o->rate_bps;
    lan->rate_int = (uint64_t)llround(o->rate_bps);
    lan->delay = o->delay;
    lan->queue = g_strdup(queue);
    lan->qcfg = qc;
    if (o->subnet) {
        lan->subnet = o->subnet;
        lan->prefix = o->prefix;
    } else {
        lan->subnet = ns__net_alloc_subnet(net);
        lan->prefix = 24;
    }
    lan->arp = o->arp;
    lan->loss = o->loss > 0 ? ns_loss_bernoulli(o->loss, NULL) : NULL;
    lan->ports = g_ptr_array_new();
    lan->batches = g_ptr_array_new();
    lan->spare = g_ptr_array_new();
    lan->index = net->lans->len;
    g_ptr_array_add(net->lans, lan);
    if (lan->arp)
        ns__arp_enable(net);
    return lan;
}

static struct lan_port *port_with_addr(const ns_lan *lan, uint32_t addr)
{
    for (guint i = 0; i < lan->ports->len; i++) {
        struct lan_port *o = g_ptr_array_index(lan->ports, i);
        if (o->ifc->addr == addr)
            return o;
    }
    return NULL;
}

/* Checks a given address, or picks the lowest free one (.1, .2, ...). */
static bool choose_addr(ns_lan *lan, uint32_t *addr, GError **error)
{
    char a[NS_ADDR_STRLEN], s[NS_ADDR_STRLEN];
    uint32_t mask = mask_of(lan->prefix);
    uint32_t bcast = lan->subnet | ~mask;
    if (*addr == 0) {
        /* The addresses in use, gathered once: asking every port about
         * every candidate made attaching n hosts cost n^3 (1,006 hosts in
         * the locks_contention bench: 0.3 s). */
        GHashTable *used = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint i = 0; i < lan->ports->len; i++) {
            uint32_t in_use = ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc->addr;
            g_hash_table_add(used, GUINT_TO_POINTER(in_use));
        }
        uint32_t x = lan->subnet + 1;
        while (x < bcast && g_hash_table_contains(used, GUINT_TO_POINTER(x)))
            x++;
        g_hash_table_destroy(used);
        if (x < bcast) {
            *addr = x;
            return true;
        }
        g_set_error(error, NS_ERROR, NS_ERROR_STATE, "LAN '%s': no free address in %s/%d",
                    lan->name, ns_addr_format(lan->subnet, s), lan->prefix);
        return false;
    }
    if ((*addr & mask) != lan->subnet) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "LAN '%s': address %s is outside %s/%d",
                    lan->name, ns_addr_format(*addr, a), ns_addr_format(lan->subnet, s),
                    lan->prefix);
        return false;
    }
    if (*addr == lan->subnet || *addr == bcast) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': address %s is the %s address of %s/%d", lan->name,
                    ns_addr_format(*addr, a), *addr == bcast ? "broadcast" : "network",
                    ns_addr_format(lan->subnet, s), lan->prefix);
        return false;
    }
    struct lan_port *o = port_with_addr(lan, *addr);
    if (o) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "LAN '%s': address %s is already used by host '%s'", lan->name,
                    ns_addr_format(*addr, a), o->ifc->host->name);
        return false;
    }
    return true;
}

ns_iface *ns_lan_attach(ns_lan *lan, ns_host *h, uint32_t addr, GError **error)
{
    g_return_val_if_fail(lan && h && h->net == lan->net, NULL);
    ns_sim *sim = lan->net->sim;
    if (addr != NS_LAN_NO_ADDR && !choose_addr(lan, &addr, error))
        return NULL;
    struct lan_port *port = g_new0(struct lan_port, 1);
    port->lan = lan;
    g_snprintf(port->name, sizeof port->name, "%s:%s", lan->name, h->name);
    dir_init(&port->up, port, true);
    dir_init(&port->down, port, false);
    /* Queue streams named by LAN, host and direction, not creation order. */
    struct ns_queue_cfg qc = lan->qcfg;
    char *up_name = g_strdup_printf("lan.%s.%s.up", lan->name, ns_host_name(h));
    char *down_name = g_strdup_printf("lan.%s.%s.down", lan->name, ns_host_name(h));
    qc.stream = up_name;
    port->up.q = ns_queue_new(sim, lan->queue, &qc, dir_drop, &port->up, error);
    qc.stream = down_name;
    port->down.q = port->up.q
        ? ns_queue_new(sim, lan->queue, &qc, dir_drop, &port->down, error) : NULL;
    if (lan->loss) {               /* streams named like the queues' */
        char *ln = g_strconcat(up_name, ".loss", NULL);
        port->up.loss_rng = ns_sim_rng(sim, ln);
        g_free(ln);
        ln = g_strconcat(down_name, ".loss", NULL);
        port->down.loss_rng = ns_sim_rng(sim, ln);
        g_free(ln);
    }
    g_free(up_name);
    g_free(down_name);
    if (!port->down.q) {
        g_prefix_error(error, "LAN '%s': ", lan->name);
        port_free(sim, port);
        return NULL;
    }
    ns_iface *ifc = ns__iface_new(h, &lan_iface_ops, port);
    if (!ifc) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "LAN '%s': the simulation has %u interfaces, the most it can have",
                    lan->name, NS_IF_MAX);
        port_free(sim, port);
        return NULL;
    }
    port->ifc = ifc;
    if (addr != NS_LAN_NO_ADDR && !ns_iface_set_addr(ifc, addr, lan->prefix, error)) {
        /* The host refused it (its other subnets overlap): take the
         * interface back off the host, where nothing has seen it yet. */
        g_prefix_error(error, "LAN '%s': ", lan->name);
        g_ptr_array_remove_index(h->ifaces, h->ifaces->len - 1);
        g_ptr_array_remove_index(lan->net->ifaces, lan->net->ifaces->len - 1);
        g_free(ifc);
        port_free(sim, port);
        return NULL;
    }
    g_ptr_array_add(lan->ports, port);
    lan->net->routes_valid = false;
    return ifc;
}

/* ---- accessors ---- */

const char *ns_lan_name(const ns_lan *lan) { return lan->name; }
uint32_t ns_lan_subnet(const ns_lan *lan) { return lan->subnet; }
int ns_lan_prefix(const ns_lan *lan) { return lan->prefix; }
size_t ns_lan_n_ports(const ns_lan *lan) { return lan->ports->len; }

ns_iface *ns_lan_port_iface(const ns_lan *lan, size_t i)
{
    return i < lan->ports->len ? ((struct lan_port *)g_ptr_array_index(lan->ports, i))->ifc : NULL;
}

size_t ns_lan_count(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    return net ? net->lans->len : 0;
}

ns_lan *ns_lan_nth(ns_sim *sim, size_t i)
{
    struct ns_net *net = ns__net_peek(sim);
    return net && i < net->lans->len ? g_ptr_array_index(net->lans, i) : NULL;
}

const struct ns_lan_port_stats *ns_lan_port_stats(const ns_lan *lan, const ns_iface *ifc)
{
    if (!ns__lan_is_port(ifc))
        return NULL;
    const struct lan_port *port = ifc->medium;
    return port->lan == lan ? &port->stats : NULL;
}

bool ns_lan_port_set_side(ns_lan *lan, ns_iface *ifc, int side)
{
    if (!ns__lan_is_port(ifc) || ((struct lan_port *)ifc->medium)->lan != lan)
        return false;
    struct lan_port *port = ifc->medium;
    if (port->side == side)
        return true;
    port->side = side;
    ns_sim *sim = lan->net->sim;
    if (ns_trace_on(sim, "lan.port", port->name))
        ns_trace_event(sim, "lan.port", port->name, "side=%d", side);
    return true;
}

bool ns_lan_port_set_up(ns_lan *lan, ns_iface *ifc, bool up)
{
    if (!ns__lan_is_port(ifc) || ((struct lan_port *)ifc->medium)->lan != lan)
        return false;
    struct lan_port *port = ifc->medium;
    if (port->cut == !up)
        return true;
    port->cut = !up;
    ns_sim *sim = lan->net->sim;
    if (ns_trace_on(sim, "lan.port", port->name))
        ns_trace_event(sim, "lan.port", port->name, "state=%s", up ? "up" : "down");
    return true;
}
