/* lock_priv.h — what the lock model's files share (never included from
 * another folder): the wire format, the structures of cluster, server,
 * storage and client, and the strategy ops table. */
#ifndef NETSIM_LOCK_PRIV_H
#define NETSIM_LOCK_PRIV_H

#include <string.h>

#include "netsim/event.h"
#include "netsim/lock.h"
#include "netsim/pkt.h"
#include "netsim/rng.h"
#include "netsim/trace.h"
#include "netsim/udp.h"

/* ---- messages: a fixed header, big-endian, then the resource name ----
 *   0 magic 'L'   1 version 1   2 type   3 flags
 *   4 client id (u32)   8 attempt (u32)   12 token (u64)   20 aux (u64)
 *   (an ACQUIRE carries the transaction's timestamp in aux)
 *   28 name length   29.. name (at most NS_LOCK_NAME_MAX bytes) */
#define LOCK_MAGIC   0x4c
#define LOCK_HDR     29
#define LOCK_MSG_MAX (LOCK_HDR + NS_LOCK_NAME_MAX)

#define LOCK_MSG_TYPES(X)                                                   \
    X(LM_ACQUIRE,   "ACQ")      /* flags: LF_WAIT to be queued */            \
    X(LM_GRANT,     "GRANT")    /* token = register, aux = grant counter */  \
    X(LM_QUEUED,    "QUEUED")   /* aux = holder's client id */               \
    X(LM_DENY,      "DENY")     /* aux = holder's client id */               \
    X(LM_RELEASE,   "REL")                                                  \
    X(LM_RELEASED,  "RELD")                                                 \
    X(LM_RENEW,     "RENEW")                                                \
    X(LM_COMMIT,    "COMMIT")   /* token to write into the register */       \
    X(LM_COMMITTED, "CMTD")                                                 \
    X(LM_NOTHELD,   "NOTHELD")  /* a commit from a client not holding */     \
    X(LM_WRITE,     "WRITE")    /* to storage; flags LF_BEGIN or LF_END */   \
    X(LM_WRITE_OK,  "OK")                                                   \
    X(LM_REJECT,    "REJECT")   /* stale token */                        \
    X(LM_WOUND,     "WOUND")    /* server to a younger holder: give up */  \
    X(LM_VICTIM,    "VICTIM")   /* detector to a deadlock victim: give up */ \
    X(LM_WFG_QUERY, "WFGQ")     /* detector to server: attempt = round */   \
    X(LM_WFG,       "WFG")      /* server's edges on one resource: below */ \
    X(LM_WFG_END,   "WFGEND")   /* token = WFG datagrams of this answer */
#define NS_X_ENUM(name, str) name,
enum lock_msg_type { LOCK_MSG_TYPES(NS_X_ENUM) LM_NTYPES };
#undef NS_X_ENUM

/* LF_DIE and LF_WOUND name the age rule a server applies to a request
 * that finds the lock taken (with LF_WAIT): wait-die denies a requester
 * not older than the holder and every waiter; wound-wait queues by age
 * and wounds a younger holder. */
enum { LF_WAIT = 1, LF_BEGIN = 2, LF_END = 4, LF_DIE = 8, LF_WOUND = 16 };

/* A WFG datagram is a message whose name is a contended resource, followed
 * by `flags` entries of LOCK_WFG_ENTRY bytes: the holder (attempt 0: none),
 * then waiters in queue order, the first of them at queue position `aux`
 * (1-based: a long queue spans several datagrams, each repeating the
 * holder).  client and attempt echo the query (detector, round).  Entry:
 *   0 client (u32)  4 attempt (u32)  8 timestamp (u64)  16 address (u32)
 *   20 port (u16)   22 locks this attempt holds on the server (u16) */
#define LOCK_WFG_ENTRY   24
#define LOCK_WFG_MAX     40      /* entries per datagram: about 1 KB */
#define LOCK_WFG_MSG_MAX (LOCK_MSG_MAX + LOCK_WFG_MAX * LOCK_WFG_ENTRY)

struct lock_wfg_entry {
    uint32_t  client, attempt;
    ns_time_t ts;                /* the transaction's timestamp */
    uint32_t  addr;              /* where its grants (and a VICTIM) go */
    uint16_t  port;
    uint16_t  held;              /* resources it holds on this server */
};

struct lock_msg {
    uint8_t  type;
    uint8_t  flags;
    uint32_t client;             /* the client's host id */
    uint32_t attempt;
    uint64_t token;
    uint64_t aux;
    char     name[NS_LOCK_NAME_MAX + 1];
};

/* Copies a resource name between the model's name buffers (all
 * NS_LOCK_NAME_MAX + 1 bytes, NUL-terminated) as one fixed-size block,
 * which compiles to a few moves: a message's name is copied on every
 * send, and g_strlcpy measured it each time.  What follows the NUL comes
 * along and is never read (encoding stops at the NUL).  Both must be
 * such buffers: the array sizes let the compiler reject a shorter one. */
static inline void ns__lock_name_copy(char dst[static NS_LOCK_NAME_MAX + 1],
                                      const char src[static NS_LOCK_NAME_MAX + 1])
{
    memcpy(dst, src, NS_LOCK_NAME_MAX + 1);
}

const char *ns__lock_msg_name(unsigned type);
size_t ns__lock_encode(const struct lock_msg *m, uint8_t out[LOCK_MSG_MAX]);
bool   ns__lock_decode(const ns_pkt *p, struct lock_msg *m);
/* WFG datagrams: m->flags entries (at most LOCK_WFG_MAX) after the name. */
size_t ns__lock_encode_wfg(const struct lock_msg *m, const struct lock_wfg_entry *e,
                           uint8_t out[LOCK_WFG_MSG_MAX]);
bool   ns__lock_decode_wfg(const ns_pkt *p, struct lock_msg *m,
                           struct lock_wfg_entry e[LOCK_WFG_MAX]);
bool   ns__lock_send_wfg(ns_udp *s, uint32_t dst, uint16_t port, const struct lock_msg *m,
                         const struct lock_wfg_entry *e);
bool   ns__lock_send(ns_udp *s, uint32_t dst, uint16_t port, const struct lock_msg *m);
void   ns__lock_describe(ns_host *sender, const ns_pkt *p, char *buf, size_t len);
/* Diagrams label datagrams to or from sock's port from their bytes (a
 * VICTIM goes from a detector's port to a client's, both ephemeral). */
void   ns__lock_label_port(ns_sim *sim, const ns_udp *sock);

/* ---- lock_names.c: resource name -> record (all zero: empty) ---- */
struct lock_name_slot {
    const char *name;            /* the record's own name; NULL: empty slot */
    void       *rec;
    uint32_t    hash;
};
struct lock_names {
    struct lock_name_slot *slot; /* cap slots, at most half used */
    guint cap, len;
};
/* The record filed under name, or NULL. */
void *ns__lock_names_get(const struct lock_names *t, const char *name);
/* Files rec (not NULL) under name, which must not be filed yet and must
 * live as long as the entry (the record's own name). */
void  ns__lock_names_add(struct lock_names *t, const char *name, void *rec);
void  ns__lock_names_clear(struct lock_names *t);
void  ns__lock_names_free(struct lock_names *t);

/* ---- servers ---- */
struct lock_waiter {
    uint32_t client, attempt;
    uint32_t addr;               /* where to send the grant */
    uint16_t port;
    ns_time_t ts;                /* the transaction's timestamp (age rules) */
    bool     wounded;            /* as holder: a WOUND was sent to it */
};

struct lock_res {
    char      name[NS_LOCK_NAME_MAX + 1];
    bool      held;
    struct lock_waiter holder;
    ns_time_t expiry;            /* NS_TIME_MAX without lease */
    ns_event_id expiry_ev;
    GArray   *waiters;           /* struct lock_waiter, FIFO */
    uint64_t  grants;            /* per-server counter: the naive token */
    uint64_t  reg;               /* quorum token register */
};

struct lock_server {
    ns_lock_cluster *cl;
    unsigned   index;
    ns_host   *host;
    ns_udp    *sock;
    GPtrArray *res;              /* struct lock_res*, creation order (owned) */
    struct lock_names by_name;   /* name -> struct lock_res* (index of res) */
    GPtrArray *work;             /* queued CPU items (owned) */
};

/* ---- storage: the protected resource and the oracle's eyes ---- */
struct storage_in {
    uint32_t client, attempt;
    uint64_t token;
};
struct storage_res {
    char     name[NS_LOCK_NAME_MAX + 1];
    uint64_t max_token;
    uint32_t max_client, max_attempt;
    GArray  *inside;             /* struct storage_in */
};

/* ---- lock_sender.c: the server a datagram came from, cached ---- */
#define LOCK_SENDER_BITS 6       /* 64 slots: a few per server */
struct lock_sender {
    uint32_t addr;               /* a source address asked about */
    int8_t   server;             /* its first server (-1: none) */
    bool     known;              /* the slot holds an answer */
};

/* ---- the cluster ---- */
struct ns_lock_cluster {
    ns_sim     *sim;
    char       *name;            /* unique in the sim (owned; o.name points here) */
    struct ns_lock_cluster_opts o;
    unsigned    n;
    struct lock_server srv[NS_LOCK_MAX_SERVERS];
    ns_host    *storage;
    ns_udp     *ssock;
    GPtrArray  *sres;            /* struct storage_res* (owned) */
    struct lock_names sres_by_name; /* name -> struct storage_res* */
    uint64_t    rejected;
    GPtrArray  *clients;         /* ns_lock_client*, creation order (owned) */
    GArray     *violations;      /* struct ns_lock_violation */
    GPtrArray  *deadlock_sets;   /* char* keys of sets already reported */
    uint64_t    acquisitions;    /* critical sections, all clients */
    ns_lock_token_fn on_token;   /* observer of fixed tokens, or NULL */
    void       *on_token_ud;
    ns_table   *acq_table;       /* one row per acquisition, or NULL */
    ns_table   *holds_table;     /* one row per holder change, or NULL */
    ns_time_t   first_deadlock;
    char       *deadlock_txt;    /* the wait-for graph when first_deadlock was */
    char       *deadlock_dot;    /*   seen, as text, DOT and Mermaid (owned; */
    char       *deadlock_mmd;    /*   NULL while no deadlock formed) */
    uint64_t    victims;         /* victims detectors chose (lock_detect.c) */
    uint64_t    phantoms;        /* ... of them on no cycle at that moment */
    unsigned    dedicated;       /* dedicated detectors working for it */
    struct lock_sender senders[1 << LOCK_SENDER_BITS];  /* lock_sender.c */
};

/* ---- clients ---- */
enum srv_status { SS_NONE, SS_SENT, SS_QUEUED, SS_GRANTED, SS_DENIED, SS_CANCELLED };

struct lock_client_res {
    char     name[NS_LOCK_NAME_MAX + 1];
    uint8_t  st[NS_LOCK_MAX_SERVERS];      /* enum srv_status, this attempt */
    bool     committed[NS_LOCK_MAX_SERVERS];
    bool     acquired;                     /* quorum reached */
    bool     begun, ended;                 /* storage acknowledged */
    uint64_t max_reg, max_grants, token; /* max_grants: highest grant counter */
};

struct pending_release {
    unsigned s, r;
    uint32_t attempt;
    unsigned tries;
};

struct ns__lock_strategy;

struct ns_lock_client {
    ns_lock_cluster *cl;
    ns_host   *host;
    ns_udp    *sock;
    uint32_t   id;               /* the host id */
    const struct ns__lock_strategy *ops;
    struct ns_lock_client_opts o;
    unsigned   nres;
    struct lock_client_res *res; /* in locking order (this transaction's) */
    char     **pool;             /* pick > 0: the names to draw from (owned) */
    unsigned   npool;
    unsigned   cur;              /* resource being acquired */
    enum ns_lock_state state;
    uint32_t   attempt;
    uint64_t   txn_retries;      /* aborted attempts of this transaction */
    unsigned   done_tx;
    ns_time_t  attempt_start;
    unsigned   backoff_exp;
    ns_event_id timer;           /* strategy timer */
    ns_event_id step;            /* start/hold/backoff/think */
    ns_event_id rto_ev, renew_ev;
    bool       deferred_step, deferred_timer; /* fired while paused */
    unsigned   deferred;         /* D_RTO | D_RENEW bits (lock_client.c) */
    bool       fenced_attempt;   /* the storage rejected a write of it */
    unsigned   commit_rto;       /* RTOs since the current COMMITs left */
    GArray    *releases;         /* struct pending_release */
    ns_rng    *rng;
    struct ns_lock_client_stats st;
};

/* ---- strategies ----
 * The core sends, retransmits, counts grants and moves on when a quorum
 * is reached; a strategy decides which servers to ask, whether to queue,
 * and when to give up.  Hooks run after the core recorded the reply. */
struct ns__lock_strategy {
    const char *name;
    bool  queue;                 /* requests wait in the servers' queues */
    bool  sorted;                /* resources in one global order (by name) */
    bool  aborts;                /* may give up: never part of a deadlock */
    uint8_t age_rule;            /* 0, LF_DIE or LF_WOUND: sent with LF_WAIT */
    void (*start)(ns_lock_client *c);                 /* required */
    void (*on_grant)(ns_lock_client *c, unsigned s);  /* optional */
    void (*on_deny)(ns_lock_client *c, unsigned s);   /* optional */
    void (*on_timer)(ns_lock_client *c);              /* optional */
};
extern const struct ns__lock_strategy ns__lock_wait;
extern const struct ns__lock_strategy ns__lock_release_all;
extern const struct ns__lock_strategy ns__lock_ordered;
extern const struct ns__lock_strategy ns__lock_wait_die;
extern const struct ns__lock_strategy ns__lock_wound_wait;
extern const struct ns__lock_strategy ns__lock_detect;
const struct ns__lock_strategy *ns__lock_strategy_find(const char *name);

/* What strategies may call. */
void ns__lock_client_request(ns_lock_client *c, unsigned s);
void ns__lock_client_abort(ns_lock_client *c, const char *why);
void ns__lock_client_set_timer(ns_lock_client *c, ns_time_t delay);
bool ns__lock_client_quorum_reachable(const ns_lock_client *c);
/* Whether a is older than b: smaller timestamp, then smaller client id. */
static inline bool ns__lock_older(ns_time_t ats, uint32_t aid, ns_time_t bts, uint32_t bid)
{
    return ats < bts || (ats == bts && aid < bid);
}

/* The client of cl on host h (a host runs at most one), or NULL. */
ns_lock_client *ns__lock_client_on(const ns_lock_cluster *cl, const ns_host *h);
/* lock.c: what h is in cl ("lock server", "storage server", "lock
 * client", "lock detector host") or NULL; and an error naming h and the
 * cluster when h already has a role in a cluster other than cl (cl NULL:
 * in any cluster). */
const char *ns__lock_host_role(const ns_lock_cluster *cl, const ns_host *h);
bool ns__lock_check_host_free(const ns_lock_cluster *cl, ns_sim *sim, const ns_host *h,
                              GError **error);

/* Server, storage, client internals the cluster drives. */
bool ns__lock_server_init(struct lock_server *s, GError **error);
void ns__lock_server_fini(struct lock_server *s);
void ns__lock_server_fault(struct lock_server *s, enum ns_host_fault f);
struct lock_res *ns__lock_server_find(const struct lock_server *s, const char *name);
bool ns__lock_storage_init(ns_lock_cluster *cl, GError **error);
void ns__lock_storage_fini(ns_lock_cluster *cl);
void ns__lock_storage_fault(ns_lock_cluster *cl, enum ns_host_fault f);
void ns__lock_client_free(ns_lock_client *c);
/* lock_reach.c: an error naming the servers (and storage) that no link,
 * LAN or router connects `client` to. */
bool ns__lock_check_paths(const ns_lock_cluster *cl, ns_host *client, GError **error);
/* ... the servers that no path connects dedicated detector host h to. */
bool ns__lock_check_detector_paths(const ns_lock_cluster *cl, ns_host *h, GError **error);
void ns__lock_client_fault(ns_lock_client *c, enum ns_host_fault f);
/* The oracle: looks for a new deadlock after a client was queued. */
void ns__lock_check_deadlock(ns_lock_cluster *cl);
/* What a detector's choice of victim (client id's attempt) is, judged by
 * the servers' true tables now: DEADLOCKED, it is blocked on a wait-for
 * cycle among blocked clients, as the collected graph claimed; PHANTOM, it
 * is in phase one of that attempt but on no cycle (the cycle dissolved
 * while the graph was collected): a VICTIM aborts it for nothing; MOOT, it
 * has left that attempt's phase one (aborted by another detector, or
 * holding everything): a VICTIM is ignored. */
enum ns__lock_truth { NS__LOCK_DEADLOCKED, NS__LOCK_PHANTOM, NS__LOCK_MOOT };
enum ns__lock_truth ns__lock_victim_truth(ns_lock_cluster *cl, uint32_t id, uint32_t attempt);

/* lock_detector.c: c's own detector (made at its first round; NULL if its
 * host has no port left), a round unless one is collecting, and the host
 * name of a client or dedicated detector by id ("?" if neither). */
ns_lock_detector *ns__lock_detector_of(ns_lock_client *c);
/* The cluster h's detector (dedicated or a detect client's) works for, or
 * NULL when h runs none. */
const ns_lock_cluster *ns__lock_detector_cluster(const ns_host *h);
void ns__lock_detector_round(ns_lock_detector *d);
/* A client of cl started waiting: dedicated detectors whose next round
 * was weak (nobody waited) make it keep the run alive again. */
void ns__lock_detectors_wake(ns_lock_cluster *cl);
/* False (and an error) when h runs a dedicated detector: no client there. */
bool ns__lock_detector_host_free(ns_host *h, GError **error);
const char *ns__lock_peer_name(const ns_lock_cluster *cl, uint32_t id);
ns_lock_client *ns__lock_client_by_id(const ns_lock_cluster *cl, uint32_t id);
const char *ns__lock_client_name(const ns_lock_cluster *cl, uint32_t id);

#define LOCK_TRACE(sim, kind, node, ...)                        \
    do {                                                        \
        if (ns_trace_on((sim), (kind), (node)))                 \
            ns_trace_event((sim), (kind), (node), __VA_ARGS__); \
    } while (0)

/* lock_cycle.c: the wait-for cycle to name through node `start` of a
 * graph of n nodes (adj[a * n + b]: a waits for b): through every member
 * of start's component if it has at most NS__LOCK_CYCLE_FULL and such a
 * cycle exists, else the shortest.  Writes its nodes from start into path
 * (n slots) and returns their number; 0 when start is on no cycle. */
#define NS__LOCK_CYCLE_FULL 8
guint ns__lock_cycle_through(const bool *adj, guint n, guint start, guint *path);

/* lock_sender.c: the first of cl's servers (in cluster order) whose host
 * has address src, as ns_host_has_addr tells, or -1; and the per-sim
 * address observer that keeps the answers true (registered once). */
int  ns__lock_server_of(ns_lock_cluster *cl, uint32_t src);
void ns__lock_senders_watch(ns_sim *sim);

/* lock_holds.c: r's holder on s changed (r->held tells to whom). */
void ns__lock_holds_changed(struct lock_server *s, const struct lock_res *r, const char *cause);

#endif
