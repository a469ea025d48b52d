/* cluster_mpi.c — the cluster ops over Open MPI.  Compiled only when the
 * Makefile finds Open MPI (pkg-config ompi-c); otherwise
 * cluster_nompi.c answers --mpi with an error that says how to get it.
 *
 * One thread per process calls MPI (MPI_THREAD_FUNNELED): the sweep's
 * coordinator on rank 0 runs local workers on other threads that never
 * touch MPI.  Receiving polls with MPI_Iprobe and short sleeps rather than
 * blocking in MPI_Recv, because Open MPI's blocking receive spins a core
 * the local workers need.
 */
#include <mpi.h>

#include "netsim/cluster.h"
#include "netsim/sim.h"

enum { TAG_SWEEP = 7 };

struct mpi_rank {
    ns_cluster base;               /* first: ns_cluster* is an mpi_rank* */
};

static bool mpi_send(ns_cluster *c, int dest, GBytes *msg, GError **error)
{
    gsize len;
    const void *data = g_bytes_get_data(msg, &len);
    if (len > G_MAXINT) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "MPI message of %zu bytes", len);
        return false;
    }
    /* MPI_Send's buffer is not const in every MPI's headers. */
    int rc = MPI_Send((void *)data, (int)len, MPI_BYTE, dest, TAG_SWEEP, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        g_set_error(error, NS_ERROR, NS_ERROR_IO, "MPI_Send to rank %d failed (%d)", dest, rc);
        return false;
    }
    (void)c;
    return true;
}

/* Sleeps between probes grow from 20 µs to 1 ms: quick answers while
 * messages flow, an idle core while they do not. */
static bool wait_for_message(gint64 timeout_us, MPI_Status *st)
{
    gint64 deadline = timeout_us < 0 ? G_MAXINT64 : g_get_monotonic_time() + timeout_us;
    gulong nap = 20;
    for (;;) {
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_SWEEP, MPI_COMM_WORLD, &flag, st);
        if (flag)
            return true;
        if (g_get_monotonic_time() >= deadline)
            return false;
        g_usleep(nap);
        if (nap < 1000)
            nap *= 2;
    }
}

static GBytes *mpi_recv(ns_cluster *c, int *src, gint64 timeout_us)
{
    MPI_Status st;
    if (!wait_for_message(timeout_us, &st))
        return NULL;
    int len = 0;
    MPI_Get_count(&st, MPI_BYTE, &len);
    void *buf = g_malloc(len ? (gsize)len : 1);
    MPI_Recv(buf, len, MPI_BYTE, st.MPI_SOURCE, TAG_SWEEP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *src = st.MPI_SOURCE;
    (void)c;
    return g_bytes_new_take(buf, (gsize)len);
}

static void mpi_close(ns_cluster *c)
{
    g_free(c);
    MPI_Finalize();
}

static const struct ns_cluster_ops mpi_ops = {
    .name = "mpi", .send = mpi_send, .recv = mpi_recv, .close = mpi_close,
};

ns_cluster *ns_cluster_mpi_open(int *argc, char ***argv, GError **error)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        g_set_error(error, NS_ERROR, NS_ERROR_STATE, "--mpi: MPI_Init_thread failed");
        return NULL;
    }
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                    "--mpi: this MPI offers no MPI_THREAD_FUNNELED support");
        return NULL;
    }
    struct mpi_rank *r = g_new0(struct mpi_rank, 1);
    r->base.ops = &mpi_ops;
    MPI_Comm_rank(MPI_COMM_WORLD, &r->base.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r->base.size);
    return &r->base;
}

bool ns_cluster_mpi_built(void)
{
    return true;
}
