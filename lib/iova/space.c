/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA spaces: the bounds, the reserved regions and the DMA address
 * limit, and the tree calls made under the space lock. The space starts
 * as one free range [first, last]; reserving a region or lowering the
 * limit takes the affected free parts out of the tree for good, and only
 * if none of it is allocated (checked first, so a refusal changes
 * nothing). Reserved regions are kept sorted and merged, to refuse a free
 * that would hand one out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error_internal.h"
#include "../mem/mem_internal.h"
#include "iova_internal.h"

#define GRANULE_DEFAULT 4096u

static int check_opts(const struct viommu_iova_opts *o)
{
	uint64_t g = o->granule ? o->granule : GRANULE_DEFAULT;

	if (g & (g - 1))
		return uvi_fail(-EINVAL, "IOVA space: granule 0x%" PRIx64 " is not a power of two",
				g);
	if (o->first > o->last || (o->first & (g - 1)) || (~o->last & (g - 1)))
		return uvi_fail(-EINVAL, "IOVA space: bounds 0x%" PRIx64 "-0x%" PRIx64 " are not "
				"whole granules of 0x%" PRIx64 " (first <= last, last inclusive)",
				o->first, o->last, g);
	if ((o->last - o->first) / g == UINT64_MAX)
		return uvi_fail(-EINVAL, "IOVA space: 2^64 granules of one byte cannot be counted: "
				"use a granule of 2 or more, or a smaller range");
	if (o->flags & ~VIOMMU_IOVA_NO_CACHE)
		return uvi_fail(-EINVAL, "IOVA space: unknown flags 0x%x",
				o->flags & ~VIOMMU_IOVA_NO_CACHE);
	return uvi_mem_check_node(o->numa_node);
}

static int init_locks(struct viommu_iova_space *sp)
{
	unsigned k;

	if (pthread_mutex_init(&sp->lock, NULL))
		return -ENOMEM;
	for (k = 0; k < UVI_IOVA_CLASSES; k++) {
		if (uvi_iova_depot_init(&sp->depot[k])) {
			while (k-- > 0)
				uvi_iova_depot_fini(&sp->depot[k]);
			pthread_mutex_destroy(&sp->lock);
			return -ENOMEM;
		}
	}
	return 0;
}

int viommu_iova_space_create(const struct viommu_iova_opts *opts,
			     struct viommu_iova_space **out)
{
	struct viommu_iova_space *sp;
	int node, rc;

	if (!opts || !out)
		return uvi_fail(-EINVAL, "iova_space_create: NULL argument");
	rc = check_opts(opts);
	if (rc)
		return rc;
	node = opts->numa_node >= 0 ? opts->numa_node : uvi_iova_local_node();
	sp = uvi_iova_meta_alloc(sizeof(*sp), node);
	if (!sp)
		return uvi_fail(-ENOMEM, "IOVA space: out of memory");
	sp->granule = opts->granule ? opts->granule : GRANULE_DEFAULT;
	sp->granule_mask = sp->granule - 1;
	sp->shift = (unsigned)__builtin_ctzll(sp->granule);
	sp->first = opts->first;
	atomic_init(&sp->limit, opts->last);
	sp->cached = !(opts->flags & VIOMMU_IOVA_NO_CACHE);
	sp->numa_node = node;
	if (init_locks(sp)) {
		uvi_iova_meta_free(sp, sizeof(*sp));
		return uvi_fail(-ENOMEM, "IOVA space: cannot create its locks");
	}
	uvi_iova_tree_init(&sp->tree, sp->granule, node);
	if (uvi_iova_tree_give(&sp->tree, opts->first, opts->last)) {
		viommu_iova_space_destroy(sp);
		return uvi_fail(-ENOMEM, "IOVA space: out of memory for its range tree");
	}
	*out = sp;
	return 0;
}

void viommu_iova_space_destroy(struct viommu_iova_space *sp)
{
	if (!sp)
		return;
	uvi_iova_tcaches_free(sp);
	for (unsigned k = 0; k < UVI_IOVA_CLASSES; k++)
		uvi_iova_depot_fini(&sp->depot[k]);
	uvi_iova_tree_fini(&sp->tree);
	pthread_mutex_destroy(&sp->lock);
	uvi_iova_meta_free(sp, sizeof(*sp));
}

/* ---- the tree under the lock ---- */

int uvi_iova_space_alloc(struct viommu_iova_space *sp, uint64_t size, uint64_t align,
			 uint64_t *iova)
{
	int rc;

	pthread_mutex_lock(&sp->lock);
	rc = uvi_iova_tree_alloc(&sp->tree, size, align, iova);
	if (!rc)
		sp->tree_allocs++;
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int uvi_iova_space_take(struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	int rc;

	pthread_mutex_lock(&sp->lock);
	rc = uvi_iova_tree_take(&sp->tree, first, last);
	if (!rc)
		sp->tree_allocs++;
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* The first reserved region whose last reaches first (n_resv if none). */
static unsigned resv_search(const struct viommu_iova_space *sp, uint64_t first)
{
	unsigned lo = 0, hi = sp->n_resv;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (sp->resv[mid].last < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool resv_overlaps(const struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	unsigned i = resv_search(sp, first);

	return i < sp->n_resv && sp->resv[i].first <= last;
}

int uvi_iova_give_locked(struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	uint64_t limit = atomic_load_explicit(&sp->limit, memory_order_relaxed);
	int rc;

	if (first < sp->first || last > limit || resv_overlaps(sp, first, last)) {
		sp->bad_frees++;
		return -EINVAL;
	}
	rc = uvi_iova_tree_give(&sp->tree, first, last);
	if (rc == -EINVAL)
		sp->bad_frees++;
	else if (!rc)
		sp->tree_frees++;
	return rc;
}

int uvi_iova_space_give(struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	int rc;

	pthread_mutex_lock(&sp->lock);
	rc = uvi_iova_give_locked(sp, first, last);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* ---- reserving and limiting ---- */

typedef int (*segment_fn)(struct viommu_iova_space *sp, uint64_t first, uint64_t last,
			  unsigned *count);

/* Call fn on each part of [first, last] that no reserved region covers. */
static int each_unreserved(struct viommu_iova_space *sp, uint64_t first, uint64_t last,
			   segment_fn fn, unsigned *count)
{
	uint64_t cur = first;
	int rc;

	for (unsigned i = resv_search(sp, first); i < sp->n_resv; i++) {
		const struct uvi_iova_resv *r = &sp->resv[i];

		if (r->first > last)
			break;
		if (r->first > cur) {
			rc = fn(sp, cur, r->first - 1, count);
			if (rc)
				return rc;
		}
		if (r->last >= last)
			return 0;
		cur = r->last + 1;
	}
	return fn(sp, cur, last, count);
}

static int check_free(struct viommu_iova_space *sp, uint64_t first, uint64_t last,
		      unsigned *count)
{
	if (!uvi_iova_tree_covers(&sp->tree, first, last))
		return uvi_fail(-EBUSY, "IOVAs in 0x%" PRIx64 "-0x%" PRIx64 " are allocated: "
				"reserve regions and set limits before handing IOVAs out",
				first, last);
	(*count)++;
	return 0;
}

static int take_free(struct viommu_iova_space *sp, uint64_t first, uint64_t last,
		     unsigned *count)
{
	(void)count;
	return uvi_iova_tree_take(&sp->tree, first, last);
}

/* r expanded to whole granules and clipped to the bounds; false if nothing is left. */
static bool clip(const struct viommu_iova_space *sp, const struct uvi_iova_resv *r,
		 uint64_t limit, struct uvi_iova_resv *out)
{
	out->first = r->first & ~sp->granule_mask;
	out->last = r->last | sp->granule_mask;
	if (out->last < sp->first || out->first > limit)
		return false;
	if (out->first < sp->first)
		out->first = sp->first;
	if (out->last > limit)
		out->last = limit;
	return true;
}

/* Insert [first, last] (whole granules) into the sorted list, merging. */
static void resv_insert(struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	unsigned i = first ? resv_search(sp, first - 1) : 0, j = i;

	/* Regions i .. j - 1 overlap or touch [first, last]: they merge into it. */
	while (j < sp->n_resv && (last == UINT64_MAX || sp->resv[j].first <= last + 1)) {
		if (sp->resv[j].first < first)
			first = sp->resv[j].first;
		if (sp->resv[j].last > last)
			last = sp->resv[j].last;
		j++;
	}
	memmove(&sp->resv[i + 1], &sp->resv[j], (sp->n_resv - j) * sizeof(sp->resv[0]));
	sp->n_resv = sp->n_resv - (j - i) + 1;
	sp->resv[i] = (struct uvi_iova_resv){ first, last };
}

static int check_all(struct viommu_iova_space *sp, const struct uvi_iova_resv *regions,
		     unsigned n, uint64_t limit, unsigned *segments)
{
	uint64_t top = atomic_load_explicit(&sp->limit, memory_order_relaxed);
	struct uvi_iova_resv c;
	int rc = 0;

	if (sp->n_resv + n > UVI_IOVA_MAX_RESV)
		return uvi_fail(-ENOSPC, "IOVA space: more than %u reserved regions",
				UVI_IOVA_MAX_RESV);
	for (unsigned i = 0; i < n && !rc; i++)
		if (clip(sp, &regions[i], top, &c))
			rc = each_unreserved(sp, c.first, c.last, check_free, segments);
	if (!rc && limit < top)
		rc = each_unreserved(sp, limit + 1, top, check_free, segments);
	return rc;
}

static void apply_all(struct viommu_iova_space *sp, const struct uvi_iova_resv *regions,
		      unsigned n, uint64_t limit)
{
	uint64_t top = atomic_load_explicit(&sp->limit, memory_order_relaxed);
	struct uvi_iova_resv c;

	/* Every part was checked free and the pool holds a node for each: nothing fails. */
	for (unsigned i = 0; i < n; i++) {
		if (clip(sp, &regions[i], top, &c))
			each_unreserved(sp, c.first, c.last, take_free, NULL);
		resv_insert(sp, regions[i].first & ~sp->granule_mask,
			    regions[i].last | sp->granule_mask);
	}
	if (limit < top) {
		each_unreserved(sp, limit + 1, top, take_free, NULL);
		atomic_store_explicit(&sp->limit, limit, memory_order_relaxed);
	}
}

/* Make sure the pool has a node for each carve (one split each at most). */
static int reserve_nodes(struct viommu_iova_space *sp, unsigned n)
{
	struct uvi_iova_range *held = NULL, *r;
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		r = uvi_iova_pool_get(&sp->tree.pool);
		if (!r) {
			rc = uvi_fail(-ENOMEM, "IOVA space: out of memory for its range tree");
			break;
		}
		r->rb.right = held ? &held->rb : NULL;
		held = r;
	}
	while (held) {
		r = held;
		held = r->rb.right ? UVI_IOVA_RANGE(r->rb.right) : NULL;
		uvi_iova_pool_put(&sp->tree.pool, r);
	}
	return rc;
}

int uvi_iova_restrict(struct viommu_iova_space *sp, const struct uvi_iova_resv *regions,
		      unsigned n, uint64_t limit)
{
	unsigned segments = 0;
	int rc;

	for (unsigned i = 0; i < n; i++)
		if (regions[i].first > regions[i].last)
			return uvi_fail(-EINVAL, "IOVA space: reserved region 0x%" PRIx64 "-0x%"
					PRIx64 " ends before it starts", regions[i].first,
					regions[i].last);
	if (sp->cached)
		uvi_iova_reclaim(sp); /* cached ranges are free as far as the caller knows */
	pthread_mutex_lock(&sp->lock);
	rc = check_all(sp, regions, n, limit, &segments);
	if (!rc)
		rc = reserve_nodes(sp, segments);
	if (!rc)
		apply_all(sp, regions, n, limit);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int viommu_iova_reserve(struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	struct uvi_iova_resv r = { first, last };

	if (!sp)
		return uvi_fail(-EINVAL, "iova_reserve: NULL space");
	return uvi_iova_restrict(sp, &r, 1, UINT64_MAX);
}

int viommu_iova_set_limit(struct viommu_iova_space *sp, uint64_t last)
{
	if (!sp)
		return uvi_fail(-EINVAL, "iova_set_limit: NULL space");
	if ((~last & sp->granule_mask) || last < sp->first)
		return uvi_fail(-EINVAL, "IOVA limit 0x%" PRIx64 " is not the last byte of a "
				"granule at or above the space's first address 0x%" PRIx64, last,
				sp->first);
	return uvi_iova_restrict(sp, NULL, 0, last);
}
