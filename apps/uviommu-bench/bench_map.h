/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_BENCH_MAP_H
#define UVIOMMU_BENCH_MAP_H

/*
 * uviommu-bench map, shared by its files (what it measures and how: the
 * comment at the top of bench_map.c):
 *
 *   bench_map.c         options, configurations, timing, output
 *   bench_map_setup.c   the device, the endpoint, the IOVA window, the DMA pages
 *   bench_map_rounds.c  the pages of a round, and rounds
 *   bench_map_paired.c  batch 64 / batch 1 from slices run back to back
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uviommu/uviommu.h>

#include "../../drivers/sim/sim.h"

#define PAGE 4096u
#define MAX_BATCH 256u
#define POOL_CELLS 4096u             /* at least the largest batch */
#define MAX_LIVE (POOL_CELLS * 16u)  /* --live: every page of a second window */
#define CELL (64u * 1024)            /* one pool page at some 4 KiB offset in each */
#define WINDOW ((uint64_t)POOL_CELLS * CELL)
#define WINDOW_ALIGN (2u * 1024 * 1024)
#define MAP_FLAGS (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)
#define DRIVER_CPU 0
#define DEVICE_CPU 1

enum ring_choice { RING_AUTO, RING_SPLIT, RING_PACKED };

struct map_opts {
	bool json;
	const char *device; /* "sim" or SSSS:BB:DD.F */
	const char *access; /* real device: auto, vfio or uio */
	const char *endpoint; /* SSSS:BB:DD.F or a raw endpoint ID; NULL: the default */
	const char *csv;
	enum ring_choice ring;
	uint64_t pairs;
	unsigned paired; /* slices of the paired batch 64 / batch 1 measurement; 0: none */
	uint64_t live;   /* mappings made before the measurement and left in place */
};

struct config {
	const char *name;
	unsigned batch;
	bool coalesce;
};

struct bench {
	const struct map_opts *o;
	struct sim_device *sim;
	struct viommu_dev *dev;
	struct viommu_domain *dom;
	struct viommu_dev_info info;
	char endpoint[32];            /* as printed */
	struct viommu_mem *mem;
	uint64_t window;              /* base of the IOVA window */
	uint32_t cells[POOL_CELLS];   /* shuffled cell indices */
	unsigned cursor;
	/* this round's requests: its pages' IOVAs, the buffer's pages' bus addresses */
	struct viommu_range page[MAX_BATCH];
	uint64_t *lat_ns;             /* one per round */
	uint64_t add_ns;              /* wall time spent adding requests to batches */
	uint64_t rng;
};

/* A uviommu call failed: prints its message; returns rc (-EIO if rc was not negative). */
int map_fail(const char *what, int rc);
/* A failure of the tool itself: rc's text; returns rc. */
int map_fail_errno(const char *what, int rc);
bool map_is_sim(const struct map_opts *o);

/* bench_map_setup.c: open the device, attach the endpoint, choose the window, pages. */
int map_set_up(struct bench *b);
void map_tear_down(struct bench *b);
void map_describe_device(const struct bench *b, FILE *out);

/* bench_map_rounds.c */
void map_build_pool(struct bench *b);
/* Map the --live pages, in the window after the measured one; 0 or a negative errno. */
int map_live_pages(struct bench *b);
/* Run rounds of c (batch NULL: batch 1); with lat, record each round's wall time. */
int map_run_rounds(struct bench *b, const struct config *c, struct viommu_batch *batch,
		   uint64_t rounds, uint64_t *lat);

/* bench_map_paired.c */
struct map_paired {
	unsigned slices;
	uint64_t pairs_per_slice;  /* per batch size */
	double median, min, max;   /* of the slices' ratios */
};
int map_paired(struct bench *b, struct map_paired *out);

#endif
