/* lua_sweep_dist.c — one sweep over the ranks of a cluster (MPI, or the
 * in-process loop the tests use).
 *
 * Rank 0 holds the job list and hands out one job at a time to whichever
 * rank asks (dynamic assignment: a slow point never idles the others);
 * its own local workers take jobs from the same counter.  Every other rank
 * says READY, then loops: receive a JOB, run it, send its RESULT (which
 * asks for the next job), until it receives STOP.  Rank 0 puts each row it
 * receives in its place in the job list, so results.tsv is written by the
 * same code from the same rows as in one process: byte-identical.
 *
 * Every message is one GVariant tuple (MSG_TYPE); fields a kind does not
 * use are zero.  GVariant serialises in host byte order, which is fine:
 * the ranks of one MPI job share an architecture.
 */
#include <string.h>

#include "lua_sweep.h"

enum msg_kind { MSG_READY = 1, MSG_JOB, MSG_RESULT, MSG_USAGE, MSG_STOP };

/* kind, job index, point, seed, status, events, wall seconds, error,
 * results */
#define MSG_TYPE "(yuttytdsa{ss})"

struct msg {
    guchar   kind;
    guint32  job;
    guint64  point, seed;
    guchar   status;
    guint64  events;
    double   wall_s;
    const char *error;             /* borrowed from the variant */
    GVariantIter *results;         /* owned */
};

static GBytes *encode(enum msg_kind kind, guint job, const struct ns_sweep_row *row,
                      const char *error)
{
    GVariantBuilder res;
    g_variant_builder_init(&res, G_VARIANT_TYPE("a{ss}"));
    if (row && row->results) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, row->results);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_variant_builder_add(&res, "{ss}", (const char *)k, (const char *)v);
    }
    if (!error)
        error = row && row->error ? row->error : "";
    GVariant *v = g_variant_new(MSG_TYPE, (guchar)kind, (guint32)job,
                                row ? row->point : 0, row ? row->seed : 0,
                                (guchar)(row ? row->status : 0),
                                row ? row->events : 0, row ? row->wall_s : 0.0,
                                error, &res);
    g_variant_ref_sink(v);
    GBytes *b = g_variant_get_data_as_bytes(v);
    g_variant_unref(v);
    return b;
}

/* Decodes msg; the returned variant owns the strings m points into. */
static GVariant *decode(GBytes *bytes, struct msg *m)
{
    GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE(MSG_TYPE), bytes, FALSE);
    g_variant_ref_sink(v);
    g_variant_get(v, "(yuttytd&sa{ss})", &m->kind, &m->job, &m->point, &m->seed,
                  &m->status, &m->events, &m->wall_s, &m->error, &m->results);
    return v;
}

static void send_or_stop(struct sweep *sw, int dest, GBytes *b)
{
    GError *err = NULL;
    if (!ns_cluster_send(sw->cluster, dest, b, &err)) {
        ns__sweep_usage(sw, g_strdup(err->message));
        g_error_free(err);
    }
    g_bytes_unref(b);
}

/* ---- rank 0 ---- */

/* Puts a remote rank's row in its place; false when the message does not
 * match the job it answers (a rank running another grid). */
static bool take_result(struct sweep *sw, struct msg *m)
{
    if (!sw->jobs || m->job >= sw->jobs->len)
        return false;
    struct ns_sweep_row *row = g_ptr_array_index(sw->jobs, m->job);
    if (row->point != m->point || row->seed != m->seed)
        return false;
    row->status = m->status;
    if (row->status == NS_SWEEP_PENDING)   /* interrupted over there */
        return true;
    row->events = m->events;
    row->wall_s = m->wall_s;
    g_free(row->error);
    row->error = row->status == NS_SWEEP_FAILED ? g_strdup(m->error) : NULL;
    if (!row->results)
        row->results = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *k, *v;
    while (g_variant_iter_next(m->results, "{&s&s}", &k, &v))
        g_hash_table_replace(row->results, g_strdup(k), g_strdup(v));
    ns__sweep_fill_params(sw, row);
    ns__sweep_count(sw, row);
    return true;
}

/* Answers a rank that wants work: its next job, or STOP.  True while the
 * rank keeps working. */
static bool hand_out(struct sweep *sw, int dest)
{
    guint k;
    struct ns_sweep_row *row = ns__sweep_next_job(sw, &k);
    if (row) {
        send_or_stop(sw, dest, encode(MSG_JOB, k, row, NULL));
        return true;
    }
    send_or_stop(sw, dest, encode(MSG_STOP, 0, NULL, NULL));
    return false;
}

void ns__sweep_coordinate(struct sweep *sw, gint64 t0, bool show)
{
    int working = sw->cluster->size - 1;
    while (working > 0) {
        int src = -1;
        GBytes *b = ns_cluster_recv(sw->cluster, &src, G_USEC_PER_SEC / 2);
        if (!b) {
            if (show)
                ns__sweep_progress(sw, t0, false);
            continue;
        }
        struct msg m;
        GVariant *v = decode(b, &m);
        if (m.kind == MSG_RESULT && !take_result(sw, &m))
            ns__sweep_usage(sw, g_strdup_printf("rank %d answered a job it was not given "
                                                "(do all ranks run the same command?)", src));
        else if (m.kind == MSG_USAGE)
            ns__sweep_usage(sw, g_strdup(m.error));
        if (!hand_out(sw, src))
            working--;
        g_variant_iter_free(m.results);
        g_variant_unref(v);
        g_bytes_unref(b);
    }
}

/* ---- the other ranks ---- */

/* Runs one job rank 0 sent and answers with its row. */
static void run_job(struct sweep *sw, const struct msg *m, const char *tmp)
{
    struct ns_sweep_row *row = ns_sweep_table_add(sw->table, m->point, m->seed);
    char *usage = NULL;
    GBytes *b = ns__sweep_run_one(sw, row, tmp, &usage)
              ? encode(MSG_RESULT, m->job, row, NULL)
              : encode(MSG_USAGE, m->job, row, usage);
    g_free(usage);
    send_or_stop(sw, 0, b);
}

int ns__sweep_serve(struct sweep *sw)
{
    char *tmp = ns__sweep_scratch_dir(sw);
    send_or_stop(sw, 0, encode(MSG_READY, 0, NULL, NULL));
    while (!g_atomic_int_get(&sw->stop)) {
        int src;
        GBytes *b = ns_cluster_recv(sw->cluster, &src, -1);
        struct msg m;
        GVariant *v = decode(b, &m);
        if (m.kind == MSG_JOB)
            run_job(sw, &m, tmp);
        else
            g_atomic_int_set(&sw->stop, 1);       /* STOP */
        g_variant_iter_free(m.results);
        g_variant_unref(v);
        g_bytes_unref(b);
    }
    ns__sweep_scratch_free(sw, tmp);
    return EXIT_OK;
}
