# seq.gp — the "Stevens" plot: sequence numbers sent, retransmitted and
# acknowledged over time, from seq.tsv (sim:tcp_trace{ seq = true }).
# Relative sequence numbers, as Wireshark shows them.
#
#   gnuplot -e "dir='out/lossy_transfer'" plots/seq.gp
if (!exists("dir")) dir = "out/lossy_transfer"
file = dir."/seq.tsv"
set datafile separator "\t"
set datafile columnheaders
# One series per kind: awk keeps the header and that kind's rows, so the
# acknowledgment line joins acknowledgments only.
rows(k) = "< awk -F'\t' 'NR == 1 || $3 == \"".k."\"' '".file."'"
set title "TCP sequence numbers (Stevens plot)"
set xlabel "simulated time (s)"
set ylabel "relative sequence number (bytes)"
set format y "%.1s %cB"
set key left top
set grid
plot_it = 'plot rows("send") using (column("time")):(column("seq")) with points pt 7 ps 0.4 lc rgb "#1f77b4" title "segment sent", \
               rows("rexmit") using (column("time")):(column("seq")) with points pt 6 ps 1.2 lc rgb "#d62728" title "retransmission", \
               rows("ack") using (column("time")):(column("seq")) with steps lw 1 lc rgb "#2ca02c" title "acknowledged"'
set terminal pngcairo size 1200,600 font "sans,10"
set output dir."/seq.png"
eval plot_it
set terminal svg size 1200,600 font "sans,10" dynamic
set output dir."/seq.svg"
eval plot_it
set output
