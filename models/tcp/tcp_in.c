/* tcp_in.c — segment arrival (RFC 9293 3.10.7): demultiplexing, the
 * acceptability checks, ACK processing with RTT sampling, congestion
 * control and loss recovery (RFC 5681, RFC 6582, RFC 6675, RFC 3168),
 * in-order delivery and reassembly, and classifying a segment into the
 * state machine's events.
 *
 * Invariant: every segment is consumed here: delivered, queued for
 * reassembly (its payload referenced, not copied) or dropped; the packet
 * itself is always freed before returning.
 */
#include <stdio.h>

#include "tcp_priv.h"

struct seg {
    uint32_t  seq, ack, wnd;      /* wnd: raw 16-bit field */
    uint32_t  len;                /* payload bytes */
    uint8_t   flags;
    bool      has_ts;
    uint32_t  tsval, tsecr;
    uint32_t  mss;                /* 0: no MSS option */
    int       wscale;             /* -1: none */
    bool      sack_perm;
    struct tcp_block sack[MAX_SACK];
    int       nsack;
    uint8_t   ecn;                /* IP ECN codepoint */
};

static void parse_options(const uint8_t *o, uint32_t n, struct seg *s)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
            break;                                   /* malformed: stop */
        uint8_t len = o[i + 1];
        switch (kind) {
        case 2: if (len == 4) s->mss = ns_get16(o + i + 2); break;
        case 3: if (len == 3) s->wscale = o[i + 2] > 14 ? 14 : o[i + 2]; break;
        case 4: if (len == 2) s->sack_perm = true; break;
        case 5:
            for (int k = 0; k < (len - 2) / 8 && s->nsack < MAX_SACK; k++) {
                s->sack[s->nsack].start = ns_get32(o + i + 2 + 8 * k);
                s->sack[s->nsack].end = ns_get32(o + i + 6 + 8 * k);
                s->nsack++;
            }
            break;
        case 8:
            if (len == 10) {
                s->has_ts = true;
                s->tsval = ns_get32(o + i + 2);
                s->tsecr = ns_get32(o + i + 6);
            }
            break;
        default: break;
        }
        i += len;
    }
}

static void parse(const ns_pkt *p, struct seg *s)
{
    const uint8_t *t = ns_pkt_cl4(p);
    memset(s, 0, sizeof *s);
    s->wscale = -1;
    s->seq = ns_get32(t + 4);
    s->ack = ns_get32(t + 8);
    s->flags = t[13];
    s->wnd = ns_get16(t + 14);
    s->len = p->payload_len;
    s->ecn = ns_ip_ecn(p);
    uint32_t hlen = (uint32_t)(t[12] >> 4) * 4;
    if (hlen > TCP_HLEN && hlen <= p->l4_len)
        parse_options(t + TCP_HLEN, hlen - TCP_HLEN, s);
}

/* ---- SYN options: what both sides agreed ---- */

static void negotiate(ns_tcp *c, const struct seg *s)
{
    uint32_t peer_mss = s->mss ? s->mss : 536;   /* RFC 9293 3.7.1 default */
    c->ws_ok = c->o->window_scale && s->wscale >= 0;
    c->snd_shift = c->ws_ok ? (uint8_t)s->wscale : 0;
    if (!c->ws_ok)
        c->rcv_shift = 0;
    c->ts_ok = c->o->timestamps && s->has_ts;
    c->sack_ok = c->o->sack && s->sack_perm;
    if (s->has_ts)
        c->ts_recent = s->tsval;
    /* Payload per segment: our MSS and the peer's, less the options every
     * segment carries (timestamps). */
    uint32_t mss = c->o->mss < peer_mss ? c->o->mss : peer_mss;
    c->cc.mss = mss - (c->ts_ok ? TCP_TS_OPTLEN : 0);
    c->cc.cwnd = c->o->init_cwnd * c->cc.mss;
}

/* ---- RTT ---- */

/* Takes this ACK's RTT sample, if it gives one; true when it did. */
static bool rtt_from_ack(ns_tcp *c, const struct seg *s, uint32_t ack)
{
    ns_time_t rtt = 0;
    if (c->ts_ok && s->has_ts && s->tsecr) {
        /* RFC 7323 4.1: the echoed timestamp gives the RTT of the segment
         * that triggered this ACK, retransmitted or not. */
        rtt = (ns_time_t)(uint32_t)(ns__tcp_ts_now(c) - s->tsecr) * NS_USEC;
    } else if (c->rtt_start && SEQ_GEQ(ack, c->rtt_seq)) {
        rtt = ns_sim_now(c->sim) - c->rtt_start;   /* Karn: not retransmitted */
        c->rtt_start = 0;
    }
    if (rtt <= 0)
        return false;
    ns__tcp_rtt_sample(c, rtt);
    return true;
}

/* ---- loss recovery ---- */

static void enter_recovery(ns_tcp *c, enum ns_cc_loss kind)
{
    c->cc.flight = ns__tcp_flight(c);
    c->cc.now = ns_sim_now(c->sim);
    c->cc.ssthresh = c->ccops->ssthresh(&c->cc, ns__tcp_ccpriv(c), kind);
    c->recover = c->snd_max;
    c->cc.in_recovery = true;
    TCP_LOSS_INC(c, recoveries);
    if (c->sack_ok) {
        c->cc.cwnd = c->cc.ssthresh;
        c->rexmit_nxt = c->snd_una;
    } else {
        /* RFC 6582 3.2 step 2: ssthresh + 3 segments inflate. */
        c->cc.cwnd = c->cc.ssthresh + DUPTHRESH * c->cc.mss;
    }
    if (c->ccops->on_loss)
        c->ccops->on_loss(&c->cc, ns__tcp_ccpriv(c), kind);
    TCP_TRACE(c, "tcp.recovery", "conn=%s event=enter cwnd=%u ssthresh=%u recover=%u",
              ns_tcp_name(c), c->cc.cwnd, c->cc.ssthresh, c->recover);
    if (c->sack_ok) {
        ns__tcp_output(c);          /* NextSeg: the first hole is snd_una */
    } else {
        ns__tcp_retransmit(c, c->snd_una);
        ns__tcp_rto_restart(c);
    }
}

static void exit_recovery(ns_tcp *c)
{
    c->cc.in_recovery = false;
    c->dupacks = 0;
    if (c->ccops->on_recovery_end)
        c->ccops->on_recovery_end(&c->cc, ns__tcp_ccpriv(c));
    else
        c->cc.cwnd = c->cc.ssthresh;      /* RFC 6582 3.2 step 3 option (2) */
    TCP_TRACE(c, "tcp.recovery", "conn=%s event=exit cwnd=%u", ns_tcp_name(c), c->cc.cwnd);
}

static void on_dupack(ns_tcp *c)
{
    TCP_SAT_INC(c->dupacks);
    if (c->cc.in_recovery) {
        if (!c->sack_ok)
            c->cc.cwnd += c->cc.mss;        /* RFC 6582 3.2 step 4: inflate */
        ns__tcp_output(c);
        return;
    }
    /* RFC 6582 4.1: no fast retransmit for losses from before the last
     * recovery or timeout.  Classic Reno (RFC 5681) has no such rule: it
     * retransmits again, and halves again, for each loss in a window. */
    bool reno = c->ccops->flags & NS_CC_RENO_RECOVERY;
    if (c->dupacks >= DUPTHRESH &&
        (reno || (SEQ_GT(c->snd_una, c->recover - 1) &&
                  !(c->recover != c->snd_una && SEQ_LT(c->snd_una, c->recover)))))
        enter_recovery(c, NS_CC_LOSS_DUPACK);
}

/* New data acknowledged: [old snd_una, ack). */
static void on_new_ack(ns_tcp *c, const struct seg *s, uint32_t ack)
{
    uint32_t acked = ack - c->snd_una;
    uint32_t data_acked = acked;
    if (c->fin_sent && SEQ_GT(ack, c->fin_seq) && SEQ_LEQ(c->snd_una, c->fin_seq))
        data_acked--;                           /* the FIN's sequence number */
    if (data_acked > c->buffered)
        data_acked = c->buffered;
    bool sampled = rtt_from_ack(c, s, ack);
    c->snd_una = ack;
    if (SEQ_LT(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    ns__tcp_sendbuf_trim(c, data_acked);
    if (c->sack_ok)
        ns__sack_trim(c);
    c->st.bytes_acked += data_acked;
    c->retries = 0;
    /* RFC 6298 section 5, after (5.7), and section 3 (Karn): the
     * backed-off RTO stays until a new RTT sample, which only an ACK of a
     * segment that was not retransmitted gives (or, with timestamps, an
     * unambiguous echo, RFC 7323 4.1). */
    if (sampled)
        c->backoff = 0;
    if (data_acked)
        ns__tcp_trace_seq(c, "ack", ack, 0);
    c->cc.now = ns_sim_now(c->sim);
    c->cc.flight = c->snd_max - c->snd_una;
    if (c->cc.in_recovery) {
        if (SEQ_GEQ(ack, c->recover)) {
            exit_recovery(c);
        } else if (c->ccops->flags & NS_CC_RENO_RECOVERY) {
            exit_recovery(c);               /* Reno: the first new ACK ends it */
        } else if (!c->sack_ok) {
            /* RFC 6582 3.2 step 5: a partial ACK retransmits the next hole
             * and deflates by the amount acknowledged. */
            ns__tcp_retransmit(c, c->snd_una);
            c->cc.cwnd = c->cc.cwnd > data_acked ? c->cc.cwnd - data_acked : c->cc.mss;
            if (data_acked >= c->cc.mss)
                c->cc.cwnd += c->cc.mss;
            ns__tcp_rto_restart(c);
        }
    } else {
        c->dupacks = 0;
        /* Application-limited (RFC 9438 5.8): nothing left to send AND the
         * window not used up; a full window is never app-limited. */
        c->cc.app_limited = c->buffered <= c->snd_nxt - c->snd_una &&
                            c->snd_max - c->snd_una + c->cc.mss <= c->cc.cwnd;
        c->ccops->on_ack(&c->cc, ns__tcp_ccpriv(c), data_acked, 0);
    }
    if (c->snd_una == c->snd_max) {
        ns__timer_stop(c, &c->t_rto);
    } else {
        ns__tcp_rto_restart(c);
    }
    if (data_acked && c->cb->sent)
        c->cb->sent(c, c->st.bytes_acked, c->ud);
}

static void on_ece(ns_tcp *c, uint32_t ack)
{
    /* RFC 3168 6.1.2: at most one reduction per window of data. */
    if (c->cc.in_recovery || SEQ_LT(ack, c->ecn_recover) || c->ecn_recover == 0 ?
            (c->cc.in_recovery || (c->ecn_recover && SEQ_LT(ack, c->ecn_recover))) : false)
        return;
    c->cc.flight = c->snd_max - c->snd_una;
    c->cc.now = ns_sim_now(c->sim);
    c->cc.ssthresh = c->ccops->ssthresh(&c->cc, ns__tcp_ccpriv(c), NS_CC_LOSS_ECN);
    c->cc.cwnd = c->cc.ssthresh;
    if (c->ccops->on_loss)
        c->ccops->on_loss(&c->cc, ns__tcp_ccpriv(c), NS_CC_LOSS_ECN);
    c->ecn_recover = c->snd_max;
    c->cwr_pending = true;
    TCP_LOSS_INC(c, ecn_reductions);
    TCP_TRACE(c, "tcp.ecn", "conn=%s event=reduce cwnd=%u", ns_tcp_name(c), c->cc.cwnd);
}

/* ---- receiving data ---- */

static void ooo_insert(ns_tcp *c, const ns_pkt *p, uint32_t seq, uint32_t len, bool fin)
{
    if (!c->rx) {
        c->rx = g_new0(struct tcp_reasm, 1);
        c->rx->q = g_array_new(FALSE, FALSE, sizeof(struct tcp_ooo));
    }
    GArray *q = c->rx->q;
    guint i = 0;
    while (i < q->len && SEQ_LT(g_array_index(q, struct tcp_ooo, i).seq, seq))
        i++;
    if (i < q->len && g_array_index(q, struct tcp_ooo, i).seq == seq &&
        g_array_index(q, struct tcp_ooo, i).len >= len)
        return;                                 /* a duplicate */
    struct tcp_ooo o = { seq, len, p->payload ? ns_payload_ref(p->payload) : NULL, 0, fin };
    g_array_insert_val(q, i, o);
    ns__rcv_sack_add(c, seq, seq + len);
}

/* Delivers queued segments that have become in order; returns whether a
 * FIN was reached. */
static bool ooo_drain(ns_tcp *c)
{
    bool fin = false;
    while (c->rx && c->rx->q->len > 0) {
        struct tcp_ooo *o = &g_array_index(c->rx->q, struct tcp_ooo, 0);
        if (SEQ_GT(o->seq, c->rcv_nxt))
            break;
        uint32_t end = o->seq + o->len;
        if (SEQ_GT(end, c->rcv_nxt)) {
            uint32_t skip = c->rcv_nxt - o->seq;
            uint32_t n = o->len - skip;
            c->rcv_nxt += n;
            ns__tcp_deliver(c, o->pl, o->pl_off + skip, n);
        }
        if (o->fin && SEQ_GEQ(c->rcv_nxt, end))
            fin = true;
        ns_payload_unref(o->pl);
        g_array_remove_index(c->rx->q, 0);
        if (c->state == NS_TCP_CLOSED)
            return false;
    }
    /* Blocks now below rcv_nxt are no longer worth reporting. */
    struct tcp_reasm *rx = c->rx;
    if (!rx)
        return fin;
    int k = 0;
    for (int i = 0; i < rx->nrsack; i++)
        if (SEQ_GT(rx->rsack[i].end, c->rcv_nxt))
            rx->rsack[k++] = rx->rsack[i];
    rx->nrsack = k;
    if (rx->q->len == 0 && rx->nrsack == 0) {
        g_array_free(rx->q, TRUE);
        g_free(rx);
        c->rx = NULL;                           /* the hole is filled */
    }
    return fin;
}

/* ---- the arrival of a segment at a TCB ---- */

static bool acceptable(const ns_tcp *c, const struct seg *s)
{
    /* RFC 9293 3.10.7.4, the four cases of the acceptability test. */
    uint32_t wnd = ns__tcp_rcv_window(c);
    if (SEQ_GT(c->rcv_adv, c->rcv_nxt + wnd))
        wnd = c->rcv_adv - c->rcv_nxt;
    uint32_t seglen = s->len + ((s->flags & TH_SYN) ? 1 : 0) + ((s->flags & TH_FIN) ? 1 : 0);
    if (seglen == 0)
        return wnd == 0 ? s->seq == c->rcv_nxt
                        : SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
    if (wnd == 0)
        return false;
    return (SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
           (SEQ_GEQ(s->seq + seglen - 1, c->rcv_nxt) &&
            SEQ_LT(s->seq + seglen - 1, c->rcv_nxt + wnd));
}

static void update_window(ns_tcp *c, const struct seg *s)
{
    /* RFC 9293 3.10.7.4: only from newer segments (SND.WL1/WL2). */
    if (SEQ_LT(c->snd_wl1, s->seq) ||
        (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
        uint32_t old = c->snd_wnd;
        c->snd_wnd = (s->flags & TH_SYN) ? s->wnd : s->wnd << c->snd_shift;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        if (c->snd_wnd > c->max_snd_wnd)
            c->max_snd_wnd = c->snd_wnd;
        if (old == 0 && c->snd_wnd > 0 && c->ps) {
            ns__timer_stop(c, &c->ps->t);
            c->ps->backoff = 0;
            ns__tcp_persist_release(c);
        }
    }
}

static void segment_arrives(ns_tcp *c, const ns_pkt *p, const struct seg *s)
{
    /* SYN-SENT (RFC 9293 3.10.7.3). */
    if (c->state == NS_TCP_SYN_SENT) {
        bool ack_ok = false;
        if (s->flags & TH_ACK) {
            if (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max)) {
                if (!(s->flags & TH_RST))
                    ns__tcp_send_rst_for(c->th->host, p);
                return;
            }
            ack_ok = true;
        }
        if (s->flags & TH_RST) {
            if (ack_ok)
                ns__tcp_step(c, EV_RST);
            return;
        }
        if (!(s->flags & TH_SYN))
            return;
        c->irs = s->seq;
        c->rcv_nxt = s->seq + 1;
        c->rcv_adv = c->rcv_nxt;
        negotiate(c, s);
        c->ecn_ok = c->o->ecn && (s->flags & (TH_ECE | TH_CWR)) == TH_ECE;
        if (ack_ok) {
            rtt_from_ack(c, s, s->ack);
            if (!c->ts_ok && c->retries == 0)      /* Karn: SYN not retransmitted */
                ns__tcp_rtt_sample(c, ns_sim_now(c->sim) - (c->t_rto.deadline - c->rto));
            c->snd_una = s->ack;
            c->snd_wnd = s->wnd;                  /* SYN windows are never scaled */
            c->snd_wl1 = s->seq;
            c->snd_wl2 = s->ack;
            ns__timer_stop(c, &c->t_rto);
            c->quickacks = 16;
            ns__tcp_step(c, EV_SYNACK);
        } else {
            ns__tcp_step(c, EV_SYN);             /* simultaneous open */
        }
        return;
    }

    /* SYN-RECEIVED: a retransmitted SYN means our SYN-ACK was lost. */
    if (c->state == NS_TCP_SYN_RCVD && (s->flags & TH_SYN) && !(s->flags & TH_ACK) &&
        s->seq == c->irs) {
        ns__tcp_send_syn(c, true);
        return;
    }

    /* Simultaneous open (RFC 9293 figure 7, line 6): the peer's SYN-ACK
     * repeats the SYN we took already; without it, it is the ACK of our
     * SYN, and the connection is ESTABLISHED on its arrival. */
    struct seg trimmed;
    if (c->state == NS_TCP_SYN_RCVD && (s->flags & TH_SYN) && (s->flags & TH_ACK) &&
        s->seq == c->irs) {
        trimmed = *s;
        trimmed.seq++;
        trimmed.flags &= (uint8_t)~TH_SYN;
        s = &trimmed;
    }

    /* Timestamps: remember the newest one to echo (RFC 7323 4.3). */
    if (c->ts_ok && s->has_ts && SEQ_LEQ(s->seq, c->rcv_adv) && SEQ_GEQ(s->seq + s->len, c->rcv_nxt))
        c->ts_recent = s->tsval;

    if (!acceptable(c, s)) {
        if (!(s->flags & TH_RST))
            ns__tcp_send_ack(c);
        return;
    }
    if (s->flags & TH_RST) {
        /* RFC 5961 3.2: reset only on an exact match, else challenge. */
        if (s->seq == c->rcv_nxt)
            ns__tcp_step(c, EV_RST);
        else
            ns__tcp_send_ack(c);
        return;
    }
    if (s->flags & TH_SYN) {
        ns__tcp_send_ack(c);                      /* RFC 5961 4.2 challenge ACK */
        return;
    }
    if (!(s->flags & TH_ACK))
        return;

    if (c->state == NS_TCP_SYN_RCVD) {
        if (SEQ_LEQ(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
            ns__tcp_send_rst_for(c->th->host, p);
            return;
        }
        rtt_from_ack(c, s, s->ack);
        if (!c->ts_ok && c->retries == 0)
            ns__tcp_rtt_sample(c, ns_sim_now(c->sim) - (c->t_rto.deadline - c->rto));
        c->snd_una = s->ack;
        c->snd_wnd = s->wnd << c->snd_shift;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        ns__timer_stop(c, &c->t_rto);
        c->quickacks = 16;
        ns__tcp_step(c, EV_ACK_OF_SYN);
        if (c->state == NS_TCP_CLOSED)
            return;
    }

    /* ACK processing (synchronized states). */
    bool fin_acked_now = false;
    if (SEQ_GT(s->ack, c->snd_max)) {
        ns__tcp_send_ack(c);                      /* acknowledges nothing we sent */
        return;
    }
    uint32_t old_wnd = c->snd_wnd;
    if (c->sack_ok && s->nsack)
        ns__sack_update(c, s->sack, s->nsack);
    if (SEQ_GT(s->ack, c->snd_una)) {
        bool fin_was_unacked = c->fin_sent && SEQ_LEQ(c->snd_una, c->fin_seq);
        update_window(c, s);
        on_new_ack(c, s, s->ack);
        if (fin_was_unacked && SEQ_GT(s->ack, c->fin_seq))
            fin_acked_now = true;
    } else {
        update_window(c, s);
        /* A duplicate ACK (RFC 5681 2): nothing new, no data, same window,
         * data outstanding (a zero-window probe's byte is not: it leaves
         * snd_nxt where it was). */
        if (s->ack == c->snd_una && s->len == 0 && !(s->flags & TH_FIN) &&
            c->snd_wnd == old_wnd && c->snd_nxt != c->snd_una)
            on_dupack(c);
    }
    if (c->ecn_ok && (s->flags & TH_ECE) && !(s->flags & TH_SYN))
        on_ece(c, s->ack);
    if (c->ecn_ok && (s->flags & TH_CWR))
        c->ece_pending = false;

    /* Data. */
    bool fin_in_order = false;
    if (s->len > 0 || (s->flags & TH_FIN)) {
        switch (c->state) {
        case NS_TCP_ESTABLISHED: case NS_TCP_FIN_WAIT_1: case NS_TCP_FIN_WAIT_2:
            break;
        default:
            goto after_data;                      /* the peer already sent its FIN */
        }
        if (c->ecn_ok && s->ecn == NS_ECN_CE)
            c->ece_pending = true;                /* RFC 3168 6.1.3 */
        if (s->seq == c->rcv_nxt || (SEQ_LT(s->seq, c->rcv_nxt) && SEQ_GT(s->seq + s->len, c->rcv_nxt))) {
            uint32_t skip = c->rcv_nxt - s->seq;
            uint32_t n = s->len - skip;
            c->rcv_nxt += n;
            c->st.segs_in++;
            ns__tcp_deliver(c, p->payload, skip, n);
            if (c->state == NS_TCP_CLOSED)
                return;
            bool fin_ooo = ooo_drain(c);
            if (c->state == NS_TCP_CLOSED)
                return;
            if ((s->flags & TH_FIN) || fin_ooo)
                fin_in_order = true;
            if (c->rx && c->rx->q->len > 0)
                ns__tcp_send_ack(c);              /* still a hole: ACK at once */
            else if (!fin_in_order)
                ns__tcp_schedule_ack(c);
        } else if (SEQ_GT(s->seq, c->rcv_nxt)) {
            ooo_insert(c, p, s->seq, s->len, s->flags & TH_FIN);
            ns__tcp_send_ack(c);                  /* RFC 5681 4.2: dup ACK at once */
        } else {
            ns__tcp_send_ack(c);                  /* an old duplicate */
        }
    }
after_data:
    if (fin_in_order) {
        c->rcv_nxt++;                             /* the FIN's sequence number */
        if (c->state == NS_TCP_FIN_WAIT_1 && fin_acked_now) {
            ns__tcp_step(c, EV_FIN_ACK_OF_FIN);
            return;
        }
        if (fin_acked_now && c->state == NS_TCP_FIN_WAIT_1) {
            ns__tcp_step(c, EV_ACK_OF_FIN);
        }
        ns__tcp_step(c, EV_FIN);
        return;
    }
    if (fin_acked_now)
        ns__tcp_step(c, EV_ACK_OF_FIN);
    if (c->state != NS_TCP_CLOSED)
        ns__tcp_output(c);
}

/* ---- demultiplexing ---- */

static void passive_open(ns_host *h, ns_tcp_listener *l, const ns_pkt *p, const struct seg *s)
{
    const uint8_t *t = ns_pkt_cl4(p);
    ns_tcp *c = ns__tcp_new(l->th, &l->o, ns_ip_dst(p), ns_ip_src(p), l->port, ns_get16(t));
    c->state = NS_TCP_LISTEN;
    c->listener = l;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    negotiate(c, s);
    /* ECN-setup SYN carries ECE and CWR (RFC 3168 6.1.1). */
    c->ecn_ok = c->o->ecn && (s->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
    c->snd_wnd = s->wnd;
    ns__tcp_step(c, EV_SYN);
}

void ns__tcp_input(ns_host *h, ns_iface *in, ns_pkt *p)
{
    struct tcp_host *th = ns__tcp_host(h);
    if (p->l4_len < TCP_HLEN) {
        ns_pkt_free(ns_host_sim(h), p);
        return;
    }
    struct seg s;
    parse(p, &s);
    const uint8_t *t = ns_pkt_cl4(p);
    uint64_t key = ns__tcp_key(ns_get16(t + 2), ns_ip_src(p), ns_get16(t));
    ns_tcp *c = g_hash_table_lookup(th->conns, &key);
    if (c) {
        c->st.segs_in += s.len == 0;
        ns__tcp_trace_seg(c, "in", p);
        segment_arrives(c, p, &s);
    } else {
        ns_tcp_listener *l = g_hash_table_lookup(th->listeners, GUINT_TO_POINTER(ns_get16(t + 2)));
        if (l && (s.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN)
            passive_open(h, l, p, &s);
        else if (!l || (s.flags & TH_ACK))
            ns__tcp_send_rst_for(h, p);          /* no such connection */
    }
    ns_pkt_free(ns_host_sim(h), p);
}

/* ICMP unreachable for a connection still opening: give up at once
 * (RFC 1122 4.2.3.9 allows it for "port unreachable"). */
void ns__tcp_icmp_error(ns_host *h, uint8_t type, uint8_t code, const uint8_t *q, size_t len)
{
    if (len < NS_IP_HLEN + 8 || type != 3)
        return;
    struct tcp_host *th = ns__tcp_host(h);
    uint64_t key = ns__tcp_key(ns_get16(q + NS_IP_HLEN), ns_get32(q + 16),
                               ns_get16(q + NS_IP_HLEN + 2));
    ns_tcp *c = g_hash_table_lookup(th->conns, &key);
    if (c && c->state == NS_TCP_SYN_SENT && (code == 2 || code == 3))
        ns__tcp_step(c, EV_RST);
}

/* Labels use sequence numbers relative to each side's ISN, as Wireshark
 * shows them: "SYN seq=0", "SYN-ACK seq=0 ack=1". */
void ns__tcp_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len)
{
    const uint8_t *t = ns_pkt_cl4(p);
    uint8_t f = t[13];
    uint32_t seq = ns_get32(t + 4), ack = ns_get32(t + 8);
    struct tcp_host *th = ns_host_attached(sender, "tcp");
    uint64_t key = ns__tcp_key(ns_get16(t), ns_ip_dst(p), ns_get16(t + 2));
    const ns_tcp *c = th ? g_hash_table_lookup(th->conns, &key) : NULL;
    if (c && c->iss_set) {
        seq -= c->iss;
        ack = (f & TH_ACK) ? ack - c->irs : 0;
    }
    const char *kind = (f & TH_RST) ? "RST" : (f & TH_SYN) ? ((f & TH_ACK) ? "SYN-ACK" : "SYN")
                     : (f & TH_FIN) ? "FIN" : p->payload_len ? "DATA" : "ACK";
    if ((f & TH_SYN) && !(f & TH_ACK))
        snprintf(buf, len, "%s seq=%u", kind, seq);
    else if (p->payload_len)
        snprintf(buf, len, "%s%s seq=%u len=%u ack=%u", kind, (f & TH_FIN) && p->payload_len ? "+FIN" : "",
                 seq, p->payload_len, ack);
    else
        snprintf(buf, len, "%s seq=%u ack=%u", kind, seq, ack);
}
