/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The radix table (lib/common/radix.c): single keys and ranges of every
 * alignment, 0 and UINT64_MAX, a root that grows from one leaf to the
 * full height, a value replacing an emptied node (and the lookup hint
 * into it), and random sets, clears and queries against a list model at
 * shift 0 and shift 12. AddressSanitizer runs this suite too: a node
 * lost or used after free shows up there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../lib/common/radix.h"
#include "splitmix.h"

#define MAX UINT64_MAX
#define MODEL_MAX 512

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static struct uvi_radix *new_table(unsigned shift)
{
	struct uvi_radix *t = NULL;

	CU_ASSERT_EQUAL_FATAL(uvi_radix_create(shift, &t), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

/* Distinct, 2-aligned values to store: the addresses of a static array's elements. */
static char values[MODEL_MAX * 2];
#define VAL(i) ((void *)&values[2 * (i)])

static void test_create_refuses_no_bits(void)
{
	struct uvi_radix *t = NULL;

	CU_ASSERT_EQUAL(uvi_radix_create(64, &t), -EINVAL);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_PTR_NOT_NULL(viommu_last_error());
	uvi_radix_destroy(NULL);
}

/* A NULL or odd value would read back as no value or as a node: refused, nothing stored. */
static void test_set_refuses_bad_values(void)
{
	struct uvi_radix *t = new_table(12);

	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x1000, 0x1fff, NULL), -EINVAL);
	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x1000, 0x1fff, &values[1]), -EINVAL);
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, 0, MAX));
	uvi_radix_destroy(t);
}

/* Keys beyond what the root spans hold nothing: a clear there must not wrap onto low slots. */
static void test_clear_beyond_root_span(void)
{
	struct uvi_radix *t = new_table(12);

	CU_ASSERT_EQUAL(uvi_radix_set(t, 0, 0xfff, VAL(0)), 0); /* the root: one leaf, 2 MiB */
	uvi_radix_clear(t, 0x200000, 0x3fffff);
	uvi_radix_clear(t, 0x200000, 0x200fff);
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0), VAL(0));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x200000));
	uvi_radix_destroy(t);
}

static void test_single_keys_and_edges(void)
{
	struct uvi_radix *t = new_table(12);

	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0));
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, 0, MAX));
	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x1000, 0x1fff, VAL(1)), 0);
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x1000), VAL(1));
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x1fff), VAL(1)); /* any address in the granule */
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x0fff));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x2000));
	CU_ASSERT_EQUAL(uvi_radix_set(t, 0, 0xfff, VAL(0)), 0);
	CU_ASSERT_EQUAL(uvi_radix_set(t, MAX - 0xfff, MAX, VAL(2)), 0); /* grows to full height */
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, MAX), VAL(2));
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0), VAL(0));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0, MAX), VAL(0));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0x1000, MAX), VAL(1));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0x2000, MAX), VAL(2));
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, 0x2000, MAX - 0x1000));
	uvi_radix_clear(t, 0x1000, 0x1fff);
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x1000));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0x1000, MAX), VAL(2));
	uvi_radix_clear(t, 0, 0xfff);
	uvi_radix_clear(t, MAX - 0xfff, MAX);
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, 0, MAX));
	uvi_radix_destroy(t);
}

/* A range stored as blocks of several levels reads back the same at every granule edge. */
static void test_range_across_levels(void)
{
	struct uvi_radix *t = new_table(12);
	uint64_t start = 0x1ff000, end = 0x40200fff; /* 4 KiB, 2 MiB and 1 GiB blocks */

	CU_ASSERT_EQUAL(uvi_radix_set(t, start, end, VAL(7)), 0);
	for (uint64_t a = start; a < end; a += 0x1ff000)
		CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, a), VAL(7));
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x40000000), VAL(7));
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, end), VAL(7));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, start - 1));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, end + 1));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, end, MAX), VAL(7));
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, end + 1, MAX));
	uvi_radix_clear(t, start, end);
	CU_ASSERT_PTR_NULL(uvi_radix_first(t, 0, MAX));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x40000000));
	uvi_radix_destroy(t);
}

/*
 * A 2 MiB value lands on the slot of a leaf that a 4 KiB value emptied:
 * the leaf is freed, and the lookup hint that pointed into it must not
 * answer for it (AddressSanitizer would see the use after free).
 */
static void test_value_replaces_emptied_node(void)
{
	struct uvi_radix *t = new_table(12);

	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x200000, 0x200fff, VAL(1)), 0);
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x200000), VAL(1));
	uvi_radix_clear(t, 0x200000, 0x200fff);
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x201000));
	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x200000, 0x3fffff, VAL(2)), 0);
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x201000), VAL(2));
	CU_ASSERT_PTR_EQUAL(uvi_radix_get(t, 0x3ff000), VAL(2));
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0, MAX), VAL(2));
	uvi_radix_clear(t, 0x200000, 0x3fffff);
	CU_ASSERT_EQUAL(uvi_radix_set(t, 0x3ff000, 0x3fffff, VAL(3)), 0);
	CU_ASSERT_PTR_EQUAL(uvi_radix_first(t, 0, MAX), VAL(3));
	CU_ASSERT_PTR_NULL(uvi_radix_get(t, 0x200000));
	uvi_radix_destroy(t);
}

struct model {
	uint64_t start[MODEL_MAX], end[MODEL_MAX];
	unsigned idx[MODEL_MAX]; /* which VAL() */
	bool taken[MODEL_MAX];
	unsigned n;
};

static void *model_first(const struct model *m, uint64_t start, uint64_t end)
{
	void *best = NULL;
	uint64_t best_start = 0;

	for (unsigned i = 0; i < m->n; i++)
		if (m->start[i] <= end && m->end[i] >= start && (!best || m->start[i] < best_start)) {
			best = VAL(m->idx[i]);
			best_start = m->start[i];
		}
	return best;
}

/* A granule-aligned address near 0, UINT64_MAX or a block boundary of some level. */
static uint64_t random_address(unsigned shift)
{
	unsigned bits = shift + 9 * (unsigned)(rng() % 8);
	uint64_t block = bits >= 64 ? 0 : 1ull << bits;
	uint64_t a = block * (rng() % 4) + (rng() % 5) * (1ull << shift);

	if (rng() % 8 == 0)
		a = MAX - a;
	return a & ~((1ull << shift) - 1);
}

static void random_set(struct uvi_radix *t, struct model *m, unsigned shift, unsigned long *bad)
{
	uint64_t start = random_address(shift), len, end;
	unsigned v = 0;
	void *clash;

	len = rng() % 2 ? 1ull << shift : random_address(shift) % (1ull << (shift + 27));
	if (!len)
		len = 1ull << shift;
	end = len - 1 > MAX - start ? MAX : start + (len - 1);
	clash = model_first(m, start, end);
	*bad += uvi_radix_first(t, start, end) != clash;
	if (clash || m->n == MODEL_MAX)
		return;
	while (m->taken[v])
		v++;
	*bad += uvi_radix_set(t, start, end, VAL(v)) != 0;
	m->taken[v] = true;
	m->start[m->n] = start;
	m->end[m->n] = end;
	m->idx[m->n++] = v;
}

static void random_clear(struct uvi_radix *t, struct model *m)
{
	unsigned i;

	if (!m->n)
		return;
	i = (unsigned)(rng() % m->n);
	uvi_radix_clear(t, m->start[i], m->end[i]);
	m->taken[m->idx[i]] = false;
	m->n--;
	m->start[i] = m->start[m->n];
	m->end[i] = m->end[m->n];
	m->idx[i] = m->idx[m->n];
}

static void random_query(struct uvi_radix *t, const struct model *m, unsigned shift,
			 unsigned long *bad)
{
	uint64_t a = random_address(shift) | (rng() & ((1ull << shift) - 1));
	uint64_t b = random_address(shift) | (rng() & ((1ull << shift) - 1));
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

	uvi_radix_prefetch(t, b); /* any address, in the root's span or not: only loads */
	*bad += uvi_radix_get(t, a) != model_first(m, a, a);
	*bad += uvi_radix_first(t, lo, hi) != model_first(m, lo, hi);
}

static void random_against_model(unsigned shift, uint64_t seed)
{
	static struct model m;
	struct uvi_radix *t = new_table(shift);
	unsigned long bad = 0;
	unsigned max_n = 0;

	rng_state = seed;
	m = (struct model){ .n = 0 };
	for (unsigned op = 0; op < 40000; op++) {
		unsigned r = (unsigned)(rng() % 10);

		if (r < 4)
			random_set(t, &m, shift, &bad);
		else if (r < 7)
			random_clear(t, &m);
		else
			random_query(t, &m, shift, &bad);
		if (m.n > max_n)
			max_n = m.n;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(max_n > 20); /* the table got busy enough to mean something */
	uvi_radix_destroy(t); /* with values left: AddressSanitizer checks for leaks */
}

static void test_random_shift_12(void)
{
	random_against_model(12, 12);
}

static void test_random_shift_0(void)
{
	random_against_model(0, 7);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_create_refuses_no_bits),
		TEST_CASE(test_set_refuses_bad_values),
		TEST_CASE(test_clear_beyond_root_span),
		TEST_CASE(test_single_keys_and_edges),
		TEST_CASE(test_range_across_levels),
		TEST_CASE(test_value_replaces_emptied_node),
		TEST_CASE(test_random_shift_12),
		TEST_CASE(test_random_shift_0),
		TEST_END,
	};

	return run_suite("radix", cases);
}
