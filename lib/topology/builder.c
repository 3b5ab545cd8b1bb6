/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder.h"
#include "../common/error_internal.h"

/* Grow *array (of elem bytes each) so that it holds one more than *count. */
static int reserve_one(void **array, size_t *cap, size_t count, size_t elem)
{
	size_t new_cap;
	void *p;

	if (count < *cap)
		return 0;
	if (count >= TOPO_MAX_NODES)
		return uvi_fail(-EINVAL, "topology: more than %d nodes", TOPO_MAX_NODES);
	new_cap = *cap ? *cap * 2 : 8;
	p = realloc(*array, new_cap * elem);
	if (!p)
		return uvi_fail(-ENOMEM, "topology: out of memory");
	*array = p;
	*cap = new_cap;
	return 0;
}

int topo_builder_init(struct topo_builder *b, enum viommu_topology_source source)
{
	*b = (struct topo_builder){0};
	b->topo = calloc(1, sizeof(*b->topo));
	if (!b->topo)
		return uvi_fail(-ENOMEM, "topology: out of memory");
	b->topo->source = source;
	b->where = source == VIOMMU_TOPOLOGY_TEXT ? "line" : "offset";
	return 0;
}

int topo_builder_add_iommu(struct topo_builder *b, const struct viommu_topo_iommu *iommu)
{
	struct viommu_topology *t = b->topo;
	int rc = reserve_one((void **)&t->iommus, &b->cap_iommus, t->n_iommus,
			     sizeof(*t->iommus));

	if (rc)
		return rc;
	t->iommus[t->n_iommus++] = *iommu;
	return 0;
}

int topo_builder_add_endpoint(struct topo_builder *b, const struct viommu_topo_endpoint *ep)
{
	struct viommu_topology *t = b->topo;
	int rc = reserve_one((void **)&t->endpoints, &b->cap_endpoints,
			     t->n_endpoints, sizeof(*t->endpoints));

	if (rc)
		return rc;
	t->endpoints[t->n_endpoints++] = *ep;
	return 0;
}

int topo_builder_warn(struct topo_builder *b, uint32_t offset, const char *fmt, ...)
{
	struct viommu_topology *t = b->topo;
	struct viommu_topo_warning *w;
	va_list ap;
	int rc = reserve_one((void **)&t->warnings, &b->cap_warnings,
			     t->n_warnings, sizeof(*t->warnings));

	if (rc)
		return rc;
	w = &t->warnings[t->n_warnings++];
	w->offset = offset;
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
	return 0;
}

static int same_iommu(const struct viommu_topo_iommu *a, const struct viommu_topo_iommu *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == VIOMMU_NODE_VIRTIO_PCI_IOMMU)
		return a->pci.segment == b->pci.segment && a->pci.bdf == b->pci.bdf;
	return a->base == b->base;
}

static int check_iommus_distinct(const struct topo_builder *b)
{
	const struct viommu_topology *t = b->topo;

	for (size_t i = 0; i < t->n_iommus; i++)
		for (size_t j = 0; j < i; j++)
			if (same_iommu(&t->iommus[i], &t->iommus[j]))
				return uvi_fail(-EINVAL,
						   "topology: IOMMU node at %s %u describes the same device as the node at %s %u",
						   b->where, t->iommus[i].offset, b->where,
						   t->iommus[j].offset);
	return 0;
}

static int link_to_iommu(const struct topo_builder *b, struct viommu_topo_endpoint *ep)
{
	const struct viommu_topology *t = b->topo;

	for (size_t i = 0; i < t->n_iommus; i++) {
		if (t->iommus[i].offset == ep->iommu_offset) {
			ep->iommu_index = i;
			return 0;
		}
	}
	return uvi_fail(-EINVAL,
			   "topology: endpoint node at %s %u: output node %u is not an IOMMU node",
			   b->where, ep->offset, ep->iommu_offset);
}

/* The spec does not require sorted nodes, only that each range is sane. */
static int check_pci_range(const struct topo_builder *b, const struct viommu_topo_endpoint *ep)
{
	uint64_t last_id;

	if (ep->segment_start > ep->segment_end)
		return uvi_fail(-EINVAL,
				   "topology: PCI range node at %s %u: segment start 0x%x is above segment end 0x%x",
				   b->where, ep->offset, ep->segment_start, ep->segment_end);
	if (ep->bdf_start > ep->bdf_end)
		return uvi_fail(-EINVAL,
				   "topology: PCI range node at %s %u: BDF start 0x%04x is above BDF end 0x%04x",
				   b->where, ep->offset, ep->bdf_start, ep->bdf_end);
	last_id = ((uint64_t)(ep->segment_end - ep->segment_start) << 16) +
		  (uint64_t)(ep->bdf_end - ep->bdf_start) + ep->endpoint_start;
	if (last_id > UINT32_MAX)
		return uvi_fail(-EINVAL,
				   "topology: PCI range node at %s %u: endpoint IDs overflow 32 bits (last would be 0x%llx)",
				   b->where, ep->offset, (unsigned long long)last_id);
	return 0;
}

static int ranges_intersect(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

static int endpoints_overlap(const struct viommu_topo_endpoint *a,
			     const struct viommu_topo_endpoint *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == VIOMMU_NODE_MMIO_ENDPOINT)
		return a->base == b->base;
	return ranges_intersect(a->segment_start, a->segment_end,
				b->segment_start, b->segment_end) &&
	       ranges_intersect(a->bdf_start, a->bdf_end, b->bdf_start, b->bdf_end);
}

/*
 * Two nodes claiming the same function would make its IOMMU (or endpoint
 * ID) ambiguous; attaching the wrong one silently breaks isolation, so an
 * overlap is an error rather than "first match wins".
 */
static int check_no_overlap(const struct topo_builder *b)
{
	const struct viommu_topology *t = b->topo;

	for (size_t i = 0; i < t->n_endpoints; i++)
		for (size_t j = 0; j < i; j++)
			if (endpoints_overlap(&t->endpoints[i], &t->endpoints[j]))
				return uvi_fail(-EINVAL,
						   "topology: endpoint node at %s %u overlaps the node at %s %u",
						   b->where, t->endpoints[i].offset, b->where,
						   t->endpoints[j].offset);
	return 0;
}

static int check_model(struct topo_builder *b)
{
	struct viommu_topology *t = b->topo;
	int rc = check_iommus_distinct(b);

	for (size_t i = 0; !rc && i < t->n_endpoints; i++) {
		struct viommu_topo_endpoint *ep = &t->endpoints[i];

		rc = link_to_iommu(b, ep);
		if (!rc && ep->type == VIOMMU_NODE_PCI_RANGE)
			rc = check_pci_range(b, ep);
	}
	return rc ? rc : check_no_overlap(b);
}

int topo_builder_finish(struct topo_builder *b, struct viommu_topology **out)
{
	int rc = check_model(b);

	if (rc) {
		topo_builder_abort(b);
		return rc;
	}
	*out = b->topo;
	b->topo = NULL;
	return 0;
}

void topo_builder_abort(struct topo_builder *b)
{
	viommu_topology_free(b->topo);
	b->topo = NULL;
}
