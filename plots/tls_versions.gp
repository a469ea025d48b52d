# tls_versions.gp — time to the client's first application byte against
# the round-trip time, one line per TLS mode, from tls_versions.lua's
# versions.tsv.
#
#   gnuplot -e "dir='out/tls_versions'" plots/tls_versions.gp
#
# Writes DIR/tls_versions.png and .svg.  Columns are read by name.
if (!exists("dir")) dir = "out/tls_versions"
file = dir."/versions.tsv"
set datafile separator "\t"
set datafile columnheaders
set title "TLS: first application byte after the SYN (tls_versions.lua)" noenhanced
set xlabel "round-trip time (ms)"
set ylabel "first byte (ms)"
set key top left opaque box
set grid
set style data linespoints
plot_it = 'plot file using (column("rtt_ms")):(column("tls12_full_ms")) title "1.2 full" lw 2, \
  "" using (column("rtt_ms")):(column("tls12_resumed_ms")) title "1.2 resumed (ticket)" lw 2, \
  "" using (column("rtt_ms")):(column("tls13_full_ms")) title "1.3 full" lw 2, \
  "" using (column("rtt_ms")):(column("tls13_hrr_ms")) title "1.3 HelloRetryRequest" lw 2, \
  "" using (column("rtt_ms")):(column("tls13_resumed_ms")) title "1.3 resumed (PSK)" lw 2, \
  "" using (column("rtt_ms")):(column("tls13_0rtt_ms")) title "1.3 0-RTT" lw 2'
set terminal pngcairo size 1000,600 font "sans,10"
set output dir."/tls_versions.png"
eval plot_it
set terminal svg size 1000,600 font "sans,10" dynamic
set output dir."/tls_versions.svg"
eval plot_it
set output
