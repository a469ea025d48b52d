/* lock_release_all.c — the `release_all` strategy: ask every server
 * without queueing; when the quorum becomes unreachable (too many
 * denials) or is not reached within `timeout`, release everything the
 * attempt holds and retry after a randomized exponential backoff (full
 * jitter: uniform in [0, min(backoff_max, backoff * 2^k)] after the k-th
 * abort in a row).  No hold and wait, so no deadlock; clients may keep
 * colliding (livelock), which `retries` measures. */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
    ns__lock_client_set_timer(c, c->o.timeout);
}

static void on_deny(ns_lock_client *c, unsigned s)
{
    (void)s;
    if (!ns__lock_client_quorum_reachable(c))
        ns__lock_client_abort(c, "denied");
}

static void on_timer(ns_lock_client *c)
{
    ns__lock_client_abort(c, "timeout");
}

const struct ns__lock_strategy ns__lock_release_all = {
    .name = "release_all",
    .queue = false,
    .aborts = true,
    .start = start,
    .on_deny = on_deny,
    .on_timer = on_timer,
};
