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
    if (t == &c->t_persist) return persist_fire;
    if (t == &c->t_2msl) return tw_fire;
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
    struct tcp_timer *all[] = { &c->t_rto, &c->t_delack, &c->t_persist, &c->t_2msl, &c->t_read };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        all[i]->deadline = NS_TIME_MAX;
        ns_event_cancel(c->sim, all[i]->ev);
        all[i]->ev = NS_EVENT_NONE;
    }
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
    if (c->srtt == 0) {
        c->srtt = r;                                   /* 2.2 */
        c->rttvar = r / 2;
    } else {
        ns_time_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;           /* 2.3, beta = 1/4 */
        c->srtt = (7 * c->srtt + r) / 8;               /* alpha = 1/8 */
    }
    ns_time_t k = 4 * c->rttvar;
    ns_time_t g = NS_USEC;                             /* the clock's tick */
    ns_time_t rto = c->srtt + (k > g ? k : g);
    if (rto < c->o.min_rto)
        rto = c->o.min_rto;                            /* 2.4 */
    if (rto > c->o.max_rto)
        rto = c->o.max_rto;                            /* 2.5 */
    c->rto = rto;
    c->cc.srtt = c->srtt;
    if (c->cc.min_rtt == 0 || r < c->cc.min_rtt)
        c->cc.min_rtt = r;
}

void ns__tcp_rto_restart(ns_tcp *c)
{
    ns_time_t rto = c->rto;
    for (uint32_t i = 0; i < c->backoff && rto < c->o.max_rto; i++)
        rto *= 2;
    if (rto > c->o.max_rto)
        rto = c->o.max_rto;
    ns__timer_set(c, &c->t_rto, rto);
}

static void rto_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->t_rto) || c->state == NS_TCP_CLOSED || c->state == NS_TCP_TIME_WAIT)
        return;
    bool opening = c->state == NS_TCP_SYN_SENT || c->state == NS_TCP_SYN_RCVD;
    unsigned limit = opening ? c->o.syn_retries : c->o.retries;
    if (!opening && c->snd_una == c->snd_max)
        return;                                         /* nothing outstanding */
    if (++c->retries > limit) {
        TCP_TRACE(c, "tcp.timeout", "conn=%s event=give-up retries=%u", ns_tcp_name(c), c->retries - 1);
        ns__tcp_step(c, EV_GIVE_UP);
        return;
    }
    c->backoff++;                                       /* RFC 6298 5.5 */
    c->st.timeouts++;
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
        c->cc.ssthresh = c->ccops->ssthresh(&c->cc, c->ccpriv, NS_CC_LOSS_RTO);
    c->cc.cwnd = c->smss;
    if (c->ccops->on_loss)
        c->ccops->on_loss(&c->cc, c->ccpriv, NS_CC_LOSS_RTO);
    c->in_recovery = false;
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
    c->segs_unacked++;
    /* RFC 5681 4.2: at least every second full segment; quick ACKs while
     * the connection starts (as Linux's quickack mode), and at once for CE
     * marks so the sender hears of congestion quickly. */
    if (!c->o.delayed_ack || c->quickacks > 0 || c->segs_unacked >= 2 || c->ece_pending) {
        if (c->quickacks > 0)
            c->quickacks--;
        ns__tcp_send_ack(c);
        return;
    }
    if (c->t_delack.deadline == NS_TIME_MAX)
        ns__timer_set(c, &c->t_delack, c->o.delack_timeout);
}

static void delack_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (due(c, &c->t_delack) && c->segs_unacked > 0 && c->state != NS_TCP_CLOSED)
        ns__tcp_send_ack(c);
}

/* ---- persist ---- */

static void persist_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->t_persist) || c->state == NS_TCP_CLOSED)
        return;
    if (c->snd_wnd >= c->smss || c->snd_nxt != c->snd_una)
        return;                          /* the window opened, or data flies */
    c->persist_backoff++;
    TCP_TRACE(c, "tcp.persist", "conn=%s probe=%u", ns_tcp_name(c), c->persist_backoff);
    ns__tcp_send_probe(c);
    ns_time_t d = c->rto;
    for (uint32_t i = 1; i < c->persist_backoff && d < c->o.max_rto; i++)
        d *= 2;
    ns__timer_set(c, &c->t_persist, d > c->o.max_rto ? c->o.max_rto : d);
}

/* ---- TIME-WAIT ---- */

/* The same timer bounds FIN-WAIT-2 after close(): the two states never
 * overlap, and entering TIME-WAIT restarts it. */
void ns__tcp_fin_timer_start(ns_tcp *c)
{
    ns__timer_set(c, &c->t_2msl, c->o.fin_timeout);
}

static void tw_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->t_2msl))
        return;
    if (c->state == NS_TCP_TIME_WAIT)
        ns__tcp_step(c, EV_TIMEOUT_2MSL);
    else if (c->state == NS_TCP_FIN_WAIT_2 && c->app_closed)
        ns__tcp_step(c, EV_FIN_TIMEOUT);
}

/* ---- the slow reader ---- */

void ns__tcp_read_drain(ns_tcp *c)
{
    if (c->read_rate <= 0)
        return;
    ns_time_t now = ns_sim_now(c->sim);
    double can = c->read_rate * ns_time_to_sec(now - c->read_last);
    uint32_t n = can >= c->unread ? c->unread : (uint32_t)can;
    if (n == 0)
        return;
    c->read_last = now;
    uint32_t before = ns__tcp_rcv_window(c);
    c->unread -= n;
    uint32_t after = ns__tcp_rcv_window(c);
    /* Tell the sender when the window reopens by a useful amount (receiver
     * SWS avoidance, RFC 9293 3.8.6.2.2). */
    uint32_t thresh = c->o.rcvbuf / 2 < 2 * c->smss ? c->o.rcvbuf / 2 : 2 * c->smss;
    if (before < thresh && after >= thresh && c->state >= NS_TCP_ESTABLISHED)
        ns__tcp_send_ack(c);
}

void ns__tcp_read_schedule(ns_tcp *c)
{
    if (c->read_rate <= 0 || c->unread == 0)
        return;
    if (c->t_read.deadline != NS_TIME_MAX)
        return;
    double secs = (double)c->smss / c->read_rate;
    ns__timer_set(c, &c->t_read, ns_time_from_sec(secs) > 0 ? ns_time_from_sec(secs) : 1);
}

static void read_fire(ns_sim *sim, void *arg)
{
    ns_tcp *c = arg;
    if (!due(c, &c->t_read) || c->state == NS_TCP_CLOSED)
        return;
    ns__tcp_read_drain(c);
    ns__tcp_read_schedule(c);
}
