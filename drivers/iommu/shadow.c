/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mapping shadow: one node per entry in a red-black tree keyed by the
 * entry's start. Removed nodes go to a free list that the next inserts
 * reuse (no allocation per mapping once the shadow has reached its size);
 * destroy frees them. Entries never overlap, so ordering them by
 * start also orders them by end, and the only entry that can contain an
 * address a is the last one starting at or below a. The entries are also
 * linked in address order, so that the entry after one is a load, not a
 * climb up the tree: every check of a range looks at the next entry.
 *
 * Ends are inclusive and may be UINT64_MAX: nothing here computes end + 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "shadow.h"
#include "../../lib/common/error_internal.h"
#include "../../lib/common/list.h"
#include "../../lib/common/rbtree.h"

struct shadow_node {
	struct uvi_rb_node rb; /* rb.key == entry.start */
	struct uvi_shadow_entry entry;
	struct uvi_list_node order; /* in the shadow's address-ordered list */
	struct shadow_node *next_free;
};

/*
 * A request is checked, then inserted or marked: several descents for
 * the same address in a row. The last one's answer is kept until the
 * tree changes.
 */
struct last_le_hint {
	bool valid;
	uint64_t key;
	struct uvi_rb_node *node;
};

struct uvi_shadow {
	struct uvi_rb_tree tree;
	struct uvi_list order; /* the nodes in address order */
	uint64_t count;
	struct shadow_node *free_nodes;
	struct last_le_hint hint;
};

static struct uvi_shadow_entry *entry_of(struct uvi_rb_node *n)
{
	return n ? &uvi_rb_entry(n, struct shadow_node, rb)->entry : NULL;
}

static struct shadow_node *shadow_node_of(const struct uvi_shadow_entry *e)
{
	return uvi_rb_entry(e, struct shadow_node, entry);
}

/* The tree node of a node of the ordered list, and back; NULL stays NULL. */
static struct uvi_rb_node *rb_of(struct uvi_list_node *n)
{
	return n ? &uvi_list_entry(n, struct shadow_node, order)->rb : NULL;
}

static struct uvi_list_node *order_of(struct uvi_rb_node *n)
{
	return n ? &uvi_rb_entry(n, struct shadow_node, rb)->order : NULL;
}

int uvi_shadow_create(struct uvi_shadow **out)
{
	struct uvi_shadow *s = malloc(sizeof(*s));

	if (!s)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping table");
	*s = (struct uvi_shadow){ .tree = UVI_RB_TREE_INIT(NULL), .order = UVI_LIST_INIT };
	*out = s;
	return 0;
}

void uvi_shadow_destroy(struct uvi_shadow *s)
{
	struct uvi_rb_node *n, *next;
	struct shadow_node *f;

	if (!s)
		return;
	for (n = uvi_rb_postorder_first(&s->tree); n; n = next) {
		next = uvi_rb_postorder_next(n);
		free(uvi_rb_entry(n, struct shadow_node, rb));
	}
	while ((f = s->free_nodes)) {
		s->free_nodes = f->next_free;
		free(f);
	}
	free(s);
}

uint64_t uvi_shadow_count(const struct uvi_shadow *s)
{
	return s->count;
}

/* The node of the last entry starting at or below key, or NULL. */
static struct uvi_rb_node *last_le(struct uvi_shadow *s, uint64_t key)
{
	if (!s->hint.valid || s->hint.key != key)
		s->hint = (struct last_le_hint){ true, key, uvi_rb_last_le(&s->tree, key) };
	return s->hint.node;
}

/* The entry containing addr, or NULL. */
static struct uvi_shadow_entry *containing(struct uvi_shadow *s, uint64_t addr)
{
	struct uvi_shadow_entry *e = entry_of(last_le(s, addr));

	return e && e->end >= addr ? e : NULL;
}

/* The entry after n (n: a node or NULL for before the first), or NULL. */
static struct uvi_rb_node *after(struct uvi_shadow *s, struct uvi_rb_node *n)
{
	return rb_of(n ? order_of(n)->next : s->order.first);
}

/* The first entry overlapping [start, end]; pos is uvi_rb_last_le(start). */
static struct uvi_shadow_entry *overlap_at(struct uvi_shadow *s, struct uvi_rb_node *pos,
					   uint64_t start, uint64_t end)
{
	struct uvi_shadow_entry *e = entry_of(pos);

	if (e && e->end >= start)
		return e;
	e = entry_of(after(s, pos));
	return e && e->start <= end ? e : NULL;
}

struct uvi_shadow_entry *uvi_shadow_first_overlap(struct uvi_shadow *s, uint64_t start,
						  uint64_t end)
{
	if (start > end)
		return NULL;
	return overlap_at(s, last_le(s, start), start, end);
}

struct uvi_shadow_entry *uvi_shadow_find_split(struct uvi_shadow *s, uint64_t start,
					       uint64_t end)
{
	struct uvi_rb_node *pos, *next;
	struct uvi_shadow_entry *e;

	if (start > end)
		return NULL;
	/* Only the entries containing start or end can stick out of [start, end]. */
	pos = last_le(s, start);
	e = entry_of(pos);
	if (e && e->end >= start && e->start < start)
		return e;
	/* The entry that may contain end: pos's, unless others start in (start, end]. */
	next = after(s, pos);
	if (next && entry_of(next)->start <= end)
		e = containing(s, end);
	return e && e->end > end ? e : NULL;
}

static struct shadow_node *node_get(struct uvi_shadow *s)
{
	struct shadow_node *n = s->free_nodes;

	if (!n)
		return malloc(sizeof(*n));
	s->free_nodes = n->next_free;
	return n;
}

int uvi_shadow_insert(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	return uvi_shadow_add(s, e, NULL);
}

int uvi_shadow_add(struct uvi_shadow *s, const struct uvi_shadow_entry *e,
		   struct uvi_shadow_entry **out)
{
	struct uvi_shadow_entry *clash;
	struct uvi_rb_node *pos;
	struct shadow_node *n;

	if (e->start > e->end)
		return uvi_fail(-EINVAL, "shadow: range [0x%" PRIx64 ", 0x%" PRIx64
				"] ends before it starts", e->start, e->end);
	pos = last_le(s, e->start);
	clash = overlap_at(s, pos, e->start, e->end);
	if (clash)
		return uvi_fail(-EEXIST, "shadow: [0x%" PRIx64 ", 0x%" PRIx64
				"] overlaps the mapping [0x%" PRIx64 ", 0x%" PRIx64
				"]; unmap that first", e->start, e->end, clash->start, clash->end);
	n = node_get(s);
	if (!n)
		return uvi_fail(-ENOMEM, "shadow: out of memory for a mapping");
	n->entry = *e;
	n->rb.key = e->start;
	uvi_rb_insert_after(&s->tree, pos, &n->rb);
	uvi_list_insert_after(&s->order, order_of(pos), &n->order);
	s->hint = (struct last_le_hint){ true, e->start, &n->rb };
	s->count++;
	if (out)
		*out = &n->entry;
	return 0;
}

void uvi_shadow_remove(struct uvi_shadow *s, struct uvi_shadow_entry *e)
{
	struct shadow_node *sn = shadow_node_of(e);

	uvi_rb_erase(&s->tree, &sn->rb);
	uvi_list_remove(&s->order, &sn->order);
	s->hint.valid = false;
	s->count--;
	sn->next_free = s->free_nodes;
	s->free_nodes = sn;
}

struct uvi_shadow_entry *uvi_shadow_first(struct uvi_shadow *s)
{
	return entry_of(rb_of(s->order.first));
}

struct uvi_shadow_entry *uvi_shadow_next(struct uvi_shadow *s, const struct uvi_shadow_entry *e)
{
	(void)s;
	return entry_of(rb_of(shadow_node_of(e)->order.next));
}

struct uvi_shadow_entry *uvi_shadow_next_upto(struct uvi_shadow *s,
					      const struct uvi_shadow_entry *e, uint64_t end)
{
	return e->end >= end ? NULL : uvi_shadow_next(s, e); /* entries never overlap */
}
