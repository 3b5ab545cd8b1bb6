/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mapping shadow: a radix table (lib/common/radix.h) over IOVAs >>
 * shift points every granule of an entry at the entry. Entries never
 * overlap and are aligned on the granule, so two ranges overlap exactly
 * when their granules do, the entry containing an address is one walk
 * down the table, and the entry after e is the first one in
 * (e->end, UINT64_MAX]. Entries come from a free list that removed ones
 * go back to (no allocation per mapping once the shadow has reached its
 * size); destroy frees them.
 *
 * Ends are inclusive and may be UINT64_MAX: end + 1 is computed only
 * where it cannot wrap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "shadow.h"
#include "../../lib/common/error_internal.h"
#include "../../lib/common/radix.h"

struct shadow_node {
	struct uvi_shadow_entry entry; /* first: the table's values are entries */
	struct shadow_node *next_free;
};

struct uvi_shadow {
	struct uvi_radix *table;
	uint64_t granule_mask;
	uint64_t count;
	struct shadow_node *free_nodes;
};

static struct shadow_node *shadow_node_of(struct uvi_shadow_entry *e)
{
	return (struct shadow_node *)e;
}

int uvi_shadow_create(unsigned shift, struct uvi_shadow **out)
{
	struct uvi_shadow *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping table");
	rc = uvi_radix_create(shift, &s->table);
	if (rc) {
		free(s);
		return rc;
	}
	s->granule_mask = (1ull << shift) - 1;
	*out = s;
	return 0;
}

void uvi_shadow_destroy(struct uvi_shadow *s)
{
	struct uvi_shadow_entry *e, *next;
	struct shadow_node *f;

	if (!s)
		return;
	for (e = uvi_shadow_first(s); e; e = next) {
		next = uvi_shadow_next(s, e);
		free(shadow_node_of(e));
	}
	while ((f = s->free_nodes)) {
		s->free_nodes = f->next_free;
		free(f);
	}
	uvi_radix_destroy(s->table);
	free(s);
}

uint64_t uvi_shadow_count(const struct uvi_shadow *s)
{
	return s->count;
}

struct uvi_shadow_entry *uvi_shadow_first_overlap(struct uvi_shadow *s, uint64_t start,
						  uint64_t end)
{
	return start > end ? NULL : uvi_radix_first(s->table, start, end);
}

struct uvi_shadow_entry *uvi_shadow_find_split(struct uvi_shadow *s, uint64_t start,
					       uint64_t end)
{
	struct uvi_shadow_entry *e;

	if (start > end)
		return NULL;
	/* Only the entries containing start or end can stick out of [start, end]. */
	e = uvi_radix_get(s->table, start);
	if (e && e->start < start)
		return e;
	e = uvi_radix_get(s->table, end);
	return e && e->end > end ? e : NULL;
}

struct uvi_shadow_entry *uvi_shadow_find_exact(struct uvi_shadow *s, uint64_t start,
					       uint64_t end)
{
	struct uvi_shadow_entry *e = start > end ? NULL : uvi_radix_get(s->table, start);

	return e && e->start == start && e->end == end ? e : NULL;
}

static struct shadow_node *node_get(struct uvi_shadow *s)
{
	struct shadow_node *n = s->free_nodes;

	if (!n)
		return malloc(sizeof(*n));
	s->free_nodes = n->next_free;
	return n;
}

static void node_put(struct uvi_shadow *s, struct shadow_node *n)
{
	n->next_free = s->free_nodes;
	s->free_nodes = n;
}

int uvi_shadow_insert(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	return uvi_shadow_add(s, e, NULL);
}

static int check_range(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	struct uvi_shadow_entry *clash;

	if (e->start > e->end)
		return uvi_fail(-EINVAL, "shadow: range [0x%" PRIx64 ", 0x%" PRIx64
				"] ends before it starts", e->start, e->end);
	/* end + 1 wraps to 0 at UINT64_MAX: aligned, as it should be. */
	if ((e->start | (e->end + 1)) & s->granule_mask)
		return uvi_fail(-EINVAL, "shadow: range [0x%" PRIx64 ", 0x%" PRIx64
				"] is not aligned on the granule (0x%" PRIx64 ")", e->start,
				e->end, s->granule_mask + 1);
	clash = uvi_radix_first(s->table, e->start, e->end);
	if (clash)
		return uvi_fail(-EEXIST, "shadow: [0x%" PRIx64 ", 0x%" PRIx64
				"] overlaps the mapping [0x%" PRIx64 ", 0x%" PRIx64
				"]; unmap that first", e->start, e->end, clash->start, clash->end);
	return 0;
}

int uvi_shadow_add(struct uvi_shadow *s, const struct uvi_shadow_entry *e,
		   struct uvi_shadow_entry **out)
{
	int rc = check_range(s, e);

	return rc ? rc : uvi_shadow_add_checked(s, e, out);
}

int uvi_shadow_add_checked(struct uvi_shadow *s, const struct uvi_shadow_entry *e,
			   struct uvi_shadow_entry **out)
{
	struct shadow_node *n = node_get(s);
	int rc;

	if (!n)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping");
	n->entry = *e;
	rc = uvi_radix_set(s->table, e->start, e->end, &n->entry);
	if (rc) {
		node_put(s, n);
		return rc;
	}
	s->count++;
	if (out)
		*out = &n->entry;
	return 0;
}

void uvi_shadow_prefetch(const struct uvi_shadow *s, uint64_t iova)
{
	uvi_radix_prefetch(s->table, iova);
}

void uvi_shadow_remove(struct uvi_shadow *s, struct uvi_shadow_entry *e)
{
	uvi_radix_clear(s->table, e->start, e->end);
	s->count--;
	node_put(s, shadow_node_of(e));
}

struct uvi_shadow_entry *uvi_shadow_first(struct uvi_shadow *s)
{
	return uvi_radix_first(s->table, 0, UINT64_MAX);
}

struct uvi_shadow_entry *uvi_shadow_next(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	return e->end == UINT64_MAX ? NULL : uvi_radix_first(s->table, e->end + 1, UINT64_MAX);
}

struct uvi_shadow_entry *uvi_shadow_next_upto(struct uvi_shadow *s,
					      const struct uvi_shadow_entry *e, uint64_t end)
{
	return e->end >= end ? NULL : uvi_radix_first(s->table, e->end + 1, end);
}
