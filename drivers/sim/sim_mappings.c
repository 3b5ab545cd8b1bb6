/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdlib.h>

#include "sim_mappings.h"
#include "../../lib/common/error_internal.h"

/*
 * Intervals that intersect compare equal. Stored intervals never intersect
 * each other, so the order is total among them, and a search with any key
 * interval ends at a stored interval that intersects the key, if one exists.
 */
static int cmp_interval(const void *a, const void *b)
{
	const struct sim_mapping *x = a, *y = b;

	if (x->virt_end < y->virt_start)
		return -1;
	if (x->virt_start > y->virt_end)
		return 1;
	return 0;
}

void sim_mappings_clear(struct sim_mappings *t)
{
	tdestroy(t->root, free);
	t->root = NULL;
	t->count = 0;
}

int sim_mappings_insert(struct sim_mappings *t, const struct sim_mapping *m)
{
	struct sim_mapping *copy = malloc(sizeof(*copy));
	struct sim_mapping **node;

	if (!copy)
		return uvi_fail(-ENOMEM, "sim: out of memory for a mapping");
	*copy = *m;
	node = tsearch(copy, &t->root, cmp_interval);
	if (!node) {
		free(copy);
		return uvi_fail(-ENOMEM, "sim: out of memory for a mapping");
	}
	if (*node != copy) {
		free(copy);
		return uvi_fail(-EEXIST,
				"sim: mapping [0x%" PRIx64 ", 0x%" PRIx64 "] intersects [0x%" PRIx64
				", 0x%" PRIx64 "]",
				m->virt_start, m->virt_end, (*node)->virt_start, (*node)->virt_end);
	}
	t->count++;
	return 0;
}

static struct sim_mapping *lookup(const struct sim_mappings *t, uint64_t start, uint64_t end)
{
	const struct sim_mapping key = { .virt_start = start, .virt_end = end };
	struct sim_mapping *const *node = tfind(&key, &t->root, cmp_interval);

	return node ? *node : NULL;
}

const struct sim_mapping *sim_mappings_find_overlap(const struct sim_mappings *t, uint64_t start,
						    uint64_t end)
{
	return lookup(t, start, end);
}

const struct sim_mapping *sim_mappings_find(const struct sim_mappings *t, uint64_t addr)
{
	return lookup(t, addr, addr);
}

/* True if a mapping contains addr but does not begin (or end, if !at_start) there. */
static int splits_at(const struct sim_mappings *t, uint64_t addr, int at_start)
{
	const struct sim_mapping *m = sim_mappings_find(t, addr);

	if (!m)
		return 0;
	return at_start ? m->virt_start != addr : m->virt_end != addr;
}

long sim_mappings_remove_range(struct sim_mappings *t, uint64_t start, uint64_t end)
{
	struct sim_mapping *m;
	long removed = 0;

	/* Only the mappings that hold the two bounds can be split: check both first. */
	if (splits_at(t, start, 1) || splits_at(t, end, 0))
		return uvi_fail(-ERANGE, "sim: unmapping [0x%" PRIx64 ", 0x%" PRIx64
				"] would split a mapping", start, end);
	while ((m = lookup(t, start, end))) {
		tdelete(m, &t->root, cmp_interval);
		free(m);
		t->count--;
		removed++;
	}
	return removed;
}
