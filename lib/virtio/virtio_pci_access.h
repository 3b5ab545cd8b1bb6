/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIRTIO_PCI_ACCESS_H
#define UVIOMMU_VIRTIO_PCI_ACCESS_H

/*
 * Register accessors inside one virtio structure. Offsets are constants
 * of the common layout (within the length uvi_vpci_init() checked) or
 * were range-checked by the caller.
 */

#include "virtio_pci.h"

static inline uint32_t vpci_read(const struct uvi_vpci_region *r, uint64_t off, unsigned width)
{
	return (uint32_t)uvi_bar_read(r->bar, r->off + off, width);
}

static inline void vpci_write(const struct uvi_vpci_region *r, uint64_t off, unsigned width,
			      uint32_t value)
{
	uvi_bar_write(r->bar, r->off + off, width, value);
}

/* 64-bit fields as two 32-bit halves, low first (virtio 1.2, 4.1.3.1). */
static inline void vpci_write64(const struct uvi_vpci_region *r, uint64_t off, uint64_t value)
{
	vpci_write(r, off, 4, (uint32_t)value);
	vpci_write(r, off + 4, 4, (uint32_t)(value >> 32));
}

#endif
