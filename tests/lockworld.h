/* lockworld.h — what the locking suites share (test_lock.c,
 * test_lock_faults.c): a "world" of a lock cluster on one LAN (servers
 * ls1.., a storage host, up to MAXC clients), built with world_init and
 * add_client, and the resource lists the tests lock.
 *
 * The LAN runs at 1 Gbit/s with 1 ms port delays: one host-to-host hop is
 * about 2 ms.  Helpers are static inline: each suite uses a different
 * subset. */
#ifndef NETSIM_LOCKWORLD_H
#define NETSIM_LOCKWORLD_H

#include <string.h>

#include "netsim/lan.h"
#include "netsim/lock.h"
#include "tests.h"

#define MAXC 8

struct world {
    ns_sim *sim;
    ns_lan *lan;
    ns_lock_cluster *cl;
    ns_lock_client *c[MAXC];
    ns_host *h[MAXC];
};

static inline ns_host *lan_host(struct world *w, const char *name)
{
    GError *err = NULL;
    ns_host *h = ns_host_new(w->sim, name, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns_lan_attach(w->lan, h, 0, &err));
    return h;
}

static inline void world_init(struct world *w, uint64_t seed, unsigned nservers,
                              const struct ns_lock_cluster_opts *co)
{
    memset(w, 0, sizeof *w);
    w->sim = ns_sim_new(seed);
    struct ns_lan_opts o;
    ns_lan_opts_defaults(&o);
    o.delay = NS_MSEC;
    o.arp = false;
    GError *err = NULL;
    w->lan = ns_lan_new(w->sim, "lan", &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->lan);
    ns_host *srv[NS_LOCK_MAX_SERVERS];
    for (unsigned i = 0; i < nservers; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "ls%u", i + 1);
        srv[i] = lan_host(w, name);
    }
    ns_host *st = lan_host(w, "storage");
    struct ns_lock_cluster_opts d;
    ns_lock_cluster_opts_defaults(&d);
    w->cl = ns_lock_cluster_new(w->sim, srv, nservers, st, co ? co : &d, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->cl);
}

static inline ns_lock_client *add_client(struct world *w, unsigned i, const char *name,
                                         const char *strategy, const char *const *res,
                                         ns_time_t start, struct ns_lock_client_opts *extra)
{
    struct ns_lock_client_opts o;
    if (extra)
        o = *extra;
    else
        ns_lock_client_opts_defaults(&o);
    o.strategy = strategy;
    o.resources = res;
    o.start = start;
    w->h[i] = lan_host(w, name);
    GError *err = NULL;
    w->c[i] = ns_lock_client_new(w->cl, w->h[i], &o, &err);
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->c[i]);
    return w->c[i];
}

static inline void world_free(struct world *w)
{
    ns_sim_free(w->sim);
}

static const char *const r12[] = { "R1", "R2", NULL };
static const char *const r21[] = { "R2", "R1", NULL };
static const char *const r1[] = { "R1", NULL };

/* The staged race of locks_race.lua: clients a, b and c lock R1 with
 * `strategy` from time 0, each asking the servers from a different one
 * (first_server = i), so that each wins one server first. */
static inline void add_staged_race(struct world *w, const char *strategy)
{
    const char *names[] = { "a", "b", "c" };
    for (unsigned i = 0; i < 3; i++) {
        struct ns_lock_client_opts o;
        ns_lock_client_opts_defaults(&o);
        o.first_server = i;
        add_client(w, i, names[i], strategy, r1, 0, &o);
    }
}

#endif
