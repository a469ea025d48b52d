/* lock_sender.c — which lock server of a cluster a datagram came from.
 *
 * Clients and detectors ask this of every reply: the first server, in the
 * cluster's order, whose host has the source address (ns_host_has_addr,
 * broadcasts included), or -1.  Asking each server's host in turn cost a
 * few address checks per message, millions in a contended run, so a
 * small per-cluster cache remembers answers by source address.
 *
 * Invariant: a cached answer is the one the search gives now.  The
 * search depends only on the servers' interface addresses and prefixes,
 * which change only through ns_iface_set_addr (a new interface has none
 * until it is given one); that tells address observers, and the lock
 * model's observer (registered once per sim, with the first cluster)
 * empties the cache of every cluster. */
#include <string.h>

#include "lock_priv.h"

/* The slot of an address: a multiplicative hash (Knuth's constant, about
 * 2^32 / phi), whose top bits spread neighbouring addresses apart. */
static unsigned slot_of(uint32_t addr)
{
    return (unsigned)((addr * 2654435769u) >> (32 - LOCK_SENDER_BITS));
}

static int search(const ns_lock_cluster *cl, uint32_t src)
{
    for (unsigned s = 0; s < cl->n; s++)
        if (ns_host_has_addr(cl->srv[s].host, src))
            return (int)s;
    return -1;
}

int ns__lock_server_of(ns_lock_cluster *cl, uint32_t src)
{
    struct lock_sender *e = &cl->senders[slot_of(src)];
    if (!e->known || e->addr != src)
        *e = (struct lock_sender){ .addr = src, .server = (int8_t)search(cl, src), .known = true };
    return e->server;
}

static void forget(ns_iface *ifc, uint32_t old_addr, uint32_t new_addr, void *ud)
{
    (void)ifc;
    (void)old_addr;
    (void)new_addr;
    ns_sim *sim = ud;
    for (size_t k = 0; k < ns_lock_n_clusters(sim); k++) {
        ns_lock_cluster *cl = ns_lock_cluster_nth(sim, k);
        memset(cl->senders, 0, sizeof cl->senders);
    }
}

void ns__lock_senders_watch(ns_sim *sim)
{
    ns_net_on_addr_change(sim, forget, sim);
}
