/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every check of a MAP or UNMAP before anything is queued, each failure
 * with its own errno (the table in doc/driver.md). The device is never
 * relied on for these: QEMU does not check MAP alignment (5.13.6.5.2 is a
 * SHOULD) and removes the mappings an UNMAP covers before failing one
 * that would split a mapping (5.13.6.6.2).
 */
#include <errno.h>
#include <inttypes.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define KNOWN_MAP_FLAGS (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE | VIOMMU_MAP_MMIO)

static int check_range(const struct viommu_dev *dev, const char *op, uint64_t iova,
		       uint64_t len)
{
	uint64_t g = dev->granule; /* a power of two: its lowest set bit (bringup.c) */

	if (!len)
		return uvi_fail(-EINVAL, "%s at 0x%" PRIx64 ": length 0", op, iova);
	if (iova + (len - 1) < iova)
		return uvi_fail(-EINVAL, "%s at 0x%" PRIx64 " of 0x%" PRIx64 " bytes wraps around "
				"the 64-bit address space", op, iova, len);
	if ((iova | len) & (g - 1))
		return uvi_fail(-EINVAL, "%s at 0x%" PRIx64 " of 0x%" PRIx64 " bytes is not "
				"aligned on the device's granule 0x%" PRIx64, op, iova, len, g);
	/* 5.13.6.2: the driver MUST NOT send addresses outside input_range. */
	if (iova < dev->cfg.input_range_start || iova + (len - 1) > dev->cfg.input_range_end)
		return uvi_fail(-ERANGE, "%s [0x%" PRIx64 ", 0x%" PRIx64 "] is outside the "
				"device's input range [0x%" PRIx64 ", 0x%" PRIx64 "]", op, iova,
				iova + (len - 1), dev->cfg.input_range_start,
				dev->cfg.input_range_end);
	return 0;
}

static int check_map_flags(const struct viommu_dev *dev, unsigned flags)
{
	if (flags & ~KNOWN_MAP_FLAGS)
		return uvi_fail(-EINVAL, "MAP: unknown flags 0x%x", flags & ~KNOWN_MAP_FLAGS);
	/* 5.13.6.5.1: MMIO only with the MMIO feature. */
	if (flags & VIOMMU_MAP_MMIO && !uvi_has(dev, VIRTIO_IOMMU_F_MMIO))
		return uvi_fail(-EOPNOTSUPP, "MAP: the MMIO flag needs VIRTIO_IOMMU_F_MMIO, which "
				"this device does not offer");
	return 0;
}

static int check_phys(const struct viommu_dev *dev, uint64_t phys, uint64_t len)
{
	if (phys + (len - 1) < phys)
		return uvi_fail(-EINVAL, "MAP: physical range at 0x%" PRIx64 " of 0x%" PRIx64
				" bytes wraps around", phys, len);
	if (phys & (dev->granule - 1))
		return uvi_fail(-EINVAL, "MAP: physical address 0x%" PRIx64 " is not aligned on "
				"the granule 0x%" PRIx64, phys, dev->granule);
	return 0;
}

int uvi_validate_map(struct viommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t len,
		     unsigned flags)
{
	struct viommu_dev *dev = dom->dev;
	uint64_t end = iova + (len - 1);
	struct uvi_shadow_entry *e;
	int rc = check_map_flags(dev, flags);

	if (!rc)
		rc = check_range(dev, "MAP", iova, len);
	if (!rc)
		rc = check_phys(dev, phys, len);
	if (rc)
		return rc;
	/* 5.13.6.8.1.1: never map over a reserved region of an endpoint of the domain. */
	if (uvi_domain_resv_overlaps(dom, iova, end))
		return uvi_fail(-EACCES, "MAP [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps a reserved "
				"region of an endpoint of domain %u (viommu_get_resv_regions)",
				iova, end, dom->id);
	e = uvi_shadow_first_overlap(dom->shadow, iova, end);
	if (e)
		return uvi_fail(-EEXIST, "MAP [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps the %s "
				"mapping [0x%" PRIx64 ", 0x%" PRIx64 "] of domain %u", iova, end,
				e->state == UVI_SHADOW_LIVE ? "existing" : "in-flight",
				e->start, e->end, dom->id);
	return 0;
}

int uvi_validate_unmap(struct viommu_domain *dom, uint64_t iova, uint64_t len,
		       struct uvi_shadow_entry **exact)
{
	int rc = check_range(dom->dev, "UNMAP", iova, len);
	uint64_t end = iova + (len - 1);
	struct uvi_shadow_entry *e;

	*exact = NULL;
	if (rc)
		return rc;
	/* The usual UNMAP, of one whole mapping: one lookup, and the caller keeps the entry. */
	*exact = uvi_shadow_find_exact(dom->shadow, iova, end);
	if (*exact)
		return 0;
	/* 5.13.6.6.1: an UNMAP may cover several whole mappings, never part of one. */
	e = uvi_shadow_find_split(dom->shadow, iova, end);
	if (e)
		return uvi_fail(-EXDEV, "UNMAP [0x%" PRIx64 ", 0x%" PRIx64 "] would split the "
				"mapping [0x%" PRIx64 ", 0x%" PRIx64 "] of domain %u", iova, end,
				e->start, e->end, dom->id);
	return 0;
}
