/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench map: batch 64 / batch 1 measured in pairs of short slices
 * run back to back, the ratio of each slice's two rates, and the median
 * of those ratios.
 *
 * The configurations of the main table each run for seconds, one after
 * the other, so a ratio of two of them compares two different stretches
 * of a machine whose speed changes from second to second (a VM's vCPUs:
 * doc/bench-map.md). A slice runs both batch sizes within a few tens of
 * milliseconds, alternating which goes first, so both rates of a slice
 * see the same machine; the median of many slices' ratios is then
 * robust to the slow and fast stretches.
 */
#include <errno.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_map.h"

#define SLICE_SHARE 40 /* a slice runs --pairs / SLICE_SHARE pairs at each batch size */
#define PAIRED_BATCH 64

static const struct config single = { "1", 1, false };
static const struct config batched = { "64", PAIRED_BATCH, false };

static int rate(struct bench *b, const struct config *c, struct viommu_batch *batch,
		uint64_t pairs, double *pairs_per_s)
{
	uint64_t rounds = (pairs + c->batch - 1) / c->batch, t0 = bench_wall_ns(), t;
	int rc = map_run_rounds(b, c, batch, rounds, NULL);

	t = bench_wall_ns() - t0;
	*pairs_per_s = (double)(rounds * c->batch) * 1e9 / (double)(t ? t : 1);
	return rc;
}

/* One slice: both rates, batch 64 first in every other slice so that neither always leads. */
static int slice(struct bench *b, struct viommu_batch *batch, unsigned i, uint64_t pairs,
		 double *ratio)
{
	double one = 0, many = 0;
	int rc;

	if (i % 2) {
		rc = rate(b, &batched, batch, pairs, &many);
		if (!rc)
			rc = rate(b, &single, NULL, pairs, &one);
	} else {
		rc = rate(b, &single, NULL, pairs, &one);
		if (!rc)
			rc = rate(b, &batched, batch, pairs, &many);
	}
	if (!rc)
		*ratio = many / one;
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run_slices(struct bench *b, struct viommu_batch *batch, struct map_paired *out)
{
	double *ratio = calloc(out->slices, sizeof(*ratio));
	int rc = ratio ? 0 : map_fail_errno("paired slices", -ENOMEM);

	for (unsigned i = 0; i < out->slices && !rc; i++)
		rc = slice(b, batch, i, out->pairs_per_slice, &ratio[i]);
	if (!rc) {
		qsort(ratio, out->slices, sizeof(*ratio), cmp_double);
		out->median = ratio[out->slices / 2];
		out->min = ratio[0];
		out->max = ratio[out->slices - 1];
	}
	free(ratio);
	return rc;
}

/* Pairs in whole rounds of batch 64, at least one: both batch sizes then run as many. */
static uint64_t whole_rounds(uint64_t pairs)
{
	uint64_t rounds = (pairs + PAIRED_BATCH - 1) / PAIRED_BATCH;

	return (rounds ? rounds : 1) * PAIRED_BATCH;
}

int map_paired(struct bench *b, struct map_paired *out)
{
	struct viommu_batch *batch;
	uint64_t pairs = b->o->pairs / SLICE_SHARE;
	int rc;

	*out = (struct map_paired){ .slices = b->o->paired, .pairs_per_slice = whole_rounds(pairs) };
	fprintf(stderr, "uviommu-bench: map: batch 64 / batch 1 in %u slices of %llu pairs "
		"each...", out->slices, (unsigned long long)out->pairs_per_slice);
	rc = viommu_batch_create(b->dev, PAIRED_BATCH, 0, &batch);
	if (rc)
		return map_fail("cannot create a batch", rc);
	rc = run_slices(b, batch, out);
	viommu_batch_destroy(batch);
	if (!rc)
		fprintf(stderr, " median %.2fx (%.2f-%.2fx)\n", out->median, out->min, out->max);
	return rc;
}
