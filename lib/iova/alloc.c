/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_iova_alloc(), _alloc_at() and _free(): a power-of-two size up to
 * VIOMMU_IOVA_CACHED_GRANULES_MAX granules tries the calling thread's cache
 * first; everything else, and a cache that has nothing, goes to the range
 * tree under the space lock. When the tree has no room, everything cached
 * goes back to it and the allocation is tried once more.
 */
#include <errno.h>
#include <inttypes.h>

#include "../common/error_internal.h"
#include "iova_internal.h"

static uint64_t limit_of(const struct viommu_iova_space *sp)
{
	return atomic_load_explicit(&sp->limit, memory_order_relaxed);
}

/* size rounded up to the granule, or 0 if it is 0 or does not fit. */
static uint64_t round_size(const struct viommu_iova_space *sp, uint64_t size)
{
	if (!size || size > UINT64_MAX - sp->granule_mask)
		return 0;
	return (size + sp->granule_mask) & ~sp->granule_mask;
}

static void count(struct viommu_iova_space *sp, uint64_t *counter)
{
	pthread_mutex_lock(&sp->lock);
	(*counter)++;
	pthread_mutex_unlock(&sp->lock);
}

static int no_room(struct viommu_iova_space *sp, uint64_t size, uint64_t align, int rc)
{
	count(sp, &sp->failures);
	if (rc == -ENOMEM)
		return uvi_fail(rc, "IOVA space: out of memory for its range tree");
	return uvi_fail(-ENOSPC, "IOVA space 0x%" PRIx64 "-0x%" PRIx64 ": no free range of 0x%"
			PRIx64 " bytes aligned to 0x%" PRIx64 " (viommu_iova_get_stats() shows "
			"what is free)", sp->first, limit_of(sp), size, align);
}

static __attribute__((noinline)) int alloc_slow(struct viommu_iova_space *sp, uint64_t size,
						uint64_t align, uint64_t *iova)
{
	uint64_t rounded = round_size(sp, size);
	int rc;

	if (!rounded)
		return uvi_fail(-EINVAL, "iova_alloc: size 0x%" PRIx64 " is 0 or too large", size);
	if (align & (align - 1))
		return uvi_fail(-EINVAL, "iova_alloc: alignment 0x%" PRIx64 " is not a power of "
				"two", align);
	if (align < sp->granule)
		align = sp->granule;
	rc = uvi_iova_space_alloc(sp, rounded, align, iova);
	if (rc == -ENOSPC && sp->cached) {
		uvi_iova_reclaim(sp);
		rc = uvi_iova_space_alloc(sp, rounded, align, iova);
	}
	return rc ? no_room(sp, rounded, align, rc) : 0;
}

int viommu_iova_alloc(struct viommu_iova_space *sp, uint64_t size, uint64_t align,
		      uint64_t *iova)
{
	int cls;

	if (__builtin_expect(!sp || !iova, 0))
		return uvi_fail(-EINVAL, "iova_alloc: NULL argument");
	cls = uvi_iova_class(sp, size, align);
	if (cls >= 0 && uvi_iova_cache_get(sp, cls, iova))
		return 0;
	return alloc_slow(sp, size, align, iova);
}

/* [iova, iova + size - 1] with size rounded: in *last; -EINVAL if it is not a range of sp. */
static int check_range(const struct viommu_iova_space *sp, const char *op, uint64_t iova,
		       uint64_t size, uint64_t *last)
{
	uint64_t rounded = round_size(sp, size);

	if (!rounded || (iova & sp->granule_mask) || iova > UINT64_MAX - (rounded - 1))
		return uvi_fail(-EINVAL, "%s: 0x%" PRIx64 " +0x%" PRIx64 " is not a range of "
				"whole granules of 0x%" PRIx64, op, iova, size, sp->granule);
	*last = iova + (rounded - 1);
	if (iova < sp->first || *last > limit_of(sp))
		return uvi_fail(-EINVAL, "%s: 0x%" PRIx64 "-0x%" PRIx64 " is outside the space "
				"0x%" PRIx64 "-0x%" PRIx64, op, iova, *last, sp->first,
				limit_of(sp));
	return 0;
}

int viommu_iova_alloc_at(struct viommu_iova_space *sp, uint64_t iova, uint64_t size)
{
	uint64_t last = 0;
	int rc;

	if (!sp)
		return uvi_fail(-EINVAL, "iova_alloc_at: NULL space");
	rc = check_range(sp, "iova_alloc_at", iova, size, &last);
	if (rc)
		return rc;
	rc = uvi_iova_space_take(sp, iova, last);
	if (rc == -EBUSY && sp->cached) {
		uvi_iova_reclaim(sp);
		rc = uvi_iova_space_take(sp, iova, last);
	}
	if (rc == -EBUSY)
		return uvi_fail(rc, "iova_alloc_at: 0x%" PRIx64 "-0x%" PRIx64 " is not all free",
				iova, last);
	return rc ? no_room(sp, size, sp->granule, rc) : 0;
}

/* The cache's own check: whole granules inside the bounds. */
static bool cacheable(const struct viommu_iova_space *sp, uint64_t iova, uint64_t size)
{
	uint64_t limit = limit_of(sp);

	return !(iova & sp->granule_mask) && iova >= sp->first && limit >= size - 1 &&
	       iova <= limit - (size - 1);
}

static __attribute__((noinline)) int free_slow(struct viommu_iova_space *sp, uint64_t iova,
					      uint64_t size)
{
	uint64_t last = 0;
	int rc;

	rc = check_range(sp, "iova_free", iova, size, &last);
	if (rc) {
		count(sp, &sp->bad_frees);
		return rc;
	}
	rc = uvi_iova_space_give(sp, iova, last);
	if (rc == -EINVAL)
		return uvi_fail(rc, "iova_free: 0x%" PRIx64 "-0x%" PRIx64 " is not allocated "
				"(free already, or reserved)", iova, last);
	if (rc)
		return uvi_fail(rc, "iova_free: out of memory for the range tree");
	return 0;
}

int viommu_iova_free(struct viommu_iova_space *sp, uint64_t iova, uint64_t size)
{
	int cls;

	if (__builtin_expect(!sp, 0))
		return uvi_fail(-EINVAL, "iova_free: NULL space");
	cls = uvi_iova_class(sp, size, 0);
	if (cls >= 0 && cacheable(sp, iova, size) && uvi_iova_cache_put(sp, cls, iova))
		return 0;
	return free_slow(sp, iova, size);
}

int viommu_iova_flush_caches(struct viommu_iova_space *sp)
{
	if (!sp)
		return uvi_fail(-EINVAL, "iova_flush_caches: NULL space");
	if (sp->cached)
		uvi_iova_reclaim(sp);
	return 0;
}
