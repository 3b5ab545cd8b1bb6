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

/* The mapping with the lowest start that intersects [start, end]; pos: last_le(start). */
static struct map_node *overlap_at(const struct sim_mappings *t, struct uvi_rb_node *pos,
				   uint64_t start, uint64_t end)
{
	struct uvi_rb_node *n = pos;

	if (n && node_of(n)->m.virt_end >= start)
		return node_of(n);
	n = n ? uvi_rb_next(n) : uvi_rb_first(&t->tree);
	return n && node_of(n)->m.virt_start <= end ? node_of(n) : NULL;
}

static struct map_node *first_overlap(const struct sim_mappings *t, uint64_t start, uint64_t end)
{
	return overlap_at(t, uvi_rb_last_le(&t->tree, start), start, end);
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
	struct uvi_rb_node *pos = uvi_rb_last_le(&t->tree, m->virt_start);
	const struct map_node *clash = overlap_at(t, pos, m->virt_start, m->virt_end);
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
	uvi_rb_insert_after(&t->tree, pos, &n->rb);
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
	struct map_node *n, *next;
	long removed = 0;

	/* Only the mappings that hold the two bounds can be split: check both first. */
	if (splits_at(t, start, 1) || splits_at(t, end, 0))
		return uvi_fail(-ERANGE, "sim: unmapping [0x%" PRIx64 ", 0x%" PRIx64
				"] would split a mapping", start, end);
	for (n = first_overlap(t, start, end); n && n->m.virt_start <= end; n = next) {
		next = node_of(uvi_rb_next(&n->rb));
		uvi_rb_erase(&t->tree, &n->rb);
		n->next_free = t->free_nodes;
		t->free_nodes = n;
		t->count--;
		removed++;
	}
	return removed;
}
