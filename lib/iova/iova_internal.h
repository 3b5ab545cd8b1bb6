/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_IOVA_INTERNAL_H
#define UVIOMMU_IOVA_INTERNAL_H

/*
 * The IOVA allocator (doc/iova.md). One concern per file:
 *
 *   meta.c     NUMA-placed metadata memory and the pool of tree nodes
 *   tree.c     the free-range tree: first fit in O(log n), carve, give back
 *   space.c    spaces: bounds, reserved regions, limit, the locked tree calls
 *   thread.c   a small index per thread (its cache slot in every space)
 *   magazine.c per-thread caches: the lock-free fast path of alloc and free
 *   depot.c    full magazines shared by the threads, and the reclaim
 *   alloc.c    viommu_iova_alloc/_alloc_at/_free: cache first, then the tree
 *   stats.c    statistics and the consistency check of the tests
 *
 * Locking (the order is the order taken; never the other way round):
 *   tcache->busy   a thread's own cache: taken by its owner with one atomic
 *                  exchange and never waited for (the owner goes to the
 *                  tree instead); reclaim and stats wait for it, boundedly
 *   depot[k].lock  the depot of size class k
 *   space->lock    the tree, the reserved regions, the limit, the counters
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uviommu/iova.h>

#include "../common/rbtree.h"

#define UVI_IOVA_CLASSES 6 /* sizes 1, 2, 4 .. 32 granules (VIOMMU_IOVA_CACHED_GRANULES_MAX) */
#define UVI_IOVA_MAG_SIZE 64
#define UVI_IOVA_DEPOT_MAX 32 /* full magazines per class in the depot */
#define UVI_IOVA_MAX_THREADS 256
#define UVI_IOVA_MAX_RESV 64

_Static_assert(1u << (UVI_IOVA_CLASSES - 1) == VIOMMU_IOVA_CACHED_GRANULES_MAX,
	       "the size classes end at VIOMMU_IOVA_CACHED_GRANULES_MAX");

#define UVI_IOVA_RANGE(n) uvi_rb_entry(n, struct uvi_iova_range, rb)

/* ---- meta.c ---- */

/* len bytes of zeroed memory on numa_node (-1: wherever the first touch puts it). */
void *uvi_iova_meta_alloc(size_t len, int numa_node);
void uvi_iova_meta_free(void *p, size_t len);
/* The NUMA node the calling thread runs on, -1 without NUMA support. */
int uvi_iova_local_node(void);

/*
 * A free range [rb.key, last] of the tree. The augmented data, the largest
 * span (last - first) of each child's subtree, sits in the parent, so that
 * a descent reads only the nodes it goes through: one cache line each.
 */
struct uvi_iova_range {
	struct uvi_rb_node rb;
	uint64_t last;
	uint64_t left_max, right_max; /* 0 without that child */
} __attribute__((aligned(64)));

/* The largest span in the subtree of n. */
static inline uint64_t uvi_iova_submax(const struct uvi_rb_node *n)
{
	const struct uvi_iova_range *r = (const struct uvi_iova_range *)(const void *)n;
	uint64_t m = r->last - n->key;

	if (n->left && r->left_max > m)
		m = r->left_max;
	if (n->right && r->right_max > m)
		m = r->right_max;
	return m;
}

struct uvi_iova_chunk;

struct uvi_iova_pool {
	struct uvi_iova_range *free; /* linked through rb.left */
	struct uvi_iova_chunk *chunks;
	size_t next_chunk_bytes;
	int numa_node;
};

void uvi_iova_pool_init(struct uvi_iova_pool *p, int numa_node);
void uvi_iova_pool_fini(struct uvi_iova_pool *p);
struct uvi_iova_range *uvi_iova_pool_get(struct uvi_iova_pool *p); /* NULL: out of memory */
void uvi_iova_pool_put(struct uvi_iova_pool *p, struct uvi_iova_range *r);

/* ---- tree.c: every function with space->lock held ---- */

struct uvi_iova_tree {
	struct uvi_rb_tree rb;
	struct uvi_iova_pool pool;
	uint64_t granule;
	uint64_t free_granules;
	uint64_t n_ranges;
};

void uvi_iova_tree_init(struct uvi_iova_tree *t, uint64_t granule, int numa_node);
void uvi_iova_tree_fini(struct uvi_iova_tree *t);
/* Lowest fit of size bytes aligned to align (both multiples of the granule): 0 or -ENOSPC. */
int uvi_iova_tree_alloc(struct uvi_iova_tree *t, uint64_t size, uint64_t align, uint64_t *iova);
/* [first, last] lies inside one free range: carve it out. -EBUSY otherwise. */
int uvi_iova_tree_take(struct uvi_iova_tree *t, uint64_t first, uint64_t last);
/* true if [first, last] lies inside one free range. */
bool uvi_iova_tree_covers(const struct uvi_iova_tree *t, uint64_t first, uint64_t last);
/* Add [first, last] as free, merging with its neighbours. -EINVAL if any of it is free. */
int uvi_iova_tree_give(struct uvi_iova_tree *t, uint64_t first, uint64_t last);
uint64_t uvi_iova_tree_largest_span(const struct uvi_iova_tree *t); /* 0 if empty */

/* ---- magazines and thread caches ---- */

struct uvi_iova_mag {
	unsigned n;
	struct uvi_iova_mag *next;     /* in the depot's stack of empty magazines */
	struct uvi_iova_mag *own_next; /* in the depot's list of those it allocated */
	uint64_t iova[UVI_IOVA_MAG_SIZE];
};

struct uvi_iova_class_cache {
	struct uvi_iova_mag *loaded, *prev;
};

struct uvi_iova_tcache {
	atomic_uint busy;
	struct uvi_iova_class_cache cls[UVI_IOVA_CLASSES];
	uint64_t allocs, frees; /* served here; written by whoever holds busy */
	struct uvi_iova_mag mags[2 * UVI_IOVA_CLASSES];
} __attribute__((aligned(64)));

struct uvi_iova_depot {
	pthread_mutex_t lock;
	struct uvi_iova_mag *full[UVI_IOVA_DEPOT_MAX];
	unsigned n_full;
	struct uvi_iova_mag *empty; /* stack */
	struct uvi_iova_mag *own;   /* magazines the depot allocated (freed with the space) */
};

struct uvi_iova_resv {
	uint64_t first, last;
};

struct viommu_iova_space {
	/* Read by the fast path: never written after create (limit: atomically). */
	uint64_t first;
	_Atomic uint64_t limit; /* the inclusive top */
	uint64_t granule, granule_mask;
	unsigned shift;
	bool cached;
	int numa_node;

	pthread_mutex_t lock; /* the tree, reserved regions, counters below */
	struct uvi_iova_tree tree;
	struct uvi_iova_resv resv[UVI_IOVA_MAX_RESV]; /* sorted, disjoint, not adjacent */
	unsigned n_resv;
	uint64_t tree_allocs, tree_frees, failures, bad_frees, reclaims;

	struct uvi_iova_depot depot[UVI_IOVA_CLASSES];

	/* Slot i is written once, by the thread of index i (thread.c) creating its cache. */
	_Atomic(struct uvi_iova_tcache *) tcache[UVI_IOVA_MAX_THREADS];
};

/* ---- thread.c ---- */

/* The calling thread's index + 1, 0 before uvi_iova_thread_index() gave it one. */
extern _Thread_local unsigned uvi_iova_tid __attribute__((tls_model("initial-exec")));
/* The calling thread's index (kept until it exits), -1 if every index is taken. */
int uvi_iova_thread_index(void);

/* ---- magazine.c ---- */

/* The size class of (size, align), or -1 if it is not served by the caches. */
static inline int uvi_iova_class(const struct viommu_iova_space *sp, uint64_t size,
				 uint64_t align)
{
	uint64_t units;

	if (!sp->cached || align > sp->granule || (align & (align - 1)) || !size ||
	    (size & sp->granule_mask))
		return -1;
	units = size >> sp->shift;
	if (units > VIOMMU_IOVA_CACHED_GRANULES_MAX || (units & (units - 1)))
		return -1;
	return __builtin_ctzll(units);
}

/* The calling thread's cache in sp, created on first use; NULL if it cannot have one. */
struct uvi_iova_tcache *uvi_iova_tcache_create(struct viommu_iova_space *sp);

static inline struct uvi_iova_tcache *uvi_iova_my_cache(struct viommu_iova_space *sp)
{
	unsigned t = uvi_iova_tid;
	struct uvi_iova_tcache *c;

	if (__builtin_expect(t != 0, 1)) {
		c = atomic_load_explicit(&sp->tcache[t - 1], memory_order_acquire);
		if (__builtin_expect(c != NULL, 1))
			return c;
	}
	return uvi_iova_tcache_create(sp);
}

static inline bool uvi_iova_tcache_trylock(struct uvi_iova_tcache *c)
{
	return !atomic_exchange_explicit(&c->busy, 1, memory_order_acquire);
}

static inline void uvi_iova_tcache_unlock(struct uvi_iova_tcache *c)
{
	atomic_store_explicit(&c->busy, 0, memory_order_release);
}

/* With c held: loaded is empty; make it not empty (false: nothing cached anywhere). */
bool uvi_iova_cache_refill(struct viommu_iova_space *sp, struct uvi_iova_tcache *c, int cls);
/* With c held: loaded is full; make room in it. */
void uvi_iova_cache_spill(struct viommu_iova_space *sp, struct uvi_iova_tcache *c, int cls);

/* true and *iova set if the calling thread's cache had a range of class cls. */
static inline bool uvi_iova_cache_get(struct viommu_iova_space *sp, int cls, uint64_t *iova)
{
	struct uvi_iova_tcache *c = uvi_iova_my_cache(sp);
	struct uvi_iova_mag *m;
	bool ok = true;

	if (!c || !uvi_iova_tcache_trylock(c))
		return false; /* no cache, or another thread is emptying it */
	if (__builtin_expect(!c->cls[cls].loaded->n, 0))
		ok = uvi_iova_cache_refill(sp, c, cls);
	if (__builtin_expect(ok, 1)) {
		m = c->cls[cls].loaded;
		*iova = m->iova[--m->n];
		c->allocs++;
	}
	uvi_iova_tcache_unlock(c);
	return ok;
}

/* true if the calling thread's cache kept the range. */
static inline bool uvi_iova_cache_put(struct viommu_iova_space *sp, int cls, uint64_t iova)
{
	struct uvi_iova_tcache *c = uvi_iova_my_cache(sp);
	struct uvi_iova_mag *m;

	if (!c || !uvi_iova_tcache_trylock(c))
		return false;
	if (__builtin_expect(c->cls[cls].loaded->n == UVI_IOVA_MAG_SIZE, 0))
		uvi_iova_cache_spill(sp, c, cls);
	m = c->cls[cls].loaded;
	m->iova[m->n++] = iova;
	c->frees++;
	uvi_iova_tcache_unlock(c);
	return true;
}

/* Wait (boundedly) for a cache; false if its owner kept it too long. */
bool uvi_iova_tcache_lock(struct uvi_iova_tcache *c);
void uvi_iova_tcaches_free(struct viommu_iova_space *sp);

/* ---- depot.c ---- */

int uvi_iova_depot_init(struct uvi_iova_depot *d); /* -ENOMEM: no lock */
void uvi_iova_depot_fini(struct uvi_iova_depot *d);
/* Trade the empty magazine *m for a full one; false if the depot has none. */
bool uvi_iova_depot_trade_empty(struct uvi_iova_depot *d, struct uvi_iova_mag **m);
/* Trade the full magazine *m for an empty one; false if the depot cannot take it. */
bool uvi_iova_depot_trade_full(struct uvi_iova_depot *d, struct uvi_iova_mag **m);
/* Give the ranges of m (of class cls) back to the tree; m is empty afterwards. */
void uvi_iova_mag_drain(struct viommu_iova_space *sp, int cls, struct uvi_iova_mag *m);
/* Empty every cache and the depot into the tree. */
void uvi_iova_reclaim(struct viommu_iova_space *sp);

/* ---- space.c: the tree under the space lock ---- */

int uvi_iova_space_alloc(struct viommu_iova_space *sp, uint64_t size, uint64_t align,
			 uint64_t *iova);
int uvi_iova_space_take(struct viommu_iova_space *sp, uint64_t first, uint64_t last);
/* Checked: -EINVAL (and bad_frees counted) unless [first, last] is allocated. */
int uvi_iova_space_give(struct viommu_iova_space *sp, uint64_t first, uint64_t last);
/* The same with the lock held. */
int uvi_iova_give_locked(struct viommu_iova_space *sp, uint64_t first, uint64_t last);

/*
 * Reserve regions and lower the limit at once (viommu_dma_attach): every
 * check first, then every change, so a refusal changes nothing.
 */
int uvi_iova_restrict(struct viommu_iova_space *sp, const struct uvi_iova_resv *regions,
		      unsigned n, uint64_t limit);

/* ---- stats.c ---- */

/* Every invariant of the space (tests): 0, or -EUCLEAN and a message naming the first broken. */
int uvi_iova_check(struct viommu_iova_space *sp);

#endif
