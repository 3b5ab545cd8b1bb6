/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SHADOW_H
#define UVIOMMU_SHADOW_H

/*
 * The driver's copy of a domain's mappings: non-overlapping inclusive
 * intervals [start, end] of IOVA space, each with the physical address
 * and permissions it maps to and whether a request about it is in flight.
 *
 * It is the truth the driver validates against before queueing anything
 * (overlap, split) and what it replays after a re-attach or a device
 * reset. Entries are aligned on the granule (1 << shift bytes). A lookup
 * is one walk down a radix table, at most ceil((64 - shift) / 9) loads,
 * whatever the number of entries; inserting or removing an entry writes
 * a slot per aligned block of it. Not thread-safe: the device lock covers it.
 */

#include <stdbool.h>
#include <stdint.h>

enum uvi_shadow_state {
	UVI_SHADOW_LIVE,          /* mapped (on the device whenever the domain is attached) */
	UVI_SHADOW_MAP_PENDING,   /* a MAP for it is in flight */
	UVI_SHADOW_UNMAP_PENDING, /* an UNMAP covering it is in flight */
};

struct uvi_breq;

struct uvi_shadow_entry {
	uint64_t start, end; /* inclusive */
	uint64_t phys;
	uint32_t flags;      /* VIOMMU_MAP_* */
	enum uvi_shadow_state state;
	/*
	 * MAP_PENDING: the MAP creating it; UNMAP_PENDING: the UNMAP that
	 * marked it; LIVE: NULL.
	 */
	struct uvi_breq *req;
};

struct uvi_shadow;

/* A shadow of entries aligned on 1 << shift bytes (shift < 64); 0, -EINVAL or -ENOMEM. */
int uvi_shadow_create(unsigned shift, struct uvi_shadow **out);
void uvi_shadow_destroy(struct uvi_shadow *s);
uint64_t uvi_shadow_count(const struct uvi_shadow *s);

/*
 * Insert e (copied). -EEXIST, nothing changed, if it overlaps an entry;
 * -EINVAL if e->start > e->end or e->start or e->end + 1 is not a
 * multiple of the granule; -ENOMEM. The copy's start and end must not
 * be changed in place (remove it and insert again); its other fields may.
 */
int uvi_shadow_insert(struct uvi_shadow *s, const struct uvi_shadow_entry *e);
/* uvi_shadow_insert that also gives the copy's address in *out on success (if out). */
int uvi_shadow_add(struct uvi_shadow *s, const struct uvi_shadow_entry *e,
		   struct uvi_shadow_entry **out);
/*
 * uvi_shadow_add for a caller that has already checked e as insert does
 * (aligned, start <= end, no overlap: validate.c): it skips the second
 * lookup. Only -ENOMEM.
 */
int uvi_shadow_add_checked(struct uvi_shadow *s, const struct uvi_shadow_entry *e,
			   struct uvi_shadow_entry **out);
/*
 * The entry overlapping [start, end] with the lowest start, or NULL. Here
 * and in uvi_shadow_find_split, start > end is an empty range: NULL.
 */
struct uvi_shadow_entry *uvi_shadow_first_overlap(struct uvi_shadow *s, uint64_t start,
						  uint64_t end);
/* The next entry after e in address order, or NULL. */
struct uvi_shadow_entry *uvi_shadow_next(struct uvi_shadow *s, const struct uvi_shadow_entry *e);
/*
 * For a walk over [.., end]: the entry after e if it starts at or below
 * end, else NULL. Cheaper than uvi_shadow_next, which looks up to
 * UINT64_MAX.
 */
struct uvi_shadow_entry *uvi_shadow_next_upto(struct uvi_shadow *s,
					      const struct uvi_shadow_entry *e, uint64_t end);
/* The entry that is exactly [start, end] (then the only one overlapping it), or NULL. */
struct uvi_shadow_entry *uvi_shadow_find_exact(struct uvi_shadow *s, uint64_t start,
					       uint64_t end);
/* An entry that [start, end] covers only in part (an UNMAP would split it), or NULL. */
struct uvi_shadow_entry *uvi_shadow_find_split(struct uvi_shadow *s, uint64_t start,
					       uint64_t end);
/* Start loading what a lookup at iova will read (a burst does it a few requests ahead). */
void uvi_shadow_prefetch(const struct uvi_shadow *s, uint64_t iova);
/* Remove e (a pointer obtained from this shadow). */
void uvi_shadow_remove(struct uvi_shadow *s, struct uvi_shadow_entry *e);
/* The lowest entry, for iteration with uvi_shadow_next. */
struct uvi_shadow_entry *uvi_shadow_first(struct uvi_shadow *s);

#endif
