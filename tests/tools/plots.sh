#!/bin/sh
# plots.sh — runs each plot scenario and renders its gnuplot script(s).
# `make plots`.  Each line of the table: scenario, output folder, scripts.
set -eu
render() {   # render SCENARIO OUTDIR SCRIPT...
    scenario=$1 out=$2
    shift 2
    ./netsim --quiet --out "$out" "$scenario" >/dev/null
    for gp in "$@"; do
        gnuplot -e "dir='$out'" "$gp"
        echo "plotted $gp -> $out/$(basename "$gp" .gp).png, .svg"
    done
}
render scenarios/demo.lua out/plots/demo plots/queue.gp
