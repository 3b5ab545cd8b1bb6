/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_map() and viommu_unmap(): a batch of one, run synchronously on a
 * batch the device owns (no allocation per call), with the device lock
 * held from the add to the completion.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

static int run_one(struct viommu_domain *dom, uint8_t type, uint64_t iova, uint64_t phys,
		   uint64_t len, unsigned flags)
{
	const char *op = type == VIRTIO_IOMMU_T_MAP ? "MAP" : "UNMAP";
	struct viommu_dev *dev;
	struct viommu_batch *b;
	int rc;

	if (!dom)
		return uvi_fail(-EINVAL, "%s: NULL domain", op);
	dev = dom->dev;
	b = dev->sync_batch;
	pthread_mutex_lock(&dev->lock);
	rc = uvi_batch_add_locked(b, type, dom, iova, phys, len, flags);
	if (rc >= 0) {
		rc = uvi_batch_run_locked(b);
		if (rc)
			uvi_fail(rc, "%s [0x%" PRIx64 ", +0x%" PRIx64 ") of domain %u failed: %s",
				 op, iova, len, dom->id, strerror(-rc));
	}
	b->count = b->next = 0;
	uvi_publish(dev, false);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int viommu_map(struct viommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t len,
	       unsigned flags)
{
	return run_one(dom, VIRTIO_IOMMU_T_MAP, iova, phys, len, flags);
}

int viommu_unmap(struct viommu_domain *dom, uint64_t iova, uint64_t len)
{
	return run_one(dom, VIRTIO_IOMMU_T_UNMAP, iova, 0, len, 0);
}
