#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Plots a soak CSV (from sf-soak) as RSS in MiB and open fds over time.
#   tests/soak/plot.sh CSV PNG WARMUP_SECONDS TITLE
set -euo pipefail
csv=$1 png=$2 warmup=$3 title=$4
gnuplot <<GP
set terminal pngcairo size 640,300 font ",9"
set output "$png"
set datafile separator ","
set key bottom right
set autoscale xfix
set xlabel "seconds"
set ylabel "RSS (MiB)"
set y2label "open fds"
set ytics nomirror
set y2tics
set y2range [0:*]
set title "$title"
set arrow from $warmup, graph 0 to $warmup, graph 1 nohead dt 2 lc rgb "gray"
plot "$csv" every ::1 using 1:(\$2/1024) with lines lw 2 title "RSS", \
     "" every ::1 using 1:3 axes x1y2 with steps lw 2 title "fds"
GP
