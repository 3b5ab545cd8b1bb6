/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table of sim_mappings.h on lib/common/radix.h. Every granule of a
 * mapping points at it; mappings are aligned and never overlap, so a
 * range meets a mapping exactly when one of its granules does, and an
 * UNMAP range can only split the mappings holding its first and last
 * byte. Removed mappings go to a free list and are reused by the next
 * insert: no allocation per mapping once the table has reached its size.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "sim_mappings.h"
#include "../../lib/common/error_internal.h"
#include "../../lib/common/radix.h"

struct map_node {
	struct sim_mapping m; /* first: the table's values are mappings */
	struct map_node *next_free;
};

int sim_mappings_init(struct sim_mappings *t, unsigned shift)
{
	*t = (struct sim_mappings){ .count = 0 };
	return uvi_radix_create(shift, &t->table);
}

static struct map_node *get_node(struct sim_mappings *t)
{
	struct map_node *n = t->free_nodes;

	if (!n)
		return malloc(sizeof(*n));
	t->free_nodes = n->next_free;
	return n;
}

static void put_node(struct sim_mappings *t, struct map_node *n)
{
	n->next_free = t->free_nodes;
	t->free_nodes = n;
}

void sim_mappings_destroy(struct sim_mappings *t)
{
	struct map_node *f;

	if (t->count)
		sim_mappings_remove_range(t, 0, UINT64_MAX); /* to the free list */
	while ((f = t->free_nodes)) {
		t->free_nodes = f->next_free;
		free(f);
	}
	uvi_radix_destroy(t->table);
	*t = (struct sim_mappings){ .count = 0 };
}

int sim_mappings_insert(struct sim_mappings *t, const struct sim_mapping *m)
{
	const struct sim_mapping *clash = uvi_radix_first(t->table, m->virt_start, m->virt_end);
	struct map_node *n;
	int rc;

	if (clash)
		return uvi_fail(-EEXIST, "sim: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps the mapping "
				"[0x%" PRIx64 ", 0x%" PRIx64 "]", m->virt_start, m->virt_end,
				clash->virt_start, clash->virt_end);
	n = get_node(t);
	if (!n)
		return uvi_fail(-ENOMEM, "sim: out of memory for a mapping");
	n->m = *m;
	rc = uvi_radix_set(t->table, m->virt_start, m->virt_end, &n->m);
	if (rc) {
		put_node(t, n);
		return rc;
	}
	t->count++;
	return 0;
}

const struct sim_mapping *sim_mappings_find(const struct sim_mappings *t, uint64_t addr)
{
	return uvi_radix_get(t->table, addr);
}

const struct sim_mapping *sim_mappings_find_overlap(const struct sim_mappings *t, uint64_t start,
						    uint64_t end)
{
	return uvi_radix_first(t->table, start, end);
}

long sim_mappings_remove_range(struct sim_mappings *t, uint64_t start, uint64_t end)
{
	struct sim_mapping *m = uvi_radix_get(t->table, start);
	long removed = 0;

	if (!m || m->virt_start >= start)
		m = uvi_radix_get(t->table, end);
	if (m && (m->virt_start < start || m->virt_end > end))
		return uvi_fail(-ERANGE, "sim: unmapping [0x%" PRIx64 ", 0x%" PRIx64 "] would split "
				"the mapping [0x%" PRIx64 ", 0x%" PRIx64 "]", start, end,
				m->virt_start, m->virt_end);
	while ((m = uvi_radix_first(t->table, start, end))) {
		uint64_t last = m->virt_end;

		uvi_radix_clear(t->table, m->virt_start, last);
		put_node(t, (struct map_node *)m);
		t->count--;
		removed++;
		if (last >= end)
			break;
		start = last + 1; /* no wrap: last < end */
	}
	return removed;
}
