/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Submitting a batch: queue every request that may go, publish once.
 *
 *  - A fenced request waits while an earlier request of its batch that
 *    overlaps it is not complete (the spec orders nothing, 5.13.6).
 *  - A request on a domain with no endpoint attached never reaches the
 *    device: the device does not know the domain, so only the shadow
 *    changes, and the first attach replays it.
 *  - With VIOMMU_BATCH_COALESCE_UNMAP, consecutive UNMAPs of adjacent
 *    ranges of one domain go as one UNMAP request (5.13.6.6: one UNMAP
 *    may cover several whole mappings); its status goes to each of them.
 *  - When no request slot is free, completions are reaped to make room
 *    (back-pressure); what still does not fit waits for the next poll.
 */
#include <errno.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

/* An earlier request of r's batch that overlaps it is not complete. */
static bool blocked(const struct uvi_breq *r)
{
	struct uvi_overlap o;

	uvi_domain_pending_overlap(r->dom, r, NULL, &o);
	return o.earlier;
}

/* How many requests from index i on go as one UNMAP. */
static unsigned coalesce_count(const struct viommu_batch *b, unsigned i)
{
	const struct uvi_breq *r = &b->reqs[i];
	uint64_t end = r->end;
	unsigned n = 1;

	if (!(b->flags & VIOMMU_BATCH_COALESCE_UNMAP) || r->type != VIRTIO_IOMMU_T_UNMAP ||
	    r->fenced)
		return 1;
	for (unsigned j = i + 1; j < b->count && end != UINT64_MAX; j++, n++) {
		const struct uvi_breq *q = &b->reqs[j];

		if (q->type != VIRTIO_IOMMU_T_UNMAP || q->state != UVI_BREQ_ADDED || q->fenced ||
		    q->dom != r->dom || q->start != end + 1)
			break;
		end = q->end;
	}
	return n;
}

static void fill(struct uvi_slot *slot, const struct viommu_batch *b, unsigned i, unsigned n)
{
	const struct uvi_breq *r = &b->reqs[i];

	if (r->type == VIRTIO_IOMMU_T_MAP)
		uvi_req_fill_map(slot, r->dom->id, r->start, r->end, r->phys, r->flags);
	else
		uvi_req_fill_unmap(slot, r->dom->id, r->start, b->reqs[i + n - 1].end);
	slot->batch = (struct viommu_batch *)b;
	slot->first = i;
	slot->n = n;
}

/*
 * Queue request i (and the UNMAPs coalesced with it). Returns how many
 * requests it took care of, 0 if no slot is free, or a negative errno.
 */
static int queue_one(struct viommu_batch *b, unsigned i)
{
	struct uvi_breq *r = &b->reqs[i];
	struct viommu_dev *dev = b->dev;
	struct uvi_slot *slot;
	unsigned n;
	int rc;

	if (r->type == VIRTIO_IOMMU_T_UNMAP && !r->marked && !uvi_breq_mark(r)) {
		uvi_breq_finish(dev, r, 0); /* unmapping nothing: no request */
		return 1;
	}
	if (!r->dom->n_endpoints) {
		uvi_breq_finish(dev, r, 0); /* the device does not know the domain */
		return 1;
	}
	slot = uvi_slot_get(dev, UVI_SLOT_BATCH);
	if (!slot)
		return 0;
	n = coalesce_count(b, i);
	fill(slot, b, i, n);
	rc = uvi_req_queue(dev, slot);
	if (rc) {
		uvi_slot_put(dev, slot);
		return rc;
	}
	for (unsigned k = i; k < i + n; k++)
		b->reqs[k].state = UVI_BREQ_QUEUED;
	b->n_added -= n;
	return (int)n;
}

/* No slot: publish what is queued and reap; true if that made room. */
static bool make_room(struct viommu_dev *dev)
{
	uvi_req_kick(dev);
	uvi_poll(dev);
	return dev->n_free && !dev->failed;
}

static void advance_next(struct viommu_batch *b)
{
	while (b->next < b->count && b->reqs[b->next].state != UVI_BREQ_ADDED)
		b->next++;
}

/* Returns how many requests are still not queued. */
int uvi_batch_submit_locked(struct viommu_batch *b)
{
	struct viommu_dev *dev = b->dev;
	unsigned i = b->next;
	int n;

	while (i < b->count && !dev->failed) {
		struct uvi_breq *r = &b->reqs[i];

		if (r->state != UVI_BREQ_ADDED || (r->fenced && blocked(r))) {
			i++;
			continue;
		}
		n = queue_one(b, i);
		if (n < 0)
			break; /* the queue broke: the next poll resets the device */
		if (!n && !make_room(dev))
			break;
		i += (unsigned)n;
	}
	uvi_req_kick(dev);
	if (dev->failed)
		uvi_batch_fail_added(b, uvi_check_usable(dev));
	advance_next(b);
	return (int)b->n_added;
}

/* Nothing in flight and nothing could be queued: a bug, not a device; do not spin. */
static void fail_stuck(struct viommu_batch *b)
{
	uvi_batch_fail_added(b, uvi_fail(-EDEADLK, "batch: %u requests wait on each other with "
					 "nothing in flight", b->n_added));
}

/*
 * Before a step: when the batch still has requests to queue, wait for the
 * first completion (it may free a slot or unblock a fenced request); else
 * for the next UVI_REAP_CHUNK completions (uvi_await: or all in flight
 * when fewer remain). Reaping a chunk while the device serves the rest
 * overlaps the two, and each chunk is still one pass over the used ring.
 */
void uvi_batch_await(struct viommu_batch *b, bool lock_free)
{
	uvi_await(b->dev, b->n_added ? 1 : UVI_REAP_CHUNK, lock_free);
}

/* One round: reap, queue more. Returns completions reaped. */
int uvi_batch_step_locked(struct viommu_batch *b)
{
	struct viommu_dev *dev = b->dev;
	int n = uvi_poll(dev);

	if (b->n_added)
		uvi_batch_submit_locked(b);
	else
		uvi_req_kick(dev); /* all a submit would do: nothing is left to queue */
	if (b->n_incomplete && !dev->inflight && b->n_added == b->n_incomplete &&
	    !dev->need_recovery)
		fail_stuck(b);
	return n;
}

/* submit + poll to completion, with the lock held throughout (a batch of one). */
int uvi_batch_run_locked(struct viommu_batch *b)
{
	unsigned spins = 0;

	uvi_batch_submit_locked(b);
	while (b->n_incomplete) {
		uvi_batch_await(b, false);
		if (uvi_batch_step_locked(b))
			spins = 0;
		else if (b->n_incomplete)
			uvi_relax(&spins);
	}
	return uvi_batch_first_error(b);
}
