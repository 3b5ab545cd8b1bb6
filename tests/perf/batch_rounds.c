/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fixed amount of driver work for instruction counting: ROUNDS rounds
 * of a viommu_batch_map_burst() of B scattered 4 KiB pages +
 * viommu_batch_run(), then their viommu_batch_unmap_burst() +
 * viommu_batch_run(), as `uviommu-bench map` does, against the software
 * device. Deterministic, unlike a timing:
 *
 *   valgrind --tool=callgrind build/tests/perf/batch_rounds 64 200
 *
 * (doc/bench-map.md, "Where the time goes"). Exit status 0 when every
 * request succeeded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <uviommu/error.h>
#include <uviommu/viommu.h>

#include "../../drivers/sim/sim.h"

#define PAGE 4096ull
#define WINDOW 0x10000000ull /* IOVAs: one page per 64 KiB cell from here */
#define CELLS 4096u
#define PHYS 0x1000000ull    /* nothing does DMA: any aligned address */

static uint64_t iova_of(unsigned round, unsigned i)
{
	return WINDOW + (uint64_t)((i * 37u + round) % CELLS) * 0x10000;
}

/* One burst of B requests (phys is ignored by UNMAP), run to completion. */
static int add_and_run(struct viommu_batch *b, struct viommu_domain *dom,
		       const struct viommu_range *pages, unsigned batch, bool map)
{
	int n = map ? viommu_batch_map_burst(b, dom, pages, batch,
					     VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)
		    : viommu_batch_unmap_burst(b, dom, pages, batch);

	if (n != (int)batch || viommu_batch_run(b) || viommu_batch_reset(b))
		return -1;
	return 0;
}

static int one_round(struct viommu_batch *b, struct viommu_domain *dom, unsigned batch,
		     unsigned round)
{
	struct viommu_range pages[CELLS];

	for (unsigned i = 0; i < batch; i++)
		pages[i] = (struct viommu_range){ iova_of(round, i), PHYS + i * PAGE, PAGE };
	if (add_and_run(b, dom, pages, batch, true))
		return -1;
	return add_and_run(b, dom, pages, batch, false);
}

static int run(struct viommu_dev *dev, unsigned batch, unsigned rounds)
{
	struct viommu_domain *dom;
	struct viommu_batch *b;
	int rc = 0;

	if (viommu_domain_create(dev, &dom) || viommu_attach_endpoint(dom, 0) ||
	    viommu_batch_create(dev, batch, 0, &b))
		return -1;
	for (unsigned r = 0; r < rounds && !rc; r++)
		rc = one_round(b, dom, batch, r);
	viommu_batch_destroy(b);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned batch = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 200;
	struct viommu_open_opts o = { .access = "sim" };
	struct sim_device *sim;
	struct viommu_dev *dev;
	int rc;

	if (batch < 1 || batch > CELLS || rounds < 1) {
		fprintf(stderr, "usage: batch_rounds [BATCH 1-%u] [ROUNDS]\n", CELLS);
		return 2;
	}
	if (sim_device_create(NULL, &sim))
		return 1;
	o.sim = sim;
	rc = viommu_open(&o, &dev);
	if (!rc) {
		rc = run(dev, batch, rounds);
		viommu_close(dev);
	}
	if (rc)
		fprintf(stderr, "batch_rounds: %s\n", viommu_last_error());
	sim_device_destroy(sim);
	return rc ? 1 : 0;
}
