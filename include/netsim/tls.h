/* tls.h — TLS 1.2 (RFC 5246) and TLS 1.3 (RFC 8446) over the TCP model.
 *
 * A TLS endpoint sits on one ns_tcp connection and writes real records to
 * it: 5-byte record headers, handshake messages with their real encodings
 * and sizes (ClientHello with its extensions, certificates as DER), and
 * encrypted records of the right length for the cipher suite.  Contents
 * that would be ciphertext are a keystream derived from the hello randoms,
 * so the peer "decrypts" them and both sides parse real messages, while
 * nothing in them draws from a simulation random stream.
 *
 * Each side is a table-driven state machine (models/tls/tls_fsm.c); every
 * transition is traced as tls.state with its cause.  Each flight is
 * written to TCP in one call.  Crypto work is charged to the host's CPU
 * model (ns_cpu_submit) before the flight it produces leaves.
 *
 * Objects live until the sim is freed, like TCP connections; their record
 * buffers do not: a connection holds one only while bytes are pending in it.
 */
#ifndef NETSIM_TLS_H
#define NETSIM_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"
#include "netsim/tcp.h"

typedef struct ns_tls          ns_tls;
typedef struct ns_tls_listener ns_tls_listener;

enum ns_tls_version { NS_TLS_12 = 0x0303, NS_TLS_13 = 0x0304 };

/* AEAD suites; their record overhead decides segment counts. */
#define NS_TLS_CIPHERS(X)                                   \
    X(NS_TLS_AES128_GCM, "aes128gcm")                       \
    X(NS_TLS_AES256_GCM, "aes256gcm")                       \
    X(NS_TLS_CHACHA20,   "chacha20")
#define NS_X_ENUM(name, str) name,
enum ns_tls_cipher { NS_TLS_CIPHERS(NS_X_ENUM) NS_TLS_NCIPHERS };
#undef NS_X_ENUM

/* Key-exchange groups (key share sizes: 32, 65, 97 bytes). */
#define NS_TLS_GROUPS(X)                                    \
    X(NS_TLS_X25519,    "x25519",    0x001d, 32)            \
    X(NS_TLS_SECP256R1, "secp256r1", 0x0017, 65)            \
    X(NS_TLS_SECP384R1, "secp384r1", 0x0018, 97)
#define NS_X_ENUM(name, str, id, len) name,
enum ns_tls_group { NS_TLS_GROUPS(NS_X_ENUM) NS_TLS_NGROUPS };
#undef NS_X_ENUM

/* The alerts the model sends (RFC 8446 6, RFC 5246 7.2). */
#define NS_TLS_ALERTS(X)                                    \
    X(NS_TLS_CLOSE_NOTIFY,         0,   "close_notify")     \
    X(NS_TLS_UNEXPECTED_MESSAGE,   10,  "unexpected_message") \
    X(NS_TLS_HANDSHAKE_FAILURE,    40,  "handshake_failure") \
    X(NS_TLS_BAD_CERTIFICATE,      42,  "bad_certificate")  \
    X(NS_TLS_CERTIFICATE_EXPIRED,  45,  "certificate_expired") \
    X(NS_TLS_UNKNOWN_CA,           48,  "unknown_ca")       \
    X(NS_TLS_ILLEGAL_PARAMETER,    47,  "illegal_parameter") \
    X(NS_TLS_DECODE_ERROR,         50,  "decode_error")     \
    X(NS_TLS_PROTOCOL_VERSION,     70,  "protocol_version") \
    X(NS_TLS_INTERNAL_ERROR,       80,  "internal_error")   \
    X(NS_TLS_CERTIFICATE_REQUIRED, 116, "certificate_required")
#define NS_X_ENUM(name, code, str) name = code,
enum ns_tls_alert { NS_TLS_ALERTS(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_tls_alert_name(int alert);

/* What the server's certificate is, as the client judges it. */
enum ns_tls_cert_status { NS_TLS_CERT_OK, NS_TLS_CERT_UNKNOWN_CA, NS_TLS_CERT_EXPIRED };

/* CPU time of crypto operations (defaults: a 2020s server core). */
struct ns_tls_costs {
    ns_time_t ecdhe;              /* key generation or shared secret: 60 us */
    ns_time_t sign;               /* one signature (ECDSA P-256): 40 us */
    ns_time_t verify;             /* one signature check: 80 us */
    /* Application-data records, at the sender before the record leaves
     * and again at the receiver (with its next CPU pass; delivery does
     * not wait for it).  Handshake records are in the costs above. */
    double    aead_ns_per_byte;   /* per plaintext byte: 0.5 ns/B */
    ns_time_t record;             /* per record (nonce, header, tag): 200 ns */
};

/* The longest HRR cookie: the extension's 2-byte length covers it and
 * its own 2-byte length (RFC 8446 4.2.2). */
#define NS_TLS_MAX_COOKIE 65533

struct ns_tls_opts {
    enum ns_tls_version min_version, max_version;   /* 1.2 .. 1.3 */
    enum ns_tls_cipher  cipher;   /* preferred suite; aes128gcm */
    /* The suites in order: a client offers these, a server picks the first
     * of them the client offered (its preference, as servers configure;
     * none in common: handshake_failure).  n_ciphers 0: `cipher` first,
     * then every other suite. */
    uint8_t     ciphers[NS_TLS_NCIPHERS];   /* enum ns_tls_cipher values */
    uint8_t     n_ciphers;
    enum ns_tls_group   group;    /* client: its key-share guess; server: the
                                   * group it insists on (HelloRetryRequest
                                   * when they differ); x25519 */
    const char *sni;              /* client; "server.example" */
    const char *alpn;             /* "h2"; NULL or "": none */
    /* Certificates: the server's chain (chain_len >= 1), the client's for
     * mutual TLS (client_certs, 0: none).  Each is cert_size bytes of DER. */
    unsigned    chain_len;        /* server: 2 */
    unsigned    client_certs;     /* client: its chain for mutual TLS; 0 */
    uint32_t    cert_size;        /* 1200 bytes each */
    bool        require_client_cert;          /* server: mutual TLS */
    enum ns_tls_cert_status cert_status;      /* server's cert as seen; ok */
    uint32_t    record_size;      /* max plaintext per record; 16384 */
    /* Resumption: a previous connection to the same server whose session
     * (1.3 ticket, 1.2 session id / ticket) the client offers. */
    ns_tls     *resume;
    /* Server: issues tickets (1.3; 1.2 when the client sends the RFC 5077
     * SessionTicket extension), else 1.2 session ids; off: neither.
     * Client: sends that extension in a 1.2-capable ClientHello.  On. */
    bool        tickets;
    /* 0-RTT: with `resume` on 1.3, these bytes leave with the ClientHello. */
    const uint8_t *early_data;    /* NULL with early_len > 0: zero bytes */
    uint32_t    early_len;
    bool        accept_early_data;/* server; on */
    /* Server: a HelloRetryRequest carries a cookie extension of this many
     * bytes (RFC 8446 4.2.2), which the client echoes in its second
     * ClientHello; 0: none (default).  Stateful here: the server does not
     * need it back, so it only costs bytes, as it does on the wire. */
    uint16_t    hrr_cookie;       /* at most NS_TLS_MAX_COOKIE */
    /* TLS 1.3 middlebox compatibility (RFC 8446 D.4): a client sends one
     * 6-byte ChangeCipherSpec record before its second flight (after the
     * ClientHello when it sends early data), a server after its first
     * handshake message when the client's legacy_session_id is non-empty.
     * On, as in OpenSSL, BoringSSL and NSS. */
    bool        middlebox_compat;
    ns_time_t   handshake_timeout;/* 10 s; 0: none */
    struct ns_tls_costs costs;
};
void ns_tls_opts_defaults(struct ns_tls_opts *o);
/* Checks ranges; the error names the option and the value. */
bool ns_tls_opts_check(const struct ns_tls_opts *o, bool server, GError **error);
/* By name: "1.2"/"1.3"; cipher and group names as above; false if unknown. */
bool ns_tls_version_parse(const char *s, enum ns_tls_version *out);
bool ns_tls_cipher_parse(const char *s, enum ns_tls_cipher *out);
bool ns_tls_group_parse(const char *s, enum ns_tls_group *out);
const char *ns_tls_cipher_name(enum ns_tls_cipher c);
/* "1.2", "1.3", or "none" (0: not negotiated yet). */
const char *ns_tls_version_name(enum ns_tls_version v);
const char *ns_tls_group_name(enum ns_tls_group g);

/* What an application hears.  Every hook is optional. */
struct ns_tls_callbacks {
    void (*established)(ns_tls *t, void *ud);          /* handshake done */
    /* Decrypted application data, in order (0-RTT data too). */
    void (*data)(ns_tls *t, const uint8_t *bytes, uint32_t len, void *ud);
    void (*eof)(ns_tls *t, void *ud);                  /* close_notify or FIN */
    void (*closed)(ns_tls *t, void *ud);               /* TCP closed normally */
    /* Failed: an alert name ("unknown_ca"), or TCP's reason ("reset",
     * "timeout"...), or "handshake timeout". */
    void (*error)(ns_tls *t, const char *reason, void *ud);
    /* An alert sent (sent = true) or received. */
    void (*alert)(ns_tls *t, const char *name, bool sent, void *ud);
};

typedef void (*ns_tls_accept_fn)(ns_tls_listener *l, ns_tls *t, void *ud);

ns_tls_listener *ns_tls_listen(ns_host *h, uint16_t port, const struct ns_tcp_opts *tcp,
                               const struct ns_tls_opts *o, ns_tls_accept_fn accept,
                               void *ud, GError **error);
/* From now on, refuse (false) or accept 0-RTT data (a server that lost
 * its anti-replay state, say). */
void ns_tls_listener_set_accept_early_data(ns_tls_listener *l, bool on);
ns_tls *ns_tls_connect(ns_host *h, uint32_t dst, uint16_t port,
                       const struct ns_tcp_opts *tcp, const struct ns_tls_opts *o,
                       GError **error);
void ns_tls_set_callbacks(ns_tls *t, const struct ns_tls_callbacks *cb, void *ud);

/* Application data, cut into records of at most record_size bytes, all
 * written to TCP in one call.  bytes NULL: zero bytes.  Before the
 * handshake completes it is an error (early data goes in the options). */
bool ns_tls_send(ns_tls *t, const void *bytes, uint32_t len, GError **error);
/* close_notify, then TCP close. */
void ns_tls_close(ns_tls *t);

/* ---- observing ---- */
ns_tcp     *ns_tls_tcp(const ns_tls *t);
bool        ns_tls_is_established(const ns_tls *t);
enum ns_tls_version ns_tls_version(const ns_tls *t);
/* The negotiated cipher suite (meaningful once ServerHello is through). */
enum ns_tls_cipher ns_tls_cipher(const ns_tls *t);   /* negotiated; 0 before */
bool        ns_tls_resumed(const ns_tls *t);
bool        ns_tls_has_session(const ns_tls *t);       /* can be resumed */
/* 0-RTT: -1 no early data, 0 rejected or not allowed by the session
 * (then sent after the handshake), 1 accepted. */
int         ns_tls_early_data_status(const ns_tls *t);
const char *ns_tls_state_name_of(const ns_tls *t);

struct ns_tls_info {
    ns_time_t started_at;         /* connect (SYN) / accept */
    ns_time_t tcp_established_at;
    ns_time_t established_at;     /* handshake done; -1 before */
    ns_time_t first_app_tx_at;    /* first application byte sent; -1 */
    ns_time_t first_app_rx_at;    /* first application byte received; -1 */
    uint32_t  hello_retries;      /* HelloRetryRequests */
    uint64_t  flights;            /* flights written */
    uint64_t  handshake_bytes;    /* bytes of non-application records written */
    uint64_t  records_out, records_in;
    uint64_t  app_bytes_out, app_bytes_in;
    uint32_t  tickets_in;         /* NewSessionTickets received */
};
void ns_tls_info(const ns_tls *t, struct ns_tls_info *out);

#endif
