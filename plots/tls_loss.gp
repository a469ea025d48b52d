# tls_loss.gp — CDF of TLS handshake times, one line per loss rate, from
# tls_loss.lua's cdf.tsv.
#
#   gnuplot -e "dir='out/tls_loss'" plots/tls_loss.gp
#
# Writes DIR/tls_loss.png and .svg.  Columns are read by name.
if (!exists("dir")) dir = "out/tls_loss"
file = dir."/cdf.tsv"
losses = system("tail -n +2 '".file."' | cut -f2 | sort -u -g | tr '\\n' ' '")
set datafile separator "\t"
set datafile columnheaders
rows(l) = "< awk -F'\t' 'NR == 1 || $2 == \"".l."\"' '".file."'"
set title "TLS 1.3 handshake time under loss (tls_loss.lua)" noenhanced
set xlabel "handshake time, SYN to Finished (ms)"
set ylabel "fraction of handshakes"
set logscale x
set yrange [0:1.02]
set key bottom right opaque box
set grid
set style data steps
plot_it = 'plot for [l in losses] rows(l) using (column("handshake_ms")):(column("cdf")) title sprintf("loss %g%%", l * 100) lw 2'
set terminal pngcairo size 1000,600 font "sans,10"
set output dir."/tls_loss.png"
eval plot_it
set terminal svg size 1000,600 font "sans,10" dynamic
set output dir."/tls_loss.svg"
eval plot_it
set output
