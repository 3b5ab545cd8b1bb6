/* SPDX-License-Identifier: BSD-3-Clause */
/* The five request types of the software device (virtio 1.2, 5.13.6.3 to 5.13.6.8). */
#include <errno.h>
#include <string.h>

#include "sim_iommu_priv.h"

static bool all_zero(const uint8_t *p, size_t len)
{
	uint8_t any = 0;

	for (size_t i = 0; i < len; i++)
		any |= p[i];
	return !any;
}

static bool endpoint_exists(const struct sim_iommu *s, uint32_t ep)
{
	return ep < s->cfg.n_endpoints;
}

/*
 * Re-attaching an endpoint to the domain it is in changes nothing: the
 * detach-first rule of 5.13.6.3.2 is about an endpoint attached to another
 * domain. Moving one is DETACH + ATTACH, done so that a failure (no memory
 * for the new domain) leaves the old attachment in place.
 */
static uint8_t attach(struct sim_iommu *s, uint32_t id, uint32_t ep, bool bypass)
{
	struct sim_domain *old = s->ep_domain[ep];
	struct sim_domain *d = sim_domain_lookup(s, id);

	/* 5.13.6.3.2: a bypass flag inconsistent with an existing domain -> INVAL. */
	if (d && d->bypass != bypass)
		return VIRTIO_IOMMU_S_INVAL;
	if (d && d == old)
		return VIRTIO_IOMMU_S_OK;
	if (!d && sim_domain_create(s, id, bypass, &d))
		return VIRTIO_IOMMU_S_NOMEM;
	if (old)
		sim_domain_detach(s, old, ep);
	sim_domain_attach(s, d, ep);
	return VIRTIO_IOMMU_S_OK;
}

/* virtio 1.2, 5.13.6.3.2 */
uint8_t sim_req_attach(struct sim_iommu *s, const struct virtio_iommu_req_attach *req)
{
	uint32_t known = 0;

	/* ATTACH_F_BYPASS exists only with BYPASS_CONFIG (5.13.6.3); unknown flags MUST fail. */
	if (sim_accepted(s, VIRTIO_IOMMU_F_BYPASS_CONFIG))
		known |= VIRTIO_IOMMU_ATTACH_F_BYPASS;
	if (!all_zero(req->reserved, sizeof(req->reserved)) || (req->flags & ~known))
		return VIRTIO_IOMMU_S_INVAL;
	/* The spec names no status for a domain outside domain_range: RANGE says it. */
	if (req->domain < s->domain_start || req->domain > s->domain_end)
		return VIRTIO_IOMMU_S_RANGE;
	if (!endpoint_exists(s, req->endpoint))
		return VIRTIO_IOMMU_S_NOENT;
	return attach(s, req->domain, req->endpoint, req->flags & VIRTIO_IOMMU_ATTACH_F_BYPASS);
}

/* virtio 1.2, 5.13.6.4.2: reserved is ignored; a wrong domain MAY be INVAL, and is. */
uint8_t sim_req_detach(struct sim_iommu *s, const struct virtio_iommu_req_detach *req)
{
	struct sim_domain *d;

	if (!endpoint_exists(s, req->endpoint))
		return VIRTIO_IOMMU_S_NOENT;
	d = s->ep_domain[req->endpoint];
	if (!d || d->id != req->domain)
		return VIRTIO_IOMMU_S_INVAL;
	sim_domain_detach(s, d, req->endpoint);
	return VIRTIO_IOMMU_S_OK;
}

static uint32_t known_map_flags(const struct sim_iommu *s)
{
	uint32_t known = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;

	/* 5.13.6.5: the MMIO flag is only available with F_MMIO negotiated. */
	if (sim_accepted(s, VIRTIO_IOMMU_F_MMIO))
		known |= VIRTIO_IOMMU_MAP_F_MMIO;
	return known;
}

static bool hits_resv(const struct sim_iommu *s, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < s->cfg.n_resv; i++)
		if (start <= s->cfg.resv[i].end && end >= s->cfg.resv[i].start)
			return true;
	return false;
}

/*
 * RANGE cases of a MAP: outside input_range (5.13.6: such a MAP fails),
 * misaligned on the granule (5.13.6.5.2; virt_end + 1 wraps to 0 at the
 * top of the address space, which is aligned), a physical range that
 * wraps, or a RESV_MEM region (5.13.6.8.1.2 asks the device to reject
 * such a MAP without naming a status: it is an address the driver may
 * not use, hence RANGE).
 */
static bool map_out_of_range(const struct sim_iommu *s, const struct virtio_iommu_req_map *req)
{
	uint64_t size_minus_1 = req->virt_end - req->virt_start;

	if (req->virt_start < s->input_start || req->virt_end > s->input_end)
		return true;
	if ((req->virt_start | (req->virt_end + 1) | req->phys_start) & (s->granule - 1))
		return true;
	if (req->phys_start + size_minus_1 < req->phys_start)
		return true;
	return hits_resv(s, req->virt_start, req->virt_end);
}

/*
 * An overlap is INVAL even when the mapping cap is reached (NOMEM comes
 * after it); below the cap, the insertion's own overlap check says it.
 */
static uint8_t add_mapping(struct sim_iommu *s, struct sim_domain *d, const struct sim_mapping *m)
{
	int rc;

	if (s->stats.mappings >= s->cfg.max_mappings)
		return sim_mappings_find_overlap(&d->maps, m->virt_start, m->virt_end) ?
			       VIRTIO_IOMMU_S_INVAL : VIRTIO_IOMMU_S_NOMEM;
	rc = sim_mappings_insert(&d->maps, m);
	if (rc)
		return rc == -EEXIST ? VIRTIO_IOMMU_S_INVAL : VIRTIO_IOMMU_S_NOMEM;
	s->stats.mappings++;
	return VIRTIO_IOMMU_S_OK;
}

/* virtio 1.2, 5.13.6.5.2 */
uint8_t sim_req_map(struct sim_iommu *s, const struct virtio_iommu_req_map *req)
{
	struct sim_domain *d;
	struct sim_mapping m = {
		.virt_start = req->virt_start,
		.virt_end = req->virt_end,
		.phys_start = req->phys_start,
		.flags = req->flags,
	};

	if (!sim_accepted(s, VIRTIO_IOMMU_F_MAP_UNMAP))
		return VIRTIO_IOMMU_S_UNSUPP;
	if (req->flags & ~known_map_flags(s))
		return VIRTIO_IOMMU_S_INVAL;
	d = sim_domain_lookup(s, req->domain);
	if (!d)
		return VIRTIO_IOMMU_S_NOENT;
	/* A bypass domain has no mappings; virt_end < virt_start is no range. */
	if (d->bypass || req->virt_end < req->virt_start)
		return VIRTIO_IOMMU_S_INVAL;
	if (map_out_of_range(s, req))
		return VIRTIO_IOMMU_S_RANGE;
	return add_mapping(s, d, &m);
}

/*
 * virtio 1.2, 5.13.6.6.2. A non-zero reserved field MAY be INVAL: it is,
 * and nothing is unmapped. A range that would split a mapping is RANGE
 * with nothing removed (the SHOULD, which QEMU does not follow).
 */
uint8_t sim_req_unmap(struct sim_iommu *s, const struct virtio_iommu_req_unmap *req)
{
	struct sim_domain *d;
	long removed;

	if (!sim_accepted(s, VIRTIO_IOMMU_F_MAP_UNMAP))
		return VIRTIO_IOMMU_S_UNSUPP;
	if (!all_zero(req->reserved, sizeof(req->reserved)))
		return VIRTIO_IOMMU_S_INVAL;
	d = sim_domain_lookup(s, req->domain);
	if (!d)
		return VIRTIO_IOMMU_S_NOENT;
	if (d->bypass || req->virt_end < req->virt_start)
		return VIRTIO_IOMMU_S_INVAL;
	removed = sim_mappings_remove_range(&d->maps, req->virt_start, req->virt_end);
	if (removed < 0)
		return VIRTIO_IOMMU_S_RANGE;
	s->stats.mappings -= removed;
	return VIRTIO_IOMMU_S_OK;
}

/* One RESV_MEM property (5.13.6.8.1): 4-byte header with length 20, then the body. */
static void put_resv_mem(uint8_t *at, const struct sim_iommu_resv *r)
{
	struct virtio_iommu_probe_resv_mem p = {
		.head = {
			.type = VIRTIO_IOMMU_PROBE_T_RESV_MEM,
			.length = sizeof(p) - sizeof(p.head),
		},
		.subtype = r->subtype,
		.start = r->start,
		.end = r->end,
	};

	memcpy(at, &p, sizeof(p));
}

/*
 * virtio 1.2, 5.13.6.7.2: properties area smaller than probe_size -> INVAL
 * with no property written. The caller zeroed props, which leaves a NONE
 * property (type 0) after the last one and zeroes up to probe_size.
 */
uint8_t sim_req_probe(struct sim_iommu *s, const struct virtio_iommu_req_probe *req, uint8_t *props,
		      size_t props_len)
{
	if (props_len < s->cfg.probe_size)
		return VIRTIO_IOMMU_S_INVAL;
	if (!endpoint_exists(s, req->endpoint))
		return VIRTIO_IOMMU_S_NOENT;
	for (unsigned i = 0; i < s->cfg.n_resv; i++)
		put_resv_mem(props + i * sizeof(struct virtio_iommu_probe_resv_mem),
			     &s->cfg.resv[i]);
	return VIRTIO_IOMMU_S_OK;
}
