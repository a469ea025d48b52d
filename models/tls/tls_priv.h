/* tls_priv.h — what the files of models/tls share; never included from
 * another folder.
 *
 * Invariant: an ns_tls writes to TCP only in flush() (tls.c), one
 * ns_tcp_send per flight; actions of the state machine append records to
 * t->out and add CPU work to t->cost, and flush() sends them once the
 * host's CPU has done that work.
 */
#ifndef NETSIM_TLS_PRIV_H
#define NETSIM_TLS_PRIV_H

#include "netsim/pkt.h"
#include "netsim/rng.h"
#include "netsim/tls.h"

/* Record content types (RFC 8446 5.1) and handshake types (4). */
enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23 };
enum {
    HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_SESSION_TICKET = 4,
    HS_END_OF_EARLY_DATA = 5, HS_ENCRYPTED_EXTENSIONS = 8, HS_CERTIFICATE = 11,
    HS_SERVER_KEY_EXCHANGE = 12, HS_CERTIFICATE_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14, HS_CERTIFICATE_VERIFY = 15,
    HS_CLIENT_KEY_EXCHANGE = 16, HS_FINISHED = 20,
};

/* Both sides' states in one enum; each side has its own table. */
#define TLS_STATES(X)                                                   \
    X(ST_NONE, "NONE")                                                  \
    X(ST_START, "START")                                                \
    X(ST_C_WAIT_SH, "WAIT_SH")          X(ST_C_WAIT_SH2, "WAIT_SH2")    \
    X(ST_C_WAIT_EE, "WAIT_EE")          X(ST_C_WAIT_CERT_CR, "WAIT_CERT_CR") \
    X(ST_C_WAIT_CERT, "WAIT_CERT")      X(ST_C_WAIT_CV, "WAIT_CV")      \
    X(ST_C_WAIT_FIN, "WAIT_FINISHED")                                   \
    X(ST_C12_WAIT_CERT, "WAIT_CERT12")  X(ST_C12_WAIT_SKE, "WAIT_SKE")  \
    X(ST_C12_WAIT_SHD, "WAIT_SHD")      X(ST_C12_WAIT_CCS, "WAIT_CCS12") \
    X(ST_C12_WAIT_FIN, "WAIT_FIN12")    X(ST_C12R_WAIT_CCS, "WAIT_CCS12R") \
    X(ST_C12R_WAIT_FIN, "WAIT_FIN12R")                                  \
    X(ST_S_WAIT_CH, "WAIT_CH")          X(ST_S_WAIT_CH2, "WAIT_CH2")    \
    X(ST_S_WAIT_EOED, "WAIT_EOED")      X(ST_S_WAIT_CERT, "WAIT_CLIENT_CERT") \
    X(ST_S_WAIT_CV, "WAIT_CLIENT_CV")   X(ST_S_WAIT_FIN, "WAIT_CLIENT_FIN") \
    X(ST_S12_WAIT_CERT, "WAIT_CLIENT_CERT12") X(ST_S12_WAIT_CKE, "WAIT_CKE") \
    X(ST_S12_WAIT_CKE_CV, "WAIT_CKE_CV") X(ST_S12_WAIT_CV, "WAIT_CLIENT_CV12") \
    X(ST_S12_WAIT_CCS, "WAIT_CLIENT_CCS12") X(ST_S12_WAIT_FIN, "WAIT_CLIENT_FIN12") \
    X(ST_S12R_WAIT_CCS, "WAIT_CLIENT_CCS12R") X(ST_S12R_WAIT_FIN, "WAIT_CLIENT_FIN12R") \
    X(ST_CONNECTED, "CONNECTED")                                        \
    X(ST_CLOSED, "CLOSED")
#define NS_X_ENUM(name, str) name,
enum tls_state { TLS_STATES(NS_X_ENUM) NSTATES };
#undef NS_X_ENUM

/* Inputs: received messages classified with the data they need (guards
 * live in the classifier, tls_msg.c), plus local events. */
#define TLS_EVENTS(X)                                                   \
    X(EV_NONE, "none")              X(EV_START, "TCP established")      \
    X(EV_CH13, "ClientHello(1.3)")  X(EV_CH13_MTLS, "ClientHello(1.3,mTLS)") \
    X(EV_CH13_PSK, "ClientHello(1.3,PSK)") X(EV_CH13_EARLY, "ClientHello(1.3,PSK,0-RTT)") \
    X(EV_CH13_HRR, "ClientHello(1.3,wrong group)")                      \
    X(EV_CH12, "ClientHello(1.2)")  X(EV_CH12_MTLS, "ClientHello(1.2,mTLS)") \
    X(EV_CH12_RESUME, "ClientHello(1.2,resume)")                        \
    X(EV_CH_NOVERSION, "ClientHello(no common version)")                \
    X(EV_HRR, "HelloRetryRequest") X(EV_SH13, "ServerHello(1.3)")      \
    X(EV_SH12, "ServerHello(1.2)") X(EV_SH12_RESUMED, "ServerHello(1.2,resumed)") \
    X(EV_SH_BAD, "ServerHello(unacceptable)")                           \
    X(EV_EE, "EncryptedExtensions") X(EV_CR, "CertificateRequest")     \
    X(EV_CERT, "Certificate")       X(EV_CERT_EMPTY, "Certificate(empty)") \
    X(EV_CERT_BAD, "Certificate(rejected)")                             \
    X(EV_CV, "CertificateVerify")   X(EV_SKE, "ServerKeyExchange")      \
    X(EV_SHD, "ServerHelloDone")    X(EV_CKE, "ClientKeyExchange")      \
    X(EV_CCS, "ChangeCipherSpec")   X(EV_FIN, "Finished")               \
    X(EV_NST, "NewSessionTicket")   X(EV_EOED, "EndOfEarlyData")        \
    X(EV_BAD_MSG, "malformed message")                                  \
    X(EV_ALERT, "alert")            X(EV_TIMEOUT, "handshake timeout")  \
    X(EV_TCP_FAIL, "TCP failure")
#define NS_X_ENUM(name, str) name,
enum tls_event { TLS_EVENTS(NS_X_ENUM) NEVENTS };
#undef NS_X_ENUM

/* A byte queue that is parsed in place: bytes [off, len) are pending,
 * those before off are consumed.  Appending moves the pending bytes to the
 * front only when the buffer would otherwise grow, so a record or message
 * is never copied out.  data is NULL while nothing is pending: the memory
 * then waits among the sim's spares for the next connection (tls_mem.c). */
struct tls_buf {
    uint8_t *data;                /* owned */
    size_t   off;                 /* bytes consumed */
    size_t   len;                 /* bytes written, consumed ones included */
    size_t   cap;                 /* bytes allocated */
};

struct tls_all;                   /* tls_mem.c: what the sim owns */

struct tls_ticket {               /* a session a listener can resume */
    uint64_t            id;
    enum ns_tls_version version;
};

struct ns_tls_listener {
    ns_sim          *sim;
    ns_host         *host;
    ns_tcp_listener *tcp;
    struct ns_tls_opts o;
    char            *sni, *alpn;             /* owned copies */
    ns_tls_accept_fn accept;
    void            *ud;
    GArray          *tickets;                /* struct tls_ticket, issue order */
    uint64_t         next_ticket;
};

struct ns_tls {
    ns_sim          *sim;
    ns_host         *host;
    ns_tcp          *tcp;
    bool             server;
    ns_tls_listener *listener;               /* server side */
    struct ns_tls_opts o;                    /* sni, alpn point to owned copies */
    char            *sni, *alpn;
    uint8_t         *early;                  /* owned copy of early data */
    struct ns_tls_callbacks cb;
    void            *ud;
    struct ns_rng   *rng;                    /* the host's "tls" stream: randoms, ids */
    enum tls_state   state;

    /* negotiated */
    enum ns_tls_version version;             /* 0 until ServerHello */
    enum ns_tls_cipher  cipher;
    enum ns_tls_group   group;               /* the key share in use */
    uint8_t          client_random[32];
    uint8_t          session_id[32];
    uint8_t          session_id_len;
    bool             resumed;                /* PSK / abbreviated handshake */
    bool             cert_requested;         /* by the server */
    bool             client_sent_cert;       /* a non-empty client Certificate */
    int              early_status;           /* -1 none, 0 rejected, 1 accepted */
    bool             skip_early;             /* server: discard rejected 0-RTT */
    bool             peer_early;             /* server: CH carried early_data */
    uint32_t         hrr;                    /* HelloRetryRequests */
    uint16_t         cookie_len;             /* client: the HRR's cookie ... */
    uint8_t         *cookie;                 /* ... to echo; owned, NULL if none */
    bool             ccs13_sent;             /* the compatibility CCS (RFC 8446 D.4) */
    unsigned         peer_certs;             /* in the last Certificate */
    GString         *label;                  /* the flight's messages, for diagrams */
    uint64_t         offered_ticket;         /* server: id from the client's PSK */
    bool             peer_ticket_ext;        /* server: CH had a 1.2 SessionTicket ext */
    /* 1.2 (RFC 5077 3.2): the ServerHello carried an empty SessionTicket
     * extension, so a NewSessionTicket comes before the server's CCS */
    bool             nst_promised;
    bool             nst_got;                /* client: that NewSessionTicket came */

    /* session for resumption (client) */
    bool             has_session;
    enum ns_tls_version session_version;
    uint64_t         ticket;                 /* ticket / session id number */
    bool             ticket_is_sid;          /* 1.2 session id, not a ticket */
    uint32_t         max_early;              /* 1.3: server allows 0-RTT */

    /* record layer */
    struct tls_buf   rx;                     /* bytes not yet a full record */
    struct tls_buf   hs;                     /* handshake bytes not yet a message */
    struct tls_buf   out;                    /* the flight being built (off unused) */
    bool             parsing;                /* inside process(): rx, hs in use */
    struct tls_all  *all;                    /* the sim's TLS state: spare buffers */
    bool             tx_enc, rx_enc;         /* records are protected */
    uint64_t         tx_seq, rx_seq;         /* protected records per direction */
    uint64_t         key;                    /* keystream key: client random */
    uint64_t         wire_out, wire_in;      /* TCP stream bytes written / received */
    ns_time_t        cost;                   /* CPU work before `out` leaves */
    ns_time_t        rx_cost;                /* decryption not yet on the CPU */
    bool             busy;                   /* waiting for the CPU */
    bool             holding;                /* app sends join `out` */
    bool             notify_established;     /* call established at flush */
    bool             resend_early;           /* client: 0-RTT rejected */
    bool             close_after;            /* a fatal alert is in `out` */
    char             fail_reason[32];
    int              pending_alert;          /* alert the classifier chose */
    ns_event_id      timer;

    struct ns_tls_info st;
};

/* tls.c */
/* o's cipher suites in preference order (see ns_tls_opts.ciphers). */
unsigned ns__tls_cipher_order(const struct ns_tls_opts *o, enum ns_tls_cipher out[NS_TLS_NCIPHERS]);
void ns__tls_write_record(ns_tls *t, uint8_t type, const uint8_t *body, size_t len);
void ns__tls_write_handshake(ns_tls *t, uint8_t type, const uint8_t *body, size_t len);
void ns__tls_send_alert(ns_tls *t, int alert);
/* Application data records into t->out (bytes NULL: zeros). */
void ns__tls_write_app(ns_tls *t, const uint8_t *bytes, uint32_t len);
void ns__tls_established(ns_tls *t);
void ns__tls_note(ns_tls *t, const char *label);
ns_tls_listener *ns__tls_listener_of(ns_tls *t);

/* tls_diagram.c: arrows per flight and summary lines in the sim's
 * sequence diagram, if one is open with t's host in it. */
/* A flight of `bytes` (msgs: its messages) left; t->wire_out counts it. */
void ns__tls_diagram_flight(ns_tls *t, const char *msgs, uint32_t bytes);
/* Bytes arrived from TCP; t->wire_in counts them. */
void ns__tls_diagram_arrived(ns_tls *t);
/* The client's first application byte left (t->st.first_app_tx_at). */
void ns__tls_diagram_first_byte(ns_tls *t, const char *mode);
/* The client's handshake failed before any application byte. */
void ns__tls_diagram_failed(ns_tls *t, const char *reason);

/* tls_mem.c: the sim owns every connection and listener from adoption on
 * and frees them with itself. */
void ns__tls_adopt(ns_tls *t);
void ns__tls_adopt_listener(ns_tls_listener *l);
/* Frees a listener the sim has not adopted. */
void ns__tls_listener_free(ns_tls_listener *l);
/* Certificate `index` of the chain, cert_size bytes; owned by the sim. */
const GByteArray *ns__tls_cert(ns_tls *t, unsigned index, bool client);
/* Room for n more bytes at the end of b, counted as written (an empty
 * buffer takes one of the sim's spares); pointers into b are invalid
 * afterwards. */
uint8_t *ns__tls_buf_put(ns_tls *t, struct tls_buf *b, size_t n);
/* Returns t's empty buffers to the sim's spares; rx and hs not while
 * process() (tls.c) holds pointers into them. */
void ns__tls_trim(ns_tls *t);

/* Marks n pending bytes consumed.  The bytes stay where they are until the
 * next ns__tls_buf_put, so a record or message is used in place after this. */
static inline void ns__tls_buf_take(struct tls_buf *b, size_t n)
{
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

static inline size_t ns__tls_buf_pending(const struct tls_buf *b) { return b->len - b->off; }

/* tls_fsm.c */
/* The connection's name, "a:49152>b:443": TCP's, which is built on first
 * use (ns_tcp_name), so that the thousands of connections of a run that
 * nobody traces never format one nor keep a copy. */
static inline const char *ns__tls_name(const ns_tls *t) { return ns_tcp_name(t->tcp); }

/* A trace line whose arguments (the name above among them) are evaluated
 * only when the line is wanted; ns_trace_event would drop it the same. */
#define TLS_TRACE(t, kind, ...)                                            \
    do {                                                                   \
        if (ns_trace_on((t)->sim, kind, ns_host_name((t)->host)))          \
            ns_trace_event((t)->sim, kind, ns_host_name((t)->host),        \
                           __VA_ARGS__);                                   \
    } while (0)

const char *ns__tls_state_name(enum tls_state s);
const char *ns__tls_event_name(enum tls_event e);
void ns__tls_step(ns_tls *t, enum tls_event ev, const uint8_t *msg, size_t len);

/* tls_msg.c: builders append one handshake message to t->out; parsers
 * read one message (type byte first) and say which event it is. */
void ns__tls_send_client_hello(ns_tls *t);
void ns__tls_send_server_hello(ns_tls *t, bool hrr);
void ns__tls_send_server_hello12(ns_tls *t);
void ns__tls_send_encrypted_extensions(ns_tls *t);
void ns__tls_send_certificate(ns_tls *t, unsigned n);
void ns__tls_send_certificate_request(ns_tls *t);
void ns__tls_send_certificate_verify(ns_tls *t);
void ns__tls_send_server_key_exchange(ns_tls *t);
void ns__tls_send_empty(ns_tls *t, uint8_t type);
void ns__tls_send_client_key_exchange(ns_tls *t);
void ns__tls_send_finished(ns_tls *t);
void ns__tls_send_new_session_ticket(ns_tls *t);
void ns__tls_send_ccs(ns_tls *t);
/* The TLS 1.3 compatibility CCS, once per connection, if t sends one. */
void ns__tls_send_compat_ccs(ns_tls *t);
enum tls_event ns__tls_classify(ns_tls *t, const uint8_t *msg, size_t len);
void ns__tls_take_ticket(ns_tls *t, const uint8_t *msg, size_t len);
/* A DER X.509 certificate of exactly `size` bytes (>= its minimum). */
GByteArray *ns__tls_make_cert(uint32_t size, unsigned index, bool client);
uint32_t ns__tls_cert_min_size(void);
uint32_t ns__tls_group_id(enum ns_tls_group g);
uint32_t ns__tls_group_len(enum ns_tls_group g);
uint16_t ns__tls_cipher_id(enum ns_tls_cipher c, enum ns_tls_version v);

/* tls_record.c: the keystream standing in for AEAD, XORed into buf in
 * place (protecting and recovering are the same operation). */
void ns__tls_keystream_xor(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len);
void ns__tls_keystream_fill(uint64_t key, int dir, uint64_t seq, uint8_t *buf, size_t len);
uint32_t ns__tls_overhead(enum ns_tls_version v, enum ns_tls_cipher c);

/* What the client offers, shared by the builders (tls_msg.c) and the
 * parser (tls_parse.c). */
static inline bool ns__tls_offers13(const ns_tls *t) { return t->o.max_version == NS_TLS_13; }
static inline bool ns__tls_offers12(const ns_tls *t) { return t->o.min_version == NS_TLS_12; }
static inline bool ns__tls_resuming(const ns_tls *t, enum ns_tls_version v)
{
    return t->o.resume && t->o.resume->has_session && t->o.resume->session_version == v;
}
/* ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3). */
extern const uint8_t ns__tls_hrr_random[32];

#endif
