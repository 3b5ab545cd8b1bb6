/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bus addresses of a buffer, run by run: the longest stretch from a
 * given offset that is contiguous in bus address space, so that each run
 * becomes one MAP.
 *
 *  - virtual addressing (the software device): the whole buffer is one run;
 *  - inside a registered viommu_mem: its table (lib/mem), read once when
 *    the memory was allocated, gives the run to the end of a page run;
 *  - anywhere else: /proc/self/pagemap, one read per page (lib/mem),
 *    merging pages whose frames follow each other. This costs a system
 *    call per page: register the memory to avoid it.
 *
 * A run must start and end on granule boundaries (MAP takes whole
 * granules, virtio 1.2, 5.13.6.5): a granule larger than the system page
 * needs buffers that are contiguous over each granule.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/mem/mem_internal.h"
#include "dma.h"

static const struct viommu_mem *registered(struct viommu_dma *dma, uintptr_t va)
{
	const struct viommu_mem *found = NULL;

	pthread_mutex_lock(&dma->lock);
	for (unsigned i = 0; i < dma->n_mems && !found; i++) {
		uintptr_t base = (uintptr_t)viommu_mem_va(dma->mems[i]);

		if (va >= base && va - base < viommu_mem_len(dma->mems[i]))
			found = dma->mems[i];
	}
	pthread_mutex_unlock(&dma->lock);
	return found;
}

static int pagemap_fd(struct viommu_dma *dma)
{
	int fd;

	pthread_mutex_lock(&dma->lock);
	if (dma->pagemap_fd < 0)
		dma->pagemap_fd = uvi_pagemap_open();
	fd = dma->pagemap_fd;
	pthread_mutex_unlock(&dma->lock);
	return fd;
}

/* Pages from va on whose frames follow each other, up to left bytes. */
static int pagemap_run(struct viommu_dma *dma, uintptr_t va, uint64_t left,
		       struct uvi_dma_run *run)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), next;
	int fd = pagemap_fd(dma), rc;

	if (fd < 0)
		return fd;
	rc = uvi_pagemap_lookup(fd, (const void *)va, &run->bus);
	if (rc)
		return rc;
	run->len = page - va % page;
	while (run->len < left) {
		rc = uvi_pagemap_lookup(fd, (const void *)(va + run->len), &next);
		if (rc)
			return rc;
		if (next != run->bus + run->len)
			break;
		run->len += page;
	}
	return 0;
}

int uvi_dma_resolve(struct viommu_dma *dma, uintptr_t base, uint64_t span, uint64_t off,
		    struct uvi_dma_run *run)
{
	uint64_t left = span - off + 1, mask = dma->granule - 1;
	uintptr_t va = base + off;
	const struct viommu_mem *mem;
	size_t contig;
	int rc = 0;

	run->off = off;
	if (dma->addressing == VIOMMU_ADDR_VIRTUAL) {
		run->bus = va;
		run->len = left;
		return 0;
	}
	mem = registered(dma, va);
	if (mem) {
		rc = viommu_mem_iova(mem, (const void *)va, &run->bus, &contig);
		run->len = contig;
	} else {
		rc = pagemap_run(dma, va, left, run);
	}
	if (rc)
		return rc;
	if (run->len > left)
		run->len = left;
	if ((run->bus & mask) || (run->len & mask))
		return uvi_fail(-EINVAL, "dma_map: the buffer at %p is not physically contiguous "
				"over each granule of 0x%" PRIx64 " (bus address 0x%" PRIx64 ")",
				(void *)va, dma->granule, run->bus);
	return 0;
}
