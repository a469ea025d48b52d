/* sim.h — the simulation context.
 *
 * Every piece of mutable state hangs off one ns_sim, reached through each
 * function's first argument: there are no globals, so several simulations
 * run in one process, on several threads (one sim per thread at a time).
 * A run is a pure function of (scenario, parameters, seed).
 */
#ifndef NETSIM_SIM_H
#define NETSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/time.h"

typedef struct ns_sim ns_sim;

/* The one GError domain of netsim; codes below. */
#define NS_ERROR (ns_error_quark())
GQuark ns_error_quark(void);
enum ns_error_code {
    NS_ERROR_INVALID,      /* an argument or parameter out of range */
    NS_ERROR_NOT_FOUND,    /* unknown name (host, stream, algorithm...) */
    NS_ERROR_EXISTS,       /* a name or port already taken */
    NS_ERROR_IO,           /* a file could not be written or read */
    NS_ERROR_STATE,        /* an operation not allowed in this state */
};

ns_sim     *ns_sim_new(uint64_t seed);
void        ns_sim_free(ns_sim *sim);

ns_time_t   ns_sim_now(const ns_sim *sim);
uint64_t    ns_sim_seed(const ns_sim *sim);
uint64_t    ns_sim_events_run(const ns_sim *sim);   /* callbacks fired so far */

/* Why ns_sim_run returned. */
#define NS_STOP_REASONS(X)                                                   \
    X(NS_STOP_EMPTY,      "empty")       /* no strong event left */          \
    X(NS_STOP_UNTIL,      "until")       /* reached the time limit */        \
    X(NS_STOP_MAX_EVENTS, "max-events")  /* reached the event limit */       \
    X(NS_STOP_REQUESTED,  "stopped")     /* ns_sim_stop from a callback */   \
    X(NS_STOP_INTERRUPT,  "interrupted") /* the interrupt flag was raised */
#define NS_X_ENUM(name, str) name,
enum ns_stop_reason { NS_STOP_REASONS(NS_X_ENUM) };
#undef NS_X_ENUM
const char *ns_stop_reason_name(enum ns_stop_reason r);

/* Runs events in (time, insertion) order until one of: no strong event is
 * left, the next event lies after `until` (then now = until), `max_events`
 * more events have run (0 = no limit), ns_sim_stop() was called, or the
 * interrupt flag was raised.  Returns the reason.  Not reentrant: calling it
 * from inside a callback is a programming error. */
enum ns_stop_reason ns_sim_run(ns_sim *sim, ns_time_t until, uint64_t max_events);

/* Asks the current ns_sim_run to return after the running callback. */
void ns_sim_stop(ns_sim *sim);
bool ns_sim_is_running(const ns_sim *sim);

/* Polling outside the event queue: fn runs every `every` events (a power of
 * two is cheapest) and between runs never.  Used for progress display and for
 * Ctrl-C; it may call ns_sim_stop.  It is not an event, so it changes nothing
 * a trace could see. */
typedef void (*ns_poll_fn)(ns_sim *sim, void *ud);
void ns_sim_set_poll(ns_sim *sim, ns_poll_fn fn, void *ud, uint64_t every);

/* A flag set from a signal handler (owned by the caller); when it reads
 * non-zero the run ends with NS_STOP_INTERRUPT at the next poll point. */
void ns_sim_set_interrupt_flag(ns_sim *sim, volatile int *flag);

/* Objects owned by the sim, destroyed in reverse order of attachment by
 * ns_sim_free: how models hang their state off the context without the
 * engine knowing their types.  `key` names the slot (one object per key). */
void  ns_sim_attach(ns_sim *sim, const char *key, void *obj, GDestroyNotify destroy);
void *ns_sim_attached(const ns_sim *sim, const char *key);

#endif
