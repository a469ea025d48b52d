/* lock.c — the lock clusters: servers plus storage, the strategy registry,
 * enum names, and the per-sim fault and address observers (registered once
 * per sim, with the first cluster, so no object has to unregister).
 *
 * Invariants: a sim holds any number of clusters, each with its own name,
 * in creation order in the sim's "lock" attachment; every client, server
 * and storage record belongs to one cluster and dies with it; a host plays
 * roles (server, storage, client) in one cluster at most, since every
 * cluster's servers listen on the same ports. */
#include <string.h>

#include "lock_priv.h"

#define SIM_KEY "lock"

#define NS_X_STR(name, str) str,
static const char *const fencing_names[] = { NS_LOCK_FENCINGS(NS_X_STR) };
static const char *const state_names[] = { NS_LOCK_STATES(NS_X_STR) };
#undef NS_X_STR

const char *ns_lock_fencing_name(enum ns_lock_fencing f)
{
    return (unsigned)f < G_N_ELEMENTS(fencing_names) ? fencing_names[f] : "?";
}

bool ns_lock_fencing_parse(const char *s, enum ns_lock_fencing *out, GError **error)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(fencing_names); i++)
        if (strcmp(s, fencing_names[i]) == 0) {
            *out = (enum ns_lock_fencing)i;
            return true;
        }
    g_set_error(error, NS_ERROR, NS_ERROR_NOT_FOUND,
                "unknown fencing '%s' (known: none, naive, quorum)", s);
    return false;
}

const char *ns_lock_state_name(enum ns_lock_state s)
{
    return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "?";
}

/* ---- strategies: a name and an ops table each, looked up linearly ---- */
static const struct ns__lock_strategy *const strategies[] = {
    &ns__lock_wait, &ns__lock_release_all, &ns__lock_ordered,
    &ns__lock_wait_die, &ns__lock_wound_wait, &ns__lock_detect,
};
/* In the order of strategies[] (checked by the unit tests). */
static const char *const strategy_names[] = {
    "wait", "release_all", "ordered", "wait_die", "wound_wait", "detect", NULL
};

const char *const *ns_lock_strategy_names(void)
{
    return strategy_names;
}

const struct ns__lock_strategy *ns__lock_strategy_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(strategies); i++)
        if (strcmp(strategies[i]->name, name) == 0)
            return strategies[i];
    return NULL;
}

bool ns_lock_strategy_exists(const char *name)
{
    return name && ns__lock_strategy_find(name) != NULL;
}

/* ---- the cluster ---- */
void ns_lock_cluster_opts_defaults(struct ns_lock_cluster_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fencing = NS_LOCK_FENCE_QUORUM;
    o->storage_fencing = true;
}

/* The sim's clusters (ns_lock_cluster*, creation order, owned), or NULL
 * before the first one. */
static GPtrArray *clusters_of(const ns_sim *sim)
{
    return ns_sim_attached(sim, SIM_KEY);
}

/* A crash or restart reaches the records of h in whichever cluster has
 * them (at most one: see ns__lock_host_role). */
static void fault_in_cluster(ns_lock_cluster *cl, ns_host *h, enum ns_host_fault f)
{
    for (unsigned i = 0; i < cl->n; i++)
        if (cl->srv[i].host == h)
            ns__lock_server_fault(&cl->srv[i], f);
    if (cl->storage == h)
        ns__lock_storage_fault(cl, f);
    ns_lock_client *c = ns__lock_client_on(cl, h);
    if (c)
        ns__lock_client_fault(c, f);
}

static void on_fault(ns_host *h, enum ns_host_fault f, void *ud)
{
    GPtrArray *all = clusters_of(ud);
    for (guint i = 0; all && i < all->len; i++)
        fault_in_cluster(g_ptr_array_index(all, i), h, f);
}

ns_lock_client *ns__lock_client_on(const ns_lock_cluster *cl, const ns_host *h)
{
    for (guint i = 0; i < cl->clients->len; i++) {
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        if (c->host == h)
            return c;
    }
    return NULL;
}

const char *ns__lock_host_role(const ns_lock_cluster *cl, const ns_host *h)
{
    for (unsigned i = 0; i < cl->n; i++)
        if (cl->srv[i].host == h)
            return "lock server";
    if (cl->storage == h)
        return "storage server";
    if (ns__lock_client_on(cl, h))
        return "lock client";
    if (ns__lock_detector_cluster(h) == cl)
        return "lock detector host";
    return NULL;
}

/* Why one cluster per host: every cluster's servers and storage listen
 * on the same ports (NS_LOCK_PORT, NS_LOCK_STORAGE_PORT), a host has one
 * "lock" random stream and one detector (which queries one cluster's
 * servers), and a fault must reach one set of records: sharing a host
 * would mix two clusters' traffic. */
bool ns__lock_check_host_free(const ns_lock_cluster *cl, ns_sim *sim, const ns_host *h,
                              GError **error)
{
    GPtrArray *all = clusters_of(sim);
    for (guint i = 0; all && i < all->len; i++) {
        const ns_lock_cluster *other = g_ptr_array_index(all, i);
        const char *role = other != cl ? ns__lock_host_role(other, h) : NULL;
        if (role) {
            g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                        "host '%s' is already a %s of lock cluster '%s' (a host takes "
                        "part in one lock cluster)", ns_host_name(h), role, other->name);
            return false;
        }
    }
    return true;
}

static void cluster_free(gpointer p)
{
    ns_lock_cluster *cl = p;
    if (cl->clients)
        g_ptr_array_free(cl->clients, TRUE);
    for (unsigned i = 0; i < cl->n; i++)
        ns__lock_server_fini(&cl->srv[i]);
    ns__lock_storage_fini(cl);
    if (cl->violations)
        g_array_free(cl->violations, TRUE);
    if (cl->deadlock_sets)
        g_ptr_array_free(cl->deadlock_sets, TRUE);
    g_free(cl->deadlock_txt);
    g_free(cl->deadlock_dot);
    g_free(cl->deadlock_mmd);
    g_free(cl->name);
    g_free(cl);
}

static void clusters_free(gpointer p)
{
    g_ptr_array_free(p, TRUE);
}

ns_lock_cluster *ns_lock_cluster_new(ns_sim *sim, ns_host *const *servers, unsigned n,
                                     ns_host *storage,
                                     const struct ns_lock_cluster_opts *o, GError **error)
{
    g_return_val_if_fail(sim && servers && storage && o, NULL);
    if (n < 1 || n > NS_LOCK_MAX_SERVERS) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock cluster: %u servers is outside [1, %d]", n, NS_LOCK_MAX_SERVERS);
        return NULL;
    }
    if (o->quorum > n) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock cluster: quorum %u is larger than the %u servers", o->quorum, n);
        return NULL;
    }
    if (o->registers_lost && o->persist) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "lock cluster: registers lost needs persist off (a kept table keeps "
                    "its registers)");
        return NULL;
    }
    if (o->ttl < 0) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "lock cluster: negative ttl");
        return NULL;
    }
    const char *name = o->name ? o->name : NS_LOCK_DEFAULT_CLUSTER;
    if (!*name) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "lock cluster: an empty name");
        return NULL;
    }
    if (ns_lock_cluster_find(sim, name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "lock cluster '%s': the sim has a cluster of that name already", name);
        return NULL;
    }
    for (unsigned i = 0; i <= n; i++)
        if (!ns__lock_check_host_free(NULL, sim, i < n ? servers[i] : storage, error)) {
            g_prefix_error(error, "lock cluster '%s': ", name);
            return NULL;
        }
    ns_lock_cluster *cl = g_new0(ns_lock_cluster, 1);
    cl->sim = sim;
    cl->o = *o;
    cl->name = g_strdup(name);
    cl->o.name = cl->name;
    if (cl->o.quorum == 0)
        cl->o.quorum = n / 2 + 1;
    cl->clients = g_ptr_array_new_with_free_func((GDestroyNotify)ns__lock_client_free);
    cl->violations = g_array_new(FALSE, FALSE, sizeof(struct ns_lock_violation));
    cl->deadlock_sets = g_ptr_array_new_with_free_func(g_free);
    cl->first_deadlock = -1;
    cl->storage = storage;
    cl->n = n;
    for (unsigned i = 0; i < n; i++) {
        cl->srv[i].cl = cl;
        cl->srv[i].index = i;
        cl->srv[i].host = servers[i];
    }
    for (unsigned i = 0; i < n; i++)
        if (!ns__lock_server_init(&cl->srv[i], error))
            goto fail;
    if (!ns__lock_storage_init(cl, error))
        goto fail;
    GPtrArray *all = clusters_of(sim);
    if (!all) {
        all = g_ptr_array_new_with_free_func(cluster_free);
        ns_sim_attach(sim, SIM_KEY, all, clusters_free);
        ns_net_on_fault(sim, on_fault, sim);
        ns__lock_senders_watch(sim);
    }
    g_ptr_array_add(all, cl);
    /* stateless labels: a second cluster registers the same function */
    ns_udp_set_describer(sim, NS_LOCK_PORT, ns__lock_describe);
    ns_udp_set_describer(sim, NS_LOCK_STORAGE_PORT, ns__lock_describe);
    return cl;
fail:
    /* sockets already bound stay with their hosts, closed here */
    for (unsigned i = 0; i < n; i++)
        if (cl->srv[i].sock)
            ns_udp_close(cl->srv[i].sock);
    if (cl->ssock)
        ns_udp_close(cl->ssock);
    cl->ssock = NULL;
    cluster_free(cl);
    return NULL;
}

size_t ns_lock_n_clusters(const ns_sim *sim)
{
    GPtrArray *all = clusters_of(sim);
    return all ? all->len : 0;
}

ns_lock_cluster *ns_lock_cluster_nth(const ns_sim *sim, size_t i)
{
    GPtrArray *all = clusters_of(sim);
    return all && i < all->len ? g_ptr_array_index(all, i) : NULL;
}

ns_lock_cluster *ns_lock_cluster_find(const ns_sim *sim, const char *name)
{
    GPtrArray *all = clusters_of(sim);
    for (guint i = 0; all && name && i < all->len; i++) {
        ns_lock_cluster *cl = g_ptr_array_index(all, i);
        if (strcmp(cl->name, name) == 0)
            return cl;
    }
    return NULL;
}

const char *ns_lock_cluster_name(const ns_lock_cluster *cl) { return cl->name; }

unsigned ns_lock_cluster_n_servers(const ns_lock_cluster *cl) { return cl->n; }
unsigned ns_lock_cluster_quorum(const ns_lock_cluster *cl) { return cl->o.quorum; }
ns_host *ns_lock_cluster_server(const ns_lock_cluster *cl, unsigned i)
{
    return i < cl->n ? cl->srv[i].host : NULL;
}
ns_host *ns_lock_cluster_storage(const ns_lock_cluster *cl) { return cl->storage; }
size_t ns_lock_cluster_n_clients(const ns_lock_cluster *cl) { return cl->clients->len; }
uint64_t ns_lock_cluster_acquisitions(const ns_lock_cluster *cl) { return cl->acquisitions; }

bool ns_lock_cluster_log_acquisitions(ns_lock_cluster *cl, const char *name, GError **error)
{
    static const char *const cols[] = { "client", "strategy", "wait_s", "retries", NULL };
    g_return_val_if_fail(cl && name, false);
    ns_table *t = ns_table_open(cl->sim, name, cols, error);
    if (t)
        cl->acq_table = t;
    return t != NULL;
}

void ns_lock_cluster_on_token(ns_lock_cluster *cl, ns_lock_token_fn fn, void *ud)
{
    g_return_if_fail(cl);
    cl->on_token = fn;
    cl->on_token_ud = ud;
}

ns_lock_client *ns_lock_cluster_client(const ns_lock_cluster *cl, size_t i)
{
    return i < cl->clients->len ? g_ptr_array_index(cl->clients, i) : NULL;
}

ns_lock_client *ns__lock_client_by_id(const ns_lock_cluster *cl, uint32_t id)
{
    for (guint i = 0; i < cl->clients->len; i++) {
        ns_lock_client *c = g_ptr_array_index(cl->clients, i);
        if (c->id == id)
            return c;
    }
    return NULL;
}

const char *ns__lock_client_name(const ns_lock_cluster *cl, uint32_t id)
{
    ns_lock_client *c = ns__lock_client_by_id(cl, id);
    return c ? ns_host_name(c->host) : "?";
}

const char *ns_lock_server_holder(const ns_lock_cluster *cl, unsigned i, const char *resource)
{
    if (i >= cl->n)
        return NULL;
    struct lock_res *r = ns__lock_server_find(&cl->srv[i], resource);
    return r && r->held ? ns__lock_client_name(cl, r->holder.client) : NULL;
}

uint64_t ns_lock_server_token(const ns_lock_cluster *cl, unsigned i, const char *resource)
{
    if (i >= cl->n)
        return 0;
    struct lock_res *r = ns__lock_server_find(&cl->srv[i], resource);
    return r ? r->reg : 0;
}
