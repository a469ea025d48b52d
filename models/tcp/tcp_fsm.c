/* tcp_fsm.c — the RFC 9293 connection state machine, as data.
 *
 * One row per RFC arc: (state, event) -> (next state, action).  The table
 * is the documentation, the test oracle and the source of the traced
 * transitions; ns__tcp_step is the only place that assigns c->state.
 * Guards that need segment data (sequence and ACK acceptability) live in
 * tcp_in.c, which classifies a segment into an event before stepping.
 * An empty cell (next == NS_TCP_NONE) is an input the state does not take:
 * it is traced as ignored.
 */
#include "tcp_priv.h"

typedef void (*tcp_action)(ns_tcp *c);

struct tcp_arc {
    enum ns_tcp_state next;
    tcp_action        act;
};

#define NS_X_NAME(name, str) [name] = str,
static const char *const state_names[] = { NS_TCP_STATES(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_tcp_state_name(enum ns_tcp_state s)
{
    return (size_t)s < G_N_ELEMENTS(state_names) ? state_names[s] : "?";
}

static const char *const event_names[NEVENTS] = {
    [EV_NONE] = "none",           [EV_CONNECT] = "connect",     [EV_CLOSE] = "close",
    [EV_ABORT] = "abort",         [EV_SYN] = "SYN",             [EV_SYNACK] = "SYN-ACK",
    [EV_ACK_OF_SYN] = "ACK of SYN", [EV_FIN] = "FIN",           [EV_ACK_OF_FIN] = "ACK of FIN",
    [EV_FIN_ACK_OF_FIN] = "FIN+ACK of FIN", [EV_RST] = "RST",
    [EV_TIMEOUT_2MSL] = "2MSL timeout", [EV_FIN_TIMEOUT] = "FIN-WAIT-2 timeout",
    [EV_GIVE_UP] = "retries exhausted",
    [EV_HOST_CRASH] = "host crash", [EV_ADDR_LOST] = "address lost",
};

const char *ns__tcp_event_name(enum tcp_event ev)
{
    return (size_t)ev < NEVENTS ? event_names[ev] : "?";
}

/* ---- actions ---- */

static void send_syn(ns_tcp *c) { ns__tcp_send_syn(c, false); }
static void send_synack(ns_tcp *c) { ns__tcp_send_syn(c, true); }

static void established(ns_tcp *c)
{
    c->st.established_at = ns_sim_now(c->sim);
    c->retries = 0;
    c->backoff = 0;
    if (c->listener) {
        ns_tcp_listener *l = c->listener;
        c->listener = NULL;
        if (l->accept && !l->closed)
            l->accept(l, c, l->ud);
    }
    if (c->cb->established)
        c->cb->established(c, c->ud);
    ns__tcp_output(c);
}

/* SYN-SENT -> ESTABLISHED: acknowledge the SYN-ACK at once (RFC 9293
 * 3.10.7.3), then tell the application. */
static void established_active(ns_tcp *c)
{
    ns__tcp_send_ack(c);
    established(c);
}

static void queue_fin(ns_tcp *c)
{
    c->fin_queued = true;
    ns__tcp_output(c);
}

static void deliver_eof(ns_tcp *c)
{
    if (!c->eof) {
        c->eof = true;
        if (c->cb->eof && !c->app_closed)
            c->cb->eof(c, c->ud);
    }
}

/* The peer's FIN: tell the application first, so that a close() in its
 * callback sends our FIN carrying this ACK (the common FIN+ACK); send a
 * pure ACK only if nothing went out. */
static void ack_fin(ns_tcp *c)
{
    uint64_t before = c->st.segs_out;
    deliver_eof(c);
    if (c->st.segs_out == before && c->state != NS_TCP_CLOSED)
        ns__tcp_send_ack(c);
}

static void enter_time_wait(ns_tcp *c)
{
    ns__tcp_timers_stop(c);
    ns__timer_set(c, ns__tcp_2msl(c), 2 * c->o->msl);
    ns__tcp_report_closed(c);
}

static void ack_fin_time_wait(ns_tcp *c)
{
    ack_fin(c);
    enter_time_wait(c);
}

/* A retransmitted FIN in TIME-WAIT: acknowledge it and restart 2 MSL
 * (RFC 9293 3.10.7.4). */
static void reack_time_wait(ns_tcp *c)
{
    ns__tcp_send_ack(c);
    ns__timer_set(c, ns__tcp_2msl(c), 2 * c->o->msl);
}

static void reack(ns_tcp *c) { ns__tcp_send_ack(c); }

/* Our FIN is acknowledged.  After close() nobody will read what the peer
 * still sends, so FIN-WAIT-2 is bounded (Linux tcp_fin_timeout); after
 * shutdown() it is not: the application still reads. */
static void fin_wait_2(ns_tcp *c)
{
    if (c->app_closed)
        ns__tcp_fin_timer_start(c);
}

static void release(ns_tcp *c)
{
    ns__tcp_timers_stop(c);
    ns__tcp_unhash(c);
}

static void closed_normally(ns_tcp *c)
{
    release(c);
    ns__tcp_report_closed(c);
}

static void refused(ns_tcp *c)
{
    release(c);
    ns__tcp_report_error(c, "refused");
}

static void reset(ns_tcp *c)
{
    release(c);
    ns__tcp_report_error(c, "reset");
}

static void timed_out(ns_tcp *c)
{
    release(c);
    ns__tcp_report_error(c, "timeout");
}

/* The peer never closed.  The application asked for the close and all it
 * sent was acknowledged: a normal close, silent on the wire.  (Linux also
 * sends a RST here; a peer that keeps a half-closed connection open, as
 * a TLS client after close_notify does, would then hear "reset" after a
 * run that succeeded.) */
static void fin_timed_out(ns_tcp *c)
{
    closed_normally(c);
}

static void aborted(ns_tcp *c)
{
    ns__tcp_send_rst(c);
    release(c);
    ns__tcp_report_error(c, "aborted");
}

static void crashed(ns_tcp *c)
{
    release(c);
    ns__tcp_report_error(c, "host crashed");
}

/* The interface lost the connection's address (RFC 2131 4.4.5: a lease
 * that expires ends the use of the address): nothing can be sent from it,
 * not even a RST, so the TCB goes and the application hears why. */
static void address_lost(ns_tcp *c)
{
    release(c);
    ns__tcp_report_error(c, "local address lost");
}

/* ---- the table ---- */

#define S(state) [NS_TCP_##state]
#define A(next, act) { NS_TCP_##next, act }

static const struct tcp_arc fsm[NS_TCP_NSTATES][NEVENTS] = {
    S(CLOSED) = {
        [EV_CONNECT]      = A(SYN_SENT, send_syn),
    },
    S(LISTEN) = {          /* a child TCB born from a listener's SYN */
        [EV_SYN]          = A(SYN_RCVD, send_synack),
        [EV_CLOSE]        = A(CLOSED, release),
        [EV_ABORT]        = A(CLOSED, release),
        [EV_HOST_CRASH]   = A(CLOSED, release),
        [EV_ADDR_LOST]    = A(CLOSED, release),
    },
    S(SYN_SENT) = {
        [EV_SYNACK]       = A(ESTABLISHED, established_active),
        [EV_SYN]          = A(SYN_RCVD, send_synack),      /* simultaneous open */
        [EV_RST]          = A(CLOSED, refused),
        [EV_CLOSE]        = A(CLOSED, closed_normally),
        [EV_ABORT]        = A(CLOSED, release),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(SYN_RCVD) = {
        [EV_ACK_OF_SYN]   = A(ESTABLISHED, established),
        [EV_FIN]          = A(CLOSE_WAIT, ack_fin),
        [EV_CLOSE]        = A(FIN_WAIT_1, queue_fin),
        [EV_RST]          = A(CLOSED, reset),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(ESTABLISHED) = {
        [EV_CLOSE]        = A(FIN_WAIT_1, queue_fin),
        [EV_FIN]          = A(CLOSE_WAIT, ack_fin),
        [EV_RST]          = A(CLOSED, reset),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(FIN_WAIT_1) = {
        [EV_ACK_OF_FIN]   = A(FIN_WAIT_2, fin_wait_2),
        [EV_FIN]          = A(CLOSING, ack_fin),            /* simultaneous close */
        [EV_FIN_ACK_OF_FIN] = A(TIME_WAIT, ack_fin_time_wait),
        [EV_RST]          = A(CLOSED, reset),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(FIN_WAIT_2) = {
        [EV_FIN]          = A(TIME_WAIT, ack_fin_time_wait),
        [EV_FIN_TIMEOUT]  = A(CLOSED, fin_timed_out),
        [EV_RST]          = A(CLOSED, reset),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(CLOSE_WAIT) = {
        [EV_CLOSE]        = A(LAST_ACK, queue_fin),
        [EV_FIN]          = A(CLOSE_WAIT, reack),           /* FIN retransmitted */
        [EV_RST]          = A(CLOSED, reset),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(CLOSING) = {
        [EV_ACK_OF_FIN]   = A(TIME_WAIT, enter_time_wait),
        [EV_FIN]          = A(CLOSING, reack),
        [EV_RST]          = A(CLOSED, closed_normally),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(LAST_ACK) = {
        [EV_ACK_OF_FIN]   = A(CLOSED, closed_normally),
        [EV_FIN]          = A(LAST_ACK, reack),
        [EV_RST]          = A(CLOSED, closed_normally),
        [EV_ABORT]        = A(CLOSED, aborted),
        [EV_GIVE_UP]      = A(CLOSED, timed_out),
        [EV_HOST_CRASH]   = A(CLOSED, crashed),
        [EV_ADDR_LOST]    = A(CLOSED, address_lost),
    },
    S(TIME_WAIT) = {
        [EV_FIN]          = A(TIME_WAIT, reack_time_wait),
        [EV_TIMEOUT_2MSL] = A(CLOSED, release),
        [EV_RST]          = A(CLOSED, release),
        [EV_ABORT]        = A(CLOSED, release),
        [EV_HOST_CRASH]   = A(CLOSED, release),
        [EV_ADDR_LOST]    = A(CLOSED, release),
    },
};

#undef S
#undef A

bool ns__tcp_step(ns_tcp *c, enum tcp_event ev)
{
    const struct tcp_arc *arc = &fsm[c->state][ev];
    if (arc->next == NS_TCP_NONE) {
        TCP_TRACE(c, "tcp.ignored", "conn=%s state=%s event=%s", ns_tcp_name(c),
                  ns_tcp_state_name(c->state), ns__tcp_event_name(ev));
        return false;
    }
    enum ns_tcp_state from = c->state;
    if (arc->next != from) {
        TCP_TRACE(c, "tcp.state", "conn=%s from=%s to=%s cause=%s", ns_tcp_name(c),
                  ns_tcp_state_name(from), ns_tcp_state_name(arc->next),
                  ns__tcp_event_name(ev));
        ns_net_diagram_note(c->th->host, ns_tcp_state_name(arc->next));
    }
    c->state = arc->next;
    if (arc->act)
        arc->act(c);
    return true;
}
