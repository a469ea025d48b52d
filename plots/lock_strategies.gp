# lock_strategies.gp — the race of locks_race.lua under every strategy,
# from locks_strategies.lua's strategies.tsv: grouped bars per strategy,
# above the acquisition latency (mean, longest) and the time until every
# client was done, below the aborted attempts and the deadlocks.  A
# strategy that left clients deadlocked is marked in red with how many;
# it has no mean (nobody acquired) and no done time, and its longest wait
# is the whole slot.
#
#   netsim scenarios/locks_strategies.lua
#   gnuplot -e "dir='out/locks_strategies'" plots/lock_strategies.gp
#
# Writes DIR/lock_strategies.png and .svg.  Columns are read by name;
# "nan" cells (values that do not exist) leave their bar out.
if (!exists("dir")) dir = "out/locks_strategies"
file = dir."/strategies.tsv"
set datafile separator "\t"
set datafile columnheaders
set datafile missing "nan"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right opaque box noenhanced
set xtics nomirror noenhanced
stuck(s) = column("deadlocked") > 0 \
    ? sprintf("DEADLOCKED\n%d of %d stuck", column("deadlocked"), column("clients")) : ""

top = 'plot file using (column("mean_wait_ms")):xtic(stringcolumn("strategy")) title "mean acquisition latency" lc rgb "#4e79a7", \
  "" using (column("max_wait_ms")) title "longest wait (still waiting: the whole slot)" lc rgb "#f28e2b", \
  "" using (column("done_ms")) title "until every client was done" lc rgb "#59a14f", \
  "" using ($0):(2.2 * column("max_wait_ms")):(stuck(0)) with labels tc rgb "#c00000" font ",10" notitle'
bottom = 'plot file using (column("retries")):xtic(stringcolumn("strategy")) title "aborted attempts (retries)" lc rgb "#76b7b2", \
  "" using (column("deadlocks")) title "deadlocks formed" lc rgb "#e15759", \
  "" using (column("deadlocked")) title "clients deadlocked at the end" lc rgb "#b07aa1"'

draw_it = 'set multiplot layout 2,1 title "Three clients race for one lock on a majority of three servers (locks_strategies.lua)" noenhanced; \
  set offsets 0, 0, 0, 0; set ylabel "ms (log scale)"; set logscale y; set yrange [1:*]; eval top; \
  unset logscale y; set ylabel "count"; set yrange [0:*]; set offsets 0, 0, 1, 0; eval bottom; \
  unset multiplot'
set terminal pngcairo size 1000,800 font "sans,10"
set output dir."/lock_strategies.png"
eval draw_it
set terminal svg size 1000,800 font "sans,10" dynamic
set output dir."/lock_strategies.svg"
eval draw_it
set output
