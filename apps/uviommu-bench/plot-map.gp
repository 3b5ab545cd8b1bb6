# uviommu-bench map: 4 KiB MAP+UNMAP pairs/s against the batch size (log x axis), one line per
# ring layout, the batch of 64 with UNMAP coalescing as a point of its own, and a dashed line at
# 5 times the split ring's batch 1 (the target for batch 64).
#
# Input: CSV with the columns ring,batch,pairs_per_s,p50_us,p99_us: what `uviommu-bench map
# --csv` writes, with the ring layout in front; batch is a number or "coalesced64".
#
#   gnuplot -e "data='doc/bench-map-sim.csv'; out='doc/bench-map-sim.png'" \
#       apps/uviommu-bench/plot-map.gp
#
# Optional: title='...'. Needs gnuplot with the pngcairo terminal (Debian: gnuplot-nox).

if (!exists("data")) data = 'doc/bench-map-sim.csv'
if (!exists("out")) out = 'doc/bench-map-sim.png'
if (!exists("title")) title = 'uviommu-bench map: 4 KiB MAP+UNMAP pairs/s'

set terminal pngcairo size 960,600 font 'sans,11'
set output out
set datafile separator ','
set title title
set xlabel 'batch size B (a batch of B MAPs, then one of B UNMAPs; ' . \
	'B = 1: viommu\_map + viommu\_unmap)'
set ylabel 'pairs/s'
set logscale x 2
set xrange [0.7:370]
set xtics (1, 8, 64, 256)
set yrange [0:*]
set format y '%.1s%c'
set grid xtics ytics
set key bottom right box opaque

# Rows of one layout, numeric batches only (the header and the coalesced row give NaN).
batch_of(r) = (strcol(1) eq r && strcol(2) ne 'coalesced64') ? column(2) : NaN
coalesced_of(r) = (strcol(1) eq r && strcol(2) eq 'coalesced64') ? 64 : NaN

stats data using ((strcol(1) eq 'split' && strcol(2) eq '1') ? column(3) : NaN) nooutput
target = 5 * STATS_max

plot target with lines dt 2 lw 1.5 lc rgb '#555555' \
	title '5 x split batch 1 (target of batch 64)', \
     data using (batch_of('split')):3 with linespoints lw 2 pt 7 ps 1.3 lc rgb '#1f77b4' \
	title 'split ring', \
     data using (batch_of('packed')):3 with linespoints lw 2 pt 5 ps 1.3 lc rgb '#d62728' \
	title 'packed ring', \
     data using (coalesced_of('split')):3 with points pt 9 ps 2.2 lc rgb '#1f77b4' \
	title 'split, batch 64 + UNMAP coalescing', \
     data using (coalesced_of('packed')):3 with points pt 11 ps 2.2 lc rgb '#d62728' \
	title 'packed, batch 64 + UNMAP coalescing'
