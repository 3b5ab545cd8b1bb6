/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a batch request does to the shadow when it completes (or is given
 * up on): a MAP's MAP_PENDING entry becomes LIVE on success and goes away
 * on failure; an UNMAP's UNMAP_PENDING entries go away on success and are
 * LIVE again on failure. The shadow is the driver's truth; these are the
 * only places where a request's outcome reaches it.
 */
#include "dev.h"

/*
 * UNMAP: mark the LIVE entries of its range UNMAP_PENDING; returns how
 * many. It also notes whether they cover the whole range with no gap and
 * nothing else in it (r->gapless): then every address of the range is in
 * an entry that names r, and the domain finds r through the shadow
 * instead of its tree of pending UNMAPs (domain.c).
 */
unsigned uvi_breq_mark(struct uvi_breq *r)
{
	return uvi_breq_mark_from(r, uvi_shadow_first_overlap(r->dom->shadow, r->start, r->end));
}

/* uvi_breq_mark when the entry overlapping r's range with the lowest start is known. */
unsigned uvi_breq_mark_from(struct uvi_breq *r, struct uvi_shadow_entry *first)
{
	struct uvi_shadow *s = r->dom->shadow;
	struct uvi_shadow_entry *e = first;
	uint64_t next = r->start; /* the lowest address not yet known to be covered */
	bool gapless = true, done = false;
	unsigned n = 0;

	r->entry = NULL;
	for (; e && e->start <= r->end; e = uvi_shadow_next_upto(s, e, r->end)) {
		if (e->state != UVI_SHADOW_LIVE || e->start != next || done) {
			gapless = false;
			if (e->state != UVI_SHADOW_LIVE)
				continue;
		}
		e->state = UVI_SHADOW_UNMAP_PENDING;
		e->req = r;
		if (!n++)
			r->entry = e;
		done = e->end >= r->end; /* also where e->end + 1 would wrap */
		next = e->end + 1;
	}
	r->gapless = gapless && done;
	r->marked = true;
	return n;
}

/*
 * The entries a request keeps (r->entry) stay in the shadow until it
 * finishes: only finishing a request removes entries, and each removes
 * its own (a MAP its MAP_PENDING entry, an UNMAP the UNMAP_PENDING ones
 * it marked, which no other request marks or maps over while it is
 * pending). Destroying a domain finishes its requests first.
 */
static void finish_map(struct uvi_breq *r, int status)
{
	struct uvi_shadow_entry *e = r->entry;

	r->entry = NULL;
	e->req = NULL;
	if (status)
		uvi_dom_remove(r->dom, e);
	else
		e->state = UVI_SHADOW_LIVE;
}

static void finish_unmap(struct uvi_breq *r, int status)
{
	struct uvi_shadow *s = r->dom->shadow;
	struct uvi_shadow_entry *e = r->entry, *next;

	for (; e && e->start <= r->end; e = next) {
		next = uvi_shadow_next_upto(s, e, r->end);
		if (e->state != UVI_SHADOW_UNMAP_PENDING)
			continue;
		if (status) {
			e->state = UVI_SHADOW_LIVE;
			e->req = NULL;
		} else {
			uvi_dom_remove(r->dom, e);
		}
	}
}

/* The request is complete with status: shadow, domain list, batch counters. */
void uvi_breq_finish(struct viommu_dev *dev, struct uvi_breq *r, int status)
{
	struct viommu_batch *b = r->batch;

	if (r->dom->shadow) {
		if (r->type == VIRTIO_IOMMU_T_MAP)
			finish_map(r, status);
		else if (r->marked)
			finish_unmap(r, status);
	}
	uvi_domain_pending_del(r->dom, r);
	if (r->state == UVI_BREQ_ADDED)
		b->n_added--;
	b->n_incomplete--;
	r->state = UVI_BREQ_DONE;
	r->status = status;
	uvi_mark_dirty(dev);
}

/* A device completion: one request, or a group of coalesced UNMAPs sharing a status. */
void uvi_batch_complete_slot(struct viommu_dev *dev, struct uvi_slot *slot, int status)
{
	for (uint32_t i = 0; i < slot->n; i++)
		uvi_breq_finish(dev, &slot->batch->reqs[slot->first + i], status);
}

/* Requests not yet queued fail with err (the device is gone, the batch is destroyed). */
void uvi_batch_fail_added(struct viommu_batch *b, int err)
{
	for (unsigned i = b->next; i < b->count; i++)
		if (b->reqs[i].state == UVI_BREQ_ADDED)
			uvi_breq_finish(b->dev, &b->reqs[i], err);
}
