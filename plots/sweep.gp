# sweep.gp — one result of a sweep against one parameter, a line per value
# of another, with 95% confidence intervals as error bars, from summary.tsv.
#
#   gnuplot -e "dir='out/congestion-sweep'; x='loss'; y='goodput'; by='cc'" plots/sweep.gp
#
# Writes DIR/sweep-Y.png.  Columns are read by name: x is a parameter
# column, y a result (its y_mean and y_ci95 columns), by a parameter column
# (optional: without it, one line).
if (!exists("dir")) dir = "out/sweep"
if (!exists("x")) x = "x"
if (!exists("y")) y = "y"
if (!exists("by")) by = ""
file = dir."/summary.tsv"
set datafile separator "\t"
set title sprintf("%s against %s (mean, 95%% CI across seeds)", y, x)
set xlabel x
set ylabel y
set key outside right
set grid
if (exists("logx") && logx) set logscale x
# The distinct values of the `by` column, in first-seen order.
if (strlen(by) > 0) {
    groups = system(sprintf("awk -F'\\t' 'NR==1{for(i=1;i<=NF;i++)if($i==\"%s\")c=i;next}!s[$c]++{printf \"%%s \", $c}' %s", by, file))
} else {
    groups = "all"
}
set terminal pngcairo size 1000,600 font "sans,10"
set output dir."/sweep-".y.".png"
plot for [g in groups] file using (strlen(by) == 0 || strcol(by) eq g ? column(x) : NaN):(column(y."_mean")):(column(y."_ci95")) \
     with yerrorlines title (strlen(by) > 0 ? by."=".g : y)
set output
