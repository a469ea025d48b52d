/* bench_sweep.c — how well `netsim sweep` uses the cores (issue 13): a grid
 * of 64 short TCP runs with -j 1 and with -j 2, and the start-up cost of a
 * run (scenario load, Lua state) from a sweep of 64 trivial runs.
 * Targets: speed-up >= 1.8 on this 2-core machine; start-up under 5 ms.
 *
 * It runs the netsim binary (NETSIM_BIN, default ./build/netsim) on
 * scenarios it writes to a temporary folder, and times whole sweeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib/gstdio.h>

#include "bench.h"

static const char tcp_scenario[] =
    "local netsim = require 'netsim'\n"
    "local p = netsim.params { rtt = '20ms', cc = 'newreno' }\n"
    "local sim = netsim.new { trace = false }\n"
    "local a, b = sim:host 'a', sim:host 'b'\n"
    "sim:link(a, b, { rate = '10Mbps', delay = p.rtt / 2 })\n"
    "local c = a:tcp_bulk(b, { cc = p.cc })\n"
    "sim:run '30s'\n"
    "netsim.result { bytes = c:info().bytes_acked }\n";

static const char trivial_scenario[] =
    "local netsim = require 'netsim'\n"
    "local p = netsim.params { x = 1 }\n"
    "local sim = netsim.new { trace = false }\n"
    "sim:run()\n"
    "netsim.result { x = p.x }\n";

static const char *netsim_bin(void)
{
    const char *b = getenv("NETSIM_BIN");
    return b && *b ? b : "./build/netsim";
}

/* Wall seconds of one sweep; < 0 on failure. */
static double sweep(const char *scenario, const char *grid, const char *seeds, int jobs,
                    const char *out)
{
    char j[16];
    g_snprintf(j, sizeof j, "%d", jobs);
    char *argv[] = { (char *)netsim_bin(), "sweep", (char *)scenario, "-D", (char *)grid,
                     "--seeds", (char *)seeds, "-j", j, "--out", (char *)out, "--quiet", NULL };
    int status = -1;
    double t0 = bench_now();
    gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, NULL);
    double w = bench_now() - t0;
    return ok && status == 0 ? w : -1;
}

static bool bench_sweep_run(const struct bench_opts *opts)
{
    char *dir = g_dir_make_tmp("netsim-bench-XXXXXX", NULL);
    if (!dir)
        return false;
    char *tcp = g_build_filename(dir, "tcp.lua", NULL);
    char *triv = g_build_filename(dir, "trivial.lua", NULL);
    char *out = g_build_filename(dir, "out", NULL);
    g_file_set_contents(tcp, tcp_scenario, -1, NULL);
    g_file_set_contents(triv, trivial_scenario, -1, NULL);
    /* 4 x 2 points x 8 seeds = 64 runs */
    const char *grid = "rtt=10ms,20ms,40ms,80ms";
    double j1 = 1e30, j2 = 1e30;
    /* The best of 3 (interleaved): on a shared 2-vCPU machine the second
     * CPU comes and goes, and the -j 2 time with it. */
    unsigned reps = opts->reps ? opts->reps : 3;
    for (unsigned r = 0; r < reps; r++) {
        double a = sweep(tcp, grid, "1..16", 1, out);
        double b = sweep(tcp, grid, "1..16", 2, out);
        if (a < 0 || b < 0)
            return false;
        j1 = a < j1 ? a : j1;
        j2 = b < j2 ? b : j2;
    }
    double triv64 = sweep(triv, "x=1,2,3,4", "1..16", 1, out);
    bench_json *j = bench_json_begin("sweep_scaling");
    bench_json_int(j, "runs", 64);
    bench_json_num(j, "wall_s_j1", j1);
    bench_json_num(j, "wall_s_j2", j2);
    bench_json_num(j, "speedup", j1 / j2);
    bench_json_num(j, "startup_ms_per_run", triv64 * 1000.0 / 64);
    bench_json_bool(j, "target_met", j1 / j2 >= 1.8 && triv64 * 1000.0 / 64 < 5);
    bench_json_end(j);
    char *rm[] = { "rm", "-rf", dir, NULL };
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(tcp);
    g_free(triv);
    g_free(out);
    g_free(dir);
    return triv64 > 0;
}

const struct bench bench_sweep_scaling = {
    "sweep_scaling", "64 short TCP runs with -j 1 and -j 2; start-up cost per run",
    bench_sweep_run
};
