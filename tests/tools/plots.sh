#!/bin/sh
# plots.sh — runs each plot scenario and renders its gnuplot scripts into
# out/plots/NAME/ (PNG and SVG beside the traces).  `make plots`.
set -eu
render() {   # render SCENARIO OUTDIR SCRIPT...
    scenario=$1 out=$2
    shift 2
    ./netsim --quiet --out "$out" "$scenario" >/dev/null
    for gp in "$@"; do
        plot "$gp" "$out"
    done
}
plot() {   # plot SCRIPT DIR: renders DIR/SCRIPT.png and .svg, and checks
           # that both were written (not left over from an earlier run)
    base=$2/$(basename "$1" .gp)
    rm -f "$base.png" "$base.svg"
    gnuplot -e "dir='$2'" "$1"
    for f in "$base.png" "$base.svg"; do
        if [ ! -s "$f" ]; then
            echo "plots: $1 did not write $f" >&2
            exit 1
        fi
    done
    echo "plotted $1 -> $base.png, .svg"
}
render scenarios/demo.lua           out/plots/demo           plots/queue.gp
render scenarios/congestion.lua     out/plots/congestion     plots/cwnd.gp plots/goodput.gp
render scenarios/lossy_transfer.lua out/plots/lossy_transfer plots/seq.gp plots/cwnd.gp
render scenarios/tls_versions.lua   out/plots/tls_versions   plots/tls_versions.gp
render scenarios/tls_loss.lua       out/plots/tls_loss       plots/tls_loss.gp
render scenarios/dhcp_renew_rebind.lua    out/plots/dhcp_renew_rebind    plots/dhcp_timeline.gp plots/dhcp_pool.gp
render scenarios/dhcp_pool_exhaustion.lua out/plots/dhcp_pool_exhaustion plots/dhcp_timeline.gp plots/dhcp_pool.gp
render scenarios/locks_crash.lua          out/plots/locks_crash          plots/lock_gantt.gp
render scenarios/locks_transactions.lua   out/plots/locks_transactions   plots/lock_gantt.gp
# The race of locks_race.lua under every strategy: one run, one table.
render scenarios/locks_strategies.lua     out/plots/locks_strategies     plots/lock_strategies.gp
# The strategies under a contended workload: sweeps, then their plots.
strategies=wait,release_all,ordered,wait_die,wound_wait,detect
./netsim sweep scenarios/locks_workload.lua --seeds 1..20 --keep-outputs \
    -D strategy=$strategies --out out/plots/locks_workload-sweep --quiet
plot plots/lock_latency_cdf.gp out/plots/locks_workload-sweep
./netsim sweep scenarios/locks_workload.lua --seeds 1..10 -D clients=2:12:6 \
    -D strategy=$strategies --out out/plots/lock_throughput-sweep --quiet
plot plots/lock_throughput.gp out/plots/lock_throughput-sweep
