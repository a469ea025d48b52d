/* tcp_priv.h — the TCP model's shared internals (models/tcp/ only).
 *
 * A connection is a TCB (struct ns_tcp); its files split by direction and
 * concern, as lwIP splits its TCP: tcp.c (API, ports, life cycle),
 * tcp_fsm.c (the state table), tcp_in.c (segment arrival), tcp_out.c
 * (segment building and sending), tcp_timer.c (RTO, delayed ACK, persist,
 * TIME-WAIT), tcp_sack.c (the RFC 6675 scoreboard), tcp_trace.c (tables).
 *
 * Sequence numbers are 32-bit and wrap: compare them only with the SEQ_*
 * macros.
 */
#ifndef NETSIM_TCP_PRIV_H
#define NETSIM_TCP_PRIV_H

#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/pkt.h"
#include "netsim/rng.h"
#include "netsim/tcp.h"
#include "netsim/trace.h"

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/* TCP header flags (RFC 9293 3.1, RFC 3168 for ECE/CWR). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

#define TCP_HLEN      20
#define TCP_TS_OPTLEN 12          /* NOP NOP TS(10) on data segments */
#define DUPTHRESH     3           /* RFC 5681 / RFC 6675 */
#define MAX_SACK      4           /* blocks a segment can carry */
#define EPHEMERAL_FIRST 49152

/* A piece of the send buffer: real bytes or length-only. */
struct tcp_chunk {
    struct ns_buf *buf;           /* NULL: length-only; ref held */
    uint32_t       off;
    uint32_t       len;
};

/* An out-of-order segment kept for reassembly. */
struct tcp_ooo {
    uint32_t           seq;
    uint32_t           len;
    struct ns_payload *pl;        /* ref held; NULL: length-only */
    uint32_t           pl_off;    /* offset of seq within pl */
    bool               fin;
};

struct tcp_block {
    uint32_t start, end;          /* [start, end) */
};

/* A lazy timer: one pending event at most; moving the deadline later
 * does not reschedule (the event re-arms itself when it fires early), so
 * restarting the RTO on every ACK costs no heap operation. */
struct tcp_timer {
    ns_event_id ev;
    ns_time_t   deadline;         /* NS_TIME_MAX: not armed */
    ns_time_t   fires_at;         /* when the pending event fires */
};

/* The parts of a TCB few connections need, allocated when first needed
 * and freed once idle again (never while their timer's event is pending,
 * since the event's function finds the timer through the TCB): an idle
 * connection carries only the pointers. */

/* Reassembly (receiver): what arrived out of order. */
struct tcp_reasm {
    GArray                   *q;             /* struct tcp_ooo, by seq; owned */
    int                       nrsack;
    struct tcp_block          rsack[MAX_SACK]; /* blocks to report, newest first */
};

/* A reader slower than the network (ns_tcp_set_read_rate). */
struct tcp_reader {
    double                    rate;          /* bytes/s; 0 = instant */
    ns_time_t                 last;          /* last drain */
    uint32_t                  unread;        /* delivered, not yet read */
    struct tcp_timer          t;             /* the next drain */
};

/* Zero-window probing (RFC 9293 3.8.6.1). */
struct tcp_persist {
    struct tcp_timer          t;
    uint32_t                  backoff;       /* probes sent in this stall */
};

struct tcp_host;

/* Counters of what a healthy connection never sees, allocated at the
 * first one (TCP_LOSS_INC). */
struct tcp_loss_stats {
    uint64_t  retransmits;        /* segments */
    uint64_t  recoveries;         /* = fast retransmits: each recovery starts with one */
    uint64_t  timeouts;
    uint64_t  ecn_reductions;
};

/* The counters behind ns_tcp_info; the rest of it (cwnd, srtt, ...) is
 * read from the live fields when asked for. */
struct tcp_stats {
    uint64_t  bytes_sent;         /* data bytes handed to IP, with retransmits */
    uint64_t  bytes_acked;
    uint64_t  bytes_received;     /* in-order data bytes delivered */
    uint64_t  segs_out, segs_in;
    ns_time_t established_at;     /* -1 until established */
    struct tcp_loss_stats *loss;  /* owned; NULL: all zero */
};

#define TCP_LOSS_INC(c, field)                                             \
    do {                                                                   \
        if (!(c)->st.loss)                                                 \
            (c)->st.loss = g_new0(struct tcp_loss_stats, 1);               \
        (c)->st.loss->field++;                                             \
    } while (0)

/* Field order packs the struct (pointers, then 64-bit, then 32-bit, then
 * the small ones); every idle connection pays for each byte here, so what
 * few connections need hangs off a pointer (see above). */
struct ns_tcp {
    /* First: th->conns holds the TCB itself as the key (a set, no values
     * array), and hashes and compares these 8 bytes (ns__tcp_key). */
    uint64_t                  key;           /* lport, rport, raddr: read with ns__tcp_*port, raddr */
    ns_sim                   *sim;
    struct tcp_host          *th;            /* th->host is the host, th->ts the sim's TCP state */
    /* Shared by every TCB with equal options: interned in tcp_sim, owned
     * by it, never written (o->cc is ccops->name). */
    const struct ns_tcp_opts *o;
    ns_tcp_listener          *listener;      /* passive opens, until accepted */
    const struct ns_tcp_callbacks *cb;       /* borrowed; never NULL (see set_callbacks) */
    void                     *ud;
    GQueue                   *chunks;        /* struct tcp_chunk*, from snd_una; owned,
                                                NULL while the send buffer is empty */
    struct tcp_reasm         *rx;            /* owned; NULL: nothing out of order */
    struct tcp_reader        *rd;            /* owned; NULL: the application reads at once */
    struct tcp_persist       *ps;            /* owned; NULL: never probed, or idle again */
    struct tcp_timer         *t_2msl;        /* owned; TIME-WAIT and FIN-WAIT-2 after close(),
                                                NULL before and once over */
    GArray                   *scoreboard;    /* sender's SACK blocks, struct tcp_block, sorted */
    /* congestion control */
    const struct ns_cc_ops   *ccops;
    union {
        uint64_t              words[1];      /* Reno/NewReno state fits here */
        void                 *heap;          /* owned, when ccops->priv_size is larger */
    } ccpriv;                                /* use ns__tcp_ccpriv() */
    struct ns_cc_state        cc;            /* also the TCB's own srtt, mss (the
                                                sender MSS: payload per full segment)
                                                and in_recovery */
    /* RTT (RFC 6298) */
    ns_time_t                 rttvar, rto;   /* srtt is cc.srtt */
    ns_time_t                 rtt_start;     /* 0: not timing */
    /* timers */
    struct tcp_timer          t_rto, t_delack;
    /* statistics */
    struct tcp_stats          st;
    uint32_t                  laddr;
    uint32_t                  fin_seq;       /* sequence number of our FIN */
    uint32_t                  ts_recent;     /* last TSval to echo */
    /* send side */
    uint32_t                  iss;
    uint32_t                  snd_una, snd_nxt, snd_max;
    uint32_t                  snd_wnd;       /* bytes, scaled */
    uint32_t                  max_snd_wnd;   /* largest window the peer offered */
    uint32_t                  snd_wl1, snd_wl2;
    uint32_t                  buffered;      /* bytes in chunks (unacked + unsent) */
    /* receive side */
    uint32_t                  irs;
    uint32_t                  rcv_nxt;
    uint32_t                  rcv_adv;       /* right edge advertised */
    /* loss recovery */
    uint32_t                  recover;       /* recovery point (RFC 6582) */
    uint32_t                  ecn_recover;   /* no second ECN cut before this */
    uint32_t                  rexmit_nxt;    /* RFC 6675 HighRxt + 1 */
    uint32_t                  rtt_seq;       /* Karn timing without TS */
    /* Small counters: each is either bounded by its use or saturates
     * where the saturation cannot be seen (TCP_SAT_INC). */
    uint8_t                   state;         /* enum ns_tcp_state */
    uint8_t                   snd_shift;     /* peer's window scale */
    uint8_t                   rcv_shift;     /* ours */
    uint8_t                   dupacks;       /* saturates: only compared with DUPTHRESH */
    uint8_t                   backoff;       /* RTO doublings; saturates: 63 reach any max_rto */
    uint8_t                   retries;       /* consecutive timeouts, <= 31 (retries option <= 30) */
    uint8_t                   segs_unacked;  /* saturates: only compared with 2 */
    uint8_t                   quickacks;     /* ACK at once for these, <= 16 */
    bool                      in_table : 1;  /* in th->conns */
    bool                      app_closed : 1; /* close(): no more data upward */
    bool                      fin_queued : 1; /* shutdown/close asked for a FIN */
    bool                      fin_sent : 1;
    bool                      eof : 1;       /* peer's FIN delivered */
    bool                      done : 1;      /* closed/error reported */
    bool                      iss_set : 1;
    /* negotiated */
    bool                      ts_ok : 1, sack_ok : 1, ws_ok : 1, ecn_ok : 1;
    bool                      ece_pending : 1; /* receiver: echo ECE until CWR */
    bool                      cwr_pending : 1; /* sender: set CWR on next data */
};

/* Increments a narrow counter, stopping at its maximum. */
#define TCP_SAT_INC(x) do { if ((x) < UINT8_MAX) (x)++; } while (0)

static inline uint16_t ns__tcp_lport(const ns_tcp *c) { return (uint16_t)(c->key >> 48); }
static inline uint16_t ns__tcp_rport(const ns_tcp *c) { return (uint16_t)(c->key >> 32); }
static inline uint32_t ns__tcp_raddr(const ns_tcp *c) { return (uint32_t)c->key; }

struct ns_tcp_listener {
    ns_host                  *host;
    struct tcp_host          *th;
    uint16_t                  port;
    struct ns_tcp_opts        o;
    ns_tcp_accept_fn          accept;
    void                     *ud;
    bool                      closed;
};

/* Per-host TCP state (a host attachment). */
struct tcp_host {
    ns_host                  *host;
    struct tcp_sim           *ts;
    GHashTable               *conns;         /* ns_tcp* (not owned), a set keyed by c->key */
    GHashTable               *listeners;     /* port -> ns_tcp_listener* (owned) */
    GSList                   *closed;        /* closed listeners (owned): children in
                                                SYN-RECEIVED still point at them */
    uint16_t                  next_port;
    ns_rng                   *isn;           /* ISNs from the seeded stream */
};

/* Per-sim TCP state (a sim attachment). */
struct tcp_sim {
    ns_sim                   *sim;
    GPtrArray                *all;           /* ns_tcp*, owned, creation order */
    GHashTable               *opts;          /* interned ns_tcp_opts* (owned) -> itself */
    GHashTable               *names;         /* ns_tcp* -> its name (owned), built on first use */
    GArray                   *goodput_marks; /* uint64_t bytes_received at the last row, by
                                                index in all; NULL until tables are on */
    /* tables (tcp_trace.c) */
    ns_time_t                 interval;
    struct ns_table          *t_cwnd, *t_goodput, *t_seq;
};

/* The timestamp clock (RFC 7323): microseconds of simulated time plus
 * one, modulo 2^32.  Never 0 at time 0, since a TSecr of 0 reads as "no
 * echo" and the handshake of a connection opened at time 0 would give no
 * RTT sample. */
static inline uint32_t ns__tcp_ts_now(const ns_tcp *c)
{
    return (uint32_t)(ns_sim_now(c->sim) / 1000) + 1;
}

/* The congestion control's per-connection state. */
static inline void *ns__tcp_ccpriv(ns_tcp *c)
{
    return c->ccops->priv_size <= sizeof c->ccpriv.words ? (void *)c->ccpriv.words
                                                           : c->ccpriv.heap;
}

/* tcp.c */
struct tcp_sim  *ns__tcp_sim(ns_sim *sim);
struct tcp_host *ns__tcp_host(ns_host *h);
uint64_t         ns__tcp_key(uint16_t lport, uint32_t raddr, uint16_t rport);
ns_tcp          *ns__tcp_new(struct tcp_host *th, const struct ns_tcp_opts *o,
                             uint32_t laddr, uint32_t raddr, uint16_t lport, uint16_t rport);
void             ns__tcp_unhash(ns_tcp *c);
void             ns__tcp_report_error(ns_tcp *c, const char *reason);
void             ns__tcp_report_closed(ns_tcp *c);
void             ns__tcp_sendbuf_trim(ns_tcp *c, uint32_t acked);   /* drop acked bytes */
void             ns__tcp_deliver(ns_tcp *c, const struct ns_payload *pl, uint32_t off,
                                 uint32_t len);
uint32_t         ns__tcp_rcv_window(const ns_tcp *c);              /* bytes we can take */

/* tcp_fsm.c: the state table. */
enum tcp_event {
    EV_NONE,
    EV_CONNECT,           /* application: active open */
    EV_CLOSE,             /* application: close/shutdown (a FIN after the data) */
    EV_ABORT,             /* application: abort */
    EV_SYN,               /* a SYN without ACK */
    EV_SYNACK,            /* a SYN-ACK acknowledging our SYN */
    EV_ACK_OF_SYN,        /* SYN-RECEIVED: our SYN-ACK was acknowledged */
    EV_FIN,               /* the peer's FIN, in order */
    EV_ACK_OF_FIN,        /* our FIN was acknowledged */
    EV_FIN_ACK_OF_FIN,    /* the peer's FIN arrived acknowledging ours */
    EV_RST,               /* an acceptable RST */
    EV_TIMEOUT_2MSL,      /* TIME-WAIT is over */
    EV_FIN_TIMEOUT,       /* FIN-WAIT-2 after close() lasted fin_timeout */
    EV_GIVE_UP,           /* retries exhausted */
    EV_HOST_CRASH,        /* the host crashed: the TCB is lost */
    EV_ADDR_LOST,         /* the local address went (a DHCP lease expired) */
    NEVENTS
};
const char *ns__tcp_event_name(enum tcp_event ev);
/* Applies the event's arc (traced); false when the state has no arc for
 * it (also traced, "ignored"). */
bool ns__tcp_step(ns_tcp *c, enum tcp_event ev);

/* tcp_out.c */
void ns__tcp_output(ns_tcp *c);                     /* send what windows allow */
void ns__tcp_send_ack(ns_tcp *c);                   /* a pure ACK now */
void ns__tcp_send_syn(ns_tcp *c, bool ack);         /* SYN or SYN-ACK */
void ns__tcp_send_rst(ns_tcp *c);
void ns__tcp_send_rst_for(ns_host *h, const ns_pkt *p);  /* no TCB */
void ns__tcp_retransmit(ns_tcp *c, uint32_t seq);   /* one segment at seq */
void ns__tcp_send_probe(ns_tcp *c);                 /* zero-window probe */
uint32_t ns__tcp_flight(const ns_tcp *c);           /* RFC 6675 pipe or snd_max-snd_una */

/* tcp_in.c */
void ns__tcp_input(ns_host *h, ns_iface *in, ns_pkt *p);
void ns__tcp_icmp_error(ns_host *h, uint8_t type, uint8_t code,
                        const uint8_t *quoted, size_t len);
void ns__tcp_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len);

/* tcp_timer.c */
void ns__timer_set(ns_tcp *c, struct tcp_timer *t, ns_time_t delay);
void ns__timer_stop(ns_tcp *c, struct tcp_timer *t);
void ns__tcp_rto_restart(ns_tcp *c);                /* RFC 6298 5.3 */
void ns__tcp_rtt_sample(ns_tcp *c, ns_time_t rtt);  /* RFC 6298 2.2-2.3 */
void ns__tcp_timers_stop(ns_tcp *c);
void ns__tcp_fin_timer_start(ns_tcp *c);            /* FIN-WAIT-2 after close() */
void ns__tcp_schedule_ack(ns_tcp *c);               /* delayed-ACK policy */
void ns__tcp_read_schedule(ns_tcp *c);              /* slow reader drain */
void ns__tcp_read_drain(ns_tcp *c);                 /* read what is due now */
void ns__tcp_reader_release(ns_tcp *c);             /* free c->rd if idle */
struct tcp_persist *ns__tcp_persist(ns_tcp *c);     /* c->ps, allocated if needed */
struct tcp_timer *ns__tcp_2msl(ns_tcp *c);          /* c->t_2msl, allocated if needed */
void ns__tcp_persist_release(ns_tcp *c);            /* free c->ps if idle */

/* tcp_sack.c */
void     ns__sack_update(ns_tcp *c, const struct tcp_block *b, int n);
void     ns__sack_trim(ns_tcp *c);                  /* drop blocks below snd_una */
bool     ns__sack_is_sacked(const ns_tcp *c, uint32_t seq);
uint32_t ns__sack_bytes_above(const ns_tcp *c, uint32_t seq);
/* RFC 6675 NextSeg rule 1: the first lost, unSACKed, not yet retransmitted
 * sequence number, or false. */
bool     ns__sack_next_hole(ns_tcp *c, uint32_t *seq, uint32_t *len);
uint32_t ns__sack_pipe(const ns_tcp *c);
void     ns__rcv_sack_add(ns_tcp *c, uint32_t start, uint32_t end);

/* tcp_trace.c */
void ns__tcp_trace_seg(ns_tcp *c, const char *dir, const ns_pkt *p);
void ns__tcp_trace_seq(ns_tcp *c, const char *kind, uint32_t seq, uint32_t len);

/* Traces a line of kind `kind` about connection c when tracing wants it. */
#define TCP_TRACE(c, kind, ...)                                            \
    do {                                                                   \
        if (ns_trace_on((c)->sim, kind, ns_host_name((c)->th->host)))          \
            ns_trace_event((c)->sim, kind, ns_host_name((c)->th->host),        \
                           __VA_ARGS__);                                   \
    } while (0)

#endif
