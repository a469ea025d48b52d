/* cluster.h — the processes of one sweep spread over machines, as numbered
 * ranks that send each other messages.
 *
 * A sweep across machines needs only two things from a cluster engine: a
 * rank and a size, and reliable messages between ranks.  This ops table is
 * that much, so the sweep's coordinator and worker protocol
 * (sim/lua/lua_sweep_dist.c) knows nothing of MPI:
 *
 *   mpi   Open MPI (sim/cluster_mpi.c), built only when the library is
 *         found; `mpirun -np N netsim sweep ... --mpi`.
 *   loop  N ranks inside one process, one mailbox each: how the tests run
 *         the protocol under AddressSanitizer without MPI.
 *
 * Messages between two ranks arrive in the order they were sent; the
 * calls are made from one thread per rank (MPI_THREAD_FUNNELED).
 */
#ifndef NETSIM_CLUSTER_H
#define NETSIM_CLUSTER_H

#include <stdbool.h>
#include <glib.h>

typedef struct ns_cluster ns_cluster;

struct ns_cluster_ops {
    const char *name;
    /* Sends msg to rank `dest` (never blocks for long). */
    bool    (*send)(ns_cluster *c, int dest, GBytes *msg, GError **error);
    /* The next message from any rank, or NULL after timeout_us
     * microseconds (a negative timeout waits as long as it takes). */
    GBytes *(*recv)(ns_cluster *c, int *src, gint64 timeout_us);
    /* Leaves the cluster and frees c. */
    void    (*close)(ns_cluster *c);
};

struct ns_cluster {
    const struct ns_cluster_ops *ops;
    int rank;                      /* 0 .. size-1; 0 coordinates */
    int size;
};

static inline bool ns_cluster_send(ns_cluster *c, int dest, GBytes *msg, GError **error)
{
    return c->ops->send(c, dest, msg, error);
}

static inline GBytes *ns_cluster_recv(ns_cluster *c, int *src, gint64 timeout_us)
{
    return c->ops->recv(c, src, timeout_us);
}

static inline void ns_cluster_close(ns_cluster *c)
{
    if (c)
        c->ops->close(c);
}

/* n ranks in this process: returns an array of n clusters, one per rank,
 * each to be used (and closed) by its own thread.  Free the array with
 * g_free after every rank is closed. */
ns_cluster **ns_cluster_loop_new(int n);

/* Joins the MPI job this process was started in (MPI_Init_thread; argc
 * and argv as main got them).  NULL with an error when netsim was built
 * without Open MPI or MPI cannot start. */
ns_cluster *ns_cluster_mpi_open(int *argc, char ***argv, GError **error);
/* Whether this netsim was built with Open MPI (netsim --version says). */
bool ns_cluster_mpi_built(void);

#endif
