/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The depot of a size class: up to UVI_IOVA_DEPOT_MAX full magazines that
 * any thread may take, and a stack of empty ones. Its bound keeps what the
 * caches hold in proportion; beyond it, a freeing thread gives its ranges
 * back to the tree. Magazines it has to allocate are malloc'd by the thread
 * that needs one, so they start on that thread's node.
 *
 * Reclaim empties everything cached into the tree: each thread's cache
 * (waiting, boundedly, for its owner to finish the operation it is in),
 * then the depot. The allocator calls it when the tree has no room, so a
 * range that waits in a cache never makes an allocation fail.
 */
#include <errno.h>
#include <stdlib.h>

#include "iova_internal.h"

int uvi_iova_depot_init(struct uvi_iova_depot *d)
{
	d->n_full = 0;
	d->empty = NULL;
	d->own = NULL;
	return pthread_mutex_init(&d->lock, NULL) ? -ENOMEM : 0;
}

void uvi_iova_depot_fini(struct uvi_iova_depot *d)
{
	struct uvi_iova_mag *m, *next;

	for (m = d->own; m; m = next) {
		next = m->own_next;
		free(m);
	}
	d->own = NULL;
	pthread_mutex_destroy(&d->lock);
}

bool uvi_iova_depot_trade_empty(struct uvi_iova_depot *d, struct uvi_iova_mag **m)
{
	struct uvi_iova_mag *full;

	pthread_mutex_lock(&d->lock);
	if (!d->n_full) {
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	full = d->full[--d->n_full];
	(*m)->next = d->empty;
	d->empty = *m;
	*m = full;
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* An empty magazine from the stack, or a new one; NULL if out of memory. */
static struct uvi_iova_mag *empty_mag(struct uvi_iova_depot *d)
{
	struct uvi_iova_mag *e = d->empty;

	if (e) {
		d->empty = e->next;
		return e;
	}
	e = malloc(sizeof(*e));
	if (e) {
		e->own_next = d->own;
		d->own = e;
	}
	return e;
}

bool uvi_iova_depot_trade_full(struct uvi_iova_depot *d, struct uvi_iova_mag **m)
{
	struct uvi_iova_mag *e = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->n_full < UVI_IOVA_DEPOT_MAX)
		e = empty_mag(d);
	if (e) {
		d->full[d->n_full++] = *m;
		e->n = 0;
		*m = e;
	}
	pthread_mutex_unlock(&d->lock);
	return e != NULL;
}

void uvi_iova_mag_drain(struct viommu_iova_space *sp, int cls, struct uvi_iova_mag *m)
{
	uint64_t span = (sp->granule << cls) - 1;

	pthread_mutex_lock(&sp->lock);
	for (unsigned i = 0; i < m->n; i++)
		uvi_iova_give_locked(sp, m->iova[i], m->iova[i] + span); /* a bad one is counted */
	pthread_mutex_unlock(&sp->lock);
	m->n = 0;
}

static void reclaim_cache(struct viommu_iova_space *sp, struct uvi_iova_tcache *c)
{
	if (!uvi_iova_tcache_lock(c))
		return; /* its owner is stuck inside an operation: leave it */
	for (int k = 0; k < UVI_IOVA_CLASSES; k++) {
		uvi_iova_mag_drain(sp, k, c->cls[k].loaded);
		uvi_iova_mag_drain(sp, k, c->cls[k].prev);
	}
	uvi_iova_tcache_unlock(c);
}

static void reclaim_depot(struct viommu_iova_space *sp, int cls)
{
	struct uvi_iova_depot *d = &sp->depot[cls];

	pthread_mutex_lock(&d->lock);
	while (d->n_full) {
		struct uvi_iova_mag *m = d->full[--d->n_full];

		uvi_iova_mag_drain(sp, cls, m);
		m->next = d->empty;
		d->empty = m;
	}
	pthread_mutex_unlock(&d->lock);
}

void uvi_iova_reclaim(struct viommu_iova_space *sp)
{
	for (unsigned i = 0; i < UVI_IOVA_MAX_THREADS; i++) {
		struct uvi_iova_tcache *c = atomic_load_explicit(&sp->tcache[i],
								 memory_order_acquire);

		if (c)
			reclaim_cache(sp, c);
	}
	for (int k = 0; k < UVI_IOVA_CLASSES; k++)
		reclaim_depot(sp, k);
	pthread_mutex_lock(&sp->lock);
	sp->reclaims++;
	pthread_mutex_unlock(&sp->lock);
}
