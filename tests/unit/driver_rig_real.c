/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver rig on a real virtio-iommu in a QEMU guest: the device opened
 * through uio or vfio, QEMU's edu device as the DMA engine of the probes,
 * 2 MiB hugepages (physical addresses) for the memory endpoints reach.
 *
 * edu's buffer holds the probe marker at MARKER_OFF, loaded once at setup
 * and never overwritten; read probes land at READ_OFF. A write probe first
 * stores the marker's complement where it must land, so a marker found
 * there afterwards was written by that probe.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uviommu/error.h>
#include <uviommu/mem.h>
#include <uviommu/topology.h>

#include "driver_rig.h"
#include "driver_rig_real.h"
#include "edu.h"
#include "../../drivers/iommu/wire.h"
#include "../../lib/common/error_internal.h"

#define MARKER 0x5a0ed0c5u
#define MARKER_OFF 0u
#define READ_OFF 2048u
#define PROBE_LEN 4u
#define STAGE_IOVA 0x10000000ull /* below QEMU's MSI window, inside its input range */
#define MAX_ALLOCS 32

struct alloc {
	uint8_t *va;
	struct viommu_mem *mem;
};

static struct {
	const char *device, *access;
	char name[64];
	uint32_t ep_dma;
	struct edu *edu;
	struct alloc allocs[MAX_ALLOCS];
} real;

/* ---- memory ---- */

uint8_t *rig_real_pages(size_t n)
{
	const struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_PHYSICAL, -1 };
	struct viommu_mem *mem;

	for (unsigned i = 0; i < MAX_ALLOCS; i++) {
		if (real.allocs[i].va)
			continue;
		if (viommu_mem_alloc(n * RIG_PAGE, &o, &mem))
			return NULL;
		real.allocs[i] = (struct alloc){ viommu_mem_va(mem), mem };
		return real.allocs[i].va;
	}
	uvi_fail(-ENOMEM, "rig: more than %d page allocations live at once", MAX_ALLOCS);
	return NULL;
}

static struct alloc *alloc_of(const void *p)
{
	for (unsigned i = 0; i < MAX_ALLOCS; i++) {
		struct alloc *a = &real.allocs[i];

		if (a->va && (const uint8_t *)p >= a->va &&
		    (const uint8_t *)p < a->va + viommu_mem_len(a->mem))
			return a;
	}
	return NULL;
}

void rig_real_free_pages(uint8_t *p)
{
	struct alloc *a = alloc_of(p);

	if (!a)
		return;
	viommu_mem_free(a->mem);
	*a = (struct alloc){ NULL, NULL };
}

/* 0 for memory the rig did not give out: a mapping to it never reaches anything of ours. */
uint64_t rig_real_phys(const void *p)
{
	const struct alloc *a = alloc_of(p);
	uint64_t phys = 0;

	if (a)
		viommu_mem_iova(a->mem, p, &phys, NULL);
	return phys;
}

/* ---- setup ---- */

static int endpoint_of(const struct viommu_topology *topo, const char *text,
		       struct viommu_pci_addr *addr, uint32_t *ep)
{
	struct viommu_endpoint_ref ref;
	int rc = viommu_pci_addr_parse(text, addr);

	if (!rc)
		rc = viommu_topology_lookup_pci(topo, *addr, &ref);
	if (!rc)
		*ep = ref.endpoint_id;
	return rc;
}

static int find_endpoints(const struct rig_real_args *a, struct rig_target *t)
{
	struct viommu_topology *topo;
	struct viommu_pci_addr peer;
	int rc = viommu_topology_load_viot(NULL, &topo);

	if (rc)
		return rc;
	rc = endpoint_of(topo, a->edu, &t->dma_pci, &t->ep_dma);
	if (!rc)
		rc = endpoint_of(topo, a->peer, &peer, &t->ep_peer);
	viommu_topology_free(topo);
	return rc;
}

static int check_marker(const uint8_t *page)
{
	uint32_t seen;

	memcpy(&seen, page, sizeof(seen));
	if (seen == MARKER)
		return 0;
	return uvi_fail(-EIO, "edu's DMA did not go through the IOMMU as mapped: 0x%08x went into "
			"edu through one mapping, 0x%08x came back through another (edu without "
			"dma_mask=0xffffffffffffffff?)", MARKER, seen);
}

/* The domain of the marker: one page edu reads, one it writes. */
static int stage_marker(struct viommu_dev *dev, uint8_t *pages)
{
	struct viommu_domain *dom;
	int rc = viommu_domain_create(dev, &dom);

	if (!rc)
		rc = viommu_map(dom, STAGE_IOVA, rig_real_phys(pages), RIG_PAGE, VIOMMU_MAP_READ);
	if (!rc)
		rc = viommu_map(dom, STAGE_IOVA + RIG_PAGE, rig_real_phys(pages + RIG_PAGE),
				RIG_PAGE, VIOMMU_MAP_WRITE);
	if (!rc)
		rc = viommu_attach_endpoint(dom, real.ep_dma);
	if (!rc)
		rc = edu_from_ram(real.edu, STAGE_IOVA, MARKER_OFF, PROBE_LEN);
	if (!rc)
		rc = edu_to_ram(real.edu, MARKER_OFF, STAGE_IOVA + RIG_PAGE, PROBE_LEN);
	if (!rc)
		rc = check_marker(pages + RIG_PAGE);
	return rc;
}

static int load_marker(struct rig_target *t)
{
	const struct viommu_open_opts o = { .device = real.device, .access = real.access,
					    .flags = VIOMMU_OPEN_SPLIT_RING };
	struct viommu_dev_info info;
	uint32_t marker = MARKER;
	struct viommu_dev *dev;
	uint8_t *pages = rig_real_pages(2);
	int rc;

	if (!pages)
		return -ENOMEM;
	memcpy(pages, &marker, sizeof(marker));
	rc = viommu_open(&o, &dev);
	if (!rc) {
		rc = viommu_get_info(dev, &info);
		t->packed_offered = info.features_offered & (1ull << VIRTIO_F_RING_PACKED);
		if (!rc)
			rc = stage_marker(dev, pages);
		viommu_close(dev);
	}
	rig_real_free_pages(pages);
	return rc;
}

int rig_real_setup(const struct rig_real_args *a, struct rig_target *t)
{
	int rc;

	if (strcmp(a->access, "uio") != 0 && strcmp(a->access, "vfio") != 0)
		return uvi_fail(-EINVAL, "--access must be uio or vfio, not '%s'", a->access);
	real.device = a->device;
	real.access = a->access;
	snprintf(real.name, sizeof(real.name), "%s (%s)", a->device, a->access);
	rc = find_endpoints(a, t);
	if (rc)
		return rc;
	t->real = true;
	t->name = real.name;
	t->access = a->access;
	real.ep_dma = t->ep_dma;
	printf("rig: edu %s is endpoint %u, peer %s is endpoint %u\n", a->edu, t->ep_dma,
	       a->peer, t->ep_peer);
	rc = edu_open(a->access, t->dma_pci, &real.edu);
	return rc ? rc : load_marker(t);
}

void rig_real_teardown(void)
{
	edu_close(real.edu);
	real.edu = NULL;
	for (unsigned i = 0; i < MAX_ALLOCS; i++)
		rig_real_free_pages(real.allocs[i].va);
}

int rig_real_open(bool packed, const struct viommu_open_opts *opts, struct viommu_dev **dev)
{
	struct viommu_open_opts o = opts ? *opts : (struct viommu_open_opts){ 0 };

	o.device = real.device;
	o.access = real.access;
	if (!packed)
		o.flags |= VIOMMU_OPEN_SPLIT_RING;
	return viommu_open(&o, dev);
}

/* ---- probes ---- */

int rig_real_translates(uint64_t iova, uint8_t *page)
{
	volatile uint32_t *where = (volatile uint32_t *)(page + iova % RIG_PAGE);
	int rc;

	*where = ~MARKER;
	rc = edu_to_ram(real.edu, MARKER_OFF, iova, PROBE_LEN);
	if (rc)
		return rc;
	return *where == MARKER;
}

int rig_real_probe_read(uint64_t iova)
{
	return edu_from_ram(real.edu, iova, READ_OFF, PROBE_LEN);
}
