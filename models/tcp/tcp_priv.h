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

struct tcp_host;

struct ns_tcp {
    ns_sim                   *sim;
    ns_host                  *host;
    struct tcp_host          *th;
    char                     *name;          /* "a:49152>b:80", built on first use */
    struct tcp_sim           *ts;            /* the sim's TCP state */
    uint32_t                  id;            /* creation index in the sim */
    uint32_t                  laddr, raddr;
    uint16_t                  lport, rport;
    enum ns_tcp_state         state;
    struct ns_tcp_opts        o;             /* o.cc points into ccops->name */
    ns_tcp_listener          *listener;      /* passive opens, until accepted */
    const struct ns_tcp_callbacks *cb;       /* borrowed; never NULL (see set_callbacks) */
    void                     *ud;
    bool                      in_table;      /* in th->conns */
    bool                      app_closed;    /* close(): no more data upward */
    bool                      fin_queued;    /* shutdown/close asked for a FIN */
    bool                      fin_sent;
    uint32_t                  fin_seq;       /* sequence number of our FIN */
    bool                      eof;           /* peer's FIN delivered */
    bool                      done;          /* closed/error reported */
    /* negotiated */
    bool                      ts_ok, sack_ok, ws_ok, ecn_ok;
    uint8_t                   snd_shift;     /* peer's window scale */
    uint8_t                   rcv_shift;     /* ours */
    uint32_t                  smss;          /* payload per full segment */
    uint32_t                  peer_mss;      /* MSS option received */
    uint32_t                  ts_recent;     /* last TSval to echo */
    /* send side */
    uint32_t                  iss;
    bool                      iss_set;
    uint32_t                  snd_una, snd_nxt, snd_max;
    uint32_t                  snd_wnd;       /* bytes, scaled */
    uint32_t                  max_snd_wnd;   /* largest window the peer offered */
    uint32_t                  snd_wl1, snd_wl2;
    GQueue                    chunks;        /* struct tcp_chunk*, from snd_una */
    uint32_t                  buffered;      /* bytes in chunks (unacked + unsent) */
    /* receive side */
    uint32_t                  irs;
    uint32_t                  rcv_nxt;
    uint32_t                  rcv_adv;       /* right edge advertised */
    uint32_t                  unread;        /* delivered, not yet read */
    double                    read_rate;     /* bytes/s; 0 = instant */
    ns_time_t                 read_last;     /* last drain */
    GArray                   *ooo;           /* struct tcp_ooo, by seq; NULL if none */
    struct tcp_block          rsack[MAX_SACK]; /* blocks to report, newest first */
    int                       nrsack;
    /* congestion control */
    struct ns_cc_state        cc;
    const struct ns_cc_ops   *ccops;
    void                     *ccpriv;        /* ccpriv_inline, or owned when larger */
    uint64_t                  ccpriv_inline[1]; /* Reno/NewReno state fits here */
    uint32_t                  dupacks;
    uint32_t                  recover;       /* recovery point (RFC 6582) */
    bool                      in_recovery;
    uint32_t                  ecn_recover;   /* no second ECN cut before this */
    bool                      ece_pending;   /* receiver: echo ECE until CWR */
    bool                      cwr_pending;   /* sender: set CWR on next data */
    /* SACK scoreboard (sender side) */
    GArray                   *scoreboard;    /* struct tcp_block, sorted */
    uint32_t                  rexmit_nxt;    /* RFC 6675 HighRxt + 1 */
    /* RTT (RFC 6298) */
    ns_time_t                 srtt, rttvar, rto;
    uint32_t                  backoff;       /* RTO doublings */
    uint32_t                  rtt_seq;       /* Karn timing without TS */
    ns_time_t                 rtt_start;     /* 0: not timing */
    unsigned                  retries;       /* consecutive timeouts */
    /* delayed ACK */
    uint32_t                  segs_unacked;
    uint32_t                  quickacks;     /* ACK at once for these */
    /* timers */
    struct tcp_timer          t_rto, t_delack, t_persist, t_2msl, t_read;
    uint32_t                  persist_backoff;
    /* statistics */
    struct ns_tcp_info        st;
    uint64_t                  goodput_mark;  /* bytes_received at last row */
};

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
    GHashTable               *conns;         /* key -> ns_tcp* (not owned) */
    GHashTable               *listeners;     /* port -> ns_tcp_listener* (owned) */
    uint16_t                  next_port;
    ns_rng                   *isn;           /* ISNs from the seeded stream */
};

/* Per-sim TCP state (a sim attachment). */
struct tcp_sim {
    ns_sim                   *sim;
    GPtrArray                *all;           /* ns_tcp*, owned, creation order */
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
        if (ns_trace_on((c)->sim, kind, ns_host_name((c)->host)))          \
            ns_trace_event((c)->sim, kind, ns_host_name((c)->host),        \
                           __VA_ARGS__);                                   \
    } while (0)

#endif
