/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Physical addresses from /proc/self/pagemap (Linux
 * Documentation/admin-guide/mm/pagemap.rst): one 64-bit entry per base
 * page of virtual memory; bit 63 "present", bits 0-54 the page frame
 * number. Without CAP_SYS_ADMIN the kernel reports every PFN as 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "mem_internal.h"

#define PAGEMAP_PATH "/proc/self/pagemap"
#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_PFN_MASK ((1ULL << 55) - 1)

int uvi_pagemap_open(void)
{
	int fd = open(PAGEMAP_PATH, O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		return uvi_fail(-errno, "cannot open " PAGEMAP_PATH ": permission denied: run as "
				"root");
	return uvi_fail(-errno, "cannot open " PAGEMAP_PATH ": %s", strerror(errno));
}

int uvi_pagemap_lookup(int fd, const void *va, uint64_t *pa)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t addr = (uintptr_t)va, entry, pfn;
	ssize_t n;

	n = pread(fd, &entry, sizeof(entry), (off_t)(addr / page * sizeof(entry)));
	if (n != (ssize_t)sizeof(entry))
		return uvi_fail(n < 0 ? -errno : -EIO, "reading " PAGEMAP_PATH " for %p failed: %s",
				va, n < 0 ? strerror(errno) : "short read");
	if (!(entry & PAGEMAP_PRESENT))
		return uvi_fail(-EFAULT, "the page at %p is not in memory (never touched, or "
				"swapped out): lock it first", va);
	pfn = entry & PAGEMAP_PFN_MASK;
	if (pfn == 0)
		return uvi_fail(-EPERM, PAGEMAP_PATH " hides physical addresses from processes "
				"without CAP_SYS_ADMIN: run as root (or use VIOMMU_ADDR_VIRTUAL "
				"with the software device)");
	*pa = pfn * page + addr % page;
	return 0;
}

int viommu_virt_to_phys(const void *va, uint64_t *pa)
{
	int fd, rc;

	if (!va || !pa)
		return uvi_fail(-EINVAL, "virt_to_phys: NULL argument");
	fd = uvi_pagemap_open();
	if (fd < 0)
		return fd;
	rc = uvi_pagemap_lookup(fd, va, pa);
	close(fd);
	return rc;
}
