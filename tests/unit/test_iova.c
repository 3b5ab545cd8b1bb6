/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOVA allocator (lib/iova) against a model: one state per granule
 * (free, allocated, reserved, above the limit). Millions of random
 * allocations (any size, aligned or not), placed allocations, frees and
 * refused frees, with and without the per-thread caches, check that
 *  - no allocation overlaps a live one, each honours its alignment, and
 *    none reaches outside the bounds, into a reserved region or above the
 *    limit;
 *  - an allocation fails only when the model has no place for it (the
 *    caches give their ranges back first), and without caches the place
 *    is the lowest that fits (address-ordered first fit);
 *  - a bad free changes nothing; everything freed can be allocated again;
 *  - the allocator's own invariants (uvi_iova_check) hold throughout.
 * Plus the edges: the whole 64-bit space, refused arguments, reserved
 * regions and limits against live allocations, and a full cache that
 * must not cause a false out-of-space.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "cunit_main.h"
#include "../../lib/iova/iova_internal.h"
#include "splitmix.h"

#define G 4096ull
#define NG 4096u           /* granules in the model's space */
#define BASE (16 * G)      /* its first address */
#define RESV_FIRST (BASE + 1000 * G + 123) /* expanded to whole granules */
#define RESV_LAST (BASE + 1100 * G + 7)
#define LIMIT_GRANULES 3900u /* the limit set halfway */
#define MODEL_OPS 2000000u  /* per run; two runs (cached and not) */
#define CHECK_EVERY 4096u

enum gstate { FREE, ALLOCATED, RESERVED, ABOVE };

struct live {
	uint64_t iova, size;
};

struct model {
	struct viommu_iova_space *sp;
	bool cached;
	uint8_t g[NG];
	struct live *live;
	unsigned n_live;
	uint64_t allocs, failures, frees, bad_frees;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static struct viommu_iova_space *space(uint64_t first, uint64_t last, unsigned flags)
{
	struct viommu_iova_opts o = { .first = first, .last = last, .granule = G,
				      .numa_node = -1, .flags = flags };
	struct viommu_iova_space *sp = NULL;
	int rc = viommu_iova_space_create(&o, &sp);

	if (rc)
		fprintf(stderr, "space_create: %d %s\n", rc, viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return sp;
}

static void check(struct viommu_iova_space *sp)
{
	int rc = uvi_iova_check(sp);

	if (rc)
		fprintf(stderr, "uvi_iova_check: %s\n", viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* ---- the model ---- */

static unsigned gidx(uint64_t iova)
{
	return (unsigned)((iova - BASE) / G);
}

static void model_mark(struct model *m, uint64_t iova, uint64_t size, enum gstate from,
		       enum gstate to)
{
	for (unsigned i = gidx(iova); i < gidx(iova) + size / G; i++) {
		CU_ASSERT_EQUAL_FATAL(m->g[i], from);
		m->g[i] = to;
	}
}

/* The lowest granule index where n free granules start on an align boundary, or -1. */
static long model_first_fit(const struct model *m, unsigned n, uint64_t align)
{
	unsigned run = 0;

	for (unsigned i = 0; i < NG; i++) {
		run = m->g[i] == FREE ? run + 1 : 0;
		if (run >= n) {
			unsigned start = i + 1 - n;

			if ((BASE + start * G) % align == 0)
				return start;
		}
	}
	return -1;
}

static bool model_all(const struct model *m, uint64_t iova, uint64_t size, enum gstate s)
{
	for (unsigned i = gidx(iova); i < gidx(iova) + size / G; i++)
		if (m->g[i] != s)
			return false;
	return true;
}

static void model_init(struct model *m, bool cached)
{
	memset(m, 0, sizeof(*m));
	m->cached = cached;
	m->sp = space(BASE, BASE + NG * G - 1, cached ? 0 : VIOMMU_IOVA_NO_CACHE);
	m->live = calloc(NG, sizeof(*m->live));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->live);
	CU_ASSERT_EQUAL(viommu_iova_reserve(m->sp, RESV_FIRST, RESV_LAST), 0);
	for (unsigned i = gidx(RESV_FIRST & ~(G - 1)); i <= gidx(RESV_LAST); i++)
		m->g[i] = RESERVED;
}

/* Mostly small sizes, powers of two half of the time (the cached ones). */
static uint64_t random_size(void)
{
	if (below(2))
		return G << below(6);
	return (1 + below(below(8) ? 16 : 200)) * G;
}

static uint64_t random_align(void)
{
	switch (below(8)) {
	case 0: return G << (1 + below(6));
	case 1: return 1 + below((unsigned)G); /* not a power of two (mostly): refused */
	default: return below(2) ? 0 : G;
	}
}

static void op_alloc(struct model *m)
{
	uint64_t size = random_size(), align = random_align(), iova = 0, eff;
	int rc = viommu_iova_alloc(m->sp, size, align, &iova);
	long fit;

	if (align & (align - 1)) {
		CU_ASSERT_EQUAL(rc, -EINVAL);
		return;
	}
	eff = align > G ? align : G;
	fit = model_first_fit(m, (unsigned)(size / G), eff);
	if (rc) {
		CU_ASSERT_EQUAL(rc, -ENOSPC);
		CU_ASSERT_EQUAL(fit, -1); /* a failure only when nothing fits */
		m->failures++;
		return;
	}
	CU_ASSERT_FATAL(iova >= BASE && iova - BASE <= (uint64_t)NG * G - size);
	CU_ASSERT_EQUAL(iova % eff, 0);
	if (!m->cached && eff == G)
		CU_ASSERT_EQUAL(iova, BASE + (uint64_t)fit * G); /* first fit */
	model_mark(m, iova, size, FREE, ALLOCATED);
	m->live[m->n_live++] = (struct live){ iova, size };
	m->allocs++;
}

static void op_alloc_at(struct model *m)
{
	uint64_t size = random_size(), iova = BASE + below(NG) * G;
	bool inside = (iova - BASE) / G + size / G <= NG;
	int rc = viommu_iova_alloc_at(m->sp, iova, size);

	if (!inside) {
		CU_ASSERT_EQUAL(rc, -EINVAL);
		return;
	}
	if (model_all(m, iova, size, FREE)) {
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		model_mark(m, iova, size, FREE, ALLOCATED);
		m->live[m->n_live++] = (struct live){ iova, size };
		m->allocs++;
	} else {
		CU_ASSERT(rc == -EBUSY || rc == -EINVAL); /* -EINVAL: above the limit */
	}
}

static void op_free(struct model *m)
{
	unsigned i;
	struct live l;

	if (!m->n_live)
		return;
	i = below(m->n_live);
	l = m->live[i];
	m->live[i] = m->live[--m->n_live];
	CU_ASSERT_EQUAL_FATAL(viommu_iova_free(m->sp, l.iova, l.size), 0);
	model_mark(m, l.iova, l.size, ALLOCATED, FREE);
	m->frees++;
}

/*
 * A free of something not allocated: refused, nothing changes. The check
 * is the tree's, where a range waiting in a cache counts as allocated, so
 * the caches are emptied first; and a cached size is not checked at all.
 */
static void op_bad_free(struct model *m)
{
	uint64_t iova = BASE + below(NG) * G, size = (1 + below(40)) * G;
	int cls = uvi_iova_class(m->sp, size, 0);

	if ((iova - BASE) / G + size / G > NG || model_all(m, iova, size, ALLOCATED) ||
	    cls >= 0)
		return;
	if (m->cached)
		CU_ASSERT_EQUAL(viommu_iova_flush_caches(m->sp), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(m->sp, iova, size), -EINVAL);
	m->bad_frees++;
}

static void model_check_stats(struct model *m)
{
	struct viommu_iova_stats st;
	uint64_t free_g = 0;

	for (unsigned i = 0; i < NG; i++)
		free_g += m->g[i] == FREE;
	CU_ASSERT_EQUAL_FATAL(viommu_iova_get_stats(m->sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes + st.cached_bytes, free_g * G);
	CU_ASSERT_EQUAL(st.bad_frees, m->bad_frees);
}

static void set_limit_halfway(struct model *m)
{
	uint64_t last = BASE + (uint64_t)LIMIT_GRANULES * G - 1;
	bool busy = false;

	for (unsigned i = LIMIT_GRANULES; i < NG; i++)
		busy |= m->g[i] == ALLOCATED;
	if (busy) {
		CU_ASSERT_EQUAL(viommu_iova_set_limit(m->sp, last), -EBUSY);
		/* Make room, then it works. */
		for (unsigned j = 0; j < m->n_live;) {
			if (m->live[j].iova + m->live[j].size - 1 > last) {
				CU_ASSERT_EQUAL(viommu_iova_free(m->sp, m->live[j].iova,
								 m->live[j].size), 0);
				model_mark(m, m->live[j].iova, m->live[j].size, ALLOCATED, FREE);
				m->live[j] = m->live[--m->n_live];
			} else {
				j++;
			}
		}
	}
	CU_ASSERT_EQUAL_FATAL(viommu_iova_set_limit(m->sp, last), 0);
	for (unsigned i = LIMIT_GRANULES; i < NG; i++)
		if (m->g[i] == FREE)
			m->g[i] = ABOVE;
}

/* Free everything: each maximal free stretch of the model is allocatable again, whole. */
static void model_finish(struct model *m)
{
	while (m->n_live)
		op_free(m);
	check(m->sp);
	for (unsigned i = 0; i < NG;) {
		unsigned j = i;

		while (j < NG && m->g[j] == m->g[i])
			j++;
		if (m->g[i] == FREE)
			CU_ASSERT_EQUAL(viommu_iova_alloc_at(m->sp, BASE + (uint64_t)i * G,
							     (uint64_t)(j - i) * G), 0);
		i = j;
	}
	check(m->sp);
	viommu_iova_space_destroy(m->sp);
	free(m->live);
}

static void run_model(bool cached, uint64_t seed)
{
	struct model m;

	rng_state = seed;
	model_init(&m, cached);
	for (unsigned n = 1; n <= MODEL_OPS; n++) {
		unsigned r = below(100);

		if (r < 50)
			op_alloc(&m);
		else if (r < 58)
			op_alloc_at(&m);
		else if (r < 95)
			op_free(&m);
		else
			op_bad_free(&m);
		if (n == MODEL_OPS / 2)
			set_limit_halfway(&m);
		if (n % CHECK_EVERY == 0) {
			check(m.sp);
			model_check_stats(&m);
		}
	}
	printf("\n  %s: %llu allocations, %llu failures (nothing fit), %llu frees, %llu bad "
	       "frees refused\n", cached ? "cached" : "uncached", (unsigned long long)m.allocs,
	       (unsigned long long)m.failures, (unsigned long long)m.frees,
	       (unsigned long long)m.bad_frees);
	CU_ASSERT(m.failures > 0 && m.allocs > m.failures); /* both paths were exercised */
	model_finish(&m);
}

static void test_model_uncached(void)
{
	run_model(false, 1);
}

static void test_model_cached(void)
{
	run_model(true, 2);
}

/* ---- edges ---- */

static void test_whole_64bit_space(void)
{
	struct viommu_iova_space *sp = space(0, UINT64_MAX, 0);
	struct viommu_iova_stats st;
	uint64_t top = UINT64_MAX - G + 1, iova = 1;

	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes, UINT64_MAX); /* 2^64 saturates */
	CU_ASSERT_EQUAL(st.largest_free, UINT64_MAX);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, top, G), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, top, G), -EBUSY);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 1ull << 63, 1ull << 63, &iova), 0);
	CU_ASSERT_EQUAL(iova, 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 1ull << 63, 1ull << 63, &iova), -ENOSPC);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 1ull << 62, 1ull << 62, &iova), 0);
	CU_ASSERT_EQUAL(iova, 1ull << 63);
	/* Rounded up to the granule, UINT64_MAX bytes would pass 2^64. */
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, UINT64_MAX, 0, &iova), -EINVAL);
	check(sp);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, top, G), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, 0, 1ull << 63), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, 1ull << 63, 1ull << 62), 0);
	CU_ASSERT_EQUAL(viommu_iova_flush_caches(sp), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_ranges, 1);
	CU_ASSERT_EQUAL(st.free_bytes, UINT64_MAX);
	check(sp);
	viommu_iova_space_destroy(sp);
}

static void test_refused_arguments(void)
{
	struct viommu_iova_opts o = { .first = 0, .last = 1023, .granule = 1024, .numa_node = -1 };
	struct viommu_iova_space *sp = NULL;
	uint64_t iova;

	o.granule = 3000;
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	o.granule = 1024;
	o.last = 1000;
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	o.first = 1024;
	o.last = 1023;
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	o = (struct viommu_iova_opts){ .first = 0, .last = UINT64_MAX, .granule = 1,
				       .numa_node = -1 };
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	o.granule = G;
	o.numa_node = 1 << 20;
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	o.numa_node = -1;
	o.flags = 1u << 7;
	CU_ASSERT_EQUAL(viommu_iova_space_create(&o, &sp), -EINVAL);
	CU_ASSERT_PTR_NULL(sp);
	CU_ASSERT_EQUAL(viommu_iova_space_create(NULL, &sp), -EINVAL);

	sp = space(G, 64 * G - 1, 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 0, 0, &iova), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, G, 3 * G, &iova), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc(NULL, G, 0, &iova), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, G, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, G + 1, G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 0, G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 63 * G, 2 * G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, 0, G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, UINT64_MAX - G + 1, 3 * G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_set_limit(sp, 10 * G), -EINVAL);   /* not a granule's end */
	CU_ASSERT_EQUAL(viommu_iova_set_limit(sp, G - 1), -EINVAL);    /* below the bottom */
	CU_ASSERT_EQUAL(viommu_iova_reserve(sp, 5 * G, 4 * G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_set_limit(sp, 1000 * G - 1), 0);   /* higher: nothing */
	check(sp);
	viommu_iova_space_destroy(sp);
}

/* Reserving or limiting over live IOVAs is refused and changes nothing. */
static void test_reserve_and_limit_against_live(void)
{
	struct viommu_iova_space *sp = space(G, 256 * G - 1, VIOMMU_IOVA_NO_CACHE);
	struct viommu_iova_stats before, after;
	struct uvi_iova_resv two[2] = { { 10 * G, 20 * G - 1 }, { 100 * G, 120 * G - 1 } };
	uint64_t iova;

	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 110 * G, G), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &before), 0);
	/* The first region is fine, the second is not: neither is taken. */
	CU_ASSERT_EQUAL(uvi_iova_restrict(sp, two, 2, UINT64_MAX), -EBUSY);
	CU_ASSERT_EQUAL(viommu_iova_set_limit(sp, 100 * G - 1), -EBUSY);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &after), 0);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.reserved, 0);
	CU_ASSERT_EQUAL(after.last, 256 * G - 1);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, 110 * G, G), 0);
	CU_ASSERT_EQUAL(uvi_iova_restrict(sp, two, 2, 200 * G - 1), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &after), 0);
	CU_ASSERT_EQUAL(after.reserved, 2);
	CU_ASSERT_EQUAL(after.last, 200 * G - 1);
	CU_ASSERT_EQUAL(after.free_bytes, (199 - 10 - 20) * G);
	/* Overlapping and touching reservations merge; a free into one is refused. */
	CU_ASSERT_EQUAL(viommu_iova_reserve(sp, 20 * G, 30 * G - 1), 0);
	CU_ASSERT_EQUAL(viommu_iova_reserve(sp, 5 * G + 1, 12 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &after), 0);
	CU_ASSERT_EQUAL(after.reserved, 2);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, 15 * G, G), -EINVAL);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 29 * G, G), -EBUSY);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 30 * G, G), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, G, 0, &iova), 0);
	CU_ASSERT_EQUAL(iova, G); /* first fit, below the reserved regions */
	check(sp);
	viommu_iova_space_destroy(sp);
}

/* Every IOVA sits in a cache: an allocation of everything at once still succeeds. */
static void test_full_cache_is_not_out_of_space(void)
{
	enum { N = 64 };
	struct viommu_iova_space *sp = space(G, (N + 1) * G - 1, 0);
	struct viommu_iova_stats st;
	uint64_t iova[N], big;

	for (unsigned i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(viommu_iova_alloc(sp, G, 0, &iova[i]), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, G, 0, &big), -ENOSPC);
	for (unsigned i = 0; i < N; i++)
		CU_ASSERT_EQUAL(viommu_iova_free(sp, iova[i], G), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes, 0);
	CU_ASSERT_EQUAL(st.cached_bytes, N * G);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, N * G, 0, &big), 0);
	CU_ASSERT_EQUAL(big, G);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.reclaims, 2); /* one for the failure above */
	CU_ASSERT_EQUAL(st.cached_bytes, 0);
	CU_ASSERT_EQUAL(st.failures, 1);
	check(sp);
	viommu_iova_space_destroy(sp);
}

/* A double free of a cached size is caught when the cache is emptied, and dropped. */
static void test_cached_double_free_is_dropped(void)
{
	struct viommu_iova_space *sp = space(G, 64 * G - 1, 0);
	struct viommu_iova_stats st;
	uint64_t a, b;

	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 2 * G, 0, &a), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, a, 2 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, a, 2 * G), 0); /* not checked by the cache */
	CU_ASSERT_EQUAL(uvi_iova_check(sp), -EUCLEAN);      /* but the check sees it */
	CU_ASSERT_EQUAL(viommu_iova_flush_caches(sp), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.bad_frees, 1);
	CU_ASSERT_EQUAL(st.free_bytes, 63 * G);
	check(sp);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 2 * G, 0, &a), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 2 * G, 0, &b), 0);
	CU_ASSERT_NOT_EQUAL(a, b);
	viommu_iova_space_destroy(sp);
}

/* A range allocated in one piece may be freed in cached pieces, and the reverse. */
static void test_free_in_parts(void)
{
	struct viommu_iova_space *sp = space(G, 256 * G - 1, 0);
	struct viommu_iova_stats st;
	uint64_t a;

	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 12 * G, 0, &a), 0);
	CU_ASSERT_EQUAL(viommu_iova_free(sp, a, 8 * G), 0);          /* cached */
	CU_ASSERT_EQUAL(viommu_iova_free(sp, a + 8 * G, 4 * G), 0);  /* cached */
	check(sp);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, a, 12 * G), 0);     /* after a reclaim */
	CU_ASSERT_EQUAL(viommu_iova_free(sp, a, 12 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes, 255 * G);
	CU_ASSERT_EQUAL(st.free_ranges, 1);
	check(sp);
	viommu_iova_space_destroy(sp);
}

/* Aligned requests that only an exact fit satisfies are not missed. */
static void test_aligned_exact_fit(void)
{
	struct viommu_iova_space *sp = space(0, 64 * G - 1, VIOMMU_IOVA_NO_CACHE);
	uint64_t iova;

	/*
	 * Leave [16G, 24G) and [40G, 44G) free: no range has the 11 granules
	 * that surely fit 4 aligned to 8, yet both hold such a place.
	 */
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 0, 16 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 24 * G, 16 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc_at(sp, 44 * G, 20 * G), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 16 * G, 0, &iova), -ENOSPC);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 4 * G, 8 * G, &iova), 0);
	CU_ASSERT_EQUAL(iova, 16 * G);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 4 * G, 4 * G, &iova), 0);
	CU_ASSERT_EQUAL(iova, 20 * G);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 4 * G, 8 * G, &iova), 0);
	CU_ASSERT_EQUAL(iova, 40 * G);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, G, 0, &iova), -ENOSPC);
	check(sp);
	viommu_iova_space_destroy(sp);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_model_uncached),
		TEST_CASE(test_model_cached),
		TEST_CASE(test_whole_64bit_space),
		TEST_CASE(test_refused_arguments),
		TEST_CASE(test_reserve_and_limit_against_live),
		TEST_CASE(test_full_cache_is_not_out_of_space),
		TEST_CASE(test_cached_double_free_is_dropped),
		TEST_CASE(test_free_in_parts),
		TEST_CASE(test_aligned_exact_fit),
		TEST_END,
	};

	return run_suite("iova", cases);
}
