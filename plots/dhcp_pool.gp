# dhcp_pool.gp — addresses each DHCP server has leased over time, from
# dhcp_pool.tsv (written by sim:dhcp_trace, sampled every `every`: a lease
# that runs out shows at the next sample).  Servers sharing one lease
# database (a failover pair) count the same leases.
#
#   gnuplot -e "dir='out/dhcp_pool_exhaustion'" plots/dhcp_pool.gp
#
# Writes DIR/dhcp_pool.png and DIR/dhcp_pool.svg.  Columns are read by name.
if (!exists("dir")) dir = "out/dhcp_pool_exhaustion"
file = dir."/dhcp_pool.tsv"
servers = system("awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == \"server\") c = i; next } !seen[$c]++ { printf \"%s \", $c }' '".file."'")
set datafile separator "\t"
set datafile columnheaders
# One series per server: awk keeps the header and that server's rows.
rows(s) = "< awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == \"server\") c = i; print; next } $c == \"".s."\"' '".file."'"
set title "DHCP pool occupancy"
set xlabel "simulated time (s)"
set ylabel "addresses leased"
set yrange [0:*]
set xrange [0:*]
set key outside right top
set grid
set style data steps
plot_it = 'plot for [s in servers] rows(s) using (column("time")):(column("leased")) title s lw 2'
set terminal pngcairo size 1200,500 font "sans,10"
set output dir."/dhcp_pool.png"
eval plot_it
set terminal svg size 1200,500 font "sans,10" dynamic
set output dir."/dhcp_pool.svg"
eval plot_it
set output
