/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_MAPPINGS_H
#define UVIOMMU_SIM_MAPPINGS_H

/*
 * The mapping table of one domain of the software device: non-overlapping
 * inclusive intervals [virt_start, virt_end] -> phys_start, flags.
 *
 * It is a red-black tree (lib/common/rbtree) ordered by start, with the
 * nodes of removed mappings kept for reuse until the table is cleared.
 * Lookup, insert and remove are O(log n); removing k mappings in one range
 * is O(log n + k). Single-threaded: the caller serialises all access.
 */

#include <stddef.h>
#include <stdint.h>

#include "../../lib/common/rbtree.h"

struct sim_mapping {
	uint64_t virt_start;
	uint64_t virt_end; /* inclusive */
	uint64_t phys_start;
	uint32_t flags; /* VIRTIO_IOMMU_MAP_F_* */
};

struct sim_mappings {
	struct uvi_rb_tree tree;
	void *free_nodes; /* removed nodes, reused by inserts */
	size_t count;
};

#define SIM_MAPPINGS_INIT { UVI_RB_TREE_INIT(NULL), NULL, 0 }

/* Free every mapping and spare node; the table is empty and reusable afterwards. */
void sim_mappings_clear(struct sim_mappings *t);

/*
 * Add a copy of m (virt_start <= virt_end). -EEXIST if it intersects a
 * mapping already in the table, -ENOMEM; the table is unchanged on failure.
 */
int sim_mappings_insert(struct sim_mappings *t, const struct sim_mapping *m);

/* The mapping that contains addr, or NULL. */
const struct sim_mapping *sim_mappings_find(const struct sim_mappings *t, uint64_t addr);

/* Some mapping that intersects [start, end] (start <= end), or NULL. */
const struct sim_mapping *sim_mappings_find_overlap(const struct sim_mappings *t, uint64_t start,
						    uint64_t end);

/*
 * Remove every mapping that lies entirely inside [start, end] and return
 * how many were removed (0 is fine). If a mapping straddles start or end
 * (the range would split it), remove nothing and return -ERANGE.
 */
long sim_mappings_remove_range(struct sim_mappings *t, uint64_t start, uint64_t end);

#endif
