/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Endpoints: the IDs the device knows them by, where each is attached,
 * its reserved regions (from PROBE) and its fault handler. A handful per
 * device (the NICs of one process), so a plain array searched linearly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "../sim/sim.h"
#include "dev.h"

struct uvi_ep *uvi_ep_find(struct viommu_dev *dev, uint32_t id)
{
	for (unsigned i = 0; i < dev->n_eps; i++)
		if (dev->eps[i]->id == id)
			return dev->eps[i];
	return NULL;
}

static int grow(struct viommu_dev *dev)
{
	unsigned cap = dev->cap_eps ? 2 * dev->cap_eps : 8;
	struct uvi_ep **eps = realloc(dev->eps, cap * sizeof(*eps));

	if (!eps)
		return uvi_fail(-ENOMEM, "out of memory for endpoints");
	dev->eps = eps;
	dev->cap_eps = cap;
	return 0;
}

/* The endpoint called id, created on first use. */
int uvi_ep_get(struct viommu_dev *dev, uint32_t id, struct uvi_ep **out)
{
	struct uvi_ep *ep = uvi_ep_find(dev, id);
	int rc;

	if (ep) {
		*out = ep;
		return 0;
	}
	rc = dev->n_eps == dev->cap_eps ? grow(dev) : 0;
	if (rc)
		return rc;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return uvi_fail(-ENOMEM, "out of memory for an endpoint");
	ep->id = id;
	dev->eps[dev->n_eps++] = ep;
	*out = ep;
	return 0;
}

void uvi_ep_free_all(struct viommu_dev *dev)
{
	for (unsigned i = 0; i < dev->n_eps; i++) {
		free(dev->eps[i]->resv);
		free(dev->eps[i]);
	}
	free(dev->eps);
	dev->eps = NULL;
	dev->n_eps = dev->cap_eps = 0;
}

/*
 * The endpoint ID of a PCI function: from the topology, and it must sit
 * behind this IOMMU. The software device without a topology numbers
 * functions as QEMU's default VIOT does: segment << 16 | BDF.
 */
int uvi_ep_id_of(struct viommu_dev *dev, struct viommu_pci_addr addr, uint32_t *id)
{
	char name[VIOMMU_PCI_ADDR_STRLEN], ours[VIOMMU_PCI_ADDR_STRLEN];
	struct viommu_endpoint_ref ref;
	int rc;

	viommu_pci_addr_format(addr, name, sizeof(name));
	viommu_pci_addr_format(dev->addr, ours, sizeof(ours));
	if (!dev->topo && dev->backend == &uvi_sim_backend) {
		*id = (uint32_t)addr.segment << 16 | addr.bdf;
		return 0;
	}
	if (!dev->topo)
		return uvi_fail(-ENOENT, "no topology to find the endpoint ID of %s: this machine "
				"has no ACPI VIOT; give viommu_open_opts.topology_path, or use "
				"viommu_attach_endpoint() with the ID", name);
	rc = viommu_topology_lookup_pci(dev->topo, addr, &ref);
	if (rc)
		return rc;
	if (dev->iommu_index == SIZE_MAX)
		return uvi_fail(-ENOENT, "the topology does not list %s as a virtio-pci IOMMU, so "
				"it knows none of its endpoints", ours);
	if (ref.iommu_index != dev->iommu_index)
		return uvi_fail(-ENOENT, "%s is behind another IOMMU than %s (topology)", name,
				ours);
	*id = ref.endpoint_id;
	return 0;
}

static bool resv_overlaps(const struct viommu_resv_region *r, unsigned n, uint64_t start,
			  uint64_t end)
{
	for (unsigned i = 0; i < n; i++)
		if (uvi_overlaps(r[i].start, r[i].end, start, end))
			return true;
	return false;
}

/*
 * A domain's reserved set is the union of its attached endpoints' regions,
 * looked up through the endpoints (a few per process) rather than cached,
 * so that attaching and detaching have nothing to allocate.
 */
bool uvi_domain_resv_overlaps(const struct viommu_domain *dom, uint64_t start, uint64_t end)
{
	const struct viommu_dev *dev = dom->dev;

	if (!dom->n_endpoints)
		return false;
	for (unsigned i = 0; i < dev->n_eps; i++) {
		const struct uvi_ep *ep = dev->eps[i];

		if (ep->domain == dom && resv_overlaps(ep->resv, ep->n_resv, start, end))
			return true;
	}
	return false;
}

int viommu_get_resv_regions(struct viommu_dev *dev, uint32_t endpoint_id,
			    struct viommu_resv_region *regions, unsigned max)
{
	struct uvi_ep *ep;
	int rc;

	if (!dev || (max && !regions))
		return uvi_fail(-EINVAL, "get_resv_regions: NULL argument");
	pthread_mutex_lock(&dev->lock);
	ep = uvi_ep_find(dev, endpoint_id);
	if (!ep || !ep->probed) {
		rc = uvi_fail(-ENOENT, "endpoint %u was never attached, so never probed",
			      endpoint_id);
	} else {
		if (max && ep->n_resv)
			memcpy(regions, ep->resv, uvi_min_u64(max, ep->n_resv) * sizeof(*regions));
		rc = (int)ep->n_resv;
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int viommu_set_fault_handler(struct viommu_dev *dev, uint32_t endpoint_id, viommu_fault_fn fn,
			     void *arg)
{
	struct uvi_ep *ep;
	int rc;

	if (!dev)
		return uvi_fail(-EINVAL, "set_fault_handler: NULL device");
	pthread_mutex_lock(&dev->lock);
	rc = uvi_ep_get(dev, endpoint_id, &ep);
	if (!rc) {
		ep->fault_fn = fn;
		ep->fault_arg = fn ? arg : NULL;
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int viommu_set_default_fault_handler(struct viommu_dev *dev, viommu_fault_fn fn, void *arg)
{
	if (!dev)
		return uvi_fail(-EINVAL, "set_default_fault_handler: NULL device");
	pthread_mutex_lock(&dev->lock);
	dev->default_fault_fn = fn;
	dev->default_fault_arg = fn ? arg : NULL;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
