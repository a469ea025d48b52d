/* lock_detect.c — the `detect` strategy: hold and wait, as `wait`, plus
 * deadlock detection by the client itself.  A client that has waited
 * `timeout` for its current resource, and again every `timeout` while it
 * still waits (periodic detection for as long as a wait lasts), has its
 * detector (lock_detector.c: a UDP port of its own on the client's host)
 * run a round: collect the wait-for graph from every server over the
 * network (WFGQ, then WFG and WFGEND answers), judge it when all answered
 * or after `collect_timeout`, and abort the `victim` (youngest by default)
 * among the blocked clients on a cycle, itself included.  The graph is a
 * round trip old when judged, so an abort comes at least one round trip
 * after the threshold, and a cycle that already dissolved can still be
 * "broken": a phantom deadlock, traced and counted.  A round whose client
 * stopped waiting before it was judged is dropped: the client's own
 * progress says the graph is out of date.
 *
 * Why the detector runs in each waiting client rather than on a dedicated
 * host (which ns_lock_detector_new also offers): the client is the one
 * that knows its wait is long (the threshold is local), it needs no extra
 * always-up coordinator (a single detector host would be the single point
 * of failure majority locking set out to avoid), and the detectors of one
 * deadlock agree on the victim because the policy is a deterministic
 * function of nearly the same graph.  The cost: one query and one answer
 * per server per waiting client per round, and duplicate VICTIM notices
 * (ignored once the victim has aborted that attempt).
 *
 * Deadlocks do form (the oracle counts them) and live for about
 * `timeout` plus a round trip; what this strategy promises is that none
 * lasts. */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
    ns__lock_client_set_timer(c, c->o.timeout);
}

/* The wait passed the threshold (again): a round, unless one is still
 * collecting (a collect_timeout longer than timeout). */
static void on_timer(ns_lock_client *c)
{
    ns_lock_detector *d = ns__lock_detector_of(c);
    if (d)
        ns__lock_detector_round(d);
    ns__lock_client_set_timer(c, c->o.timeout);
}

const struct ns__lock_strategy ns__lock_detect = {
    .name = "detect",
    .queue = true,
    .start = start,
    .on_timer = on_timer,
};
