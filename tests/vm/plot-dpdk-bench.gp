# tests/vm/check-dpdk: testpmd io-forward packets/s per port in the QEMU guest, plain (no IOMMU
# translation: boot bypass), ideal (one identity mapping of all RAM, both NICs in one domain)
# and isolated (drivers/dpdk's plugin: DPDK's memory only, one domain per NIC). One bar per mode
# (the median), a bar from the lowest to the highest run, a point per run, the median above.
#
# Input: BUILD/vm-dpdk.csv of tests/vm/check-dpdk, columns mode,median_pps,min_pps,max_pps,
# then one column per run.
#
#   gnuplot -e "data='doc/bench-dpdk.csv'; out='doc/bench-dpdk.png'" tests/vm/plot-dpdk-bench.gp
#
# Needs gnuplot with the pngcairo terminal (Debian: gnuplot-nox).

if (!exists("data")) data = 'doc/bench-dpdk.csv'
if (!exists("out")) out = 'doc/bench-dpdk.png'
if (!exists("title")) title = 'dpdk-testpmd io forwarding, 2 e1000e on one hub (TCG guest)'

set terminal pngcairo size 800,560 font 'sans,11'
set output out
set datafile separator ','
set title title
set ylabel 'packets/s per port'
set format y '%.0s%c'
set yrange [0:*]
set grid ytics
set key top right box opaque
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.6
set xrange [-0.6:2.6]
set offsets 0, 0, graph 0.12, 0
runs = 5

plot data every ::1 using 0:2:xtic(1) with boxes lc rgb '#4c78a8' title 'median', \
     '' every ::1 using 0:2:3:4 with yerrorbars lc rgb '#222222' pt -1 lw 1.5 title 'lowest to highest run', \
     for [i=1:runs] '' every ::1 using 0:(column(4 + i)) with points pt 7 ps 0.8 lc rgb '#e45756' \
        title (i == 1 ? 'each run' : ''), \
     '' every ::1 using 0:2:(sprintf('%.0fk', $2 / 1000)) with labels offset 0,1.2 notitle
