# dhcp_timeline.gp — a Gantt chart of DHCP clients: one row per client,
# bars for the time it was BOUND, RENEWING (after T1) and REBINDING (after
# T2), "expired" for the time from a lease running out until the next
# one, and "acquiring" while it seeks its first lease (or one after a NAK
# or DECLINE); gaps: not started yet, or released (STOPPED).  From
# dhcp_timeline.tsv (written by sim:dhcp_trace).
#
#   gnuplot -e "dir='out/dhcp_renew_rebind'" plots/dhcp_timeline.gp
#
# Writes DIR/dhcp_timeline.png and DIR/dhcp_timeline.svg.  Columns are read
# by name (time, client, state, cause); the last row of each client (cause
# "end") closes its last bar at the end of the run.
if (!exists("dir")) dir = "out/dhcp_renew_rebind"
file = dir."/dhcp_timeline.tsv"
# awk turns state changes into bars: "row client start end kind", clients
# numbered from the top in order of first appearance.
bars = "awk -F'\t' -v OFS='\t' ' \
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } \
  { t = $col[\"time\"]; c = $col[\"client\"]; s = $col[\"state\"]; why = $col[\"cause\"]; \
    if (!(c in row)) { row[c] = ++n; name[n] = c } \
    if (c in kind && kind[c] != \"\") print row[c], c, since[c], t, kind[c]; \
    if (s == \"BOUND\") k = \"bound\"; else if (s == \"RENEWING\") k = \"renewing\"; \
    else if (s == \"REBINDING\") k = \"rebinding\"; \
    else if (why == \"expire\" || kind[c] == \"expired\") k = \"expired\"; \
    else if (s == \"STOPPED\") k = \"\"; else k = \"acquiring\"; \
    kind[c] = k; since[c] = t } \
  END { for (i = 1; i <= n; i++) print i, name[i], \"\", \"\", \"label\" }' '".file."'"
nclients = int(system(bars." | awk -F'\t' '$5 == \"label\"' | wc -l"))
labels = system(bars." | awk -F'\t' '$5 == \"label\" { printf \"%s\\\"%s\\\" %d\", sep, $2, $1; sep = \", \" }'")
eval "set ytics (".labels.")"
of(k) = "< ".bars." | awk -F'\t' '$5 == \"".k."\"'"
set datafile separator "\t"
set title "DHCP clients over time: lease state"
set xlabel "simulated time (s)"
set ylabel "client"
set yrange [nclients + 0.7:0.3]
set xrange [0:*]
set key outside right top
set grid x
set style fill solid 1.0 noborder
h = 0.35
plot_it = 'plot of("bound")     using 3:1:3:4:($1 - h):($1 + h) with boxxyerror lc rgb "#2ca02c" title "bound", \
               of("renewing")  using 3:1:3:4:($1 - h):($1 + h) with boxxyerror lc rgb "#ffbf00" title "renewing (after T1)", \
               of("rebinding") using 3:1:3:4:($1 - h):($1 + h) with boxxyerror lc rgb "#ff7f0e" title "rebinding (after T2)", \
               of("expired")   using 3:1:3:4:($1 - h):($1 + h) with boxxyerror lc rgb "#d62728" title "expired, no address", \
               of("acquiring") using 3:1:3:4:($1 - h):($1 + h) with boxxyerror lc rgb "#c7c7c7" title "acquiring (no address yet)"'
height = nclients * 18 + 150 < 500 ? 500 : nclients * 18 + 150
set terminal pngcairo size 1200,height font "sans,10"
set output dir."/dhcp_timeline.png"
eval plot_it
set terminal svg size 1200,height font "sans,10" dynamic
set output dir."/dhcp_timeline.svg"
eval plot_it
set output
