/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_IOMMU_H
#define UVIOMMU_SIM_IOMMU_H

/*
 * Semantics of the software virtio-iommu device (virtio 1.2, section
 * 5.13): domains, endpoint attachment, mappings, PROBE, bypass, and the
 * translation of simulated DMA with fault records. No rings, no PCI: the
 * device thread pops a request chain, hands its readable and writable
 * bytes to sim_iommu_handle() and pushes the used length it returns.
 *
 * Pure, synchronous and single-threaded: the caller serialises every call
 * on one struct sim_iommu. See doc/sim-device.md for the behaviour where
 * the spec leaves a choice, and how it differs from QEMU's device.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../iommu/wire.h"

#define SIM_IOMMU_MAX_RESV 4
#define SIM_IOMMU_MAX_ENDPOINTS (1u << 20)
/* Mappings over all domains when sim_iommu_config.max_mappings is 0. */
#define SIM_IOMMU_DEFAULT_MAX_MAPPINGS (1u << 22)

/* A reserved region reported by PROBE for every endpoint (5.13.6.8.1). */
struct sim_iommu_resv {
	uint64_t start;
	uint64_t end; /* inclusive */
	uint8_t subtype; /* VIRTIO_IOMMU_RESV_MEM_T_* */
};

struct sim_iommu_config {
	uint64_t features; /* offered VIRTIO_IOMMU_F_* (bit n = feature n, n <= 6) */
	uint64_t page_size_mask; /* lowest set bit = granule */
	uint64_t input_start, input_end; /* with F_INPUT_RANGE; else all 64 bits */
	uint32_t domain_start, domain_end; /* with F_DOMAIN_RANGE; else all 32 bits */
	uint32_t probe_size; /* with F_PROBE: >= 24 * n_resv */
	bool bypass_default; /* initial config.bypass; needs F_BYPASS_CONFIG */
	struct sim_iommu_resv resv[SIM_IOMMU_MAX_RESV]; /* no two may overlap */
	unsigned n_resv;
	uint32_t n_endpoints; /* valid endpoint IDs: 0 .. n_endpoints - 1 */
	uint32_t max_mappings; /* over all domains; MAP beyond it -> S_NOMEM; 0 = default */
};

struct sim_iommu;

/* -EINVAL with a message naming the field if cfg is inconsistent, -ENOMEM. */
int sim_iommu_create(const struct sim_iommu_config *cfg, struct sim_iommu **out);
void sim_iommu_destroy(struct sim_iommu *s);

/*
 * Device reset: every domain, attachment and mapping is gone and the
 * needs-reset flag is cleared. config.bypass keeps its value (5.13.4.2:
 * it SHOULD NOT change on device reset), as do the accepted features,
 * the counters and the fault-injection knobs.
 */
void sim_iommu_reset(struct sim_iommu *s);

/*
 * Features the driver accepted (at FEATURES_OK). Until this is called,
 * every offered feature counts as accepted. -EINVAL if not a subset of
 * the offered ones (nothing changed).
 */
int sim_iommu_set_features(struct sim_iommu *s, uint64_t accepted);

/* The device-specific configuration space as the driver reads it (5.13.4). */
void sim_iommu_read_config(const struct sim_iommu *s, struct virtio_iommu_config *out);

/*
 * The driver's write to config.bypass. Only allowed with F_BYPASS_CONFIG
 * accepted (else -EPERM) and only 0 or 1 (else -EINVAL); a refused write
 * changes nothing (5.13.4.2: the device never presents another value).
 */
int sim_iommu_write_bypass(struct sim_iommu *s, uint8_t value);

/*
 * Serve one request (5.13.6). in/in_len: the device-readable bytes of the
 * chain; out/out_len: its device-writable bytes. The tail is the last 4
 * bytes of out; everything before it is written too (PROBE properties,
 * else zeros), so the returned used length is out_len.
 *
 * Returns 0, writing nothing, when the request cannot be answered: a head
 * shorter than 4 bytes, a writable part shorter than a tail or longer than
 * UINT32_MAX (these also set the needs-reset flag, as QEMU does), a PROBE
 * without F_PROBE accepted (5.13.6.7.2), any request while the needs-reset
 * flag is set, and an injected zero-length completion.
 */
uint32_t sim_iommu_handle(struct sim_iommu *s, const void *in, size_t in_len, void *out,
			  size_t out_len);

/* Set after a malformed request; the transport then reports DEVICE_NEEDS_RESET. */
bool sim_iommu_needs_reset(const struct sim_iommu *s);

/*
 * Fault injection for tests of the driver. Each knob applies to the next
 * `count` requests that have a readable head and a writable tail; such a
 * request is not performed. A zero-length completion takes precedence
 * over a forced status; a PROBE without F_PROBE is never given a status.
 */
struct sim_iommu_inject {
	uint32_t zero_len_count; /* complete with used length 0, nothing written */
	uint32_t status_count; /* complete with `status` (e.g. VIRTIO_IOMMU_S_DEVERR) */
	uint8_t status;
};
/* Replace the knobs (a zeroed struct switches injection off). */
void sim_iommu_set_inject(struct sim_iommu *s, const struct sim_iommu_inject *inj);
/* What remains of the knobs (counts go down as requests consume them). */
void sim_iommu_get_inject(const struct sim_iommu *s, struct sim_iommu_inject *out);

struct sim_iommu_stats {
	uint64_t requests; /* completed with a status (injected ones included) */
	uint64_t unanswered; /* returned with used length 0 */
	uint64_t faults; /* fault records produced by sim_iommu_dma() */
	uint32_t domains; /* that exist now */
	uint64_t mappings; /* now, over all domains */
};
void sim_iommu_get_stats(const struct sim_iommu *s, struct sim_iommu_stats *out);

/* Number of mappings of a domain, or -ENOENT if the domain does not exist. */
long sim_iommu_domain_mappings(const struct sim_iommu *s, uint32_t domain);

/*
 * 1 and *domain set if the endpoint is attached, 0 if not, -EINVAL if
 * endpoint is not a valid ID.
 */
int sim_iommu_endpoint_domain(const struct sim_iommu *s, uint32_t endpoint, uint32_t *domain);

/*
 * Simulated DMA (sim_fault.c). The host environment: where "physical"
 * addresses live, and where fault records go (the device thread queues
 * them on the event queue, 5.13.6.9).
 */
struct sim_iommu_host {
	/* Host pointer to [phys, phys + len), or NULL if that is not all memory. */
	void *(*phys_to_host)(void *arg, uint64_t phys, uint64_t len);
	/* One fault record; may be NULL (faults are then only counted). */
	void (*fault)(void *arg, const struct virtio_iommu_fault *f);
	void *arg;
};
/* Without a host, every translated access fails with -ENXIO. */
void sim_iommu_set_host(struct sim_iommu *s, const struct sim_iommu_host *host);

enum sim_dma_dir {
	SIM_DMA_READ, /* the endpoint reads memory into buf */
	SIM_DMA_WRITE, /* the endpoint writes buf into memory */
};

/*
 * Endpoint `endpoint` accesses len bytes at iova. Every byte is
 * translated first; only if all of it is allowed and backed by memory is
 * anything copied. Returns 0; -EFAULT after producing one fault record for
 * the first byte the IOMMU refuses; -ENXIO (no record) if an allowed
 * access does not land in memory; -EINVAL for an endpoint ID out of range
 * or a range that wraps around 2^64. Nothing is touched on failure.
 */
int sim_iommu_dma(struct sim_iommu *s, uint32_t endpoint, uint64_t iova, void *buf, size_t len,
		  enum sim_dma_dir dir);

#endif
