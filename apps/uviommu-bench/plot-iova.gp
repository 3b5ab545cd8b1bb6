# uviommu-bench iova: ns per operation of the IOVA allocator against the first-fit reference and
# the targets, one bar per measure (log y axis).
#
# Input: CSV measure,uviommu_ns,reference_ns,target_ns (doc/bench-iova.csv, the medians of
# doc/bench-iova.json as doc/iova.md reports them):
#
#   gnuplot -e "data='doc/bench-iova.csv'; out='doc/bench-iova.png'" apps/uviommu-bench/plot-iova.gp
#
# Needs gnuplot with the pngcairo terminal (Debian: gnuplot-nox).

if (!exists("data")) data = 'doc/bench-iova.csv'
if (!exists("out")) out = 'doc/bench-iova.png'

set terminal pngcairo size 900,560 font 'sans,11'
set output out
set datafile separator ','
set datafile missing ''
set title 'uviommu-bench iova: ns per operation (medians), the first-fit reference and the targets'
set ylabel 'ns (log scale)'
set logscale y
set yrange [1:20000]
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics scale 0
set bmargin 4
set key autotitle columnheader
set grid ytics
set key top left box opaque
plot data using 2:xtic(1) title 'uviommu (lib/iova)', \
     '' using 3 title 'first-fit reference', \
     '' using 4 title 'target (at most)'
