/* SPDX-License-Identifier: BSD-3-Clause */
/* Whether this CPU has PREFETCHW (lib/common/prefetch.h). */
#include "prefetch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#define CPUID_EXT_FEATURES 0x80000001u
#define CPUID_ECX_PRFCHW (1u << 8)

bool uvi_cpu_prefetchw;

__attribute__((constructor)) static void detect_prefetchw(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid(CPUID_EXT_FEATURES, &eax, &ebx, &ecx, &edx))
		uvi_cpu_prefetchw = (ecx & CPUID_ECX_PRFCHW) != 0;
}
#else
bool uvi_cpu_prefetchw = true; /* __builtin_prefetch(p, 1) does the job */
#endif
