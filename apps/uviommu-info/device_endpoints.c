/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info device: the endpoints behind the IOMMU, and the function behind an ID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "device.h"

static bool behind_us(const struct device_report *r, struct viommu_pci_addr addr, uint32_t *id)
{
	struct viommu_endpoint_ref ref;

	if (!r->topo || r->iommu_index == SIZE_MAX ||
	    viommu_topology_lookup_pci(r->topo, addr, &ref) || ref.iommu_index != r->iommu_index)
		return false;
	*id = ref.endpoint_id;
	return true;
}

static bool listed(const struct device_report *r, struct viommu_pci_addr addr)
{
	for (size_t i = 0; i < r->n_eps; i++)
		if (r->eps[i].addr.segment == addr.segment && r->eps[i].addr.bdf == addr.bdf)
			return true;
	return false;
}

static void add(struct device_report *r, struct viommu_pci_addr addr, uint32_t id)
{
	if (listed(r, addr))
		return;
	r->eps[r->n_eps++] = (struct device_endpoint){ .addr = addr, .id = id, .n_resv = -1 };
}

static int add_named(struct device_report *r, struct viommu_pci_addr addr)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	uint32_t id;

	if (behind_us(r, addr, &id)) {
		add(r, addr, id);
		return 0;
	}
	viommu_pci_addr_format(addr, name, sizeof(name));
	if (!r->topo)
		fprintf(stderr, "uviommu-info: device: no topology gives the endpoint ID of %s "
			"(this machine has no VIOT: give --file or --topology)\n", name);
	else
		fprintf(stderr, "uviommu-info: device: the topology does not place %s behind "
			"the virtio-iommu %s\n", name, r->device);
	return -ENOENT;
}

static int scan(struct viommu_pci_func **funcs, size_t *n)
{
	int rc = viommu_pci_scan(funcs, n);

	if (rc)
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
	return rc;
}

int device_endpoints_find(struct device_report *r, bool scan_bus,
			  const struct viommu_pci_addr *named, size_t n_named)
{
	struct viommu_pci_func *funcs = NULL;
	size_t n_funcs = 0;
	int rc = scan_bus ? scan(&funcs, &n_funcs) : 0;

	if (rc)
		return rc;
	r->eps = calloc(n_funcs + n_named + 1, sizeof(*r->eps));
	if (!r->eps) {
		viommu_pci_scan_free(funcs);
		fprintf(stderr, "uviommu-info: out of memory\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_funcs; i++) {
		uint32_t id;

		if (behind_us(r, funcs[i].addr, &id))
			add(r, funcs[i].addr, id);
	}
	viommu_pci_scan_free(funcs);
	for (size_t i = 0; !rc && i < n_named; i++)
		rc = add_named(r, named[i]);
	return rc;
}

void device_endpoints_free(struct device_report *r)
{
	for (size_t i = 0; i < r->n_eps; i++)
		free(r->eps[i].resv);
	free(r->eps);
	r->eps = NULL;
	r->n_eps = 0;
}

/*
 * Invert the ID formula of a PCI range (VIOT, and doc/topology-format.md):
 * ((segment - segment_start) << 16) + (bdf - bdf_start) + endpoint_start.
 * The candidate is checked with the forward lookup, which also settles
 * overlapping ranges the way the driver does.
 */
static bool from_range(const struct device_report *r, const struct viommu_topo_endpoint *ep,
		       uint32_t id, struct viommu_pci_addr *out)
{
	uint64_t off, seg, bdf;
	uint32_t back;

	if (ep->type != VIOMMU_NODE_PCI_RANGE || ep->iommu_index != r->iommu_index ||
	    id < ep->endpoint_start)
		return false;
	off = id - ep->endpoint_start;
	seg = ep->segment_start + (off >> 16);
	bdf = ep->bdf_start + (off & 0xffff);
	if (seg > ep->segment_end || bdf > ep->bdf_end)
		return false;
	*out = (struct viommu_pci_addr){ (uint16_t)seg, (uint16_t)bdf };
	return behind_us(r, *out, &back) && back == id;
}

bool device_endpoint_address(const struct device_report *r, uint32_t id,
			     struct viommu_pci_addr *out)
{
	if (!r->topo || r->iommu_index == SIZE_MAX)
		return false;
	for (size_t i = 0; i < r->topo->n_endpoints; i++)
		if (from_range(r, &r->topo->endpoints[i], id, out))
			return true;
	return false;
}
