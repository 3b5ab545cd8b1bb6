/* SPDX-License-Identifier: BSD-3-Clause */
/* Human and JSON renderings of a topology model. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "info.h"
#include "../common/json.h"

/* OEM strings come from firmware: show only printable characters. */
static void printable(const char *in, char *out, size_t size)
{
	size_t i = 0;

	for (; in[i] && i + 1 < size; i++)
		out[i] = isprint((unsigned char)in[i]) ? in[i] : '.';
	out[i] = '\0';
}

static const char *pci_name(struct viommu_pci_addr a, char *buf)
{
	viommu_pci_addr_format(a, buf, VIOMMU_PCI_ADDR_STRLEN);
	return buf;
}

static void print_iommu_text(const struct viommu_topo_iommu *m, const char *where)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (m->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU) {
		printf("[%s %u] virtio-pci IOMMU\n", where, m->offset);
		printf("    segment          0x%04x\n", m->pci.segment);
		printf("    bdf              0x%04x  (%s)\n", m->pci.bdf, pci_name(m->pci, name));
	} else {
		printf("[%s %u] virtio-mmio IOMMU\n", where, m->offset);
		printf("    base_address     0x%016" PRIx64 "\n", m->base);
	}
}

static void print_iommu_ref(const struct viommu_topology *t, const struct viommu_topo_endpoint *ep)
{
	const struct viommu_topo_iommu *m = &t->iommus[ep->iommu_index];
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (m->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU)
		printf("    output_node      %u  (virtio-pci IOMMU %s)\n", ep->iommu_offset,
		       pci_name(m->pci, name));
	else
		printf("    output_node      %u  (virtio-mmio IOMMU 0x%" PRIx64 ")\n",
		       ep->iommu_offset, m->base);
}

static void print_endpoint_text(const struct viommu_topology *t,
				const struct viommu_topo_endpoint *ep, const char *where)
{
	char a[VIOMMU_PCI_ADDR_STRLEN], b[VIOMMU_PCI_ADDR_STRLEN];

	if (ep->type == VIOMMU_NODE_PCI_RANGE) {
		uint64_t last = ((uint64_t)(ep->segment_end - ep->segment_start) << 16) +
				(uint64_t)(ep->bdf_end - ep->bdf_start) + ep->endpoint_start;

		printf("[%s %u] PCI range\n", where, ep->offset);
		printf("    endpoint_start   %u  (IDs %u..%" PRIu64 ")\n", ep->endpoint_start,
		       ep->endpoint_start, last);
		printf("    segment_start    0x%04x\n    segment_end      0x%04x\n",
		       ep->segment_start, ep->segment_end);
		printf("    bdf_start        0x%04x  (%s)\n", ep->bdf_start,
		       pci_name((struct viommu_pci_addr){ ep->segment_start, ep->bdf_start }, a));
		printf("    bdf_end          0x%04x  (%s)\n", ep->bdf_end,
		       pci_name((struct viommu_pci_addr){ ep->segment_end, ep->bdf_end }, b));
	} else {
		printf("[%s %u] MMIO endpoint\n", where, ep->offset);
		printf("    endpoint_id      %u\n", ep->endpoint_id);
		printf("    base_address     0x%016" PRIx64 "\n", ep->base);
	}
	print_iommu_ref(t, ep);
}

void print_topology_text(const struct viommu_topology *t)
{
	const char *where = t->source == VIOMMU_TOPOLOGY_TEXT ? "line" : "offset";
	char oem[sizeof(t->oem_id)], table[sizeof(t->oem_table_id)];

	if (t->source == VIOMMU_TOPOLOGY_ACPI_VIOT) {
		printable(t->oem_id, oem, sizeof(oem));
		printable(t->oem_table_id, table, sizeof(table));
		printf("VIOT  Virtual I/O Translation table: %u bytes, revision %u, OEM \"%s\" table \"%s\"\n",
		       t->length, t->revision, oem, table);
	} else {
		printf("Text topology: %u bytes\n", t->length);
	}
	printf("%zu IOMMU(s), %zu endpoint node(s)\n\n", t->n_iommus, t->n_endpoints);
	for (size_t i = 0; i < t->n_iommus; i++)
		print_iommu_text(&t->iommus[i], where);
	for (size_t i = 0; i < t->n_endpoints; i++)
		print_endpoint_text(t, &t->endpoints[i], where);
}

static void iommu_json(struct json *j, const struct viommu_topo_iommu *m)
{
	json_object_begin(j, NULL);
	json_uint(j, "offset", m->offset);
	json_string(j, "type", viommu_node_type_name(m->type));
	if (m->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU) {
		json_uint(j, "segment", m->pci.segment);
		json_uint(j, "bdf", m->pci.bdf);
	} else {
		json_hex(j, "base", m->base);
	}
	json_object_end(j);
}

static void endpoint_json(struct json *j, const struct viommu_topo_endpoint *ep)
{
	json_object_begin(j, NULL);
	json_uint(j, "offset", ep->offset);
	json_string(j, "type", viommu_node_type_name(ep->type));
	if (ep->type == VIOMMU_NODE_PCI_RANGE) {
		json_uint(j, "endpoint_start", ep->endpoint_start);
		json_uint(j, "segment_start", ep->segment_start);
		json_uint(j, "segment_end", ep->segment_end);
		json_uint(j, "bdf_start", ep->bdf_start);
		json_uint(j, "bdf_end", ep->bdf_end);
	} else {
		json_uint(j, "endpoint", ep->endpoint_id);
		json_hex(j, "base", ep->base);
	}
	json_uint(j, "iommu", ep->iommu_offset);
	json_object_end(j);
}

void print_topology_json(const struct viommu_topology *t)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_uint(&j, "length", t->length);
	json_uint(&j, "revision", t->revision);
	json_string(&j, "oem_id", t->oem_id);
	json_array_begin(&j, "iommus");
	for (size_t i = 0; i < t->n_iommus; i++)
		iommu_json(&j, &t->iommus[i]);
	json_array_end(&j);
	json_array_begin(&j, "endpoints");
	for (size_t i = 0; i < t->n_endpoints; i++)
		endpoint_json(&j, &t->endpoints[i]);
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}
