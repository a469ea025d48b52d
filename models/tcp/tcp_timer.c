/* tcp_timer.c — a connection's timers: retransmission (RFC 6298), delayed
 * ACK (RFC 1122 4.2.3.2, RFC 5681 4.2), persist (zero-window probes, RFC
 * 9293 3.8.6.1), TIME-WAIT (2 MSL) and the slow reader's drain.
 *
 * Timers are lazy: restarting one with a later deadline only moves the
 * deadline; the pending event re-arms itself for the remainder when it
 * fires early.  Restarting the RTO on every ACK therefore costs no event
 * queue work, which matters at a million ACKs a second.  Each timer has
 * its own fire function, whose argument is the TCB.
 */
#include "tcp_priv.h"

static void rto_fire(ns_sim *sim, void *arg);
static void delack_fire(ns_sim *sim, void *arg);
static void persist_fire(ns_sim *sim, void *arg);
static void tw_fire(ns_sim *sim, void *arg);
static void read_fire(ns_sim *sim, void *arg);

static ns_event_fn fire_fn(ns_tcp *c, struct tcp_timer *t)
{
    if (t == &c->t_rto) return rto_fire;
    if (t == &c->t_delack) return delack_fire;
    if (c->ps && t == &c->ps->t) return persist_fire;
    if (t == c->t_2msl) return tw_fire;
    return read_fire;
}

void ns__timer_set(ns_tcp *c, struct tcp_timer *t, ns_time_t delay)
{
    ns_time_t now = ns_sim_now(c->sim);
    ns_time_t deadline = delay >= NS_TIME_MAX - now ? NS_TIME_MAX - 1 : now + delay;
    t->deadline = deadline;
    if (ns_event_is_pending(c->sim, t->ev)) {
        if (t->fires_at <= deadline)
            return;                  /* it fires early and re-arms */
        ns_event_cancel(c->sim, t->ev);
    }
    t->fires_at = deadline;
    t->ev = ns_event_after(c->sim, deadline - now, fire_fn(c, t), c);
}

void ns__timer_stop(ns_tcp *c, struct tcp_timer *t)
{
    /* Left pending: it will find no deadline and do nothing, which is
     * cheaper than a cancel when the timer is restarted soon after. */
    (void)c;
    t->deadline = NS_TIME_MAX;
}

void ns__tcp_timers_stop(ns_tcp *c)
{
    struct tcp_timer *all[] = { &c->t_rto, &c->t_delack, c->ps ? &c->ps->t : NULL, c->t_2msl,
                                c->rd ? &c->rd->t : NULL };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        if (!all[i])
            continue;                   /* never allocated: no event pending */
        all[i]->deadline = NS_TIME_MAX;
        ns_event_cancel(c->sim, all[i]->ev);
        all[i]->ev = NS_EVENT_NONE;
    }
    /* Only on the way to TIME-WAIT (which starts its own timer) or CLOSED:
     * no probe is sent again. */
    ns__tcp_persist_release(c);
    g_free(c->t_2msl);
    c->t_2msl = NULL;
}

/* True when the timer is really due; re-arms it when it fired early. */
static bool due(ns_tcp *c, struct tcp_timer *t)
{
    t->ev = NS_EVENT_NONE;
    if (t->deadline == NS_TIME_MAX)
        return false;
    ns_time_t now = ns_sim_now(c->sim);
    if (t->deadline > now) {
        t->fires_at = t->deadline;
        t->ev = ns_event_after(c->sim, t->deadline - now, fire_fn(c, t), c);
        return false;
    }
    t->deadline = NS_TIME_MAX;
    return true;
}

/* ---- RTT and RTO (RFC 6298) ---- */

void ns__tcp_rtt_sample(ns_tcp *c, ns_time_t r)
{
    if (r <= 0)
        return;
    if (c->cc.srtt == 0) {
        c->cc.srtt = r;                                /* 2.2 */
        c->rttvar = r / 2;
    } else {
        ns_time_t d = c->cc.srtt > r ? c->cc.srtt - r : r - c->cc.srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;           /* 2.3, beta = 1/4 */
        c->cc.srtt = (7 * c->cc.srtt + r) / 8;         /* alpha = 1/8 */
    }
    ns_time_t k = 4 * c->rttvar;
    ns_time_t g = NS_USEC;                             /* the clock's tick */
    ns_time_t rto = c->cc.srtt + (k > g ? k : g);
    if (rto < c->o->min_rto)
        rto = c->o->min_rto;                           /* 2.4 */
    if (rto > c->o->max_rto)
        rto = c->o->max_rto;                           /* 2.5 */
    c->rto = rto;
    if (c->cc.min_rtt == 0 || r < c->cc.min_rtt)
        c->cc.min_rtt = r;
}

void ns__tcp_rto_restart(ns_tcp *c)
{
    ns_time_t rto = c->rto;
    for (uint32_t i = 0; i < c->backoff && rto < c->o->max_rto; i++)
        rto *= 2;
    if (rto > c->o->max_rto)
        rto = c->o->max_rto;
    ns__timer_set(c, &c->t_rto, rto);
}

static void rto_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->t_rto) || c->state == NS_TCP_CLOSED || c->state == NS_TCP_TIME_WAIT)
        return;
    bool opening = c->state == NS_TCP_SYN_SENT || c->state == NS_TCP_SYN_RCVD;
    unsigned limit = opening ? c->o->syn_retries : c->o->retries;
    if (!opening && c->snd_una == c->snd_max)
        return;                                         /* nothing outstanding */
    if (++c->retries > limit) {
        TCP_TRACE(c, "tcp.timeout", "conn=%s event=give-up retries=%u", ns_tcp_name(c), c->retries - 1);
        ns__tcp_step(c, EV_GIVE_UP);
        return;
    }
    TCP_SAT_INC(c->backoff);                            /* RFC 6298 5.5 */
    TCP_LOSS_INC(c, timeouts);
    c->rtt_start = 0;                                   /* Karn */
    TCP_TRACE(c, "tcp.timeout", "conn=%s event=rto retry=%u rto_s=%.6f", ns_tcp_name(c), c->retries,
              ns_time_to_sec(c->rto) * (double)(1u << (c->backoff > 20 ? 20 : c->backoff)) / 2);
    if (opening) {
        ns__tcp_send_syn(c, c->state == NS_TCP_SYN_RCVD);
        return;
    }
    /* RFC 5681 3.1 eq. 4 (only for the first timeout of a series) and the
     * loss window of one segment. */
    c->cc.flight = c->snd_max - c->snd_una;
    c->cc.now = ns_sim_now(sim);
    if (c->retries == 1)
        c->cc.ssthresh = c->ccops->ssthresh(&c->cc, ns__tcp_ccpriv(c), NS_CC_LOSS_RTO);
    c->cc.cwnd = c->cc.mss;
    if (c->ccops->on_loss)
        c->ccops->on_loss(&c->cc, ns__tcp_ccpriv(c), NS_CC_LOSS_RTO);
    c->cc.in_recovery = false;
    c->dupacks = 0;
    c->recover = c->snd_max;                            /* RFC 6582 4.1 */
    if (c->scoreboard)
        g_array_set_size(c->scoreboard, 0);             /* forget SACKs (RFC 6675 5.1) */
    c->snd_nxt = c->snd_una;                            /* go back N */
    ns__tcp_output(c);
    ns__tcp_rto_restart(c);
}

/* ---- delayed ACKs ---- */

void ns__tcp_schedule_ack(ns_tcp *c)
{
    TCP_SAT_INC(c->segs_unacked);
    /* RFC 5681 4.2: at least every second full segment; quick ACKs while
     * the connection starts (as Linux's quickack mode), and at once for CE
     * marks so the sender hears of congestion quickly. */
    if (!c->o->delayed_ack || c->quickacks > 0 || c->segs_unacked >= 2 || c->ece_pending) {
        if (c->quickacks > 0)
            c->quickacks--;
        ns__tcp_send_ack(c);
        return;
    }
    if (c->t_delack.deadline == NS_TIME_MAX)
        ns__timer_set(c, &c->t_delack, c->o->delack_timeout);
}

static void delack_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (due(c, &c->t_delack) && c->segs_unacked > 0 && c->state != NS_TCP_CLOSED)
        ns__tcp_send_ack(c);
}

/* ---- persist ---- */

struct tcp_persist *ns__tcp_persist(ns_tcp *c)
{
    if (!c->ps) {
        c->ps = g_new0(struct tcp_persist, 1);
        c->ps->t = (struct tcp_timer){ NS_EVENT_NONE, NS_TIME_MAX, NS_TIME_MAX };
    }
    return c->ps;
}

/* Idle: stopped, no event pending, no backoff to continue from. */
void ns__tcp_persist_release(ns_tcp *c)
{
    struct tcp_persist *ps = c->ps;
    if (ps && ps->backoff == 0 && ps->t.deadline == NS_TIME_MAX &&
        !ns_event_is_pending(c->sim, ps->t.ev)) {
        g_free(ps);
        c->ps = NULL;
    }
}

static void persist_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    struct tcp_persist *ps = c->ps;
    if (!due(c, &ps->t) || c->state == NS_TCP_CLOSED ||
        c->snd_wnd >= c->cc.mss || c->snd_nxt != c->snd_una) {
        ns__tcp_persist_release(c);      /* the window opened, or data flies */
        return;
    }
    ps->backoff++;
    TCP_TRACE(c, "tcp.persist", "conn=%s probe=%u", ns_tcp_name(c), ps->backoff);
    ns__tcp_send_probe(c);
    ns_time_t d = c->rto;
    for (uint32_t i = 1; i < ps->backoff && d < c->o->max_rto; i++)
        d *= 2;
    ns__timer_set(c, &ps->t, d > c->o->max_rto ? c->o->max_rto : d);
}

/* ---- TIME-WAIT ---- */

struct tcp_timer *ns__tcp_2msl(ns_tcp *c)
{
    if (!c->t_2msl) {
        c->t_2msl = g_new(struct tcp_timer, 1);
        *c->t_2msl = (struct tcp_timer){ NS_EVENT_NONE, NS_TIME_MAX, NS_TIME_MAX };
    }
    return c->t_2msl;
}

/* The same timer bounds FIN-WAIT-2 after close(): the two states never
 * overlap, and entering TIME-WAIT restarts it. */
void ns__tcp_fin_timer_start(ns_tcp *c)
{
    ns__timer_set(c, ns__tcp_2msl(c), c->o->fin_timeout);
}

static void tw_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (due(c, c->t_2msl)) {
        if (c->state == NS_TCP_TIME_WAIT)
            ns__tcp_step(c, EV_TIMEOUT_2MSL);
        else if (c->state == NS_TCP_FIN_WAIT_2 && c->app_closed)
            ns__tcp_step(c, EV_FIN_TIMEOUT);
    }
    /* Over (or stopped) and no event pending: a closed TCB keeps nothing.
     * (Reaching CLOSED above freed it already.) */
    if (c->t_2msl && c->t_2msl->deadline == NS_TIME_MAX &&
        !ns_event_is_pending(sim, c->t_2msl->ev)) {
        g_free(c->t_2msl);
        c->t_2msl = NULL;
    }
}

/* ---- the slow reader ---- */

void ns__tcp_read_drain(ns_tcp *c)
{
    struct tcp_reader *rd = c->rd;
    if (!rd || rd->rate <= 0)
        return;
    ns_time_t now = ns_sim_now(c->sim);
    double can = rd->rate * ns_time_to_sec(now - rd->last);
    uint32_t n = can >= rd->unread ? rd->unread : (uint32_t)can;
    if (n == 0)
        return;
    rd->last = now;
    uint32_t before = ns__tcp_rcv_window(c);
    rd->unread -= n;
    uint32_t after = ns__tcp_rcv_window(c);
    /* Tell the sender when the window reopens by a useful amount (receiver
     * SWS avoidance, RFC 9293 3.8.6.2.2). */
    uint32_t thresh = c->o->rcvbuf / 2 < 2 * c->cc.mss ? c->o->rcvbuf / 2 : 2 * c->cc.mss;
    if (before < thresh && after >= thresh && c->state >= NS_TCP_ESTABLISHED)
        ns__tcp_send_ack(c);
}

void ns__tcp_read_schedule(ns_tcp *c)
{
    struct tcp_reader *rd = c->rd;
    if (!rd || rd->rate <= 0 || rd->unread == 0)
        return;
    if (rd->t.deadline != NS_TIME_MAX)
        return;
    double secs = (double)c->cc.mss / rd->rate;
    ns__timer_set(c, &rd->t, ns_time_from_sec(secs) > 0 ? ns_time_from_sec(secs) : 1);
}

/* Back to instant reading and no drain pending: nothing left to keep. */
void ns__tcp_reader_release(ns_tcp *c)
{
    struct tcp_reader *rd = c->rd;
    if (rd && rd->rate == 0 && !ns_event_is_pending(c->sim, rd->t.ev)) {
        g_free(rd);
        c->rd = NULL;
    }
}

static void read_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->rd->t) || c->state == NS_TCP_CLOSED) {
        ns__tcp_reader_release(c);
        return;
    }
    ns__tcp_read_drain(c);
    ns__tcp_read_schedule(c);
}
