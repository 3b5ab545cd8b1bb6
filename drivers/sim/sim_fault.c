/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated DMA through the software device: translation of every byte of
 * an access, and a fault record (virtio 1.2, 5.13.6.9) when the IOMMU
 * refuses one. Choices, where the spec leaves them (see doc/sim-device.md):
 *  - one record per refused DMA, for its first refused byte (QEMU sends one
 *    per bus access, so a refused 64-byte transfer may produce 16);
 *  - flags always carry the access type (READ or WRITE) and ADDRESS;
 *  - an unattached endpoint outside bypass mode gets reason DOMAIN ("access
 *    without being attached to a domain", 5.13.6.9); a missing mapping or
 *    permission gets MAPPING;
 *  - RESV_MEM regions are checked first, for every endpoint: an MSI region
 *    passes untranslated (as QEMU lets its MSI window through), any other
 *    subtype is a MAPPING fault (nothing can be mapped there).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "sim_iommu_priv.h"
#include "../../lib/common/error_internal.h"

void sim_iommu_set_host(struct sim_iommu *s, const struct sim_iommu_host *host)
{
	s->host = *host;
}

/* A run of bytes [iova, last] that the IOMMU lets through to [phys, ...]. */
struct run {
	uint64_t phys;
	uint64_t last;
};

static const struct sim_iommu_resv *resv_at(const struct sim_iommu *s, uint64_t addr)
{
	for (unsigned i = 0; i < s->cfg.n_resv; i++)
		if (addr >= s->cfg.resv[i].start && addr <= s->cfg.resv[i].end)
			return &s->cfg.resv[i];
	return NULL;
}

/* Last byte from addr on (at most `last`) before the next reserved region. */
static uint64_t before_next_resv(const struct sim_iommu *s, uint64_t addr, uint64_t last)
{
	for (unsigned i = 0; i < s->cfg.n_resv; i++) {
		uint64_t start = s->cfg.resv[i].start;

		if (start > addr && start - 1 < last)
			last = start - 1;
	}
	return last;
}

/* 5.13.6: unattached endpoints bypass with config.bypass = 1 (BYPASS_CONFIG) or F_BYPASS. */
static bool unattached_bypass(const struct sim_iommu *s)
{
	return (sim_offered(s, VIRTIO_IOMMU_F_BYPASS_CONFIG) && s->bypass) ||
	       sim_accepted(s, VIRTIO_IOMMU_F_BYPASS);
}

static int refuse(struct virtio_iommu_fault *f, uint8_t reason, uint32_t ep, uint64_t addr,
		  enum sim_dma_dir dir)
{
	uint32_t access = dir == SIM_DMA_WRITE ? VIRTIO_IOMMU_FAULT_F_WRITE :
						 VIRTIO_IOMMU_FAULT_F_READ;

	*f = (struct virtio_iommu_fault){
		.reason = reason,
		.flags = VIRTIO_IOMMU_FAULT_F_ADDRESS | access,
		.endpoint = ep,
		.address = addr,
	};
	return -EFAULT;
}

static int through_mapping(const struct sim_domain *d, uint32_t ep, uint64_t iova, uint64_t last,
			   enum sim_dma_dir dir, struct run *r, struct virtio_iommu_fault *f)
{
	const struct sim_mapping *m = sim_mappings_find(&d->maps, iova);
	uint32_t need = dir == SIM_DMA_WRITE ? VIRTIO_IOMMU_MAP_F_WRITE : VIRTIO_IOMMU_MAP_F_READ;

	/* 5.13.6.5.2: no write without MAP_F_WRITE; reads need MAP_F_READ too (no MAY). */
	if (!m || !(m->flags & need))
		return refuse(f, VIRTIO_IOMMU_FAULT_R_MAPPING, ep, iova, dir);
	r->phys = m->phys_start + (iova - m->virt_start);
	r->last = m->virt_end < last ? m->virt_end : last;
	return 0;
}

/* Translate the byte at iova and as many after it (up to last) as go the same way. */
static int translate(const struct sim_iommu *s, uint32_t ep, uint64_t iova, uint64_t last,
		     enum sim_dma_dir dir, struct run *r, struct virtio_iommu_fault *f)
{
	const struct sim_iommu_resv *resv = resv_at(s, iova);
	const struct sim_domain *d = s->ep_domain[ep];

	if (resv) {
		if (resv->subtype != VIRTIO_IOMMU_RESV_MEM_T_MSI)
			return refuse(f, VIRTIO_IOMMU_FAULT_R_MAPPING, ep, iova, dir);
		*r = (struct run){ iova, resv->end < last ? resv->end : last };
		return 0;
	}
	last = before_next_resv(s, iova, last);
	if (!d && !unattached_bypass(s))
		return refuse(f, VIRTIO_IOMMU_FAULT_R_DOMAIN, ep, iova, dir);
	if (!d || d->bypass) {
		*r = (struct run){ iova, last };
		return 0;
	}
	return through_mapping(d, ep, iova, last, dir, r, f);
}

static int report(struct sim_iommu *s, const struct virtio_iommu_fault *f)
{
	s->stats.faults++;
	if (s->host.fault)
		s->host.fault(s->host.arg, f);
	return uvi_fail(-EFAULT, "sim: endpoint %u: DMA %s at 0x%" PRIx64 " refused (reason %u)",
			f->endpoint, f->flags & VIRTIO_IOMMU_FAULT_F_WRITE ? "write" : "read",
			f->address, f->reason);
}

static void *host_memory(const struct sim_iommu *s, uint64_t phys, uint64_t len)
{
	return s->host.phys_to_host ? s->host.phys_to_host(s->host.arg, phys, len) : NULL;
}

/* Walk [iova, iova + len) run by run; copy only if buf is not NULL. */
static int walk(struct sim_iommu *s, uint32_t ep, uint64_t iova, size_t len, uint8_t *buf,
		enum sim_dma_dir dir)
{
	uint64_t last = iova + (len - 1);
	struct virtio_iommu_fault f;
	struct run r;
	void *host;

	for (;;) {
		if (translate(s, ep, iova, last, dir, &r, &f))
			return report(s, &f);
		host = host_memory(s, r.phys, r.last - iova + 1);
		if (!host)
			return uvi_fail(-ENXIO, "sim: endpoint %u: DMA to 0x%" PRIx64
					" (from 0x%" PRIx64 ") is not memory", ep, r.phys, iova);
		if (buf && dir == SIM_DMA_WRITE)
			memcpy(host, buf, r.last - iova + 1);
		else if (buf)
			memcpy(buf, host, r.last - iova + 1);
		if (r.last == last)
			return 0;
		if (buf)
			buf += r.last - iova + 1;
		iova = r.last + 1;
	}
}

int sim_iommu_dma(struct sim_iommu *s, uint32_t endpoint, uint64_t iova, void *buf, size_t len,
		  enum sim_dma_dir dir)
{
	int rc;

	if (endpoint >= s->cfg.n_endpoints)
		return uvi_fail(-EINVAL, "sim: DMA by endpoint %u, which does not exist", endpoint);
	if (!len)
		return 0;
	if (iova + (len - 1) < iova)
		return uvi_fail(-EINVAL, "sim: DMA of %zu bytes at 0x%" PRIx64 " wraps around",
				len, iova);
	/* Check everything first: a refused DMA touches nothing. */
	rc = walk(s, endpoint, iova, len, NULL, dir);
	if (rc)
		return rc;
	return walk(s, endpoint, iova, len, buf, dir);
}
