# lock_latency_cdf.gp — acquisition latency CDF per lock strategy: the
# time from a transaction's first attempt to holding all its resources
# (retries included), from the acquisitions.tsv of every run of a sweep
# of locks_workload.lua kept with --keep-outputs.
#
#   netsim sweep scenarios/locks_workload.lua --seeds 1..20 --keep-outputs \
#     -D strategy=wait,release_all,ordered,wait_die,wound_wait,detect \
#     --out out/locks_workload-sweep
#   gnuplot -e "dir='out/locks_workload-sweep'" plots/lock_latency_cdf.gp
#
# Writes DIR/lock_latency_cdf.png and .svg.  The fraction is of the
# acquisitions that happened: clients deadlocked under `wait` never
# acquire, so the legend gives each strategy's count.  Columns are read by
# name (wait_s), whatever their position.
if (!exists("dir")) dir = "out/locks_workload-sweep"
points = system("cd '".dir."/runs' && ls -d strategy=* | sed 's/^strategy=//' | tr '\\n' ' '")
# One strategy's wait_s values from all its runs, sorted, with their rank
# over the count: the empirical CDF as (x, y) rows.
cdf(s) = "< awk -F'\t' 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == \"wait_s\") c = i; next } " \
         . "{ print $c * 1000 }' '".dir."/runs/strategy=".s."'/seed-*/acquisitions.tsv " \
         . "| sort -g | awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }'"
count(s) = system("cat '".dir."/runs/strategy=".s."'/seed-*/acquisitions.tsv | grep -vc '^time'")
set title "Lock acquisition latency per strategy (locks_workload.lua, 5 servers, majority)" noenhanced
set xlabel "acquisition latency: first attempt to all resources held (ms)"
set ylabel "fraction of acquisitions"
set logscale x
set yrange [0:1.02]
set key bottom right opaque box noenhanced
set grid
set style data steps
plot_it = 'plot for [s in points] cdf(s) using 1:2 title sprintf("%s (n=%s)", s, count(s)) lw 2'
set terminal pngcairo size 1000,600 font "sans,10"
set output dir."/lock_latency_cdf.png"
eval plot_it
set terminal svg size 1000,600 font "sans,10" dynamic
set output dir."/lock_latency_cdf.svg"
eval plot_it
set output
