/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control requests sent one at a time and waited for: ATTACH and DETACH
 * (5.13.6.3, 5.13.6.4), and the plumbing PROBE uses too. A request that a
 * device reset interrupted is sent once more after the recovery, which
 * brought the device back to the driver's bookkeeping (that this request
 * had not changed yet).
 */
#include <errno.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define TAIL_UNWRITTEN 0xff

/*
 * A free slot for a control request, and room in the ring for the longest
 * one (a PROBE: UVI_SYNC_DESC_MAX descriptors, where batch requests take
 * two): else whatever is in flight completes first.
 */
static int sync_slot(struct viommu_dev *dev, struct uvi_slot **out)
{
	bool room = dev->n_free && uvi_vq_num_free(dev->rq) >= UVI_SYNC_DESC_MAX;
	int rc = room ? 0 : uvi_drain(dev);

	if (rc)
		return rc;
	*out = uvi_slot_get(dev, UVI_SLOT_SYNC);
	return *out ? 0 : uvi_fail(-EBUSY, "no free request slot");
}

static int run_slot(struct viommu_dev *dev, struct uvi_slot *slot)
{
	int rc = uvi_req_queue(dev, slot);

	if (rc) {
		uvi_slot_put(dev, slot);
		return rc;
	}
	uvi_req_kick(dev);
	return uvi_wait_slot(dev, slot);
}

struct ids {
	uint32_t domain, endpoint;
};

static void fill_attach(struct uvi_slot *slot, const void *arg)
{
	const struct ids *ids = arg;
	struct virtio_iommu_req_attach *a = (struct virtio_iommu_req_attach *)slot->buf;

	*a = (struct virtio_iommu_req_attach){
		.head.type = VIRTIO_IOMMU_T_ATTACH,
		.domain = ids->domain,
		.endpoint = ids->endpoint,
		.tail.status = TAIL_UNWRITTEN,
	};
	slot->type = VIRTIO_IOMMU_T_ATTACH;
}

static void fill_detach(struct uvi_slot *slot, const void *arg)
{
	const struct ids *ids = arg;
	struct virtio_iommu_req_detach *d = (struct virtio_iommu_req_detach *)slot->buf;

	*d = (struct virtio_iommu_req_detach){
		.head.type = VIRTIO_IOMMU_T_DETACH,
		.domain = ids->domain,
		.endpoint = ids->endpoint,
		.tail.status = TAIL_UNWRITTEN,
	};
	slot->type = VIRTIO_IOMMU_T_DETACH;
}

static int send_once(struct viommu_dev *dev, uvi_fill_fn fill, const void *arg)
{
	struct uvi_slot *slot;
	int rc = sync_slot(dev, &slot);

	if (rc)
		return rc;
	fill(slot, arg);
	return run_slot(dev, slot);
}

int uvi_sync_request(struct viommu_dev *dev, uvi_fill_fn fill, const void *arg)
{
	int rc = send_once(dev, fill, arg);

	if (rc != -ECANCELED)
		return rc;
	rc = uvi_check_usable(dev);
	return rc ? rc : send_once(dev, fill, arg);
}

int uvi_send_attach(struct viommu_dev *dev, uint32_t domain, uint32_t endpoint)
{
	const struct ids ids = { domain, endpoint };
	int rc = uvi_sync_request(dev, fill_attach, &ids);

	return rc ? uvi_fail(rc, "ATTACH of endpoint %u to domain %u failed: %s", endpoint,
			     domain, strerror(-rc)) : 0;
}

int uvi_send_detach(struct viommu_dev *dev, uint32_t domain, uint32_t endpoint)
{
	const struct ids ids = { domain, endpoint };
	int rc = uvi_sync_request(dev, fill_detach, &ids);

	return rc ? uvi_fail(rc, "DETACH of endpoint %u from domain %u failed: %s", endpoint,
			     domain, strerror(-rc)) : 0;
}
