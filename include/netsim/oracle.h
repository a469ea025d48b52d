/* oracle.h — verdicts of a model's correctness oracle.
 *
 * A model that checks a property as the simulation runs (the lock model's
 * safety oracle: never two clients inside one resource) reports each
 * breach here.  A run whose simulation saw a violation it was not told to
 * expect fails like a failed netsim.assert, when sim:run returns, with the
 * first violation as the message: so `netsim explore` finds the first
 * seed that breaks safety without the scenario asserting anything.  A
 * what-if that shows a violation on purpose says so with
 * netsim.new{violations = "allow"} (ns_oracle_allow).
 */
#ifndef NETSIM_ORACLE_H
#define NETSIM_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "netsim/sim.h"

/* Records a violation of `oracle`'s property ("lock safety"): the message
 * is "ORACLE violated: TEXT". */
void ns_oracle_violation(ns_sim *sim, const char *oracle, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Violations recorded so far. */
uint64_t ns_oracle_violations(const ns_sim *sim);
/* The first violation's message, or NULL. */
const char *ns_oracle_first(const ns_sim *sim);
/* Violations are expected (a what-if), not a failure. */
void ns_oracle_allow(ns_sim *sim, bool allow);
/* Whether the run must fail: a violation that was not allowed. */
bool ns_oracle_failed(const ns_sim *sim);

#endif
