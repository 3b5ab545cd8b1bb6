/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TESTS_SPLITMIX_H
#define UVIOMMU_TESTS_SPLITMIX_H

#include <stdint.h>

/* splitmix64 (Steele, Lea, Flood 2014): deterministic, so a failing random test reproduces. */
static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
