/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_MAPPINGS_H
#define UVIOMMU_SIM_MAPPINGS_H

/*
 * The mapping table of one domain of the software device: non-overlapping
 * inclusive intervals [virt_start, virt_end] -> phys_start, flags.
 *
 * It is a radix table (lib/common/radix.h) of the granules the mappings
 * cover, each pointing at its mapping: the layout of an IOMMU's page
 * table, and the cost of a lookup (one walk of a few levels) whatever the
 * number of mappings. Mappings must be aligned on the granule the table
 * was initialised with (the device refuses other MAPs first). Removed
 * mappings' memory is kept for reuse until the table is destroyed.
 * Single-threaded: the caller serialises all access (lookups too: they
 * leave a hint in the table).
 */

#include <stddef.h>
#include <stdint.h>

struct sim_mapping {
	uint64_t virt_start;
	uint64_t virt_end; /* inclusive */
	uint64_t phys_start;
	uint32_t flags; /* VIRTIO_IOMMU_MAP_F_* */
};

struct uvi_radix;

struct sim_mappings {
	struct uvi_radix *table;
	void *free_nodes; /* removed mappings, reused by inserts */
	size_t count;
};

/* An empty table of mappings aligned on 1 << shift bytes; 0, -EINVAL (shift >= 64) or -ENOMEM. */
int sim_mappings_init(struct sim_mappings *t, unsigned shift);

/* Free every mapping, spare node and the table itself. */
void sim_mappings_destroy(struct sim_mappings *t);

/*
 * Add a copy of m (virt_start <= virt_end, aligned). -EEXIST if it
 * intersects a mapping already in the table, -ENOMEM; the table is
 * unchanged on failure.
 */
int sim_mappings_insert(struct sim_mappings *t, const struct sim_mapping *m);

/* The mapping that contains addr, or NULL. */
const struct sim_mapping *sim_mappings_find(const struct sim_mappings *t, uint64_t addr);

/* The lowest mapping that intersects [start, end] (start <= end), or NULL. */
const struct sim_mapping *sim_mappings_find_overlap(const struct sim_mappings *t, uint64_t start,
						    uint64_t end);

/*
 * Remove every mapping that lies entirely inside [start, end] and return
 * how many were removed (0 is fine). If a mapping straddles start or end
 * (the range would split it), remove nothing and return -ERANGE.
 */
long sim_mappings_remove_range(struct sim_mappings *t, uint64_t start, uint64_t end);

#endif
