/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The radix table of radix.h. Keys are addresses >> shift; level 0 holds
 * the leaves, a slot at level l spans 2^(9 l) keys, the root is the one
 * node of the top level. A slot is 0 (empty), a node pointer (a level
 * below), or a value with its low bit set; leaves hold only values.
 *
 * A node that empties stays where it is, for the next range there (as an
 * IOMMU keeps its page-table pages): freeing and zeroing 4 KiB per
 * scattered map+unmap pair cost more than the rest of the walk. Each
 * node's bitmap has a bit per slot that leads to a value, and a slot
 * holding an emptied node has its bit clear, so the searches skip it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "radix.h"
#include "error_internal.h"

#define SLOT_BITS 9
#define SLOTS (1u << SLOT_BITS)
#define WORDS (SLOTS / 64)
#define VALUE_TAG 1u

/* The bitmap first, on a cache line of its own: a walk reads it and one slot's line. */
struct node {
	_Alignas(64) uint64_t used[WORDS]; /* bit i: slot[i] leads to a value */
	uintptr_t slot[SLOTS];
};

/*
 * The leaf of the last single-key walk: a request is checked, then set
 * or cleared, several walks to the same key in a row, so most walks are
 * one comparison. Leaves are freed only by destroy and by a value
 * replacing an emptied node above them (set_below), which drops the hint.
 */
struct leaf_hint {
	uint64_t prefix; /* key >> SLOT_BITS of the keys of leaf */
	struct node *leaf;  /* NULL: no hint */
};

/*
 * The root starts as a single leaf and gains a level above it whenever a
 * key beyond its span is set, up to max_top: IOVAs are usually low, and
 * every level saved is a load saved on every walk.
 */
struct uvi_radix {
	unsigned shift;
	unsigned top, max_top; /* the root's level, and the most it can be */
	uint64_t last_key;     /* the last key the root spans */
	struct node *root;
	struct leaf_hint hint;
};

static unsigned idx(uint64_t key, unsigned level)
{
	return (unsigned)(key >> (SLOT_BITS * level)) & (SLOTS - 1);
}

/* The keys one slot of `level` spans, minus one (level <= 7: at most 2^63 - 1). */
static uint64_t slot_mask(unsigned level)
{
	return (1ull << (SLOT_BITS * level)) - 1;
}

/* The first key of slot i of the node of `level` that holds key. */
static uint64_t slot_base(uint64_t key, unsigned level, unsigned i)
{
	/* A node of level 7 (the root when shift is 0) spans 72 bits: all keys. */
	unsigned node_bits = SLOT_BITS * (level + 1);
	uint64_t node_mask = node_bits >= 64 ? UINT64_MAX : (1ull << node_bits) - 1;

	return (key & ~node_mask) | (uint64_t)i << (SLOT_BITS * level);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The last key a root of level top spans. */
static uint64_t span_of_top(const struct uvi_radix *t)
{
	return t->top >= t->max_top ? UINT64_MAX : slot_mask(t->top + 1);
}

static bool is_empty(const struct node *n)
{
	uint64_t any = 0;

	for (unsigned w = 0; w < WORDS; w++)
		any |= n->used[w];
	return !any;
}

static struct node *node_new(void)
{
	struct node *n = aligned_alloc(_Alignof(struct node), sizeof(*n));

	if (n)
		memset(n, 0, sizeof(*n));
	return n;
}

static bool is_used(const struct node *n, unsigned i)
{
	return n->used[i / 64] >> (i % 64) & 1;
}

static void mark_used(struct node *n, unsigned i)
{
	n->used[i / 64] |= 1ull << (i % 64);
}

static void mark_unused(struct node *n, unsigned i)
{
	n->used[i / 64] &= ~(1ull << (i % 64));
}

/* The first used slot in [from, to] of n, or SLOTS. */
static unsigned next_used(const struct node *n, unsigned from, unsigned to)
{
	unsigned w = from / 64, i;
	uint64_t bits;

	if (from > to)
		return SLOTS;
	bits = n->used[w] & (UINT64_MAX << (from % 64));
	while (!bits) {
		if (++w > to / 64)
			return SLOTS;
		bits = n->used[w];
	}
	i = w * 64 + (unsigned)__builtin_ctzll(bits);
	return i <= to ? i : SLOTS;
}

int uvi_radix_create(unsigned shift, struct uvi_radix **out)
{
	struct uvi_radix *t;
	unsigned bits = 64 - shift;

	if (shift >= 64)
		return uvi_fail(-EINVAL, "radix table: shift %u leaves no address bits", shift);
	t = calloc(1, sizeof(*t));
	if (!t || !(t->root = node_new())) {
		free(t);
		return uvi_fail(-ENOMEM, "radix table: out of memory");
	}
	t->shift = shift;
	t->max_top = (bits + SLOT_BITS - 1) / SLOT_BITS - 1;
	t->last_key = span_of_top(t);
	*out = t;
	return 0;
}

static void free_below(struct node *n, unsigned level)
{
	for (unsigned i = 0; level && i < SLOTS; i++)
		if (n->slot[i] && !(n->slot[i] & VALUE_TAG))
			free_below((struct node *)n->slot[i], level - 1); /* emptied ones too */
	free(n);
}

void uvi_radix_destroy(struct uvi_radix *t)
{
	if (!t)
		return;
	free_below(t->root, t->top);
	free(t);
}

/* Whether [first, last] covers slot's whole span at `level`. */
static bool covers_slot(uint64_t first, uint64_t last, unsigned level)
{
	uint64_t m = slot_mask(level);

	return !(first & m) && (last & m) == m;
}

/* Set [ks, ke] (keys inside n's span, empty) to v below n; -ENOMEM midway. */
static int set_below(struct uvi_radix *t, struct node *n, unsigned level, uint64_t ks, uint64_t ke, uintptr_t v)
{
	unsigned hi = idx(ke, level);

	for (unsigned i = idx(ks, level); i <= hi; i++) {
		uint64_t base = slot_base(ks, level, i);
		uint64_t first = max_u64(ks, base), last = min_u64(ke, base + slot_mask(level));
		struct node *child;
		int rc;

		if (!level || covers_slot(first, last, level)) {
			if (level && n->slot[i]) { /* an emptied node: the value replaces it */
				free_below((struct node *)n->slot[i], level - 1);
				t->hint.leaf = NULL;
			}
			n->slot[i] = v;
			mark_used(n, i);
			continue;
		}
		child = (struct node *)n->slot[i];
		if (!child) {
			child = node_new();
			if (!child)
				return -ENOMEM;
			n->slot[i] = (uintptr_t)child;
		}
		/* Marked first: uvi_radix_set's clear must reach what went in below. */
		mark_used(n, i);
		rc = set_below(t, child, level - 1, first, last, v);
		if (rc)
			return rc;
	}
	return 0;
}

/* Empty [ks, ke] below n: values in it dropped, nodes left empty unmarked. */
static void clear_below(struct node *n, unsigned level, uint64_t ks, uint64_t ke)
{
	unsigned hi = idx(ke, level);

	for (unsigned i = next_used(n, idx(ks, level), hi); i < SLOTS;
	     i = next_used(n, i + 1, hi)) {
		uint64_t base = slot_base(ks, level, i);
		struct node *child = (struct node *)n->slot[i];

		if (n->slot[i] & VALUE_TAG) {
			n->slot[i] = 0;
			mark_unused(n, i);
			continue;
		}
		clear_below(child, level - 1, max_u64(ks, base),
			    min_u64(ke, base + slot_mask(level)));
		if (is_empty(child))
			mark_unused(n, i); /* the node stays, for the next range here */
	}
}

static void *value_of(uintptr_t slot)
{
	return slot & VALUE_TAG ? (void *)(slot - VALUE_TAG) : NULL;
}

/*
 * The leaf holding key's slot, or NULL with *above the slot the walk
 * stopped at (empty, or a value spanning more than a leaf).
 */
static struct node *leaf_of(struct uvi_radix *t, uint64_t key, uintptr_t *above)
{
	struct node *n = t->hint.leaf;

	if (n && t->hint.prefix == key >> SLOT_BITS)
		return n;
	if (key > t->last_key) {
		*above = 0;
		return NULL;
	}
	n = t->root;
	for (unsigned level = t->top; level; level--) {
		uintptr_t s = n->slot[idx(key, level)];

		if (!s || (s & VALUE_TAG)) {
			*above = s;
			return NULL;
		}
		n = (struct node *)s;
	}
	t->hint = (struct leaf_hint){ key >> SLOT_BITS, n };
	return n;
}

/*
 * A range of one key (one granule: most mappings) is one slot of a leaf:
 * a straight walk down, with none of the span arithmetic of set_below.
 */
static int set_one(struct uvi_radix *t, uint64_t key, uintptr_t v)
{
	struct node *n = t->hint.leaf;

	/* A leaf in use is marked all the way up: only its slot to fill. */
	if (n && t->hint.prefix == key >> SLOT_BITS && !is_empty(n))
		goto put;
	n = t->root;
	for (unsigned level = t->top; level; level--) {
		unsigned i = idx(key, level);
		struct node *child = (struct node *)n->slot[i];

		if (!child) {
			child = node_new();
			if (!child)
				return -ENOMEM; /* the nodes above stay, marked: clear unmarks them */
			n->slot[i] = (uintptr_t)child;
		}
		mark_used(n, i);
		n = child;
	}
	t->hint = (struct leaf_hint){ key >> SLOT_BITS, n };
put:
	n->slot[idx(key, 0)] = v;
	mark_used(n, idx(key, 0));
	return 0;
}

/* Unmark the way down to key's leaf from the first node that this left empty. */
static void unmark_emptied(struct uvi_radix *t, uint64_t key)
{
	struct node *path[8]; /* path[l]: the node of level l on the way to key */
	struct node *n = t->root;
	unsigned level;

	for (level = t->top; level; level--) {
		path[level] = n;
		n = (struct node *)n->slot[idx(key, level)];
	}
	path[0] = n;
	/* The nodes stay, for the next range here. */
	while (level < t->top && is_empty(path[level])) {
		level++;
		mark_unused(path[level], idx(key, level));
	}
}

static void clear_one(struct uvi_radix *t, uint64_t key)
{
	uintptr_t above = 0;
	struct node *leaf = leaf_of(t, key, &above);
	unsigned i = idx(key, 0);

	if (!leaf || !is_used(leaf, i))
		return;
	leaf->slot[i] = 0;
	mark_unused(leaf, i);
	if (is_empty(leaf))
		unmark_emptied(t, key);
}

/* Add levels above the root until it spans key: the old root is slot 0 of the new. */
static int grow_to(struct uvi_radix *t, uint64_t key)
{
	while (key > t->last_key) {
		struct node *n = node_new();

		if (!n)
			return -ENOMEM; /* the levels added so far are harmless */
		n->slot[0] = (uintptr_t)t->root;
		if (!is_empty(t->root))
			mark_used(n, 0);
		t->root = n;
		t->top++;
		t->last_key = span_of_top(t);
	}
	return 0;
}

int uvi_radix_set(struct uvi_radix *t, uint64_t start, uint64_t end, void *val)
{
	uint64_t ks = start >> t->shift, ke = end >> t->shift;
	uintptr_t v = (uintptr_t)val | VALUE_TAG;

	if (!val || ((uintptr_t)val & VALUE_TAG))
		return uvi_fail(-EINVAL, "radix table: a value must be non-NULL and even");
	if (grow_to(t, ke))
		return uvi_fail(-ENOMEM, "radix table: out of memory for a node");
	if (ks == ke ? set_one(t, ks, v) : set_below(t, t->root, t->top, ks, ke, v)) {
		clear_below(t->root, t->top, ks, ke); /* the range was empty: empty again */
		return uvi_fail(-ENOMEM, "radix table: out of memory for a node");
	}
	return 0;
}

void uvi_radix_clear(struct uvi_radix *t, uint64_t start, uint64_t end)
{
	uint64_t ks = start >> t->shift, ke = end >> t->shift;

	if (ks == ke) {
		clear_one(t, ks); /* beyond the root's span: leaf_of finds no leaf */
		return;
	}
	/* Keys beyond the root's span hold nothing (and would wrap its indexes). */
	if (ks <= t->last_key)
		clear_below(t->root, t->top, ks, min_u64(ke, t->last_key));
}

void uvi_radix_prefetch(const struct uvi_radix *t, uint64_t addr)
{
	uint64_t key = addr >> t->shift;
	const struct node *n = t->root;

	if (key > t->last_key)
		return;
	for (unsigned level = t->top; level; level--) {
		uintptr_t s = n->slot[idx(key, level)];

		if (!s || (s & VALUE_TAG))
			return;
		n = (const struct node *)s;
	}
	__builtin_prefetch(&n->slot[idx(key, 0)]);
	__builtin_prefetch(n->used);
}

void *uvi_radix_get(struct uvi_radix *t, uint64_t addr)
{
	uint64_t key = addr >> t->shift;
	uintptr_t above = 0;
	struct node *leaf = leaf_of(t, key, &above);

	return value_of(leaf ? leaf->slot[idx(key, 0)] : above);
}

static uintptr_t first_below(const struct node *n, unsigned level, uint64_t ks, uint64_t ke)
{
	unsigned hi = idx(ke, level);

	for (unsigned i = next_used(n, idx(ks, level), hi); i < SLOTS;
	     i = next_used(n, i + 1, hi)) {
		uint64_t base = slot_base(ks, level, i);
		uintptr_t v;

		if (n->slot[i] & VALUE_TAG)
			return n->slot[i];
		v = first_below((const struct node *)n->slot[i], level - 1, max_u64(ks, base),
				min_u64(ke, base + slot_mask(level)));
		if (v)
			return v;
	}
	return 0;
}

void *uvi_radix_first(struct uvi_radix *t, uint64_t start, uint64_t end)
{
	uint64_t ks = start >> t->shift, ke;
	uintptr_t v;

	if (ks == end >> t->shift)
		return uvi_radix_get(t, start);
	ke = min_u64(end >> t->shift, t->last_key);
	if (ks > ke)
		return NULL;
	v = first_below(t->root, t->top, ks, ke);
	return v ? (void *)(v - VALUE_TAG) : NULL;
}
