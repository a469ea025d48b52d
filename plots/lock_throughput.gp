# lock_throughput.gp — lock throughput (critical sections per second) vs
# the number of clients, one line per strategy, with 95% confidence
# intervals over seeds, from summary.tsv of a sweep of locks_workload.lua
# over clients and strategy.
#
#   netsim sweep scenarios/locks_workload.lua --seeds 1..10 -D clients=2:12:6 \
#     -D strategy=wait,release_all,ordered,wait_die,wound_wait,detect \
#     --out out/lock_throughput-sweep
#   gnuplot -e "dir='out/lock_throughput-sweep'" plots/lock_throughput.gp
#
# Writes DIR/lock_throughput.png and .svg.  Throughput counts critical
# sections until the run went quiet: `wait` stops early when it deadlocks.
# Columns are read by name.
if (!exists("dir")) dir = "out/lock_throughput-sweep"
file = dir."/summary.tsv"
# the strategy column's position, then its values in first-seen order
scol = system("head -1 '".file."' | tr '\\t' '\\n' | grep -nx strategy | cut -d: -f1")
strategies = system("tail -n +2 '".file."' | cut -f".scol." | awk '!seen[$0]++' | tr '\\n' ' '")
set datafile separator "\t"
set datafile columnheaders
rows(s) = "< awk -F'\t' 'NR == 1 || $".scol." == \"".s."\"' '".file."'"
set title "Lock throughput vs clients per strategy (locks_workload.lua, 5 servers, majority)" noenhanced
set xlabel "clients (each locks 2 of 3 resources per transaction)"
set ylabel "critical sections per second (simulated)"
set key outside right top noenhanced
set grid
set yrange [0:*]
plot_it = 'plot for [s in strategies] rows(s) using (column("clients")):(column("throughput_mean")):(column("throughput_ci95")) with yerrorlines title s lw 2'
set terminal pngcairo size 1000,600 font "sans,10"
set output dir."/lock_throughput.png"
eval plot_it
set terminal svg size 1000,600 font "sans,10" dynamic
set output dir."/lock_throughput.svg"
eval plot_it
set output
