/* lock_ordered.c — the `ordered` strategy: one global order over
 * (resource, server) pairs — resources by name, servers by index — and
 * one request at a time, queueing at each, until a quorum is held.
 * Every client climbs the same order and waits only for a pair above all
 * it holds, so a wait-for cycle cannot close: deadlock-free by
 * construction (Havender's resource ordering).  The price: latency grows
 * with the quorum, and a crashed server in the order stalls everyone
 * behind it until it returns. */
#include "lock_priv.h"

static void ask_next(ns_lock_client *c)
{
    const struct lock_client_res *r = &c->res[c->cur];
    unsigned outstanding = 0, granted = 0;
    for (unsigned s = 0; s < c->cl->n; s++) {
        outstanding += r->st[s] == SS_SENT || r->st[s] == SS_QUEUED;
        granted += r->st[s] == SS_GRANTED;
    }
    if (outstanding || granted >= c->cl->o.quorum)
        return;
    for (unsigned s = 0; s < c->cl->n; s++)
        if (r->st[s] == SS_NONE) {
            ns__lock_client_request(c, s);
            return;
        }
}

static void start(ns_lock_client *c)
{
    ask_next(c);
}

static void on_grant(ns_lock_client *c, unsigned s)
{
    (void)s;
    ask_next(c);
}

const struct ns__lock_strategy ns__lock_ordered = {
    .name = "ordered",
    .queue = true,
    .sorted = true,
    .start = start,
    .on_grant = on_grant,
};
