/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver's DMA memory, one allocation made once at open: the request
 * and event rings, the request slots, the event buffers and the PROBE
 * properties buffer. Every bus address is computed here, once (a table
 * lookup per area, never a pagemap read per request), and every area is
 * checked to be contiguous in bus address space.
 *
 * Hugepages with physical addresses for vfio and uio; 4 KiB pages with
 * virtual addresses for the software device (what its backend says).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define SLOT_ALIGN UVI_SLOT_BYTES
#define PROBE_ALIGN 64

struct area {
	size_t off, len;
};

struct layout {
	struct area rq, eq, slots, events, probe;
	size_t total, page;
};

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) / a * a;
}

/* Place an area after `*end`, moved to the next page if it would straddle one. */
static void place(struct area *a, size_t *end, size_t len, size_t align, size_t page)
{
	size_t off = align_up(*end, align);

	if (len && len <= page && off / page != (off + len - 1) / page)
		off = align_up(off, page);
	a->off = off;
	a->len = len;
	*end = off + len;
}

static void vq_configs(const struct viommu_dev *dev, struct uvi_vq_config *rq,
		       struct uvi_vq_config *eq)
{
	enum uvi_vq_layout l = uvi_has(dev, VIRTIO_F_RING_PACKED) ? UVI_VQ_PACKED : UVI_VQ_SPLIT;
	bool event_idx = uvi_has(dev, VIRTIO_F_EVENT_IDX);

	*rq = (struct uvi_vq_config){ l, dev->rq_size, event_idx };
	*eq = (struct uvi_vq_config){ l, dev->eq_size, event_idx };
}

static void compute_layout(const struct viommu_dev *dev, struct layout *l)
{
	struct uvi_vq_config rq, eq;
	size_t end = 0, align;

	vq_configs(dev, &rq, &eq);
	l->page = dev->backend->dma_addressing == VIOMMU_ADDR_PHYSICAL ? 2u << 20 : 4096;
	align = uvi_vq_ring_align(&rq);
	place(&l->rq, &end, uvi_vq_ring_bytes(&rq), align, l->page);
	place(&l->eq, &end, uvi_vq_ring_bytes(&eq), align, l->page);
	place(&l->slots, &end, (size_t)dev->n_slots * UVI_SLOT_BYTES, SLOT_ALIGN, l->page);
	place(&l->events, &end, (size_t)dev->eq_size * UVI_EVENT_STRIDE, UVI_EVENT_STRIDE,
	      l->page);
	place(&l->probe, &end, dev->cfg.probe_size, PROBE_ALIGN, l->page);
	l->total = end;
}

static int alloc_memory(struct viommu_dev *dev, const struct layout *l)
{
	struct viommu_mem_opts o = {
		.pages = l->page == 4096 ? VIOMMU_PAGES_4K : VIOMMU_PAGES_HUGE_2M,
		.addressing = dev->backend->dma_addressing,
		.numa_node = dev->pci->numa_node,
	};

	return viommu_mem_alloc(l->total, &o, &dev->mem);
}

/* Bus address of an area, which must be contiguous in bus address space. */
static int area_bus(const struct viommu_dev *dev, const struct area *a, uint64_t *bus)
{
	uint8_t *va = (uint8_t *)viommu_mem_va(dev->mem) + a->off;
	size_t contiguous;
	int rc;

	if (!a->len) {
		*bus = 0;
		return 0;
	}
	rc = viommu_mem_iova(dev->mem, va, bus, &contiguous);
	if (!rc && contiguous < a->len)
		rc = uvi_fail(-ENOMEM, "DMA memory: %zu bytes at offset %zu are not contiguous in "
			      "bus address space (%zu are): use larger pages", a->len, a->off,
			      contiguous);
	return rc;
}

static void *area_va(const struct viommu_dev *dev, const struct area *a)
{
	return (uint8_t *)viommu_mem_va(dev->mem) + a->off;
}

static int create_rings(struct viommu_dev *dev, const struct layout *l)
{
	struct uvi_vq_config rq, eq;
	uint64_t rq_bus, eq_bus;
	int rc;

	vq_configs(dev, &rq, &eq);
	rc = area_bus(dev, &l->rq, &rq_bus);
	if (!rc)
		rc = area_bus(dev, &l->eq, &eq_bus);
	if (!rc)
		rc = uvi_vq_create(&rq, area_va(dev, &l->rq), rq_bus, &dev->rq);
	if (!rc)
		rc = uvi_vq_create(&eq, area_va(dev, &l->eq), eq_bus, &dev->eq);
	return rc;
}

static int create_slots(struct viommu_dev *dev, const struct layout *l)
{
	uint8_t *va = area_va(dev, &l->slots);
	uint64_t bus;
	int rc = area_bus(dev, &l->slots, &bus);

	if (rc)
		return rc;
	dev->slots = calloc(dev->n_slots, sizeof(*dev->slots));
	dev->free_slots = calloc(dev->n_slots, sizeof(*dev->free_slots));
	if (!dev->slots || !dev->free_slots)
		return uvi_fail(-ENOMEM, "out of memory for %u request slots", dev->n_slots);
	for (unsigned i = 0; i < dev->n_slots; i++) {
		dev->slots[i].buf = va + (size_t)i * UVI_SLOT_BYTES;
		dev->slots[i].bus = bus + (uint64_t)i * UVI_SLOT_BYTES;
		dev->free_slots[i] = dev->n_slots - 1 - i;
	}
	dev->n_free = dev->n_slots;
	return 0;
}

static int locate_buffers(struct viommu_dev *dev, const struct layout *l)
{
	uint8_t *ev = area_va(dev, &l->events);
	uint64_t ev_bus;
	int rc = area_bus(dev, &l->events, &ev_bus);

	if (!rc)
		rc = area_bus(dev, &l->probe, &dev->probe_bus);
	if (rc)
		return rc;
	for (unsigned i = 0; i < dev->eq_size; i++) {
		dev->events[i] = (struct virtio_iommu_fault *)(ev + (size_t)i * UVI_EVENT_STRIDE);
		dev->event_bus[i] = ev_bus + (uint64_t)i * UVI_EVENT_STRIDE;
	}
	dev->probe_buf = area_va(dev, &l->probe);
	return 0;
}

/* After negotiation (the ring layout) and with rq_size, eq_size and probe_size known. */
int uvi_queues_alloc(struct viommu_dev *dev)
{
	struct layout l;
	int rc;

	dev->n_slots = dev->rq_size / 2 ? dev->rq_size / 2 : 1; /* 2 descriptors a request */
	compute_layout(dev, &l);
	rc = alloc_memory(dev, &l);
	if (!rc)
		rc = create_rings(dev, &l);
	if (!rc)
		rc = create_slots(dev, &l);
	if (!rc)
		rc = locate_buffers(dev, &l);
	if (rc)
		uvi_queues_free(dev);
	return rc;
}

void uvi_queues_free(struct viommu_dev *dev)
{
	uvi_vq_destroy(dev->rq);
	uvi_vq_destroy(dev->eq);
	dev->rq = dev->eq = NULL;
	free(dev->slots);
	free(dev->free_slots);
	dev->slots = NULL;
	dev->free_slots = NULL;
	dev->n_free = 0;
	viommu_mem_free(dev->mem);
	dev->mem = NULL;
}

static int program_queue(struct viommu_dev *dev, uint16_t index, struct uvi_vq *vq,
			 struct uvi_vpci_notifier *bell)
{
	struct uvi_vq_addrs a;
	int rc;

	uvi_vq_get_addrs(vq, &a);
	rc = uvi_vpci_queue_setup(&dev->vpci, index, uvi_vq_size(vq), &a, bell);
	return rc ? rc : uvi_vpci_queue_enable(&dev->vpci, index);
}

/* 3.1.1 step 7: the device-specific setup, here the two queues (5.13.2). */
int uvi_queues_program(struct viommu_dev *dev)
{
	int rc = program_queue(dev, VIRTIO_IOMMU_QUEUE_REQUEST, dev->rq, &dev->rq_bell);

	return rc ? rc : program_queue(dev, VIRTIO_IOMMU_QUEUE_EVENT, dev->eq, &dev->eq_bell);
}
