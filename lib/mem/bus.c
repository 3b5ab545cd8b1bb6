/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bus addresses of an allocation: with physical addressing, a table built
 * once at allocation time (one pagemap read per page, never one per
 * request); with virtual addressing, the virtual address itself.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "mem_internal.h"

static int read_bus_addresses(struct viommu_mem *mem, struct uvi_mem_page *pages)
{
	int fd = uvi_pagemap_open(), rc = 0;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < mem->n_pages && !rc; i++)
		rc = uvi_pagemap_lookup(fd, mem->va + i * mem->page_size, &pages[i].bus);
	close(fd);
	return rc;
}

/* run: bytes from each page's start to the end of its physically contiguous run. */
static void compute_runs(struct uvi_mem_page *pages, size_t n, size_t page_size)
{
	for (size_t i = n; i-- > 0;) {
		pages[i].run = page_size;
		if (i + 1 < n && pages[i].bus + page_size == pages[i + 1].bus)
			pages[i].run += pages[i + 1].run;
	}
}

int uvi_mem_build_table(struct viommu_mem *mem)
{
	struct uvi_mem_page *pages = calloc(mem->n_pages, sizeof(*pages));
	int rc;

	if (!pages)
		return uvi_fail(-ENOMEM, "DMA memory: out of memory for the page table");
	rc = read_bus_addresses(mem, pages);
	if (rc) {
		free(pages);
		return rc;
	}
	compute_runs(pages, mem->n_pages, mem->page_size);
	mem->pages = pages;
	return 0;
}

int viommu_mem_iova(const struct viommu_mem *mem, const void *va, uint64_t *iova,
		    size_t *contiguous_len)
{
	uintptr_t base, addr = (uintptr_t)va;
	size_t off, in_page;
	const struct uvi_mem_page *pg;

	if (!mem || !iova)
		return uvi_fail(-EINVAL, "mem_iova: NULL argument");
	base = (uintptr_t)mem->va;
	if (addr < base || addr - base >= mem->len)
		return uvi_fail(-EINVAL, "mem_iova: %p is outside the allocation %p-%p", va,
				(void *)mem->va, (void *)(mem->va + mem->len - 1));
	off = addr - base;
	if (mem->addressing == VIOMMU_ADDR_VIRTUAL) {
		*iova = addr;
		if (contiguous_len)
			*contiguous_len = mem->len - off;
		return 0;
	}
	pg = &mem->pages[off / mem->page_size];
	in_page = off % mem->page_size;
	*iova = pg->bus + in_page;
	if (contiguous_len)
		*contiguous_len = pg->run - in_page;
	return 0;
}
