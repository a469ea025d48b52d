/* lock_wait.c — the `wait` strategy: hold and wait.  Ask every server at
 * once and queue where the lock is taken; never give up.  Two clients
 * that each win part of the servers for resources the other needs wait
 * for each other forever: the deadlock this model exists to show. */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
}

const struct ns__lock_strategy ns__lock_wait = {
    .name = "wait",
    .queue = true,
    .start = start,
};
