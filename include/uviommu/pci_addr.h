/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_ADDR_H
#define UVIOMMU_PCI_ADDR_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A PCI function address: segment (domain) and the 16-bit bus/device/function. */
struct viommu_pci_addr {
	uint16_t segment;
	uint16_t bdf; /* bus << 8 | device << 3 | function */
};

#define VIOMMU_BDF(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define VIOMMU_BDF_BUS(bdf) ((unsigned)((bdf) >> 8))
#define VIOMMU_BDF_DEV(bdf) ((unsigned)(((bdf) >> 3) & 0x1f))
#define VIOMMU_BDF_FN(bdf) ((unsigned)((bdf) & 0x7))

/* "SSSS:BB:DD.F" (hex, as lspci -D prints) + NUL. */
#define VIOMMU_PCI_ADDR_STRLEN 13

/*
 * Parse "SSSS:BB:DD.F" or "BB:DD.F" (segment 0). Hex fields, device < 32,
 * function < 8. Returns 0, or -EINVAL with a message.
 */
int viommu_pci_addr_parse(const char *text, struct viommu_pci_addr *out);

/* Format as "SSSS:BB:DD.F" into buf (at least VIOMMU_PCI_ADDR_STRLEN bytes). */
void viommu_pci_addr_format(struct viommu_pci_addr addr, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
