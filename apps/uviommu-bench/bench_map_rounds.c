/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench map: the pages of a round (from the shuffled pool, or an
 * aligned run for coalescing) and the rounds: batch 1 as viommu_map() +
 * viommu_unmap(), a batch as a MAP burst run to completion, then an UNMAP
 * burst run to completion.
 */
#include <errno.h>

#include "bench.h"
#include "bench_map.h"

/* ---- the pages of a round ---- */

static uint64_t next_random(struct bench *b)
{
	/* xorshift64: reproducible, and cheap enough to stay out of the measurement */
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

void map_build_pool(struct bench *b)
{
	b->rng = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < POOL_CELLS; i++)
		b->cells[i] = i;
	for (unsigned i = POOL_CELLS - 1; i > 0; i--) {
		unsigned j = (unsigned)(next_random(b) % (i + 1));
		uint32_t t = b->cells[i];

		b->cells[i] = b->cells[j];
		b->cells[j] = t;
	}
}

/* A cell's page: at an offset inside the cell that a hash of the cell picks. */
static uint64_t cell_page(const struct bench *b, uint32_t cell)
{
	uint32_t h = cell * 2654435761u;

	return b->window + (uint64_t)cell * CELL + (uint64_t)(h >> 28) * PAGE;
}

/*
 * --live N: N more mappings that stay in place while the rounds run, as a
 * driver's long-lived buffers do, so that the driver's and the device's
 * tables hold N + B entries instead of B. Live page j is page j /
 * POOL_CELLS of cell j % POOL_CELLS of a second window right after the
 * measured one (the coalesced rounds use all of the first). One MAP each.
 */
int map_live_pages(struct bench *b)
{
	for (uint64_t j = 0; j < b->o->live; j++) {
		uint64_t cell = j % POOL_CELLS, page = j / POOL_CELLS;
		uint64_t iova = b->window + WINDOW + cell * CELL + page * PAGE;
		int rc = viommu_map(b->dom, iova, b->page[0].phys, PAGE, MAP_FLAGS);

		if (rc)
			return rc;
	}
	return 0;
}

static void next_round(struct bench *b, const struct config *c)
{
	uint32_t cell = b->cells[b->cursor];

	if (c->coalesce) {
		uint64_t run = cell % (WINDOW / ((uint64_t)c->batch * PAGE));
		uint64_t base = b->window + run * c->batch * PAGE;

		for (unsigned i = 0; i < c->batch; i++)
			b->page[i].iova = base + (uint64_t)i * PAGE;
		b->cursor = (b->cursor + 1) % POOL_CELLS;
		return;
	}
	for (unsigned i = 0; i < c->batch; i++)
		b->page[i].iova = cell_page(b, b->cells[(b->cursor + i) % POOL_CELLS]);
	b->cursor = (b->cursor + c->batch) % POOL_CELLS;
}

/* ---- rounds ---- */

static int round_single(struct bench *b)
{
	int rc = viommu_map(b->dom, b->page[0].iova, b->page[0].phys, PAGE, MAP_FLAGS);

	if (rc)
		return map_fail("MAP", rc);
	rc = viommu_unmap(b->dom, b->page[0].iova, PAGE);
	return rc ? map_fail("UNMAP", rc) : 0;
}

static int run_half(struct bench *b, struct viommu_batch *batch, unsigned n, bool map)
{
	const char *what = map ? "a batch of MAPs" : "a batch of UNMAPs";
	uint64_t t0 = bench_wall_ns();
	int rc = map ? viommu_batch_map_burst(batch, b->dom, b->page, n, MAP_FLAGS)
		     : viommu_batch_unmap_burst(batch, b->dom, b->page, n);

	b->add_ns += bench_wall_ns() - t0;
	if (rc < 0)
		return map_fail(what, rc);
	if ((unsigned)rc < n) /* the message says why the next one was refused */
		return map_fail(what, -EIO);
	rc = viommu_batch_run(batch);
	if (rc)
		return map_fail(what, rc);
	rc = viommu_batch_reset(batch);
	return rc ? map_fail(what, rc) : 0;
}

static int round_batch(struct bench *b, struct viommu_batch *batch, unsigned n)
{
	int rc = run_half(b, batch, n, true);

	return rc ? rc : run_half(b, batch, n, false);
}

int map_run_rounds(struct bench *b, const struct config *c, struct viommu_batch *batch,
		   uint64_t rounds, uint64_t *lat)
{
	int rc = 0;

	for (uint64_t r = 0; r < rounds && !rc; r++) {
		uint64_t t0;

		next_round(b, c);
		t0 = bench_wall_ns();
		rc = batch ? round_batch(b, batch, c->batch) : round_single(b);
		if (lat)
			lat[r] = bench_wall_ns() - t0;
	}
	return rc;
}
