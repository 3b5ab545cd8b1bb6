/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_RADIX_H
#define UVIOMMU_RADIX_H

/*
 * A radix table over 64-bit addresses, shaped like an IOMMU's page
 * table: nodes of 512 slots, one level per 9 bits of (address >> shift).
 * A range [start, end] points every address in it to one value; a range
 * is stored as the fewest aligned blocks, each one slot at the level
 * whose slots span that block (a 2 MiB-aligned 2 MiB range at shift 12
 * is one slot one level above the leaves). Finding the value of an
 * address is one walk of at most ceil((64 - shift) / 9) loads, with no
 * comparison of keys and no rebalancing; a bitmap per node finds the
 * next used slot without scanning empty ones.
 *
 * Ranges must not overlap (the caller checks with uvi_radix_first) and
 * start and end + 1 must be multiples of 1 << shift. Values must be
 * non-NULL and aligned on at least 2 bytes (the low bit tags them). Like
 * an IOMMU's page-table pages, a node that empties is kept for the next
 * range there, and freed by destroy or when a range that covers its
 * whole span is set: the memory is that of every part of the address
 * space ever used, about 4 KiB per 2^(9 + shift) bytes of it touched
 * (2 MiB at shift 12). Not thread-safe, lookups included (they leave a
 * hint in the table).
 */

#include <stdint.h>

struct uvi_radix;

/* A table of addresses >> shift (shift < 64); 0 or -ENOMEM. */
int uvi_radix_create(unsigned shift, struct uvi_radix **out);
void uvi_radix_destroy(struct uvi_radix *t);

/*
 * Point [start, end] at val. The range must be empty and aligned (see
 * above); -EINVAL if val is NULL or odd, -ENOMEM: the table as it was.
 */
int uvi_radix_set(struct uvi_radix *t, uint64_t start, uint64_t end, void *val);
/*
 * Empty [start, end], which must be exactly a range set before (a part of
 * one may be stored as a block of a higher level: clearing it would mean
 * splitting the block).
 */
void uvi_radix_clear(struct uvi_radix *t, uint64_t start, uint64_t end);
/*
 * Start loading the cache lines that a lookup or a one-granule set or
 * clear at addr will use (its leaf's slot and bitmap), without waiting:
 * the leaves of scattered addresses are rarely in the cache, and a burst
 * can fetch the next requests' leaves while it handles this one. The
 * walk down to the leaf reads only the upper levels, which stay cached.
 */
void uvi_radix_prefetch(const struct uvi_radix *t, uint64_t addr);
/* The value at addr, or NULL. */
void *uvi_radix_get(struct uvi_radix *t, uint64_t addr); /* not const: it keeps a hint */
/* The value at the lowest address of [start, end] that has one, or NULL (start <= end). */
void *uvi_radix_first(struct uvi_radix *t, uint64_t start, uint64_t end);

#endif
