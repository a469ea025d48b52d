/* dhcp_priv.h — what the DHCP files share (never included from another
 * folder). */
#ifndef NETSIM_DHCP_PRIV_H
#define NETSIM_DHCP_PRIV_H

#include "netsim/dhcp.h"
#include "netsim/event.h"
#include "netsim/ipv4.h"
#include "netsim/pkt.h"
#include "netsim/trace.h"
#include "netsim/udp.h"

/* ---- the clients' timers (dhcp_timers.c) ---- */

/* A timer: fn(arg) runs at `due` unless stopped or set again first. */
struct ns__dhcp_timer {
    ns_time_t  due;
    uint64_t   seq;               /* arming order, for equal due times */
    int        idx;               /* in the queue's heap; -1: not set */
    void     (*fn)(void *arg);
    void      *arg;
};
struct ns__dhcp_timers {
    ns_sim      *sim;
    GArray      *heap;            /* (due, seq, timer) slots, a 4-ary heap */
    uint64_t     next_seq;
    ns_event_id  ev;              /* at the first entry's due time */
    ns_time_t    ev_at;
    bool         firing;
};
void ns__dhcp_timers_init(struct ns__dhcp_timers *q, ns_sim *sim);
void ns__dhcp_timers_clear(struct ns__dhcp_timers *q);
void ns__dhcp_timer_init(struct ns__dhcp_timer *t, void (*fn)(void *arg), void *arg);
/* Arms t for due (now if earlier), replacing any earlier arming. */
void ns__dhcp_timer_set(struct ns__dhcp_timers *q, struct ns__dhcp_timer *t, ns_time_t due);
void ns__dhcp_timer_stop(struct ns__dhcp_timers *q, struct ns__dhcp_timer *t);
bool ns__dhcp_timer_is_set(const struct ns__dhcp_timer *t);

/* Per-sim DHCP state: hears faults once for every client and server. */
struct ns__dhcp_sim {
    struct ns__dhcp_timers client_timers; /* every client's timers, one queue */
    GPtrArray *servers;           /* ns_dhcp_server*, creation order (not owned) */
    GPtrArray *clients;           /* ns_dhcp_client*, creation order (not owned) */
    ns_table  *timeline;          /* dhcp_timeline.tsv, or NULL (tables off) */
    ns_table  *pool;              /* dhcp_pool.tsv, or NULL */
    ns_time_t  pool_every;        /* sampling interval of `pool` */
    GArray    *pool_last;         /* size_t per server: last written count,
                                     SIZE_MAX before the first row */
};
struct ns__dhcp_sim *ns__dhcp_sim(ns_sim *sim);
/* A dhcp_timeline.tsv row, when the tables are on. */
/* ds: the client's sim's (ns__dhcp_sim), which the client keeps: a row is
 * considered at every state change, too often to find it by name. */
void ns__dhcp_timeline_row(struct ns__dhcp_sim *ds, ns_dhcp_client *c,
                           enum ns_dhcp_state to, const char *cause);

/* Sends m from sock: to dst (a unicast address or the broadcast) on
 * port; broadcasts leave by ifc.  Returns what UDP returned. */
bool ns__dhcp_send(ns_udp *sock, ns_iface *ifc, uint32_t dst, uint16_t port,
                   const struct ns_dhcp_msg *m);
/* Sends an encoded reply out of ifc to the client's hardware address and
 * yiaddr: RFC 2131 4.1 for a client without an address that did not set
 * the BROADCAST flag. */
bool ns__dhcp_send_raw_unicast(ns_udp *sock, ns_iface *ifc, const uint8_t *buf, size_t len,
                               uint32_t yiaddr, const uint8_t chaddr[6]);
/* Whether a reply goes to chaddr / yiaddr rather than broadcast when the
 * client has no address (ciaddr 0): RFC 2131 4.1. */
bool ns__dhcp_reply_unicast(const struct ns_dhcp_msg *reply);
/* Decodes a received datagram; false for anything that is not DHCP. */
bool ns__dhcp_recv(const ns_pkt *p, struct ns_dhcp_msg *m);

/* ---- the lease database (dhcp_lease.c) ---- */

enum ns__dhcp_lease_state { NS__DHCP_OFFERED, NS__DHCP_BOUND, NS__DHCP_DECLINED };

/* Who a record belongs to (RFC 2131 4.2): the client identifier (option
 * 61) when the client sent one, else its chaddr.  mac is kept either way,
 * for traces. */
struct ns__dhcp_who {
    uint8_t mac[6];               /* chaddr */
    uint8_t cid_len;              /* 0: known by chaddr */
    uint8_t cid[NS_DHCP_CLIENT_ID_MAX];
};
void ns__dhcp_who_of(const struct ns_dhcp_msg *m, struct ns__dhcp_who *w);
bool ns__dhcp_who_same(const struct ns__dhcp_who *a, const struct ns__dhcp_who *b);

/* One address's record.  Expiry is applied by whoever looks at it next. */
struct ns__dhcp_lease {
    ns_dhcp_db      *db;          /* the table holding it */
    uint32_t         addr;
    struct ns__dhcp_who who;      /* the client */
    enum ns__dhcp_lease_state st;
    ns_time_t        expires;     /* set through ns__dhcp_db_set_expiry */
    ns_dhcp_server  *owner;       /* who offered it (offers are per server) */
};

/* What the database knows of an address range (a pool), for scans. */
struct ns__dhcp_range {
    uint32_t  first, last;        /* inclusive */
    uint32_t  next;               /* [first, next) all hold records */
    ns_time_t min_expiry;         /* no record in the range expires earlier */
};

uint64_t ns__dhcp_mac_key(const uint8_t mac[6]);
ns_dhcp_db *ns__dhcp_db_new(void);
void     ns__dhcp_db_ref(ns_dhcp_db *db);
void     ns__dhcp_db_unref(ns_dhcp_db *db);
unsigned ns__dhcp_db_refs(const ns_dhcp_db *db);
/* The record of addr, expired or not; NULL when there is none. */
struct ns__dhcp_lease *ns__dhcp_db_find(ns_dhcp_db *db, uint32_t addr);
/* Creates or overwrites addr's record. */
struct ns__dhcp_lease *ns__dhcp_db_put(ns_dhcp_db *db, uint32_t addr,
                                       const struct ns__dhcp_who *who,
                                       enum ns__dhcp_lease_state st, ns_time_t expires);
void     ns__dhcp_db_set_expiry(struct ns__dhcp_lease *l, ns_time_t expires);
void     ns__dhcp_db_remove(ns_dhcp_db *db, uint32_t addr);
void     ns__dhcp_db_clear(ns_dhcp_db *db);
size_t   ns__dhcp_db_size(const ns_dhcp_db *db);
/* Whether any record (even an expired one) may name the client: false
 * means none does (true may be a hash collision). */
bool     ns__dhcp_db_knows_client(const ns_dhcp_db *db, const struct ns__dhcp_who *who);
/* The summary of [first, last], made on first use (owned by the db). */
struct ns__dhcp_range *ns__dhcp_db_range(ns_dhcp_db *db, uint32_t first, uint32_t last);

/* Fault hooks, called by the per-sim observer. */
void ns__dhcp_client_fault(ns_dhcp_client *c, enum ns_host_fault f);
void ns__dhcp_server_fault(ns_dhcp_server *s, enum ns_host_fault f);

uint32_t ns__dhcp_prefix_mask(int prefix);
int      ns__dhcp_mask_prefix(uint32_t mask);

#define DHCP_TRACE(sim, kind, node, ...)                        \
    do {                                                        \
        if (ns_trace_on((sim), (kind), (node)))                 \
            ns_trace_event((sim), (kind), (node), __VA_ARGS__); \
    } while (0)

#endif
