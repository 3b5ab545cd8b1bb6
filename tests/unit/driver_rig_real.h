/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_DRIVER_RIG_REAL_H
#define UVIOMMU_TEST_DRIVER_RIG_REAL_H

/* The real-device half of the driver rig (driver_rig_real.c), for driver_rig.c only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uviommu/pci_addr.h>
#include <uviommu/viommu.h>

struct rig_real_args {
	const char *device; /* the virtio-iommu */
	const char *access; /* "uio" or "vfio" */
	const char *edu;    /* QEMU's edu device: the endpoint that does DMA */
	const char *peer;   /* another function behind the IOMMU */
};

/* What the suites run against (driver_rig.c holds the one instance). */
struct rig_target {
	bool real;
	const char *name;   /* for messages: "the software device", "0000:00:02.0 (uio)" */
	const char *access;
	uint32_t ep_dma, ep_peer;
	struct viommu_pci_addr dma_pci;
	bool packed_offered;
};

/*
 * Open edu, find the endpoint IDs in the VIOT, and load the probe marker
 * into edu's buffer through a mapping of its own (a self-test: the marker
 * must come back through a second mapping). 0, or -errno with a message.
 */
int rig_real_setup(const struct rig_real_args *a, struct rig_target *t);
void rig_real_teardown(void);

int rig_real_open(bool packed, const struct viommu_open_opts *opts, struct viommu_dev **dev);

uint8_t *rig_real_pages(size_t n);
void rig_real_free_pages(uint8_t *p);
uint64_t rig_real_phys(const void *p);

/* edu writes the marker at iova: 1 it landed in page, 0 it did not, -errno edu failed. */
int rig_real_translates(uint64_t iova, uint8_t *page);
/* edu reads 4 bytes at iova into a scratch part of its buffer. */
int rig_real_probe_read(uint64_t iova);

#endif
