/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The free ranges of a space in a red-black tree (lib/common/rbtree.c)
 * keyed by their first address and augmented with the largest span
 * (last - first) in each subtree, kept in the parent (iova_internal.h).
 * Ranges are disjoint and never adjacent (a freed range merges with its
 * neighbours), so there is one node per hole, whatever the number of live
 * allocations.
 *
 * Allocation is address-ordered first fit: descend to the leftmost range
 * whose span reaches what is needed, O(log n) in the worst case. With an
 * alignment above the granule the need is size + align - granule, which
 * any range that has it surely fits; only when no range has it are the
 * ranges between size and that bound tried one by one for an aligned fit
 * (O(log n) each), so that a fit is never missed.
 *
 * Spans, not lengths: a range may be the whole 64-bit space.
 */
#include <errno.h>

#include "iova_internal.h"

static uint64_t span(const struct uvi_rb_node *n)
{
	return UVI_IOVA_RANGE(n)->last - n->key;
}

static void augment(struct uvi_rb_node *n)
{
	struct uvi_iova_range *r = UVI_IOVA_RANGE(n);

	r->left_max = n->left ? uvi_iova_submax(n->left) : 0;
	r->right_max = n->right ? uvi_iova_submax(n->right) : 0;
}

/*
 * n's own span changed, not its place: bring its ancestors up to date,
 * stopping where nothing changes any more. Only the path is read.
 */
static void refresh(struct uvi_rb_node *n)
{
	uint64_t m = uvi_iova_submax(n);
	struct uvi_rb_node *p;

	for (p = n->parent; p; n = p, p = p->parent) {
		uint64_t *slot = p->left == n ? &UVI_IOVA_RANGE(p)->left_max :
						&UVI_IOVA_RANGE(p)->right_max;

		if (*slot == m)
			return;
		*slot = m;
		m = uvi_iova_submax(p);
	}
}

void uvi_iova_tree_init(struct uvi_iova_tree *t, uint64_t granule, int numa_node)
{
	t->rb = (struct uvi_rb_tree)UVI_RB_TREE_INIT(augment);
	uvi_iova_pool_init(&t->pool, numa_node);
	t->granule = granule;
	t->free_granules = 0;
	t->n_ranges = 0;
}

void uvi_iova_tree_fini(struct uvi_iova_tree *t)
{
	uvi_iova_pool_fini(&t->pool);
	t->rb.root = NULL;
	t->n_ranges = 0;
	t->free_granules = 0;
}

uint64_t uvi_iova_tree_largest_span(const struct uvi_iova_tree *t)
{
	return t->rb.root ? uvi_iova_submax(t->rb.root) : 0;
}

/* The leftmost node of n's subtree whose span reaches need (NULL if none). */
static struct uvi_rb_node *leftmost_fit(struct uvi_rb_node *n, uint64_t need)
{
	if (!n || uvi_iova_submax(n) < need)
		return NULL;
	for (;;) {
		if (n->left && UVI_IOVA_RANGE(n)->left_max >= need)
			n = n->left;
		else if (span(n) >= need)
			return n;
		else
			n = n->right; /* the subtree's maximum is there */
	}
}

/* The first node after x in address order whose span reaches need. */
static struct uvi_rb_node *next_fit(struct uvi_rb_node *x, uint64_t need)
{
	struct uvi_rb_node *p;

	if (x->right && UVI_IOVA_RANGE(x)->right_max >= need)
		return leftmost_fit(x->right, need);
	for (;;) {
		for (p = x->parent; p && x == p->right; p = p->parent)
			x = p;
		if (!p)
			return NULL;
		if (span(p) >= need)
			return p;
		if (p->right && UVI_IOVA_RANGE(p)->right_max >= need)
			return leftmost_fit(p->right, need);
		x = p;
	}
}

/* The lowest address of n where size bytes aligned to align fit. */
static bool place(const struct uvi_rb_node *n, uint64_t size, uint64_t align, uint64_t *at)
{
	uint64_t mask = align - 1, a = n->key, last = UVI_IOVA_RANGE(n)->last;

	if (a & mask) {
		if (a > UINT64_MAX - mask)
			return false;
		a = (a | mask) + 1;
	}
	if (a > last || last - a < size - 1)
		return false;
	*at = a;
	return true;
}

/* Take [a, b] out of the free range n, which holds it. */
static int carve(struct uvi_iova_tree *t, struct uvi_rb_node *n, uint64_t a, uint64_t b)
{
	struct uvi_iova_range *r = UVI_IOVA_RANGE(n), *right;
	uint64_t last = r->last;

	if (a > n->key && b < last) {
		right = uvi_iova_pool_get(&t->pool);
		if (!right)
			return -ENOMEM;
		r->last = a - 1;
		refresh(n);
		right->rb.key = b + 1;
		right->last = last;
		uvi_rb_insert_after(&t->rb, n, &right->rb);
		t->n_ranges++;
	} else if (a > n->key) {
		r->last = a - 1;
		refresh(n);
	} else if (b < last) {
		n->key = b + 1; /* still above the previous range: the order holds */
		refresh(n);
	} else {
		uvi_rb_erase(&t->rb, n);
		uvi_iova_pool_put(&t->pool, r);
		t->n_ranges--;
	}
	t->free_granules -= (b - a) / t->granule + 1;
	return 0;
}

int uvi_iova_tree_alloc(struct uvi_iova_tree *t, uint64_t size, uint64_t align, uint64_t *iova)
{
	uint64_t need = size - 1, slack = align - t->granule, at = 0;
	struct uvi_rb_node *n = NULL;

	if (need <= UINT64_MAX - slack)
		n = leftmost_fit(t->rb.root, need + slack);
	if (n) {
		place(n, size, align, &at);
	} else if (slack) {
		for (n = leftmost_fit(t->rb.root, need); n; n = next_fit(n, need))
			if (place(n, size, align, &at))
				break;
	}
	if (!n)
		return -ENOSPC;
	if (carve(t, n, at, at + need))
		return -ENOMEM;
	*iova = at;
	return 0;
}

bool uvi_iova_tree_covers(const struct uvi_iova_tree *t, uint64_t first, uint64_t last)
{
	const struct uvi_rb_node *n = uvi_rb_last_le(&t->rb, first);

	return n && UVI_IOVA_RANGE(n)->last >= last;
}

int uvi_iova_tree_take(struct uvi_iova_tree *t, uint64_t first, uint64_t last)
{
	struct uvi_rb_node *n = uvi_rb_last_le(&t->rb, first);

	if (!n || UVI_IOVA_RANGE(n)->last < last)
		return -EBUSY;
	return carve(t, n, first, last);
}

/* A new free range [first, last] after pos (uvi_rb_last_le of first). */
static int insert_range(struct uvi_iova_tree *t, struct uvi_rb_node *pos, uint64_t first,
			uint64_t last)
{
	struct uvi_iova_range *r = uvi_iova_pool_get(&t->pool);

	if (!r)
		return -ENOMEM;
	r->rb.key = first;
	r->last = last;
	uvi_rb_insert_after(&t->rb, pos, &r->rb);
	t->n_ranges++;
	return 0;
}

int uvi_iova_tree_give(struct uvi_iova_tree *t, uint64_t first, uint64_t last)
{
	struct uvi_rb_node *pn = uvi_rb_last_le(&t->rb, first);
	struct uvi_rb_node *nn = pn ? uvi_rb_next(pn) : uvi_rb_first(&t->rb);
	struct uvi_iova_range *prev = pn ? UVI_IOVA_RANGE(pn) : NULL;
	bool join_prev, join_next;
	int rc = 0;

	if ((prev && prev->last >= first) || (nn && nn->key <= last))
		return -EINVAL;
	/* Neither + 1 wraps: prev ends below first, and last is below the next start. */
	join_prev = prev && prev->last + 1 == first;
	join_next = nn && last + 1 == nn->key;
	if (join_prev && join_next) {
		uint64_t next_last = UVI_IOVA_RANGE(nn)->last;

		uvi_rb_erase(&t->rb, nn);
		uvi_iova_pool_put(&t->pool, UVI_IOVA_RANGE(nn));
		t->n_ranges--;
		prev->last = next_last;
		refresh(pn);
	} else if (join_prev) {
		prev->last = last;
		refresh(pn);
	} else if (join_next) {
		nn->key = first; /* still above prev's last: the order holds */
		refresh(nn);
	} else {
		rc = insert_range(t, pn, first, last);
	}
	if (!rc)
		t->free_granules += (last - first) / t->granule + 1;
	return rc;
}
