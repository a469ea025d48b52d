/* lock_storage.c — the protected resource: a storage server that clients
 * write to at the start (BEGIN) and end (END) of their critical section.
 * It is where the oracle watches safety.
 *
 * With fencing, a write whose token is older than the newest one seen for
 * the resource is rejected (the standard fencing-token check), and a
 * client overtaken by a newer token is no longer inside: its later writes
 * are stale.  Invariant checked: an accepted BEGIN never finds another
 * client inside; a breach is a violation with time, clients and seed. */
#include <string.h>

#include "lock_priv.h"
#include "netsim/oracle.h"

static struct storage_res *sres_get(ns_lock_cluster *cl, const char *name)
{
    struct storage_res *r = ns__lock_names_get(&cl->sres_by_name, name);
    if (r)
        return r;
    r = g_new0(struct storage_res, 1);
    g_strlcpy(r->name, name, sizeof r->name);
    r->inside = g_array_new(FALSE, FALSE, sizeof(struct storage_in));
    g_ptr_array_add(cl->sres, r);
    ns__lock_names_add(&cl->sres_by_name, r->name, r);
    return r;
}

static void sres_free(gpointer p)
{
    struct storage_res *r = p;
    g_array_free(r->inside, TRUE);
    g_free(r);
}

static int inside_index(const struct storage_res *r, uint32_t client)
{
    for (guint i = 0; i < r->inside->len; i++)
        if (g_array_index(r->inside, struct storage_in, i).client == client)
            return (int)i;
    return -1;
}

/* Whether token (of client/attempt) is older than the newest seen. */
static bool stale(const struct storage_res *r, const struct lock_msg *m)
{
    if (m->token < r->max_token)
        return true;
    return m->token == r->max_token && r->max_token > 0
           && (m->client != r->max_client || m->attempt != r->max_attempt);
}

static void violation(ns_lock_cluster *cl, const struct storage_res *r, uint32_t inside,
                      uint32_t entering)
{
    struct ns_lock_violation v = { .at = ns_sim_now(cl->sim), .seed = ns_sim_seed(cl->sim),
                                   .inside = ns__lock_client_name(cl, inside),
                                   .entering = ns__lock_client_name(cl, entering) };
    g_strlcpy(v.resource, r->name, sizeof v.resource);
    g_array_append_val(cl->violations, v);
    LOCK_TRACE(cl->sim, "lock.violation", ns_host_name(cl->storage),
               "resource=%s inside=%s entering=%s seed=%" G_GUINT64_FORMAT, r->name,
               v.inside, v.entering, v.seed);
    ns_net_diagram_note(cl->storage, "SAFETY VIOLATION");
    char *text = ns_lock_violation_format(&v);
    /* several clusters in one sim: say whose safety broke (the default
     * cluster keeps the plain name, as when a sim had one cluster) */
    if (strcmp(cl->name, NS_LOCK_DEFAULT_CLUSTER) == 0)
        ns_oracle_violation(cl->sim, "lock safety", "%s", text);
    else
        ns_oracle_violation(cl->sim, "lock safety", "cluster '%s': %s", cl->name, text);
    g_free(text);
}

static void on_recv(ns_udp *u, const ns_pkt *p, uint32_t src, uint16_t sport, void *ud)
{
    ns_lock_cluster *cl = ud;
    struct lock_msg m;
    if (!ns__lock_decode(p, &m) || m.type != LM_WRITE)
        return;
    struct storage_res *r = sres_get(cl, m.name);
    const char *node = ns_host_name(cl->storage);
    int at = inside_index(r, m.client);
    bool dup = at >= 0 && g_array_index(r->inside, struct storage_in, at).attempt == m.attempt
               && (m.flags & LF_BEGIN);
    struct lock_msg rep = { .type = LM_WRITE_OK, .client = m.client, .attempt = m.attempt,
                            .token = m.token, .flags = m.flags };
    ns__lock_name_copy(rep.name, m.name);

    if (!dup && cl->o.storage_fencing && stale(r, &m)) {
        cl->rejected++;
        if (at >= 0)
            g_array_remove_index(r->inside, (guint)at);
        LOCK_TRACE(cl->sim, "lock.fenced", node, "resource=%s client=%s token=%" G_GUINT64_FORMAT
                   " newest=%" G_GUINT64_FORMAT " write=%s", r->name,
                   ns__lock_client_name(cl, m.client), m.token, r->max_token,
                   m.flags & LF_BEGIN ? "begin" : "end");
        rep.type = LM_REJECT;
        ns__lock_send(u, src, sport, &rep);
        return;
    }
    if (m.flags & LF_BEGIN) {
        if (!dup) {
            if (m.token > r->max_token || r->max_token == 0) {
                r->max_token = m.token;
                r->max_client = m.client;
                r->max_attempt = m.attempt;
            }
            if (cl->o.storage_fencing) {
                /* older holders are fenced out: their writes would fail */
                for (guint i = 0; i < r->inside->len;) {
                    if (g_array_index(r->inside, struct storage_in, i).token < m.token)
                        g_array_remove_index(r->inside, i);
                    else
                        i++;
                }
            }
            for (guint i = 0; i < r->inside->len; i++) {
                uint32_t other = g_array_index(r->inside, struct storage_in, i).client;
                if (other != m.client)
                    violation(cl, r, other, m.client);
            }
            at = inside_index(r, m.client);
            if (at >= 0)
                g_array_remove_index(r->inside, (guint)at);
            struct storage_in in = { m.client, m.attempt, m.token };
            g_array_append_val(r->inside, in);
            LOCK_TRACE(cl->sim, "lock.cs", node, "resource=%s client=%s event=enter token=%"
                       G_GUINT64_FORMAT, r->name, ns__lock_client_name(cl, m.client), m.token);
        }
    } else if (at >= 0) {
        g_array_remove_index(r->inside, (guint)at);
        LOCK_TRACE(cl->sim, "lock.cs", node, "resource=%s client=%s event=leave token=%"
                   G_GUINT64_FORMAT, r->name, ns__lock_client_name(cl, m.client), m.token);
    }
    ns__lock_send(u, src, sport, &rep);
}

void ns__lock_storage_fault(ns_lock_cluster *cl, enum ns_host_fault f)
{
    (void)cl;
    (void)f;        /* storage is durable: it keeps tokens across a crash */
}

bool ns__lock_storage_init(ns_lock_cluster *cl, GError **error)
{
    cl->sres = g_ptr_array_new_with_free_func(sres_free);
    cl->ssock = ns_udp_bind(cl->storage, NS_LOCK_STORAGE_PORT, error);
    if (!cl->ssock)
        return false;
    ns_udp_on_receive(cl->ssock, on_recv, cl);
    return true;
}

void ns__lock_storage_fini(ns_lock_cluster *cl)
{
    ns__lock_names_free(&cl->sres_by_name);
    if (cl->sres)
        g_ptr_array_free(cl->sres, TRUE);
    cl->sres = NULL;
}

uint64_t ns_lock_storage_rejected(const ns_lock_cluster *cl)
{
    return cl->rejected;
}

uint64_t ns_lock_storage_token(const ns_lock_cluster *cl, const char *resource)
{
    const struct storage_res *r = ns__lock_names_get(&cl->sres_by_name, resource);
    return r ? r->max_token : 0;
}

size_t ns_lock_n_violations(const ns_lock_cluster *cl)
{
    return cl->violations->len;
}

const struct ns_lock_violation *ns_lock_violation_nth(const ns_lock_cluster *cl, size_t i)
{
    return i < cl->violations->len ? &g_array_index(cl->violations, struct ns_lock_violation, i)
                                   : NULL;
}

char *ns_lock_violation_format(const struct ns_lock_violation *v)
{
    char t[NS_TIME_STRLEN];
    return g_strdup_printf("t=%s %s: %s entered while %s was inside (seed %" G_GUINT64_FORMAT ")",
                           ns_time_format(v->at, t), v->resource, v->entering, v->inside,
                           v->seed);
}
