/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACPI VIOT (Virtual I/O Translation table) parser.
 *
 * Layout (ACPI 6.4, section 5.2.31; all fields little-endian):
 *   0  standard 36-byte ACPI header: "VIOT", length u32@4, revision u8@8,
 *      checksum u8@9 (all `length` bytes sum to 0), OEM ID [6]@10,
 *      OEM table ID [8]@16
 *  36  node_count u16, node_offset u16, reserved [8]
 *  node_offset: node_count nodes, each {type u8, reserved u8, length u16, ...},
 *      walked by their length.
 *
 * The table is untrusted: every offset and length is checked against the
 * table before it is used, and the first failed check rejects the table
 * with a message naming the byte offset.
 */
#include <errno.h>
#include <string.h>

#include <uviommu/topology.h>

#include "builder.h"
#include "../common/error_internal.h"

#define ACPI_HEADER_LEN 36
#define VIOT_HEADER_LEN 48
#define VIOT_NODE_HEADER_LEN 4

/* Minimum node lengths per type (ACPI 6.4, tables 5.130-5.134). */
#define VIOT_PCI_RANGE_LEN 24
#define VIOT_MMIO_ENDPOINT_LEN 24
#define VIOT_VIRTIO_PCI_LEN 16
#define VIOT_VIRTIO_MMIO_LEN 16

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)le16_at(p) | (uint32_t)le16_at(p + 2) << 16;
}

static uint64_t le64_at(const uint8_t *p)
{
	return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

static int check_header(const uint8_t *t, size_t size, uint32_t *length)
{
	uint8_t sum = 0;

	if (size < ACPI_HEADER_LEN)
		return uvi_fail(-EINVAL,
				   "VIOT: %zu bytes is shorter than the 36-byte ACPI table header (offset 0)",
				   size);
	if (memcmp(t, "VIOT", 4) != 0)
		return uvi_fail(-EINVAL,
				   "VIOT: bad signature at offset 0 (expected \"VIOT\", got 0x%02x 0x%02x 0x%02x 0x%02x)",
				   t[0], t[1], t[2], t[3]);
	*length = le32_at(t + 4);
	if (*length < VIOT_HEADER_LEN)
		return uvi_fail(-EINVAL,
				   "VIOT: length %u at offset 4 is shorter than the 48-byte VIOT header",
				   *length);
	if (*length > size)
		return uvi_fail(-EINVAL,
				   "VIOT: length %u at offset 4 exceeds the %zu bytes available (truncated table)",
				   *length, size);
	for (uint32_t i = 0; i < *length; i++)
		sum = (uint8_t)(sum + t[i]);
	if (sum != 0)
		return uvi_fail(-EINVAL,
				   "VIOT: checksum at offset 9 is wrong (bytes sum to 0x%02x, not 0)",
				   sum);
	return 0;
}

static void copy_oem_string(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static size_t min_node_length(uint8_t type)
{
	switch (type) {
	case VIOMMU_NODE_PCI_RANGE: return VIOT_PCI_RANGE_LEN;
	case VIOMMU_NODE_MMIO_ENDPOINT: return VIOT_MMIO_ENDPOINT_LEN;
	case VIOMMU_NODE_VIRTIO_PCI_IOMMU: return VIOT_VIRTIO_PCI_LEN;
	case VIOMMU_NODE_VIRTIO_MMIO_IOMMU: return VIOT_VIRTIO_MMIO_LEN;
	default: return VIOT_NODE_HEADER_LEN;
	}
}

static int add_node(struct topo_builder *b, const uint8_t *n, uint32_t offset)
{
	uint8_t type = n[0];

	switch (type) {
	case VIOMMU_NODE_PCI_RANGE:
		return topo_builder_add_endpoint(b, &(struct viommu_topo_endpoint){
			.offset = offset, .type = VIOMMU_NODE_PCI_RANGE,
			.endpoint_start = le32_at(n + 4),
			.segment_start = le16_at(n + 8), .segment_end = le16_at(n + 10),
			.bdf_start = le16_at(n + 12), .bdf_end = le16_at(n + 14),
			.iommu_offset = le16_at(n + 16),
		});
	case VIOMMU_NODE_MMIO_ENDPOINT:
		return topo_builder_add_endpoint(b, &(struct viommu_topo_endpoint){
			.offset = offset, .type = VIOMMU_NODE_MMIO_ENDPOINT,
			.endpoint_id = le32_at(n + 4), .base = le64_at(n + 8),
			.iommu_offset = le16_at(n + 16),
		});
	case VIOMMU_NODE_VIRTIO_PCI_IOMMU:
		return topo_builder_add_iommu(b, &(struct viommu_topo_iommu){
			.offset = offset, .type = VIOMMU_NODE_VIRTIO_PCI_IOMMU,
			.pci = { .segment = le16_at(n + 4), .bdf = le16_at(n + 6) },
		});
	case VIOMMU_NODE_VIRTIO_MMIO_IOMMU:
		return topo_builder_add_iommu(b, &(struct viommu_topo_iommu){
			.offset = offset, .type = VIOMMU_NODE_VIRTIO_MMIO_IOMMU,
			.base = le64_at(n + 8),
		});
	default:
		/* ACPI 6.4 5.2.31: unknown node types are to be skipped. */
		return topo_builder_warn(b, offset, "skipped node of unknown type %u (%u bytes)",
					 type, le16_at(n + 2));
	}
}

/* Check the node header at `offset` and return its length in *node_len. */
static int check_node(const uint8_t *t, uint32_t length, uint32_t offset,
		      uint16_t *node_len)
{
	uint8_t type;

	if ((uint64_t)offset + VIOT_NODE_HEADER_LEN > length)
		return uvi_fail(-EINVAL,
				   "VIOT: node header at offset %u runs past the end of the table (%u bytes)",
				   offset, length);
	type = t[offset];
	*node_len = le16_at(t + offset + 2);
	if (*node_len < min_node_length(type))
		return uvi_fail(-EINVAL,
				   "VIOT: node at offset %u (type %u) has length %u, below the minimum %zu",
				   offset, type, *node_len, min_node_length(type));
	if ((uint64_t)offset + *node_len > length)
		return uvi_fail(-EINVAL,
				   "VIOT: node at offset %u (length %u) runs past the end of the table (%u bytes)",
				   offset, *node_len, length);
	return 0;
}

static int walk_nodes(struct topo_builder *b, const uint8_t *t, uint32_t length)
{
	uint16_t count = le16_at(t + 36);
	uint32_t offset = le16_at(t + 38);

	if (count == 0)
		return topo_builder_warn(b, 36, "table has no nodes");
	if (offset < VIOT_HEADER_LEN || offset >= length)
		return uvi_fail(-EINVAL,
				   "VIOT: node offset %u at offset 38 is outside the node area [48, %u)",
				   offset, length);
	for (unsigned i = 0; i < count; i++) {
		uint16_t node_len = 0;
		int rc = check_node(t, length, offset, &node_len);

		if (!rc)
			rc = add_node(b, t + offset, offset);
		if (rc)
			return rc;
		offset += node_len; /* node_len >= 4, so the walk always advances */
	}
	return 0;
}

int viommu_topology_parse_viot(const void *table, size_t size,
			       struct viommu_topology **out)
{
	const uint8_t *t = table;
	struct topo_builder b;
	uint32_t length = 0;
	int rc;

	if (!table || !out)
		return uvi_fail(-EINVAL, "VIOT: NULL argument");
	rc = check_header(t, size, &length);
	if (rc)
		return rc;
	rc = topo_builder_init(&b, VIOMMU_TOPOLOGY_ACPI_VIOT);
	if (rc)
		return rc;
	b.topo->length = length;
	b.topo->revision = t[8];
	copy_oem_string(b.topo->oem_id, t + 10, 6);
	copy_oem_string(b.topo->oem_table_id, t + 16, 8);
	rc = walk_nodes(&b, t, length);
	if (rc) {
		topo_builder_abort(&b);
		return rc;
	}
	return topo_builder_finish(&b, out);
}
