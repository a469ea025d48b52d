/* lock.h — distributed locking: lock servers, lock clients racing for a
 * quorum of them, leases, fencing tokens, a storage server that checks
 * them, and the oracle that judges safety and liveness.
 *
 * Messages are real bytes over UDP (lock servers on NS_LOCK_PORT, the
 * storage server on NS_LOCK_STORAGE_PORT), so delay, loss, partitions and
 * crashes of the network layer apply to them.
 *
 * A cluster is n lock servers plus one storage server.  Each lock server
 * keeps, per resource, the holder, a FIFO of waiters, a lease expiry and
 * two counters: a per-server grant counter (the "naive" token) and a token
 * register written by holders (the "quorum" token).  A client runs
 * transactions: each attempt acquires its resources one after the other
 * (each on a quorum of servers), enters the critical section (a BEGIN
 * write to the storage server), works for `hold`, leaves (an END write)
 * and releases everything: strict two-phase locking, and a retry is a new
 * attempt.  How a resource is acquired is a strategy chosen by name
 * ("wait", "release_all", "ordered", "wait_die", "wound_wait", "detect").
 *
 * Invariant (the oracle's): the storage server never sees two clients
 * inside the critical section of one resource; every breach is recorded
 * with its time, the two clients and the seed.
 */
#ifndef NETSIM_LOCK_H
#define NETSIM_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/host.h"

#define NS_LOCK_PORT         7000
#define NS_LOCK_STORAGE_PORT 7001
#define NS_LOCK_MAX_SERVERS  32
#define NS_LOCK_NAME_MAX     31      /* bytes of a resource name */

typedef struct ns_lock_cluster ns_lock_cluster;
typedef struct ns_lock_client  ns_lock_client;

/* How a client turns grants into the token it shows the storage server. */
#define NS_LOCK_FENCINGS(X)                                                \
    X(NS_LOCK_FENCE_NONE,   "none")    /* token 0: nothing to check */      \
    X(NS_LOCK_FENCE_NAIVE,  "naive")   /* highest counter of the quorum */  \
    X(NS_LOCK_FENCE_QUORUM, "quorum")  /* read max register, write max+1 */
#define NS_X_ENUM(name, str) name,
enum ns_lock_fencing { NS_LOCK_FENCINGS(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_lock_fencing_name(enum ns_lock_fencing f);
bool ns_lock_fencing_parse(const char *s, enum ns_lock_fencing *out, GError **error);

/* The name of a cluster whose options give none. */
#define NS_LOCK_DEFAULT_CLUSTER "locks"

struct ns_lock_cluster_opts {
    const char *name;            /* unique in the sim; NULL: "locks" (copied) */
    unsigned  quorum;            /* grants needed per resource; 0 = majority */
    ns_time_t ttl;               /* lease of a grant; 0 = no leases */
    enum ns_lock_fencing fencing;/* default quorum */
    bool      storage_fencing;   /* storage rejects stale tokens (default true) */
    bool      persist;           /* servers keep their table across a crash */
    bool      registers_lost;    /* what-if: a crash that loses the table
                                    loses the token registers and grant
                                    counters too (default: they are in
                                    stable storage and survive it); needs
                                    persist false */
    ns_time_t service;           /* CPU time per request on a server (0: none) */
    uint64_t  stop_after;        /* ns_sim_stop once this many critical
                                    sections completed in all (0: never) */
};
void ns_lock_cluster_opts_defaults(struct ns_lock_cluster_opts *o);

/* A cluster over existing hosts: servers[0..n) run lock servers, storage
 * runs the storage server.  A sim may hold several clusters, each
 * independent (its own servers, storage, clients, oracle and outputs).
 * Errors: n outside 1..NS_LOCK_MAX_SERVERS, a quorum above n, a negative
 * ttl, a name another cluster of the sim has, a host that is already a
 * server, storage or client of another cluster (every cluster listens on
 * the same ports), a port already bound.  The sim owns it. */
ns_lock_cluster *ns_lock_cluster_new(ns_sim *sim, ns_host *const *servers, unsigned n,
                                     ns_host *storage,
                                     const struct ns_lock_cluster_opts *o, GError **error);
/* The sim's clusters, in creation order; by name (NULL if none). */
size_t           ns_lock_n_clusters(const ns_sim *sim);
ns_lock_cluster *ns_lock_cluster_nth(const ns_sim *sim, size_t i);
ns_lock_cluster *ns_lock_cluster_find(const ns_sim *sim, const char *name);
const char      *ns_lock_cluster_name(const ns_lock_cluster *cl);
unsigned  ns_lock_cluster_n_servers(const ns_lock_cluster *cl);
unsigned  ns_lock_cluster_quorum(const ns_lock_cluster *cl);
ns_host  *ns_lock_cluster_server(const ns_lock_cluster *cl, unsigned i);
ns_host  *ns_lock_cluster_storage(const ns_lock_cluster *cl);
size_t    ns_lock_cluster_n_clients(const ns_lock_cluster *cl);
/* Writes one row per acquisition (all resources of a transaction held)
 * to the table `name` (<name>.tsv): time, client, strategy, wait_s (from
 * the transaction's first attempt) and retries (its aborted attempts).
 * Errors: the table exists with other columns. */
bool ns_lock_cluster_log_acquisitions(ns_lock_cluster *cl, const char *name, GError **error);
/* Table `name` (NAME.tsv): one row per change of a lock's holder on a
 * server (time, server, resource, holder or "" when free, cause: grant,
 * release, expire, crash, or end for locks still held when the run
 * ends): the input of plots/lock_gantt.gp. */
bool ns_lock_cluster_log_holds(ns_lock_cluster *cl, const char *name, GError **error);
/* Critical sections completed by all clients so far. */
uint64_t  ns_lock_cluster_acquisitions(const ns_lock_cluster *cl);
ns_lock_client *ns_lock_cluster_client(const ns_lock_cluster *cl, size_t i);

/* ---- strategies ---- */
/* Registered names, NULL-terminated, in registration order. */
const char *const *ns_lock_strategy_names(void);
bool ns_lock_strategy_exists(const char *name);

/* ---- clients ---- */
/* Whom a `detect` client's deadlock detector aborts among the clients on
 * a wait-for cycle (ties: the younger, then the higher host id). */
#define NS_LOCK_VICTIMS(X)                                                  \
    X(NS_LOCK_VICTIM_YOUNGEST, "youngest") /* latest timestamp: least waited */ \
    X(NS_LOCK_VICTIM_OLDEST,   "oldest")   /* earliest: starvation-prone */     \
    X(NS_LOCK_VICTIM_FEWEST,   "fewest_locks") /* fewest grants: least work lost */
#define NS_X_ENUM(name, str) name,
enum ns_lock_victim { NS_LOCK_VICTIMS(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_lock_victim_name(enum ns_lock_victim v);
/* Errors: an unknown name (the message lists the known ones). */
bool ns_lock_victim_parse(const char *s, enum ns_lock_victim *out, GError **error);

struct ns_lock_client_opts {
    const char *strategy;        /* "wait" (default), "release_all", "ordered",
                                    "wait_die", "wound_wait", "detect" */
    const char *const *resources;/* NULL-terminated, in the order to lock */
    ns_time_t start;             /* first attempt */
    ns_time_t hold;              /* work inside the critical section */
    ns_time_t think;             /* between transactions */
    unsigned  transactions;      /* to complete (default 1) */
    ns_time_t rto;               /* retransmission of unanswered messages */
    ns_time_t timeout;           /* release_all: quorum timeout per resource;
                                    detect: wait before (and between)
                                    detection rounds */
    ns_time_t backoff;           /* release_all: first backoff bound */
    ns_time_t backoff_max;       /* ... doubling up to this */
    unsigned  first_server;      /* wait, release_all: ask servers from this
                                    index on, rotating (staging races) */
    unsigned  crash_after_grants;/* crash as the k-th GRANT arrives (0: never) */
    unsigned  pick;              /* 0: every transaction locks all resources;
                                    k: each locks k distinct ones drawn from
                                    the list (a retry keeps them) */
    double    zipf_s;            /* pick: Zipf exponent over the list's order,
                                    the first most popular (0: uniform) */
    bool      think_exp;         /* think is exponential with mean `think` */
    enum ns_lock_victim victim;  /* detect: whom to abort (default youngest) */
    ns_time_t collect_timeout;   /* detect: how long a detection round waits
                                    for the servers' answers before judging
                                    with those it has (<= 0: 20 ms) */
};
void ns_lock_client_opts_defaults(struct ns_lock_client_opts *o);

/* A client on h (which must reach the cluster).  Errors: an unknown
 * strategy (the message lists the known ones), no resources, a resource
 * name too long, h already a client. */
ns_lock_client *ns_lock_client_new(ns_lock_cluster *cl, ns_host *h,
                                   const struct ns_lock_client_opts *o, GError **error);
ns_host    *ns_lock_client_host(const ns_lock_client *c);

#define NS_LOCK_STATES(X)                                                  \
    X(NS_LOCK_IDLE,       "idle")       /* before start, or thinking */     \
    X(NS_LOCK_ACQUIRING,  "acquiring")  /* phase one */                     \
    X(NS_LOCK_COMMITTING, "committing") /* writing its quorum token */      \
    X(NS_LOCK_ENTERING,   "entering")   /* BEGIN writes sent */             \
    X(NS_LOCK_WORKING,    "working")    /* inside the critical section */   \
    X(NS_LOCK_LEAVING,    "leaving")    /* END writes sent */               \
    X(NS_LOCK_BACKOFF,    "backoff")    /* aborted, waiting to retry */     \
    X(NS_LOCK_DONE,       "done")       /* every transaction completed */   \
    X(NS_LOCK_CRASHED,    "crashed")
#define NS_X_ENUM(name, str) name,
enum ns_lock_state { NS_LOCK_STATES(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_lock_state_name(enum ns_lock_state s);
enum ns_lock_state ns_lock_client_state(const ns_lock_client *c);
/* Ends the critical section now instead of after `hold` (END writes, then
 * the releases).  Errors: the client is not inside one (it holds no
 * lock). */
bool ns_lock_client_release(ns_lock_client *c, GError **error);

struct ns_lock_client_stats {
    uint64_t  acquisitions;      /* critical sections completed */
    uint64_t  attempts;          /* attempts started */
    uint64_t  retries;           /* attempts aborted (and retried) */
    uint64_t  grants;            /* GRANT messages accepted */
    uint64_t  fenced;            /* writes the storage server rejected */
    ns_time_t longest_wait;      /* longest completed wait: a transaction's
                                    first attempt start -> all acquired
                                    (ns_lock_client_longest_wait adds the
                                    current one) */
    ns_time_t total_wait;        /* sum over acquisitions */
    ns_time_t wait_since;        /* start of the current wait, -1 if none */
    uint64_t  last_token;        /* token of the last critical section */
    ns_time_t timestamp;         /* the current transaction's age: its first
                                    attempt's start, kept by retries (-1: none) */
    ns_time_t done_at;           /* when the last transaction finished (its
                                    END writes acknowledged, releases sent):
                                    the state became done; -1 until then */
};
const struct ns_lock_client_stats *ns_lock_client_stats(const ns_lock_client *c);
/* The longest wait so far, counting a wait still going on now (from its
 * transaction's first attempt): a client blocked when the run ends has
 * waited all that time, not zero.  A crashed client waits for nothing. */
ns_time_t ns_lock_client_longest_wait(const ns_lock_client *c);

/* ---- the oracle ---- */
struct ns_lock_violation {
    ns_time_t   at;
    char        resource[NS_LOCK_NAME_MAX + 1];
    const char *inside;          /* client already inside (host name) */
    const char *entering;        /* client that entered too */
    uint64_t    seed;
};
size_t ns_lock_n_violations(const ns_lock_cluster *cl);
const struct ns_lock_violation *ns_lock_violation_nth(const ns_lock_cluster *cl, size_t i);
/* "t=0.012000000 R1: b entered while a was inside (seed 7)"; g_free it. */
char *ns_lock_violation_format(const struct ns_lock_violation *v);

/* Stale writes the storage server rejected (all clients). */
uint64_t ns_lock_storage_rejected(const ns_lock_cluster *cl);
/* The newest token the storage server accepted for `resource` (0: none). */
uint64_t ns_lock_storage_token(const ns_lock_cluster *cl, const char *resource);

/* Deadlocks: hold-and-wait clients that can never proceed, counted when
 * the oracle first sees them.  A cycle deadlock is identified by its
 * cycle's members with their attempts: while a cycle stands it is one
 * deadlock, whoever queues behind it or retries around it (its component
 * may grow or shrink); a cycle formed after an abort (the victim's retry
 * is a new attempt) is a new one.  A chain ending at a crashed holder
 * without lease is identified by that holder.  Each is traced once as
 * lock.deadlock. */
size_t      ns_lock_n_deadlocks(const ns_lock_cluster *cl);
ns_time_t   ns_lock_first_deadlock_at(const ns_lock_cluster *cl);   /* -1: none */
/* The wait-for graph now, as text: one line per client still waiting,
 * "a waits for b (R2 on ls2 ls3)", then who can never proceed, split by
 * why: "deadlocked: a, c, d (cycle); blocked behind them: b" (members of
 * deadlock cycles, then clients stuck behind them) or, without a cycle,
 * "blocked behind crashed a: b, c"; then "cycle: a -> c -> a", one cycle
 * per deadlock (a strongly connected set of blocked clients).  "" when
 * nobody waits.  g_free it. */
char *ns_lock_waiting_report(ns_lock_cluster *cl);
/* Clients still waiting now (acquiring), and the number of them that can
 * never proceed (deadlocked or behind a crashed holder). */
size_t ns_lock_n_waiting(ns_lock_cluster *cl);
size_t ns_lock_n_blocked(ns_lock_cluster *cl);
/* The same graph in Graphviz DOT and Mermaid: edges on a deadlock cycle
 * red (an edge from a client merely blocked behind a cycle or a crashed
 * holder is not), crashed holders' nodes greyed, dashed and labelled
 * "(crashed)". */
char *ns_lock_waitfor_dot(ns_lock_cluster *cl);
char *ns_lock_waitfor_mermaid(ns_lock_cluster *cl);
/* The graph as it was at the first deadlock (ns_lock_first_deadlock_at),
 * in the same three forms, or NULL when none formed.  g_free them. */
char *ns_lock_deadlock_report(const ns_lock_cluster *cl);
char *ns_lock_deadlock_dot(const ns_lock_cluster *cl);
char *ns_lock_deadlock_mermaid(const ns_lock_cluster *cl);

/* Every time a client's token for a resource is fixed (quorum fencing:
 * its max + 1 committed on a quorum; naive and none: the quorum of grants
 * reached), fn gets the client (host name), the resource, the token, when
 * the attempt started and when the token was fixed: what the token-order
 * property tests judge.  One observer per cluster; NULL removes it. */
struct ns_lock_token_fixed {
    const char *client;
    const char *resource;
    uint32_t    attempt;
    uint64_t    token;
    ns_time_t   attempt_start;   /* before any of the attempt's requests */
    ns_time_t   at;              /* now */
};
typedef void (*ns_lock_token_fn)(const struct ns_lock_token_fixed *t, void *ud);
void ns_lock_cluster_on_token(ns_lock_cluster *cl, ns_lock_token_fn fn, void *ud);

/* ---- a dedicated deadlock detector ---- */
typedef struct ns_lock_detector ns_lock_detector;
struct ns_lock_detector_opts {
    ns_time_t period;            /* between rounds, the first after one
                                    period (default 100 ms) */
    enum ns_lock_victim victim;  /* default youngest */
    ns_time_t collect_timeout;   /* as the client option (default 20 ms) */
};
void ns_lock_detector_opts_defaults(struct ns_lock_detector_opts *o);
/* A deadlock detector on host h (which must reach the cluster), running a
 * round every period: it collects the wait-for
 * graph from the servers and sends the victim among the blocked clients
 * on a cycle a VICTIM, which any queueing client (wait, detect) obeys in
 * phase one.  A crashed or paused h skips its rounds.  Its ticks keep a
 * run alive only while a client of cl waits (ns_event_after_weak else), so
 * a run without a time limit ends once nobody waits.  Errors: period <=
 * 0, an unknown victim value, no network path from h to a server (as for
 * a client: lock_reach.c), h is a lock client's host (and a client may
 * not be created on h afterwards), h runs a detector already (a `detect`
 * client has its own), no port left.  The host owns it. */
ns_lock_detector *ns_lock_detector_new(ns_lock_cluster *cl, ns_host *h,
                                       const struct ns_lock_detector_opts *o, GError **error);
/* Rounds it started so far. */
uint64_t ns_lock_detector_rounds(const ns_lock_detector *d);

/* Deadlock detection (`detect` clients and dedicated detectors): victims
 * the detectors chose, each (client, attempt) once however often it was
 * picked again (re-sends: lock.victim resend=yes), and the phantom
 * deadlocks among them: victims
 * still in phase one of the attempt named that, when chosen, were on no
 * wait-for cycle of the servers' true tables (the collected graph was
 * stale: the cycle had already dissolved). */
uint64_t ns_lock_n_victims(const ns_lock_cluster *cl);
uint64_t ns_lock_n_phantoms(const ns_lock_cluster *cl);

/* Lock table inspection: holder of `resource` on server i (host name, or
 * NULL), and the resource's token register there. */
const char *ns_lock_server_holder(const ns_lock_cluster *cl, unsigned i, const char *resource);
uint64_t    ns_lock_server_token(const ns_lock_cluster *cl, unsigned i, const char *resource);

#endif
