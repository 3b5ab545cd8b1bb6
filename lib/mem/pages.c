/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The backing store: anonymous hugepages (MAP_HUGETLB with the page size
 * encoded in the flags, mmap(2): no hugetlbfs mount needed) or, for tests,
 * ordinary 4 KiB pages. Errors name the reservation that is missing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "mem_internal.h"

#define SIZE_2M (2UL << 20)
#define SIZE_1G (1UL << 30)
#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages"

size_t uvi_mem_kind_page_size(enum viommu_page_kind kind)
{
	switch (kind) {
	case VIOMMU_PAGES_HUGE_2M: return SIZE_2M;
	case VIOMMU_PAGES_HUGE_1G: return SIZE_1G;
	case VIOMMU_PAGES_4K: return (size_t)sysconf(_SC_PAGESIZE);
	}
	return 0;
}

/* mmap(2): MAP_HUGETLB takes log2 of the page size at MAP_HUGE_SHIFT. */
static int map_flags(enum viommu_page_kind kind)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

	if (kind == VIOMMU_PAGES_HUGE_2M)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	else if (kind == VIOMMU_PAGES_HUGE_1G)
		flags |= MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);
	return flags;
}

static const char *kind_name(enum viommu_page_kind kind)
{
	switch (kind) {
	case VIOMMU_PAGES_HUGE_2M: return "2 MiB hugepages";
	case VIOMMU_PAGES_HUGE_1G: return "1 GiB hugepages";
	default: return "4 KiB pages";
	}
}

/* A counter of the hugepage pool of one size, -1 if unreadable. */
static long pool_counter(size_t page_size, const char *counter)
{
	char path[128];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), HUGEPAGES_SYSFS "/hugepages-%zukB/%s", page_size >> 10,
		 counter);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

static int explain_hugepage_shortage(enum viommu_page_kind kind, size_t len)
{
	size_t page = uvi_mem_kind_page_size(kind);
	long total = pool_counter(page, "nr_hugepages");
	long free_pages = pool_counter(page, "free_hugepages");
	long need = (long)(len / page);

	if (total < 0)
		return uvi_fail(-ENOTSUP, "this kernel offers no %s (no %s/hugepages-%zukB)",
				kind_name(kind), HUGEPAGES_SYSFS, page >> 10);
	return uvi_fail(-ENOMEM, "not enough %s: need %ld, %ld free of %ld reserved: reserve "
			"more with 'echo %ld > %s/hugepages-%zukB/nr_hugepages'", kind_name(kind),
			need, free_pages, total, total + need - (free_pages > 0 ? free_pages : 0),
			HUGEPAGES_SYSFS, page >> 10);
}

int uvi_mem_map(enum viommu_page_kind kind, size_t len, void **va)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, map_flags(kind), -1, 0);
	int err = errno;

	if (p != MAP_FAILED) {
		*va = p;
		return 0;
	}
	if (kind != VIOMMU_PAGES_4K && (err == ENOMEM || err == EINVAL))
		return explain_hugepage_shortage(kind, len);
	return uvi_fail(-err, "cannot map %zu bytes of %s: %s", len, kind_name(kind),
			strerror(err));
}

static int explain_populate_failure(size_t len, enum viommu_page_kind kind, int numa_node,
				    int err)
{
	if (err == EINVAL)
		return uvi_fail(-ENOTSUP, "cannot fault in DMA memory: the kernel lacks "
				"MADV_POPULATE_WRITE (Linux 5.14 or later is needed)");
	if (kind != VIOMMU_PAGES_4K && numa_node >= 0)
		return uvi_fail(-ENOMEM, "cannot fault in %zu bytes of %s on NUMA node %d: not "
				"enough free there (see /sys/devices/system/node/node%d/hugepages)",
				len, kind_name(kind), numa_node, numa_node);
	return uvi_fail(-err, "cannot fault in %zu bytes of %s: %s", len, kind_name(kind),
			strerror(err));
}

static int explain_lock_failure(size_t len, int err)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    len > lim.rlim_cur)
		return uvi_fail(-err, "cannot lock %zu bytes in memory: the limit is %" PRIu64
				" bytes (RLIMIT_MEMLOCK): run as root or raise 'ulimit -l'", len,
				(uint64_t)lim.rlim_cur);
	return uvi_fail(-err, "cannot lock %zu bytes in memory: %s", len, strerror(err));
}

/*
 * Fault every page in writable now, after the NUMA policy is in place (what
 * MAP_POPULATE would do at mmap time, but reporting a page it cannot get
 * instead of leaving a SIGBUS for the first touch), then lock them: locked
 * pages are never swapped out, so their physical addresses stay.
 */
int uvi_mem_lock(void *va, size_t len, enum viommu_page_kind kind, int numa_node)
{
	if (madvise(va, len, MADV_POPULATE_WRITE))
		return explain_populate_failure(len, kind, numa_node, errno);
	if (mlock(va, len))
		return explain_lock_failure(len, errno);
	return 0;
}
