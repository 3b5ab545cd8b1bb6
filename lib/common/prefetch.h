/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_COMMON_PREFETCH_H
#define UVIOMMU_COMMON_PREFETCH_H

/*
 * Fetching a cache line for writing ahead of time. A request slot or a
 * descriptor the device has finished with is read by the driver (the
 * status, the used entry), then written again by the next request. A
 * plain read leaves the line shared with the device's CPU, and the later
 * write must ask for it once more (with a full store buffer, the driver
 * stalls on that). Reading it "for write" takes it in one transfer.
 *
 * x86: PREFETCHW where CPUID says the CPU has it (GCC emits a read
 * prefetch for __builtin_prefetch(p, 1) unless built for such a CPU).
 * A hint only: it never faults and changes nothing but the cache.
 */

#include <stdbool.h>

extern bool uvi_cpu_prefetchw; /* set at load time (prefetch.c) */

static inline void uvi_prefetch_for_write(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	if (uvi_cpu_prefetchw)
		__asm__ volatile("prefetchw %0" : : "m"(*(const volatile char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

#endif
