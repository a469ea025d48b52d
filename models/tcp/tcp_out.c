/* tcp_out.c — building and sending segments.
 *
 * What may be sent is decided here: the usable window (RFC 5681:
 * min(cwnd, rwnd) minus the flight), Nagle's algorithm (RFC 896, RFC 9293
 * 3.7.4) and sender-side silly window avoidance (RFC 9293 3.8.6.2.1), and
 * during SACK recovery the RFC 6675 pipe and NextSeg rules.  Payloads are
 * built as spans over the send buffer: bulk length-only data allocates
 * nothing, real bytes are shared, never copied.
 *
 * Every segment carries real header bytes and options: MSS, window scale,
 * SACK-permitted and timestamps on SYNs; timestamps (RFC 7323 3.2) and
 * SACK blocks (RFC 2018) on the rest once negotiated.
 */
#include <stdio.h>

#include "tcp_priv.h"

/* The timestamp clock: microseconds of simulated time, modulo 2^32 (RFC
 * 7323 allows 1 ms..1 s ticks; a finer clock gives exact RTT samples and
 * wraps only after 71 minutes, far beyond any segment's lifetime here). */
static uint32_t ts_now(const ns_tcp *c)
{
    return ns__tcp_ts_now(c);
}

static bool synchronized(const ns_tcp *c)
{
    return c->state >= NS_TCP_ESTABLISHED;
}

/* Writes the options of a segment; returns their length (a multiple of 4). */
static uint32_t put_options(ns_tcp *c, uint8_t *o, uint8_t flags)
{
    uint32_t n = 0;
    if (flags & TH_SYN) {
        o[n++] = 2; o[n++] = 4;                            /* MSS */
        ns_put16(o + n, (uint16_t)c->o->mss);
        n += 2;
        bool want_sack = c->o->sack && (!(flags & TH_ACK) || c->sack_ok);
        bool want_ts = c->o->timestamps && (!(flags & TH_ACK) || c->ts_ok);
        bool want_ws = c->o->window_scale && (!(flags & TH_ACK) || c->ws_ok);
        if (want_sack && want_ts) {
            o[n++] = 4; o[n++] = 2;                        /* SACK-permitted */
        } else if (want_ts || want_sack) {
            o[n++] = 1; o[n++] = 1;
        }
        if (want_ts) {
            o[n++] = 8; o[n++] = 10;
            ns_put32(o + n, ts_now(c));
            ns_put32(o + n + 4, (flags & TH_ACK) ? c->ts_recent : 0);
            n += 8;
        } else if (want_sack) {
            o[n++] = 4; o[n++] = 2;
        }
        if (want_ws) {
            o[n++] = 1;                                    /* NOP */
            o[n++] = 3; o[n++] = 3; o[n++] = c->rcv_shift;
        }
        return n;
    }
    if (c->ts_ok) {
        o[n++] = 1; o[n++] = 1;
        o[n++] = 8; o[n++] = 10;
        ns_put32(o + n, ts_now(c));
        ns_put32(o + n + 4, c->ts_recent);
        n += 8;
    }
    if (c->sack_ok && c->rx && c->rx->nrsack > 0 && !(flags & TH_RST)) {
        /* 40 bytes of options: with timestamps 3 blocks fit, else 4. */
        const struct tcp_block *rsack = c->rx->rsack;
        int max = c->ts_ok ? 3 : 4;
        int nb = c->rx->nrsack < max ? c->rx->nrsack : max;
        o[n++] = 1; o[n++] = 1;
        o[n++] = 5; o[n++] = (uint8_t)(2 + 8 * nb);
        for (int i = 0; i < nb; i++) {
            ns_put32(o + n, rsack[i].start);
            ns_put32(o + n + 4, rsack[i].end);
            n += 8;
        }
    }
    return n;
}

/* The window field: never shrinking the right edge already advertised
 * (RFC 9293 3.8.6.2.2), scaled except on SYNs (RFC 7323 2.2). */
static uint16_t window_field(ns_tcp *c, uint8_t flags)
{
    uint32_t win = ns__tcp_rcv_window(c);
    /* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): no window smaller than
     * min(rcvbuf / 2, MSS) is offered; the edge waits until it can move by
     * that much. */
    uint32_t sws = c->o->rcvbuf / 2 < c->cc.mss ? c->o->rcvbuf / 2 : c->cc.mss;
    if (win < sws)
        win = 0;
    if (c->state >= NS_TCP_ESTABLISHED && SEQ_LT(c->rcv_nxt + win, c->rcv_adv))
        win = c->rcv_adv - c->rcv_nxt;
    uint32_t field;
    if (flags & TH_SYN)
        field = win > 65535 ? 65535 : win;
    else
        field = (win >> c->rcv_shift) > 65535 ? 65535 : win >> c->rcv_shift;
    uint32_t adv = (flags & TH_SYN) ? field : field << c->rcv_shift;
    if (SEQ_GT(c->rcv_nxt + adv, c->rcv_adv) || !(c->state >= NS_TCP_ESTABLISHED))
        c->rcv_adv = c->rcv_nxt + adv;
    return (uint16_t)field;
}

/* The payload of sequence range [seq, seq+len) from the send buffer, as
 * spans; NULL when it is all length-only (nothing to allocate). */
static struct ns_payload *payload_of(ns_tcp *c, uint32_t seq, uint32_t len)
{
    uint32_t off = seq - c->snd_una;
    struct ns_span spans[64];
    uint32_t n = 0;
    bool real = false;
    for (GList *l = c->chunks ? c->chunks->head : NULL; l && len > 0; l = l->next) {
        struct tcp_chunk *ch = l->data;
        if (off >= ch->len) {
            off -= ch->len;
            continue;
        }
        uint32_t take = ch->len - off < len ? ch->len - off : len;
        if (ch->buf)
            real = true;
        if (n > 0 && !ch->buf && !spans[n - 1].buf) {
            spans[n - 1].len += take;
        } else if (n < G_N_ELEMENTS(spans)) {
            spans[n++] = (struct ns_span){ ch->buf, ch->buf ? ch->off + off : 0, take };
        } else {
            g_assert_not_reached();        /* segments never span 64 writes of real bytes */
        }
        len -= take;
        off = 0;
    }
    return real ? ns_payload_new(spans, n) : NULL;
}

/* Sends one segment with the given flags; data [seq, seq+len) from the
 * send buffer. */
static void send_segment(ns_tcp *c, uint32_t seq, uint32_t len, uint8_t flags, bool rexmit)
{
    ns_pkt *p = ns_pkt_new(c->sim);
    uint8_t *t = ns_pkt_l4(p);
    if (synchronized(c) || (flags & TH_ACK))
        flags |= TH_ACK;
    if (c->ecn_ok && c->ece_pending && !(flags & TH_SYN))
        flags |= TH_ECE;
    if (c->ecn_ok && c->cwr_pending && len > 0 && !rexmit) {
        flags |= TH_CWR;                     /* RFC 3168 6.1.2 */
        c->cwr_pending = false;
    }
    ns_put16(t, ns__tcp_lport(c));
    ns_put16(t + 2, ns__tcp_rport(c));
    ns_put32(t + 4, seq);
    ns_put32(t + 8, (flags & TH_ACK) ? c->rcv_nxt : 0);
    uint32_t optlen = put_options(c, t + TCP_HLEN, flags);
    while (optlen % 4)
        t[TCP_HLEN + optlen++] = 0;           /* EOL padding */
    t[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
    t[13] = flags;
    ns_put16(t + 14, window_field(c, flags));
    ns_put16(t + 16, 0);                      /* computed where bytes leave */
    ns_put16(t + 18, 0);
    p->l4_len = (uint8_t)(TCP_HLEN + optlen);
    if (len > 0) {
        p->payload = payload_of(c, seq, len);
        p->payload_len = len;
    }
    /* ECT on new data only (RFC 3168 6.1.5: not on retransmissions, not on
     * pure ACKs). */
    uint8_t tos = c->ecn_ok && len > 0 && !rexmit ? NS_ECN_ECT0 : NS_ECN_NOT_ECT;
    c->st.segs_out++;
    if (len > 0) {
        c->st.bytes_sent += len;
        if (rexmit)
            TCP_LOSS_INC(c, retransmits);
    }
    /* Any segment carries the ACK: the delayed ACK is served. */
    c->segs_unacked = 0;
    ns__timer_stop(c, &c->t_delack);
    ns__tcp_trace_seg(c, "out", p);
    if (len > 0)
        ns__tcp_trace_seq(c, rexmit ? "rexmit" : "send", seq, len);
    ns_ip_output(c->th->host, p, c->laddr, ns__tcp_raddr(c), NS_IPPROTO_TCP, tos);
}

void ns__tcp_send_ack(ns_tcp *c)
{
    if (c->state == NS_TCP_CLOSED || c->state == NS_TCP_LISTEN || c->state == NS_TCP_SYN_SENT)
        return;
    send_segment(c, c->snd_nxt, 0, TH_ACK, false);
}

void ns__tcp_send_syn(ns_tcp *c, bool ack)
{
    if (!c->iss_set) {
        /* The ISS comes from the host's seeded stream (RFC 9293 3.4.1 wants
         * it unpredictable; here it is also reproducible). */
        c->iss_set = true;
        c->iss = (uint32_t)ns_rng_u64(c->th->isn);
        c->snd_una = c->iss;
        c->snd_nxt = c->iss + 1;
        c->snd_max = c->iss + 1;
        c->recover = c->iss;                     /* RFC 6582 3.2 step 1 */
    }
    /* Our window scale: the smallest shift that lets rcvbuf be advertised
     * (RFC 7323 2.2, at most 14). */
    c->rcv_shift = 0;
    if (c->o->window_scale && (!ack || c->ws_ok))
        while (c->rcv_shift < 14 && (c->o->rcvbuf >> c->rcv_shift) > 65535)
            c->rcv_shift++;
    uint8_t flags = TH_SYN | (ack ? TH_ACK : 0);
    if (c->o->ecn && !ack)
        flags |= TH_ECE | TH_CWR;                /* ECN-setup SYN (RFC 3168 6.1.1) */
    if (ack && c->ecn_ok)
        flags |= TH_ECE;                         /* ECN-setup SYN-ACK */
    bool rexmit = c->retries > 0;
    send_segment(c, c->iss, 0, flags, rexmit);
    if (rexmit)
        TCP_LOSS_INC(c, retransmits);
    ns__tcp_rto_restart(c);
}

/* Called by the abort arc, when the state is already CLOSED: what tells
 * whether the peer knows us is whether we ever sent a SYN. */
void ns__tcp_send_rst(ns_tcp *c)
{
    if (!c->iss_set)
        return;
    ns_pkt *p = ns_pkt_new(c->sim);
    uint8_t *t = ns_pkt_l4(p);
    ns_put16(t, ns__tcp_lport(c));
    ns_put16(t + 2, ns__tcp_rport(c));
    ns_put32(t + 4, c->snd_nxt);
    ns_put32(t + 8, c->rcv_nxt);
    t[12] = TCP_HLEN / 4 << 4;
    t[13] = TH_RST | TH_ACK;
    p->l4_len = TCP_HLEN;
    c->st.segs_out++;
    ns__tcp_trace_seg(c, "out", p);
    ns_ip_output(c->th->host, p, c->laddr, ns__tcp_raddr(c), NS_IPPROTO_TCP, 0);
}

/* RFC 9293 3.10.7.1: a segment for no connection gets a RST (unless it is
 * one). */
void ns__tcp_send_rst_for(ns_host *h, const ns_pkt *in)
{
    const uint8_t *s = ns_pkt_cl4(in);
    uint8_t f = s[13];
    if (f & TH_RST)
        return;
    ns_pkt *p = ns_pkt_new(ns_host_sim(h));
    uint8_t *t = ns_pkt_l4(p);
    ns_put16(t, ns_get16(s + 2));
    ns_put16(t + 2, ns_get16(s));
    uint32_t seglen = in->payload_len + ((f & TH_SYN) ? 1 : 0) + ((f & TH_FIN) ? 1 : 0);
    if (f & TH_ACK) {
        ns_put32(t + 4, ns_get32(s + 8));
        ns_put32(t + 8, 0);
        t[13] = TH_RST;
    } else {
        ns_put32(t + 4, 0);
        ns_put32(t + 8, ns_get32(s + 4) + seglen);
        t[13] = TH_RST | TH_ACK;
    }
    t[12] = TCP_HLEN / 4 << 4;
    p->l4_len = TCP_HLEN;
    ns_ip_output(h, p, ns_ip_dst(in), ns_ip_src(in), NS_IPPROTO_TCP, 0);
}

uint32_t ns__tcp_flight(const ns_tcp *c)
{
    if (c->sack_ok && c->cc.in_recovery)
        return ns__sack_pipe(c);
    return c->snd_max - c->snd_una;
}

/* Data bytes in the buffer not yet sent (sequence space, without FIN). */
static uint32_t unsent(const ns_tcp *c)
{
    uint32_t sent = c->snd_nxt - c->snd_una;
    if (c->fin_sent && SEQ_GT(c->snd_nxt, c->fin_seq))
        sent--;
    return c->buffered > sent ? c->buffered - sent : 0;
}

void ns__tcp_retransmit(ns_tcp *c, uint32_t seq)
{
    uint32_t data_end = c->snd_una + c->buffered;
    if (c->fin_sent && seq == c->fin_seq) {
        send_segment(c, seq, 0, TH_FIN | TH_ACK, true);
        TCP_LOSS_INC(c, retransmits);
        return;
    }
    uint32_t len = data_end - seq;
    if (len > c->cc.mss)
        len = c->cc.mss;
    uint8_t flags = TH_ACK;
    if (c->fin_sent && seq + len == c->fin_seq && len < c->cc.mss)
        flags |= TH_FIN;
    send_segment(c, seq, len, flags, true);
}

static bool can_send_data(const ns_tcp *c)
{
    switch (c->state) {
    case NS_TCP_ESTABLISHED: case NS_TCP_CLOSE_WAIT: case NS_TCP_FIN_WAIT_1:
    case NS_TCP_CLOSING: case NS_TCP_LAST_ACK:
        return true;
    default:
        return false;
    }
}

/* RFC 6675 recovery: while the pipe leaves room, retransmit holes
 * (NextSeg rule 1), then new data (rule 2). */
static void sack_recovery_output(ns_tcp *c)
{
    for (int guard = 0; guard < 1024; guard++) {
        uint32_t pipe = ns__sack_pipe(c);
        if (pipe + c->cc.mss > c->cc.cwnd)
            return;
        uint32_t seq, len;
        if (ns__sack_next_hole(c, &seq, &len)) {
            ns__tcp_retransmit(c, seq);
            c->rexmit_nxt = seq + len;
            continue;
        }
        /* Rule 2: new data, if the peer's window allows. */
        uint32_t avail = unsent(c);
        uint32_t inwin = c->snd_wnd > c->snd_nxt - c->snd_una ? c->snd_wnd - (c->snd_nxt - c->snd_una) : 0;
        uint32_t n = avail < c->cc.mss ? avail : c->cc.mss;
        if (n > inwin)
            n = inwin;
        if (n == 0)
            return;
        send_segment(c, c->snd_nxt, n, TH_ACK, false);
        c->snd_nxt += n;
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
    }
}

void ns__tcp_output(ns_tcp *c)
{
    if (!can_send_data(c))
        return;
    if (c->cc.in_recovery && c->sack_ok) {
        sack_recovery_output(c);
        if (!ns_event_is_pending(c->sim, c->t_rto.ev) || c->t_rto.deadline == NS_TIME_MAX)
            ns__tcp_rto_restart(c);
        return;
    }
    for (;;) {
        uint32_t avail = unsent(c);
        uint32_t flight = c->snd_nxt - c->snd_una;
        uint32_t win = c->cc.cwnd < c->snd_wnd ? c->cc.cwnd : c->snd_wnd;
        uint32_t usable = win > flight ? win - flight : 0;
        if (avail == 0) {
            /* A FIN to send again after a timeout (go-back-N reached it). */
            if (c->fin_sent && c->snd_nxt == c->fin_seq) {
                if (usable == 0 && flight > 0)
                    return;
                send_segment(c, c->fin_seq, 0, TH_FIN | TH_ACK, true);
                TCP_LOSS_INC(c, retransmits);
                c->snd_nxt = c->fin_seq + 1;
                ns__tcp_rto_restart(c);
                return;
            }
            /* Everything sent: the FIN, once asked for (RFC 9293 3.10.4). */
            if (c->fin_queued && !c->fin_sent) {
                c->fin_sent = true;
                c->fin_seq = c->snd_nxt;
                send_segment(c, c->snd_nxt, 0, TH_FIN | TH_ACK, false);
                c->snd_nxt++;
                if (SEQ_GT(c->snd_nxt, c->snd_max))
                    c->snd_max = c->snd_nxt;
                ns__tcp_rto_restart(c);
            }
            return;
        }
        uint32_t len = avail < c->cc.mss ? avail : c->cc.mss;
        if (len > usable) {
            /* Sender SWS avoidance (RFC 9293 3.8.6.2.1): into a window
             * smaller than a segment, send only at least half the largest
             * window the peer ever offered. */
            len = usable;
            if (len < c->max_snd_wnd / 2 || len == 0) {
                /* Nothing in flight will bring an ACK: probe the window
                 * (RFC 9293 3.8.6.1). */
                if (flight == 0 && (!c->ps || c->ps->t.deadline == NS_TIME_MAX))
                    ns__timer_set(c, &ns__tcp_persist(c)->t, c->rto);
                return;
            }
        }
        /* Nagle (RFC 896): a partial segment waits while data is unacked. */
        if (len < c->cc.mss && flight > 0 && !c->o->nodelay && len == avail)
            return;
        uint8_t flags = TH_ACK;
        bool last = len == avail;
        if (last)
            flags |= TH_PSH;
        bool rexmit = SEQ_LT(c->snd_nxt, c->snd_max);
        if (last && c->fin_queued && !c->fin_sent && !rexmit) {
            flags |= TH_FIN;                 /* the FIN rides on the last data */
            c->fin_sent = true;
            c->fin_seq = c->snd_nxt + len;
        }
        send_segment(c, c->snd_nxt, len, flags, rexmit);
        c->snd_nxt += len + ((flags & TH_FIN) ? 1 : 0);
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        if (c->t_rto.deadline == NS_TIME_MAX)
            ns__tcp_rto_restart(c);
        /* Karn: time one segment at a time when there are no timestamps. */
        if (!c->ts_ok && !c->rtt_start && !rexmit) {
            c->rtt_start = ns_sim_now(c->sim);
            c->rtt_seq = c->snd_nxt;
        }
    }
}

void ns__tcp_send_probe(ns_tcp *c)
{
    /* Into a window too small for the sender's SWS rule, what fits (the
     * override timeout of RFC 1122 4.2.3.4); into a shut window, one byte
     * beyond it (RFC 9293 3.8.6.1), counted as sent (snd_max) but not
     * advancing snd_nxt, so the probe is repeated until the window opens
     * and an ACK of it is still acceptable; an ACK when there is nothing
     * to send. */
    uint32_t avail = unsent(c);
    uint32_t usable = c->snd_wnd > c->snd_nxt - c->snd_una ? c->snd_wnd - (c->snd_nxt - c->snd_una) : 0;
    if (avail > 0 && usable > 0) {
        uint32_t n = usable < avail ? usable : avail;
        n = n < c->cc.mss ? n : c->cc.mss;
        send_segment(c, c->snd_nxt, n, TH_ACK | (n == avail ? TH_PSH : 0), false);
        c->snd_nxt += n;
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        if (c->t_rto.deadline == NS_TIME_MAX)
            ns__tcp_rto_restart(c);
    } else if (avail > 0) {
        send_segment(c, c->snd_nxt, 1, TH_ACK, false);
        if (SEQ_GT(c->snd_nxt + 1, c->snd_max))
            c->snd_max = c->snd_nxt + 1;
    } else {
        ns__tcp_send_ack(c);
    }
}
