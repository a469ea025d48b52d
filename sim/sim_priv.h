/* sim_priv.h — the layout of ns_sim, shared by the engine files in sim/
 * only.  Models see the context through include/netsim/ alone. */
#ifndef NETSIM_SIM_PRIV_H
#define NETSIM_SIM_PRIV_H

#include "netsim/sim.h"
#include "netsim/event.h"
#include "pq.h"
#include "netsim/pool.h"

/* One slab cell per event.  While the event is pending, fn != NULL; a
 * cancelled event keeps its cell (fn == NULL) until its heap entry is popped
 * or purged, so a slot is never reused while an entry still names it. */
struct ns_event_cell {
    ns_event_fn fn;         /* NULL: cancelled (or free) */
    void       *arg;
    uint32_t    gen;        /* bumped whenever the cell is freed */
    uint32_t    link;       /* in use: flags; free: next free slot + 1 */
};

struct ns_attachment {
    char           *key;
    void           *obj;
    GDestroyNotify  destroy;
};

struct ns_trace;
struct ns_outputs;

struct ns_sim {
    ns_time_t              now;            /* advanced only by sched.c */
    uint64_t               seed;           /* streams derive from it */
    /* scheduler */
    const struct ns_pq_ops *pq_ops;
    void                  *pq;             /* entries (at, seq|slot) */
    struct ns_event_cell  *cells;          /* the event slab */
    uint32_t               ncells;         /* cells allocated */
    uint32_t               free_head;      /* first free cell + 1; 0 none */
    uint64_t               next_seq;       /* insertion counter: tie-break */
    size_t                 live_strong;    /* pending, not cancelled, strong */
    size_t                 live_all;       /* pending, not cancelled */
    size_t                 cancelled;      /* cancelled cells still queued */
    uint64_t               events_run;     /* callbacks fired */
    bool                   running;
    bool                   stop_requested;
    /* polling */
    ns_poll_fn             poll_fn;
    void                  *poll_ud;
    uint64_t               poll_every;
    volatile int          *interrupt;      /* owned by the caller */
    /* pools */
    struct ns_pool         pkt_pool;       /* packets; set up by pkt.c */
    struct ns_pool         payload_pool;   /* small payload blocks; pkt.c */
    uint64_t               next_uid;       /* last unique id handed out */
    /* components */
    struct ns_trace       *trace;          /* NULL until first used */
    struct ns_outputs     *outputs;        /* NULL until first used */
    GHashTable            *rngs;           /* name -> ns_rng*, owned */
    GPtrArray             *attachments;    /* struct ns_attachment*, owned */
};

/* Scheduler internals used by sim.c. */
void ns__sched_init(ns_sim *sim);
void ns__sched_free(ns_sim *sim);
/* Output internals (output.c): aborts uncommitted files, frees state. */
void ns__output_free(ns_sim *sim);

#endif
