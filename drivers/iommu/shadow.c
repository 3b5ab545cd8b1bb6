/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mapping shadow: one malloc'ed node per entry in a red-black tree
 * keyed by the entry's start. Entries never overlap, so ordering them by
 * start also orders them by end, and the only entry that can contain an
 * address a is the last one starting at or below a.
 *
 * Ends are inclusive and may be UINT64_MAX: nothing here computes end + 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "shadow.h"
#include "../../lib/common/error_internal.h"
#include "../../lib/common/rbtree.h"

struct shadow_node {
	struct uvi_rb_node rb; /* rb.key == entry.start */
	struct uvi_shadow_entry entry;
};

struct uvi_shadow {
	struct uvi_rb_tree tree;
	uint64_t count;
};

static struct uvi_shadow_entry *entry_of(struct uvi_rb_node *n)
{
	return n ? &uvi_rb_entry(n, struct shadow_node, rb)->entry : NULL;
}

static struct uvi_rb_node *node_of(const struct uvi_shadow_entry *e)
{
	return &uvi_rb_entry(e, struct shadow_node, entry)->rb;
}

int uvi_shadow_create(struct uvi_shadow **out)
{
	struct uvi_shadow *s = malloc(sizeof(*s));

	if (!s)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping table");
	*s = (struct uvi_shadow){ .tree = UVI_RB_TREE_INIT(NULL) };
	*out = s;
	return 0;
}

void uvi_shadow_destroy(struct uvi_shadow *s)
{
	struct uvi_rb_node *n, *next;

	if (!s)
		return;
	for (n = uvi_rb_postorder_first(&s->tree); n; n = next) {
		next = uvi_rb_postorder_next(n);
		free(uvi_rb_entry(n, struct shadow_node, rb));
	}
	free(s);
}

uint64_t uvi_shadow_count(const struct uvi_shadow *s)
{
	return s->count;
}

/* The entry containing addr, or NULL. */
static struct uvi_shadow_entry *containing(struct uvi_shadow *s, uint64_t addr)
{
	struct uvi_shadow_entry *e = entry_of(uvi_rb_last_le(&s->tree, addr));

	return e && e->end >= addr ? e : NULL;
}

struct uvi_shadow_entry *uvi_shadow_first_overlap(struct uvi_shadow *s, uint64_t start,
						  uint64_t end)
{
	struct uvi_shadow_entry *e;

	if (start > end)
		return NULL;
	e = containing(s, start);
	if (e)
		return e;
	e = entry_of(uvi_rb_first_gt(&s->tree, start));
	return e && e->start <= end ? e : NULL;
}

struct uvi_shadow_entry *uvi_shadow_find_split(struct uvi_shadow *s, uint64_t start,
					       uint64_t end)
{
	struct uvi_shadow_entry *e;

	if (start > end)
		return NULL;
	/* Only the entries containing start or end can stick out of [start, end]. */
	e = containing(s, start);
	if (e && e->start < start)
		return e;
	e = containing(s, end);
	return e && e->end > end ? e : NULL;
}

int uvi_shadow_insert(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	struct uvi_shadow_entry *clash;
	struct shadow_node *n;

	if (e->start > e->end)
		return uvi_fail(-EINVAL, "shadow: range [0x%" PRIx64 ", 0x%" PRIx64
				"] ends before it starts", e->start, e->end);
	clash = uvi_shadow_first_overlap(s, e->start, e->end);
	if (clash)
		return uvi_fail(-EEXIST, "shadow: [0x%" PRIx64 ", 0x%" PRIx64
				"] overlaps the mapping [0x%" PRIx64 ", 0x%" PRIx64
				"]; unmap that first", e->start, e->end, clash->start, clash->end);
	n = malloc(sizeof(*n));
	if (!n)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping");
	n->entry = *e;
	n->rb.key = e->start;
	uvi_rb_insert(&s->tree, &n->rb);
	s->count++;
	return 0;
}

void uvi_shadow_remove(struct uvi_shadow *s, struct uvi_shadow_entry *e)
{
	struct uvi_rb_node *n = node_of(e);

	uvi_rb_erase(&s->tree, n);
	s->count--;
	free(uvi_rb_entry(n, struct shadow_node, rb));
}

struct uvi_shadow_entry *uvi_shadow_first(struct uvi_shadow *s)
{
	return entry_of(uvi_rb_first(&s->tree));
}

struct uvi_shadow_entry *uvi_shadow_next(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	(void)s;
	return entry_of(uvi_rb_next(node_of(e)));
}
