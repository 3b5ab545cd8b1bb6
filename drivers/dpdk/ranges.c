/* SPDX-License-Identifier: BSD-3-Clause */
/* Physical ranges: collect, sort and merge into the fewest, largest pieces. */
#include <errno.h>
#include <stdlib.h>

#include "dpdk_internal.h"

static int by_start(const void *a, const void *b)
{
	const struct uvi_dpdk_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Sort and merge ranges that touch or overlap. An identity mapping may be
 * any multiple of the granule (virtio 1.2, 5.13.6.5: MAP takes an arbitrary
 * inclusive range), so physically contiguous pieces become one mapping
 * whatever their virtual addresses.
 */
void uvi_dpdk_ranges_normalize(struct uvi_dpdk_range *r, size_t *n)
{
	size_t i, out = 0;

	if (*n == 0)
		return;
	qsort(r, *n, sizeof(*r), by_start);
	for (i = 1; i < *n; i++) {
		struct uvi_dpdk_range *last = &r[out];
		uint64_t end = last->start + last->len;

		if (r[i].start <= end) {
			if (r[i].start + r[i].len > end)
				last->len = r[i].start + r[i].len - last->start;
		} else {
			r[++out] = r[i];
		}
	}
	*n = out + 1;
}

int uvi_dpdk_ranges_push(struct uvi_dpdk_range **r, size_t *n, size_t *cap, uint64_t start,
			 uint64_t len)
{
	if (*n && (*r)[*n - 1].start + (*r)[*n - 1].len == start) {
		(*r)[*n - 1].len += len; /* the common case: the next page follows */
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct uvi_dpdk_range *nr = realloc(*r, ncap * sizeof(*nr));

		if (!nr)
			return uvi_dpdk_fail(-ENOMEM, "out of memory for %zu ranges", ncap);
		*r = nr;
		*cap = ncap;
	}
	(*r)[(*n)++] = (struct uvi_dpdk_range){ start, len };
	return 0;
}
