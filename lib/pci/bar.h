/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_BAR_H
#define UVIOMMU_PCI_BAR_H

/* BARs of real functions: what sysfs says about them, and their release. */

#include <stdint.h>

#include "pci_dev.h"

struct uvi_bar_resource {
	uint64_t start; /* address the BAR decodes (as the kernel assigned it) */
	uint64_t len;
	uint64_t flags; /* the kernel's resource flags */
};

/*
 * Read BAR index of addr from the sysfs "resource" file. Fails with
 * -ENOENT if the BAR is not implemented and -ENOTSUP if it is not a memory
 * BAR (I/O port BARs cannot be mapped); the message says which.
 */
int uvi_bar_resource_read(struct viommu_pci_addr addr, unsigned index,
			  struct uvi_bar_resource *out);

/* munmap() every mapped BAR of dev and clear dev->bars. */
void uvi_bars_unmap(struct uvi_pci_dev *dev);

#endif
