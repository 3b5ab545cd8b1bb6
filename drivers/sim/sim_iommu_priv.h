/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_IOMMU_PRIV_H
#define UVIOMMU_SIM_IOMMU_PRIV_H

/* State of the software virtio-iommu, shared by the files of drivers/sim that implement it. */

#include "sim_iommu.h"
#include "sim_mappings.h"

/* A domain exists from its first ATTACH to its last DETACH (5.13.6.3, 5.13.6.4). */
struct sim_domain {
	uint32_t id;
	bool bypass; /* created with VIRTIO_IOMMU_ATTACH_F_BYPASS */
	uint32_t n_endpoints;
	struct sim_mappings maps;
};

struct sim_iommu {
	struct sim_iommu_config cfg;
	uint64_t accepted; /* features */
	uint64_t granule;
	uint64_t input_start, input_end; /* in effect (all 64 bits without F_INPUT_RANGE) */
	uint32_t domain_start, domain_end; /* likewise for F_DOMAIN_RANGE */
	uint8_t bypass; /* config.bypass */
	bool needs_reset;
	struct sim_domain **ep_domain; /* per endpoint ID; NULL = not attached */
	void *domains; /* tsearch tree of struct sim_domain *, by id */
	struct sim_domain *last_domain; /* the last one a request named, or NULL */
	struct sim_iommu_inject inject;
	struct sim_iommu_stats stats;
	struct sim_iommu_host host;
};

static inline bool sim_offered(const struct sim_iommu *s, unsigned feature)
{
	return s->cfg.features & (UINT64_C(1) << feature);
}

static inline bool sim_accepted(const struct sim_iommu *s, unsigned feature)
{
	return s->accepted & (UINT64_C(1) << feature);
}

/* Domain table (sim_domain.c). */
struct sim_domain *sim_domain_find(const struct sim_iommu *s, uint32_t id);
/* sim_domain_find for a request: the domain found is checked first next time. */
struct sim_domain *sim_domain_lookup(struct sim_iommu *s, uint32_t id);
int sim_domain_create(struct sim_iommu *s, uint32_t id, bool bypass, struct sim_domain **out);
/* Detach endpoint ep from d; the last detach destroys d and its mappings. */
void sim_domain_detach(struct sim_iommu *s, struct sim_domain *d, uint32_t ep);
void sim_domain_attach(struct sim_iommu *s, struct sim_domain *d, uint32_t ep);
/* Destroy every domain and detach every endpoint. */
void sim_domain_destroy_all(struct sim_iommu *s);

/*
 * Request semantics (sim_requests.c). Each takes a request whose readable
 * part is complete and returns the status for its tail.
 */
uint8_t sim_req_attach(struct sim_iommu *s, const struct virtio_iommu_req_attach *req);
uint8_t sim_req_detach(struct sim_iommu *s, const struct virtio_iommu_req_detach *req);
uint8_t sim_req_map(struct sim_iommu *s, const struct virtio_iommu_req_map *req);
uint8_t sim_req_unmap(struct sim_iommu *s, const struct virtio_iommu_req_unmap *req);
/* props: the writable bytes before the tail (zeroed by the caller). */
uint8_t sim_req_probe(struct sim_iommu *s, const struct virtio_iommu_req_probe *req, uint8_t *props,
		      size_t props_len);

#endif
