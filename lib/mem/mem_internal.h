/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_MEM_INTERNAL_H
#define UVIOMMU_MEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <uviommu/mem.h>

/* One page of an allocation as the device sees it. */
struct uvi_mem_page {
	uint64_t bus; /* bus address of the page's first byte */
	uint64_t run; /* bytes from this page's start to the end of its contiguous run */
};

struct viommu_mem {
	uint8_t *va;
	size_t len; /* a multiple of page_size */
	size_t page_size;
	enum viommu_page_kind kind;
	enum viommu_addressing addressing;
	size_t n_pages;
	struct uvi_mem_page *pages; /* VIOMMU_ADDR_PHYSICAL only, else NULL */
};

/* pages.c: the backing store */
size_t uvi_mem_kind_page_size(enum viommu_page_kind kind); /* 0: unknown kind */
int uvi_mem_map(enum viommu_page_kind kind, size_t len, void **va);
/* Fault every page in and lock it (after the NUMA policy is set). */
int uvi_mem_lock(void *va, size_t len, enum viommu_page_kind kind, int numa_node);

/* numa.c: placement with libnuma */
int uvi_mem_check_node(int numa_node);
int uvi_mem_place(void *va, size_t len, int numa_node);

/* pagemap.c: physical addresses from /proc/self/pagemap */
int uvi_pagemap_open(void);
int uvi_pagemap_lookup(int fd, const void *va, uint64_t *pa);

/* bus.c: the per-page bus address table */
int uvi_mem_build_table(struct viommu_mem *mem);

#endif
