# tests/vm/check-map-bench --png: 4 KiB MAP+UNMAP pairs/s on QEMU's virtio-iommu, the guest
# kernel's VFIO type1 path against uviommu at each batch shape. One bar per row (the median, log
# y axis), a bar from the lowest to the highest run, above each bar its pairs/s and its ratio to
# the kernel, and dashed lines at the issue's targets: 25 and 40 times the kernel.
#
# Input: the CSV of check-map-bench --csv, columns
#   path,batch,median_pairs_per_s,min_pairs_per_s,max_pairs_per_s,samples,over_kernel
# with path "kernel-vfio" (first row) or "uviommu", batch a number or "coalesced64".
#
#   gnuplot -e "data='doc/bench-kernel.csv'; out='doc/bench-kernel.png'" tests/vm/plot-map-bench.gp
#
# Optional: title='...'. Needs gnuplot with the pngcairo terminal (Debian: gnuplot-nox).

if (!exists("data")) data = 'doc/bench-kernel.csv'
if (!exists("out")) out = 'doc/bench-kernel.png'
if (!exists("title")) title = '4 KiB MAP+UNMAP pairs/s on QEMU''s virtio-iommu (TCG guest), ' . \
	'median of all runs'

set terminal pngcairo size 960,600 font 'sans,11'
set output out
set datafile separator ','
set title title
set ylabel 'pairs/s (log scale)'
set logscale y 10
set format y '%.0s%c'
set grid ytics
set key top left box opaque
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.6
set xrange [-0.6:5.6]

stats data skip 1 using (strcol(1) eq 'kernel-vfio' ? column(3) : NaN) nooutput
kernel = STATS_max
stats data skip 1 using 5 nooutput
top = STATS_max * 4 > kernel * 80 ? STATS_max * 4 : kernel * 80
set yrange [kernel / 3 : top]

label_of(p, b) = p eq 'kernel-vfio' ? "kernel\nvirtio-iommu\n+ VFIO type1" : \
	(b eq 'coalesced64' ? "uviommu\nbatch 64,\nUNMAP coalesced" : \
	(b eq '1' ? "uviommu\nbatch 1" : "uviommu\nbatch " . b))
colour_of(p) = p eq 'kernel-vfio' ? 0x7f7f7f : 0x1f77b4
set bmargin 5

plot 25 * kernel with lines dt 2 lw 1.5 lc rgb '#2ca02c' title 'target for batch 64: 25 x kernel', \
     40 * kernel with lines dt 3 lw 1.5 lc rgb '#d62728' \
	title 'target for coalesced: 40 x kernel', \
     data skip 1 using 0:3:(colour_of(strcol(1))):xtic(label_of(strcol(1), strcol(2))) \
	with boxes lc rgb variable notitle, \
     data skip 1 using 0:4:(0):(column(5) - column(4)) with vectors heads size 0.05,90 \
	lw 1.2 lc rgb '#000000' title 'lowest to highest run', \
     data skip 1 using 0:(column(5) * 1.6):(sprintf("%.0fk\n%.1fx", column(3) / 1000, \
	column(7))) with labels font 'sans,10' notitle
