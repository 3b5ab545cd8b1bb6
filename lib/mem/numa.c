/* SPDX-License-Identifier: BSD-3-Clause */
/* NUMA placement of DMA memory with libnuma. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <numa.h>
#include <numaif.h>

#include "../common/error_internal.h"
#include "mem_internal.h"

#define ULONG_BITS (sizeof(unsigned long) * CHAR_BIT)

int uvi_mem_check_node(int numa_node)
{
	if (numa_node == -1)
		return 0;
	if (numa_node < -1)
		return uvi_fail(-EINVAL, "NUMA node %d: give a node number or -1 (local)",
				numa_node);
	if (numa_available() < 0) {
		/* Without NUMA support everything is node 0. */
		if (numa_node == 0)
			return 0;
		return uvi_fail(-EINVAL, "NUMA node %d requested but the kernel has no NUMA "
				"support (use 0 or -1)", numa_node);
	}
	if (numa_node > numa_max_node() || !numa_bitmask_isbitset(numa_all_nodes_ptr,
								  (unsigned)numa_node))
		return uvi_fail(-EINVAL, "NUMA node %d does not exist or has no memory this "
				"process may use (highest node: %d; see 'numactl -H')", numa_node,
				numa_max_node());
	return 0;
}

/*
 * Bind [va, va + len) to numa_node before any page is touched, so that the
 * first fault allocates there. A node mask of our own rather than
 * numa_allocate_nodemask(), which exits the process when out of memory.
 */
int uvi_mem_place(void *va, size_t len, int numa_node)
{
	size_t words = (size_t)numa_node / ULONG_BITS + 1;
	unsigned long *mask;
	long rc;

	if (numa_node < 0 || numa_available() < 0)
		return 0;
	mask = calloc(words, sizeof(*mask));
	if (!mask)
		return uvi_fail(-ENOMEM, "NUMA placement: out of memory");
	mask[numa_node / ULONG_BITS] |= 1UL << (numa_node % ULONG_BITS);
	/* mbind(2) reads maxnode - 1 bits of the mask (as libnuma passes them). */
	rc = mbind(va, len, MPOL_BIND, mask, words * ULONG_BITS + 1, 0);
	free(mask);
	if (rc)
		return uvi_fail(-errno, "binding %zu bytes to NUMA node %d failed: %s", len,
				numa_node, strerror(errno));
	return 0;
}
