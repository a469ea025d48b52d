# cwnd.gp — congestion window and slow-start threshold of every TCP flow
# over time, from cwnd.tsv (written by sim:tcp_trace).
#
#   gnuplot -e "dir='out/congestion'" plots/cwnd.gp
#
# Writes DIR/cwnd.png and DIR/cwnd.svg.  Columns are read by name.
if (!exists("dir")) dir = "out/congestion"
file = dir."/cwnd.tsv"
flows = system("tail -n +2 '".file."' | cut -f2 | sort -u | tr '\\n' ' '")
set datafile separator "\t"
set datafile columnheaders
# One series per flow: awk keeps the header and that flow's rows, so lines
# join rows of one flow only.
rows(f) = "< awk -F'\t' 'NR == 1 || $2 == \"".f."\"' '".file."'"
set title "TCP congestion window (solid) and ssthresh (dashed)"
set xlabel "simulated time (s)"
set ylabel "bytes"
set format y "%.1s %cB"
set key outside right top
set grid
set style data steps
plot_it = 'plot for [f in flows] rows(f) using (column("time")):(column("cwnd_bytes")) title f." cwnd" lw 2, \
               for [f in flows] rows(f) using (column("time")):(column("ssthresh_bytes") > 0 ? column("ssthresh_bytes") : NaN) title f." ssthresh" dt 2 lw 1'
set terminal pngcairo size 1200,600 font "sans,10"
set output dir."/cwnd.png"
eval plot_it
set terminal svg size 1200,600 font "sans,10" dynamic
set output dir."/cwnd.svg"
eval plot_it
set output
