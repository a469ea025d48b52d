/* lan_port.c — one port of a LAN switch: its two directions, the host's
 * uplink (host -> switch) and the downlink (switch -> host), each a queue
 * feeding a transmitter at the port rate followed by the port delay, the
 * cable (loss, a pulled cable), and the batching of same-instant events.
 *
 * Serialisation and the tx_done bookkeeping are the transmitter clock's,
 * shared with link.c (tx_priv.h): while a direction stays busy, a frame
 * ends at busy_since + ceil(bits_since * 1e9 / rate), so back-to-back
 * frames never drift.
 *
 * Events: a frame's arrival time (tx_end + delay) is known when it starts,
 * so its arrival is scheduled then, and the end of its serialisation
 * needs an event only to start the next frame: a tx_done is scheduled at
 * tx_end when a frame starts with others queued behind it, or when a
 * frame is queued while it is on (dir_send); otherwise the direction is
 * busy until tx_end implicitly, in time.  An uncongested crossing thus
 * costs two events (arrival at the switch, arrival at the host) instead
 * of four.  The discipline still sees every frame through enqueue and
 * dequeue, at the same times: the dequeue a tx_done would have made at
 * tx_end on an empty queue (where RED starts an idle period after a
 * refused arrival, CoDel leaves its dropping state) is made when the
 * direction is next used, with tx_end as its time (owes_dequeue).
 *
 * Same-instant order: frames that reach one place at one instant do so
 * in the order they started, as before; a frame handed to a direction at
 * the very instant its transmitter finishes starts at once when no
 * tx_done is pending (the transmitter is free at tx_end), where it used
 * to depend on which of the two events had been scheduled first; and a
 * tx_done scheduled by dir_send fires after same-instant events scheduled
 * before it.  Times never change, only such orders.
 *
 * A flood to N ports costs one event, not N: the downlinks it starts
 * together on idle ports deliver together, so one "batch" event delivers
 * all the copies (and where ports were busy, one ends all their
 * transmissions; see struct lan_batch).  Arrival times and the order of
 * everything that happens at one instant are those of one event per port;
 * only the event count differs.
 *
 * Invariants: at most one frame is on a direction's transmitter (started
 * at or after the previous tx_end); frames on a direction arrive in the
 * order sent (the delay is constant); a frame is either in the queue or
 * in inflight with its arrival scheduled, and is freed or handed on by
 * exactly one of arrive, a drop, or ns__lan_port_free; a tx_done is
 * pending exactly when tx_event is set.
 */
#include <stdio.h>

#include "lan_priv.h"


static bool start_tx(struct lan_dir *d);

/* ---- drops ---- */

void ns__lan_dir_drop(void *ud, ns_pkt *p, enum ns_drop_cause cause)
{
    struct lan_dir *d = ud;
    d->port->stats.drops[cause]++;
    ns__net_drop(d->port->lan->net->sim, NULL, d->port->name, p, cause);
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
 * batch_fn at `at`: a flood schedules arrivals and tx_dones).  `at` is
 * never before now (a frame's end, or its end plus the delay), so
 * ns_event_at schedules exactly what ns_event_after(at - now) did,
 * without asking the sim for now twice per frame and hop. */
static void schedule_dir(struct lan_dir *d, ns_time_t at, ns_event_fn fn,
                         ns_event_fn batch_fn)
{
    ns_lan *lan = d->port->lan;
    ns_sim *sim = lan->net->sim;
    /* `at` is never before now (see above); a slip would drop the event,
     * so it is reported rather than lost silently. */
    if (!lan->gathering) {
        g_warn_if_fail(ns_event_at(sim, at, fn, d, 0, NULL).slot != 0);
        return;
    }
    if (!lan->gather || lan->gather->at != at || lan->gather->fn != batch_fn) {
        lan->gather = batch_take(lan, at, batch_fn);
        g_warn_if_fail(ns_event_at(sim, at, batch_fn, lan->gather, 0, NULL).slot != 0);
    }
    batch_add(lan->gather, d);
}

/* ---- one direction: queue, transmitter, propagation ---- */

static void arrive(ns_sim *sim, void *arg)
{
    struct lan_dir *d = arg;
    struct lan_port *port = d->port;
    ns_pkt *p = ns__wire_pop(&d->inflight);
    /* A down port (a pulled cable) loses what reaches either end of it;
     * checked on arrival, so frames already on the wire are lost too. */
    if (port->cut) {
        ns__lan_dir_drop(d, p, NS_DROP_LINK_DOWN);
        return;
    }
    /* A lossy cable (the LAN's loss option): the links' loss model, drawn
     * independently in each direction from that direction's own stream. */
    if (d->loss_rng && ns_loss_drops(port->lan->loss, p, d->loss_rng)) {
        ns__lan_dir_drop(d, p, NS_DROP_LOSS);
        return;
    }
    if (d->uplink) {
        ns__lan_switch_receive(port, p);
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

/* tx_end has come with a tx_done event: the discipline is asked for the
 * next frame.  Never while gathering: what a next frame schedules comes
 * after the batch, as it would have after the later per-port events. */
static void finish_tx(struct lan_dir *d)
{
    d->clk.tx_event = false;
    d->clk.owes_dequeue = false;         /* start_tx asks it now */
    start_tx(d);
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
    for (guint i = 0; i < b->n; i++)
        finish_tx(b->dirs[i]);
    batch_give_back(b);
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
    uint32_t bytes = ns_pkt_frame_len(p);
    ns_time_t tx_end = ns__tx_start(&d->clk, now, bytes, lan->rate_int, false);
    if (d->uplink) {
        port->stats.tx_pkts++;
        port->stats.tx_bytes += bytes;
        ns__capture(port->ifc, p);      /* the host's capture sees tx start */
    }
    if (ns_queue_len_pkts(d->q) > 0) {
        /* Frames wait: the tx_done that starts the next one is needed
         * now, and comes first (with no delay, before the arrival). */
        d->clk.tx_event = true;
        schedule_dir(d, tx_end, tx_done, batch_tx_done);
    } else {
        /* Nothing waits: dir_send adds a tx_done if a frame comes while
         * this one is on. */
        d->clk.owes_dequeue = true;
    }
    /* Every arrival is scheduled when its frame starts, so frames that
     * reach one place at one instant (the switch, from two ports) do so
     * in the order they started, as when each had a tx_done scheduled at
     * its start that scheduled its arrival in turn. */
    ns__wire_push(&d->inflight, p);
    schedule_dir(d, tx_end + lan->delay, arrive, batch_arrive);
    return true;
}

void ns__lan_dir_send(struct lan_dir *d, ns_pkt *p)
{
    switch (ns__tx_offer(&d->clk, d->q, p, ns_sim_now(d->port->lan->net->sim))) {
    case NS_TX_QUEUED:
        break;
    case NS_TX_NEEDS_DONE:
        schedule_dir(d, d->clk.tx_end, tx_done, batch_tx_done);
        break;
    case NS_TX_IDLE:
        start_tx(d);
        break;
    }
}

void ns__lan_gather_begin(ns_lan *lan)
{
    lan->gathering = true;
    lan->gather = NULL;
}

void ns__lan_gather_end(ns_lan *lan)
{
    lan->gathering = false;
    lan->gather = NULL;
}

/* ---- life cycle ---- */

void ns__lan_dir_init(struct lan_dir *d, struct lan_port *port, bool uplink)
{
    d->port = port;
    d->uplink = uplink;
}

static void dir_clear(ns_sim *sim, struct lan_dir *d)
{
    ns_pkt *p;
    while ((p = ns__wire_pop(&d->inflight)))
        ns_pkt_free(sim, p);
    if (d->q)
        ns_queue_free(d->q);
}

void ns__lan_port_free(ns_sim *sim, struct lan_port *port)
{
    dir_clear(sim, &port->up);
    dir_clear(sim, &port->down);
    g_free(port);
}

void ns__lan_batches_free(ns_lan *lan)
{
    for (guint i = 0; i < lan->batches->len; i++) {
        struct lan_batch *b = g_ptr_array_index(lan->batches, i);
        g_free(b->dirs);
        g_free(b);
    }
    g_ptr_array_free(lan->batches, TRUE);
    g_ptr_array_free(lan->spare, TRUE);
}
