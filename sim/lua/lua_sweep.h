/* lua_sweep.h — what lua_sweep.c (one process: threads) and
 * lua_sweep_dist.c (ranks of a cluster) share about a sweep in progress.
 * Private to sim/lua. */
#ifndef NETSIM_LUA_SWEEP_H
#define NETSIM_LUA_SWEEP_H

#include "lua_sim.h"
#include "netsim/cluster.h"
#include "netsim/sweep.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

struct sweep {
    /* The command line (read-only once workers start). */
    const char    *scenario;
    ns_sweep_grid *grid;
    uint64_t       seed_first, seed_last;
    unsigned       jobs_n;             /* -j; 0 until parsed or defaulted */
    const char    *out_dir;
    bool           keep_outputs, resume, quiet, explore, all, mpi;
    unsigned       shard_i, shard_n;   /* 0/0: no shard */
    ns_time_t      until;
    uint64_t       max_events;
    volatile int  *interrupt;          /* the SIGINT flag */
    ns_cluster    *cluster;            /* NULL: this process alone */
    /* The work. */
    ns_sweep_table *table;
    GPtrArray     *jobs;               /* struct ns_sweep_row*, in run order */
    gint           next;               /* next job index (atomic) */
    gint           done;               /* finished jobs (atomic) */
    gint           stop;               /* a usage error: take no more jobs */
    GMutex         lock;               /* guards what follows */
    GCond          finished;
    unsigned       alive;              /* workers still running */
    char          *usage_msg;          /* first usage error, owned */
    bool           found;              /* explore: a failing seed */
    uint64_t       min_fail;           /* explore: lowest failing seed */
    uint64_t       failures;
};

/* Runs row's point and seed in a fresh lua_State with outputs under
 * tmp_dir (or kept); false only on a usage error, its message in *usage. */
bool ns__sweep_run_one(struct sweep *sw, struct ns_sweep_row *row, const char *tmp_dir,
                       char **usage);
/* The next job to run (its index in *k), or NULL when there is none left
 * or the sweep is stopping. */
struct ns_sweep_row *ns__sweep_next_job(struct sweep *sw, guint *k);
/* Counts a finished row: failures, the lowest failing seed, runs done. */
void ns__sweep_count(struct sweep *sw, const struct ns_sweep_row *row);
/* Keeps the first usage error and stops handing out jobs. */
void ns__sweep_usage(struct sweep *sw, char *msg);
/* Fills row->params with its point's values. */
void ns__sweep_fill_params(const struct sweep *sw, struct ns_sweep_row *row);
/* A scratch folder for runs' aborted outputs, and its removal. */
char *ns__sweep_scratch_dir(const struct sweep *sw);
void  ns__sweep_scratch_free(const struct sweep *sw, char *tmp);
void  ns__sweep_progress(const struct sweep *sw, gint64 t0, bool last);

/* lua_sweep_dist.c.  Rank 0: hands jobs to the other ranks until none is
 * left, collecting their rows (local workers run beside it).  Other
 * ranks: runs what rank 0 hands out; returns the exit status. */
void ns__sweep_coordinate(struct sweep *sw, gint64 t0, bool show);
int  ns__sweep_serve(struct sweep *sw);

#endif
