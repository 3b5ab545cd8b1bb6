/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lazy unmap (Linux calls it a flush queue; the vIOMMU paper, Amit et al.,
 * ATC 2011, "optimistic teardown"): viommu_dma_unmap() only queues the
 * range, and the queue goes to the device as one batch of UNMAPs when N
 * are queued (by the caller that queues the N-th) or when the oldest has
 * waited T (by the flush thread, or by viommu_dma_poll()/_map() without
 * it). An IOVA goes back to the allocator only once its UNMAP completed,
 * so it is never handed out while its old mapping may be live.
 *
 * The window: from viommu_dma_unmap() to the completion of its UNMAP, the
 * device can still reach the buffer. It is at most T plus the flush
 * thread's wake-up plus one batch round trip, and shorter when N fill
 * first; the statistics histogram measures it (doc/iova.md has numbers).
 *
 * Nothing is lost: a queued range is not in the driver yet, so a device
 * reset (viommu_reset(), or a recovery) replays its mapping from the
 * shadow like any other, and the next flush removes it. An UNMAP that
 * fails (a device that stopped answering) puts its range back at the head
 * of the queue, and the thread waits T before trying again. Requests in
 * flight during a reset complete once the driver has replayed, with what
 * the shadow then says: done.
 *
 * The ring of pending ranges grows when full; a flush takes up to
 * UVI_DMA_BATCH from its head and keeps room (`held`) to put failures back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dma.h"

#define RING_MIN 64

static int start_thread(struct viommu_dma *dma);

static int init_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (!rc)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

int uvi_dma_lazy_init(struct viommu_dma *dma, const struct viommu_dma_opts *o)
{
	struct uvi_dma_lazy *l = &dma->lazy;

	l->on = o->flags & VIOMMU_DMA_LAZY;
	l->max = o->lazy_max ? o->lazy_max : VIOMMU_DMA_LAZY_MAX_DEFAULT;
	l->timeout_ns = 1000ull * (o->lazy_timeout_us ? o->lazy_timeout_us :
				   VIOMMU_DMA_LAZY_TIMEOUT_US_DEFAULT);
	atomic_init(&l->n_seen, 0);
	l->flushing = calloc(UVI_DMA_BATCH, sizeof(*l->flushing));
	if (!l->flushing)
		return uvi_fail(-ENOMEM, "dma_create: out of memory");
	if (pthread_mutex_init(&l->flush_lock, NULL) || pthread_mutex_init(&l->q_lock, NULL) ||
	    init_cond(&l->cond)) {
		free(l->flushing);
		return uvi_fail(-ENOMEM, "dma_create: cannot create the unmap queue's locks");
	}
	if (l->on && !(o->flags & VIOMMU_DMA_LAZY_NO_THREAD))
		return start_thread(dma);
	return 0;
}

void uvi_dma_lazy_fini(struct viommu_dma *dma)
{
	struct uvi_dma_lazy *l = &dma->lazy;

	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->q_lock);
	pthread_mutex_destroy(&l->flush_lock);
	free(l->q);
	free(l->flushing);
}

/* ---- the ring (q_lock held) ---- */

static struct uvi_dma_pending *at(struct uvi_dma_lazy *l, size_t i)
{
	return &l->q[(l->head + i) % l->cap];
}

static bool grow(struct uvi_dma_lazy *l)
{
	size_t cap = l->cap ? 2 * l->cap : RING_MIN;
	struct uvi_dma_pending *q = malloc(cap * sizeof(*q));

	if (!q)
		return false;
	for (size_t i = 0; i < l->n; i++)
		q[i] = *at(l, i);
	free(l->q);
	l->q = q;
	l->cap = cap;
	l->head = 0;
	return true;
}

static void publish_count(struct uvi_dma_lazy *l)
{
	atomic_store_explicit(&l->n_seen, l->n + l->held, memory_order_relaxed);
}

size_t uvi_dma_queued(struct viommu_dma *dma)
{
	return atomic_load_explicit(&dma->lazy.n_seen, memory_order_relaxed);
}

int uvi_dma_enqueue(struct viommu_dma *dma, uint64_t iova, uint64_t span)
{
	struct uvi_dma_lazy *l = &dma->lazy;
	bool due;

	pthread_mutex_lock(&l->q_lock);
	if (l->n + l->held == l->cap && !grow(l)) {
		pthread_mutex_unlock(&l->q_lock);
		return -ENOMEM;
	}
	*at(l, l->n++) = (struct uvi_dma_pending){ iova, span, uvi_dma_now_ns() };
	publish_count(l);
	due = l->n >= l->max;
	if (l->n == 1)
		pthread_cond_signal(&l->cond); /* the thread sets its deadline */
	pthread_mutex_unlock(&l->q_lock);
	if (due)
		viommu_dma_flush(dma);
	return 0;
}

/* Move up to UVI_DMA_BATCH from the head into l->flushing; room stays held. */
static size_t take(struct uvi_dma_lazy *l, size_t limit)
{
	size_t k;

	pthread_mutex_lock(&l->q_lock);
	k = l->n < limit ? l->n : limit;
	for (size_t i = 0; i < k; i++)
		l->flushing[i] = *at(l, i);
	if (k) {
		l->head = (l->head + k) % l->cap;
		l->n -= k;
		l->held += k;
	}
	pthread_mutex_unlock(&l->q_lock);
	return k;
}

/*
 * Put the failed entries back at the head, in their order; release the
 * room of the others. Entries put back wake the flush thread: it may have
 * found the queue empty while they were taken, and gone to sleep with no
 * deadline (enqueue wakes it only when the queue goes from empty to one).
 */
static void give_back(struct uvi_dma_lazy *l, size_t k, const int *status)
{
	size_t n_before;

	pthread_mutex_lock(&l->q_lock);
	n_before = l->n;
	for (size_t i = k; i-- > 0;) {
		if (!status[i])
			continue;
		l->head = (l->head + l->cap - 1) % l->cap;
		l->q[l->head] = l->flushing[i];
		l->n++;
	}
	l->held -= k;
	publish_count(l);
	if (l->n != n_before)
		pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->q_lock);
}

/* ---- one flush ---- */

/* UNMAP the k taken entries in one batch; status[i] receives each one's result. */
static void send(struct viommu_dma *dma, size_t k, int *status)
{
	unsigned index[UVI_DMA_BATCH];
	struct viommu_batch *b;
	bool any = false;
	int rc = uvi_dma_batch_get(dma, &b);

	for (size_t i = 0; i < k; i++) {
		const struct uvi_dma_pending *e = &dma->lazy.flushing[i];
		int idx = rc ? rc : viommu_batch_unmap(b, dma->dom, e->iova, e->span + 1);

		status[i] = idx < 0 ? idx : -EINPROGRESS;
		index[i] = idx < 0 ? 0 : (unsigned)idx;
		any |= idx >= 0;
	}
	if (rc)
		return;
	if (any)
		viommu_batch_run(b);
	for (size_t i = 0; i < k; i++)
		if (status[i] == -EINPROGRESS)
			status[i] = viommu_batch_status(b, index[i]);
	uvi_dma_batch_put(dma, b);
}

static unsigned bucket(uint64_t ns)
{
	unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;

	return b < VIOMMU_DMA_EXPOSURE_BUCKETS ? b : VIOMMU_DMA_EXPOSURE_BUCKETS - 1;
}

/* Count the outcome; the completed ranges' IOVAs go back to the allocator. */
static size_t settle(struct viommu_dma *dma, size_t k, const int *status)
{
	struct viommu_dma_stats *st = &dma->stats;
	uint64_t now = uvi_dma_now_ns();
	size_t done = 0;

	pthread_mutex_lock(&dma->lock);
	for (size_t i = 0; i < k; i++) {
		uint64_t w = now - dma->lazy.flushing[i].queued_ns;

		if (status[i]) {
			st->flush_errors++;
			continue;
		}
		done++;
		st->exposure_total_ns += w;
		st->exposure_max_ns = w > st->exposure_max_ns ? w : st->exposure_max_ns;
		st->exposure_log2[bucket(w)]++;
	}
	st->flushed += done;
	st->flushes += done > 0;
	pthread_mutex_unlock(&dma->lock);
	for (size_t i = 0; i < k; i++)
		if (!status[i])
			viommu_iova_free(dma->space, dma->lazy.flushing[i].iova,
					 dma->lazy.flushing[i].span + 1);
	return done;
}

int viommu_dma_flush(struct viommu_dma *dma)
{
	struct uvi_dma_lazy *l;
	int status[UVI_DMA_BATCH], first_err = 0;
	size_t total = 0, budget, k;

	if (!dma)
		return uvi_fail(-EINVAL, "dma_flush: NULL argument");
	l = &dma->lazy;
	pthread_mutex_lock(&l->flush_lock);
	budget = uvi_dma_queued(dma); /* what is queued now, not what comes meanwhile */
	while (budget && (k = take(l, budget < UVI_DMA_BATCH ? budget : UVI_DMA_BATCH))) {
		size_t done;

		send(dma, k, status);
		done = settle(dma, k, status);
		give_back(l, k, status);
		total += done;
		budget -= k;
		for (size_t i = 0; i < k && !first_err; i++)
			first_err = status[i];
		if (done < k)
			break; /* the device refuses: do not insist */
	}
	pthread_mutex_unlock(&l->flush_lock);
	if (!total && first_err)
		return uvi_fail(first_err, "dma_flush: the device did not complete the queued "
				"UNMAPs (%s); they stay queued", strerror(-first_err));
	return (int)total;
}

/* ---- when to flush ---- */

static bool due(struct uvi_dma_lazy *l, uint64_t now)
{
	bool d;

	pthread_mutex_lock(&l->q_lock);
	d = l->n && (l->n >= l->max || now - at(l, 0)->queued_ns >= l->timeout_ns);
	pthread_mutex_unlock(&l->q_lock);
	return d;
}

void uvi_dma_lazy_tick(struct viommu_dma *dma)
{
	if (uvi_dma_queued(dma) && due(&dma->lazy, uvi_dma_now_ns()))
		viommu_dma_flush(dma);
}

int viommu_dma_poll(struct viommu_dma *dma)
{
	if (!dma)
		return uvi_fail(-EINVAL, "dma_poll: NULL argument");
	if (!uvi_dma_queued(dma) || !due(&dma->lazy, uvi_dma_now_ns()))
		return 0;
	return viommu_dma_flush(dma);
}

/* ---- the flush thread ---- */

static struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
}

/* With q_lock held: the time the thread should act, 0 if the queue is empty. */
static uint64_t deadline(struct uvi_dma_lazy *l, uint64_t not_before)
{
	uint64_t d;

	if (!l->n)
		return 0;
	d = at(l, 0)->queued_ns + l->timeout_ns;
	return d > not_before ? d : not_before;
}

static void *flush_thread(void *arg)
{
	struct viommu_dma *dma = arg;
	struct uvi_dma_lazy *l = &dma->lazy;
	uint64_t not_before = 0, when;

	pthread_mutex_lock(&l->q_lock);
	while (!l->stop) {
		struct timespec ts;

		when = deadline(l, not_before);
		if (!when) {
			pthread_cond_wait(&l->cond, &l->q_lock);
			continue;
		}
		if (uvi_dma_now_ns() < when) {
			ts = to_timespec(when);
			pthread_cond_timedwait(&l->cond, &l->q_lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&l->q_lock);
		/* A refused flush is tried again T later, not in a loop. */
		not_before = viommu_dma_flush(dma) < 0 ? uvi_dma_now_ns() + l->timeout_ns : 0;
		pthread_mutex_lock(&l->q_lock);
	}
	pthread_mutex_unlock(&l->q_lock);
	return NULL;
}

static int start_thread(struct viommu_dma *dma)
{
	int rc = pthread_create(&dma->lazy.thread, NULL, flush_thread, dma);

	if (rc) {
		uvi_dma_lazy_fini(dma);
		return uvi_fail(-rc, "dma_create: cannot start the flush thread: %s", strerror(rc));
	}
	dma->lazy.thread_on = true;
	return 0;
}

void uvi_dma_lazy_stop(struct viommu_dma *dma)
{
	struct uvi_dma_lazy *l = &dma->lazy;

	if (!l->thread_on)
		return;
	pthread_mutex_lock(&l->q_lock);
	l->stop = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->q_lock);
	pthread_join(l->thread, NULL);
	l->thread_on = false;
}
