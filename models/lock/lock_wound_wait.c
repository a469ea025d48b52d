/* lock_wound_wait.c — the `wound_wait` strategy: timestamp-based deadlock
 * prevention (Rosenkrantz, Stearns and Lewis 1978).  A transaction's
 * timestamp is its first attempt's start (ties: the lower client id is
 * older) and a retry keeps it.  Ask every server at once and always
 * queue; servers order their queues oldest first, and a request older
 * than the holder "wounds" it: the server sends the holder a WOUND, and a
 * wounded holder still in phase one (acquiring) aborts, releases and
 * retries as old as before.  A holder that already has everything it
 * needs ignores the wound: it waits for nobody and releases soon.
 *
 * A younger transaction waits for an older one; an older one waits for a
 * younger only until the wound lands.  The lasting edges all point from
 * younger to older, so no cycle survives: no deadlock, and fewer restarts
 * than wait-die because only a holder in the way is ever aborted.
 *
 * Known cost: the wound is one datagram; if it is lost, the server sends
 * it again only when the older client retransmits its request (with
 * leases, every rto). */
#include "lock_priv.h"

static void start(ns_lock_client *c)
{
    for (unsigned k = 0; k < c->cl->n; k++)
        ns__lock_client_request(c, (c->o.first_server + k) % c->cl->n);
}

const struct ns__lock_strategy ns__lock_wound_wait = {
    .name = "wound_wait",
    .queue = true,
    .age_rule = LF_WOUND,
    .start = start,
};
