/* SPDX-License-Identifier: BSD-3-Clause */
/* The topology model: loading from files, lookups, and release. */
#include <errno.h>
#include <stdlib.h>

#include <uviommu/topology.h>

#include "../common/error_internal.h"
#include "../common/file_internal.h"

/* A VIOT's node offsets are 16-bit, so any real table is far below this. */
#define VIOT_FILE_MAX (1u << 20)
#define TOPOLOGY_TEXT_MAX (1u << 20)

int viommu_topology_load_viot(const char *path, struct viommu_topology **out)
{
	int from_sysfs = path == NULL;
	void *data;
	size_t size;
	int rc;

	if (from_sysfs)
		path = VIOMMU_VIOT_SYSFS_PATH;
	rc = uvi_read_file(path, "VIOT", VIOT_FILE_MAX, &data, &size);
	if (rc == -ENOENT && from_sysfs)
		return uvi_fail(rc,
				   "no ACPI VIOT table at %s: the firmware describes no virtio-iommu "
				   "(QEMU needs -device virtio-iommu-pci; guests without ACPI use a topology file)",
				   path);
	if (rc)
		return rc;
	rc = viommu_topology_parse_viot(data, size, out);
	free(data);
	return rc;
}

int viommu_topology_load_text(const char *path, struct viommu_topology **out)
{
	void *data;
	size_t size;
	int rc;

	if (!path)
		return uvi_fail(-EINVAL, "topology file: NULL path");
	rc = uvi_read_file(path, "topology file", TOPOLOGY_TEXT_MAX, &data, &size);
	if (rc)
		return rc;
	rc = viommu_topology_parse_text(data, size, out);
	free(data);
	return rc;
}

void viommu_topology_free(struct viommu_topology *topo)
{
	if (!topo)
		return;
	free(topo->iommus);
	free(topo->endpoints);
	free(topo->warnings);
	free(topo);
}

int viommu_topology_find_pci_iommu(const struct viommu_topology *topo,
				   struct viommu_pci_addr addr)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (!topo)
		return uvi_fail(-EINVAL, "topology: NULL topology");
	for (size_t i = 0; i < topo->n_iommus; i++) {
		const struct viommu_topo_iommu *m = &topo->iommus[i];

		if (m->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU &&
		    m->pci.segment == addr.segment && m->pci.bdf == addr.bdf)
			return (int)i;
	}
	viommu_pci_addr_format(addr, name, sizeof(name));
	return uvi_fail(-ENOENT, "topology: no virtio-pci IOMMU at %s", name);
}

static int pci_range_covers(const struct viommu_topo_endpoint *ep,
			    struct viommu_pci_addr addr)
{
	return ep->type == VIOMMU_NODE_PCI_RANGE &&
	       addr.segment >= ep->segment_start && addr.segment <= ep->segment_end &&
	       addr.bdf >= ep->bdf_start && addr.bdf <= ep->bdf_end;
}

int viommu_topology_lookup_pci(const struct viommu_topology *topo,
			       struct viommu_pci_addr addr,
			       struct viommu_endpoint_ref *out)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (!topo || !out)
		return uvi_fail(-EINVAL, "topology lookup: NULL argument");
	viommu_pci_addr_format(addr, name, sizeof(name));
	if (viommu_topology_find_pci_iommu(topo, addr) >= 0)
		return uvi_fail(-ENODEV, "%s is a virtio-iommu itself, not an endpoint", name);
	for (size_t i = 0; i < topo->n_endpoints; i++) {
		const struct viommu_topo_endpoint *ep = &topo->endpoints[i];

		if (!pci_range_covers(ep, addr))
			continue;
		/* ACPI 6.4 5.2.31.2: ID = ((seg - seg_start) << 16) + bdf - bdf_start + start */
		out->endpoint_id = ((uint32_t)(addr.segment - ep->segment_start) << 16) +
				   (uint32_t)(addr.bdf - ep->bdf_start) + ep->endpoint_start;
		out->iommu_index = ep->iommu_index;
		out->node = ep;
		return 0;
	}
	return uvi_fail(-ENOENT, "%s is not behind any virtio-iommu in the topology", name);
}

int viommu_topology_lookup_mmio(const struct viommu_topology *topo,
				uint64_t base, struct viommu_endpoint_ref *out)
{
	if (!topo || !out)
		return uvi_fail(-EINVAL, "topology lookup: NULL argument");
	for (size_t i = 0; i < topo->n_iommus; i++)
		if (topo->iommus[i].type == VIOMMU_NODE_VIRTIO_MMIO_IOMMU &&
		    topo->iommus[i].base == base)
			return uvi_fail(-ENODEV, "MMIO device at 0x%llx is a virtio-iommu itself",
					   (unsigned long long)base);
	for (size_t i = 0; i < topo->n_endpoints; i++) {
		const struct viommu_topo_endpoint *ep = &topo->endpoints[i];

		if (ep->type == VIOMMU_NODE_MMIO_ENDPOINT && ep->base == base) {
			out->endpoint_id = ep->endpoint_id;
			out->iommu_index = ep->iommu_index;
			out->node = ep;
			return 0;
		}
	}
	return uvi_fail(-ENOENT, "MMIO device at 0x%llx is not behind any virtio-iommu",
			   (unsigned long long)base);
}

const char *viommu_node_type_name(enum viommu_node_type type)
{
	switch (type) {
	case VIOMMU_NODE_PCI_RANGE: return "pci-range";
	case VIOMMU_NODE_MMIO_ENDPOINT: return "mmio";
	case VIOMMU_NODE_VIRTIO_PCI_IOMMU: return "virtio-pci";
	case VIOMMU_NODE_VIRTIO_MMIO_IOMMU: return "virtio-mmio";
	}
	return "unknown";
}
