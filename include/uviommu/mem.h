/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_MEM_H
#define UVIOMMU_MEM_H

/*
 * DMA memory for userspace drivers: pinned, with known bus addresses.
 *
 * Hugepages (2 MiB, or 1 GiB where the system has them) are the normal
 * case: each page is physically contiguous and never moves. Physical
 * addresses come from /proc/self/pagemap, read once per page at
 * allocation time (never per request). Memory is placed on a NUMA node
 * with libnuma. A 4 KiB-page mode exists for tests; it is explicit,
 * never a fallback.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum viommu_page_kind {
	VIOMMU_PAGES_HUGE_2M,
	VIOMMU_PAGES_HUGE_1G,
	VIOMMU_PAGES_4K, /* tests only: physically contiguous only within a page */
};

enum viommu_addressing {
	VIOMMU_ADDR_PHYSICAL, /* bus address = physical address (vfio-noiommu, uio) */
	VIOMMU_ADDR_VIRTUAL,  /* bus address = virtual address (the software device) */
};

struct viommu_mem_opts {
	enum viommu_page_kind pages;
	enum viommu_addressing addressing;
	int numa_node; /* -1: no preference (local to the calling thread) */
};

struct viommu_mem;

/*
 * Allocate len bytes (rounded up to the page size), zeroed, locked in
 * memory. Fails with a clear message if the pages cannot be had (no
 * hugepages reserved, hugetlbfs missing) or if physical addresses cannot
 * be read (not root: pagemap shows 0 without CAP_SYS_ADMIN).
 * Errors: -EINVAL bad arguments (*out untouched), -ENOMEM not enough
 * (huge)pages, -ENOTSUP page size not offered by the kernel, -EPERM or
 * -EACCES physical addresses hidden. Nothing stays allocated after a
 * failure.
 */
int viommu_mem_alloc(size_t len, const struct viommu_mem_opts *opts, struct viommu_mem **out);
void viommu_mem_free(struct viommu_mem *mem);

void *viommu_mem_va(const struct viommu_mem *mem);
size_t viommu_mem_len(const struct viommu_mem *mem);
size_t viommu_mem_page_size(const struct viommu_mem *mem);

/*
 * Bus address of va, which must lie inside mem: -EINVAL otherwise. If
 * contiguous_len is not NULL it receives how many bytes from va on are
 * contiguous in bus address space (to the end of va's page run).
 */
int viommu_mem_iova(const struct viommu_mem *mem, const void *va, uint64_t *iova,
		    size_t *contiguous_len);

/* Physical address of any mapped, present page of this process (pagemap). */
int viommu_virt_to_phys(const void *va, uint64_t *pa);

#ifdef __cplusplus
}
#endif

#endif
