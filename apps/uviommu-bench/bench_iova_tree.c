/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The range tree under load, and the same workloads through the first-fit
 * reference (iova_firstfit.c). Both allocators see the same sequence of
 * requests (sizes and which live range to free come from one seeded
 * generator), and both are address-ordered first fit, so with one granule
 * of alignment they must place every range at the same address: the run
 * checks it.
 *
 * 1,000,000 live ranges: 2,000,000 ranges of 1-64 granules (uniform) are
 * allocated in a 2^40-byte space, then 1,000,000 of them, picked at
 * random, freed: a million live ranges with holes of every size between
 * them. Then each round allocates one more range (timed alone) and frees a
 * random live one, so a million stay live: 100,000 rounds for lib/iova,
 * the first 10,000 of them for the reference, whose walks are long; the
 * ratio compares the two over those 10,000. For contrast, the same
 * without the random frees: a million live ranges freed in the order they
 * were allocated, as a ring of buffers would (p99 only). lib/iova runs without its
 * caches (VIOMMU_IOVA_NO_CACHE): every allocation is a tree allocation.
 * A timed allocation is two clock reads apart; the median cost of two
 * back-to-back reads is taken off each one.
 *
 * Fragmentation: a space of 65,536 granules kept about 90 % full by
 * random allocations of 1-64 granules and frees of random live ranges,
 * 1,000,000 operations through the public API (caches on). An allocation
 * is only tried with at least 10 % of the space (6,553 granules) free,
 * so each failure is one that fragmentation caused. Also run without the
 * caches, and through the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "bench.h"
#include "bench_iova.h"
#include "iova_firstfit.h"

#define G BENCH_IOVA_G
#define LIVE 1000000u
#define BUILD (2 * LIVE)
#define ROUNDS 100000u
#define REF_ROUNDS 10000u /* the reference's rounds (its walks are long) */
#define MAX_GRANULES 64u
#define SPACE_FIRST G
#define SPACE_LAST ((1ull << 40) - 1)
#define SEED 20240501u
#define CLOCK_SAMPLES 10000u
#define FRAG_GRANULES 65536u
#define FRAG_OPS 1000000u
#define FRAG_FULL_PERCENT 90u

struct alloc_ops {
	const char *name;
	int (*alloc)(void *a, uint64_t size, uint64_t *iova);
	int (*free)(void *a, uint64_t iova, uint64_t size);
	void *a;
	const uint64_t *steps; /* the reference's count of holes looked at, or NULL */
};

static int lib_alloc(void *a, uint64_t size, uint64_t *iova)
{
	return viommu_iova_alloc(a, size, 0, iova);
}

static int lib_free(void *a, uint64_t iova, uint64_t size)
{
	return viommu_iova_free(a, iova, size);
}

static int ref_alloc(void *a, uint64_t size, uint64_t *iova)
{
	return ff_alloc(a, size, iova);
}

static int ref_free(void *a, uint64_t iova, uint64_t size)
{
	return ff_free(a, iova, size);
}

/* Live ranges: IOVA and size in granules. */
struct live {
	uint64_t *iova;
	uint32_t *granules;
	size_t n, cap;
	uint64_t total_granules;
};

static bool live_init(struct live *l, size_t cap)
{
	*l = (struct live){ .cap = cap };
	l->iova = malloc(cap * sizeof(*l->iova));
	l->granules = malloc(cap * sizeof(*l->granules));
	return l->iova && l->granules;
}

static void live_fini(struct live *l)
{
	free(l->iova);
	free(l->granules);
}

static bool alloc_one(const struct alloc_ops *ops, struct live *l, uint32_t granules,
		      uint64_t *iova)
{
	if (ops->alloc(ops->a, granules * G, iova))
		return false;
	l->iova[l->n] = *iova;
	l->granules[l->n++] = granules;
	l->total_granules += granules;
	return true;
}

static bool free_one(const struct alloc_ops *ops, struct live *l, size_t i)
{
	int rc = ops->free(ops->a, l->iova[i], l->granules[i] * G);

	l->total_granules -= l->granules[i];
	l->n--;
	l->iova[i] = l->iova[l->n];
	l->granules[i] = l->granules[l->n];
	return rc == 0;
}

static double clock_cost(void)
{
	double v[CLOCK_SAMPLES];

	for (unsigned i = 0; i < CLOCK_SAMPLES; i++) {
		uint64_t t0 = bench_wall_ns();

		v[i] = (double)(bench_wall_ns() - t0);
	}
	qsort(v, CLOCK_SAMPLES, sizeof(v[0]), bench_iova_cmp_double);
	return v[CLOCK_SAMPLES / 2];
}

static bool build(const struct alloc_ops *ops, struct live *l, uint64_t *rng)
{
	uint64_t iova;

	for (unsigned i = 0; i < BUILD; i++)
		if (!alloc_one(ops, l, 1 + (uint32_t)(bench_iova_rng(rng) % MAX_GRANULES), &iova))
			return false;
	for (unsigned i = 0; i < LIVE; i++)
		if (!free_one(ops, l, bench_iova_rng(rng) % l->n))
			return false;
	return true;
}

/* n rounds: lat[] gets each allocation's time; *hash the IOVAs returned. */
static bool rounds(const struct alloc_ops *ops, struct live *l, uint64_t *rng, double clock,
		   unsigned n, double *lat, uint64_t *hash)
{
	uint64_t iova, t0, t1;

	for (unsigned r = 0; r < n; r++) {
		uint32_t granules = 1 + (uint32_t)(bench_iova_rng(rng) % MAX_GRANULES);

		t0 = bench_wall_ns();
		if (!alloc_one(ops, l, granules, &iova))
			return false;
		t1 = bench_wall_ns();
		lat[r] = (double)(t1 - t0) - clock;
		if (r < REF_ROUNDS)
			*hash = *hash * 1000003u + iova;
		if (!free_one(ops, l, bench_iova_rng(rng) % l->n))
			return false;
	}
	return true;
}

struct live_stats {
	double mean, p50, p99;
	double mean_ref_rounds; /* over the first REF_ROUNDS, which both allocators run */
	uint64_t hash;          /* of the IOVAs of those */
	uint64_t steps;         /* ops->steps over the rounds */
};

static bool run_live(const struct alloc_ops *ops, unsigned n, double clock,
		     struct live_stats *st)
{
	uint64_t rng = SEED, t0 = bench_wall_ns();
	double *lat = malloc(n * sizeof(*lat)), sum = 0;
	struct live l;
	bool ok = live_init(&l, BUILD) && lat;

	ok = ok && build(ops, &l, &rng);
	fprintf(stderr, "  %s: %u live ranges set up in %.1f s\n", ops->name, LIVE,
		(double)(bench_wall_ns() - t0) / 1e9);
	st->hash = 0;
	st->steps = ops->steps ? *ops->steps : 0;
	ok = ok && rounds(ops, &l, &rng, clock, n, lat, &st->hash);
	st->steps = (ops->steps ? *ops->steps : 0) - st->steps;
	if (ok) {
		for (unsigned r = 0; r < n; r++) {
			sum += lat[r];
			if (r + 1 == REF_ROUNDS)
				st->mean_ref_rounds = sum / REF_ROUNDS;
		}
		qsort(lat, n, sizeof(lat[0]), bench_iova_cmp_double);
		st->mean = sum / n;
		st->p50 = lat[n / 2];
		st->p99 = lat[n / 100 * 99];
	} else {
		fprintf(stderr, "uviommu-bench iova: %s failed: %s\n", ops->name,
			viommu_last_error());
	}
	live_fini(&l);
	free(lat);
	return ok;
}

bool bench_iova_live(struct iova_tree_result *r)
{
	struct viommu_iova_opts o = { .first = SPACE_FIRST, .last = SPACE_LAST, .granule = G,
				      .numa_node = -1, .flags = VIOMMU_IOVA_NO_CACHE };
	struct viommu_iova_space *sp;
	struct viommu_iova_stats st;
	struct live_stats ours, ref;
	double clock = clock_cost();
	struct ff f;
	bool ok;

	fprintf(stderr, "  two clock reads: %.0f ns (taken off each timed allocation)\n", clock);
	if (viommu_iova_space_create(&o, &sp))
		return false;
	ok = run_live(&(struct alloc_ops){ "lib/iova", lib_alloc, lib_free, sp, NULL }, ROUNDS,
		      clock, &ours);
	viommu_iova_get_stats(sp, &st);
	viommu_iova_space_destroy(sp);
	if (!ok || ff_init(&f, SPACE_FIRST, SPACE_LAST, G))
		return false;
	ok = run_live(&(struct alloc_ops){ "first fit", ref_alloc, ref_free, &f, &f.steps },
		      REF_ROUNDS, clock, &ref);
	r->ref_steps = (double)ref.steps / REF_ROUNDS;
	ff_fini(&f);
	r->alloc_ns = ours.mean;
	r->alloc_p50_ns = ours.p50;
	r->alloc_p99_ns = ours.p99;
	r->alloc_ns_ref_rounds = ours.mean_ref_rounds;
	r->ref_alloc_ns = ref.mean;
	r->ref_alloc_p99_ns = ref.p99;
	r->same_placements = ours.hash == ref.hash;
	r->free_ranges = st.free_ranges;
	return ok;
}

/*
 * The same million live ranges freed in the order they were allocated (a
 * ring of buffers): few holes, the tree stays small. Returns the p99.
 */
static bool run_fifo(struct viommu_iova_space *sp, double clock, double *p99)
{
	uint64_t rng = SEED, *iova = malloc(LIVE * sizeof(*iova));
	uint32_t *granules = malloc(LIVE * sizeof(*granules));
	double *lat = malloc(ROUNDS * sizeof(*lat));
	bool ok = iova && granules && lat;

	for (unsigned i = 0; ok && i < LIVE; i++) {
		granules[i] = 1 + (uint32_t)(bench_iova_rng(&rng) % MAX_GRANULES);
		ok = !viommu_iova_alloc(sp, granules[i] * G, 0, &iova[i]);
	}
	for (unsigned r = 0; ok && r < ROUNDS; r++) {
		unsigned oldest = r % LIVE;
		uint32_t g = 1 + (uint32_t)(bench_iova_rng(&rng) % MAX_GRANULES);
		uint64_t t0, t1, at = 0;

		ok = !viommu_iova_free(sp, iova[oldest], granules[oldest] * G);
		t0 = bench_wall_ns();
		ok = ok && !viommu_iova_alloc(sp, g * G, 0, &at);
		t1 = bench_wall_ns();
		lat[r] = (double)(t1 - t0) - clock;
		iova[oldest] = at;
		granules[oldest] = g;
	}
	if (ok) {
		qsort(lat, ROUNDS, sizeof(lat[0]), bench_iova_cmp_double);
		*p99 = lat[ROUNDS / 100 * 99];
	}
	free(iova);
	free(granules);
	free(lat);
	return ok;
}

bool bench_iova_fifo(struct iova_tree_result *r)
{
	struct viommu_iova_opts o = { .first = SPACE_FIRST, .last = SPACE_LAST, .granule = G,
				      .numa_node = -1, .flags = VIOMMU_IOVA_NO_CACHE };
	struct viommu_iova_space *sp;
	bool ok;

	if (viommu_iova_space_create(&o, &sp))
		return false;
	ok = run_fifo(sp, clock_cost(), &r->fifo_p99_ns);
	if (!ok)
		fprintf(stderr, "uviommu-bench iova: the FIFO run failed: %s\n", viommu_last_error());
	viommu_iova_space_destroy(sp);
	return ok;
}

/* ---- fragmentation ---- */

static bool fragment(const struct alloc_ops *ops, uint64_t *failures, uint64_t *allocs)
{
	uint64_t rng = SEED, iova;
	struct live l;
	bool ok = live_init(&l, FRAG_GRANULES);

	*failures = *allocs = 0;
	for (unsigned op = 0; ok && op < FRAG_OPS; op++) {
		uint32_t granules = 1 + (uint32_t)(bench_iova_rng(&rng) % MAX_GRANULES);

		if (l.total_granules * 100 < (uint64_t)FRAG_GRANULES * FRAG_FULL_PERCENT) {
			if (alloc_one(ops, &l, granules, &iova)) {
				(*allocs)++;
				continue;
			}
			(*failures)++;
		}
		if (l.n)
			ok = free_one(ops, &l, bench_iova_rng(&rng) % l.n);
	}
	live_fini(&l);
	return ok;
}

/* The run through lib/iova with the given space flags. */
static bool fragment_lib(unsigned flags, uint64_t *failures, uint64_t *allocs)
{
	struct viommu_iova_opts o = { .first = SPACE_FIRST,
				      .last = SPACE_FIRST + (uint64_t)FRAG_GRANULES * G - 1,
				      .granule = G, .numa_node = -1, .flags = flags };
	struct viommu_iova_space *sp;
	bool ok;

	if (viommu_iova_space_create(&o, &sp))
		return false;
	ok = fragment(&(struct alloc_ops){ "lib/iova", lib_alloc, lib_free, sp, NULL },
		      failures, allocs);
	viommu_iova_space_destroy(sp);
	return ok;
}

bool bench_iova_fragmentation(struct iova_tree_result *r)
{
	uint64_t allocs;
	struct ff f;
	bool ok;

	ok = fragment_lib(0, &r->frag_failures, &r->frag_allocs) &&
	     fragment_lib(VIOMMU_IOVA_NO_CACHE, &r->frag_failures_uncached, &allocs);
	if (!ok || ff_init(&f, SPACE_FIRST, SPACE_FIRST + (uint64_t)FRAG_GRANULES * G - 1, G))
		return false;
	ok = fragment(&(struct alloc_ops){ "first fit", ref_alloc, ref_free, &f, NULL },
		      &r->ref_frag_failures, &allocs);
	ff_fini(&f);
	if (!ok)
		fprintf(stderr, "uviommu-bench iova: a free failed in the fragmentation run\n");
	return ok;
}
