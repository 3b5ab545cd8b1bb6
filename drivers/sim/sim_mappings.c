/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table is an intrusive red-black tree (lib/common/rbtree) keyed by
 * virt_start. Stored intervals never overlap, so ordering them by start
 * also orders them by end, and the only mapping that can contain an
 * address a is the last one starting at or below a. Removed nodes go to a
 * free list and are reused by the next insert: no allocation per mapping
 * once the table has reached its size.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sim_mappings.h"
#include "../../lib/common/error_internal.h"

struct map_node {
	struct uvi_rb_node rb; /* rb.key == m.virt_start */
	struct sim_mapping m;
	struct map_node *next_free;
};

static struct map_node *node_of(const struct uvi_rb_node *n)
{
	return n ? uvi_rb_entry(n, struct map_node, rb) : NULL;
}

void sim_mappings_clear(struct sim_mappings *t)
{
	struct uvi_rb_node *n, *next;
	struct map_node *f;

	for (n = uvi_rb_postorder_first(&t->tree); n; n = next) {
		next = uvi_rb_postorder_next(n);
		free(node_of(n));
	}
	while ((f = t->free_nodes)) {
		t->free_nodes = f->next_free;
		free(f);
	}
	*t = (struct sim_mappings)SIM_MAPPINGS_INIT;
}

/*
 * One descent gives the two mappings around addr: the last one starting at
 * or below it and the first one starting above it, without the walk up the
 * tree that uvi_rb_next() may need.
 */
struct around {
	struct uvi_rb_node *below, *above;
};

static struct around around(const struct sim_mappings *t, uint64_t addr)
{
	struct around a = { NULL, NULL };
	struct uvi_rb_node *n = t->tree.root;

	while (n) {
		bool below = n->key <= addr;

		a.below = uvi_rb_pick(below, n, a.below);
		a.above = uvi_rb_pick(below, a.above, n);
		n = uvi_rb_pick(below, n->right, n->left);
	}
	return a;
}

/* The mapping with the lowest start that intersects [start, end]; a: around(start). */
static struct map_node *overlap_at(struct around a, uint64_t start, uint64_t end)
{
	if (a.below && node_of(a.below)->m.virt_end >= start)
		return node_of(a.below);
	return a.above && node_of(a.above)->m.virt_start <= end ? node_of(a.above) : NULL;
}

static struct map_node *first_overlap(const struct sim_mappings *t, uint64_t start, uint64_t end)
{
	return overlap_at(around(t, start), start, end);
}

static struct map_node *node_get(struct sim_mappings *t)
{
	struct map_node *n = t->free_nodes;

	if (!n)
		return malloc(sizeof(*n));
	t->free_nodes = n->next_free;
	return n;
}

int sim_mappings_insert(struct sim_mappings *t, const struct sim_mapping *m)
{
	struct around a = around(t, m->virt_start);
	const struct map_node *clash = overlap_at(a, m->virt_start, m->virt_end);
	struct map_node *n;

	if (clash)
		return uvi_fail(-EEXIST,
				"sim: mapping [0x%" PRIx64 ", 0x%" PRIx64 "] intersects [0x%" PRIx64
				", 0x%" PRIx64 "]",
				m->virt_start, m->virt_end, clash->m.virt_start, clash->m.virt_end);
	n = node_get(t);
	if (!n)
		return uvi_fail(-ENOMEM, "sim: out of memory for a mapping");
	n->m = *m;
	n->rb.key = m->virt_start;
	uvi_rb_insert_after(&t->tree, a.below, &n->rb);
	t->count++;
	return 0;
}

const struct sim_mapping *sim_mappings_find_overlap(const struct sim_mappings *t, uint64_t start,
						    uint64_t end)
{
	const struct map_node *n = first_overlap(t, start, end);

	return n ? &n->m : NULL;
}

const struct sim_mapping *sim_mappings_find(const struct sim_mappings *t, uint64_t addr)
{
	return sim_mappings_find_overlap(t, addr, addr);
}

/* True if the mapping that holds end, if any, goes on past it; first: the lowest in the range. */
static bool splits_at_end(const struct sim_mappings *t, const struct map_node *first, uint64_t end)
{
	const struct sim_mapping *m = first->m.virt_end >= end ? &first->m : sim_mappings_find(t, end);

	return m && m->virt_end != end;
}

static void drop(struct sim_mappings *t, struct map_node *n)
{
	uvi_rb_erase(&t->tree, &n->rb);
	n->next_free = t->free_nodes;
	t->free_nodes = n;
	t->count--;
}

/*
 * Only the lowest mapping in the range can hold start, and only the one
 * that holds end can go past it: both are checked before anything is
 * removed. The walk stops at the mapping that reaches end, so the usual
 * UNMAP of one whole mapping is one descent and one erase.
 */
long sim_mappings_remove_range(struct sim_mappings *t, uint64_t start, uint64_t end)
{
	struct map_node *n = first_overlap(t, start, end), *next;
	long removed = 0;

	if (!n)
		return 0;
	if (n->m.virt_start < start || splits_at_end(t, n, end))
		return uvi_fail(-ERANGE, "sim: unmapping [0x%" PRIx64 ", 0x%" PRIx64
				"] would split a mapping", start, end);
	do {
		next = n->m.virt_end < end ? node_of(uvi_rb_next(&n->rb)) : NULL;
		drop(t, n);
		removed++;
		n = next;
	} while (n && n->m.virt_start <= end);
	return removed;
}
