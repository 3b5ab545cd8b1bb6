/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request engine: a pre-allocated slot (DMA buffer with its bus
 * address) per in-flight request, requests written into slots and queued
 * as a readable descriptor followed by a device-writable tail in a
 * descriptor of its own, one publish (and a notify only if the ring asks
 * for it) for many requests, and completions reaped in whatever order the
 * device returns them (nothing in virtio 1.2, 5.13.6 orders requests).
 *
 * Nothing here allocates, makes a system call or reads pagemap.
 */
#include <errno.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/common/prefetch.h"
#include "dev.h"

#define TAIL_UNWRITTEN 0xff /* an unknown status: a tail the device did not write */

struct uvi_slot *uvi_slot_get(struct viommu_dev *dev, enum uvi_slot_kind kind)
{
	struct uvi_slot *slot;

	if (!dev->n_free)
		return NULL;
	slot = &dev->slots[dev->free_slots[--dev->n_free]];
	slot->kind = kind;
	slot->done = false;
	slot->status = 0;
	return slot;
}

void uvi_slot_put(struct viommu_dev *dev, struct uvi_slot *slot)
{
	slot->kind = UVI_SLOT_FREE;
	dev->free_slots[dev->n_free++] = (unsigned)(slot - dev->slots);
}

/* Status codes of 5.13.6 as errno values (the table in doc/driver.md). */
static int status_errno(uint8_t status)
{
	switch (status) {
	case VIRTIO_IOMMU_S_OK: return 0;
	case VIRTIO_IOMMU_S_IOERR: return -EIO;
	case VIRTIO_IOMMU_S_UNSUPP: return -EOPNOTSUPP;
	case VIRTIO_IOMMU_S_DEVERR: return -EREMOTEIO;
	case VIRTIO_IOMMU_S_INVAL: return -EINVAL;
	case VIRTIO_IOMMU_S_RANGE: return -ERANGE;
	case VIRTIO_IOMMU_S_NOENT: return -ENOENT;
	case VIRTIO_IOMMU_S_FAULT: return -EFAULT;
	case VIRTIO_IOMMU_S_NOMEM: return -ENOMEM;
	default: return -EPROTO;
	}
}

static struct virtio_iommu_req_tail *tail_of(struct uvi_slot *slot, uint32_t readable)
{
	return (struct virtio_iommu_req_tail *)(slot->buf + readable);
}

/* The readable part of a request in the slot: what precedes its tail. */
static uint32_t readable_len(uint8_t type)
{
	switch (type) {
	case VIRTIO_IOMMU_T_ATTACH:
		return offsetof(struct virtio_iommu_req_attach, tail);
	case VIRTIO_IOMMU_T_DETACH:
		return offsetof(struct virtio_iommu_req_detach, tail);
	case VIRTIO_IOMMU_T_MAP:
		return offsetof(struct virtio_iommu_req_map, tail);
	case VIRTIO_IOMMU_T_UNMAP:
		return offsetof(struct virtio_iommu_req_unmap, tail);
	default:
		return sizeof(struct virtio_iommu_req_probe);
	}
}

static uint32_t tail_off(uint8_t type)
{
	return type == VIRTIO_IOMMU_T_PROBE ? UVI_PROBE_TAIL_OFF : readable_len(type);
}

void uvi_req_fill_map(struct uvi_slot *slot, uint32_t domain, uint64_t start, uint64_t end,
		      uint64_t phys, uint32_t flags)
{
	struct virtio_iommu_req_map *m = (struct virtio_iommu_req_map *)slot->buf;

	*m = (struct virtio_iommu_req_map){
		.head.type = VIRTIO_IOMMU_T_MAP,
		.domain = domain,
		.virt_start = start,
		.virt_end = end,
		.phys_start = phys,
		.flags = flags, /* VIOMMU_MAP_* are the wire's VIRTIO_IOMMU_MAP_F_* */
		.tail.status = TAIL_UNWRITTEN,
	};
	slot->type = VIRTIO_IOMMU_T_MAP;
}

void uvi_req_fill_unmap(struct uvi_slot *slot, uint32_t domain, uint64_t start, uint64_t end)
{
	struct virtio_iommu_req_unmap *u = (struct virtio_iommu_req_unmap *)slot->buf;

	*u = (struct virtio_iommu_req_unmap){
		.head.type = VIRTIO_IOMMU_T_UNMAP,
		.domain = domain,
		.virt_start = start,
		.virt_end = end,
		.tail.status = TAIL_UNWRITTEN,
	};
	slot->type = VIRTIO_IOMMU_T_UNMAP;
}

/* PROBE: its head, the properties buffer, then its tail. */
static int add_probe(struct viommu_dev *dev, struct uvi_slot *slot)
{
	uint32_t tail = UVI_PROBE_TAIL_OFF;
	const struct uvi_vq_buf bufs[3] = {
		{ slot->bus, readable_len(VIRTIO_IOMMU_T_PROBE), false },
		{ dev->probe_bus, dev->cfg.probe_size, true },
		{ slot->bus + tail, sizeof(struct virtio_iommu_req_tail), true },
	};

	tail_of(slot, tail)->status = TAIL_UNWRITTEN;
	slot->writable = bufs[1].len + bufs[2].len;
	return uvi_vq_add(dev->rq, bufs, 3, slot);
}

/* Every other request: its readable part, then its tail right after it. */
static int add_request(struct viommu_dev *dev, struct uvi_slot *slot)
{
	uint32_t readable = readable_len(slot->type);
	const struct uvi_vq_buf req = { slot->bus, readable, false };
	const struct uvi_vq_buf tail = { slot->bus + readable,
					 sizeof(struct virtio_iommu_req_tail), true };

	slot->writable = tail.len;
	return uvi_vq_add_pair(dev->rq, &req, &tail, slot);
}

/*
 * Queue the request in slot (5.13.6: a device-readable part, then a
 * device-writable one; PROBE's writable part is the properties buffer
 * followed by the tail). Not visible to the device before uvi_req_kick().
 */
int uvi_req_queue(struct viommu_dev *dev, struct uvi_slot *slot)
{
	int rc = slot->type == VIRTIO_IOMMU_T_PROBE ? add_probe(dev, slot) :
						       add_request(dev, slot);

	if (rc)
		return rc;
	if (!dev->inflight) {
		dev->stall_start_ns = 0;
		dev->empty_polls = 0;
	}
	dev->inflight++;
	dev->unpublished++;
	return 0;
}

/* Publish what was queued with one release barrier; notify only if the ring asks. */
void uvi_req_kick(struct viommu_dev *dev)
{
	if (!dev->unpublished)
		return;
	dev->unpublished = 0;
	if (uvi_vq_publish(dev->rq)) {
		uvi_vpci_notify(&dev->rq_bell);
		dev->stats.notifies++;
	}
}

/*
 * The errno of a completed request. 5.13.6.1: a request returned without
 * its tail written (used length 0) failed; a used length other than the
 * writable bytes offered, or a status the spec does not define, is a
 * device that broke the protocol.
 */
static int completion_status(struct uvi_slot *slot, uint32_t used_len)
{
	if (used_len != slot->writable)
		return -EPROTO;
	return status_errno(tail_of(slot, tail_off(slot->type))->status);
}

static void count_status(struct viommu_dev *dev, int status)
{
	dev->stats.requests++;
	if (status)
		dev->stats.request_errors++;
	if (status != -EREMOTEIO) {
		dev->deverr_run = 0;
		return;
	}
	/* Internal device errors in a row: the device is sick, reset it. */
	if (++dev->deverr_run >= UVI_DEVERR_STORM && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_DEVERR;
}

static void complete(struct viommu_dev *dev, struct uvi_slot *slot, uint32_t used_len)
{
	int status = completion_status(slot, used_len);

	dev->inflight--;
	count_status(dev, status);
	switch (slot->kind) {
	case UVI_SLOT_BATCH:
		uvi_batch_complete_slot(dev, slot, status);
		uvi_slot_put(dev, slot);
		break;
	case UVI_SLOT_REPLAY:
		if (status && !dev->replay.err)
			dev->replay.err = uvi_fail(status, "replaying a mapping failed (status "
						   "errno %d)", status);
		dev->replay.inflight--;
		uvi_slot_put(dev, slot);
		break;
	default:
		slot->status = status;
		slot->done = true;
		break;
	}
}

/* Take every completion there is; a broken queue asks for a reset. */
int uvi_req_reap(struct viommu_dev *dev)
{
	uint32_t used_len;
	void *token;
	int n = 0, rc;

	while ((rc = uvi_vq_get_used(dev->rq, &token, &used_len)) == 1) {
		/* The device is done with the slot: its next request finds the line ours. */
		uvi_prefetch_for_write(((struct uvi_slot *)token)->buf);
		complete(dev, token, used_len);
		n++;
	}
	if (rc < 0 && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_PROTOCOL;
	return n;
}
