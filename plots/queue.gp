# queue.gp — customers in the system over time, from demo.lua's queue.tsv.
#
#   gnuplot -e "dir='out/demo'" plots/queue.gp
#
# Writes DIR/queue.png and DIR/queue.svg.  Columns are read by name from the
# TSV header, so a trace that gains columns keeps plotting.
if (!exists("dir")) dir = "out/demo"
set datafile separator "\t"
set title "M/M/1 queue: customers in the system (demo.lua)"
set xlabel "simulated time (s)"
set ylabel "customers in system"
set key top right opaque box
set grid
set style data steps
plot_it = 'plot dir."/queue.tsv" using (column("time")):(column("customers")) title "in system" lw 1 lc rgb "#9ecae1", \
               "" using (column("time")):(column("mean")) with lines title "time average" lw 2 lc rgb "#d62728"'

set terminal pngcairo size 1000,500 font "sans,10"
set output dir."/queue.png"
eval plot_it
set terminal svg size 1000,500 font "sans,10" dynamic
set output dir."/queue.svg"
eval plot_it
set output
