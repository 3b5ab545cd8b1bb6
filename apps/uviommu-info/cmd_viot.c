/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info viot: decode a topology, or look one function up in it. */
#include <errno.h>
#include <stdio.h>

#include "info.h"
#include "../common/json.h"

static void print_lookup_json(const char *device, const struct viommu_topology *t,
			      const struct viommu_endpoint_ref *ref)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", device);
	if (ref) {
		json_uint(&j, "endpoint_id", ref->endpoint_id);
		json_uint(&j, "iommu", t->iommus[ref->iommu_index].offset);
	} else {
		json_null(&j, "endpoint_id");
		json_null(&j, "iommu");
	}
	json_object_end(&j);
	json_finish(&j);
}

static void print_lookup_text(const char *device, const struct viommu_topology *t,
			      const struct viommu_endpoint_ref *ref)
{
	const struct viommu_topo_iommu *m;
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (!ref) {
		printf("%s: not an endpoint (%s)\n", device, viommu_last_error());
		return;
	}
	m = &t->iommus[ref->iommu_index];
	if (m->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU) {
		viommu_pci_addr_format(m->pci, name, sizeof(name));
		printf("%s: endpoint ID %u behind virtio-pci IOMMU %s (node at offset %u)\n",
		       device, ref->endpoint_id, name, m->offset);
	} else {
		printf("%s: endpoint ID %u behind virtio-mmio IOMMU 0x%llx (node at offset %u)\n",
		       device, ref->endpoint_id, (unsigned long long)m->base, m->offset);
	}
}

static int lookup(const struct info_opts *o, struct viommu_pci_addr addr,
		  const struct viommu_topology *t)
{
	struct viommu_endpoint_ref ref;
	char canonical[VIOMMU_PCI_ADDR_STRLEN];
	int rc;

	viommu_pci_addr_format(addr, canonical, sizeof(canonical));
	rc = viommu_topology_lookup_pci(t, addr, &ref);
	if (rc && rc != -ENOENT && rc != -ENODEV) {
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
		return INFO_EXIT_FAILED;
	}
	if (o->json)
		print_lookup_json(canonical, t, rc ? NULL : &ref);
	else
		print_lookup_text(canonical, t, rc ? NULL : &ref);
	return INFO_EXIT_OK;
}

int cmd_viot(int argc, char **argv)
{
	struct info_opts o;
	struct viommu_topology *t;
	struct viommu_pci_addr addr;
	int rc = info_parse_opts(argc, argv, 1, &o);

	if (rc)
		return rc;
	if (o.endpoint && viommu_pci_addr_parse(o.endpoint, &addr))
		return info_usage_error("viot: %s", viommu_last_error());
	if (info_load_topology(&o.src, &t))
		return INFO_EXIT_FAILED;
	info_print_warnings(t);
	if (o.endpoint)
		rc = lookup(&o, addr, t);
	else if (o.json)
		print_topology_json(t);
	else
		print_topology_text(t);
	viommu_topology_free(t);
	return rc;
}
