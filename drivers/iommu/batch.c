/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The batch API: a fixed array of requests allocated at create time (no
 * allocation per request), each with its status. Every call takes the
 * device lock; viommu_batch_run() releases it between polls so that other
 * threads (the event thread, other batches) get their turn.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define CAPACITY_MAX (1u << 24)
#define KNOWN_FLAGS VIOMMU_BATCH_COALESCE_UNMAP
#define BURST_LOCK_SPAN 256 /* requests of a burst added per hold of the device lock */

int uvi_batch_alloc(struct viommu_dev *dev, unsigned capacity, unsigned flags,
		    struct viommu_batch **out)
{
	struct viommu_batch *b;

	if (!capacity || capacity > CAPACITY_MAX)
		return uvi_fail(-EINVAL, "batch capacity %u is not within 1-%u", capacity,
				CAPACITY_MAX);
	if (flags & ~KNOWN_FLAGS)
		return uvi_fail(-EINVAL, "unknown batch flags 0x%x", flags & ~KNOWN_FLAGS);
	b = calloc(1, sizeof(*b) + (size_t)capacity * sizeof(b->reqs[0]));
	if (!b)
		return uvi_fail(-ENOMEM, "out of memory for a batch of %u requests", capacity);
	b->dev = dev;
	b->capacity = capacity;
	b->flags = flags;
	*out = b;
	return 0;
}

int viommu_batch_create(struct viommu_dev *dev, unsigned capacity, unsigned flags,
			struct viommu_batch **out)
{
	if (!dev || !out)
		return uvi_fail(-EINVAL, "batch_create: NULL argument");
	return uvi_batch_alloc(dev, capacity, flags, out);
}

/* Wait for what is in flight, give up what is not: the shadow gets its marks back. */
static void forget(struct viommu_batch *b)
{
	if (b->n_incomplete > b->n_added)
		uvi_drain(b->dev);
	uvi_batch_fail_added(b, -ECANCELED);
	b->count = b->next = 0;
}

void viommu_batch_destroy(struct viommu_batch *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->dev->lock);
	forget(b);
	pthread_mutex_unlock(&b->dev->lock);
	free(b);
}

int viommu_batch_map(struct viommu_batch *b, struct viommu_domain *dom, uint64_t iova,
		     uint64_t phys, uint64_t len, unsigned flags)
{
	int rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_map: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	rc = uvi_batch_add_locked(b, VIRTIO_IOMMU_T_MAP, dom, iova, phys, len, flags);
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

int viommu_batch_unmap(struct viommu_batch *b, struct viommu_domain *dom, uint64_t iova,
		       uint64_t len)
{
	int rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_unmap: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	rc = uvi_batch_add_locked(b, VIRTIO_IOMMU_T_UNMAP, dom, iova, 0, len, 0);
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

/*
 * The lock is let go every BURST_LOCK_SPAN requests, so that a long burst
 * does not keep the event thread or other batches waiting (the device and
 * the domain are checked again each time it is taken).
 */
static int add_burst(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
		     const struct viommu_range *ranges, unsigned n, unsigned flags)
{
	const char *op = type == VIRTIO_IOMMU_T_MAP ? "map" : "unmap";
	unsigned done = 0, span;
	int rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_%s_burst: NULL batch", op);
	if (n && !ranges)
		return uvi_fail(-EINVAL, "batch_%s_burst: NULL ranges", op);
	while (done < n) {
		span = n - done < BURST_LOCK_SPAN ? n - done : BURST_LOCK_SPAN;
		pthread_mutex_lock(&b->dev->lock);
		rc = uvi_batch_add_burst_locked(b, type, dom, ranges + done, span, flags);
		pthread_mutex_unlock(&b->dev->lock);
		if (rc < 0)
			return done ? (int)done : rc;
		done += (unsigned)rc; /* at most the batch's capacity: an int */
		if ((unsigned)rc < span)
			break;
	}
	return (int)done;
}

int viommu_batch_map_burst(struct viommu_batch *b, struct viommu_domain *dom,
			   const struct viommu_range *ranges, unsigned n, unsigned flags)
{
	return add_burst(b, VIRTIO_IOMMU_T_MAP, dom, ranges, n, flags);
}

int viommu_batch_unmap_burst(struct viommu_batch *b, struct viommu_domain *dom,
			     const struct viommu_range *ranges, unsigned n)
{
	return add_burst(b, VIRTIO_IOMMU_T_UNMAP, dom, ranges, n, 0);
}

int viommu_batch_submit(struct viommu_batch *b)
{
	int rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_submit: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	rc = uvi_batch_submit_locked(b);
	uvi_publish(b->dev, false);
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

int viommu_batch_poll(struct viommu_batch *b)
{
	int rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_poll: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	uvi_batch_step_locked(b);
	rc = (int)b->n_incomplete;
	uvi_publish(b->dev, false);
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

int viommu_batch_run(struct viommu_batch *b)
{
	unsigned spins = 0, left;
	int n, rc;

	if (!b)
		return uvi_fail(-EINVAL, "batch_run: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	uvi_batch_submit_locked(b);
	left = b->n_incomplete;
	pthread_mutex_unlock(&b->dev->lock);
	while (left) {
		pthread_mutex_lock(&b->dev->lock);
		uvi_batch_await(b, true); /* the lock goes while it idles */
		n = uvi_batch_step_locked(b);
		left = b->n_incomplete;
		pthread_mutex_unlock(&b->dev->lock);
		if (n)
			spins = 0;
		else if (left)
			uvi_relax(&spins);
	}
	pthread_mutex_lock(&b->dev->lock);
	rc = uvi_batch_first_error(b);
	uvi_publish(b->dev, false);
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

int uvi_batch_first_error(const struct viommu_batch *b)
{
	for (unsigned i = 0; i < b->count; i++)
		if (b->reqs[i].state == UVI_BREQ_DONE && b->reqs[i].status)
			return b->reqs[i].status;
	return 0;
}

unsigned viommu_batch_count(const struct viommu_batch *b)
{
	return b ? b->count : 0;
}

int viommu_batch_status(const struct viommu_batch *b, unsigned index)
{
	int rc;

	if (!b || index >= b->count)
		return uvi_fail(-EINVAL, "batch_status: no request %u (the batch holds %u)", index,
				b ? b->count : 0);
	pthread_mutex_lock(&b->dev->lock);
	rc = b->reqs[index].state == UVI_BREQ_DONE ? b->reqs[index].status : -EINPROGRESS;
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}

int viommu_batch_reset(struct viommu_batch *b)
{
	int rc = 0;

	if (!b)
		return uvi_fail(-EINVAL, "batch_reset: NULL batch");
	pthread_mutex_lock(&b->dev->lock);
	if (b->n_incomplete)
		rc = uvi_fail(-EBUSY, "batch_reset: %u requests are not complete", b->n_incomplete);
	else
		b->count = b->next = 0;
	pthread_mutex_unlock(&b->dev->lock);
	return rc;
}
