/* dhcp_client.c — the RFC 2131 client: the state machine of figure 5 as a
 * table of arcs, one row per RFC arc, applied by one function that traces
 * every transition ("dhcp.state") and notes it on the sequence diagram.
 *
 * Invariants: a client holds at most one exchange (xid) at a time and
 * ignores replies for any other; `timer` is the one pending start or
 * retransmission event, t1/t2/expiry the lease timers, all cancelled when
 * the state they belong to is left; the interface carries the leased
 * address exactly while the state is BOUND, RENEWING or REBINDING.
 *
 * Timers live in the sim's DHCP client timer queue; the three lease
 * timers share one entry of it
 * (dhcp_timers.c), set exactly while one of them is armed, for the
 * earliest armed deadline (see on_lease_timer). */
#include <math.h>
#include <string.h>

#include "dhcp_priv.h"
#include "netsim/arp.h"
#include "netsim/event.h"
#include "netsim/rng.h"

#define CLIENT_KEY "dhcp.client"

#define EVENTS(X)                                                         \
    X(EV_START, "start")             /* start delay over */              \
    X(EV_OFFER, "offer")                                                  \
    X(EV_ACK, "ack")                 /* ACK, address to be probed */     \
    X(EV_ACK_NOPROBE, "ack")         /* ACK, used at once */             \
    X(EV_NAK, "nak")                                                      \
    X(EV_PROBE_FREE, "probe-free")                                        \
    X(EV_PROBE_IN_USE, "probe-in-use")                                    \
    X(EV_RETRANSMIT, "retransmit")                                        \
    X(EV_GIVE_UP, "give-up")         /* REQUEST tries exhausted */       \
    X(EV_T1, "t1")                                                        \
    X(EV_T2, "t2")                                                        \
    X(EV_EXPIRE, "expire")                                                \
    X(EV_RELEASE, "release")                                              \
    X(EV_CRASH, "crash")                                                  \
    X(EV_RESTART, "restart")         /* no lease to remember */          \
    X(EV_RESTART_REBOOT, "restart")  /* reboot with the old lease */
#define X_ENUM(name, str) name,
enum client_event { EVENTS(X_ENUM) NEVENTS };
#undef X_ENUM
#define X_NAME(name, str) str,
static const char *const event_names[] = { EVENTS(X_NAME) };
#undef X_NAME

#define NS_X_NAME(name, str) str,
static const char *const state_names[] = { NS_DHCP_STATES(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_dhcp_state_name(enum ns_dhcp_state s)
{
    return (unsigned)s < NS_DHCP_NSTATES ? state_names[s] : "?";
}

struct ns_dhcp_client {
    ns_host   *host;
    ns_iface  *ifc;
    ns_sim    *sim;
    struct ns__dhcp_sim *ds;      /* the sim's DHCP state, found once */
    ns_udp    *sock;
    ns_rng    *rng;               /* the host's "dhcp" stream */
    struct ns_dhcp_client_opts opts;
    enum ns_dhcp_state state;
    uint32_t   xid;
    ns_time_t  exchange_start;    /* for the secs field */
    unsigned   retx;              /* retransmissions in this state */
    struct ns__dhcp_timer timer;  /* start or retransmission */
    /* Lease timer deadlines (LT_T1, LT_T2, LT_EXP), NS_TIME_MAX when not
     * armed, and the one queued timer for the earliest. */
    ns_time_t  lease_due[3];
    struct ns__dhcp_timer lease_timer;
    struct ns_dhcp_msg rx;        /* the reply being handled */
    uint32_t   offered;           /* SELECTING -> REQUESTING: yiaddr */
    uint32_t   server;            /* the server chosen / leasing */
    bool       probing;
    ns_time_t  last_request_at;   /* RFC 2131 4.4.1: timers count from it */
    struct ns_dhcp_lease_info lease;
    bool       has_lease;         /* lease is valid (bound or remembered) */
    struct ns_dhcp_client_stats stats;
    ns_dhcp_state_fn state_fn;
    void      *state_ud;
    ns_dhcp_offer_fn offer_fn;
    void      *offer_ud;
    ns_dhcp_choose_fn choose_fn;
    void      *choose_ud;
    GArray    *offers;            /* struct ns_dhcp_msg: the OFFERs of this
                                     selecting window, kept for choose_fn */
};

typedef void (*action_fn)(ns_dhcp_client *c);
struct arc {
    enum ns_dhcp_state next;
    action_fn act;
};

static void send_discover(ns_dhcp_client *c);
static void send_select_request(ns_dhcp_client *c);
static void resend_request(ns_dhcp_client *c);
static void start_probe(ns_dhcp_client *c);
static void bind_lease(ns_dhcp_client *c);
static void decline(ns_dhcp_client *c);
static void restart_init(ns_dhcp_client *c);
static void drop_and_restart(ns_dhcp_client *c);
static void start_renew(ns_dhcp_client *c);
static void start_rebind(ns_dhcp_client *c);
static void release(ns_dhcp_client *c);
static void crashed(ns_dhcp_client *c);
static void schedule_start(ns_dhcp_client *c);
static void send_reboot_request(ns_dhcp_client *c);
static void drop_address(ns_dhcp_client *c);

#define S(st) [NS_DHCP_##st]
#define A(st, fn) { NS_DHCP_##st, fn }
#define ANY_ACTIVE                                   \
    [EV_RELEASE] = A(STOPPED, release),              \
    [EV_CRASH]   = A(INIT, crashed)

/* RFC 2131 figure 5.  An empty cell: the input is ignored (traced). */
static const struct arc fsm[NS_DHCP_NSTATES][NEVENTS] = {
    S(INIT) = {
        [EV_START]          = A(SELECTING, send_discover),
        [EV_RESTART]        = A(INIT, schedule_start),
        [EV_RESTART_REBOOT] = A(INIT_REBOOT, schedule_start),
        ANY_ACTIVE,
    },
    S(SELECTING) = {
        [EV_OFFER]      = A(REQUESTING, send_select_request),
        [EV_RETRANSMIT] = A(SELECTING, send_discover),
        ANY_ACTIVE,
    },
    S(REQUESTING) = {
        [EV_ACK]          = A(REQUESTING, start_probe),
        [EV_ACK_NOPROBE]  = A(BOUND, bind_lease),
        [EV_PROBE_FREE]   = A(BOUND, bind_lease),
        [EV_PROBE_IN_USE] = A(INIT, decline),
        [EV_NAK]          = A(INIT, restart_init),
        [EV_RETRANSMIT]   = A(REQUESTING, resend_request),
        [EV_GIVE_UP]      = A(INIT, restart_init),
        ANY_ACTIVE,
    },
    S(BOUND) = {
        [EV_T1]     = A(RENEWING, start_renew),
        [EV_T2]     = A(REBINDING, start_rebind),
        [EV_EXPIRE] = A(INIT, drop_and_restart),
        ANY_ACTIVE,
    },
    S(RENEWING) = {
        [EV_ACK]         = A(BOUND, bind_lease),
        [EV_ACK_NOPROBE] = A(BOUND, bind_lease),
        [EV_NAK]         = A(INIT, drop_and_restart),
        [EV_RETRANSMIT]  = A(RENEWING, resend_request),
        [EV_T2]          = A(REBINDING, start_rebind),
        [EV_EXPIRE]      = A(INIT, drop_and_restart),
        ANY_ACTIVE,
    },
    S(REBINDING) = {
        [EV_ACK]         = A(BOUND, bind_lease),
        [EV_ACK_NOPROBE] = A(BOUND, bind_lease),
        [EV_NAK]         = A(INIT, drop_and_restart),
        [EV_RETRANSMIT]  = A(REBINDING, resend_request),
        [EV_EXPIRE]      = A(INIT, drop_and_restart),
        ANY_ACTIVE,
    },
    S(INIT_REBOOT) = {
        [EV_START] = A(REBOOTING, send_reboot_request),
        ANY_ACTIVE,
    },
    S(REBOOTING) = {
        [EV_ACK]         = A(BOUND, bind_lease),
        [EV_ACK_NOPROBE] = A(BOUND, bind_lease),
        [EV_NAK]         = A(INIT, drop_and_restart),
        [EV_RETRANSMIT]  = A(REBOOTING, resend_request),
        [EV_GIVE_UP]     = A(INIT, drop_and_restart),
        ANY_ACTIVE,
    },
};
#undef S
#undef A
#undef ANY_ACTIVE

static void step(ns_dhcp_client *c, enum client_event ev)
{
    const struct arc *arc = &fsm[c->state][ev];
    const char *node = ns_host_name(c->host);
    if (arc->next == NS_DHCP_NONE) {
        DHCP_TRACE(c->sim, "dhcp.ignored", node, "state=%s event=%s",
                   ns_dhcp_state_name(c->state), event_names[ev]);
        return;
    }
    enum ns_dhcp_state from = c->state;
    if (arc->next != from) {
        DHCP_TRACE(c->sim, "dhcp.state", node, "from=%s to=%s cause=%s",
                   ns_dhcp_state_name(from), ns_dhcp_state_name(arc->next),
                   event_names[ev]);
        ns_net_diagram_note(c->host, ns_dhcp_state_name(arc->next));
        ns__dhcp_timeline_row(c->ds, c, arc->next, event_names[ev]);
        c->retx = 0;
    }
    c->state = arc->next;
    if (arc->act)
        arc->act(c);
    if (arc->next != from && c->state_fn)
        c->state_fn(c, from, arc->next, c->state_ud);
}

/* ---- choosing among OFFERs ---- */

/* The chooser may hold a window open; at most this many OFFERs are kept
 * (more servers than that on one LAN is not a case worth memory). */
#define OFFERS_KEPT_MAX 32

static void forget_offers(ns_dhcp_client *c)
{
    if (c->offers)
        g_array_set_size(c->offers, 0);
}

/* Takes kept OFFER i: the REQUEST goes to its server. */
static void take_kept(ns_dhcp_client *c, int i)
{
    c->rx = g_array_index(c->offers, struct ns_dhcp_msg, i);
    forget_offers(c);
    step(c, EV_OFFER);
}

/* Asks the chooser; true when it took an offer or the client left
 * SELECTING meanwhile (a callback may release the client). */
static bool ask_chooser(ns_dhcp_client *c, bool closing)
{
    int n = (int)c->offers->len;
    int i = c->choose_fn(c, (const struct ns_dhcp_msg *)(void *)c->offers->data, (size_t)n,
                         closing, c->choose_ud);
    if (c->state != NS_DHCP_SELECTING)
        return true;
    if (i >= 0 && i < n) {
        take_kept(c, i);
        return true;
    }
    return false;
}

static void keep_offer(ns_dhcp_client *c, const struct ns_dhcp_msg *m)
{
    if (!c->offers)
        c->offers = g_array_new(FALSE, FALSE, sizeof(struct ns_dhcp_msg));
    if (c->offers->len >= OFFERS_KEPT_MAX)
        return;
    g_array_append_val(c->offers, *m);
    ask_chooser(c, false);
}

/* The retransmission timer closes a selecting window: with OFFERs kept the
 * chooser picks one of them now (true) instead of a new DISCOVER going
 * out; offers it refuses are dropped (false: retransmit). */
static bool window_closed(ns_dhcp_client *c)
{
    if (!c->choose_fn || !c->offers || c->offers->len == 0)
        return false;
    if (ask_chooser(c, true))
        return true;
    forget_offers(c);
    return false;
}

/* ---- timers ---- */

static void on_timer(void *arg)
{
    ns_dhcp_client *c = arg;
    if (c->state == NS_DHCP_STOPPED) {          /* the RELEASE has left */
        drop_address(c);
        return;
    }
    if (c->state == NS_DHCP_INIT || c->state == NS_DHCP_INIT_REBOOT) {
        step(c, EV_START);
        return;
    }
    if (c->state == NS_DHCP_SELECTING && window_closed(c))
        return;
    bool requesting = c->state == NS_DHCP_REQUESTING || c->state == NS_DHCP_REBOOTING;
    if (requesting && c->retx + 1 >= c->opts.request_tries)
        step(c, EV_GIVE_UP);
    else
        step(c, EV_RETRANSMIT);
}

/* The lease timers, in the order their events were scheduled when each
 * had its own: at one instant they fire T1, T2, expiry. */
enum { LT_T1, LT_T2, LT_EXP, NLEASE_TIMERS };
static const enum client_event lease_timer_event[NLEASE_TIMERS] = { EV_T1, EV_T2, EV_EXPIRE };

/* Sets the client's queued timer for the earliest armed deadline, or
 * stops it when none is armed. */
static void arm_lease_timer(ns_dhcp_client *c)
{
    ns_time_t due = NS_TIME_MAX;
    for (int k = 0; k < NLEASE_TIMERS; k++)
        if (c->lease_due[k] < due)
            due = c->lease_due[k];
    if (due == NS_TIME_MAX)
        ns__dhcp_timer_stop(&c->ds->client_timers, &c->lease_timer);
    else
        ns__dhcp_timer_set(&c->ds->client_timers, &c->lease_timer, due);
}

/* One queued timer instead of three events per lease: a client renews
 * every half lease, and each renewal cancelled the pending T2 and expiry
 * events, whose dead entries stayed in the event heap until their time.
 * The timers due now fire in their old order; a step may disarm the
 * later ones (expiry drops the lease), so each is checked just before. */
static void on_lease_timer(void *arg)
{
    ns_dhcp_client *c = arg;
    ns_time_t now = ns_sim_now(c->sim);
    for (int k = 0; k < NLEASE_TIMERS; k++) {
        if (c->lease_due[k] <= now) {
            c->lease_due[k] = NS_TIME_MAX;
            step(c, lease_timer_event[k]);
        }
    }
    if (!ns__dhcp_timer_is_set(&c->lease_timer))
        arm_lease_timer(c);
}

/* Every client timer is queued in the sim's lease timer queue
 * (dhcp_timers.c), not the engine's: a renewal's retransmission timer is
 * cancelled by the ACK, and such dead entries stayed in the engine's
 * heap for ~11 minutes each (dhcp_campus: ~1,500 of them). */
static void cancel(ns_dhcp_client *c, struct ns__dhcp_timer *t)
{
    ns__dhcp_timer_stop(&c->ds->client_timers, t);
}

static void cancel_lease_timers(ns_dhcp_client *c)
{
    for (int k = 0; k < NLEASE_TIMERS; k++)
        c->lease_due[k] = NS_TIME_MAX;
    ns__dhcp_timer_stop(&c->ds->client_timers, &c->lease_timer);
}

static void set_timer(ns_dhcp_client *c, ns_time_t delay)
{
    ns__dhcp_timer_set(&c->ds->client_timers, &c->timer,
                       ns_sim_now(c->sim) + (delay < 0 ? 0 : delay));
}

/* RFC 2131 4.1: 4 s before the first retransmission, doubling up to 64 s,
 * each randomized by a uniform number in [-1, +1] s. */
static void arm_backoff(ns_dhcp_client *c)
{
    unsigned n = c->retx < 4 ? c->retx : 4;
    ns_time_t base = (ns_time_t)(4 << n) * NS_SEC;
    ns_time_t jitter = (ns_time_t)llround(ns_rng_uniform_range(c->rng, -1.0, 1.0) * 1e9);
    set_timer(c, base + jitter);
}

/* RFC 2131 4.4.5: in RENEWING wait half the time left to T2, in REBINDING
 * half the time left to expiry, but at least 60 s; nothing when that
 * reaches the deadline (its own timer takes over). */
static void arm_half_remaining(ns_dhcp_client *c, ns_time_t deadline)
{
    ns_time_t now = ns_sim_now(c->sim);
    ns_time_t wait = (deadline - now) / 2;
    if (wait < 60 * NS_SEC)
        wait = 60 * NS_SEC;
    cancel(c, &c->timer);
    if (now + wait < deadline)
        set_timer(c, wait);
}

/* ---- messages ---- */

static void new_exchange(ns_dhcp_client *c)
{
    forget_offers(c);             /* they answered the old xid */
    c->xid = (uint32_t)ns_rng_u64(c->rng);
    c->exchange_start = ns_sim_now(c->sim);
}

static void base_msg(ns_dhcp_client *c, struct ns_dhcp_msg *m, uint8_t type)
{
    memset(m, 0, sizeof *m);
    m->op = NS_DHCP_BOOTREQUEST;
    m->xid = c->xid;
    ns_time_t secs = (ns_sim_now(c->sim) - c->exchange_start) / NS_SEC;
    m->secs = (uint16_t)(secs > 65535 ? 65535 : secs);
    m->flags = c->opts.broadcast ? NS_DHCP_FLAG_BROADCAST : 0;
    memcpy(m->chaddr, ns_iface_mac(c->ifc), 6);
    m->client_id_len = c->opts.client_id_len;
    memcpy(m->client_id, c->opts.client_id, c->opts.client_id_len);
    m->type = type;
}

static void transmit(ns_dhcp_client *c, const struct ns_dhcp_msg *m, uint32_t dst)
{
    if (m->type == NS_DHCP_REQUEST) {
        c->stats.requests++;
        c->last_request_at = ns_sim_now(c->sim);
    }
    ns__dhcp_send(c->sock, c->ifc, dst, NS_DHCP_SERVER_PORT, m);
}

static void send_discover(ns_dhcp_client *c)
{
    if (c->retx == 0 && c->state == NS_DHCP_SELECTING && !ns__dhcp_timer_is_set(&c->timer))
        new_exchange(c);
    struct ns_dhcp_msg m;
    base_msg(c, &m, NS_DHCP_DISCOVER);
    c->stats.discovers++;
    transmit(c, &m, NS_IP_BROADCAST);
    arm_backoff(c);
    c->retx++;
}

/* The REQUEST of the current state, as RFC 2131 4.3.2 / table 4 has it. */
static void send_request(ns_dhcp_client *c)
{
    struct ns_dhcp_msg m;
    base_msg(c, &m, NS_DHCP_REQUEST);
    uint32_t dst = NS_IP_BROADCAST;
    switch (c->state) {
    case NS_DHCP_REQUESTING:
        m.server_id = c->server;
        m.requested = c->offered;
        break;
    case NS_DHCP_REBOOTING:
        m.requested = c->lease.addr;
        break;
    case NS_DHCP_RENEWING:
        m.ciaddr = c->lease.addr;
        m.flags = 0;
        dst = c->lease.server;
        break;
    default:                      /* REBINDING */
        m.ciaddr = c->lease.addr;
        m.flags = 0;
        break;
    }
    transmit(c, &m, dst);
    if (c->state == NS_DHCP_RENEWING)
        arm_half_remaining(c, c->lease.t2_at);
    else if (c->state == NS_DHCP_REBINDING)
        arm_half_remaining(c, c->lease.expires_at);
    else
        arm_backoff(c);
}

static void send_select_request(ns_dhcp_client *c)
{
    c->offered = c->rx.yiaddr;
    c->server = c->rx.server_id;
    c->probing = false;
    forget_offers(c);
    send_request(c);
}

static void resend_request(ns_dhcp_client *c)
{
    c->retx++;
    send_request(c);
}

static void send_reboot_request(ns_dhcp_client *c)
{
    new_exchange(c);
    send_request(c);
}

static void start_renew(ns_dhcp_client *c)
{
    new_exchange(c);
    send_request(c);
}

static void start_rebind(ns_dhcp_client *c)
{
    new_exchange(c);
    send_request(c);
}

static void probed(ns_iface *ifc, uint32_t addr, bool in_use, void *ud)
{
    (void)ifc;
    ns_dhcp_client *c = ud;
    if (!c->probing || addr != c->offered || c->state != NS_DHCP_REQUESTING)
        return;                   /* a probe of an abandoned attempt */
    c->probing = false;
    step(c, in_use ? EV_PROBE_IN_USE : EV_PROBE_FREE);
}

/* RFC 2131 4.4.1: the client SHOULD check the address before using it;
 * RFC 5227 2.1.1 says how. */
static void start_probe(ns_dhcp_client *c)
{
    cancel(c, &c->timer);
    c->probing = true;
    c->offered = c->rx.yiaddr;
    ns_arp_probe(c->ifc, c->offered, c->opts.probe_wait, probed, c);
}

static ns_time_t fuzzed(ns_dhcp_client *c, ns_time_t d)
{
    if (c->opts.fuzz <= 0)
        return d;
    return (ns_time_t)llround((double)d * ns_rng_uniform_range(c->rng, 1 - c->opts.fuzz,
                                                                1 + c->opts.fuzz));
}

/* RFC 2131 4.4.5 needs T1 < T2 < lease, which fuzz (up to +-0.5) or an
 * option 58/59 sent for only one timer can break: a timer past its
 * successor is pulled back to a gap before it (1 s, or lease/8 for a
 * lease under 8 s), so RENEWING and REBINDING each last a moment. */
static void order_timers(ns_time_t lease, ns_time_t *t1, ns_time_t *t2)
{
    ns_time_t gap = lease / 8 < NS_SEC ? lease / 8 : NS_SEC;
    if (*t2 > lease - gap)
        *t2 = lease - gap;
    if (*t1 > *t2 - gap)
        *t1 = *t2 - gap;
    if (*t1 <= 0)
        *t1 = *t2 / 2;
}

static void bind_lease(ns_dhcp_client *c)
{
    cancel(c, &c->timer);
    cancel_lease_timers(c);
    const struct ns_dhcp_msg *m = &c->rx;
    struct ns_dhcp_lease_info *l = &c->lease;
    uint32_t old = ns_iface_addr(c->ifc);
    l->addr = m->yiaddr;
    l->server = m->server_id ? m->server_id : l->server;
    l->router = m->router;
    l->dns = m->dns;
    l->mask = m->mask ? m->mask : ns__dhcp_prefix_mask(24);
    l->lease_s = m->lease_s;
    l->requested_at = c->last_request_at;
    ns_time_t lease = (ns_time_t)m->lease_s * NS_SEC;
    ns_time_t t1 = m->t1_s ? (ns_time_t)m->t1_s * NS_SEC : fuzzed(c, lease / 2);
    ns_time_t t2 = m->t2_s ? (ns_time_t)m->t2_s * NS_SEC : fuzzed(c, lease / 8 * 7);
    order_timers(lease, &t1, &t2);
    l->t1_at = l->requested_at + t1;
    l->t2_at = l->requested_at + t2;
    l->expires_at = l->requested_at + lease;
    c->has_lease = true;
    c->stats.bound++;
    if (old != l->addr) {
        GError *err = NULL;
        if (!ns_iface_set_addr(c->ifc, l->addr, ns__dhcp_mask_prefix(l->mask), &err)) {
            DHCP_TRACE(c->sim, "dhcp.error", ns_host_name(c->host), "msg=%s", err->message);
            g_clear_error(&err);
        }
    }
    char a[NS_ADDR_STRLEN];
    DHCP_TRACE(c->sim, "dhcp.lease", ns_host_name(c->host), "addr=%s lease=%u t1=%.3f t2=%.3f",
               ns_addr_format(l->addr, a), l->lease_s, ns_time_to_sec(t1), ns_time_to_sec(t2));
    ns_time_t now = ns_sim_now(c->sim);
    c->lease_due[LT_T1] = l->t1_at > now ? l->t1_at : now;
    c->lease_due[LT_T2] = l->t2_at > now ? l->t2_at : now;
    c->lease_due[LT_EXP] = l->expires_at > now ? l->expires_at : now;
    arm_lease_timer(c);
}

static void decline(ns_dhcp_client *c)
{
    struct ns_dhcp_msg m;
    base_msg(c, &m, NS_DHCP_DECLINE);
    m.requested = c->offered;
    m.server_id = c->server;
    m.flags = 0;
    c->stats.declines++;
    transmit(c, &m, NS_IP_BROADCAST);
    /* RFC 2131 3.1 step 5: wait at least 10 s before starting again */
    set_timer(c, 10 * NS_SEC);
}

static void restart_init(ns_dhcp_client *c)
{
    c->probing = false;
    set_timer(c, 0);
}

static void drop_address(ns_dhcp_client *c)
{
    cancel_lease_timers(c);
    c->has_lease = false;
    if (ns_iface_addr(c->ifc) != 0)
        ns_iface_set_addr(c->ifc, 0, 0, NULL);
}

static void drop_and_restart(ns_dhcp_client *c)
{
    if (c->state == NS_DHCP_INIT && c->lease_due[LT_EXP] == NS_TIME_MAX && c->has_lease &&
        ns_sim_now(c->sim) >= c->lease.expires_at) {
        c->stats.expired++;
        char a[NS_ADDR_STRLEN];
        DHCP_TRACE(c->sim, "dhcp.expired", ns_host_name(c->host), "addr=%s",
                   ns_addr_format(c->lease.addr, a));
    }
    drop_address(c);
    restart_init(c);
}

/* RFC 2131 4.4.6.  The address stays until the RELEASE has left: when the
 * server's MAC is not cached, ARP needs the address for a round trip, so
 * it goes NS_DHCP_RELEASE_GRACE later. */
#define NS_DHCP_RELEASE_GRACE NS_SEC
static void release(ns_dhcp_client *c)
{
    cancel(c, &c->timer);
    cancel_lease_timers(c);
    bool held = c->has_lease && ns_iface_addr(c->ifc) == c->lease.addr;
    uint8_t mac[6];
    if (held) {
        struct ns_dhcp_msg m;
        new_exchange(c);
        base_msg(c, &m, NS_DHCP_RELEASE);
        m.flags = 0;
        m.ciaddr = c->lease.addr;
        m.server_id = c->lease.server;
        c->stats.releases++;
        transmit(c, &m, c->lease.server);
        if (!ns_arp_lookup(c->ifc, c->lease.server, mac)) {
            set_timer(c, NS_DHCP_RELEASE_GRACE);
            return;
        }
    }
    drop_address(c);
}

static void crashed(ns_dhcp_client *c)
{
    cancel(c, &c->timer);
    cancel_lease_timers(c);
    c->probing = false;
    if (ns_iface_addr(c->ifc) != 0)
        ns_iface_set_addr(c->ifc, 0, 0, NULL);
}

static void schedule_start(ns_dhcp_client *c)
{
    ns_time_t d = c->opts.start_min;
    if (c->opts.start_max > c->opts.start_min)
        d += (ns_time_t)ns_rng_below(c->rng, (uint64_t)(c->opts.start_max - c->opts.start_min) + 1);
    set_timer(c, d);
}

/* ---- input ---- */

static void on_receive(ns_udp *s, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    (void)s; (void)src; (void)sport;
    ns_dhcp_client *c = ud;
    /* A relay broadcasts every client's OFFER and ACK on the LAN: check
     * op, xid and chaddr in the fixed header before decoding the options,
     * which every other client on the LAN would otherwise do for nothing. */
    uint8_t hdr[34];                      /* op .. chaddr[6] */
    if (p->payload_len >= sizeof hdr) {
        ns_pkt_copy_payload(p, 0, sizeof hdr, hdr);
        if (hdr[0] != NS_DHCP_BOOTREPLY || ns_get32(hdr + 4) != c->xid ||
            memcmp(hdr + 28, ns_iface_mac(c->ifc), 6) != 0)
            return;                       /* another client's exchange */
    }
    struct ns_dhcp_msg m;
    if (!ns__dhcp_recv(p, &m) || m.op != NS_DHCP_BOOTREPLY || m.xid != c->xid ||
        memcmp(m.chaddr, ns_iface_mac(c->ifc), 6) != 0)
        return;                   /* another client's exchange */
    c->rx = m;
    switch (m.type) {
    case NS_DHCP_OFFER:
        c->stats.offers++;
        if (c->state != NS_DHCP_SELECTING || m.yiaddr == 0)
            break;
        if (c->choose_fn) {
            keep_offer(c, &m);
            break;
        }
        if (c->offer_fn && !c->offer_fn(c, &m, c->offer_ud))
            break;
        step(c, EV_OFFER);
        break;
    case NS_DHCP_ACK:
        c->stats.acks++;
        if (c->state == NS_DHCP_REQUESTING && m.server_id && m.server_id != c->server)
            break;
        step(c, c->state == NS_DHCP_REQUESTING && c->opts.probe_wait > 0 ? EV_ACK : EV_ACK_NOPROBE);
        break;
    case NS_DHCP_NAK:
        c->stats.naks++;
        step(c, EV_NAK);
        break;
    default:
        break;
    }
}

void ns__dhcp_client_fault(ns_dhcp_client *c, enum ns_host_fault f)
{
    if (f == NS_HOST_CRASH)
        step(c, EV_CRASH);
    else if (f == NS_HOST_RESTART && c->state == NS_DHCP_INIT)
        step(c, c->opts.reboot && c->has_lease ? EV_RESTART_REBOOT : EV_RESTART);
}

/* ---- API ---- */

void ns_dhcp_client_opts_defaults(struct ns_dhcp_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->start_min = 1 * NS_SEC;
    o->start_max = 10 * NS_SEC;
    o->probe_wait = 1 * NS_SEC;
    o->request_tries = 4;
    o->reboot = true;
}

static void client_free(gpointer p)
{
    ns_dhcp_client *c = p;
    if (c->offers)
        g_array_free(c->offers, TRUE);
    g_free(c);
}

ns_dhcp_client *ns_dhcp_client_new(ns_iface *ifc, const struct ns_dhcp_client_opts *o,
                                   GError **error)
{
    ns_host *h = ns_iface_host(ifc);
    ns_sim *sim = ns_host_sim(h);
    struct ns_dhcp_client_opts def;
    if (!o) {
        ns_dhcp_client_opts_defaults(&def);
        o = &def;
    }
    if (o->start_min < 0 || o->start_max < o->start_min) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': DHCP start delay range [%.3f s, %.3f s] is empty",
                    ns_host_name(h), ns_time_to_sec(o->start_min), ns_time_to_sec(o->start_max));
        return NULL;
    }
    if (o->client_id_len == 1 || o->client_id_len > NS_DHCP_CLIENT_ID_MAX) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': DHCP client identifier of %u bytes is outside [2, %d] "
                    "(a type byte and an id)", ns_host_name(h), o->client_id_len,
                    NS_DHCP_CLIENT_ID_MAX);
        return NULL;
    }
    if (o->fuzz < 0 || o->fuzz >= 0.5) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "host '%s': DHCP timer fuzz %g is outside [0, 0.5)", ns_host_name(h), o->fuzz);
        return NULL;
    }
    if (ns_dhcp_client_of(h)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "host '%s' already runs a DHCP client", ns_host_name(h));
        return NULL;
    }
    ns_udp *sock = ns_udp_bind(h, NS_DHCP_CLIENT_PORT, error);
    if (!sock)
        return NULL;
    struct ns__dhcp_sim *ds = ns__dhcp_sim(sim);
    ns_dhcp_client *c = g_new0(ns_dhcp_client, 1);
    g_ptr_array_add(ds->clients, c);
    c->host = h;
    c->ifc = ifc;
    c->sim = sim;
    c->ds = ds;
    c->sock = sock;
    c->rng = ns_host_rng(h, "dhcp");
    c->opts = *o;
    if (c->opts.request_tries == 0)
        c->opts.request_tries = 1;
    c->state = NS_DHCP_INIT;
    for (int k = 0; k < NLEASE_TIMERS; k++)
        c->lease_due[k] = NS_TIME_MAX;
    ns__dhcp_timer_init(&c->lease_timer, on_lease_timer, c);
    ns__dhcp_timer_init(&c->timer, on_timer, c);
    ns_host_attach(h, CLIENT_KEY, c, client_free);
    ns_udp_on_receive(sock, on_receive, c);
    ns_iface_set_accept_unconfigured(ifc, !c->opts.broadcast);
    if (ns_iface_addr(ifc) != 0)
        ns_iface_set_addr(ifc, 0, 0, NULL);
    if (ns_host_is_up(h))
        schedule_start(c);
    return c;
}

ns_dhcp_client *ns_dhcp_client_of(const ns_host *h) { return ns_host_attached(h, CLIENT_KEY); }
enum ns_dhcp_state ns_dhcp_client_state(const ns_dhcp_client *c) { return c->state; }
ns_host *ns_dhcp_client_host(const ns_dhcp_client *c) { return c->host; }
const struct ns_dhcp_client_stats *ns_dhcp_client_stats(const ns_dhcp_client *c) { return &c->stats; }

uint32_t ns_dhcp_client_addr(const ns_dhcp_client *c)
{
    bool bound = c->state == NS_DHCP_BOUND || c->state == NS_DHCP_RENEWING ||
                 c->state == NS_DHCP_REBINDING;
    return bound ? c->lease.addr : 0;
}

bool ns_dhcp_client_lease(const ns_dhcp_client *c, struct ns_dhcp_lease_info *out)
{
    if (!c->has_lease)
        return false;
    *out = c->lease;
    return true;
}

void ns_dhcp_client_release(ns_dhcp_client *c)
{
    step(c, EV_RELEASE);
}

void ns_dhcp_client_on_state(ns_dhcp_client *c, ns_dhcp_state_fn fn, void *ud)
{
    c->state_fn = fn;
    c->state_ud = ud;
}

void ns_dhcp_client_on_offer(ns_dhcp_client *c, ns_dhcp_offer_fn fn, void *ud)
{
    c->offer_fn = fn;
    c->offer_ud = ud;
}

void ns_dhcp_client_on_choose(ns_dhcp_client *c, ns_dhcp_choose_fn fn, void *ud)
{
    c->choose_fn = fn;
    c->choose_ud = ud;
}
