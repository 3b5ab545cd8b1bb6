/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Red-black tree after CLRS (3rd edition, chapter 13), with NULL leaves
 * instead of a shared sentinel: the erase fix-up therefore carries the
 * parent of the (possibly NULL) doubly-black node along with it.
 *
 * Invariants: the root is black; a red node has no red child; every path
 * from a node down to a NULL leaf crosses the same number of black nodes.
 * Hence the height is at most 2 log2(n + 1).
 */
#include <stdbool.h>

#include "rbtree.h"

/*
 * yes if cond, else no, selected without a jump. A descent compares keys
 * at every level, and with keys in no particular order (IOVAs) the side
 * taken is a coin flip: a jump on it is mispredicted about every other
 * level. Loading both children and selecting one costs less.
 */
static struct uvi_rb_node *uvi_rb_pick(bool cond, struct uvi_rb_node *yes,
				       struct uvi_rb_node *no)
{
	uintptr_t mask = -(uintptr_t)cond;

	return (struct uvi_rb_node *)(((uintptr_t)yes & mask) | ((uintptr_t)no & ~mask));
}

static bool is_red(const struct uvi_rb_node *n)
{
	return n && n->red;
}

static void augment(const struct uvi_rb_tree *t, struct uvi_rb_node *n)
{
	if (t->augment)
		t->augment(n);
}

void uvi_rb_propagate(struct uvi_rb_tree *t, struct uvi_rb_node *n)
{
	if (!t->augment)
		return;
	for (; n; n = n->parent)
		t->augment(n);
}

/* Put sub (maybe NULL) where old is under old's parent (CLRS's RB-TRANSPLANT). */
static void transplant(struct uvi_rb_tree *t, struct uvi_rb_node *old, struct uvi_rb_node *sub)
{
	struct uvi_rb_node *p = old->parent;

	if (!p)
		t->root = sub;
	else if (p->left == old)
		p->left = sub;
	else
		p->right = sub;
	if (sub)
		sub->parent = p;
}

/*
 * A rotation keeps the set of nodes below the position of x, so only x
 * and the node that takes its place need their augmented data recomputed,
 * x first since it ends up below.
 */
static void rotate_left(struct uvi_rb_tree *t, struct uvi_rb_node *x)
{
	struct uvi_rb_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	transplant(t, x, y);
	y->left = x;
	x->parent = y;
	augment(t, x);
	augment(t, y);
}

static void rotate_right(struct uvi_rb_tree *t, struct uvi_rb_node *x)
{
	struct uvi_rb_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	transplant(t, x, y);
	y->right = x;
	x->parent = y;
	augment(t, x);
	augment(t, y);
}

/* CLRS's RB-INSERT-FIXUP: z is red and may have a red parent. */
static void insert_fixup(struct uvi_rb_tree *t, struct uvi_rb_node *z)
{
	while (is_red(z->parent)) {
		struct uvi_rb_node *p = z->parent;
		struct uvi_rb_node *g = p->parent; /* exists: a red node is not the root */
		struct uvi_rb_node *uncle = p == g->left ? g->right : g->left;

		if (is_red(uncle)) {
			p->red = 0;
			uncle->red = 0;
			g->red = 1;
			z = g;
			continue;
		}
		if (p == g->left) {
			if (z == p->right) {
				rotate_left(t, p);
				p = z;
			}
			rotate_right(t, g);
		} else {
			if (z == p->left) {
				rotate_right(t, p);
				p = z;
			}
			rotate_left(t, g);
		}
		p->red = 0; /* p took g's place: no red-red pair is left */
		g->red = 1;
		break;
	}
	t->root->red = 0;
}

/* Link n at the empty child pointer *link of parent, then rebalance. */
static void link_node(struct uvi_rb_tree *t, struct uvi_rb_node *parent,
		      struct uvi_rb_node **link, struct uvi_rb_node *n)
{
	n->parent = parent;
	n->left = NULL;
	n->right = NULL;
	n->red = 1;
	*link = n;
	uvi_rb_propagate(t, n);
	insert_fixup(t, n);
}

void uvi_rb_insert(struct uvi_rb_tree *t, struct uvi_rb_node *n)
{
	struct uvi_rb_node *parent = NULL;
	struct uvi_rb_node **link = &t->root;

	while (*link) {
		parent = *link;
		link = n->key < parent->key ? &parent->left : &parent->right;
	}
	link_node(t, parent, link, n);
}

/*
 * One step of the erase fix-up when the doubly-black node x is the left
 * child of *parent: its sibling w exists since x's side is one black short.
 * Returns the next x (the root once the tree is balanced again) and
 * updates *parent to that x's parent.
 */
static struct uvi_rb_node *erase_fix_left(struct uvi_rb_tree *t, struct uvi_rb_node **parent)
{
	struct uvi_rb_node *p = *parent;
	struct uvi_rb_node *w = p->right;

	if (w->red) {
		w->red = 0;
		p->red = 1;
		rotate_left(t, p);
		w = p->right;
	}
	if (!is_red(w->left) && !is_red(w->right)) {
		w->red = 1;
		*parent = p->parent;
		return p;
	}
	if (!is_red(w->right)) {
		w->left->red = 0;
		w->red = 1;
		rotate_right(t, w);
		w = p->right;
	}
	w->red = p->red;
	p->red = 0;
	w->right->red = 0;
	rotate_left(t, p);
	return t->root;
}

/* The mirror image of erase_fix_left. */
static struct uvi_rb_node *erase_fix_right(struct uvi_rb_tree *t, struct uvi_rb_node **parent)
{
	struct uvi_rb_node *p = *parent;
	struct uvi_rb_node *w = p->left;

	if (w->red) {
		w->red = 0;
		p->red = 1;
		rotate_right(t, p);
		w = p->left;
	}
	if (!is_red(w->left) && !is_red(w->right)) {
		w->red = 1;
		*parent = p->parent;
		return p;
	}
	if (!is_red(w->left)) {
		w->right->red = 0;
		w->red = 1;
		rotate_left(t, w);
		w = p->left;
	}
	w->red = p->red;
	p->red = 0;
	w->left->red = 0;
	rotate_right(t, p);
	return t->root;
}

/*
 * CLRS's RB-DELETE-FIXUP: x (maybe NULL) carries an extra black. A NULL x
 * is its parent's left child exactly when that slot is empty: its sibling
 * has a black height of at least one, so it is not NULL.
 */
static void erase_fixup(struct uvi_rb_tree *t, struct uvi_rb_node *x, struct uvi_rb_node *parent)
{
	while (x != t->root && !is_red(x)) {
		if (x == parent->left)
			x = erase_fix_left(t, &parent);
		else
			x = erase_fix_right(t, &parent);
	}
	if (x)
		x->red = 0;
}

void uvi_rb_erase(struct uvi_rb_tree *t, struct uvi_rb_node *z)
{
	struct uvi_rb_node *x, *x_parent;
	bool removed_red;

	if (!z->left || !z->right) {
		x = z->left ? z->left : z->right;
		x_parent = z->parent;
		removed_red = z->red;
		transplant(t, z, x);
	} else {
		/* z's successor y leaves its place to its right child x and takes z's. */
		struct uvi_rb_node *y = z->right;

		while (y->left)
			y = y->left;
		x = y->right;
		removed_red = y->red;
		if (y->parent == z) {
			x_parent = y;
		} else {
			x_parent = y->parent;
			transplant(t, y, x);
			y->right = z->right;
			y->right->parent = y;
		}
		transplant(t, z, y);
		y->left = z->left;
		y->left->parent = y;
		y->red = z->red;
	}
	/* x_parent is the lowest node whose subtree lost a node. */
	uvi_rb_propagate(t, x_parent);
	if (!removed_red)
		erase_fixup(t, x, x_parent);
}

static struct uvi_rb_node *leftmost(const struct uvi_rb_node *n)
{
	while (n->left)
		n = n->left;
	return (struct uvi_rb_node *)n;
}

static struct uvi_rb_node *rightmost(const struct uvi_rb_node *n)
{
	while (n->right)
		n = n->right;
	return (struct uvi_rb_node *)n;
}

/*
 * n becomes pos's in-order successor: pos's right child if it has none,
 * else the left child of the leftmost node on its right (the first node
 * of the tree if pos is NULL).
 */
void uvi_rb_insert_after(struct uvi_rb_tree *t, struct uvi_rb_node *pos, struct uvi_rb_node *n)
{
	struct uvi_rb_node *parent;

	if (!pos) {
		parent = t->root ? leftmost(t->root) : NULL;
		link_node(t, parent, parent ? &parent->left : &t->root, n);
	} else if (!pos->right) {
		link_node(t, pos, &pos->right, n);
	} else {
		parent = leftmost(pos->right);
		link_node(t, parent, &parent->left, n);
	}
}

struct uvi_rb_node *uvi_rb_first(const struct uvi_rb_tree *t)
{
	return t->root ? leftmost(t->root) : NULL;
}

struct uvi_rb_node *uvi_rb_last(const struct uvi_rb_tree *t)
{
	return t->root ? rightmost(t->root) : NULL;
}

struct uvi_rb_node *uvi_rb_next(const struct uvi_rb_node *n)
{
	if (n->right)
		return leftmost(n->right);
	while (n->parent && n == n->parent->right)
		n = n->parent;
	return n->parent;
}

struct uvi_rb_node *uvi_rb_prev(const struct uvi_rb_node *n)
{
	if (n->left)
		return rightmost(n->left);
	while (n->parent && n == n->parent->left)
		n = n->parent;
	return n->parent;
}

/* The leftmost node whose key is above key (or equal to it, unless strict). */
static struct uvi_rb_node *leftmost_above(const struct uvi_rb_tree *t, uint64_t key, bool strict)
{
	struct uvi_rb_node *n = t->root, *found = NULL;

	while (n) {
		bool above = n->key > key || (!strict && n->key == key);

		found = uvi_rb_pick(above, n, found);
		n = uvi_rb_pick(above, n->left, n->right);
	}
	return found;
}

/* The rightmost node whose key is below key (or equal to it, unless strict). */
static struct uvi_rb_node *rightmost_below(const struct uvi_rb_tree *t, uint64_t key, bool strict)
{
	struct uvi_rb_node *n = t->root, *found = NULL;

	while (n) {
		bool below = n->key < key || (!strict && n->key == key);

		found = uvi_rb_pick(below, n, found);
		n = uvi_rb_pick(below, n->right, n->left);
	}
	return found;
}

struct uvi_rb_node *uvi_rb_first_ge(const struct uvi_rb_tree *t, uint64_t key)
{
	return leftmost_above(t, key, false);
}

struct uvi_rb_node *uvi_rb_first_gt(const struct uvi_rb_tree *t, uint64_t key)
{
	return leftmost_above(t, key, true);
}

struct uvi_rb_node *uvi_rb_last_le(const struct uvi_rb_tree *t, uint64_t key)
{
	return rightmost_below(t, key, false);
}

struct uvi_rb_node *uvi_rb_last_lt(const struct uvi_rb_tree *t, uint64_t key)
{
	return rightmost_below(t, key, true);
}

/* The first node of n's subtree in post-order: down, left when possible, to a leaf. */
static struct uvi_rb_node *deepest_first(const struct uvi_rb_node *n)
{
	for (;;) {
		if (n->left)
			n = n->left;
		else if (n->right)
			n = n->right;
		else
			return (struct uvi_rb_node *)n;
	}
}

struct uvi_rb_node *uvi_rb_postorder_first(const struct uvi_rb_tree *t)
{
	return t->root ? deepest_first(t->root) : NULL;
}

struct uvi_rb_node *uvi_rb_postorder_next(const struct uvi_rb_node *n)
{
	struct uvi_rb_node *p = n->parent;

	if (p && n == p->left && p->right)
		return deepest_first(p->right);
	return p;
}
