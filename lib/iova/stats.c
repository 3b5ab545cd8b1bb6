/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Statistics, and the consistency check the tests run: with every cache,
 * depot and the tree held still, the free ranges must be ordered, disjoint,
 * not adjacent, whole granules inside the bounds and clear of reserved
 * regions, with correct subtree maxima and counters; the cached ranges must
 * be allocated (no free range, no reserved region, no other cached range
 * overlaps one).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "../common/error_internal.h"
#include "iova_internal.h"

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t mag_bytes(const struct viommu_iova_space *sp, int cls,
			  const struct uvi_iova_mag *m)
{
	return (uint64_t)m->n * (sp->granule << cls);
}

static void cache_stats(struct viommu_iova_space *sp, struct viommu_iova_stats *st)
{
	for (unsigned i = 0; i < UVI_IOVA_MAX_THREADS; i++) {
		struct uvi_iova_tcache *c = atomic_load_explicit(&sp->tcache[i],
								 memory_order_acquire);

		if (!c || !uvi_iova_tcache_lock(c))
			continue;
		st->threads++;
		st->cache_allocs += c->allocs;
		st->cache_frees += c->frees;
		for (int k = 0; k < UVI_IOVA_CLASSES; k++)
			st->cached_bytes += mag_bytes(sp, k, c->cls[k].loaded) +
					    mag_bytes(sp, k, c->cls[k].prev);
		uvi_iova_tcache_unlock(c);
	}
	for (int k = 0; k < UVI_IOVA_CLASSES; k++) {
		pthread_mutex_lock(&sp->depot[k].lock);
		for (unsigned j = 0; j < sp->depot[k].n_full; j++)
			st->cached_bytes += mag_bytes(sp, k, sp->depot[k].full[j]);
		pthread_mutex_unlock(&sp->depot[k].lock);
	}
}

int viommu_iova_get_stats(struct viommu_iova_space *sp, struct viommu_iova_stats *st)
{
	uint64_t largest;

	if (!sp || !st)
		return uvi_fail(-EINVAL, "iova_get_stats: NULL argument");
	*st = (struct viommu_iova_stats){ 0 };
	cache_stats(sp, st);
	pthread_mutex_lock(&sp->lock);
	st->first = sp->first;
	st->last = atomic_load_explicit(&sp->limit, memory_order_relaxed);
	st->granule = sp->granule;
	st->free_bytes = sat_mul(sp->tree.free_granules, sp->granule);
	largest = uvi_iova_tree_largest_span(&sp->tree);
	st->largest_free = !sp->tree.n_ranges ? 0 : largest == UINT64_MAX ? largest : largest + 1;
	st->free_ranges = sp->tree.n_ranges;
	st->reserved = sp->n_resv;
	st->tree_allocs = sp->tree_allocs;
	st->tree_frees = sp->tree_frees;
	st->failures = sp->failures;
	st->bad_frees = sp->bad_frees;
	st->reclaims = sp->reclaims;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

/* ---- the consistency check ---- */

struct cached {
	uint64_t first, last;
};

struct held {
	struct uvi_iova_tcache *caches[UVI_IOVA_MAX_THREADS];
	unsigned n_caches;
	struct cached *ranges;
	size_t n_ranges, cap_ranges;
	bool oom, busy;
};

static void hold_all(struct viommu_iova_space *sp, struct held *h)
{
	for (unsigned i = 0; i < UVI_IOVA_MAX_THREADS; i++) {
		struct uvi_iova_tcache *c = atomic_load_explicit(&sp->tcache[i],
								 memory_order_acquire);

		if (c && uvi_iova_tcache_lock(c))
			h->caches[h->n_caches++] = c;
		else if (c)
			h->busy = true;
	}
	for (int k = 0; k < UVI_IOVA_CLASSES; k++)
		pthread_mutex_lock(&sp->depot[k].lock);
	pthread_mutex_lock(&sp->lock);
}

static void release_all(struct viommu_iova_space *sp, struct held *h)
{
	pthread_mutex_unlock(&sp->lock);
	for (int k = UVI_IOVA_CLASSES; k-- > 0;)
		pthread_mutex_unlock(&sp->depot[k].lock);
	for (unsigned i = 0; i < h->n_caches; i++)
		uvi_iova_tcache_unlock(h->caches[i]);
	free(h->ranges);
}

static void collect(const struct viommu_iova_space *sp, struct held *h, int cls,
		    const struct uvi_iova_mag *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (h->n_ranges == h->cap_ranges) {
			size_t cap = h->cap_ranges ? 2 * h->cap_ranges : 256;
			struct cached *r = realloc(h->ranges, cap * sizeof(*r));

			if (!r) {
				h->oom = true;
				return;
			}
			h->ranges = r;
			h->cap_ranges = cap;
		}
		h->ranges[h->n_ranges++] = (struct cached){
			m->iova[i], m->iova[i] + (sp->granule << cls) - 1
		};
	}
}

static void collect_all(const struct viommu_iova_space *sp, struct held *h)
{
	for (unsigned i = 0; i < h->n_caches; i++)
		for (int k = 0; k < UVI_IOVA_CLASSES; k++) {
			collect(sp, h, k, h->caches[i]->cls[k].loaded);
			collect(sp, h, k, h->caches[i]->cls[k].prev);
		}
	for (int k = 0; k < UVI_IOVA_CLASSES; k++)
		for (unsigned j = 0; j < sp->depot[k].n_full; j++)
			collect(sp, h, k, sp->depot[k].full[j]);
}

static bool in_resv(const struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	for (unsigned i = 0; i < sp->n_resv; i++)
		if (sp->resv[i].first <= last && first <= sp->resv[i].last)
			return true;
	return false;
}

static bool whole_granules(const struct viommu_iova_space *sp, uint64_t first, uint64_t last)
{
	return !(first & sp->granule_mask) && (last & sp->granule_mask) == sp->granule_mask;
}

static int check_node(const struct viommu_iova_space *sp, const struct uvi_rb_node *n,
		      const struct uvi_rb_node *prev)
{
	const struct uvi_iova_range *r = UVI_IOVA_RANGE(n);
	uint64_t limit = atomic_load_explicit(&sp->limit, memory_order_relaxed);
	if (n->key > r->last || !whole_granules(sp, n->key, r->last) || n->key < sp->first ||
	    r->last > limit)
		return uvi_fail(-EUCLEAN, "free range 0x%" PRIx64 "-0x%" PRIx64 " is not whole "
				"granules inside the bounds", n->key, r->last);
	if (prev && UVI_IOVA_RANGE(prev)->last >= n->key - 1)
		return uvi_fail(-EUCLEAN, "free ranges at 0x%" PRIx64 " and 0x%" PRIx64 " overlap "
				"or touch", prev->key, n->key);
	if (in_resv(sp, n->key, r->last))
		return uvi_fail(-EUCLEAN, "free range 0x%" PRIx64 " overlaps a reserved region",
				n->key);
	if ((n->left && r->left_max != uvi_iova_submax(n->left)) ||
	    (n->right && r->right_max != uvi_iova_submax(n->right)))
		return uvi_fail(-EUCLEAN, "free range 0x%" PRIx64 ": a child's subtree maximum "
				"is out of date", n->key);
	return 0;
}

static int check_tree(const struct viommu_iova_space *sp)
{
	const struct uvi_rb_node *n, *prev = NULL;
	uint64_t granules = 0, count = 0;
	int rc;

	for (n = uvi_rb_first(&sp->tree.rb); n; prev = n, n = uvi_rb_next(n)) {
		rc = check_node(sp, n, prev);
		if (rc)
			return rc;
		granules += (UVI_IOVA_RANGE(n)->last - n->key) / sp->granule + 1;
		count++;
	}
	if (granules != sp->tree.free_granules || count != sp->tree.n_ranges)
		return uvi_fail(-EUCLEAN, "the tree counts %" PRIu64 " ranges of %" PRIu64
				" granules, it holds %" PRIu64 " of %" PRIu64, sp->tree.n_ranges,
				sp->tree.free_granules, count, granules);
	return 0;
}

static int by_first(const void *a, const void *b)
{
	const struct cached *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int check_cached(const struct viommu_iova_space *sp, struct held *h)
{
	uint64_t limit = atomic_load_explicit(&sp->limit, memory_order_relaxed);

	if (h->oom)
		return uvi_fail(-ENOMEM, "iova check: out of memory");
	if (h->busy)
		return uvi_fail(-EBUSY, "iova check: a thread kept its cache busy");
	if (h->n_ranges)
		qsort(h->ranges, h->n_ranges, sizeof(h->ranges[0]), by_first);
	for (size_t i = 0; i < h->n_ranges; i++) {
		const struct cached *c = &h->ranges[i];
		const struct uvi_rb_node *n = uvi_rb_last_le(&sp->tree.rb, c->last);

		if (c->first < sp->first || c->last > limit ||
		    !whole_granules(sp, c->first, c->last))
			return uvi_fail(-EUCLEAN, "cached range 0x%" PRIx64 " is out of bounds",
					c->first);
		if ((n && UVI_IOVA_RANGE(n)->last >= c->first) || in_resv(sp, c->first, c->last))
			return uvi_fail(-EUCLEAN, "cached range 0x%" PRIx64 " is free or reserved",
					c->first);
		if (i && h->ranges[i - 1].last >= c->first)
			return uvi_fail(-EUCLEAN, "cached ranges at 0x%" PRIx64 " and 0x%" PRIx64
					" overlap", h->ranges[i - 1].first, c->first);
	}
	return 0;
}

int uvi_iova_check(struct viommu_iova_space *sp)
{
	struct held h = { .n_caches = 0 };
	int rc;

	hold_all(sp, &h);
	collect_all(sp, &h);
	rc = check_tree(sp);
	if (!rc)
		rc = check_cached(sp, &h);
	release_all(sp, &h);
	return rc;
}
