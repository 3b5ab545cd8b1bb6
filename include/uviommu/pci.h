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

/*
 * Hand the function at addr to a driver that gives userspace access, as
 * dpdk-devbind does: driver "uio" (uio_pci_generic) or "vfio" (vfio-pci,
 * which needs vfio's no-IOMMU mode on a guest without a kernel IOMMU
 * driver). Loads the module with /sbin/modprobe when it is not loaded,
 * sets the function's driver_override, unbinds its current driver, asks
 * the kernel to probe it and checks the result; if the new driver refuses
 * the function, the override is cleared and the old driver probed again.
 * Returns 0 also when the function is bound to that driver already.
 * Needs root. Errors: -EINVAL unknown driver, -ENODEV no such function,
 * -ENOTSUP vfio without no-IOMMU mode, -EIO the driver refused (see dmesg).
 */
int viommu_pci_bind(struct viommu_pci_addr addr, const char *driver);

#ifdef __cplusplus
}
#endif

#endif
