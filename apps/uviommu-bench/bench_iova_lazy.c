/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_dma_map() + viommu_dma_unmap() of 4 KiB buffers against the
 * software device, strict and lazy (defaults N and T), with the exposure
 * window lazy mode measured by the library itself (viommu_dma_stats):
 *  - busy: pairs back to back, so the queue fills to N first;
 *  - idle: one pair, then nothing until the flush thread has sent it, so
 *    the window is T plus the thread's wake-up plus one round trip.
 * The device thread runs on CPU 1 and the benchmark on CPU 0, as in
 * uviommu-bench map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "../../drivers/sim/sim.h"
#include "bench.h"
#include "bench_iova.h"

#define G BENCH_IOVA_G
#define PAIRS 100000u
#define IDLE_PAIRS 200u
#define BUFFERS 64u
#define EP 8u
#define WAIT_LIMIT_NS 2000000000ull
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)

struct lazy_bench {
	struct sim_device *sim;
	struct viommu_dev *dev;
	uint8_t *buf;
};

struct mode_result {
	double pairs_per_s;
	struct viommu_dma_stats st;
};

static bool failed(const char *what)
{
	fprintf(stderr, "uviommu-bench iova: %s: %s\n", what, viommu_last_error());
	return false;
}

static bool pairs(struct viommu_dma *dma, uint8_t *buf, unsigned n)
{
	uint64_t iova;

	for (unsigned i = 0; i < n; i++)
		if (viommu_dma_map(dma, buf + (i % BUFFERS) * G, G, RW, &iova) ||
		    viommu_dma_unmap(dma, iova, G))
			return failed("a DMA map/unmap pair failed");
	return true;
}

/* One pair at a time, each left alone until its UNMAP has completed. */
static bool idle_pairs(struct viommu_dma *dma, uint8_t *buf)
{
	const struct timespec nap = { 0, 20000 };
	struct viommu_dma_stats st;

	for (unsigned i = 0; i < IDLE_PAIRS; i++) {
		uint64_t deadline = bench_wall_ns() + WAIT_LIMIT_NS;

		if (!pairs(dma, buf, 1))
			return false;
		do {
			nanosleep(&nap, NULL);
			viommu_dma_get_stats(dma, &st);
		} while (st.queued && bench_wall_ns() < deadline);
		if (st.queued)
			return failed("the flush thread did not send the queue");
	}
	return true;
}

/* A fresh domain with the endpoint and a DMA mapper; run the mode; tear down. */
static bool run_mode(struct lazy_bench *b, const struct viommu_dma_opts *o, bool idle,
		     struct mode_result *r)
{
	struct viommu_domain *dom;
	struct viommu_dma *dma;
	uint64_t t0;
	bool ok;

	if (viommu_domain_create(b->dev, &dom))
		return failed("domain");
	if (viommu_dma_create(b->dev, dom, o, &dma)) {
		viommu_domain_destroy(dom);
		return failed("dma_create");
	}
	ok = viommu_dma_attach(dma, EP, 0) == 0 || failed("dma_attach");
	t0 = bench_wall_ns();
	ok = ok && (idle ? idle_pairs(dma, b->buf) : pairs(dma, b->buf, PAIRS));
	r->pairs_per_s = idle ? 0 : PAIRS / ((double)(bench_wall_ns() - t0) / 1e9);
	viommu_dma_flush(dma);
	viommu_dma_get_stats(dma, &r->st);
	viommu_dma_destroy(dma);
	viommu_domain_destroy(dom);
	return ok;
}

/* The upper bound of the log2 bucket that holds the p-th percentile, in ns. */
static double percentile_bound(const struct viommu_dma_stats *st, double p)
{
	uint64_t seen = 0;

	for (unsigned i = 0; i < VIOMMU_DMA_EXPOSURE_BUCKETS; i++) {
		seen += st->exposure_log2[i];
		if (seen && (double)seen >= p * (double)st->flushed)
			return (double)(2ull << i);
	}
	return 0;
}

static void print_mode(const char *name, const struct mode_result *r)
{
	const struct viommu_dma_stats *st = &r->st;

	if (r->pairs_per_s)
		printf("%-34s %10.0f", name, r->pairs_per_s);
	else
		printf("%-34s %10s", name, "-");
	if (!st->flushed) {
		printf("\n");
		return;
	}
	printf("   %10.1f   %10.1f   %10.1f   %8.1f\n",
	       (double)st->exposure_total_ns / (double)st->flushed / 1000,
	       percentile_bound(st, 0.99) / 1000, (double)st->exposure_max_ns / 1000,
	       (double)st->flushed / (double)st->flushes);
}

static bool open_sim(struct lazy_bench *b)
{
	struct viommu_open_opts oo = { .access = "sim" };

	if (sim_device_create(NULL, &b->sim))
		return failed("cannot create the software device");
	oo.sim = b->sim;
	bench_pin_self(1); /* the device thread it starts inherits CPU 1 */
	if (viommu_open(&oo, &b->dev)) {
		sim_device_destroy(b->sim);
		return failed("cannot open the software device");
	}
	bench_pin_self(0);
	return true;
}

bool bench_iova_lazy(void)
{
	struct viommu_dma_opts strict = { 0 }, lazy = { .flags = VIOMMU_DMA_LAZY };
	struct mode_result r[3];
	struct lazy_bench b;
	bool ok;

	b.buf = aligned_alloc(G, BUFFERS * G);
	if (!b.buf || !open_sim(&b)) {
		free(b.buf);
		return false;
	}
	ok = run_mode(&b, &strict, false, &r[0]) && run_mode(&b, &lazy, false, &r[1]) &&
	     run_mode(&b, &lazy, true, &r[2]);
	viommu_close(b.dev);
	sim_device_destroy(b.sim);
	free(b.buf);
	if (!ok)
		return false;
	printf("viommu_dma_map + viommu_dma_unmap of 4 KiB, software device; lazy: N = %u, "
	       "T = %u us\n\n", VIOMMU_DMA_LAZY_MAX_DEFAULT, VIOMMU_DMA_LAZY_TIMEOUT_US_DEFAULT);
	printf("%-34s %10s   %10s   %10s   %10s   %8s\n", "mode", "pairs/s", "window us",
	       "p99 < us", "max us", "per flush");
	print_mode("strict", &r[0]);
	print_mode("lazy, busy (100,000 pairs)", &r[1]);
	print_mode("lazy, idle (200 single pairs)", &r[2]);
	printf("\nwindow: from viommu_dma_unmap() to its UNMAP's completion (mean); p99 as the "
	       "top of its power-of-two bucket\nlazy / strict: %.2fx\n",
	       r[1].pairs_per_s / r[0].pairs_per_s);
	return true;
}
