/* lock_detect.c — the `detect` strategy: hold and wait, as `wait`, plus
 * deadlock detection.  A client that has waited `timeout` for the current
 * resource (and again every `timeout` while it still waits) gathers the
 * wait-for graph from the servers' lock tables, looks for a cycle, and
 * sends the cycle's youngest member (latest timestamp; ties: the higher
 * client id) a VICTIM message.  The victim, if still in phase one,
 * aborts, releases everything and retries after the backoff, keeping its
 * timestamp so that it is not chosen forever.
 *
 * Deadlocks do form (the oracle counts them) and live for about one
 * `timeout`; what this strategy promises is that none lasts.
 *
 * Simplification: the graph is read from the tables at the moment of
 * detection, as if the collection round to every server took no time; only
 * the victim's notice travels over the network.  A real detector sees a
 * slightly stale graph and may abort a victim of a cycle that has already
 * gone (a phantom deadlock). */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
    ns__lock_client_set_timer(c, c->o.timeout);
}

static void on_timer(ns_lock_client *c)
{
    ns_lock_client *victim = ns__lock_cycle_youngest(c->cl);
    if (victim == c) {
        ns__lock_client_abort(c, "deadlock victim");
        return;
    }
    if (victim)
        ns__lock_client_send_victim(c, victim);
    ns__lock_client_set_timer(c, c->o.timeout);
}

const struct ns__lock_strategy ns__lock_detect = {
    .name = "detect",
    .queue = true,
    .start = start,
    .on_timer = on_timer,
};
