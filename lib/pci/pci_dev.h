/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_DEV_H
#define UVIOMMU_PCI_DEV_H

/*
 * An opened PCI function, reached through one of several access backends
 * (one ops table each, as in ixy):
 *   vfio-noiommu  /dev/vfio/noiommu-N, VFIO_NOIOMMU_IOMMU container
 *   uio           uio_pci_generic; BARs from sysfs resourceN, config from sysfs
 *   sim           drivers/sim: the software virtio-iommu, in-process
 *
 * BAR access goes through uvi_bar_read() and uvi_bar_write() so that a backend
 * may emulate registers (the sim emulates them synchronously, as QEMU does
 * on an MMIO exit) while real backends do plain volatile loads and stores
 * on the mmap()ed BAR.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uviommu/mem.h>
#include <uviommu/pci_addr.h>

#define UVI_PCI_BARS 6
#define UVI_PCI_CFG_SIZE 256 /* the part of config space the drivers use */

/* Register emulation for a BAR that is not plain memory. */
struct uvi_mmio_emul {
	uint64_t (*read)(void *ctx, uint64_t off, unsigned width);
	void (*write)(void *ctx, uint64_t off, unsigned width, uint64_t value);
	void *ctx;
};

struct uvi_bar {
	volatile uint8_t *base; /* mapped BAR, or NULL when emulated */
	uint64_t len;
	const struct uvi_mmio_emul *emul; /* non-NULL: every access goes here */
};

struct uvi_pci_dev;

struct uvi_pci_backend {
	const char *name;
	enum viommu_addressing dma_addressing; /* how the device sees DMA memory */
	/* arg is backend-specific (the sim instance for "sim", NULL otherwise). */
	int (*open)(struct uvi_pci_dev *dev, void *arg);
	void (*close)(struct uvi_pci_dev *dev);
	int (*cfg_read)(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len);
	int (*cfg_write)(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len);
	/* Map BAR `index` (idempotent); fills dev->bars[index]. */
	int (*bar_map)(struct uvi_pci_dev *dev, unsigned index);
};

struct uvi_pci_dev {
	struct viommu_pci_addr addr;
	const struct uvi_pci_backend *backend;
	struct uvi_bar bars[UVI_PCI_BARS];
	int numa_node; /* -1 when unknown */
	void *priv;    /* backend state */
};

/* The real-device backends (lib/pci/vfio.c, lib/pci/uio.c). */
extern const struct uvi_pci_backend uvi_pci_backend_vfio;
extern const struct uvi_pci_backend uvi_pci_backend_uio;

/*
 * The backend called name ("vfio", "uio"), or NULL with a message. "sim"
 * lives in drivers/sim; "auto" is resolved by the caller.
 */
const struct uvi_pci_backend *uvi_pci_backend_by_name(const char *name);

/*
 * Open addr through backend (arg passed to its open), enable memory space
 * and bus mastering in the command register. On failure the message says
 * what is wrong and the command that fixes it. dev->numa_node comes from
 * sysfs before the backend's open runs (which may override it).
 * uvi_pci_close() turns bus mastering off again before the backend lets
 * go, so that no DMA outlives the owner's memory.
 */
int uvi_pci_open(const struct uvi_pci_backend *backend, void *arg,
		 struct viommu_pci_addr addr, struct uvi_pci_dev **out);
void uvi_pci_close(struct uvi_pci_dev *dev);

/* Config space accesses: off + len must lie within UVI_PCI_CFG_SIZE (-EINVAL). */
int uvi_pci_cfg_read(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len);
int uvi_pci_cfg_write(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len);
int uvi_pci_bar_map(struct uvi_pci_dev *dev, unsigned index, struct uvi_bar **out);

/* For backends: 0 if a config pread/pwrite moved n == len bytes, else a message. */
int uvi_pci_cfg_io_result(const struct uvi_pci_dev *dev, ssize_t n, size_t len, unsigned off,
			  const char *op);

/* BAR accessors: `off` must have been checked against bar->len by the caller. */
static inline uint64_t uvi_bar_read(const struct uvi_bar *b, uint64_t off, unsigned width)
{
	if (b->emul)
		return b->emul->read(b->emul->ctx, off, width);
	switch (width) {
	case 1: return *(volatile uint8_t *)(b->base + off);
	case 2: return *(volatile uint16_t *)(b->base + off);
	case 4: return *(volatile uint32_t *)(b->base + off);
	default: return *(volatile uint64_t *)(b->base + off);
	}
}

static inline void uvi_bar_write(const struct uvi_bar *b, uint64_t off, unsigned width,
				 uint64_t v)
{
	if (b->emul) {
		b->emul->write(b->emul->ctx, off, width, v);
		return;
	}
	switch (width) {
	case 1: *(volatile uint8_t *)(b->base + off) = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)(b->base + off) = (uint16_t)v; break;
	case 4: *(volatile uint32_t *)(b->base + off) = (uint32_t)v; break;
	default: *(volatile uint64_t *)(b->base + off) = v; break;
	}
}

#endif
