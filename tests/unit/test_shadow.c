/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver's mapping shadow (drivers/iommu/shadow.c): overlap at both
 * edges of an entry, adjacency that is not overlap, every shape of partial
 * cover that an UNMAP would split, entries touching 0 and UINT64_MAX,
 * refused insertions that change nothing, address order, stable entry
 * pointers, exact lookups, and 100,000 random operations against a list
 * model.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../drivers/iommu/shadow.h"
#include "splitmix.h"

#define MAX UINT64_MAX

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static struct uvi_shadow *new_shadow(void)
{
	struct uvi_shadow *s = NULL;

	CU_ASSERT_EQUAL_FATAL(uvi_shadow_create(0, &s), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static struct uvi_shadow_entry range(uint64_t start, uint64_t end)
{
	return (struct uvi_shadow_entry){
		.start = start, .end = end, .phys = ~start, .flags = 3, .state = UVI_SHADOW_LIVE,
	};
}

static int add(struct uvi_shadow *s, uint64_t start, uint64_t end)
{
	struct uvi_shadow_entry e = range(start, end);

	return uvi_shadow_insert(s, &e);
}

/* The stored entry that starts at start (it must exist). */
static struct uvi_shadow_entry *at(struct uvi_shadow *s, uint64_t start)
{
	struct uvi_shadow_entry *e = uvi_shadow_first_overlap(s, start, start);

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(e->start, start);
	return e;
}

static void test_empty(void)
{
	struct uvi_shadow *s = new_shadow();

	CU_ASSERT_EQUAL(uvi_shadow_count(s), 0);
	CU_ASSERT_PTR_NULL(uvi_shadow_first(s));
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0, MAX));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0, MAX));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 5, 5));
	uvi_shadow_destroy(s);
	uvi_shadow_destroy(NULL);
}

static void test_overlap_at_both_edges(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry *e;

	CU_ASSERT_EQUAL(add(s, 0x1000, 0x1fff), 0);
	e = at(s, 0x1000);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x0, 0x1000), e);    /* touches the start */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1fff, 0x5000), e); /* touches the end */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1800, 0x1800), e); /* inside */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1000, 0x1fff), e); /* exactly */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0, MAX), e);         /* around */
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x0, 0xfff));
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x2000, MAX));
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x1fff, 0x1000)); /* empty: start > end */
	CU_ASSERT_EQUAL(add(s, 0x0fff, 0x1000), -EEXIST);
	CU_ASSERT_EQUAL(add(s, 0x1fff, 0x2000), -EEXIST);
	CU_ASSERT_EQUAL(add(s, 0x1100, 0x1200), -EEXIST);
	CU_ASSERT_EQUAL(add(s, 0x1000, 0x1fff), -EEXIST);
	CU_ASSERT_EQUAL(add(s, 0, MAX), -EEXIST);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 1);
	uvi_shadow_destroy(s);
}

static void test_adjacent_is_not_overlap(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry *lo, *mid, *hi;

	CU_ASSERT_EQUAL(add(s, 0x1000, 0x1fff), 0);
	CU_ASSERT_EQUAL(add(s, 0x2000, 0x2fff), 0);
	CU_ASSERT_EQUAL(add(s, 0x0, 0xfff), 0);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 3);
	lo = at(s, 0x0);
	mid = at(s, 0x1000);
	hi = at(s, 0x2000);
	CU_ASSERT_EQUAL(lo->end, 0xfff);
	CU_ASSERT_EQUAL(mid->end, 0x1fff);
	CU_ASSERT_EQUAL(hi->end, 0x2fff);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0xfff, 0x1000), lo);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1fff, 0x2000), mid);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x2000, 0x2000), hi);
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x3000, MAX));
	/* Covering whole adjacent entries splits nothing. */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x0, 0x2fff));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x1000, 0x1fff));
	uvi_shadow_destroy(s);
}

/* The lowest start wins, even when the query starts inside an entry. */
static void test_first_overlap_is_lowest(void)
{
	struct uvi_shadow *s = new_shadow();

	for (uint64_t a = 0x10000; a < 0x20000; a += 0x2000)
		CU_ASSERT_EQUAL(add(s, a, a + 0xfff), 0);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0, MAX), at(s, 0x10000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x12800, 0x1ffff), at(s, 0x12000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x13000, 0x1ffff), at(s, 0x14000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x13000, 0x14000), at(s, 0x14000));
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x13000, 0x13fff));
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x1f000, MAX));
	uvi_shadow_destroy(s);
}

/* Every way [start, end] can meet E = [0x10000, 0x1ffff], next to F = [0x20000, 0x2ffff]. */
static void test_split_every_shape(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry *e, *f;

	CU_ASSERT_EQUAL(add(s, 0x10000, 0x1ffff), 0);
	CU_ASSERT_EQUAL(add(s, 0x20000, 0x2ffff), 0);
	e = at(s, 0x10000);
	f = at(s, 0x20000);
	/* Whole or nothing: no split. */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x10000, 0x1ffff)); /* exactly E */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x8000, 0x1ffff));  /* E and before */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x0, 0x2ffff));     /* E, F and before */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x10000, MAX));     /* E, F and after */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x0, 0xffff));      /* before, adjacent */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x30000, MAX));     /* after, adjacent */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0, MAX));
	/* Head of E only. */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x0, 0x17fff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10000, 0x10fff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10000, 0x10000), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10000, 0x1fffe), e);
	/* Tail of E only. */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x18000, 0x1ffff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x1ffff, 0x1ffff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10001, 0x1ffff), e);
	/* Strictly inside E. */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x11000, 0x11fff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10001, 0x1fffe), e);
	/* Tail of E and all of F; all of E and head of F; tail of E and head of F. */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x18000, 0x2ffff), e);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x10000, 0x20000), f);
	e = uvi_shadow_find_split(s, 0x1ffff, 0x20000);
	CU_ASSERT(e == at(s, 0x10000) || e == f);
	/* start > end is an empty range. */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0x11000, 0x10000));
	uvi_shadow_destroy(s);
}

/* Only the entry that is exactly [start, end] is found; at 0 and UINT64_MAX too. */
static void test_find_exact(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry lo = range(0, 0xfff), hi = range(MAX - 0xfff, MAX), *out = NULL;

	CU_ASSERT_EQUAL(add(s, 0x10000, 0x1ffff), 0);
	CU_ASSERT_EQUAL(uvi_shadow_add_checked(s, &lo, &out), 0);
	CU_ASSERT_PTR_EQUAL(out, at(s, 0));
	CU_ASSERT_EQUAL(uvi_shadow_add_checked(s, &hi, NULL), 0);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 3);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_exact(s, 0x10000, 0x1ffff), at(s, 0x10000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_exact(s, 0, 0xfff), at(s, 0));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_exact(s, MAX - 0xfff, MAX), at(s, MAX - 0xfff));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x10000, 0x10fff)); /* head only */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x11000, 0x1ffff)); /* tail only */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x10000, 0x2ffff)); /* and beyond */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x0, 0x1ffff));     /* two entries */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x20000, 0x2ffff)); /* nothing there */
	CU_ASSERT_PTR_NULL(uvi_shadow_find_exact(s, 0x1ffff, 0x10000)); /* empty range */
	uvi_shadow_destroy(s);
}

/* A range walk stops at the entry reaching the range's end, and at the last entry. */
static void test_next_upto_stops_at_end(void)
{
	struct uvi_shadow *s = new_shadow();

	for (uint64_t a = 0x10000; a < 0x20000; a += 0x2000)
		CU_ASSERT_EQUAL(add(s, a, a + 0xfff), 0);
	CU_ASSERT_EQUAL(add(s, MAX - 0xfff, MAX), 0);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_next_upto(s, at(s, 0x10000), 0x12000), at(s, 0x12000));
	CU_ASSERT_PTR_NULL(uvi_shadow_next_upto(s, at(s, 0x10000), 0x11fff)); /* starts above */
	CU_ASSERT_PTR_NULL(uvi_shadow_next_upto(s, at(s, 0x10000), 0x10fff));
	CU_ASSERT_PTR_NULL(uvi_shadow_next_upto(s, at(s, 0x10000), 0x10800));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_next_upto(s, at(s, 0x1e000), MAX), at(s, MAX - 0xfff));
	CU_ASSERT_PTR_NULL(uvi_shadow_next_upto(s, at(s, MAX - 0xfff), MAX));
	uvi_shadow_destroy(s);
}

/* With a 4 KiB granule, an entry must start and end on granule boundaries. */
static void test_granule_alignment(void)
{
	struct uvi_shadow *s = NULL;
	struct uvi_shadow_entry e = range(0x1000, 0x1fff);

	CU_ASSERT_EQUAL_FATAL(uvi_shadow_create(12, &s), 0);
	e.start = 0x1800;
	CU_ASSERT_EQUAL(uvi_shadow_insert(s, &e), -EINVAL);
	e = range(0x1000, 0x17ff);
	CU_ASSERT_EQUAL(uvi_shadow_insert(s, &e), -EINVAL);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 0);
	e = range(0x1000, 0x1fff);
	CU_ASSERT_EQUAL(uvi_shadow_insert(s, &e), 0);
	e = range(MAX - 0xfff, MAX); /* end + 1 wraps to 0: aligned */
	CU_ASSERT_EQUAL(uvi_shadow_insert(s, &e), 0);
	/* Queries need no alignment: a granule holds at most one entry. */
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1abc, 0x1abc), at(s, 0x1000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x1000, 0x1abc), at(s, 0x1000));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x2000, MAX), at(s, MAX - 0xfff));
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 2);
	uvi_shadow_destroy(s);
}

static void test_entries_at_zero_and_max(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry *lo, *hi;

	CU_ASSERT_EQUAL(add(s, MAX - 0xfff, MAX), 0);
	CU_ASSERT_EQUAL(add(s, 0, 0xfff), 0);
	lo = at(s, 0);
	hi = at(s, MAX - 0xfff);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first(s), lo);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_next(s, lo), hi);
	CU_ASSERT_PTR_NULL(uvi_shadow_next(s, hi));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, MAX, MAX), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0x1000, MAX), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0, 0), lo);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 0, MAX), lo);
	CU_ASSERT_PTR_NULL(uvi_shadow_first_overlap(s, 0x1000, MAX - 0x1000));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0, MAX));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, MAX - 0xfff, MAX));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, MAX, MAX), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0x1000, MAX - 1), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0, 0), lo);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 1, MAX), lo);
	CU_ASSERT_EQUAL(add(s, MAX, MAX), -EEXIST);
	CU_ASSERT_EQUAL(add(s, 0, 0), -EEXIST);
	uvi_shadow_remove(s, hi);
	uvi_shadow_remove(s, lo);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 0);

	/* Single addresses at both ends, then the whole space as one entry. */
	CU_ASSERT_EQUAL(add(s, MAX, MAX), 0);
	CU_ASSERT_EQUAL(add(s, 0, 0), 0);
	CU_ASSERT_EQUAL(add(s, 1, MAX - 1), 0);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 3);
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 1, MAX));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 2, MAX), at(s, 1));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0, MAX - 2), at(s, 1));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0, 0));
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, MAX, MAX));
	while (uvi_shadow_first(s))
		uvi_shadow_remove(s, uvi_shadow_first(s));
	CU_ASSERT_EQUAL(add(s, 0, MAX), 0);
	hi = at(s, 0);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, MAX, MAX), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_first_overlap(s, 12345, 12345), hi);
	CU_ASSERT_PTR_NULL(uvi_shadow_find_split(s, 0, MAX));
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 1, MAX), hi);
	CU_ASSERT_PTR_EQUAL(uvi_shadow_find_split(s, 0, MAX - 1), hi);
	CU_ASSERT_EQUAL(add(s, MAX, MAX), -EEXIST);
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 1);
	uvi_shadow_destroy(s);
}

/* A copy of the shadow in address order, to show that a failed call changed nothing. */
struct snapshot {
	size_t n;
	struct uvi_shadow_entry *ptr[16];
	struct uvi_shadow_entry val[16];
};

static void take_snapshot(struct uvi_shadow *s, struct snapshot *snap)
{
	snap->n = 0;
	for (struct uvi_shadow_entry *e = uvi_shadow_first(s); e; e = uvi_shadow_next(s, e)) {
		CU_ASSERT_FATAL(snap->n < 16);
		snap->ptr[snap->n] = e;
		snap->val[snap->n++] = *e;
	}
}

static bool same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->ptr[i] != b->ptr[i] || memcmp(&a->val[i], &b->val[i], sizeof(a->val[i])))
			return false;
	return true;
}

static void test_refused_insert_changes_nothing(void)
{
	static const uint64_t clash[][2] = {
		{ 0x1000, 0x1fff }, { 0x0, 0x1000 }, { 0x1fff, 0x2fff }, { 0x3fff, 0x4000 },
		{ 0x0, MAX },       { 0x1800, 0x1800 }, { 0x4fff, MAX },
	};
	struct uvi_shadow *s = new_shadow();
	struct snapshot before, after;
	struct uvi_shadow_entry bad;

	CU_ASSERT_EQUAL(add(s, 0x1000, 0x1fff), 0);
	CU_ASSERT_EQUAL(add(s, 0x4000, 0x4fff), 0);
	at(s, 0x4000)->state = UVI_SHADOW_MAP_PENDING; /* fields other than the range may change */
	take_snapshot(s, &before);
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		CU_ASSERT_EQUAL(add(s, clash[i][0], clash[i][1]), -EEXIST);
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "overlaps"));
		take_snapshot(s, &after);
		CU_ASSERT(same_snapshot(&before, &after));
	}
	bad = range(0x3000, 0x2fff);
	CU_ASSERT_EQUAL(uvi_shadow_insert(s, &bad), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "ends before it starts"));
	take_snapshot(s, &after);
	CU_ASSERT(same_snapshot(&before, &after));
	CU_ASSERT_EQUAL(uvi_shadow_count(s), 2);
	CU_ASSERT_EQUAL(before.val[1].state, UVI_SHADOW_MAP_PENDING);
	uvi_shadow_destroy(s);
}

/* Entries come back in address order, as copies with every field. */
static void test_iteration_order_and_copies(void)
{
	struct uvi_shadow *s = new_shadow();
	struct uvi_shadow_entry e;
	uint64_t prev_end = 0, n = 0;
	bool first = true, ordered = true, fields = true;
	int rc;

	rng_state = 7;
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t slot = rng() % 4096;

		e = range(slot << 20, (slot << 20) + (rng() % (1 << 20)));
		e.flags = (uint32_t)slot;
		e.state = (enum uvi_shadow_state)(slot % 3);
		rc = uvi_shadow_insert(s, &e);
		CU_ASSERT(rc == 0 || rc == -EEXIST);
		e.start = e.end = 0; /* the shadow kept its own copy */
	}
	for (struct uvi_shadow_entry *x = uvi_shadow_first(s); x; x = uvi_shadow_next(s, x)) {
		ordered &= first || x->start > prev_end;
		fields &= x->phys == ~x->start && x->flags == x->start >> 20 &&
			  x->state == (enum uvi_shadow_state)(x->flags % 3) && x->end >= x->start &&
			  x->end - x->start < (1 << 20);
		prev_end = x->end;
		first = false;
		n++;
	}
	CU_ASSERT(ordered);
	CU_ASSERT(fields);
	CU_ASSERT_EQUAL(n, uvi_shadow_count(s));
	CU_ASSERT(n > 500 && n < 1000); /* some slots repeat: both paths taken */
	uvi_shadow_destroy(s);
}

/* The model: entries in no order, each with the pointer the shadow gave for it. */
struct model_entry {
	struct uvi_shadow_entry val;
	struct uvi_shadow_entry *ptr;
};

struct model {
	struct model_entry e[1024];
	size_t n;
};

static bool overlaps(const struct uvi_shadow_entry *e, uint64_t start, uint64_t end)
{
	return e->start <= end && start <= e->end;
}

static struct uvi_shadow_entry *model_first_overlap(const struct model *m, uint64_t start,
						    uint64_t end)
{
	const struct model_entry *best = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct model_entry *me = &m->e[i];

		if (overlaps(&me->val, start, end) && (!best || me->val.start < best->val.start))
			best = me;
	}
	return best ? best->ptr : NULL;
}

static bool model_splits(const struct uvi_shadow_entry *e, uint64_t start, uint64_t end)
{
	return overlaps(e, start, end) && (e->start < start || e->end > end);
}

static bool model_has_split(const struct model *m, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < m->n; i++)
		if (model_splits(&m->e[i].val, start, end))
			return true;
	return false;
}

static const uint64_t offsets[] = { 0, 1, 1ull << 54, (1ull << 55) - 2, (1ull << 55) - 1 };

/*
 * An address near a boundary of one of 512 slots of 2^55 bytes each, so
 * that random ranges meet, touch and nest often; 0 and UINT64_MAX are
 * among the candidates.
 */
static uint64_t random_address(void)
{
	return (rng() % 512) << 55 | offsets[rng() % 5];
}

/*
 * Mostly a range of up to 4 slots from near a boundary, else from
 * anywhere; if wide, half of the lengths are anything. Clamped at
 * UINT64_MAX, which some ranges therefore end at.
 */
static void random_range(uint64_t *start, uint64_t *end, bool wide)
{
	uint64_t a = rng() % 8 ? random_address() : rng();
	uint64_t len = wide && rng() % 2 ? rng() : (rng() % 4) << 55 | offsets[rng() % 5];

	*start = a;
	*end = len > MAX - a ? MAX : a + len;
}

/* Iteration gives exactly the model's entries (same pointers, same fields) in address order. */
static void model_check_all(struct uvi_shadow *s, struct model *m, unsigned long *bad)
{
	const struct uvi_shadow_entry *prev = NULL;
	uint64_t n = 0;

	*bad += uvi_shadow_first(s) != model_first_overlap(m, 0, MAX);
	for (struct uvi_shadow_entry *x = uvi_shadow_first(s); x; x = uvi_shadow_next(s, x), n++) {
		const struct model_entry *me = NULL;

		for (size_t i = 0; i < m->n; i++)
			if (m->e[i].ptr == x)
				me = &m->e[i];
		*bad += !me || memcmp(&me->val, x, sizeof(*x)) != 0;
		*bad += prev && prev->end >= x->start;
		prev = x;
	}
	*bad += n != m->n;
}

static void random_insert(struct uvi_shadow *s, struct model *m, unsigned long *bad)
{
	struct uvi_shadow_entry e;
	bool clash;
	int rc;

	random_range(&e.start, &e.end, false);
	e.phys = rng();
	e.flags = (uint32_t)rng() % 8;
	e.state = (enum uvi_shadow_state)(rng() % 3);
	clash = model_first_overlap(m, e.start, e.end) != NULL;
	rc = uvi_shadow_insert(s, &e);
	*bad += rc != (clash ? -EEXIST : 0);
	if (rc == 0) {
		struct uvi_shadow_entry *stored = uvi_shadow_first_overlap(s, e.start, e.start);

		*bad += !stored || memcmp(stored, &e, sizeof(e)) != 0;
		CU_ASSERT_FATAL(m->n < 1024);
		m->e[m->n].val = e;
		m->e[m->n++].ptr = stored;
	}
}

static void random_remove(struct uvi_shadow *s, struct model *m, unsigned long *bad)
{
	size_t i;

	if (!m->n)
		return;
	i = rng() % m->n;
	*bad += memcmp(m->e[i].ptr, &m->e[i].val, sizeof(m->e[i].val)) != 0;
	uvi_shadow_remove(s, m->e[i].ptr);
	m->e[i] = m->e[--m->n];
}

static void random_queries(struct uvi_shadow *s, const struct model *m, unsigned long *bad)
{
	struct uvi_shadow_entry *split;
	uint64_t start, end;

	random_range(&start, &end, true);
	*bad += uvi_shadow_first_overlap(s, start, end) != model_first_overlap(m, start, end);
	split = uvi_shadow_find_split(s, start, end);
	if (split)
		*bad += !model_splits(split, start, end);
	else
		*bad += model_has_split(m, start, end);
}

static void test_random_against_model(void)
{
	static struct model m;
	struct uvi_shadow *s = new_shadow();
	unsigned long bad = 0, checks = 0, max_n = 0;

	rng_state = 8;
	m.n = 0;
	for (unsigned op = 0; op < 100000; op++) {
		unsigned r = rng() % 100;

		if (r < 45)
			random_insert(s, &m, &bad);
		else if (r < 70)
			random_remove(s, &m, &bad);
		else if (r < 98)
			random_queries(s, &m, &bad);
		else {
			model_check_all(s, &m, &bad);
			checks++;
		}
		bad += uvi_shadow_count(s) != m.n;
		if (m.n > max_n)
			max_n = m.n;
	}
	model_check_all(s, &m, &bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(checks > 1000);
	CU_ASSERT(max_n > 50); /* the model got busy enough to mean something */
	uvi_shadow_destroy(s); /* with entries left: AddressSanitizer checks for leaks */
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_empty),
		TEST_CASE(test_overlap_at_both_edges),
		TEST_CASE(test_adjacent_is_not_overlap),
		TEST_CASE(test_first_overlap_is_lowest),
		TEST_CASE(test_split_every_shape),
		TEST_CASE(test_find_exact),
		TEST_CASE(test_next_upto_stops_at_end),
		TEST_CASE(test_granule_alignment),
		TEST_CASE(test_entries_at_zero_and_max),
		TEST_CASE(test_refused_insert_changes_nothing),
		TEST_CASE(test_iteration_order_and_copies),
		TEST_CASE(test_random_against_model),
		TEST_END,
	};

	return run_suite("shadow", cases);
}
