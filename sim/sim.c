/* sim.c — the simulation context: creation, teardown and the objects that
 * models attach to it.
 *
 * Invariant: everything a simulation mutates is reachable from its ns_sim
 * and freed by ns_sim_free; nothing lives in a global.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim_priv.h"
#include "netsim/rng.h"
#include "netsim/trace.h"

G_DEFINE_QUARK(netsim-error-quark, ns_error)

#define NS_X_NAME(name, str) [name] = str,
static const char *const stop_names[] = { NS_STOP_REASONS(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_stop_reason_name(enum ns_stop_reason r)
{
    g_return_val_if_fail((size_t)r < G_N_ELEMENTS(stop_names), "?");
    return stop_names[r];
}

static void attachment_free(gpointer p)
{
    struct ns_attachment *a = p;
    if (a->destroy)
        a->destroy(a->obj);
    g_free(a->key);
    g_free(a);
}

ns_sim *ns_sim_new(uint64_t seed)
{
    ns_sim *sim = g_new0(ns_sim, 1);
    sim->seed = seed;
    ns__sched_init(sim);
    sim->rngs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sim->attachments = g_ptr_array_new();
    return sim;
}

void ns_sim_free(ns_sim *sim)
{
    if (!sim)
        return;
    /* Reverse order of attachment: later models may use earlier ones. */
    for (guint i = sim->attachments->len; i-- > 0;)
        attachment_free(g_ptr_array_index(sim->attachments, i));
    g_ptr_array_free(sim->attachments, TRUE);
    ns__trace_free(sim);      /* flushes into outputs: before them */
    ns__output_free(sim);
    g_hash_table_destroy(sim->rngs);
    ns__sched_free(sim);
    ns_pool_destroy(&sim->pkt_pool);
    ns_pool_destroy(&sim->payload_pool);
    g_free(sim);
}

ns_time_t ns_sim_now(const ns_sim *sim) { return sim->now; }
uint64_t ns_sim_seed(const ns_sim *sim) { return sim->seed; }
uint64_t ns_sim_events_run(const ns_sim *sim) { return sim->events_run; }

void ns_sim_attach(ns_sim *sim, const char *key, void *obj, GDestroyNotify destroy)
{
    g_return_if_fail(sim != NULL && key != NULL);
    g_return_if_fail(ns_sim_attached(sim, key) == NULL);
    struct ns_attachment *a = g_new(struct ns_attachment, 1);
    a->key = g_strdup(key);
    a->obj = obj;
    a->destroy = destroy;
    g_ptr_array_add(sim->attachments, a);
}

void *ns_sim_attached(const ns_sim *sim, const char *key)
{
    for (guint i = 0; i < sim->attachments->len; i++) {
        struct ns_attachment *a = g_ptr_array_index(sim->attachments, i);
        if (strcmp(a->key, key) == 0)
            return a->obj;
    }
    return NULL;
}

ns_rng *ns_sim_rng(ns_sim *sim, const char *name)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    ns_rng *r = g_hash_table_lookup(sim->rngs, name);
    if (!r) {
        r = g_new(ns_rng, 1);
        ns_rng_init(r, sim->seed, name);
        g_hash_table_insert(sim->rngs, g_strdup(name), r);
    }
    return r;
}

ns_time_t ns_time_from_sec(double sec)
{
    if (isnan(sec))
        return 0;
    double ns = nearbyint(sec * 1e9);
    if (ns >= 9.2233720368547748e18)
        return NS_TIME_MAX;
    if (ns <= -9.2233720368547748e18)
        return INT64_MIN;
    return (ns_time_t)ns;
}

char *ns_time_format(ns_time_t t, char buf[NS_TIME_STRLEN])
{
    uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    snprintf(buf, NS_TIME_STRLEN, "%s%llu.%09llu", t < 0 ? "-" : "",
             (unsigned long long)(mag / 1000000000u),
             (unsigned long long)(mag % 1000000000u));
    return buf;
}
