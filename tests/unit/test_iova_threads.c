/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOVA allocator under two threads: each allocates and frees at
 * random in a small space (so the caches fill, the depot trades and the
 * tree runs out and reclaims), hands some of its ranges to the other
 * thread to free (ranges cross caches), and now and then reads the
 * statistics or empties every cache while the other thread works. Every
 * granule has an owner flag set with an atomic exchange: an allocation
 * that finds one already set is an overlap. At the end everything is
 * freed and the space must be whole again and consistent (uvi_iova_check).
 * Built with -Db_sanitize=thread as well (doc/iova.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "cunit_main.h"
#include "../../lib/iova/iova_internal.h"

#define G 4096ull
#define NG 1024u
#define BASE (256 * G)
#define OPS_PER_THREAD 2000000u
#define LIVE_MAX 256u
#define HANDOFF_MAX 64u

struct range {
	uint64_t iova, size;
};

struct shared {
	struct viommu_iova_space *sp;
	atomic_uchar taken[NG];
	atomic_uint overlaps, lost, errors;
	pthread_mutex_t lock; /* the hand-off box */
	struct range handoff[HANDOFF_MAX];
	unsigned n_handoff;
};

struct worker {
	struct shared *s;
	uint64_t rng;
	struct range live[LIVE_MAX];
	unsigned n_live;
	unsigned long allocs, failures, frees;
};

static uint64_t next(struct worker *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned below(struct worker *w, unsigned n)
{
	return (unsigned)(next(w) % n);
}

/* Claim (or release) the granules of r; count what was not as it should be. */
static void mark(struct shared *s, struct range r, unsigned char to)
{
	for (uint64_t a = r.iova; a < r.iova + r.size; a += G) {
		unsigned char was = atomic_exchange(&s->taken[(a - BASE) / G], to);

		if (was == to)
			atomic_fetch_add(to ? &s->overlaps : &s->lost, 1);
	}
}

static void do_alloc(struct worker *w)
{
	static const uint64_t sizes[] = { G, G, G, 2 * G, 4 * G, 8 * G, 3 * G, 5 * G };
	struct range r = { 0, sizes[below(w, 8)] };
	uint64_t align = below(w, 8) ? 0 : 4 * G;
	int rc;

	if (w->n_live == LIVE_MAX)
		return;
	rc = viommu_iova_alloc(w->s->sp, r.size, align, &r.iova);
	if (rc == -ENOSPC) {
		w->failures++;
		return;
	}
	if (rc || r.iova < BASE || r.iova + r.size > BASE + NG * G || (align && r.iova % align)) {
		atomic_fetch_add(&w->s->errors, 1);
		return;
	}
	mark(w->s, r, 1);
	w->live[w->n_live++] = r;
	w->allocs++;
}

static void do_free(struct worker *w, struct range r)
{
	mark(w->s, r, 0);
	if (viommu_iova_free(w->s->sp, r.iova, r.size))
		atomic_fetch_add(&w->s->errors, 1);
	w->frees++;
}

static struct range take_live(struct worker *w)
{
	unsigned i = below(w, w->n_live);
	struct range r = w->live[i];

	w->live[i] = w->live[--w->n_live];
	return r;
}

/* Give one of ours to the box, or free one the other thread left there. */
static void hand_off(struct worker *w)
{
	struct shared *s = w->s;
	struct range r = { 0, 0 };

	pthread_mutex_lock(&s->lock);
	if (below(w, 2) && w->n_live && s->n_handoff < HANDOFF_MAX)
		s->handoff[s->n_handoff++] = take_live(w);
	else if (s->n_handoff)
		r = s->handoff[--s->n_handoff];
	pthread_mutex_unlock(&s->lock);
	if (r.size)
		do_free(w, r);
}

static void disturb(struct worker *w)
{
	struct viommu_iova_stats st;

	if (below(w, 2)) {
		if (viommu_iova_get_stats(w->s->sp, &st))
			atomic_fetch_add(&w->s->errors, 1);
	} else if (viommu_iova_flush_caches(w->s->sp)) {
		atomic_fetch_add(&w->s->errors, 1);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;

	for (unsigned n = 0; n < OPS_PER_THREAD; n++) {
		unsigned r = below(w, 1000);

		if (r < 480)
			do_alloc(w);
		else if (r < 940) {
			if (w->n_live)
				do_free(w, take_live(w));
		} else if (r < 998)
			hand_off(w);
		else
			disturb(w);
	}
	return NULL;
}

static void shared_init(struct shared *s)
{
	struct viommu_iova_opts o = { .first = BASE, .last = BASE + NG * G - 1, .granule = G,
				      .numa_node = -1 };

	CU_ASSERT_EQUAL_FATAL(viommu_iova_space_create(&o, &s->sp), 0);
	for (unsigned i = 0; i < NG; i++)
		atomic_init(&s->taken[i], 0);
	atomic_init(&s->overlaps, 0);
	atomic_init(&s->lost, 0);
	atomic_init(&s->errors, 0);
	pthread_mutex_init(&s->lock, NULL);
	s->n_handoff = 0;
}

/* Free what is left, then the space must be whole and consistent. */
static void shared_finish(struct shared *s, struct worker *w, unsigned n_workers)
{
	struct viommu_iova_stats st;
	int rc;

	for (unsigned i = 0; i < n_workers; i++)
		while (w[i].n_live)
			do_free(&w[i], take_live(&w[i]));
	while (s->n_handoff)
		do_free(&w[0], s->handoff[--s->n_handoff]);
	rc = uvi_iova_check(s->sp);
	if (rc)
		fprintf(stderr, "uvi_iova_check: %s\n", viommu_last_error());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(viommu_iova_flush_caches(s->sp), 0);
	CU_ASSERT_EQUAL(viommu_iova_get_stats(s->sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes, NG * G);
	CU_ASSERT_EQUAL(st.free_ranges, 1);
	CU_ASSERT_EQUAL(st.cached_bytes, 0);
	CU_ASSERT_EQUAL(st.bad_frees, 0);
	CU_ASSERT_EQUAL(atomic_load(&s->overlaps), 0);
	CU_ASSERT_EQUAL(atomic_load(&s->lost), 0);
	CU_ASSERT_EQUAL(atomic_load(&s->errors), 0);
	printf("\n  %u threads: %lu/%lu allocations, %lu/%lu failures, %lu/%lu frees; "
	       "%llu reclaims, %llu from caches\n", n_workers, w[0].allocs, w[1].allocs,
	       w[0].failures, w[1].failures, w[0].frees, w[1].frees,
	       (unsigned long long)st.reclaims, (unsigned long long)st.cache_allocs);
	CU_ASSERT(st.reclaims > 0 && st.cache_allocs > 0);
	viommu_iova_space_destroy(s->sp);
	pthread_mutex_destroy(&s->lock);
}

static void test_two_threads(void)
{
	static struct shared s;
	static struct worker w[2];
	pthread_t t[2];

	shared_init(&s);
	for (unsigned i = 0; i < 2; i++) {
		w[i] = (struct worker){ .s = &s, .rng = 1000 + i };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	shared_finish(&s, w, 2);
}

/* A thread's cache outlives it: the next thread of that index inherits its ranges. */
static void *fill_cache_and_exit(void *arg)
{
	struct viommu_iova_space *sp = arg;
	uint64_t iova[8];

	for (unsigned i = 0; i < 8; i++)
		if (viommu_iova_alloc(sp, G, 0, &iova[i]))
			return NULL;
	for (unsigned i = 0; i < 8; i++)
		viommu_iova_free(sp, iova[i], G);
	return sp;
}

static void test_exited_threads_lose_nothing(void)
{
	struct viommu_iova_opts o = { .first = BASE, .last = BASE + 64 * G - 1, .granule = G,
				      .numa_node = -1 };
	struct viommu_iova_space *sp;
	struct viommu_iova_stats st;
	uint64_t all;
	void *ret;

	CU_ASSERT_EQUAL_FATAL(viommu_iova_space_create(&o, &sp), 0);
	for (unsigned i = 0; i < 3 * UVI_IOVA_MAX_THREADS / 2; i++) {
		pthread_t t;

		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fill_cache_and_exit, sp), 0);
		pthread_join(t, &ret);
		CU_ASSERT_PTR_EQUAL(ret, sp);
	}
	CU_ASSERT_EQUAL(viommu_iova_get_stats(sp, &st), 0);
	CU_ASSERT_EQUAL(st.free_bytes + st.cached_bytes, 64 * G);
	CU_ASSERT(st.threads >= 1 && st.threads <= 2); /* indices were reused */
	CU_ASSERT_EQUAL(uvi_iova_check(sp), 0);
	CU_ASSERT_EQUAL(viommu_iova_alloc(sp, 64 * G, 0, &all), 0);
	CU_ASSERT_EQUAL(all, BASE);
	viommu_iova_space_destroy(sp);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_two_threads),
		TEST_CASE(test_exited_threads_lose_nothing),
		TEST_END,
	};

	return run_suite("iova-threads", cases);
}
