/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_BENCH_IOVA_FIRSTFIT_H
#define UVIOMMU_BENCH_IOVA_FIRSTFIT_H

/*
 * The reference of uviommu-bench iova: the simplest address-ordered first
 * fit, a list of free ranges in address order walked from its head on
 * every allocation. Single-threaded. Its frees find their neighbours in a
 * plain (unaugmented) tree, so that setting up a million live ranges ends
 * in seconds; only the allocation is compared.
 */

#include <stdint.h>

#include "../../lib/common/rbtree.h"

struct ff_hole {
	struct uvi_rb_node rb; /* key: first */
	uint64_t last;
	struct ff_hole *prev, *next;
};

struct ff {
	struct ff_hole *head;
	struct uvi_rb_tree index;
	uint64_t granule;
	uint64_t steps; /* holes looked at by allocations */
};

/* [first, last] free, inclusive; -ENOMEM. */
int ff_init(struct ff *f, uint64_t first, uint64_t last, uint64_t granule);
void ff_fini(struct ff *f);
/* size: a multiple of the granule. -ENOSPC if no hole is large enough. */
int ff_alloc(struct ff *f, uint64_t size, uint64_t *iova);
/* [iova, iova + size - 1] must be allocated (not checked); -ENOMEM. */
int ff_free(struct ff *f, uint64_t iova, uint64_t size);

#endif
