/* tcp.h — TCP (RFC 9293) on the network layer: connections and listeners.
 *
 * The model carries real bytes and length-only data alike: what a model
 * above (TLS) writes is what the peer's data callback gets back, byte for
 * byte, in order.  Every state transition is traced with its cause; every
 * segment has real header bytes and options, so pcap files decode in
 * Wireshark.
 *
 * Sizes: `mss` is the payload a segment carries (the MSS option value we
 * advertise is the same number: RFC 9293's "effective send MSS" before
 * options; segments with timestamps carry mss - 12 payload bytes so that
 * header + payload stay within what the peer allows, as Linux does).
 */
#ifndef NETSIM_TCP_H
#define NETSIM_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/cc.h"
#include "netsim/host.h"

typedef struct ns_tcp          ns_tcp;
typedef struct ns_tcp_listener ns_tcp_listener;

/* The RFC 9293 states.  NS_TCP_NONE marks an empty cell of the state
 * machine (an input a state does not take). */
#define NS_TCP_STATES(X)                         \
    X(NS_TCP_NONE,        "NONE")                \
    X(NS_TCP_CLOSED,      "CLOSED")              \
    X(NS_TCP_LISTEN,      "LISTEN")              \
    X(NS_TCP_SYN_SENT,    "SYN-SENT")            \
    X(NS_TCP_SYN_RCVD,    "SYN-RECEIVED")        \
    X(NS_TCP_ESTABLISHED, "ESTABLISHED")         \
    X(NS_TCP_FIN_WAIT_1,  "FIN-WAIT-1")          \
    X(NS_TCP_FIN_WAIT_2,  "FIN-WAIT-2")          \
    X(NS_TCP_CLOSE_WAIT,  "CLOSE-WAIT")          \
    X(NS_TCP_CLOSING,     "CLOSING")             \
    X(NS_TCP_LAST_ACK,    "LAST-ACK")            \
    X(NS_TCP_TIME_WAIT,   "TIME-WAIT")
#define NS_X_ENUM(name, str) name,
enum ns_tcp_state { NS_TCP_STATES(NS_X_ENUM) NS_TCP_NSTATES };
#undef NS_X_ENUM
const char *ns_tcp_state_name(enum ns_tcp_state s);

struct ns_tcp_opts {
    uint32_t    mss;              /* payload bytes per segment, 88..65495; 1460 */
    uint32_t    sndbuf;           /* send buffer bytes; 4 MiB */
    uint32_t    rcvbuf;           /* receive buffer = largest window; 4 MiB */
    bool        window_scale;     /* RFC 7323; on */
    bool        timestamps;       /* RFC 7323; on */
    bool        sack;             /* RFC 2018 + RFC 6675 recovery; on */
    bool        nodelay;          /* Nagle off; Nagle is on by default */
    bool        delayed_ack;      /* RFC 1122 / RFC 5681 4.2; on */
    bool        ecn;              /* RFC 3168; off */
    ns_time_t   delack_timeout;   /* 40 ms */
    ns_time_t   initial_rto;      /* 1 s (RFC 6298 2.1) */
    ns_time_t   min_rto;          /* 200 ms (as Linux; RFC 6298 says 1 s) */
    ns_time_t   max_rto;          /* 60 s */
    unsigned    syn_retries;      /* SYN / SYN-ACK retransmissions; 6 */
    unsigned    retries;          /* data / FIN retransmissions; 15 */
    ns_time_t   msl;              /* TIME-WAIT lasts 2 MSL; MSL 30 s */
    /* FIN-WAIT-2 after close() (not after shutdown(), which still
     * reads): if the peer never sends its FIN, RST and CLOSED after this
     * long, as Linux's tcp_fin_timeout; 60 s */
    ns_time_t   fin_timeout;
    uint32_t    init_cwnd;        /* segments; 10 (RFC 6928) */
    const char *cc;               /* "newreno" */
};
void ns_tcp_opts_defaults(struct ns_tcp_opts *o);
/* Checks ranges; the error names the option and the value. */
bool ns_tcp_opts_check(const struct ns_tcp_opts *o, ns_sim *sim, GError **error);

/* What an application hears.  Every hook is optional. */
struct ns_tcp_callbacks {
    void (*established)(ns_tcp *c, void *ud);
    /* In-order data: real bytes, or bytes == NULL for length-only data. */
    void (*data)(ns_tcp *c, const uint8_t *bytes, uint32_t len, void *ud);
    /* The peer acknowledged more data: total bytes acknowledged so far. */
    void (*sent)(ns_tcp *c, uint64_t acked_total, void *ud);
    /* The peer closed its direction (FIN received, after all its data). */
    void (*eof)(ns_tcp *c, void *ud);
    /* The connection is over: reached CLOSED or TIME-WAIT normally. */
    void (*closed)(ns_tcp *c, void *ud);
    /* It failed: "refused" (RST to our SYN), "reset" (RST), "timeout"
     * (retries exhausted), "aborted" (this side called abort), "host
     * crashed". */
    void (*error)(ns_tcp *c, const char *reason, void *ud);
};

typedef void (*ns_tcp_accept_fn)(ns_tcp_listener *l, ns_tcp *c, void *ud);

/* Listens on port; accept runs when a connection reaches ESTABLISHED.
 * A port already listened on is an error naming it. */
ns_tcp_listener *ns_tcp_listen(ns_host *h, uint16_t port, const struct ns_tcp_opts *o,
                               ns_tcp_accept_fn accept, void *ud, GError **error);
void ns_tcp_listener_close(ns_tcp_listener *l);

/* Opens a connection from an ephemeral port of h to dst:port. */
ns_tcp *ns_tcp_connect(ns_host *h, uint32_t dst, uint16_t port,
                       const struct ns_tcp_opts *o, GError **error);

/* Keeps cb by pointer, not a copy (48 bytes per connection saved): the
 * table must outlive the connection, as a static const table does.  NULL:
 * no callbacks. */
void ns_tcp_set_callbacks(ns_tcp *c, const struct ns_tcp_callbacks *cb, void *ud);

/* Queues data: `len` bytes copied from `bytes`, or length-only when bytes
 * is NULL.  False with an error when the connection cannot send any more
 * (closed or shut down) or the send buffer is full. */
bool ns_tcp_send(ns_tcp *c, const void *bytes, uint32_t len, GError **error);
/* Space left in the send buffer. */
uint32_t ns_tcp_send_space(const ns_tcp *c);
/* Half-close: a FIN after the queued data; receiving goes on. */
void ns_tcp_shutdown(ns_tcp *c);
/* Close: shutdown, and the application takes no more data.  Before the
 * connection is established (SYN-SENT) the connection is simply deleted
 * (RFC 9293 3.10.4), queued data with it: close after on_established. */
void ns_tcp_close(ns_tcp *c);
/* Abort: RST now, the connection is gone. */
void ns_tcp_abort(ns_tcp *c);

/* Receive-side flow control: by default the application reads data the
 * moment it arrives.  A reader with a rate (bytes/s, 0 = instant) drains
 * the receive buffer at that rate, so the window shrinks and the sender
 * stalls (zero-window probes) when the reader is slower than the flow. */
void ns_tcp_set_read_rate(ns_tcp *c, double bytes_per_s);

/* ---- observing ---- */
enum ns_tcp_state ns_tcp_state(const ns_tcp *c);
ns_host  *ns_tcp_host(const ns_tcp *c);
uint16_t  ns_tcp_local_port(const ns_tcp *c);
uint16_t  ns_tcp_remote_port(const ns_tcp *c);
uint32_t  ns_tcp_remote_addr(const ns_tcp *c);
/* "client:49152>server:80", for traces. */
const char *ns_tcp_name(const ns_tcp *c);

struct ns_tcp_info {
    uint32_t  cwnd, ssthresh;     /* bytes */
    uint32_t  flight;             /* bytes in flight */
    uint32_t  rwnd;               /* peer's advertised window, bytes */
    ns_time_t srtt, rttvar, rto, min_rtt;
    uint64_t  bytes_sent;         /* data bytes handed to IP, with retransmits */
    uint64_t  bytes_acked;        /* data bytes acknowledged by the peer */
    uint64_t  bytes_received;     /* in-order data bytes delivered */
    uint64_t  segs_out, segs_in;
    uint64_t  retransmits;        /* segments retransmitted */
    uint64_t  fast_retransmits, timeouts, recoveries;
    uint64_t  ecn_reductions;     /* cwnd reductions for ECN-Echo */
    ns_time_t established_at;     /* -1 until established */
};
void ns_tcp_info(const ns_tcp *c, struct ns_tcp_info *out);

/* Periodic per-flow tables: every `interval` (a weak event: it does not
 * keep a run alive) a row of cwnd.tsv (time, flow, cwnd_bytes,
 * ssthresh_bytes, flight_bytes, srtt_s, rto_s) and goodput.tsv (time,
 * flow, goodput_bps over the interval) for every connection; and, when
 * seq is true, every segment sent and acknowledged in seq.tsv (time,
 * flow, kind, seq, len) for sequence-number plots. */
bool ns_tcp_trace_tables(ns_sim *sim, ns_time_t interval, bool seq, GError **error);

/* All connections of the sim in creation order (observers, sweeps). */
size_t  ns_tcp_count(ns_sim *sim);
ns_tcp *ns_tcp_nth(ns_sim *sim, size_t i);

#endif
