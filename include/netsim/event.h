/* event.h — scheduling callbacks at points of simulated time.
 *
 * Events fire in (time, insertion sequence) order: two events at the same
 * time fire in the order they were scheduled, always.  A handle (ns_event_id)
 * stays safe after its event ran or was cancelled: cancelling it then is a
 * no-op that returns false, because the slot's generation has moved on.
 *
 * Weak events (NS_EVENT_WEAK: periodic samplers, progress) never keep a run
 * alive: when only weak events are left, ns_sim_run returns NS_STOP_EMPTY.
 */
#ifndef NETSIM_EVENT_H
#define NETSIM_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"

typedef void (*ns_event_fn)(ns_sim *sim, void *arg);

/* A handle: slot index in the event slab plus the slot's generation.
 * The zero handle is "no event". */
typedef struct {
    uint32_t slot;        /* slab index + 1; 0 = none */
    uint32_t gen;         /* generation of the slot when scheduled */
} ns_event_id;

#define NS_EVENT_NONE ((ns_event_id){ 0, 0 })

enum ns_event_flags {
    NS_EVENT_STRONG = 0,
    NS_EVENT_WEAK   = 1 << 0,     /* does not keep the run alive */
};

/* Schedules fn(sim, arg) at absolute time `at`.  `at` before now is an error:
 * NS_EVENT_NONE is returned and `error` set (NS_ERROR_INVALID). */
ns_event_id ns_event_at(ns_sim *sim, ns_time_t at, ns_event_fn fn, void *arg,
                        unsigned flags, GError **error);

/* Schedules fn at now + delay; delay must be >= 0.  The hot-path form: on a
 * negative delay it is a programming error (g_return_val_if_fail). */
ns_event_id ns_event_after(ns_sim *sim, ns_time_t delay, ns_event_fn fn, void *arg);
ns_event_id ns_event_after_weak(ns_sim *sim, ns_time_t delay, ns_event_fn fn, void *arg);

/* Cancels a pending event.  Returns true if it was pending; false for the
 * zero handle, an event that already ran, or one already cancelled. */
bool ns_event_cancel(ns_sim *sim, ns_event_id id);
bool ns_event_is_pending(const ns_sim *sim, ns_event_id id);
/* Time of a pending event; NS_TIME_MAX when it is not pending. */
ns_time_t ns_event_time(const ns_sim *sim, ns_event_id id);

/* Pending events: strong ones keep a run going; all includes weak ones. */
size_t ns_event_pending_strong(const ns_sim *sim);
size_t ns_event_pending_all(const ns_sim *sim);

#endif
