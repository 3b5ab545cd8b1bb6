/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Adding a request to a batch: validated at once against the shadow,
 * in-flight entries included, and reflected in it at once so that later
 * adds see it (a MAP inserts a MAP_PENDING entry, an UNMAP marks the
 * mappings it covers UNMAP_PENDING).
 *
 * Dependencies. Nothing orders requests on the device (virtio 1.2,
 * 5.13.6), so a request whose range overlaps that of an earlier request
 * of the same batch that is not complete must not reach the device before
 * it: it is marked `fenced` and held back at submit until that one
 * completes (batch_submit.c). An UNMAP range may have gaps, so a MAP that
 * overlaps no mapping can still overlap a pending UNMAP: the domain keeps
 * its pending UNMAPs in an interval tree to catch this in O(log n). A request that
 * overlaps an incomplete request of another batch is refused with -EBUSY:
 * two batches never race on one range.
 */
#include <errno.h>
#include <inttypes.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"
#include "shadow.h"

/*
 * How many requests ahead a burst starts loading the shadow's leaf: far
 * enough for a cache miss (hundreds of cycles) to finish while the
 * requests in between are added (~40 ns each).
 */
#define SHADOW_PREFETCH_AHEAD 4

/*
 * Fence r behind overlapping requests of its batch; refuse it if another
 * batch's overlap. exact: the shadow entry that is r's range, if any.
 */
static int classify(struct viommu_domain *dom, struct uvi_breq *r,
		    const struct uvi_shadow_entry *exact)
{
	struct uvi_overlap o;

	if (!uvi_domain_may_overlap(dom, r))
		return 0;
	uvi_domain_pending_overlap(dom, r, exact, &o);
	if (o.other_batch)
		return uvi_fail(-EBUSY, "[0x%" PRIx64 ", 0x%" PRIx64 "] of domain %u "
				"overlaps a request of another batch that is not "
				"complete yet", r->start, r->end, dom->id);
	r->fenced = o.earlier; /* r is not pending yet: every request of its batch is earlier */
	return 0;
}

/* What every request of one call needs: a usable device and a live domain of it. */
static int check_call(struct viommu_batch *b, struct viommu_domain *dom)
{
	int rc = uvi_check_usable(b->dev);

	return rc ? rc : uvi_domain_check(b->dev, dom);
}

/* *exact: for an UNMAP, the shadow entry that is its range, if any (uvi_validate_unmap). */
static int validate(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
		    uint64_t iova, uint64_t phys, uint64_t len, unsigned flags,
		    struct uvi_shadow_entry **exact)
{
	*exact = NULL; /* for a MAP, and a full batch */
	if (b->count == b->capacity)
		return uvi_fail(-ENOSPC, "the batch is full (%u requests): run it and reset it",
				b->capacity);
	if (type == VIRTIO_IOMMU_T_MAP)
		return uvi_validate_map(dom, iova, phys, len, flags);
	return uvi_validate_unmap(dom, iova, len, exact);
}

/*
 * Field by field rather than a whole-struct assignment, which would first
 * zero the links too: the pending-list and tree links, max_end and entry
 * are set before anything reads them (uvi_domain_pending_add, the shadow
 * insert of a MAP, uvi_breq_mark of an UNMAP; finishing reads an UNMAP's
 * entry only once it is marked).
 */
static void init_request(struct uvi_breq *r, struct viommu_batch *b, uint8_t type,
			 struct viommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t len,
			 unsigned flags)
{
	r->batch = b;
	r->dom = dom;
	r->start = iova;
	r->end = iova + (len - 1);
	r->phys = phys;
	r->flags = flags;
	r->index = b->count;
	r->type = type;
	r->fenced = r->marked = r->gapless = r->in_tree = false;
	r->state = UVI_BREQ_ADDED;
	r->status = 0;
}

static int reflect_in_shadow(struct uvi_breq *r, struct uvi_shadow_entry *exact)
{
	struct uvi_shadow_entry e = {
		.start = r->start, .end = r->end, .phys = r->phys, .flags = r->flags,
		.state = UVI_SHADOW_MAP_PENDING, .req = r,
	};

	if (r->type == VIRTIO_IOMMU_T_MAP)
		return uvi_dom_insert(r->dom, &e, &r->entry);
	/* A fenced UNMAP marks at submit, once what it depends on is complete. */
	if (!r->fenced && !(exact ? uvi_breq_mark_from(r, exact) : uvi_breq_mark(r)))
		r->state = UVI_BREQ_DONE; /* 5.13.6.6: unmapping nothing succeeds; no request */
	return 0;
}

/* Add one request of a call that passed check_call(). */
static int add_checked(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
		       uint64_t iova, uint64_t phys, uint64_t len, unsigned flags)
{
	struct uvi_breq *r = &b->reqs[b->count];
	struct uvi_shadow_entry *exact;
	int rc = validate(b, type, dom, iova, phys, len, flags, &exact);

	if (rc)
		return rc;
	init_request(r, b, type, dom, iova, phys, len, flags);
	rc = classify(dom, r, exact);
	if (!rc)
		rc = reflect_in_shadow(r, exact);
	if (rc)
		return rc;
	b->count++;
	if (r->state == UVI_BREQ_DONE)
		return (int)r->index;
	uvi_domain_pending_add(dom, r);
	b->n_added++;
	b->n_incomplete++;
	return (int)r->index;
}

int uvi_batch_add_locked(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
			 uint64_t iova, uint64_t phys, uint64_t len, unsigned flags)
{
	int rc = check_call(b, dom);

	return rc ? rc : add_checked(b, type, dom, iova, phys, len, flags);
}

/*
 * Add ranges[0 .. n - 1] in order (phys is ignored for UNMAP), the device
 * and the domain checked once. Stops at the first request refused: returns
 * how many were added, or that request's errno when it was the first.
 */
int uvi_batch_add_burst_locked(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
			       const struct viommu_range *ranges, unsigned n, unsigned flags)
{
	int rc = check_call(b, dom);

	if (rc)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		const struct viommu_range *x = &ranges[i];

		if (i + SHADOW_PREFETCH_AHEAD < n)
			uvi_shadow_prefetch(dom->shadow, ranges[i + SHADOW_PREFETCH_AHEAD].iova);
		rc = add_checked(b, type, dom, x->iova, type == VIRTIO_IOMMU_T_MAP ? x->phys : 0,
				 x->len, flags);
		if (rc < 0)
			return i ? (int)i : rc;
	}
	return (int)n;
}
