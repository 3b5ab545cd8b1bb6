/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening and closing the device: select it, take ownership before
 * touching it (a second process gets -EBUSY naming the owner), open the
 * PCI function, bring it up; and the reverse at close, where every
 * endpoint is detached and the device reset before its memory goes.
 * bypass stays 0 after close (5.13.4.2: a device reset keeps it), so the
 * endpoints stay blocked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "../sim/sim.h"
#include "dev.h"

static bool is_sim(const struct viommu_dev *dev)
{
	return dev->backend == &uvi_sim_backend;
}

static void teardown(struct viommu_dev *dev)
{
	if (dev->vpci.pci && dev->mem)
		uvi_vpci_reset(&dev->vpci); /* no DMA into memory about to be freed */
	if (dev->pci)
		uvi_pci_close(dev->pci);
	if (dev->own_sim)
		sim_device_destroy(dev->own_sim);
	uvi_queues_free(dev);
	free(dev->groups);
	free(dev->sync_batch);
	uvi_domain_free_all(dev);
	uvi_ep_free_all(dev);
	uvi_owner_release(dev->owner);
	viommu_topology_free(dev->topo);
	pthread_mutex_destroy(&dev->thread_lock);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

static int take_ownership(struct viommu_dev *dev)
{
	return is_sim(dev) ? 0 : uvi_owner_acquire(dev->addr, &dev->owner);
}

static int open_function(struct viommu_dev *dev, void *sim)
{
	struct sim_device *own;
	int rc;

	if (is_sim(dev) && !sim) {
		rc = sim_device_create(NULL, &own);
		if (rc)
			return rc;
		dev->own_sim = own;
		sim = own;
	}
	rc = uvi_pci_open(dev->backend, is_sim(dev) ? sim : NULL, dev->addr, &dev->pci);
	return rc ? rc : uvi_vpci_init(&dev->vpci, dev->pci);
}

static int alloc_bookkeeping(struct viommu_dev *dev)
{
	dev->groups = calloc(dev->n_slots, sizeof(*dev->groups));
	if (!dev->groups)
		return uvi_fail(-ENOMEM, "out of memory for the recovery's bookkeeping");
	dev->next_domain_id = dev->cfg.domain_range_start;
	return uvi_batch_alloc(dev, 1, 0, &dev->sync_batch);
}

#define KNOWN_OPEN_FLAGS \
	(VIOMMU_OPEN_KEEP_BYPASS | VIOMMU_OPEN_SPLIT_RING | VIOMMU_OPEN_NO_EVENT_IDX)

static int open_dev(struct viommu_dev *dev, const struct viommu_open_opts *o)
{
	struct uvi_selection sel;
	int rc = uvi_select(o, &sel);

	if (rc)
		return rc;
	dev->addr = sel.addr;
	dev->backend = sel.backend;
	dev->topo = sel.topo;
	dev->iommu_index = sel.iommu_index;
	dev->open_flags = o->flags;
	dev->timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : UVI_TIMEOUT_MS_DEFAULT;
	dev->rq_size = o->queue_size;
	rc = take_ownership(dev);
	if (!rc)
		rc = open_function(dev, o->sim);
	if (!rc)
		rc = uvi_bringup(dev, true);
	return rc ? rc : alloc_bookkeeping(dev);
}

int viommu_open(const struct viommu_open_opts *opts, struct viommu_dev **out)
{
	struct viommu_dev *dev;
	int rc;

	if (!opts || !out)
		return uvi_fail(-EINVAL, "viommu_open: NULL argument");
	if (opts->flags & ~KNOWN_OPEN_FLAGS)
		return uvi_fail(-EINVAL, "viommu_open: unknown flags 0x%x",
				opts->flags & ~KNOWN_OPEN_FLAGS);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return uvi_fail(-ENOMEM, "viommu_open: out of memory");
	pthread_mutex_init(&dev->lock, NULL);
	pthread_mutex_init(&dev->thread_lock, NULL);
	rc = open_dev(dev, opts);
	if (rc) {
		teardown(dev);
		return rc;
	}
	uvi_publish(dev, true);
	*out = dev;
	return 0;
}

void viommu_close(struct viommu_dev *dev)
{
	if (!dev)
		return;
	viommu_stop_event_thread(dev);
	pthread_mutex_lock(&dev->lock);
	if (!dev->failed && !uvi_drain(dev))
		uvi_detach_all(dev);
	pthread_mutex_unlock(&dev->lock);
	teardown(dev);
}

int viommu_get_info(struct viommu_dev *dev, struct viommu_dev_info *info)
{
	if (!dev || !info)
		return uvi_fail(-EINVAL, "get_info: NULL argument");
	pthread_mutex_lock(&dev->lock);
	*info = (struct viommu_dev_info){
		.access = dev->backend->name,
		.ring = uvi_has(dev, VIRTIO_F_RING_PACKED) ? "packed" : "split",
		.features_offered = dev->offered,
		.features_negotiated = dev->negotiated,
		.page_size_mask = dev->cfg.page_size_mask,
		.granule = dev->granule,
		.input_start = dev->cfg.input_range_start,
		.input_end = dev->cfg.input_range_end,
		.domain_start = dev->cfg.domain_range_start,
		.domain_end = dev->cfg.domain_range_end,
		.probe_size = dev->cfg.probe_size,
		.bypass = dev->bypass,
		.request_queue_size = dev->rq_size,
		.event_queue_size = dev->eq_size,
		.unattached_blocked = dev->unattached_blocked,
		.isolation = dev->isolation,
	};
	viommu_pci_addr_format(dev->addr, info->device, sizeof(info->device));
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
