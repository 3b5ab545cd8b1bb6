/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_RBTREE_H
#define UVIOMMU_RBTREE_H

/*
 * An intrusive red-black tree (CLRS, 3rd edition, chapter 13) ordered by a
 * uint64_t key stored in the node. The user embeds a struct uvi_rb_node in
 * its own structure, sets node->key and inserts it; uvi_rb_entry() gets
 * the structure back from a node. The tree never allocates and never
 * recurses; every operation is O(log n) in the worst case, and a whole
 * traversal with uvi_rb_next() or uvi_rb_prev() is O(n).
 *
 * Equal keys are allowed: a node is inserted after the nodes whose key
 * equals its own, so equal keys keep their insertion order.
 *
 * Augmentation: if the tree has an augment callback, the tree calls it on
 * every node whose subtree changed, children before parents, so that
 * aug(n) may recompute per-subtree data of n (a maximum, a sum, the largest
 * free gap below n...) from n itself and from the already up-to-date data
 * of n->left and n->right. It is called after an insertion or an erasure
 * on the path from the lowest changed node to the root, and on both nodes
 * of every rotation. It must not modify the tree. When the user changes
 * what the data of a node depends on without moving it (its own value, or
 * a neighbour's for gap-like data), uvi_rb_propagate() refreshes the path.
 *
 * Not thread-safe: the caller serialises access to a tree.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fields are read-only for users (walking down for an augmented search). */
struct uvi_rb_node {
	struct uvi_rb_node *parent, *left, *right;
	uint64_t key;
	unsigned char red; /* 1 red, 0 black */
};

typedef void (*uvi_rb_augment_fn)(struct uvi_rb_node *n);

struct uvi_rb_tree {
	struct uvi_rb_node *root;
	uvi_rb_augment_fn augment; /* NULL: no augmentation */
};

#define UVI_RB_TREE_INIT(aug) { NULL, (aug) }

/* The structure of type `type` whose member `member` is the node n (not NULL). */
#define uvi_rb_entry(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))

/* Link n (its key set by the caller) into t. */
void uvi_rb_insert(struct uvi_rb_tree *t, struct uvi_rb_node *n);
/*
 * uvi_rb_insert without the descent, when the caller has just searched:
 * pos must be uvi_rb_last_le(t, n->key) (NULL if that is NULL). O(1)
 * before the rebalancing.
 */
void uvi_rb_insert_after(struct uvi_rb_tree *t, struct uvi_rb_node *pos, struct uvi_rb_node *n);
/* Unlink n, a node of t. n's fields are meaningless afterwards. */
void uvi_rb_erase(struct uvi_rb_tree *t, struct uvi_rb_node *n);
/* Call t's augment callback on n and each of its ancestors, bottom-up. */
void uvi_rb_propagate(struct uvi_rb_tree *t, struct uvi_rb_node *n);

/* In-order traversal; NULL past either end or on an empty tree. */
struct uvi_rb_node *uvi_rb_first(const struct uvi_rb_tree *t);
struct uvi_rb_node *uvi_rb_last(const struct uvi_rb_tree *t);
struct uvi_rb_node *uvi_rb_next(const struct uvi_rb_node *n);
struct uvi_rb_node *uvi_rb_prev(const struct uvi_rb_node *n);

/*
 * Bound searches, NULL if there is no such node. Among equal keys, the
 * "first" searches return the earliest node and the "last" ones the latest.
 */
struct uvi_rb_node *uvi_rb_first_ge(const struct uvi_rb_tree *t, uint64_t key); /* lower bound */
struct uvi_rb_node *uvi_rb_first_gt(const struct uvi_rb_tree *t, uint64_t key); /* upper bound */
struct uvi_rb_node *uvi_rb_last_le(const struct uvi_rb_tree *t, uint64_t key);
struct uvi_rb_node *uvi_rb_last_lt(const struct uvi_rb_tree *t, uint64_t key);

/*
 * Post-order traversal (children before their parent), for freeing every
 * node without rebalancing: the caller may free a node once it has asked
 * for the next one. The tree is unusable until reset to UVI_RB_TREE_INIT.
 */
struct uvi_rb_node *uvi_rb_postorder_first(const struct uvi_rb_tree *t);
struct uvi_rb_node *uvi_rb_postorder_next(const struct uvi_rb_node *n);

#endif
