/* lock_wait_die.c — the `wait_die` strategy: timestamp-based deadlock
 * prevention (Rosenkrantz, Stearns and Lewis 1978).  A transaction's
 * timestamp is its first attempt's start (ties: the lower client id is
 * older) and a retry keeps it.  Ask every server at once; a server queues
 * a request only if it is older than the holder and every waiter there,
 * and denies ("kills") a younger one.  When the denials leave too few
 * servers for a quorum the transaction dies: it releases everything and
 * retries after the backoff, as old as before, so it eventually becomes
 * the oldest and can no longer be killed (no starvation).
 *
 * Every wait-for edge points from an older to a younger transaction, so
 * no cycle can form: no deadlock, at the price of restarts of the young. */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
}

static void on_deny(ns_lock_client *c, unsigned s)
{
    (void)s;
    if (!ns__lock_client_quorum_reachable(c))
        ns__lock_client_abort(c, "died");
}

const struct ns__lock_strategy ns__lock_wait_die = {
    .name = "wait_die",
    .queue = true,
    .age_rule = LF_DIE,
    .start = start,
    .on_deny = on_deny,
};
