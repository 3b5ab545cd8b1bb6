/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_dma_map(): one IOVA range for the granules a buffer touches, one
 * MAP per contiguous run, in batches of UVI_DMA_BATCH run together.
 * viommu_dma_unmap(): strict, one UNMAP over the whole range (it covers
 * whole mappings, virtio 1.2, 5.13.6.6), the IOVA freed once it has
 * completed; lazy, queued (lazy_unmap.c).
 *
 * The live mappings are kept in a tree by IOVA, so an unmap of something
 * that is not a live mapping is refused instead of freeing an IOVA that
 * is someone else's. A MAP that fails is undone: the whole range is
 * unmapped and the IOVA freed; if even that UNMAP fails, the range goes to
 * the unmap queue, which retries it, and its IOVA stays allocated until
 * then (never handed out while a mapping may be live).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dma.h"

#define MAP_FLAGS (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)

/* The granule-aligned base of [va, va + len) and its span (bytes - 1); false if it wraps. */
static bool extent(const struct viommu_dma *dma, uint64_t va, uint64_t len, uint64_t *base,
		   uint64_t *span)
{
	uint64_t mask = dma->granule - 1, last;

	if (!len || va > UINT64_MAX - (len - 1))
		return false;
	last = (va + (len - 1)) | mask;
	*base = va & ~mask;
	*span = last - *base;
	return true;
}

/* Run the batch's requests, if any; keep the first error. */
static int run_batch(struct viommu_batch *b, int rc)
{
	int run_rc;

	if (!viommu_batch_count(b))
		return rc;
	run_rc = viommu_batch_run(b);
	viommu_batch_reset(b);
	return rc ? rc : run_rc;
}

/*
 * What a map got done, to undo exactly that: [0, prefix) of the range,
 * and the runs of the batch that failed which went through.
 */
struct progress {
	uint64_t prefix;
	uint64_t requests; /* MAPs added */
	unsigned n;
	struct uvi_dma_run run[UVI_DMA_BATCH];
	unsigned index[UVI_DMA_BATCH];
};

/*
 * Run the batch; on failure keep in p only the runs that are mapped. An
 * empty batch has nothing to run, and p stays as it is: after a batch
 * that failed, p holds the runs of it that went through, which the
 * statuses of a reset batch no longer tell.
 */
static int run_chunk(struct viommu_batch *b, struct progress *p, int rc)
{
	unsigned kept = 0;
	int run_rc;

	if (!viommu_batch_count(b))
		return rc;
	run_rc = viommu_batch_run(b);
	if (!rc && !run_rc) {
		if (p->n)
			p->prefix = p->run[p->n - 1].off + p->run[p->n - 1].len;
		p->n = 0;
	} else {
		for (unsigned i = 0; i < p->n; i++)
			if (viommu_batch_status(b, p->index[i]) == 0)
				p->run[kept++] = p->run[i];
		p->n = kept;
	}
	viommu_batch_reset(b);
	return rc ? rc : run_rc;
}

static int map_runs(struct viommu_dma *dma, uint64_t base, uint64_t span, uint64_t iova,
		    unsigned flags, struct progress *p)
{
	struct viommu_batch *b;
	struct uvi_dma_run run;
	uint64_t off = 0;
	int rc, idx;

	*p = (struct progress){ .prefix = 0 };
	rc = uvi_dma_batch_get(dma, &b);
	if (rc)
		return rc;
	while (!rc && off <= span) {
		rc = uvi_dma_resolve(dma, (uintptr_t)base, span, off, &run);
		if (rc)
			break;
		idx = viommu_batch_map(b, dma->dom, iova + off, run.bus, run.len, flags);
		if (idx < 0) {
			rc = idx;
			break;
		}
		p->index[p->n] = (unsigned)idx;
		p->run[p->n++] = run;
		p->requests++;
		off += run.len;
		if (p->n == UVI_DMA_BATCH)
			rc = run_chunk(b, p, 0);
	}
	rc = run_chunk(b, p, rc); /* what was added completes before an undo */
	uvi_dma_batch_put(dma, b);
	return rc;
}

/* An IOVA range; with none left, unmaps still queued are completed first. */
static int alloc_iova(struct viommu_dma *dma, uint64_t size, uint64_t *iova)
{
	int rc = viommu_iova_alloc(dma->space, size, 0, iova);

	if (rc == -ENOSPC && uvi_dma_queued(dma)) {
		viommu_dma_flush(dma);
		rc = viommu_iova_alloc(dma->space, size, 0, iova);
	}
	return rc;
}

/* The pieces a failed map left mapped: the prefix, then the runs that went through. */
static unsigned pieces(const struct progress *p, struct uvi_dma_run *out)
{
	unsigned n = 0;

	if (p->prefix)
		out[n++] = (struct uvi_dma_run){ 0, 0, p->prefix };
	for (unsigned i = 0; i < p->n; i++)
		out[n++] = p->run[i];
	return n;
}

/*
 * After a failed map: UNMAP exactly what went through (never a mapping of
 * someone else in the range), free the IOVAs of what is not mapped, and
 * queue what the device would not unmap (its IOVA stays allocated until
 * the queue's retry succeeds).
 */
static void undo(struct viommu_dma *dma, uint64_t iova, uint64_t span, const struct progress *p)
{
	struct uvi_dma_run piece[UVI_DMA_BATCH + 1];
	unsigned n = pieces(p, piece);
	uint64_t cursor = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct uvi_dma_run *r = &piece[i];

		if (cursor < r->off)
			viommu_iova_free(dma->space, iova + cursor, r->off - cursor);
		if (uvi_dma_unmap_now(dma, iova + r->off, r->len - 1) == 0)
			viommu_iova_free(dma->space, iova + r->off, r->len);
		else if (uvi_dma_enqueue(dma, iova + r->off, r->len - 1))
			uvi_dma_count(dma, &dma->stats.flush_errors, 1); /* kept until destroy */
		cursor = r->off + r->len;
	}
	if (cursor <= span)
		viommu_iova_free(dma->space, iova + cursor, span + 1 - cursor);
}

static void record(struct viommu_dma *dma, struct uvi_dma_mapping *m, uint64_t requests)
{
	pthread_mutex_lock(&dma->lock);
	uvi_rb_insert(&dma->mappings, &m->rb);
	dma->stats.maps++;
	dma->stats.map_requests += requests;
	dma->stats.mapped++;
	pthread_mutex_unlock(&dma->lock);
}

int viommu_dma_map(struct viommu_dma *dma, const void *va, size_t len, unsigned flags,
		   uint64_t *iova)
{
	uint64_t base, span, at;
	struct uvi_dma_mapping *m;
	struct progress p;
	char why[200];
	int rc;

	if (!dma || !va || !iova)
		return uvi_fail(-EINVAL, "dma_map: NULL argument");
	if (!flags || (flags & ~MAP_FLAGS))
		return uvi_fail(-EINVAL, "dma_map: flags 0x%x: give VIOMMU_MAP_READ and/or "
				"VIOMMU_MAP_WRITE", flags);
	if (!extent(dma, (uintptr_t)va, len, &base, &span))
		return uvi_fail(-EINVAL, "dma_map: %zu bytes at %p is empty or wraps", len, va);
	uvi_dma_lazy_tick(dma);
	m = malloc(sizeof(*m));
	if (!m)
		return uvi_fail(-ENOMEM, "dma_map: out of memory");
	rc = alloc_iova(dma, span + 1, &at);
	if (!rc) {
		rc = map_runs(dma, base, span, at, flags, &p);
		if (rc) {
			snprintf(why, sizeof(why), "%s", viommu_last_error());
			undo(dma, at, span, &p);
			uvi_fail(rc, "dma_map: mapping %zu bytes at %p to IOVA 0x%" PRIx64
				 " failed: %s", len, va, at, why);
		}
	}
	if (rc) {
		free(m);
		return rc;
	}
	m->rb.key = at;
	m->span = span;
	record(dma, m, p.requests);
	*iova = at + ((uintptr_t)va - base);
	return 0;
}

/* The live mapping [base, base + span], unlinked; NULL if there is none. */
static struct uvi_dma_mapping *unlink_mapping(struct viommu_dma *dma, uint64_t base,
					      uint64_t span)
{
	struct uvi_rb_node *n;
	struct uvi_dma_mapping *m = NULL;

	pthread_mutex_lock(&dma->lock);
	n = uvi_rb_last_le(&dma->mappings, base);
	if (n && n->key == base) {
		m = uvi_rb_entry(n, struct uvi_dma_mapping, rb);
		if (m->span == span) {
			uvi_rb_erase(&dma->mappings, n);
			dma->stats.mapped--;
		} else {
			m = NULL;
		}
	}
	pthread_mutex_unlock(&dma->lock);
	return m;
}

static void relink(struct viommu_dma *dma, struct uvi_dma_mapping *m)
{
	pthread_mutex_lock(&dma->lock);
	uvi_rb_insert(&dma->mappings, &m->rb);
	dma->stats.mapped++;
	pthread_mutex_unlock(&dma->lock);
}

int viommu_dma_unmap(struct viommu_dma *dma, uint64_t iova, size_t len)
{
	struct uvi_dma_mapping *m = NULL;
	uint64_t base, span;
	int rc;

	if (!dma)
		return uvi_fail(-EINVAL, "dma_unmap: NULL argument");
	if (extent(dma, iova, len, &base, &span))
		m = unlink_mapping(dma, base, span);
	if (!m)
		return uvi_fail(-ENOENT, "dma_unmap: IOVA 0x%" PRIx64 " +%zu is not a mapping "
				"viommu_dma_map() returned", iova, len);
	if (dma->lazy.on && uvi_dma_enqueue(dma, base, span) == 0) {
		free(m);
		uvi_dma_count(dma, &dma->stats.unmaps, 1);
		return 0;
	}
	rc = uvi_dma_unmap_now(dma, base, span);
	if (rc) {
		relink(dma, m);
		return uvi_fail(rc, "dma_unmap: UNMAP of IOVA 0x%" PRIx64 "-0x%" PRIx64 " failed "
				"(%s); the mapping stays", base, base + span, strerror(-rc));
	}
	viommu_iova_free(dma->space, base, span + 1);
	free(m);
	uvi_dma_count(dma, &dma->stats.unmaps, 1);
	return 0;
}

int uvi_dma_unmap_now(struct viommu_dma *dma, uint64_t iova, uint64_t span)
{
	struct viommu_batch *b;
	int rc = uvi_dma_batch_get(dma, &b);

	if (rc)
		return rc;
	rc = viommu_batch_unmap(b, dma->dom, iova, span + 1);
	rc = run_batch(b, rc < 0 ? rc : 0);
	uvi_dma_batch_put(dma, b);
	return rc;
}

void uvi_dma_mappings_free(struct viommu_dma *dma)
{
	struct uvi_rb_node *n, *next;

	for (n = uvi_rb_postorder_first(&dma->mappings); n; n = next) {
		struct uvi_dma_mapping *m = uvi_rb_entry(n, struct uvi_dma_mapping, rb);

		next = uvi_rb_postorder_next(n);
		if (uvi_dma_enqueue(dma, m->rb.key, m->span))
			uvi_dma_unmap_now(dma, m->rb.key, m->span);
		free(m);
	}
	dma->mappings = (struct uvi_rb_tree)UVI_RB_TREE_INIT(NULL);
	dma->stats.mapped = 0;
	viommu_dma_flush(dma);
}
