/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The software virtio-iommu as an object: configuration, reset, features,
 * config.bypass, and the framing of requests (head, tail, sizes, fault
 * injection) before sim_requests.c gives them their meaning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_iommu_priv.h"
#include "../../lib/common/error_internal.h"

/* The VIRTIO_IOMMU_F_* bits of 5.13.3, all of which this device can offer. */
static const uint64_t device_features =
	(UINT64_C(1) << VIRTIO_IOMMU_F_INPUT_RANGE) | (UINT64_C(1) << VIRTIO_IOMMU_F_DOMAIN_RANGE) |
	(UINT64_C(1) << VIRTIO_IOMMU_F_MAP_UNMAP) | (UINT64_C(1) << VIRTIO_IOMMU_F_BYPASS) |
	(UINT64_C(1) << VIRTIO_IOMMU_F_PROBE) | (UINT64_C(1) << VIRTIO_IOMMU_F_MMIO) |
	(UINT64_C(1) << VIRTIO_IOMMU_F_BYPASS_CONFIG);

static int check_resv(const struct sim_iommu_config *c)
{
	if (c->n_resv > SIM_IOMMU_MAX_RESV)
		return uvi_fail(-EINVAL, "sim: %u reserved regions, at most %d", c->n_resv,
				SIM_IOMMU_MAX_RESV);
	for (unsigned i = 0; i < c->n_resv; i++) {
		const struct sim_iommu_resv *r = &c->resv[i];

		if (r->start > r->end)
			return uvi_fail(-EINVAL, "sim: reserved region %u ends before it starts",
					i);
		/* 5.13.6.8.1.2: RESV_MEM properties of an endpoint SHOULD NOT overlap. */
		for (unsigned j = 0; j < i; j++)
			if (r->start <= c->resv[j].end && r->end >= c->resv[j].start)
				return uvi_fail(-EINVAL, "sim: reserved regions %u and %u overlap",
						j, i);
	}
	if ((c->features & (UINT64_C(1) << VIRTIO_IOMMU_F_PROBE)) &&
	    c->probe_size < c->n_resv * sizeof(struct virtio_iommu_probe_resv_mem))
		return uvi_fail(-EINVAL, "sim: probe_size %u cannot hold %u RESV_MEM properties",
				c->probe_size, c->n_resv);
	return 0;
}

static int check_config(const struct sim_iommu_config *c)
{
	if (c->features & ~device_features)
		return uvi_fail(-EINVAL, "sim: unknown feature bits 0x%" PRIx64,
				c->features & ~device_features);
	/* 5.13.4.2: the device MUST set at least one bit in page_size_mask. */
	if (!c->page_size_mask)
		return uvi_fail(-EINVAL, "sim: page_size_mask is 0");
	if ((c->features & (UINT64_C(1) << VIRTIO_IOMMU_F_INPUT_RANGE)) &&
	    c->input_start > c->input_end)
		return uvi_fail(-EINVAL, "sim: input range ends before it starts");
	if ((c->features & (UINT64_C(1) << VIRTIO_IOMMU_F_DOMAIN_RANGE)) &&
	    c->domain_start > c->domain_end)
		return uvi_fail(-EINVAL, "sim: domain range ends before it starts");
	if (!c->n_endpoints || c->n_endpoints > SIM_IOMMU_MAX_ENDPOINTS)
		return uvi_fail(-EINVAL, "sim: %u endpoints, must be 1 to %u", c->n_endpoints,
				SIM_IOMMU_MAX_ENDPOINTS);
	if (c->bypass_default && !(c->features & (UINT64_C(1) << VIRTIO_IOMMU_F_BYPASS_CONFIG)))
		return uvi_fail(-EINVAL, "sim: bypass_default needs VIRTIO_IOMMU_F_BYPASS_CONFIG");
	return check_resv(c);
}

/* Without F_INPUT_RANGE / F_DOMAIN_RANGE every address / domain ID is valid (5.13.6). */
static void set_ranges(struct sim_iommu *s)
{
	s->input_start = 0;
	s->input_end = UINT64_MAX;
	if (sim_offered(s, VIRTIO_IOMMU_F_INPUT_RANGE)) {
		s->input_start = s->cfg.input_start;
		s->input_end = s->cfg.input_end;
	}
	s->domain_start = 0;
	s->domain_end = UINT32_MAX;
	if (sim_offered(s, VIRTIO_IOMMU_F_DOMAIN_RANGE)) {
		s->domain_start = s->cfg.domain_start;
		s->domain_end = s->cfg.domain_end;
	}
}

int sim_iommu_create(const struct sim_iommu_config *cfg, struct sim_iommu **out)
{
	struct sim_iommu *s;
	int rc = check_config(cfg);

	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s)
		s->ep_domain = calloc(cfg->n_endpoints, sizeof(*s->ep_domain));
	if (!s || !s->ep_domain) {
		free(s);
		return uvi_fail(-ENOMEM, "sim: out of memory for the device state");
	}
	s->cfg = *cfg;
	if (!s->cfg.max_mappings)
		s->cfg.max_mappings = SIM_IOMMU_DEFAULT_MAX_MAPPINGS;
	s->accepted = cfg->features;
	s->granule = cfg->page_size_mask & -cfg->page_size_mask;
	s->bypass = cfg->bypass_default;
	set_ranges(s);
	*out = s;
	return 0;
}

void sim_iommu_destroy(struct sim_iommu *s)
{
	if (!s)
		return;
	sim_domain_destroy_all(s);
	free(s->ep_domain);
	free(s);
}

/* 5.13.5: after a reset, endpoints are not attached to any domain. */
void sim_iommu_reset(struct sim_iommu *s)
{
	sim_domain_destroy_all(s);
	s->needs_reset = false;
}

int sim_iommu_set_features(struct sim_iommu *s, uint64_t accepted)
{
	if (accepted & ~s->cfg.features)
		return uvi_fail(-EINVAL, "sim: features 0x%" PRIx64 " were not offered",
				accepted & ~s->cfg.features);
	s->accepted = accepted;
	return 0;
}

void sim_iommu_read_config(const struct sim_iommu *s, struct virtio_iommu_config *out)
{
	*out = (struct virtio_iommu_config){
		.page_size_mask = s->cfg.page_size_mask,
		.input_range_start = s->input_start,
		.input_range_end = s->input_end,
		.domain_range_start = s->domain_start,
		.domain_range_end = s->domain_end,
		.probe_size = s->cfg.probe_size,
		.bypass = s->bypass,
	};
}

/* 5.13.4.1/5.13.4.2: writable only with BYPASS_CONFIG; the device presents only 0 or 1. */
int sim_iommu_write_bypass(struct sim_iommu *s, uint8_t value)
{
	if (!sim_accepted(s, VIRTIO_IOMMU_F_BYPASS_CONFIG))
		return uvi_fail(-EPERM, "sim: config.bypass written without BYPASS_CONFIG");
	if (value > 1)
		return uvi_fail(-EINVAL, "sim: config.bypass written with %u (only 0 or 1)", value);
	s->bypass = value;
	return 0;
}

bool sim_iommu_needs_reset(const struct sim_iommu *s)
{
	return s->needs_reset;
}

/* Copy the readable part of a request of `size` bytes; false if in is too short. */
static bool copy_req(void *req, size_t size, const void *in, size_t in_len)
{
	if (in_len < size)
		return false;
	memcpy(req, in, size);
	return true;
}

/* The readable part of each type is its structure without the tail (5.13.6). */
#define READABLE(r) (sizeof(r) - sizeof(struct virtio_iommu_req_tail))

/*
 * A request too short for its type is INVAL (5.13.6: the tail could be
 * found). An unknown type is UNSUPP, like QEMU; 5.13.6.2 would rather
 * have used length 0, which sim_iommu_inject can produce for any request.
 */
static uint8_t dispatch(struct sim_iommu *s, uint8_t type, const void *in, size_t in_len,
			uint8_t *props, size_t props_len)
{
	union {
		struct virtio_iommu_req_attach attach;
		struct virtio_iommu_req_detach detach;
		struct virtio_iommu_req_map map;
		struct virtio_iommu_req_unmap unmap;
		struct virtio_iommu_req_probe probe;
	} r;

	switch (type) {
	case VIRTIO_IOMMU_T_ATTACH:
		if (!copy_req(&r.attach, READABLE(r.attach), in, in_len))
			return VIRTIO_IOMMU_S_INVAL;
		return sim_req_attach(s, &r.attach);
	case VIRTIO_IOMMU_T_DETACH:
		if (!copy_req(&r.detach, READABLE(r.detach), in, in_len))
			return VIRTIO_IOMMU_S_INVAL;
		return sim_req_detach(s, &r.detach);
	case VIRTIO_IOMMU_T_MAP:
		if (!copy_req(&r.map, READABLE(r.map), in, in_len))
			return VIRTIO_IOMMU_S_INVAL;
		return sim_req_map(s, &r.map);
	case VIRTIO_IOMMU_T_UNMAP:
		if (!copy_req(&r.unmap, READABLE(r.unmap), in, in_len))
			return VIRTIO_IOMMU_S_INVAL;
		return sim_req_unmap(s, &r.unmap);
	case VIRTIO_IOMMU_T_PROBE:
		if (!copy_req(&r.probe, sizeof(r.probe), in, in_len))
			return VIRTIO_IOMMU_S_INVAL;
		return sim_req_probe(s, &r.probe, props, props_len);
	default:
		return VIRTIO_IOMMU_S_UNSUPP;
	}
}

static uint32_t unanswered(struct sim_iommu *s)
{
	s->stats.unanswered++;
	return 0;
}

/* sim_iommu_inject: the next request completes with used length 0. */
static bool inject_zero_len(struct sim_iommu *s)
{
	if (!s->inject.zero_len_count)
		return false;
	s->inject.zero_len_count--;
	return true;
}

/* sim_iommu_inject: the next request completes with a forced status. */
static bool inject_status(struct sim_iommu *s, uint8_t *status)
{
	if (!s->inject.status_count)
		return false;
	s->inject.status_count--;
	*status = s->inject.status;
	return true;
}

/*
 * The tail (bytes only, so at needs no alignment): the status and three
 * zero bytes, stored in place. A copy patched on the stack would be read
 * back as a word just written in part: a store-forwarding stall on every
 * request.
 */
static void put_tail(uint8_t *at, uint8_t status)
{
	struct virtio_iommu_req_tail *tail = (struct virtio_iommu_req_tail *)at;

	tail->status = status;
	memset(tail->reserved, 0, sizeof(tail->reserved));
}

uint32_t sim_iommu_handle(struct sim_iommu *s, const void *in, size_t in_len, void *out,
			  size_t out_len)
{
	const size_t tail_len = sizeof(struct virtio_iommu_req_tail);
	size_t props_len;
	uint8_t type, status;

	if (s->needs_reset)
		return unanswered(s);
	/* Without a head or a tail there is nothing to parse or nowhere to answer: like QEMU. */
	if (in_len < sizeof(struct virtio_iommu_req_head) || out_len < tail_len ||
	    out_len > UINT32_MAX) {
		s->needs_reset = true;
		return unanswered(s);
	}
	type = *(const uint8_t *)in;
	props_len = out_len - tail_len;
	if (inject_zero_len(s))
		return unanswered(s);
	/* 5.13.6.7.2: a PROBE without F_PROBE: SHOULD NOT write the buffer, used length 0. */
	if (type == VIRTIO_IOMMU_T_PROBE && !sim_accepted(s, VIRTIO_IOMMU_F_PROBE))
		return unanswered(s);
	if (props_len) /* MAP and UNMAP usually have nothing before the tail */
		memset(out, 0, props_len);
	if (!inject_status(s, &status))
		status = dispatch(s, type, in, in_len, out, props_len);
	put_tail((uint8_t *)out + props_len, status);
	s->stats.requests++;
	return out_len;
}

void sim_iommu_set_inject(struct sim_iommu *s, const struct sim_iommu_inject *inj)
{
	s->inject = *inj;
}

void sim_iommu_get_inject(const struct sim_iommu *s, struct sim_iommu_inject *out)
{
	*out = s->inject;
}

void sim_iommu_get_stats(const struct sim_iommu *s, struct sim_iommu_stats *out)
{
	*out = s->stats;
}

long sim_iommu_domain_mappings(const struct sim_iommu *s, uint32_t domain)
{
	const struct sim_domain *d = sim_domain_find(s, domain);

	if (!d)
		return uvi_fail(-ENOENT, "sim: domain %u does not exist", domain);
	return d->maps.count;
}

int sim_iommu_endpoint_domain(const struct sim_iommu *s, uint32_t endpoint, uint32_t *domain)
{
	if (endpoint >= s->cfg.n_endpoints)
		return uvi_fail(-EINVAL, "sim: endpoint %u does not exist (%u endpoints)", endpoint,
				s->cfg.n_endpoints);
	if (!s->ep_domain[endpoint])
		return 0;
	*domain = s->ep_domain[endpoint]->id;
	return 1;
}
