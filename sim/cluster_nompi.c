/* cluster_nompi.c — ns_cluster_mpi_open for a netsim built without Open
 * MPI (the Makefile compiles this file or cluster_mpi.c, never both): the
 * error says how to get a build that has it. */
#include "netsim/cluster.h"
#include "netsim/sim.h"

ns_cluster *ns_cluster_mpi_open(int *argc, char ***argv, GError **error)
{
    (void)argc;
    (void)argv;
    g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                "--mpi: this netsim was built without Open MPI; install it "
                "(apt-get install openmpi-bin libopenmpi-dev) and run make again");
    return NULL;
}

bool ns_cluster_mpi_built(void)
{
    return false;
}
