/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lazy unmap (drivers/iommu/lazy_unmap.c) against the software device:
 *  - no IOVA is handed out again while its old mapping may be live: a
 *    random run in a window of 16 pages, where IOVAs must be reused, keeps
 *    a model of the queued unmaps and checks every IOVA viommu_dma_map()
 *    returns against it, and the device's mapping count against live +
 *    queued at every step; a queued buffer stays reachable (the exposure)
 *    until its flush and unreachable after;
 *  - the queue goes to the device when N are queued, when the oldest has
 *    waited T (the flush thread, or viommu_dma_poll()), and when the space
 *    runs out;
 *  - the queue survives a device reset (replayed from the shadow, then
 *    flushed: nothing lost), a device that stops answering (the flush fails
 *    and keeps everything until viommu_reset(), and wakes the flush thread
 *    to retry after T), and a reset while its UNMAPs are in flight;
 *  - two threads mapping and unmapping at once, with the flush thread.
 * Waits are bounded (RIG_WAIT_LIMIT_S); nothing asserts on time. Sim only:
 * the checks read the device's mapping count and hold its completions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "cunit_main.h"
#include "driver_rig.h"

#define EP 8
#define G 4096ull
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)
#define WINDOW_FIRST 0x100000ull
#define WINDOW_PAGES 16u
#define NEVER_US 4000000000u /* T longer than any test */

struct setup {
	struct rig r;
	struct viommu_domain *dom;
	struct viommu_dma *dma;
};

static struct viommu_dma_opts lazy_opts(unsigned flags, unsigned max, unsigned timeout_us)
{
	return (struct viommu_dma_opts){ .flags = VIOMMU_DMA_LAZY | flags, .lazy_max = max,
					 .lazy_timeout_us = timeout_us };
}

static void open_setup(struct setup *s, const struct viommu_dma_opts *o,
		       const struct viommu_open_opts *open_opts)
{
	rig_open(&s->r, NULL, open_opts);
	rig_ok(viommu_domain_create(s->r.dev, &s->dom), "domain");
	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_dma_create(s->r.dev, s->dom, o, &s->dma),
					"dma_create"), 0);
	rig_ok(viommu_dma_attach(s->dma, EP, 0), "dma_attach");
}

static void close_setup(struct setup *s)
{
	viommu_dma_destroy(s->dma);
	CU_ASSERT_EQUAL(rig_sim_stats(&s->r).mappings, 0);
	rig_close(&s->r);
}

static struct viommu_dma_stats dma_stats(struct setup *s)
{
	struct viommu_dma_stats st;

	CU_ASSERT_EQUAL(viommu_dma_get_stats(s->dma, &st), 0);
	return st;
}

static void pause_ms(unsigned ms)
{
	const struct timespec t = { 0, (long)ms * 1000000 };

	nanosleep(&t, NULL);
}

/* Map n pages one by one; iova[i] of pages + i * G. */
static void map_pages(struct setup *s, uint8_t *pages, unsigned n, uint64_t *iova)
{
	for (unsigned i = 0; i < n; i++)
		rig_ok(viommu_dma_map(s->dma, pages + i * G, G, RW, &iova[i]), "map");
}

static unsigned reachable(struct setup *s, uint8_t *pages, unsigned n, const uint64_t *iova)
{
	unsigned good = 0;

	for (unsigned i = 0; i < n; i++)
		good += rig_translates(&s->r, EP, iova[i], pages + i * G);
	return good;
}

/* ---- no reuse while live ---- */

struct reuse_model {
	struct setup *s;
	uint8_t *pages; /* one per slot */
	uint64_t iova[WINDOW_PAGES + 1];
	bool live[WINDOW_PAGES + 1];
	uint64_t queued[WINDOW_PAGES + 1];
	unsigned n_live, n_queued;
	uint64_t flushed; /* stats.flushed as last seen */
};

/* A flush completes everything queued before it (one thread here). */
static void note_flushes(struct reuse_model *m)
{
	uint64_t flushed = dma_stats(m->s).flushed;

	if (flushed != m->flushed) {
		CU_ASSERT_EQUAL(flushed - m->flushed, m->n_queued);
		m->flushed = flushed;
		m->n_queued = 0;
	}
}

/* The device holds every live mapping and every one whose UNMAP is queued. */
static void check_counts(struct reuse_model *m)
{
	CU_ASSERT_EQUAL(rig_sim_stats(&m->s->r).mappings, m->n_live + m->n_queued);
	CU_ASSERT_EQUAL(dma_stats(m->s).queued, m->n_queued);
}

static void reuse_map(struct reuse_model *m, unsigned slot)
{
	int rc = viommu_dma_map(m->s->dma, m->pages + slot * G, G, RW, &m->iova[slot]);

	note_flushes(m); /* a flush inside the map ran before its allocation */
	CU_ASSERT_EQUAL_FATAL(rig_check(rc, "map in the window"), 0);
	for (unsigned i = 0; i < m->n_queued; i++)
		CU_ASSERT_NOT_EQUAL(m->iova[slot], m->queued[i]); /* its old mapping is live */
	CU_ASSERT_TRUE(rig_translates(&m->s->r, EP, m->iova[slot], m->pages + slot * G));
	m->live[slot] = true;
	m->n_live++;
	check_counts(m);
}

static void reuse_unmap(struct reuse_model *m, unsigned slot)
{
	uint64_t iova = m->iova[slot];

	rig_ok(viommu_dma_unmap(m->s->dma, iova, G), "lazy unmap");
	m->live[slot] = false;
	m->n_live--;
	m->queued[m->n_queued++] = iova;
	/* Still queued (the N-th flushes): the buffer is still reachable, the exposure. */
	if (dma_stats(m->s).flushed == m->flushed)
		CU_ASSERT_TRUE(rig_translates(&m->s->r, EP, iova, m->pages + slot * G));
	note_flushes(m);
	check_counts(m);
}

static void test_no_reuse_while_live(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 5, NEVER_US);
	struct reuse_model m = { .pages = rig_pages(WINDOW_PAGES + 1) };
	uint64_t seed = 7;
	struct setup s;

	o.iova_first = WINDOW_FIRST;
	o.iova_last = WINDOW_FIRST + WINDOW_PAGES * G - 1;
	open_setup(&s, &o, NULL);
	m.s = &s;
	for (unsigned step = 0; step < 20000; step++) {
		unsigned slot;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		slot = (unsigned)(seed >> 33) % (WINDOW_PAGES + 1);
		if (m.live[slot])
			reuse_unmap(&m, slot);
		else if (m.n_live < WINDOW_PAGES)
			reuse_map(&m, slot);
		if (step % 997 == 0) {
			rig_ok(viommu_dma_flush(s.dma) < 0 ? -1 : 0, "flush");
			note_flushes(&m);
			check_counts(&m);
		}
	}
	CU_ASSERT(dma_stats(&s).flushes > 100);
	close_setup(&s);
	rig_free_pages(m.pages);
}

/* A full window: the queued unmap is flushed, and its IOVA then reused. */
static void test_out_of_space_flushes_the_queue(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 1000, NEVER_US);
	uint8_t *pages = rig_pages(WINDOW_PAGES + 1);
	uint64_t iova[WINDOW_PAGES + 1];
	struct setup s;

	o.iova_first = WINDOW_FIRST;
	o.iova_last = WINDOW_FIRST + WINDOW_PAGES * G - 1;
	open_setup(&s, &o, NULL);
	map_pages(&s, pages, WINDOW_PAGES, iova);
	rig_ok(viommu_dma_unmap(s.dma, iova[3], G), "lazy unmap");
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, iova[3], pages + 3 * G));
	rig_ok(viommu_dma_map(s.dma, pages + WINDOW_PAGES * G, G, RW, &iova[WINDOW_PAGES]),
	       "map into a full window");
	CU_ASSERT_EQUAL(iova[WINDOW_PAGES], iova[3]);
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, iova[3], pages + WINDOW_PAGES * G));
	CU_ASSERT_EQUAL(dma_stats(&s).flushes, 1);
	close_setup(&s);
	rig_free_pages(pages);
}

/* ---- when the queue goes ---- */

static void test_flush_at_n(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 8, NEVER_US);
	uint8_t *pages = rig_pages(8);
	struct viommu_dma_stats st;
	uint64_t iova[8];
	struct setup s;

	open_setup(&s, &o, NULL);
	map_pages(&s, pages, 8, iova);
	for (unsigned i = 0; i < 7; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "lazy unmap");
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 7);
	CU_ASSERT_EQUAL(reachable(&s, pages, 8, iova), 8);
	rig_ok(viommu_dma_unmap(s.dma, iova[7], G), "the N-th unmap");
	st = dma_stats(&s);
	CU_ASSERT_EQUAL(st.queued, 0);
	CU_ASSERT_EQUAL(st.flushes, 1);
	CU_ASSERT_EQUAL(st.flushed, 8);
	CU_ASSERT_EQUAL(reachable(&s, pages, 8, iova), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	close_setup(&s);
	rig_free_pages(pages);
}

static void test_flush_after_t_by_the_thread(void)
{
	struct viommu_dma_opts o = lazy_opts(0, 1000, 1000);
	time_t deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	uint8_t *pages = rig_pages(3);
	struct viommu_dma_stats st;
	uint64_t iova[3], hist = 0;
	struct setup s;

	open_setup(&s, &o, NULL);
	map_pages(&s, pages, 3, iova);
	for (unsigned i = 0; i < 3; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "lazy unmap");
	while (dma_stats(&s).queued && time(NULL) < deadline)
		pause_ms(1);
	st = dma_stats(&s);
	CU_ASSERT_EQUAL(st.queued, 0);
	CU_ASSERT_EQUAL(st.flushed, 3);
	CU_ASSERT_EQUAL(reachable(&s, pages, 3, iova), 0);
	CU_ASSERT(st.exposure_max_ns > 0 && st.exposure_total_ns >= st.exposure_max_ns);
	for (unsigned i = 0; i < VIOMMU_DMA_EXPOSURE_BUCKETS; i++)
		hist += st.exposure_log2[i];
	CU_ASSERT_EQUAL(hist, 3);
	close_setup(&s);
	rig_free_pages(pages);
}

static void test_flush_after_t_by_poll(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 1000, 1000);
	time_t deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	uint8_t *pages = rig_pages(2);
	uint64_t iova[2];
	struct setup s;
	int rc = 0;

	open_setup(&s, &o, NULL);
	map_pages(&s, pages, 2, iova);
	rig_ok(viommu_dma_unmap(s.dma, iova[0], G), "lazy unmap");
	rig_ok(viommu_dma_unmap(s.dma, iova[1], G), "lazy unmap");
	while (rc == 0 && time(NULL) < deadline) {
		pause_ms(1);
		rc = viommu_dma_poll(s.dma);
	}
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT_EQUAL(reachable(&s, pages, 2, iova), 0);
	close_setup(&s);
	rig_free_pages(pages);
}

/* ---- resets and failures ---- */

static void test_queue_survives_reset(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 1000, NEVER_US);
	uint8_t *pages = rig_pages(8);
	uint64_t iova[8], again[8];
	struct setup s;

	open_setup(&s, &o, NULL);
	map_pages(&s, pages, 8, iova);
	for (unsigned i = 0; i < 8; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "lazy unmap");
	rig_ok(viommu_reset(s.r.dev), "reset");
	CU_ASSERT_EQUAL(rig_stats(&s.r).resets, 1);
	/* Replayed: the device has them again, as it must until their UNMAP. */
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 8);
	CU_ASSERT_EQUAL(reachable(&s, pages, 8, iova), 8);
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 8);
	CU_ASSERT_EQUAL(viommu_dma_flush(s.dma), 8);
	CU_ASSERT_EQUAL(reachable(&s, pages, 8, iova), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	/* Their IOVAs are free again. */
	map_pages(&s, pages, 8, again);
	for (unsigned i = 0; i < 8; i++) {
		bool old = false;

		for (unsigned j = 0; j < 8; j++)
			old |= again[i] == iova[j];
		CU_ASSERT_TRUE(old);
	}
	CU_ASSERT_EQUAL(reachable(&s, pages, 8, again), 8);
	close_setup(&s);
	rig_free_pages(pages);
}

/* A device that stops answering: the flush fails and keeps the queue until viommu_reset(). */
static void test_queue_survives_a_dead_device(void)
{
	struct viommu_open_opts oo = { .request_timeout_ms = 300 };
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 1000, NEVER_US);
	uint8_t *pages = rig_pages(4);
	uint64_t iova[4];
	struct setup s;

	open_setup(&s, &o, &oo);
	map_pages(&s, pages, 4, iova);
	for (unsigned i = 0; i < 4; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "lazy unmap");
	sim_device_set_delay(s.r.sim, UINT32_MAX);
	CU_ASSERT(viommu_dma_flush(s.dma) < 0);
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 4);
	CU_ASSERT_EQUAL(dma_stats(&s).flush_errors, 4);
	CU_ASSERT(viommu_dma_flush(s.dma) < 0); /* failed device: -EIO until reset */
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 4);
	sim_device_set_delay(s.r.sim, 0);
	rig_ok(viommu_reset(s.r.dev), "reset");
	CU_ASSERT_EQUAL(reachable(&s, pages, 4, iova), 4);
	CU_ASSERT_EQUAL(viommu_dma_flush(s.dma), 4);
	CU_ASSERT_EQUAL(reachable(&s, pages, 4, iova), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	close_setup(&s);
	rig_free_pages(pages);
}

/*
 * A flush that fails puts its entries back and wakes the flush thread:
 * the thread, which found the queue empty while the caller's flush held
 * the entries, must not sleep on until the next empty-to-one enqueue, or
 * T would never flush (or retry) them.
 */
static void test_failed_flush_wakes_the_thread(void)
{
	struct viommu_open_opts oo = { .request_timeout_ms = 300 };
	struct viommu_dma_opts o = lazy_opts(0, 1000, 50000);
	time_t deadline;
	uint8_t *pages = rig_pages(2);
	uint64_t iova[2];
	struct setup s;

	open_setup(&s, &o, &oo);
	map_pages(&s, pages, 2, iova);
	rig_ok(viommu_dma_unmap(s.dma, iova[0], G), "lazy unmap");
	sim_device_set_delay(s.r.sim, UINT32_MAX);
	/* ~300 ms: the thread's 50 ms deadline passes while this flush holds the entry. */
	CU_ASSERT(viommu_dma_flush(s.dma) < 0);
	sim_device_set_delay(s.r.sim, 0);
	rig_ok(viommu_reset(s.r.dev), "reset");
	rig_ok(viommu_dma_unmap(s.dma, iova[1], G), "lazy unmap, the queue not empty");
	deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	while (dma_stats(&s).queued && time(NULL) < deadline)
		pause_ms(1);
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 0);
	CU_ASSERT_EQUAL(reachable(&s, pages, 2, iova), 0);
	close_setup(&s);
	rig_free_pages(pages);
}

static void *flush_in_thread(void *arg)
{
	struct viommu_dma *dma = arg;

	return (void *)(intptr_t)viommu_dma_flush(dma);
}

/* A reset while the flush's UNMAPs are in flight: they complete after the replay. */
static void test_reset_during_flush(void)
{
	struct viommu_dma_opts o = lazy_opts(VIOMMU_DMA_LAZY_NO_THREAD, 1000, NEVER_US);
	time_t deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	uint8_t *pages = rig_pages(4);
	struct sim_device_stats ds;
	uint64_t iova[4];
	struct setup s;
	pthread_t t;
	void *ret;

	open_setup(&s, &o, NULL);
	map_pages(&s, pages, 4, iova);
	for (unsigned i = 0; i < 4; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "lazy unmap");
	sim_device_set_delay(s.r.sim, UINT32_MAX);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, flush_in_thread, s.dma), 0);
	do {
		pause_ms(1);
		sim_device_get_stats(s.r.sim, &ds);
	} while (!ds.held && time(NULL) < deadline);
	CU_ASSERT(ds.held > 0);
	sim_device_set_delay(s.r.sim, 0);
	rig_ok(viommu_reset(s.r.dev), "reset");
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL((intptr_t)ret, 4);
	CU_ASSERT_EQUAL(dma_stats(&s).queued, 0);
	CU_ASSERT_EQUAL(reachable(&s, pages, 4, iova), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	close_setup(&s);
	rig_free_pages(pages);
}

/* ---- threads ---- */

#define THREAD_PAGES 32u
#define THREAD_ROUNDS 3000u

struct mapper {
	struct setup *s;
	uint8_t *pages;
	uint32_t marker;
	unsigned errors;
};

/* The endpoint writes a marker at iova: true if it landed in page (rig_translates, per thread). */
static bool lands(struct mapper *m, uint64_t iova, const uint8_t *page)
{
	uint32_t seen, marker = ++m->marker;

	if (rig_dma_write(&m->s->r, EP, iova, &marker, sizeof(marker)))
		return false;
	memcpy(&seen, page, sizeof(seen));
	return seen == marker;
}

static void *map_unmap_loop(void *arg)
{
	struct mapper *m = arg;
	uint64_t iova[THREAD_PAGES];

	for (unsigned r = 0; r < THREAD_ROUNDS; r++) {
		unsigned i = r % THREAD_PAGES;

		if (r >= THREAD_PAGES && viommu_dma_unmap(m->s->dma, iova[i], G))
			m->errors++;
		if (viommu_dma_map(m->s->dma, m->pages + i * G, G, RW, &iova[i]))
			m->errors++;
		else if (!lands(m, iova[i], m->pages + i * G))
			m->errors++;
	}
	for (unsigned i = 0; i < THREAD_PAGES; i++)
		if (viommu_dma_unmap(m->s->dma, iova[i], G))
			m->errors++;
	return NULL;
}

static void test_two_threads(void)
{
	struct viommu_dma_opts o = lazy_opts(0, 16, 100);
	struct mapper m[2];
	pthread_t t[2];
	struct setup s;

	open_setup(&s, &o, NULL);
	for (unsigned i = 0; i < 2; i++) {
		m[i] = (struct mapper){ &s, rig_pages(THREAD_PAGES), (i + 1) << 24, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, map_unmap_loop, &m[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(m[i].errors, 0);
	}
	CU_ASSERT_EQUAL(dma_stats(&s).maps, 2 * THREAD_ROUNDS);
	CU_ASSERT_EQUAL(dma_stats(&s).unmaps, 2 * THREAD_ROUNDS);
	CU_ASSERT_EQUAL(dma_stats(&s).flush_errors, 0);
	close_setup(&s);
	for (unsigned i = 0; i < 2; i++)
		rig_free_pages(m[i].pages);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_no_reuse_while_live),
		TEST_CASE(test_out_of_space_flushes_the_queue),
		TEST_CASE(test_flush_at_n),
		TEST_CASE(test_flush_after_t_by_the_thread),
		TEST_CASE(test_flush_after_t_by_poll),
		TEST_CASE(test_queue_survives_reset),
		TEST_CASE(test_queue_survives_a_dead_device),
		TEST_CASE(test_failed_flush_wakes_the_thread),
		TEST_CASE(test_reset_during_flush),
		TEST_CASE(test_two_threads),
		TEST_END,
	};

	return run_suite("dma-map-lazy", cases);
}
