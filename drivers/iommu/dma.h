/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_IOMMU_DMA_H
#define UVIOMMU_IOMMU_DMA_H

/*
 * DMA mapping of buffers (include/uviommu/iova.h, doc/iova.md), built on
 * the driver's public API only (viommu.h: batches, probe, attach, info)
 * and on lib/iova and lib/mem. One concern per file:
 *
 *   dma.c          the object: create, destroy, attach, registered memory,
 *                  the batch pool, statistics
 *   dma_resolve.c  a buffer's virtual addresses -> runs of bus addresses
 *   dma_map.c      viommu_dma_map / viommu_dma_unmap and the live mappings
 *   lazy_unmap.c   the queue of unmaps, its flushes and its thread
 *
 * Locking: dma->lock guards the live mappings, the registered memory, the
 * batch pool and the counters, and is never held across a device round
 * trip. The lazy queue has its own lock (q_lock) and flushes are serialised
 * by flush_lock (held across the round trip; taken before q_lock). The
 * IOVA space and the driver lock themselves.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uviommu/iova.h>
#include <uviommu/mem.h>
#include <uviommu/viommu.h>

#include "../../lib/common/rbtree.h"

/*
 * From the driver core, for checks before the mapper changes anything
 * (each takes the device lock). uvi_attach_check: every check
 * viommu_attach_endpoint() makes before it sends anything (it PROBEs the
 * endpoint if it was not), 0 if the attach would be sent (attach.c).
 * uvi_domain_check_live: dom is a live domain of dev (domain.c).
 */
int uvi_attach_check(struct viommu_domain *dom, uint32_t endpoint_id);
int uvi_domain_check_live(struct viommu_dev *dev, struct viommu_domain *dom);

#define UVI_DMA_BATCH 128 /* requests per batch of the pool */

/* A live mapping: [rb.key, rb.key + span] in IOVA space. */
struct uvi_dma_mapping {
	struct uvi_rb_node rb;
	uint64_t span; /* bytes - 1 */
};

/* A queued unmap (lazy mode, or a teardown that failed). */
struct uvi_dma_pending {
	uint64_t iova, span;
	uint64_t queued_ns;
};

/* A run of a buffer: its offset from the first granule, bus address and length. */
struct uvi_dma_run {
	uint64_t off, bus, len;
};

struct uvi_dma_lazy {
	bool on, thread_on;
	unsigned max;        /* N */
	uint64_t timeout_ns; /* T */

	pthread_mutex_t flush_lock; /* one flush at a time */
	struct uvi_dma_pending *flushing; /* UVI_DMA_BATCH entries, under flush_lock */

	pthread_mutex_t q_lock;
	pthread_cond_t cond;   /* the thread waits for work or its deadline */
	struct uvi_dma_pending *q; /* ring */
	size_t head, n, cap;
	size_t held;           /* taken by a flush: room kept to put them back */
	atomic_size_t n_seen;  /* n, for lock-free peeks */
	bool stop;
	pthread_t thread;
};

struct viommu_dma {
	struct viommu_dev *dev;
	struct viommu_domain *dom;
	struct viommu_iova_space *space;
	uint64_t granule;
	enum viommu_addressing addressing;

	pthread_mutex_t lock;
	struct uvi_rb_tree mappings;
	int pagemap_fd; /* -1 until a physical address is read from it */
	const struct viommu_mem **mems;
	unsigned n_mems, cap_mems;
	struct viommu_batch **pool;
	unsigned n_pool, cap_pool;
	struct viommu_dma_stats stats; /* queued comes from the lazy queue */

	struct uvi_dma_lazy lazy;
};

static inline uint64_t uvi_dma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* dma.c */
int uvi_dma_batch_get(struct viommu_dma *dma, struct viommu_batch **out);
void uvi_dma_batch_put(struct viommu_dma *dma, struct viommu_batch *b);
void uvi_dma_count(struct viommu_dma *dma, uint64_t *counter, uint64_t n);

/* dma_resolve.c: the run of [base + off, base + span] that starts at off */
int uvi_dma_resolve(struct viommu_dma *dma, uintptr_t base, uint64_t span, uint64_t off,
		    struct uvi_dma_run *run);

/* dma_map.c: queue an unmap of every live mapping, flush, forget them */
void uvi_dma_mappings_free(struct viommu_dma *dma);

/* lazy_unmap.c */
int uvi_dma_lazy_init(struct viommu_dma *dma, const struct viommu_dma_opts *opts);
void uvi_dma_lazy_stop(struct viommu_dma *dma); /* the flush thread */
void uvi_dma_lazy_fini(struct viommu_dma *dma); /* what is still queued is dropped */
/* Queue an unmap of [iova, iova + span]; -ENOMEM if the queue cannot grow. */
int uvi_dma_enqueue(struct viommu_dma *dma, uint64_t iova, uint64_t span);
/* Flush if the queue is due (N reached or the oldest older than T). */
void uvi_dma_lazy_tick(struct viommu_dma *dma);
size_t uvi_dma_queued(struct viommu_dma *dma);
/* UNMAP [iova, iova + span] now (one batch); 0 or the errno. */
int uvi_dma_unmap_now(struct viommu_dma *dma, uint64_t iova, uint64_t span);

#endif
