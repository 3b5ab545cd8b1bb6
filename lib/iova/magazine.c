/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-thread caches (Bonwick and Adams, "Magazines and Vmem", USENIX
 * 2001): for each size class a thread holds two magazines of up to
 * UVI_IOVA_MAG_SIZE ranges, "loaded" and "prev". An allocation pops from
 * loaded; when it is empty and prev is not, the two swap; when both are
 * empty, loaded is traded at the depot for a full one. A free pushes, and
 * when both are full trades loaded at the depot for an empty one (or, the
 * depot being full, gives its ranges back to the tree). So a thread goes
 * to a shared structure at most once every UVI_IOVA_MAG_SIZE operations.
 *
 * The cache is guarded by its `busy` flag, taken with one atomic exchange
 * and released with a store: its owner never waits for it (a taken flag
 * means another thread is emptying the cache, and the owner goes to the
 * tree instead), and nothing else on the fast path touches shared memory.
 */
#include <sched.h>

#include "iova_internal.h"

#define LOCK_SPINS_PER_YIELD 64
#define LOCK_TRIES (1u << 20) /* about 16000 yields: the owner holds it for nanoseconds */

struct uvi_iova_tcache *uvi_iova_tcache_create(struct viommu_iova_space *sp)
{
	int index = uvi_iova_thread_index();
	struct uvi_iova_tcache *c;

	if (index < 0)
		return NULL;
	c = atomic_load_explicit(&sp->tcache[index], memory_order_acquire);
	if (c)
		return c; /* left by an earlier thread of this index */
	c = uvi_iova_meta_alloc(sizeof(*c), uvi_iova_local_node());
	if (!c)
		return NULL;
	atomic_init(&c->busy, 0);
	for (unsigned k = 0; k < UVI_IOVA_CLASSES; k++) {
		c->cls[k].loaded = &c->mags[2 * k];
		c->cls[k].prev = &c->mags[2 * k + 1];
	}
	atomic_store_explicit(&sp->tcache[index], c, memory_order_release);
	return c;
}

void uvi_iova_tcaches_free(struct viommu_iova_space *sp)
{
	for (unsigned i = 0; i < UVI_IOVA_MAX_THREADS; i++) {
		struct uvi_iova_tcache *c = atomic_load_explicit(&sp->tcache[i],
								 memory_order_acquire);

		uvi_iova_meta_free(c, sizeof(*c));
		atomic_store_explicit(&sp->tcache[i], NULL, memory_order_relaxed);
	}
}

bool uvi_iova_tcache_lock(struct uvi_iova_tcache *c)
{
	for (unsigned i = 1; i <= LOCK_TRIES; i++) {
		if (!atomic_load_explicit(&c->busy, memory_order_relaxed) &&
		    uvi_iova_tcache_trylock(c))
			return true;
		if (i % LOCK_SPINS_PER_YIELD == 0)
			sched_yield();
	}
	return false;
}

static void swap(struct uvi_iova_class_cache *k)
{
	struct uvi_iova_mag *m = k->loaded;

	k->loaded = k->prev;
	k->prev = m;
}

/* loaded is empty: swap with prev, or trade at the depot. Called and returns with c held. */
bool uvi_iova_cache_refill(struct viommu_iova_space *sp, struct uvi_iova_tcache *c, int cls)
{
	struct uvi_iova_class_cache *k = &c->cls[cls];

	if (k->prev->n) {
		swap(k);
		return true;
	}
	return uvi_iova_depot_trade_empty(&sp->depot[cls], &k->loaded);
}

/* loaded is full: swap with prev, trade at the depot, or empty it into the tree. */
void uvi_iova_cache_spill(struct viommu_iova_space *sp, struct uvi_iova_tcache *c, int cls)
{
	struct uvi_iova_class_cache *k = &c->cls[cls];

	if (k->prev->n < UVI_IOVA_MAG_SIZE)
		swap(k);
	else if (!uvi_iova_depot_trade_full(&sp->depot[cls], &k->loaded))
		uvi_iova_mag_drain(sp, cls, k->loaded);
}
