/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TOPOLOGY_H
#define UVIOMMU_TOPOLOGY_H

/*
 * Which functions sit behind which virtio-iommu, under which endpoint IDs.
 *
 * The model comes from the ACPI VIOT table (the kernel exposes it as
 * /sys/firmware/acpi/tables/VIOT) or, on guests without ACPI, from a small
 * text file (format in doc/topology-format.md). Both sources are untrusted
 * input: every field is checked before it reaches the model, and a table
 * that fails a check is rejected as a whole.
 */

#include <stdint.h>
#include <stddef.h>
#include <uviommu/pci_addr.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIOMMU_VIOT_SYSFS_PATH "/sys/firmware/acpi/tables/VIOT"

/* Node types: the numbers are the VIOT node type codes. */
enum viommu_node_type {
	VIOMMU_NODE_PCI_RANGE = 1,
	VIOMMU_NODE_MMIO_ENDPOINT = 2,
	VIOMMU_NODE_VIRTIO_PCI_IOMMU = 3,
	VIOMMU_NODE_VIRTIO_MMIO_IOMMU = 4,
};

enum viommu_topology_source {
	VIOMMU_TOPOLOGY_ACPI_VIOT,
	VIOMMU_TOPOLOGY_TEXT,
};

struct viommu_topo_iommu {
	/* Byte offset of the node in the VIOT (line number for text input). */
	uint32_t offset;
	enum viommu_node_type type; /* VIRTIO_PCI_IOMMU or VIRTIO_MMIO_IOMMU */
	struct viommu_pci_addr pci; /* VIRTIO_PCI_IOMMU only */
	uint64_t base;              /* VIRTIO_MMIO_IOMMU only */
};

struct viommu_topo_endpoint {
	uint32_t offset;
	enum viommu_node_type type; /* PCI_RANGE or MMIO_ENDPOINT */
	uint32_t endpoint_start;    /* PCI_RANGE: ID of (segment_start, bdf_start) */
	uint16_t segment_start, segment_end; /* PCI_RANGE, inclusive */
	uint16_t bdf_start, bdf_end;         /* PCI_RANGE, inclusive */
	uint32_t endpoint_id;       /* MMIO_ENDPOINT */
	uint64_t base;              /* MMIO_ENDPOINT */
	uint32_t iommu_offset;      /* offset of the IOMMU node it translates through */
	size_t iommu_index;         /* index of that IOMMU in viommu_topology.iommus */
};

/* Something the parser accepted but wants a human to know about. */
struct viommu_topo_warning {
	uint32_t offset;
	char message[128];
};

struct viommu_topology {
	enum viommu_topology_source source;
	uint32_t length;   /* VIOT: table length from its header; text: bytes */
	uint8_t revision;  /* VIOT header revision (0 for text) */
	char oem_id[7];    /* NUL-terminated, "" for text */
	char oem_table_id[9];
	size_t n_iommus;
	struct viommu_topo_iommu *iommus;
	size_t n_endpoints;
	struct viommu_topo_endpoint *endpoints;
	size_t n_warnings;
	struct viommu_topo_warning *warnings;
};

/* Where a function or MMIO device sits: its IOMMU and its endpoint ID. */
struct viommu_endpoint_ref {
	size_t iommu_index;
	uint32_t endpoint_id;
	const struct viommu_topo_endpoint *node;
};

/*
 * Parse a VIOT image. On success *out owns a new model (free it with
 * viommu_topology_free). On failure returns -EINVAL (malformed) or -ENOMEM;
 * viommu_last_error() names the check that failed and the byte offset.
 */
int viommu_topology_parse_viot(const void *table, size_t size,
			       struct viommu_topology **out);

/* Read and parse a VIOT file; path NULL means VIOMMU_VIOT_SYSFS_PATH. */
int viommu_topology_load_viot(const char *path, struct viommu_topology **out);

/* Parse the text topology format; errors name the line. */
int viommu_topology_parse_text(const char *text, size_t size,
			       struct viommu_topology **out);
int viommu_topology_load_text(const char *path, struct viommu_topology **out);

void viommu_topology_free(struct viommu_topology *topo);

/*
 * Find the IOMMU and endpoint ID of a PCI function.
 * Returns 0 and fills *out; -ENOENT if no node covers the function;
 * -ENODEV if the function is one of the IOMMUs itself (an IOMMU never
 * translates its own DMA, so it is never an endpoint).
 */
int viommu_topology_lookup_pci(const struct viommu_topology *topo,
			       struct viommu_pci_addr addr,
			       struct viommu_endpoint_ref *out);

/* Same for an MMIO device identified by its base address. */
int viommu_topology_lookup_mmio(const struct viommu_topology *topo,
				uint64_t base, struct viommu_endpoint_ref *out);

/* Index of the virtio-pci IOMMU at addr, or -ENOENT (-EINVAL: NULL topology). */
int viommu_topology_find_pci_iommu(const struct viommu_topology *topo,
				   struct viommu_pci_addr addr);

const char *viommu_node_type_name(enum viommu_node_type type);

#ifdef __cplusplus
}
#endif

#endif
