/* SPDX-License-Identifier: BSD-3-Clause */
/* The driver on the software device: setup, DMA helpers and counters for the driver suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "driver_rig.h"

void rig_config(struct sim_config *cfg, bool packed)
{
	sim_config_default(cfg);
	if (packed)
		cfg->features |= 1ull << VIRTIO_F_RING_PACKED;
}

int rig_check(int rc, const char *what)
{
	if (rc < 0)
		fprintf(stderr, "%s: %d: %s\n", what, rc, viommu_last_error());
	return rc;
}

void rig_open(struct rig *r, const struct sim_config *cfg, const struct viommu_open_opts *opts)
{
	struct viommu_open_opts o = opts ? *opts : (struct viommu_open_opts){ 0 };
	struct sim_config defaults;

	if (!cfg) {
		rig_config(&defaults, false);
		cfg = &defaults;
	}
	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(rig_check(sim_device_create(cfg, &r->sim), "sim create"), 0);
	o.access = "sim";
	o.sim = r->sim;
	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_open(&o, &r->dev), "viommu_open"), 0);
}

void rig_open_default(struct rig *r, bool packed)
{
	struct sim_config cfg;

	rig_config(&cfg, packed);
	rig_open(r, &cfg, NULL);
}

void rig_close(struct rig *r)
{
	viommu_close(r->dev);
	sim_device_destroy(r->sim);
	memset(r, 0, sizeof(*r));
}

uint8_t *rig_pages(size_t n)
{
	uint8_t *p = aligned_alloc(RIG_PAGE, n * RIG_PAGE);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0, n * RIG_PAGE);
	return p;
}

void rig_free_pages(uint8_t *p)
{
	free(p);
}

uint64_t rig_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int rig_dma_write(struct rig *r, uint32_t ep, uint64_t iova, const void *buf, size_t len)
{
	return sim_device_dma(r->sim, ep, iova, (void *)buf, len, SIM_DMA_WRITE);
}

int rig_dma_read(struct rig *r, uint32_t ep, uint64_t iova, void *buf, size_t len)
{
	return sim_device_dma(r->sim, ep, iova, buf, len, SIM_DMA_READ);
}

bool rig_translates(struct rig *r, uint32_t ep, uint64_t iova, uint8_t *page)
{
	static uint32_t counter;
	uint32_t marker = 0x5a000000u | ++counter, seen;
	size_t off = iova % RIG_PAGE;

	if (rig_dma_write(r, ep, iova, &marker, sizeof(marker)))
		return false;
	memcpy(&seen, page + off, sizeof(seen));
	return seen == marker;
}

struct sim_iommu_stats rig_sim_stats(struct rig *r)
{
	struct sim_iommu_stats st;

	sim_device_get_iommu_stats(r->sim, &st);
	return st;
}

struct viommu_stats rig_stats(struct rig *r)
{
	struct viommu_stats st;

	CU_ASSERT_EQUAL(viommu_get_stats(r->dev, &st), 0);
	return st;
}
