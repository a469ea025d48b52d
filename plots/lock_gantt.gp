# lock_gantt.gp — who holds which lock over time: a Gantt chart with one
# row per (server, resource), a bar per holding labelled with the client,
# one colour per client.  A bar ends where its cause says: a release, an
# expired lease (hatched), a server crash that forgot its table, or the
# end of the run.  From holds.tsv (written by cl:holds_table).
#
#   netsim scenarios/locks_crash.lua
#   gnuplot -e "dir='out/locks_crash'" plots/lock_gantt.gp
#
# Writes DIR/lock_gantt.png and DIR/lock_gantt.svg.  Columns are read by
# name (time, server, resource, holder, cause).
if (!exists("dir")) dir = "out/locks_crash"
file = dir."/holds.tsv"
# awk turns holder changes into bars: "row label start end client colour
# ended-by"; rows numbered from the top in order of first appearance,
# colours by client in order of first appearance.
bars = "awk -F'\t' -v OFS='\t' ' \
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } \
  { t = $col[\"time\"]; k = $col[\"server\"] \" \" $col[\"resource\"]; \
    h = $col[\"holder\"]; why = $col[\"cause\"]; \
    if (!(k in row)) { row[k] = ++n; name[n] = k } \
    if (holder[k] != \"\") print row[k], k, since[k], t, holder[k], colour[holder[k]], why; \
    holder[k] = (why == \"end\") ? \"\" : h; since[k] = t; \
    if (h != \"\" && !(h in colour)) { colour[h] = ++nc; cname[nc] = h } } \
  END { for (i = 1; i <= n; i++) print i, name[i], \"\", \"\", \"\", 0, \"label\"; \
        for (i = 1; i <= nc; i++) print 0, cname[i], \"\", \"\", cname[i], i, \"client\" }' '".file."'"
nrows = int(system(bars." | awk -F'\t' '$7 == \"label\"' | wc -l"))
labels = system(bars." | awk -F'\t' '$7 == \"label\" { printf \"%s\\\"%s\\\" %d\", sep, $2, $1; sep = \", \" }'")
eval "set ytics (".labels.")"
held  = "< ".bars." | awk -F'\t' '$7 != \"label\" && $7 != \"client\"'"
lapsed = "< ".bars." | awk -F'\t' '$7 == \"expire\" || $7 == \"crash\"'"
set datafile separator "\t"
set title "Who holds which lock: ".dir." (hatched: ended by an expired lease or a crash)" noenhanced
set xlabel "simulated time (s)"
set ylabel "server, resource"
set yrange [nrows + 0.7:0.3]
set xrange [0:*]
set grid x
set key off
set style fill solid 0.85 noborder
h = 0.35
set palette defined (1 "#1f77b4", 2 "#ff7f0e", 3 "#2ca02c", 4 "#d62728", 5 "#9467bd", \
                     6 "#8c564b", 7 "#e377c2", 8 "#7f7f7f", 9 "#bcbd22", 10 "#17becf")
set cbrange [1:10]
unset colorbox
nlapsed = int(system(bars." | awk -F'\t' '$7 == \"expire\" || $7 == \"crash\"' | wc -l"))
hatch = nlapsed > 0 ? 'lapsed using 3:1:3:4:($1 - h):($1 + h) with boxxyerror fs transparent pattern 4 lc rgb "#000000", ' : ''
plot_it = 'plot held using 3:1:3:4:($1 - h):($1 + h):(int($6 - 1) % 10 + 1) with boxxyerror lc palette, '.hatch. \
               'held using (($3 + $4) / 2):1:5 with labels tc rgb "#000000" font ",9"'
height = nrows * 30 + 150 < 400 ? 400 : nrows * 30 + 150
set terminal pngcairo size 1100,height font "sans,10"
set output dir."/lock_gantt.png"
eval plot_it
set terminal svg size 1100,height font "sans,10" dynamic
set output dir."/lock_gantt.svg"
eval plot_it
set output
