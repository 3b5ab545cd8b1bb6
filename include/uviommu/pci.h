/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_H
#define UVIOMMU_PCI_H

/* PCI discovery (through libpci): which functions exist and who drives them. */

#include <stdint.h>
#include <stddef.h>
#include <uviommu/pci_addr.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIOMMU_PCI_VENDOR_VIRTIO 0x1af4
#define VIOMMU_PCI_DEVICE_VIRTIO_IOMMU 0x1057 /* 0x1040 + virtio device ID 23 */

struct viommu_pci_func {
	struct viommu_pci_addr addr;
	uint16_t vendor_id, device_id;
	uint16_t class_id;    /* base class << 8 | subclass */
	int numa_node;        /* -1 when unknown */
	char driver[32];      /* bound kernel driver, "" when none */
};

/*
 * List every PCI function of this machine, sorted by address. *out is an
 * array of *count entries to release with viommu_pci_scan_free().
 */
int viommu_pci_scan(struct viommu_pci_func **out, size_t *count);
void viommu_pci_scan_free(struct viommu_pci_func *funcs);

int viommu_pci_is_virtio_iommu(const struct viommu_pci_func *f);

#ifdef __cplusplus
}
#endif

#endif
