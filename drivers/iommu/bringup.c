/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bringing the device up: the initialization sequence of virtio 1.2,
 * 3.1.1, at open and again after every reset. At open it also reads the
 * configuration (5.13.4), checks it (the device is not trusted) and
 * chooses the queue sizes; after a reset it insists on the same features
 * and sizes, so that nothing the driver built on them changes.
 */
#include <errno.h>
#include <stddef.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/virtio/virtio_pci_regs.h"
#include "dev.h"

#define BYPASS_OFF offsetof(struct virtio_iommu_config, bypass)

static uint64_t wanted_features(unsigned flags)
{
	uint64_t w = UVI_F(VIRTIO_F_VERSION_1) | UVI_F(VIRTIO_IOMMU_F_MAP_UNMAP) |
		     UVI_F(VIRTIO_IOMMU_F_INPUT_RANGE) | UVI_F(VIRTIO_IOMMU_F_DOMAIN_RANGE) |
		     UVI_F(VIRTIO_IOMMU_F_PROBE) | UVI_F(VIRTIO_IOMMU_F_MMIO) |
		     UVI_F(VIRTIO_IOMMU_F_BYPASS_CONFIG) | UVI_F(VIRTIO_F_ACCESS_PLATFORM);

	/* Never the legacy VIRTIO_IOMMU_F_BYPASS: it would let unattached endpoints through. */
	if (!(flags & VIOMMU_OPEN_NO_EVENT_IDX))
		w |= UVI_F(VIRTIO_F_EVENT_IDX);
	if (!(flags & VIOMMU_OPEN_SPLIT_RING))
		w |= UVI_F(VIRTIO_F_RING_PACKED);
	return w;
}

/* 5.13.5: drivers verify that the device offers MAP_UNMAP and fail gracefully. */
static int check_offer(struct viommu_dev *dev)
{
	dev->offered = uvi_vpci_get_device_features(&dev->vpci);
	if (!(dev->offered & UVI_F(VIRTIO_IOMMU_F_MAP_UNMAP)))
		return uvi_fail(-ENOTSUP, "the device does not offer VIRTIO_IOMMU_F_MAP_UNMAP "
				"(features 0x%llx): no other mode of operation exists",
				(unsigned long long)dev->offered);
	dev->wanted = wanted_features(dev->open_flags);
	return 0;
}

static int negotiate(struct viommu_dev *dev, bool first)
{
	uint64_t negotiated;
	int rc = uvi_vpci_negotiate(&dev->vpci, dev->wanted, &negotiated);

	if (rc)
		return rc;
	if (first) {
		dev->negotiated = negotiated;
		return 0;
	}
	if (negotiated != dev->negotiated)
		return uvi_fail(-EPROTO, "after a reset the device negotiated features 0x%llx "
				"instead of 0x%llx", (unsigned long long)negotiated,
				(unsigned long long)dev->negotiated);
	return 0;
}

/* Ranges of absent features take their spec defaults (5.13.6). */
static int check_config(struct viommu_dev *dev, struct virtio_iommu_config *c)
{
	if (!c->page_size_mask)
		return uvi_fail(-EPROTO, "the device reports page_size_mask 0 (5.13.4.2: it MUST "
				"set at least one bit)");
	if (!uvi_has(dev, VIRTIO_IOMMU_F_INPUT_RANGE)) {
		c->input_range_start = 0;
		c->input_range_end = UINT64_MAX;
	}
	if (!uvi_has(dev, VIRTIO_IOMMU_F_DOMAIN_RANGE)) {
		c->domain_range_start = 0;
		c->domain_range_end = UINT32_MAX;
	}
	if (!uvi_has(dev, VIRTIO_IOMMU_F_PROBE))
		c->probe_size = 0;
	if (c->input_range_start > c->input_range_end ||
	    c->domain_range_start > c->domain_range_end)
		return uvi_fail(-EPROTO, "the device reports an empty input or domain range");
	if (c->probe_size > UVI_PROBE_SIZE_MAX)
		return uvi_fail(-EPROTO, "the device reports probe_size %u, above the %u bytes "
				"this driver accepts", c->probe_size, UVI_PROBE_SIZE_MAX);
	return 0;
}

/* 4.1.3.1: the 32/64-bit fields together, the byte-wide bypass on its own. */
static int read_config(struct viommu_dev *dev)
{
	struct virtio_iommu_config c = { 0 };
	int rc = uvi_vpci_config_read(&dev->vpci, 0, &c, BYPASS_OFF);

	if (!rc)
		rc = check_config(dev, &c);
	if (rc)
		return rc;
	dev->cfg = c;
	dev->granule = c.page_size_mask & -c.page_size_mask;
	return 0;
}

static uint16_t round_down_pow2(uint16_t x)
{
	while (x & (x - 1))
		x &= (uint16_t)(x - 1);
	return x;
}

static int queue_size(struct viommu_dev *dev, uint16_t index, uint16_t want, uint16_t *out)
{
	uint16_t max, size;
	int rc = uvi_vpci_queue_max_size(&dev->vpci, index, &max);

	if (rc)
		return rc;
	if (want > max)
		return uvi_fail(-EINVAL, "queue %u: %u entries asked for, the device allows at "
				"most %u", index, want, max);
	size = want ? want : max;
	/* 2.7: split rings have a power-of-two size; 2.8: packed ones any size. */
	*out = uvi_has(dev, VIRTIO_F_RING_PACKED) ? size : round_down_pow2(size);
	return 0;
}

/*
 * A request is a readable and a writable descriptor, a PROBE three (its
 * properties buffer between them, 5.13.6.8): a request queue that cannot
 * hold one is refused here rather than failing every attach later.
 */
static int check_request_queue(struct viommu_dev *dev, uint16_t rq_want)
{
	unsigned need = uvi_has(dev, VIRTIO_IOMMU_F_PROBE) ? UVI_SYNC_DESC_MAX : 2;

	if (dev->rq_size >= need)
		return 0;
	if (rq_want)
		return uvi_fail(-EINVAL, "a request queue of %u entries is too small: requests "
				"take up to %u descriptors", dev->rq_size, need);
	return uvi_fail(-EPROTO, "the device's request queue holds at most %u entries, and "
			"requests take up to %u descriptors", dev->rq_size, need);
}

static int choose_queue_sizes(struct viommu_dev *dev, uint16_t rq_want)
{
	int rc = queue_size(dev, VIRTIO_IOMMU_QUEUE_REQUEST, rq_want, &dev->rq_size);

	if (!rc)
		rc = check_request_queue(dev, rq_want);
	if (!rc)
		rc = queue_size(dev, VIRTIO_IOMMU_QUEUE_EVENT, 0, &dev->eq_size);
	if (!rc && dev->eq_size > UVI_EVENT_QUEUE_MAX)
		dev->eq_size = UVI_EVENT_QUEUE_MAX;
	return rc;
}

/* After a reset: the queues must still take the sizes chosen at open. */
static int check_queue_sizes(struct viommu_dev *dev)
{
	uint16_t rq, eq;
	int rc = queue_size(dev, VIRTIO_IOMMU_QUEUE_REQUEST, dev->rq_size, &rq);

	if (!rc)
		rc = queue_size(dev, VIRTIO_IOMMU_QUEUE_EVENT, dev->eq_size, &eq);
	if (rc)
		return rc;
	uvi_vq_reset(dev->rq);
	uvi_vq_reset(dev->eq);
	return 0;
}

static void note_isolation(struct viommu_dev *dev, bool written)
{
	if (!uvi_has(dev, VIRTIO_IOMMU_F_BYPASS_CONFIG)) {
		dev->unattached_blocked = true;
		dev->isolation = "blocked: the device has no BYPASS_CONFIG and the legacy BYPASS "
				 "feature was not accepted, so unattached endpoints are not in "
				 "bypass mode (virtio 1.2, 5.13.6)";
	} else if (written) {
		dev->unattached_blocked = true;
		dev->isolation = "blocked: bypass = 0 written and read back (BYPASS_CONFIG)";
	} else if (dev->bypass) {
		dev->unattached_blocked = false;
		dev->isolation = "NOT blocked: bypass = 1 kept (VIOMMU_OPEN_KEEP_BYPASS): "
				 "unattached endpoints access memory untranslated";
	} else {
		dev->unattached_blocked = true;
		dev->isolation = "blocked: bypass was 0 already (kept, VIOMMU_OPEN_KEEP_BYPASS)";
	}
}

static int read_bypass(struct viommu_dev *dev)
{
	uint8_t b;
	int rc = uvi_vpci_config_read(&dev->vpci, BYPASS_OFF, &b, 1);

	if (!rc)
		dev->bypass = b & 1; /* 5.13.4.1: ignore bits 1-7 */
	return rc;
}

/*
 * Block unattached endpoints (5.13.4.1: the driver may write bypass once
 * BYPASS_CONFIG is negotiated), before any queue exists. The value is
 * read back: a device that keeps 1 would leave every unattached endpoint
 * with access to all memory.
 */
static int apply_bypass(struct viommu_dev *dev)
{
	const uint8_t zero = 0;
	bool write = uvi_has(dev, VIRTIO_IOMMU_F_BYPASS_CONFIG) &&
		     !(dev->open_flags & VIOMMU_OPEN_KEEP_BYPASS);
	int rc = 0;

	dev->bypass = 0;
	if (write)
		rc = uvi_vpci_config_write(&dev->vpci, BYPASS_OFF, &zero, 1);
	if (!rc && uvi_has(dev, VIRTIO_IOMMU_F_BYPASS_CONFIG))
		rc = read_bypass(dev);
	if (rc)
		return rc;
	if (write && dev->bypass)
		return uvi_fail(-EIO, "the device kept bypass = 1 after the driver wrote 0: "
				"unattached endpoints would not be isolated");
	note_isolation(dev, write);
	return 0;
}

static int setup_queues(struct viommu_dev *dev, bool first)
{
	int rc;

	if (!first)
		return check_queue_sizes(dev);
	rc = read_config(dev);
	if (!rc)
		rc = choose_queue_sizes(dev, dev->rq_size);
	return rc ? rc : uvi_queues_alloc(dev);
}

static int start(struct viommu_dev *dev)
{
	uint8_t status;
	int rc = uvi_queues_program(dev);

	if (rc)
		return rc;
	uvi_vpci_add_status(&dev->vpci, UVI_VSTATUS_DRIVER_OK);
	status = uvi_vpci_get_status(&dev->vpci);
	if (!(status & UVI_VSTATUS_DRIVER_OK) || status & UVI_VSTATUS_NEEDS_RESET)
		return uvi_fail(-EIO, "the device did not start: status 0x%02x after DRIVER_OK",
				status);
	return uvi_events_post_all(dev);
}

/*
 * At open (first) dev->rq_size holds the size asked for (0: the maximum);
 * the chosen sizes replace it.
 */
int uvi_bringup(struct viommu_dev *dev, bool first)
{
	int rc = uvi_vpci_reset(&dev->vpci);

	if (rc)
		return rc;
	uvi_vpci_add_status(&dev->vpci, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	rc = first ? check_offer(dev) : 0;
	if (!rc)
		rc = negotiate(dev, first);
	if (!rc)
		rc = apply_bypass(dev);
	if (!rc)
		rc = setup_queues(dev, first);
	if (!rc)
		rc = start(dev);
	dev->inflight = 0;
	dev->unpublished = 0;
	dev->stall_start_ns = 0;
	dev->empty_polls = 0;
	if (rc) /* 3.1.1 step 8: give up on the device for now */
		uvi_vpci_add_status(&dev->vpci, UVI_VSTATUS_FAILED);
	return rc;
}
