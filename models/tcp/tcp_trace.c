/* tcp_trace.c — what the TCP model writes for people to read: one event
 * per segment sent and received (flags, seq, ack, len, window, SACK
 * blocks), and the per-flow tables plot scripts read by column name
 * (cwnd.tsv, goodput.tsv, seq.tsv).
 *
 * Invariant: rows are written in event order and flows in creation order,
 * so the tables are byte-identical between identical runs.
 */
#include <stdio.h>

#include "tcp_priv.h"

static void flags_text(uint8_t f, char *buf)
{
    static const struct { uint8_t bit; char ch; } names[] = {
        { TH_SYN, 'S' }, { TH_ACK, 'A' }, { TH_FIN, 'F' }, { TH_RST, 'R' },
        { TH_PSH, 'P' }, { TH_ECE, 'E' }, { TH_CWR, 'C' },
    };
    int n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (f & names[i].bit)
            buf[n++] = names[i].ch;
    if (n == 0)
        buf[n++] = '-';
    buf[n] = '\0';
}

void ns__tcp_trace_seg(ns_tcp *c, const char *dir, const ns_pkt *p)
{
    if (!ns_trace_on(c->sim, "tcp.seg", ns_host_name(c->th->host)))
        return;
    const uint8_t *t = ns_pkt_cl4(p);
    char fl[12];
    flags_text(t[13], fl);
    char sack[96] = "";
    uint32_t hlen = (uint32_t)(t[12] >> 4) * 4;
    for (uint32_t i = TCP_HLEN; i + 1 < hlen && i < p->l4_len;) {
        uint8_t kind = t[i];
        if (kind == 0) break;
        if (kind == 1) { i++; continue; }
        uint8_t len = t[i + 1];
        if (len < 2) break;
        if (kind == 5) {
            size_t used = 0;
            for (int k = 0; k < (len - 2) / 8; k++)
                used += (size_t)snprintf(sack + used, sizeof sack - used, "%s%u-%u", k ? "," : " sack=",
                                         ns_get32(t + i + 2 + 8 * k), ns_get32(t + i + 6 + 8 * k));
        }
        i += len;
    }
    ns_trace_event(c->sim, "tcp.seg", ns_host_name(c->th->host),
                   "conn=%s dir=%s flags=%s seq=%u ack=%u len=%u win=%u%s", ns_tcp_name(c), dir, fl,
                   ns_get32(t + 4), ns_get32(t + 8), p->payload_len, ns_get16(t + 14), sack);
}

void ns__tcp_trace_seq(ns_tcp *c, const char *kind, uint32_t seq, uint32_t len)
{
    struct tcp_sim *ts = c->th->ts;
    if (!ts->t_seq)
        return;
    ns_table_begin(ts->t_seq);
    ns_table_str(ts->t_seq, ns_tcp_name(c));
    ns_table_str(ts->t_seq, kind);
    ns_table_u64(ts->t_seq, (uint32_t)(seq - c->iss));      /* relative, as Wireshark */
    ns_table_u64(ts->t_seq, len);
    ns_table_end(ts->t_seq);
}

static void sample(ns_sim *sim, void *arg)
{
    struct tcp_sim *ts = arg;
    if (!ts->goodput_marks)
        ts->goodput_marks = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    if (ts->goodput_marks->len < ts->all->len)
        g_array_set_size(ts->goodput_marks, ts->all->len);   /* new flows start at 0 */
    for (guint i = 0; i < ts->all->len; i++) {
        ns_tcp *c = g_ptr_array_index(ts->all, i);
        if (c->state < NS_TCP_ESTABLISHED && c->state != NS_TCP_SYN_RCVD)
            continue;
        if (c->state == NS_TCP_CLOSED || c->state == NS_TCP_TIME_WAIT)
            continue;
        if (c->st.bytes_sent == 0)
            goto goodput;                 /* a pure receiver: no cwnd to show */
        ns_table_begin(ts->t_cwnd);
        ns_table_str(ts->t_cwnd, ns_tcp_name(c));
        ns_table_u64(ts->t_cwnd, c->cc.cwnd);
        ns_table_u64(ts->t_cwnd, c->cc.ssthresh == UINT32_MAX ? 0 : c->cc.ssthresh);
        ns_table_u64(ts->t_cwnd, ns__tcp_flight(c));
        ns_table_f64(ts->t_cwnd, ns_time_to_sec(c->cc.srtt));
        ns_table_f64(ts->t_cwnd, ns_time_to_sec(c->rto));
        ns_table_end(ts->t_cwnd);
    goodput:;
        uint64_t *mark = &g_array_index(ts->goodput_marks, uint64_t, i);
        uint64_t got = c->st.bytes_received - *mark;
        *mark = c->st.bytes_received;
        if (c->st.bytes_received > 0 || got > 0) {
            ns_table_begin(ts->t_goodput);
            ns_table_str(ts->t_goodput, ns_tcp_name(c));
            ns_table_f64(ts->t_goodput, (double)got * 8.0 / ns_time_to_sec(ts->interval));
            ns_table_end(ts->t_goodput);
        }
    }
    ns_event_after_weak(sim, ts->interval, sample, ts);
}

bool ns_tcp_trace_tables(ns_sim *sim, ns_time_t interval, bool seq, GError **error)
{
    struct tcp_sim *ts = ns__tcp_sim(sim);
    if (interval <= 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "TCP table interval must be > 0");
        return false;
    }
    static const char *const cwnd_cols[] = { "flow", "cwnd_bytes", "ssthresh_bytes",
                                             "flight_bytes", "srtt_s", "rto_s", NULL };
    static const char *const goodput_cols[] = { "flow", "goodput_bps", NULL };
    static const char *const seq_cols[] = { "flow", "kind", "seq", "len", NULL };
    bool first = ts->interval == 0;
    ts->t_cwnd = ns_table_open(sim, "cwnd", cwnd_cols, error);
    if (!ts->t_cwnd)
        return false;
    ts->t_goodput = ns_table_open(sim, "goodput", goodput_cols, error);
    if (!ts->t_goodput)
        return false;
    if (seq && !(ts->t_seq = ns_table_open(sim, "seq", seq_cols, error)))
        return false;
    ts->interval = interval;
    if (first)
        ns_event_after_weak(sim, interval, sample, ts);
    return true;
}
