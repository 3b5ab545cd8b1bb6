/* SPDX-License-Identifier: BSD-3-Clause */
/* viommu_mem_alloc(): checked options, map, place, lock, bus address table. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../common/error_internal.h"
#include "mem_internal.h"

static int check_args(size_t len, const struct viommu_mem_opts *o, struct viommu_mem **out)
{
	if (!o || !out)
		return uvi_fail(-EINVAL, "mem_alloc: NULL options or result pointer");
	if (len == 0)
		return uvi_fail(-EINVAL, "mem_alloc: length 0");
	if (uvi_mem_kind_page_size(o->pages) == 0)
		return uvi_fail(-EINVAL, "mem_alloc: unknown page kind %d", (int)o->pages);
	if (o->addressing != VIOMMU_ADDR_PHYSICAL && o->addressing != VIOMMU_ADDR_VIRTUAL)
		return uvi_fail(-EINVAL, "mem_alloc: unknown addressing mode %d",
				(int)o->addressing);
	if (len > SIZE_MAX - uvi_mem_kind_page_size(o->pages))
		return uvi_fail(-EINVAL, "mem_alloc: length %zu is too large", len);
	return uvi_mem_check_node(o->numa_node);
}

static int back(struct viommu_mem *mem, int numa_node)
{
	void *va;
	int rc;

	rc = uvi_mem_map(mem->kind, mem->len, &va);
	if (rc)
		return rc;
	rc = uvi_mem_place(va, mem->len, numa_node);
	if (!rc)
		rc = uvi_mem_lock(va, mem->len, mem->kind, numa_node);
	if (rc) {
		munmap(va, mem->len);
		return rc;
	}
	mem->va = va;
	return 0;
}

int viommu_mem_alloc(size_t len, const struct viommu_mem_opts *opts, struct viommu_mem **out)
{
	struct viommu_mem *mem;
	size_t page;
	int rc;

	rc = check_args(len, opts, out);
	if (rc)
		return rc;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return uvi_fail(-ENOMEM, "mem_alloc: out of memory");
	page = uvi_mem_kind_page_size(opts->pages);
	mem->page_size = page;
	mem->len = (len + page - 1) / page * page;
	mem->n_pages = mem->len / page;
	mem->kind = opts->pages;
	mem->addressing = opts->addressing;
	rc = back(mem, opts->numa_node);
	if (!rc && mem->addressing == VIOMMU_ADDR_PHYSICAL) {
		rc = uvi_mem_build_table(mem);
		if (rc)
			munmap(mem->va, mem->len);
	}
	if (rc) {
		free(mem);
		return rc;
	}
	*out = mem;
	return 0;
}

void viommu_mem_free(struct viommu_mem *mem)
{
	if (!mem)
		return;
	munmap(mem->va, mem->len);
	free(mem->pages);
	free(mem);
}

void *viommu_mem_va(const struct viommu_mem *mem)
{
	return mem->va;
}

size_t viommu_mem_len(const struct viommu_mem *mem)
{
	return mem->len;
}

size_t viommu_mem_page_size(const struct viommu_mem *mem)
{
	return mem->page_size;
}
