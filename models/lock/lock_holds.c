/* lock_holds.c — who holds which lock on which server, over time: the
 * holds table (cl:holds_table in Lua) that plots/lock_gantt.gp turns into
 * a Gantt chart per server.
 *
 * One row per change of a (server, resource)'s holder: the new holder on
 * a grant (cause "grant"), "" when it comes free (cause "release",
 * "expire" or "crash": a server that forgets its table frees everything
 * it held).  At the end of the run each lock still held gets a row with
 * cause "end", so every bar in the chart has both ends.
 */
#include "lock_priv.h"
#include "netsim/output.h"

static void row(ns_table *t, const struct lock_server *s, const char *resource,
                const char *holder, const char *cause)
{
    ns_table_begin(t);
    ns_table_str(t, ns_host_name(s->host));
    ns_table_str(t, resource);
    ns_table_str(t, holder);
    ns_table_str(t, cause);
    ns_table_end(t);
}

void ns__lock_holds_changed(struct lock_server *s, const struct lock_res *r, const char *cause)
{
    ns_lock_cluster *cl = s->cl;
    if (!cl->holds_table)
        return;
    row(cl->holds_table, s, r->name,
        r->held ? ns__lock_client_name(cl, r->holder.client) : "", cause);
}

/* At commit: closes the bars of the locks still held. */
static bool close_bars(ns_sim *sim, void *ud, GError **error)
{
    ns_lock_cluster *cl = ud;
    (void)sim;
    (void)error;
    for (unsigned i = 0; i < cl->n; i++) {
        const struct lock_server *s = &cl->srv[i];
        for (guint j = 0; j < s->res->len; j++) {
            const struct lock_res *r = g_ptr_array_index(s->res, j);
            if (r->held)
                row(cl->holds_table, s, r->name,
                    ns__lock_client_name(cl, r->holder.client), "end");
        }
    }
    return true;
}

bool ns_lock_cluster_log_holds(ns_lock_cluster *cl, const char *name, GError **error)
{
    static const char *const cols[] = { "server", "resource", "holder", "cause", NULL };
    g_return_val_if_fail(cl && name, false);
    if (cl->holds_table)
        return true;
    ns_table *t = ns_table_open(cl->sim, name, cols, error);
    if (!t)
        return false;
    cl->holds_table = t;
    ns_output_on_commit(cl->sim, close_bars, cl);
    return true;
}
