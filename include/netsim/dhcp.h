/* dhcp.h — DHCP (RFC 2131, options RFC 2132) on UDP 67/68: clients,
 * servers with address pools and lease tables, relay agents.
 *
 * Messages are real bytes (BOOTP header, magic cookie, options), so pcap
 * files decode in Wireshark.  The client is the RFC 2131 state machine
 * (figure 5), table-driven with every transition traced ("dhcp.state");
 * it configures its interface when BOUND and removes the address when the
 * lease expires.  Servers hand out addresses from pools; two servers may
 * share one lease database (a failover pair).  A relay on a router fills
 * giaddr so one server serves several subnets.
 *
 * Replies to a client without an address are unicast to its chaddr and
 * yiaddr unless it set the BROADCAST flag (RFC 2131 4.1, a client
 * option).
 *
 * A host configured by hand can ask for its other parameters with
 * DHCPINFORM (ns_dhcp_inform_new).
 *
 * A client may send a client identifier (option 61); servers then key its
 * lease by it instead of by chaddr (RFC 2131 4.2), and echo it (RFC 6842).
 *
 * Limitations: no option overload; reservations are by chaddr only.
 */
#ifndef NETSIM_DHCP_H
#define NETSIM_DHCP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"

#define NS_DHCP_SERVER_PORT 67
#define NS_DHCP_CLIENT_PORT 68

/* ---- messages (dhcp_msg.c) ---- */

#define NS_DHCP_MSG_TYPES(X)              \
    X(NS_DHCP_DISCOVER, 1, "DISCOVER")    \
    X(NS_DHCP_OFFER,    2, "OFFER")       \
    X(NS_DHCP_REQUEST,  3, "REQUEST")     \
    X(NS_DHCP_DECLINE,  4, "DECLINE")     \
    X(NS_DHCP_ACK,      5, "ACK")         \
    X(NS_DHCP_NAK,      6, "NAK")         \
    X(NS_DHCP_RELEASE,  7, "RELEASE")     \
    X(NS_DHCP_INFORM,   8, "INFORM")
#define NS_X_ENUM(name, num, str) name = num,
enum ns_dhcp_msg_type { NS_DHCP_MSG_TYPES(NS_X_ENUM) };
#undef NS_X_ENUM
/* "DISCOVER", ...; "?" for a number outside 1..8. */
const char *ns_dhcp_msg_type_name(int type);

#define NS_DHCP_BOOTREQUEST 1
#define NS_DHCP_BOOTREPLY   2
#define NS_DHCP_FLAG_BROADCAST 0x8000

/* Option 61 (RFC 2132 9.14): a type byte and at least one more byte. */
#define NS_DHCP_CLIENT_ID_MAX 32

/* A decoded message: the fixed header fields netsim uses and the options
 * it knows (0 = absent). */
struct ns_dhcp_msg {
    uint8_t  op;                  /* BOOTREQUEST / BOOTREPLY */
    uint8_t  hops;
    uint32_t xid;
    uint16_t secs;
    uint16_t flags;               /* NS_DHCP_FLAG_BROADCAST */
    uint32_t ciaddr, yiaddr, siaddr, giaddr;   /* host order */
    uint8_t  chaddr[6];
    uint8_t  type;                /* option 53 */
    uint32_t server_id;           /* option 54 */
    uint32_t requested;           /* option 50 */
    uint32_t lease_s;             /* option 51 */
    uint32_t t1_s;                /* option 58 */
    uint32_t t2_s;                /* option 59 */
    uint32_t mask;                /* option 1 */
    uint32_t router;              /* option 3 (first) */
    uint32_t dns;                 /* option 6 (first) */
    uint8_t  client_id_len;       /* option 61: 0 = absent, else 2.. */
    uint8_t  client_id[NS_DHCP_CLIENT_ID_MAX];   /* type byte, then the id */
};

/* The largest message netsim encodes: 236-byte header, cookie, options,
 * padded to the BOOTP minimum of 300 bytes. */
#define NS_DHCP_MSG_MAX 576
#define NS_DHCP_MSG_MIN 300
/* Encodes m into buf (NS_DHCP_MSG_MAX bytes); returns the length
 * (>= NS_DHCP_MSG_MIN). */
size_t ns_dhcp_encode(const struct ns_dhcp_msg *m, uint8_t *buf);
/* Decodes len bytes; false (with error) for a short message, a bad
 * cookie, a truncated option or no message type. */
bool ns_dhcp_decode(const uint8_t *buf, size_t len, struct ns_dhcp_msg *m,
                    GError **error);
/* "DISCOVER xid=0x1a2b3c4d", "OFFER 10.0.0.23 lease=3600s", ... */
void ns_dhcp_describe(const struct ns_dhcp_msg *m, char *buf, size_t len);

/* ---- client (dhcp_client.c) ---- */

#define NS_DHCP_STATES(X)                       \
    X(NS_DHCP_NONE,        "NONE")              \
    X(NS_DHCP_INIT,        "INIT")              \
    X(NS_DHCP_SELECTING,   "SELECTING")         \
    X(NS_DHCP_REQUESTING,  "REQUESTING")        \
    X(NS_DHCP_BOUND,       "BOUND")             \
    X(NS_DHCP_RENEWING,    "RENEWING")          \
    X(NS_DHCP_REBINDING,   "REBINDING")         \
    X(NS_DHCP_INIT_REBOOT, "INIT-REBOOT")       \
    X(NS_DHCP_REBOOTING,   "REBOOTING")         \
    X(NS_DHCP_STOPPED,     "STOPPED")
#define NS_X_ENUM(name, str) name,
enum ns_dhcp_state { NS_DHCP_STATES(NS_X_ENUM) NS_DHCP_NSTATES };
#undef NS_X_ENUM
const char *ns_dhcp_state_name(enum ns_dhcp_state s);

typedef struct ns_dhcp_client ns_dhcp_client;

struct ns_dhcp_client_opts {
    ns_time_t start_min, start_max;  /* start delay, uniform in [min, max]
                                        (RFC 2131 4.4.1: 1-10 s) */
    ns_time_t probe_wait;            /* ARP probe of the offered address
                                        before use (0: no probe); 1 s */
    double    fuzz;                  /* T1/T2 scaled by 1 +- fuzz; 0 */
    unsigned  request_tries;         /* REQUESTs in REQUESTING before going
                                        back to INIT; 4 */
    bool      reboot;                /* after a restart, INIT-REBOOT with
                                        the remembered address; true */
    uint8_t   client_id_len;         /* option 61 sent when > 0 (2..32
                                        bytes: type, then id); 0 */
    uint8_t   client_id[NS_DHCP_CLIENT_ID_MAX];
    bool      broadcast;             /* set the BROADCAST flag: a client
                                        that cannot receive unicast before
                                        it has an address (RFC 2131 4.1);
                                        false: netsim's client can, as a
                                        packet socket does, so servers and
                                        relays unicast OFFER and ACK to
                                        chaddr / yiaddr */
};
void ns_dhcp_client_opts_defaults(struct ns_dhcp_client_opts *o);

/* Starts a client on ifc (a LAN interface; its address is replaced by the
 * leased one).  One client per interface; binds UDP 68 on the host. */
ns_dhcp_client *ns_dhcp_client_new(ns_iface *ifc, const struct ns_dhcp_client_opts *o,
                                   GError **error);
ns_dhcp_client *ns_dhcp_client_of(const ns_host *h);   /* NULL if none */
enum ns_dhcp_state ns_dhcp_client_state(const ns_dhcp_client *c);
ns_host  *ns_dhcp_client_host(const ns_dhcp_client *c);
uint32_t  ns_dhcp_client_addr(const ns_dhcp_client *c);   /* 0 unless bound */
/* Sends RELEASE (when it holds a lease), drops the address, stops. */
void ns_dhcp_client_release(ns_dhcp_client *c);

struct ns_dhcp_lease_info {
    uint32_t  addr, server, router, mask;
    uint32_t  dns;                /* option 6 (the first server); 0: none */
    uint32_t  lease_s;
    ns_time_t requested_at;       /* the REQUEST the ACK answered */
    ns_time_t t1_at, t2_at, expires_at;
};
bool ns_dhcp_client_lease(const ns_dhcp_client *c, struct ns_dhcp_lease_info *out);

struct ns_dhcp_client_stats {
    uint64_t discovers, requests, declines, releases;
    uint64_t offers, acks, naks;
    uint64_t bound;               /* times BOUND was entered */
    uint64_t expired;
};
const struct ns_dhcp_client_stats *ns_dhcp_client_stats(const ns_dhcp_client *c);

/* Called on every state change (after the action ran). */
typedef void (*ns_dhcp_state_fn)(ns_dhcp_client *c, enum ns_dhcp_state from,
                                 enum ns_dhcp_state to, void *ud);
void ns_dhcp_client_on_state(ns_dhcp_client *c, ns_dhcp_state_fn fn, void *ud);
/* OFFER selection: called for each OFFER in SELECTING; return true to take
 * it (default: the first). */
typedef bool (*ns_dhcp_offer_fn)(ns_dhcp_client *c, const struct ns_dhcp_msg *offer,
                                 void *ud);
void ns_dhcp_client_on_offer(ns_dhcp_client *c, ns_dhcp_offer_fn fn, void *ud);
/* OFFER choice over a selecting window (RFC 2131 4.4.1: the client may
 * wait for several OFFERs).  With a chooser set (it replaces on_offer),
 * every OFFER in SELECTING is kept and fn is called with all those kept
 * so far, in arrival order, `closing` false: it returns the index of the
 * one to take now, or -1 to wait.  When the window closes (the DISCOVER
 * retransmission is due, 4 s +- 1 s after the first) with OFFERs kept, fn
 * is called once more with `closing` true: an index takes that OFFER, -1
 * drops them all and the DISCOVER is retransmitted. */
typedef int (*ns_dhcp_choose_fn)(ns_dhcp_client *c, const struct ns_dhcp_msg *offers,
                                 size_t n, bool closing, void *ud);
void ns_dhcp_client_on_choose(ns_dhcp_client *c, ns_dhcp_choose_fn fn, void *ud);

/* ---- INFORM (dhcp_inform.c) ---- */

/* A host with an address configured by hand asks a server for its other
 * parameters (RFC 2131 3.4): one DHCPINFORM exchange on an interface,
 * started at once, binding UDP 68 (so not on a host running a client). */
typedef struct ns_dhcp_inform ns_dhcp_inform;

struct ns_dhcp_inform_opts {
    uint32_t server;              /* unicast to it; 0: broadcast */
    unsigned tries;               /* INFORMs sent at most (4 s, 8 s, ...
                                     apart, +-1 s); 4 */
};
void ns_dhcp_inform_opts_defaults(struct ns_dhcp_inform_opts *o);

struct ns_dhcp_inform_info {
    uint32_t  server;             /* option 54 of the ACK */
    uint32_t  mask, router, dns;  /* 0: not given */
    uint32_t  lease_s, yiaddr;    /* 0 from an RFC server: no lease */
    ns_time_t at;                 /* when the ACK arrived */
};

/* Errors: ifc has no address, tries 0, UDP 68 taken on the host. */
ns_dhcp_inform *ns_dhcp_inform_new(ns_iface *ifc, const struct ns_dhcp_inform_opts *o,
                                   GError **error);
ns_dhcp_inform *ns_dhcp_inform_of(const ns_host *h);    /* NULL if none */
unsigned        ns_dhcp_inform_sent(const ns_dhcp_inform *q);
/* The answer, once an ACK came; false before. */
bool            ns_dhcp_inform_result(const ns_dhcp_inform *q,
                                      struct ns_dhcp_inform_info *out);

/* ---- server (dhcp_server.c) ---- */

typedef struct ns_dhcp_server ns_dhcp_server;
typedef struct ns_dhcp_db ns_dhcp_db;

struct ns_dhcp_server_opts {
    uint32_t  lease_s;            /* 3600 */
    uint32_t  t1_s, t2_s;         /* 0: not sent (clients use 0.5 / 0.875) */
    ns_time_t offer_hold;         /* an unanswered offer is freed after; 60 s */
    ns_time_t ping_wait;          /* ICMP echo check before offering (0: off) */
    bool      persist;            /* the lease table survives a crash; true */
    ns_dhcp_db *db;               /* shared lease database (NULL: own) */
};
void ns_dhcp_server_opts_defaults(struct ns_dhcp_server_opts *o);

/* A server on h (binds UDP 67).  Checks lease times; another server in
 * the sim with the same address is an error. */
ns_dhcp_server *ns_dhcp_server_new(ns_host *h, const struct ns_dhcp_server_opts *o,
                                   GError **error);
/* Takes a server off its host and frees it: its UDP port 67 closes, it
 * leaves the sim's server list, its lease database is released (a shared
 * one lives on in the partner).  For undoing a server whose configuration
 * failed; a new server may then be created on the host. */
void ns_dhcp_server_free(ns_dhcp_server *s);
ns_dhcp_server *ns_dhcp_server_of(const ns_host *h);
ns_host        *ns_dhcp_server_host(const ns_dhcp_server *s);
ns_dhcp_db     *ns_dhcp_server_db(ns_dhcp_server *s);   /* to share it */
void            ns_dhcp_server_set_persist(ns_dhcp_server *s, bool persist);

struct ns_dhcp_pool_cfg {
    uint32_t first, last;         /* the range, inclusive */
    uint32_t subnet; int prefix;  /* 0: the server interface's subnet
                                     holding the range */
    uint32_t router, dns;         /* 0: no option */
};
/* Adds a pool: the range must be ordered and inside its subnet, which
 * must be one of the server's (or given, for relayed subnets). */
bool ns_dhcp_server_add_pool(ns_dhcp_server *s, const struct ns_dhcp_pool_cfg *cfg,
                             GError **error);
/* Never leases addr (it must lie in a pool). */
bool ns_dhcp_server_exclude(ns_dhcp_server *s, uint32_t addr, GError **error);
/* Always leases addr to the client with this MAC ("aa:bb:cc:dd:ee:ff"). */
bool ns_dhcp_server_reserve(ns_dhcp_server *s, const char *mac, uint32_t addr,
                            GError **error);

struct ns_dhcp_server_stats {
    uint64_t discovers, requests, declines, releases, informs;
    uint64_t offers, acks, naks;
    uint64_t exhausted;           /* DISCOVERs left unanswered: no address */
    uint64_t offers_freed;        /* the client chose another server */
    uint64_t ping_in_use;         /* candidates that answered the echo */
};
const struct ns_dhcp_server_stats *ns_dhcp_server_stats(const ns_dhcp_server *s);
/* Addresses leased (ACKed, not expired or released) now, over all its
 * pools. */
size_t ns_dhcp_server_active(ns_dhcp_server *s);
/* The client MAC holding addr now, or false. */
bool ns_dhcp_server_holder(ns_dhcp_server *s, uint32_t addr, uint8_t mac[6]);

/* ---- tables for plots (dhcp.c) ---- */

/* Opens dhcp_timeline.tsv (time, client, state, cause: one row per client
 * state change, cause the event that made it, e.g. "t1", "expire"; and one
 * row per client with cause "end" when the outputs are committed) and
 * dhcp_pool.tsv (time, server, leased: the addresses each server has
 * leased, sampled every `every` and written when it changed, and once
 * more at the commit).  Calling it again changes `every`.  plots/
 * dhcp_timeline.gp and plots/dhcp_pool.gp read them. */
bool ns_dhcp_trace_tables(ns_sim *sim, ns_time_t every, GError **error);

/* ---- relay (dhcp_relay.c) ---- */

typedef struct ns_dhcp_relay ns_dhcp_relay;
/* A relay agent on router h (binds UDP 67): requests heard on any
 * interface are sent to `server` with giaddr = that interface's address. */
ns_dhcp_relay *ns_dhcp_relay_new(ns_host *h, uint32_t server, GError **error);
uint64_t ns_dhcp_relay_forwarded(const ns_dhcp_relay *r);

#endif
