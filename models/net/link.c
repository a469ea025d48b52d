/* link.c — point-to-point full-duplex links.
 *
 * Each direction is a queue feeding a transmitter, whose clock (tx.c,
 * shared with the LAN's ports) computes departure times from the bits sent
 * since it became busy: end = busy_since + ceil(bits * 1e9 / rate), in 128-bit
 * arithmetic, so back-to-back packets never accumulate rounding drift and
 * nothing overflows at 100 Gbps over hours.  A rate change rebases at the
 * next packet boundary.
 *
 * Events: on a direction without loss models or jitter, a packet's fate
 * and arrival time (tx_end + delay) are known when it starts, so its
 * arrival is scheduled then, and the end of its serialisation needs a
 * tx_done only to start a next packet: one is scheduled when a packet
 * starts with others queued behind it, or when one is queued while it is
 * on; otherwise the direction is busy until tx_end implicitly (a hop costs
 * one event instead of two).  What would have been decided at tx_end can
 * still change before it: the link going down, its delay or loss models
 * changing.  Those calls first give the packet being serialised back its
 * tx_done (materialise_tx), which decides at tx_end as always.  The empty
 * dequeue a tx_done made at tx_end is made when the direction is next
 * used, with tx_end as its time (owes_dequeue), so disciplines see the
 * same calls.  Directions with loss models or jitter draw at tx_end, one
 * tx_done per packet, as before.
 *
 * Invariants: one packet at most is on a direction's transmitter; packets
 * arrive in the order sent unless jitter is allowed to reorder them; when a
 * link goes down its queued, transmitting and in-flight packets are
 * dropped ("link-down") — the epoch counter tells stale arrivals apart; a
 * tx_done is pending exactly when tx_event is set, and it carries d->tx
 * (decided at tx_end) or only starts the next packet.
 */
#include <math.h>
#include <stdio.h>

#include "net_priv.h"
#include "tx_priv.h"
#include "netsim/event.h"
#include "netsim/rng.h"



struct link_dir {
    ns_link        *link;
    int             dir;              /* 0: a->b, 1: b->a */
    ns_iface       *from, *to;
    double          rate_bps;
    uint64_t        rate_int;         /* rate_bps rounded, as serialisation
                                       * uses it: set with rate_bps, not
                                       * an llround per frame */
    ns_time_t       delay;
    ns_time_t       jitter;
    bool            reorder;
    bool            rebase;           /* rate changed: restart the anchor */
    ns_queue       *q;
    GPtrArray      *losses;           /* ns_loss*, owned, applied in order */
    ns_rng         *rng;              /* loss and jitter draws */
    /* transmitter */
    ns_pkt         *tx;               /* being serialised, its fate decided
                                       * at tx_end by the pending tx_done,
                                       * or NULL */
    struct ns__tx   clk;              /* the transmitter clock (tx_priv.h) */
    uint32_t        tx_epoch;         /* epoch when tx started */
    ns_pkt         *early;            /* being serialised with its arrival
                                       * already scheduled (the inflight
                                       * tail), or NULL; valid while
                                       * now < tx_end */
    ns_event_id     early_ev;         /* that arrival */
    ns_time_t       early_prev_arrival; /* last_arrival before it */
    /* propagation: in-order packets wait in a FIFO (one event each) */
    struct ns__wire inflight;         /* in arrival order (tx_priv.h) */
    ns_time_t       last_arrival;
    uint32_t        epoch;            /* bumped when the link goes down */
    struct ns_link_stats stats;
    char            name[80];         /* "a-b" or "b-a" for traces */
};

struct ns_link {
    struct ns_net  *net;
    char           *name;
    ns_host        *host[2];
    ns_iface       *iface[2];
    struct link_dir d[2];
    uint32_t        overhead;
    bool            up;
};

struct reorder_arrival {              /* jitter that may reorder */
    struct link_dir *d;
    ns_pkt          *p;
    uint32_t         epoch;
};

static void start_tx(struct link_dir *d);

void ns_link_opts_defaults(struct ns_link_opts *o)
{
    *o = (struct ns_link_opts){ 0 };
    o->rate_bps = 1e9;
    o->queue = "droptail";
    ns_queue_cfg_defaults(&o->qcfg);
    o->prefix = 24;
}

/* ---- drops ---- */

static void dir_drop(void *ud, ns_pkt *p, enum ns_drop_cause cause)
{
    struct link_dir *d = ud;
    d->stats.drops[cause]++;
    ns__net_drop(d->link->net->sim, NULL, d->name, p, cause);
}

/* ---- transmit ---- */

static void arrive(ns_sim *sim, void *arg)
{
    struct link_dir *d = arg;
    ns_pkt *p = ns__wire_pop(&d->inflight);
    if ((uint32_t)p->stamp != d->epoch) {       /* sent before a link-down */
        dir_drop(d, p, NS_DROP_LINK_DOWN);
        return;
    }
    d->stats.rx_pkts++;
    d->stats.rx_bytes += ns_pkt_frame_len(p);
    ns__capture(d->to, p);
    ns__iface_input(d->to, p);
}

static void arrive_reordered(ns_sim *sim, void *arg)
{
    struct reorder_arrival *ra = arg;
    struct link_dir *d = ra->d;
    ns_pkt *p = ra->p;
    bool stale = ra->epoch != d->epoch;
    g_free(ra);
    if (stale) {
        dir_drop(d, p, NS_DROP_LINK_DOWN);
        return;
    }
    d->stats.rx_pkts++;
    d->stats.rx_bytes += ns_pkt_frame_len(p);
    ns__capture(d->to, p);
    ns__iface_input(d->to, p);
}

static bool lost(struct link_dir *d, const ns_pkt *p)
{
    for (guint i = 0; i < d->losses->len; i++)
        if (ns_loss_drops(g_ptr_array_index(d->losses, i), p, d->rng))
            return true;
    return false;
}

static void propagate(struct link_dir *d, ns_pkt *p)
{
    ns_sim *sim = d->link->net->sim;
    ns_time_t now = ns_sim_now(sim);
    ns_time_t at = now + d->delay;
    if (d->jitter > 0)
        at += (ns_time_t)ns_rng_below(d->rng, (uint64_t)d->jitter + 1);
    if (d->reorder) {
        struct reorder_arrival *ra = g_new(struct reorder_arrival, 1);
        *ra = (struct reorder_arrival){ d, p, d->epoch };
        ns_event_after(sim, at - now, arrive_reordered, ra);
        return;
    }
    if (at < d->last_arrival)          /* jitter never reorders by default */
        at = d->last_arrival;
    d->last_arrival = at;
    p->stamp = d->epoch;
    ns__wire_push(&d->inflight, p);
    ns_event_after(sim, at - now, arrive, d);
}

static void tx_done(ns_sim *sim, void *arg)
{
    (void)sim;
    struct link_dir *d = arg;
    ns_pkt *p = d->tx;
    d->tx = NULL;
    d->clk.tx_event = false;
    d->clk.owes_dequeue = false;         /* start_tx asks it now */
    if (p) {
        if (d->tx_epoch != d->epoch || !d->link->up)
            dir_drop(d, p, NS_DROP_LINK_DOWN);
        else if (lost(d, p))
            dir_drop(d, p, NS_DROP_LOSS);
        else
            propagate(d, p);
    }
    start_tx(d);
}

/* Whether a packet starting on d now can be sent on its way at once:
 * nothing is drawn for it at tx_end (no loss model, no jitter). */
static bool decided_at_start(const struct link_dir *d)
{
    return d->losses->len == 0 && d->jitter == 0 && !d->reorder;
}

/* Gives the packet being serialised with its arrival already scheduled
 * back to a tx_done at tx_end, before a call that may change what tx_end
 * would decide (link down, delay, loss models). */
static void materialise_tx(struct link_dir *d)
{
    ns_sim *sim = d->link->net->sim;
    ns_pkt *p = d->early;
    d->early = NULL;
    if (!p || ns_sim_now(sim) >= d->clk.tx_end)
        return;                         /* its tx_end has passed: decided */
    bool cancelled = ns_event_cancel(sim, d->early_ev);
    g_assert(cancelled && d->inflight.tail == p);
    /* p is the inflight tail: unlink it (a walk, on a rare call). */
    ns_pkt **link = &d->inflight.head;
    ns_pkt *prev = NULL;
    while (*link != p) {
        prev = *link;
        link = &prev->next;
    }
    *link = NULL;
    d->inflight.tail = prev;
    d->last_arrival = d->early_prev_arrival;
    d->tx = p;
    d->tx_epoch = (uint32_t)p->stamp;
    if (!d->clk.tx_event) {
        d->clk.tx_event = true;
        d->clk.owes_dequeue = false;     /* the tx_done will ask */
        ns_event_after(sim, d->clk.tx_end - ns_sim_now(sim), tx_done, d);
    }
}

/* Starts the next queued packet on d's idle transmitter, continuing the
 * busy period when it was busy until now. */
static void start_tx(struct link_dir *d)
{
    ns_sim *sim = d->link->net->sim;
    ns_time_t now = ns_sim_now(sim);
    if (!d->link->up)
        return;
    ns_pkt *p = ns_queue_dequeue(d->q, now);
    if (!p)
        return;
    d->early = NULL;                    /* the last one's tx_end has passed */
    uint32_t bytes = ns_pkt_frame_len(p) + d->link->overhead;
    /* rate is an integer number of bit/s */
    ns_time_t tx_end = ns__tx_start(&d->clk, now, bytes, d->rate_int, d->rebase);
    d->rebase = false;
    d->stats.tx_pkts++;
    d->stats.tx_bytes += bytes - d->link->overhead;
    ns__capture(d->from, p);
    bool more = ns_queue_len_pkts(d->q) > 0;
    if (!decided_at_start(d)) {
        d->tx = p;                      /* decided at tx_end, as always */
        d->tx_epoch = d->epoch;
        d->clk.tx_event = true;
        ns_event_after(sim, tx_end - now, tx_done, d);
        return;
    }
    if (more) {                         /* starts the next one at tx_end */
        d->clk.tx_event = true;
        ns_event_after(sim, tx_end - now, tx_done, d);
    } else {
        d->clk.owes_dequeue = true;      /* link_output adds a tx_done if needed */
    }
    /* As tx_done would at tx_end: the delay cannot change before then
     * without materialise_tx taking this back. */
    ns_time_t at = tx_end + d->delay;
    d->early_prev_arrival = d->last_arrival;
    if (at < d->last_arrival)
        at = d->last_arrival;
    d->last_arrival = at;
    p->stamp = d->epoch;
    ns__wire_push(&d->inflight, p);
    d->early = p;
    d->early_ev = ns_event_after(sim, at - now, arrive, d);
}

static void pay_dequeue(struct link_dir *d)
{
    ns__tx_pay_dequeue(&d->clk, d->q, ns_sim_now(d->link->net->sim));
}

static void link_output(ns_iface *ifc, ns_pkt *p, uint32_t next_hop)
{
    struct link_dir *d = ifc->medium;
    p->eth_dst_if = ifc->peer->gid;             /* p2p: no ARP needed */
    p->eth_src_if = ifc->gid;
    if (!d->link->up) {
        dir_drop(d, p, NS_DROP_LINK_DOWN);
        return;
    }
    switch (ns__tx_offer(&d->clk, d->q, p, ns_sim_now(d->link->net->sim))) {
    case NS_TX_QUEUED:
        break;
    case NS_TX_NEEDS_DONE:
        ns_event_after(d->link->net->sim, d->clk.tx_end - ns_sim_now(d->link->net->sim), tx_done, d);
        break;
    case NS_TX_IDLE:
        start_tx(d);
        break;
    }
}

static bool link_iface_up(const ns_iface *ifc)
{
    const struct link_dir *d = ifc->medium;
    return d->link->up;
}

static const struct ns_iface_ops link_iface_ops = {
    .output = link_output,
    .is_up  = link_iface_up,
};

/* ---- construction ---- */

static bool check_rate(const char *name, double rate, GError **error)
{
    if (!(rate >= 1) || !isfinite(rate) || rate > 1e15) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': rate %g bit/s is not in [1 bit/s, 1 Pbit/s]", name, rate);
        return false;
    }
    return true;
}

static bool check_loss(const char *name, double p, GError **error)
{
    if (!(p >= 0 && p <= 1)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': loss %g is outside [0, 1]", name, p);
        return false;
    }
    return true;
}

void ns__link_free(ns_link *l);
void ns__link_free(ns_link *l)
{
    ns_sim *sim = l->net->sim;
    for (int i = 0; i < 2; i++) {
        struct link_dir *d = &l->d[i];
        if (d->tx)
            ns_pkt_free(sim, d->tx);
        ns_pkt *p;
        while ((p = ns__wire_pop(&d->inflight)))
            ns_pkt_free(sim, p);
        if (d->q)
            ns_queue_free(d->q);
        if (d->losses)
            g_ptr_array_free(d->losses, TRUE);
    }
    g_free(l->name);
    g_free(l);
}

ns_link *ns_link_new(ns_sim *sim, ns_host *a, ns_host *b,
                     const struct ns_link_opts *o, GError **error)
{
    struct ns_link_opts def;
    if (!o) {
        ns_link_opts_defaults(&def);
        o = &def;
    }
    struct ns_net *net = ns__net_get(sim);
    char *name = g_strdup_printf("%s-%s", a->name, b->name);
    if (a == b) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': cannot link host '%s' to itself", name, a->name);
        goto fail;
    }
    if (!check_rate(name, o->rate_bps, error) || !check_loss(name, o->loss, error))
        goto fail;
    if (o->delay < 0 || o->jitter < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': delay and jitter must not be negative", name);
        goto fail;
    }
    if ((o->a_addr != 0) != (o->b_addr != 0)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': give both addresses or neither", name);
        goto fail;
    }
    uint32_t aa = o->a_addr, ba = o->b_addr;
    int prefix = o->prefix;
    if (!aa) {
        uint32_t net24 = ns__net_alloc_subnet(net);
        aa = net24 | 1;
        ba = net24 | 2;
        prefix = 24;
    }
    /* Addresses are checked before anything changes, so a failed call
     * leaves the hosts as they were. */
    char ifa[12], ifb[12];
    g_snprintf(ifa, sizeof ifa, "eth%u", a->ifaces->len);
    g_snprintf(ifb, sizeof ifb, "eth%u", b->ifaces->len);
    if (!ns__host_check_addr(a, NULL, ifa, aa, prefix, error) ||
        !ns__host_check_addr(b, NULL, ifb, ba, prefix, error)) {
        g_prefix_error(error, "link '%s': ", name);
        goto fail;
    }

    ns_link *l = g_new0(ns_link, 1);
    l->net = net;
    l->name = name;
    l->host[0] = a;
    l->host[1] = b;
    l->overhead = o->overhead;
    l->up = true;
    for (int i = 0; i < 2; i++) {
        struct link_dir *d = &l->d[i];
        d->link = l;
        d->dir = i;
        d->rate_bps = o->rate_bps;
        d->rate_int = (uint64_t)llround(o->rate_bps);
        d->delay = o->delay;
        d->jitter = o->jitter;
        d->reorder = o->jitter_reorders;
        d->losses = g_ptr_array_new_with_free_func((GDestroyNotify)ns_loss_free);
        g_snprintf(d->name, sizeof d->name, "%s-%s", l->host[i]->name, l->host[1 - i]->name);
        char *rn = g_strdup_printf("link.%s.%d", name, i);
        d->rng = ns_sim_rng(sim, rn);
        g_free(rn);
        struct ns_queue_cfg qc = o->qcfg;
        qc.rate_bps = o->rate_bps;
        char *stream = g_strdup_printf("%s.%d", name, i);
        qc.stream = stream;
        d->q = ns_queue_new(sim, o->queue ? o->queue : "droptail", &qc, dir_drop, d, error);
        g_free(stream);
        if (!d->q) {
            g_prefix_error(error, "link '%s': ", name);
            ns__link_free(l);
            return NULL;
        }
        if (o->loss > 0)
            g_ptr_array_add(d->losses, ns_loss_bernoulli(o->loss, NULL));
    }
    /* Interfaces last: nothing above can fail after the hosts change. */
    if (net->ifaces->len + 2 > NS_IF_MAX) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "link '%s': the simulation has %u interfaces, the most it can have",
                    name, NS_IF_MAX);
        ns__link_free(l);
        return NULL;
    }
    l->iface[0] = ns__iface_new(a, &link_iface_ops, &l->d[0]);
    l->iface[1] = ns__iface_new(b, &link_iface_ops, &l->d[1]);
    l->iface[0]->peer = l->iface[1];
    l->iface[1]->peer = l->iface[0];
    for (int i = 0; i < 2; i++) {
        l->d[i].from = l->iface[i];
        l->d[i].to = l->iface[1 - i];
    }
    bool ok = ns_iface_set_addr(l->iface[0], aa, prefix, NULL) &&
              ns_iface_set_addr(l->iface[1], ba, prefix, NULL);
    g_assert(ok);                       /* checked above */
    g_ptr_array_add(net->links, l);
    net->routes_valid = false;
    return l;
fail:
    g_free(name);
    return NULL;
}

const char *ns_link_name(const ns_link *l) { return l->name; }
ns_host *ns_link_host(const ns_link *l, int end) { return l->host[end & 1]; }
ns_iface *ns_link_iface(const ns_link *l, int end) { return l->iface[end & 1]; }

size_t ns_link_count(ns_sim *sim)
{
    struct ns_net *net = ns__net_peek(sim);
    return net ? net->links->len : 0;
}

ns_link *ns_link_nth(ns_sim *sim, size_t i)
{
    struct ns_net *net = ns__net_peek(sim);
    return net && i < net->links->len ? g_ptr_array_index(net->links, i) : NULL;
}

ns_link *ns_link_find(ns_sim *sim, const char *name)
{
    for (size_t i = 0; i < ns_link_count(sim); i++)
        if (strcmp(ns_link_nth(sim, i)->name, name) == 0)
            return ns_link_nth(sim, i);
    return NULL;
}

bool ns_link_set_rate(ns_link *l, int dir, double rate_bps, GError **error)
{
    if (!check_rate(l->name, rate_bps, error))
        return false;
    for (int i = 0; i < 2; i++)
        if (dir < 0 || dir == i) {
            l->d[i].rate_bps = rate_bps;
            l->d[i].rate_int = (uint64_t)llround(rate_bps);
            l->d[i].rebase = true;
        }
    return true;
}

bool ns_link_set_delay(ns_link *l, int dir, ns_time_t delay, GError **error)
{
    if (delay < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "link '%s': delay must not be negative", l->name);
        return false;
    }
    for (int i = 0; i < 2; i++)
        if (dir < 0 || dir == i) {
            materialise_tx(&l->d[i]);
            l->d[i].delay = delay;
        }
    return true;
}

bool ns_link_set_loss(ns_link *l, int dir, double p, GError **error)
{
    if (!check_loss(l->name, p, error))
        return false;
    for (int i = 0; i < 2; i++)
        if (dir < 0 || dir == i) {
            materialise_tx(&l->d[i]);
            g_ptr_array_set_size(l->d[i].losses, 0);
            if (p > 0)
                g_ptr_array_add(l->d[i].losses, ns_loss_bernoulli(p, NULL));
        }
    return true;
}

void ns_link_add_loss(ns_link *l, int dir, ns_loss *loss)
{
    materialise_tx(&l->d[dir & 1]);
    g_ptr_array_add(l->d[dir & 1].losses, loss);
}

void ns_link_set_up(ns_link *l, bool up)
{
    if (l->up == up)
        return;
    l->up = up;
    ns_sim *sim = l->net->sim;
    if (ns_trace_on(sim, "link.state", l->name))
        ns_trace_event(sim, "link.state", l->name, "state=%s", up ? "up" : "down");
    for (int i = 0; i < 2; i++) {
        struct link_dir *d = &l->d[i];
        if (!up) {
            materialise_tx(d);
            pay_dequeue(d);
            d->epoch++;                     /* in-flight packets become stale */
            ns_queue_flush(d->q, NS_DROP_LINK_DOWN);
            /* The packet on the transmitter is dropped when its tx ends. */
        } else {
            d->rebase = true;
            if (!d->clk.tx_event && ns_sim_now(sim) >= d->clk.tx_end) {
                pay_dequeue(d);
                start_tx(d);
            }
        }
    }
    l->net->routes_valid = false;
}

bool ns_link_is_up(const ns_link *l) { return l->up; }
ns_queue *ns_link_queue(ns_link *l, int dir) { return l->d[dir & 1].q; }

const struct ns_link_stats *ns_link_stats(const ns_link *l, int dir)
{
    return &l->d[dir & 1].stats;
}
