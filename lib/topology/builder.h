/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TOPOLOGY_BUILDER_H
#define UVIOMMU_TOPOLOGY_BUILDER_H

/*
 * Both topology sources (ACPI VIOT and the text format) fill the same
 * model through this builder, and both go through the same consistency
 * checks in topo_builder_finish(), so a rule is written once.
 */

#include <uviommu/topology.h>

/* Upper bound on nodes: real tables have one node per host bridge or device. */
#define TOPO_MAX_NODES 4096

struct topo_builder {
	struct viommu_topology *topo;
	size_t cap_iommus, cap_endpoints, cap_warnings;
	const char *where; /* "offset" (VIOT bytes) or "line" (text) */
};

int topo_builder_init(struct topo_builder *b, enum viommu_topology_source source);
int topo_builder_add_iommu(struct topo_builder *b, const struct viommu_topo_iommu *iommu);
int topo_builder_add_endpoint(struct topo_builder *b, const struct viommu_topo_endpoint *ep);
int topo_builder_warn(struct topo_builder *b, uint32_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Link every endpoint to its IOMMU and check the model as a whole. On
 * success hands the model to *out; on failure frees it. Either way the
 * builder is spent.
 */
int topo_builder_finish(struct topo_builder *b, struct viommu_topology **out);
void topo_builder_abort(struct topo_builder *b);

#endif
