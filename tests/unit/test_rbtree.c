/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The intrusive red-black tree (lib/common/rbtree.c): a million random
 * insertions, with as many erasures, duplicate keys included, against a
 * sorted-array model, with every invariant (colours, black height, parent
 * links, order of keys and of equal keys, augmented data) checked at
 * regular intervals; bound searches at the edges of the key space;
 * traversals both ways; post-order freeing; and an augmented search for
 * the leftmost node whose value reaches a threshold, the way an allocator
 * finds a large enough free gap, in O(height) steps.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "cunit_main.h"
#include "../../lib/common/rbtree.h"
#include "splitmix.h"

struct item {
	struct uvi_rb_node rb;
	uint64_t value;     /* what the augmentation aggregates */
	uint64_t max_value; /* augmented: the largest value in the subtree */
	uint32_t size;      /* augmented: the number of nodes in the subtree */
	uint32_t seq;       /* insertion order: equal keys must stay in it */
};

#define ITEM(n) uvi_rb_entry(n, struct item, rb)

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static uint32_t size_of(const struct uvi_rb_node *n)
{
	return n ? ITEM(n)->size : 0;
}

static uint64_t max_of(const struct uvi_rb_node *n)
{
	return n ? ITEM(n)->max_value : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void augment(struct uvi_rb_node *n)
{
	struct item *it = ITEM(n);

	it->size = 1 + size_of(n->left) + size_of(n->right);
	it->max_value = max_u64(it->value, max_u64(max_of(n->left), max_of(n->right)));
}

/* The model: live items in no order, sorted by (key, seq) at each check. */
struct model {
	struct item **live, **sorted;
	size_t n;
};

static void model_init(struct model *m, size_t capacity)
{
	m->live = malloc(capacity * sizeof(*m->live));
	m->sorted = malloc(capacity * sizeof(*m->sorted));
	m->n = 0;
	CU_ASSERT_FATAL(m->live && m->sorted);
}

static void model_free(struct model *m)
{
	free(m->live);
	free(m->sorted);
}

static void model_add(struct model *m, struct item *it)
{
	m->live[m->n++] = it;
}

static void model_del(struct model *m, size_t i)
{
	m->live[i] = m->live[--m->n];
}

static int cmp_key_seq(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;

	if (x->rb.key != y->rb.key)
		return x->rb.key < y->rb.key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void model_sort(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->sorted[i] = m->live[i];
	qsort(m->sorted, m->n, sizeof(*m->sorted), cmp_key_seq);
}

/* Violations found by one recursive walk of the whole tree. */
struct walk {
	struct item **expect; /* the sorted model */
	size_t n, pos;
	bool augmented;
	unsigned depth, max_depth;
	unsigned long bad_parent, red_red, black_height, order, aug;
};

/* Walks n's subtree in order; returns its black height (NULL leaves count 1). */
static unsigned walk_node(const struct uvi_rb_node *n, const struct uvi_rb_node *parent,
			  struct walk *w)
{
	unsigned lh, rh;

	if (!n)
		return 1;
	w->depth++;
	if (w->depth > w->max_depth)
		w->max_depth = w->depth;
	w->bad_parent += n->parent != parent;
	w->red_red += n->red && ((n->left && n->left->red) || (n->right && n->right->red));
	lh = walk_node(n->left, n, w);
	w->order += w->pos >= w->n || w->expect[w->pos] != ITEM(n);
	w->pos++;
	rh = walk_node(n->right, n, w);
	w->black_height += lh != rh;
	if (w->augmented) {
		const struct item *it = ITEM(n);

		w->aug += it->size != 1 + size_of(n->left) + size_of(n->right);
		w->aug += it->max_value !=
			  max_u64(it->value, max_u64(max_of(n->left), max_of(n->right)));
	}
	w->depth--;
	return lh + !n->red;
}

static unsigned log2_floor(size_t x)
{
	unsigned l = 0;

	while (x >>= 1)
		l++;
	return l;
}

static void check_structure(const struct uvi_rb_tree *t, const struct model *m)
{
	struct walk w = { .expect = m->sorted, .n = m->n, .augmented = t->augment != NULL };

	if (t->root) {
		CU_ASSERT_FALSE(t->root->red);
		CU_ASSERT_PTR_NULL(t->root->parent);
	}
	walk_node(t->root, NULL, &w);
	CU_ASSERT_EQUAL(w.bad_parent, 0);
	CU_ASSERT_EQUAL(w.red_red, 0);
	CU_ASSERT_EQUAL(w.black_height, 0);
	CU_ASSERT_EQUAL(w.order, 0);
	CU_ASSERT_EQUAL(w.aug, 0);
	CU_ASSERT_EQUAL(w.pos, m->n);
	/* Red-black height bound: at most 2 log2(n + 1). */
	CU_ASSERT(w.max_depth <= 2 * (log2_floor(m->n + 1) + 1));
}

static void check_traversals(const struct uvi_rb_tree *t, const struct model *m)
{
	const struct uvi_rb_node *n = uvi_rb_first(t);
	unsigned long bad = 0;
	size_t i;

	for (i = 0; n && i < m->n; i++, n = uvi_rb_next(n))
		bad += ITEM(n) != m->sorted[i];
	CU_ASSERT(i == m->n && n == NULL);
	n = uvi_rb_last(t);
	for (i = m->n; n && i > 0; i--, n = uvi_rb_prev(n))
		bad += ITEM(n) != m->sorted[i - 1];
	CU_ASSERT(i == 0 && n == NULL);
	CU_ASSERT_EQUAL(bad, 0);
}

/* The first index of the sorted model whose key is >= key (or > key if strict). */
static size_t model_bound(const struct model *m, uint64_t key, bool strict)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k = m->sorted[mid]->rb.key;

		if (k > key || (!strict && k == key))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct item *item_or_null(const struct uvi_rb_node *n)
{
	return n ? ITEM(n) : NULL;
}

/* 1 if any of the four bound searches for key disagrees with the model. */
static unsigned long bound_mismatch(const struct uvi_rb_tree *t, const struct model *m,
				    uint64_t key)
{
	size_t ge = model_bound(m, key, false), gt = model_bound(m, key, true);

	return item_or_null(uvi_rb_first_ge(t, key)) != (ge < m->n ? m->sorted[ge] : NULL) ||
	       item_or_null(uvi_rb_first_gt(t, key)) != (gt < m->n ? m->sorted[gt] : NULL) ||
	       item_or_null(uvi_rb_last_le(t, key)) != (gt > 0 ? m->sorted[gt - 1] : NULL) ||
	       item_or_null(uvi_rb_last_lt(t, key)) != (ge > 0 ? m->sorted[ge - 1] : NULL);
}

static void check_bounds(const struct uvi_rb_tree *t, const struct model *m, unsigned probes)
{
	unsigned long bad = bound_mismatch(t, m, 0) + bound_mismatch(t, m, UINT64_MAX);

	for (unsigned i = 0; i < probes; i++) {
		uint64_t key = rng();

		if (m->n) {
			key = m->sorted[rng() % m->n]->rb.key;
			bad += bound_mismatch(t, m, key - (key > 0));
			bad += bound_mismatch(t, m, key + (key < UINT64_MAX));
		}
		bad += bound_mismatch(t, m, key);
		bad += bound_mismatch(t, m, rng() % 2 ? rng() : rng() % (1u << 20));
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void check_all(const struct uvi_rb_tree *t, struct model *m, unsigned probes)
{
	model_sort(m);
	check_structure(t, m);
	check_traversals(t, m);
	check_bounds(t, m, probes);
}

/* Mostly keys from a small range (many duplicates), some anywhere, a few at the edges. */
static uint64_t random_key(uint64_t dense_range)
{
	uint64_t r = rng();

	if (r % 64 == 0)
		return r & 64 ? 0 : UINT64_MAX;
	if (r % 4 == 1)
		return rng();
	return rng() % dense_range;
}

/*
 * Insert `total` items (probability 2/3 per step while some remain) and
 * erase random live ones until the tree is empty; check everything every
 * check_every steps. hinted: insert with uvi_rb_insert_after(last_le(key)).
 */
static void random_run(uint32_t total, uint64_t dense_range, unsigned long check_every,
		       uvi_rb_augment_fn aug, bool hinted)
{
	struct item *items = calloc(total, sizeof(*items));
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(aug);
	unsigned long steps = 0, size_mismatch = 0;
	uint32_t inserted = 0;
	struct model m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(items);
	model_init(&m, total);
	while (inserted < total || m.n) {
		if (inserted < total && (m.n == 0 || rng() % 3 != 0)) {
			struct item *it = &items[inserted];

			it->seq = inserted++;
			it->rb.key = random_key(dense_range);
			it->value = rng() % 1000000;
			if (hinted)
				uvi_rb_insert_after(&t, uvi_rb_last_le(&t, it->rb.key), &it->rb);
			else
				uvi_rb_insert(&t, &it->rb);
			model_add(&m, it);
		} else {
			size_t i = rng() % m.n;

			uvi_rb_erase(&t, &m.live[i]->rb);
			model_del(&m, i);
		}
		if (aug)
			size_mismatch += size_of(t.root) != m.n;
		if (++steps % check_every == 0)
			check_all(&t, &m, 64);
	}
	check_all(&t, &m, 64);
	CU_ASSERT_PTR_NULL(t.root);
	CU_ASSERT_EQUAL(size_mismatch, 0);
	CU_ASSERT_EQUAL(steps, 2ul * total);
	model_free(&m);
	free(items);
}

static void test_million_random_augmented(void)
{
	rng_state = 1;
	random_run(1000000, 1u << 20, 100000, augment, false);
}

static void test_small_random_checked_every_step(void)
{
	for (uint64_t seed = 100; seed < 103; seed++) {
		rng_state = seed;
		random_run(2000, 64, 1, augment, false);
	}
}

/* Inserting after the last_le node gives the same tree contents and order as uvi_rb_insert. */
static void test_hinted_insert_checked_every_step(void)
{
	for (uint64_t seed = 200; seed < 203; seed++) {
		rng_state = seed;
		random_run(2000, 64, 1, augment, true);
	}
	rng_state = 4;
	random_run(200000, 1u << 16, 20000, NULL, true);
}

static void test_random_without_augmentation(void)
{
	rng_state = 3;
	random_run(200000, 1u << 16, 20000, NULL, false);
}

static void test_empty_and_single(void)
{
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(augment);
	struct item a = { .value = 7 };

	CU_ASSERT_PTR_NULL(uvi_rb_first(&t));
	CU_ASSERT_PTR_NULL(uvi_rb_last(&t));
	CU_ASSERT_PTR_NULL(uvi_rb_first_ge(&t, 0));
	CU_ASSERT_PTR_NULL(uvi_rb_last_le(&t, UINT64_MAX));
	CU_ASSERT_PTR_NULL(uvi_rb_postorder_first(&t));

	a.rb.key = 5;
	uvi_rb_insert(&t, &a.rb);
	CU_ASSERT_PTR_EQUAL(t.root, &a.rb);
	CU_ASSERT_FALSE(a.rb.red);
	CU_ASSERT_EQUAL(a.size, 1);
	CU_ASSERT_EQUAL(a.max_value, 7);
	CU_ASSERT_PTR_EQUAL(uvi_rb_first(&t), &a.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_last(&t), &a.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_next(&a.rb));
	CU_ASSERT_PTR_NULL(uvi_rb_prev(&a.rb));
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_ge(&t, 5), &a.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_first_gt(&t, 5));
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_le(&t, 5), &a.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_last_lt(&t, 5));
	CU_ASSERT_PTR_EQUAL(uvi_rb_postorder_first(&t), &a.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_postorder_next(&a.rb));
	uvi_rb_erase(&t, &a.rb);
	CU_ASSERT_PTR_NULL(t.root);
}

/* Keys 0 and UINT64_MAX: bounds that have nothing below or above them. */
static void test_bounds_at_key_space_edges(void)
{
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(NULL);
	struct item lo = { .rb.key = 0 }, mid = { .rb.key = 1ull << 63 };
	struct item hi = { .rb.key = UINT64_MAX };

	uvi_rb_insert(&t, &hi.rb);
	uvi_rb_insert(&t, &lo.rb);
	uvi_rb_insert(&t, &mid.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_last_lt(&t, 0));
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_le(&t, 0), &lo.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_ge(&t, 0), &lo.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_gt(&t, 0), &mid.rb);
	CU_ASSERT_PTR_NULL(uvi_rb_first_gt(&t, UINT64_MAX));
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_ge(&t, UINT64_MAX), &hi.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_le(&t, UINT64_MAX), &hi.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_lt(&t, UINT64_MAX), &mid.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_le(&t, UINT64_MAX - 1), &mid.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_ge(&t, 1), &mid.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_last_lt(&t, 1ull << 63), &lo.rb);
	CU_ASSERT_PTR_EQUAL(uvi_rb_first_gt(&t, 1ull << 63), &hi.rb);
}

/*
 * Ascending then descending insertion, then erasure from the front: the
 * worst cases of an unbalanced search tree.
 */
static void test_sequential_keys_stay_balanced(void)
{
	const uint32_t n = 100000;
	struct item *items = calloc(2 * n, sizeof(*items));
	struct item **order = malloc(2 * n * sizeof(*order));
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(augment);
	unsigned long wrong_first = 0;
	struct model m;

	CU_ASSERT_FATAL(items && order);
	model_init(&m, 2 * n);
	rng_state = 4;
	for (uint32_t i = 0; i < 2 * n; i++) {
		struct item *it = &items[i];

		it->seq = i;
		it->rb.key = i < n ? i : 3ull * n - i; /* 0..n-1, then 2n down to n+1 */
		it->value = i;
		uvi_rb_insert(&t, &it->rb);
		model_add(&m, it);
		if (i % 25000 == 0)
			check_all(&t, &m, 16);
	}
	check_all(&t, &m, 16);
	CU_ASSERT_EQUAL(size_of(t.root), 2 * n);
	CU_ASSERT_EQUAL(max_of(t.root), 2 * n - 1);
	for (uint32_t i = 0; i < 2 * n; i++)
		order[i] = m.sorted[i];
	for (uint32_t i = 0; i < 2 * n; i++) {
		wrong_first += uvi_rb_first(&t) != &order[i]->rb;
		uvi_rb_erase(&t, &order[i]->rb);
		if (i % 25000 == 0) {
			m.n = 0;
			for (uint32_t j = i + 1; j < 2 * n; j++)
				model_add(&m, order[j]);
			check_all(&t, &m, 16);
		}
	}
	CU_ASSERT_EQUAL(wrong_first, 0);
	CU_ASSERT_PTR_NULL(t.root);
	model_free(&m);
	free(order);
	free(items);
}

/* Post-order visits children before parents and lets the caller free as it goes. */
static void test_postorder_frees_every_node(void)
{
	const unsigned n = 10000;
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(NULL);
	struct uvi_rb_node *x, *next;
	unsigned visited = 0, early = 0;

	rng_state = 5;
	for (unsigned i = 0; i < n; i++) {
		struct item *it = calloc(1, sizeof(*it));

		CU_ASSERT_PTR_NOT_NULL_FATAL(it);
		it->rb.key = rng() % 5000;
		uvi_rb_insert(&t, &it->rb);
	}
	/* First pass: mark (value = 1) and check that both children were marked before. */
	for (x = uvi_rb_postorder_first(&t); x; x = uvi_rb_postorder_next(x)) {
		early += (x->left && !ITEM(x->left)->value) || (x->right && !ITEM(x->right)->value);
		ITEM(x)->value = 1;
		visited++;
	}
	CU_ASSERT_EQUAL(visited, n);
	CU_ASSERT_EQUAL(early, 0);
	CU_ASSERT_PTR_EQUAL(x, NULL);
	/* Second pass frees (AddressSanitizer would catch a read of a freed node). */
	visited = 0;
	for (x = uvi_rb_postorder_first(&t); x; x = next) {
		next = uvi_rb_postorder_next(x);
		free(ITEM(x));
		visited++;
	}
	CU_ASSERT_EQUAL(visited, n);
}

/*
 * The leftmost item whose value is >= threshold, found through max_value in
 * O(height): the search an allocator does for a free gap of a given size.
 */
static struct item *leftmost_with_value(const struct uvi_rb_tree *t, uint64_t threshold,
					unsigned *steps)
{
	const struct uvi_rb_node *n = t->root;

	*steps = 0;
	if (max_of(n) < threshold)
		return NULL;
	while (n) {
		++*steps;
		if (max_of(n->left) >= threshold)
			n = n->left;
		else if (ITEM(n)->value >= threshold)
			return ITEM(n);
		else
			n = n->right; /* max_of(n) >= threshold: the right subtree has it */
	}
	return NULL; /* unreachable if max_value is right */
}

static struct item *leftmost_with_value_scan(const struct model *m, uint64_t threshold)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->sorted[i]->value >= threshold)
			return m->sorted[i];
	return NULL;
}

static void check_max_queries(const struct uvi_rb_tree *t, const struct model *m)
{
	unsigned long wrong = 0, too_long = 0;
	unsigned steps;
	struct walk w = { .expect = m->sorted, .n = m->n, .augmented = true };

	walk_node(t->root, NULL, &w);
	CU_ASSERT_EQUAL(w.aug, 0);
	for (unsigned i = 0; i < 200; i++) {
		uint64_t threshold = rng() % 1100000; /* some above every value */

		wrong += leftmost_with_value(t, threshold, &steps) !=
			 leftmost_with_value_scan(m, threshold);
		too_long += steps > w.max_depth;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(too_long, 0);
}

static void test_augmented_subtree_max(void)
{
	const uint32_t n = 20000;
	struct item *items = calloc(n, sizeof(*items));
	struct uvi_rb_tree t = UVI_RB_TREE_INIT(augment);
	struct model m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(items);
	model_init(&m, n);
	rng_state = 6;
	for (uint32_t i = 0; i < n; i++) {
		items[i].seq = i;
		items[i].rb.key = rng() % (10 * n);
		items[i].value = rng() % 1000000;
		uvi_rb_insert(&t, &items[i].rb);
		model_add(&m, &items[i]);
	}
	model_sort(&m);
	check_max_queries(&t, &m);
	/* A value changes in place: uvi_rb_propagate refreshes the maxima above it. */
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < 500; i++) {
			struct item *it = m.live[rng() % m.n];

			it->value = rng() % 1000000;
			uvi_rb_propagate(&t, &it->rb);
		}
		check_max_queries(&t, &m);
	}
	/* Erase half; the maxima follow. */
	while (m.n > n / 2) {
		size_t i = rng() % m.n;

		uvi_rb_erase(&t, &m.live[i]->rb);
		model_del(&m, i);
	}
	model_sort(&m);
	check_max_queries(&t, &m);
	check_structure(&t, &m);
	model_free(&m);
	free(items);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_empty_and_single),
		TEST_CASE(test_bounds_at_key_space_edges),
		TEST_CASE(test_small_random_checked_every_step),
		TEST_CASE(test_million_random_augmented),
		TEST_CASE(test_random_without_augmentation),
		TEST_CASE(test_sequential_keys_stay_balanced),
		TEST_CASE(test_postorder_frees_every_node),
		TEST_CASE(test_augmented_subtree_max),
		TEST_CASE(test_hinted_insert_checked_every_step),
		TEST_END,
	};

	return run_suite("rbtree", cases);
}
