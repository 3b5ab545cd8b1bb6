/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_DRIVER_RIG_H
#define UVIOMMU_TEST_DRIVER_RIG_H

/*
 * The driver (viommu_*) opened on the software device, for the driver's
 * suites. Memory the simulated endpoints reach is ordinary page-aligned
 * process memory: with the software device, bus addresses are virtual
 * addresses, so a buffer's address is the "physical" address to map.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uviommu/viommu.h>

#include "../../drivers/sim/sim.h"

#define RIG_PAGE 4096u
#define RIG_WAIT_LIMIT_S 10

struct rig {
	struct sim_device *sim;
	struct viommu_dev *dev;
};

/* QEMU-like software device; packed adds VIRTIO_F_RING_PACKED to its offer. */
void rig_config(struct sim_config *cfg, bool packed);
/* Open the driver on a new software device (NULL cfg: rig_config(cfg, false)). */
void rig_open(struct rig *r, const struct sim_config *cfg, const struct viommu_open_opts *opts);
void rig_open_default(struct rig *r, bool packed);
void rig_close(struct rig *r);

/* n zeroed pages, freed by rig_free_pages(). */
uint8_t *rig_pages(size_t n);
void rig_free_pages(uint8_t *p);
uint64_t rig_phys(const void *p);

/* Endpoint ep writes / reads len bytes at iova through the IOMMU (sim_device_dma). */
int rig_dma_write(struct rig *r, uint32_t ep, uint64_t iova, const void *buf, size_t len);
int rig_dma_read(struct rig *r, uint32_t ep, uint64_t iova, void *buf, size_t len);
/* Endpoint ep's write of a marker at iova lands in page (and nowhere else): 1 yes, 0 no. */
bool rig_translates(struct rig *r, uint32_t ep, uint64_t iova, uint8_t *page);

struct sim_iommu_stats rig_sim_stats(struct rig *r);
struct viommu_stats rig_stats(struct rig *r);

/* Print viommu_last_error() if rc < 0; returns rc. */
int rig_check(int rc, const char *what);

#endif
