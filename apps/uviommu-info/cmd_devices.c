/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info devices: virtio-iommu functions on the bus and their endpoints. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "info.h"
#include "../common/json.h"

struct scan {
	struct viommu_pci_func *funcs;
	size_t n;
	struct viommu_topology *topo; /* NULL when the machine describes none */
};

/* The topology is optional here: without one, endpoints are unknown. */
static int load_optional_topology(const struct info_opts *o, struct scan *s)
{
	int rc;

	s->topo = NULL;
	if (o->src.viot_path || o->src.text_path)
		return info_load_topology(&o->src, &s->topo);
	rc = viommu_topology_load_viot(NULL, &s->topo);
	if (rc == -ENOENT) {
		s->topo = NULL;
		return 0;
	}
	if (rc)
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
	return rc;
}

/* Index of f's IOMMU in the topology, or -1. */
static int iommu_index_of(const struct scan *s, const struct viommu_pci_func *f)
{
	return s->topo ? viommu_topology_find_pci_iommu(s->topo, f->addr) : -1;
}

static int endpoint_of(const struct scan *s, const struct viommu_pci_func *f, int iommu,
		       uint32_t *id)
{
	struct viommu_endpoint_ref ref;

	if (!s->topo || viommu_topology_lookup_pci(s->topo, f->addr, &ref) ||
	    (int)ref.iommu_index != iommu)
		return 0;
	*id = ref.endpoint_id;
	return 1;
}

static const char *driver_name(const struct viommu_pci_func *f)
{
	return f->driver[0] ? f->driver : "(none)";
}

static void print_text(const struct scan *s, const struct viommu_pci_func *m)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int idx = iommu_index_of(s, m);
	unsigned shown = 0;

	viommu_pci_addr_format(m->addr, name, sizeof(name));
	printf("%s virtio-iommu [%04x:%04x] driver: %s, NUMA node %d\n", name, m->vendor_id,
	       m->device_id, driver_name(m), m->numa_node);
	if (idx < 0) {
		printf("    endpoints: unknown (%s)\n",
		       s->topo ? "not described by the topology" : "no VIOT; use --topology");
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		uint32_t id;

		if (!endpoint_of(s, &s->funcs[i], idx, &id))
			continue;
		viommu_pci_addr_format(s->funcs[i].addr, name, sizeof(name));
		printf("    endpoint %-6u %s [%04x:%04x] driver: %s\n", id, name,
		       s->funcs[i].vendor_id, s->funcs[i].device_id, driver_name(&s->funcs[i]));
		shown++;
	}
	if (!shown)
		printf("    endpoints: none present on the bus\n");
}

static void print_json_iommu(struct json *j, const struct scan *s, const struct viommu_pci_func *m)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int idx = iommu_index_of(s, m);

	json_object_begin(j, NULL);
	viommu_pci_addr_format(m->addr, name, sizeof(name));
	json_string(j, "device", name);
	json_string(j, "driver", m->driver);
	if (m->numa_node < 0)
		json_null(j, "numa_node");
	else
		json_uint(j, "numa_node", (uint64_t)m->numa_node);
	if (idx < 0)
		json_null(j, "iommu");
	else
		json_uint(j, "iommu", s->topo->iommus[idx].offset);
	json_array_begin(j, "endpoints");
	for (size_t i = 0; idx >= 0 && i < s->n; i++) {
		uint32_t id;

		if (!endpoint_of(s, &s->funcs[i], idx, &id))
			continue;
		json_object_begin(j, NULL);
		viommu_pci_addr_format(s->funcs[i].addr, name, sizeof(name));
		json_string(j, "device", name);
		json_uint(j, "endpoint_id", id);
		json_string(j, "driver", s->funcs[i].driver);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void print_all(const struct scan *s, int as_json)
{
	struct json j;
	unsigned found = 0;

	if (as_json) {
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_bool(&j, "topology", s->topo != NULL);
		json_array_begin(&j, "iommus");
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!viommu_pci_is_virtio_iommu(&s->funcs[i]))
			continue;
		found++;
		if (as_json)
			print_json_iommu(&j, s, &s->funcs[i]);
		else
			print_text(s, &s->funcs[i]);
	}
	if (as_json) {
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else if (!found) {
		printf("no virtio-iommu (PCI %04x:%04x) on this machine's PCI bus (%zu functions scanned)\n",
		       VIOMMU_PCI_VENDOR_VIRTIO, VIOMMU_PCI_DEVICE_VIRTIO_IOMMU, s->n);
	}
}

int cmd_devices(int argc, char **argv)
{
	struct info_opts o;
	struct scan s = {0};
	int rc = info_parse_opts(argc, argv, 0, &o);

	if (rc)
		return rc;
	if (load_optional_topology(&o, &s))
		return INFO_EXIT_FAILED;
	if (s.topo)
		info_print_warnings(s.topo);
	rc = viommu_pci_scan(&s.funcs, &s.n);
	if (rc) {
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
		viommu_topology_free(s.topo);
		return INFO_EXIT_FAILED;
	}
	print_all(&s, o.json);
	viommu_pci_scan_free(s.funcs);
	viommu_topology_free(s.topo);
	return INFO_EXIT_OK;
}
