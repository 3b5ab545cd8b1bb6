/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_BENCH_IOVA_H
#define UVIOMMU_BENCH_IOVA_H

/*
 * uviommu-bench iova, one part per file:
 *   bench_iova.c       the command, the cached alloc+free pairs (1 and 2 threads)
 *   bench_iova_tree.c  uncached allocation with 1,000,000 live ranges and the
 *                      fragmentation run, through lib/iova and the first-fit
 *                      reference (iova_firstfit.c)
 *   bench_iova_lazy.c  strict and lazy viommu_dma_map/unmap against the software
 *                      device: pairs/s and the measured exposure window
 */

#include <stdbool.h>
#include <stdint.h>

#define BENCH_IOVA_G 4096ull

/* uviommu-bench iova [--json] [--reps N] */
int bench_iova(int argc, char **argv);

struct iova_tree_result {
	double alloc_ns, alloc_p50_ns, alloc_p99_ns; /* per allocation, clock cost removed */
	double alloc_ns_ref_rounds; /* lib/iova over the rounds the reference ran */
	double ref_alloc_ns, ref_alloc_p99_ns;
	double ref_steps;        /* holes the reference walked per allocation */
	bool same_placements;    /* both allocators returned the same IOVAs */
	uint64_t free_ranges;    /* holes in lib/iova's tree while measuring */
	double fifo_p99_ns;      /* the same million live ranges freed in FIFO order */
	uint64_t frag_failures, frag_failures_uncached, ref_frag_failures, frag_allocs;
};

/* bench_iova_tree.c; false (and a message) on a failure. */
bool bench_iova_live(struct iova_tree_result *r);
bool bench_iova_fifo(struct iova_tree_result *r);
bool bench_iova_fragmentation(struct iova_tree_result *r);

/* uint64 helpers shared by the parts */
uint64_t bench_iova_rng(uint64_t *state);
int bench_iova_cmp_double(const void *a, const void *b);

/* bench_iova_lazy.c: prints its own table; false on a failure. */
bool bench_iova_lazy(void);

#endif
