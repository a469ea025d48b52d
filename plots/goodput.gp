# goodput.gp — application goodput of every TCP flow over time, from
# goodput.tsv (written by sim:tcp_trace): bytes delivered in order per
# interval, in bit/s.
#
#   gnuplot -e "dir='out/congestion'" plots/goodput.gp
if (!exists("dir")) dir = "out/congestion"
file = dir."/goodput.tsv"
flows = system("tail -n +2 '".file."' | cut -f2 | sort -u | tr '\\n' ' '")
set datafile separator "\t"
set datafile columnheaders
# One series per flow: awk keeps the header and that flow's rows, so lines
# join rows of one flow only.
rows(f) = "< awk -F'\t' 'NR == 1 || $2 == \"".f."\"' '".file."'"
set title "TCP goodput per flow"
set xlabel "simulated time (s)"
set ylabel "goodput (bit/s)"
set format y "%.1s %cbit/s"
set key outside right top
set grid
set style data lines
plot_it = 'plot for [f in flows] rows(f) using (column("time")):(column("goodput_bps")) title f lw 2'
set terminal pngcairo size 1200,600 font "sans,10"
set output dir."/goodput.png"
eval plot_it
set terminal svg size 1200,600 font "sans,10" dynamic
set output dir."/goodput.svg"
eval plot_it
set output
