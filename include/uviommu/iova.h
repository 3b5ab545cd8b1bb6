/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_IOVA_H
#define UVIOMMU_IOVA_H

/*
 * IOVA allocation and one-call DMA mapping (doc/iova.md).
 *
 * viommu_iova_*   an IOVA space: the addresses a domain may hand out,
 *                 bounded by the device's input range, the DMA address
 *                 limit of its endpoints and reserved regions. A range
 *                 tree (O(log n) worst case) behind per-thread magazine
 *                 caches for power-of-two sizes. Any thread may call any
 *                 function; see doc/iova.md for the locking.
 * viommu_dma_*    DMA mapping of buffers for a NIC driver: allocate an
 *                 IOVA, resolve the physical pages, MAP them as one batch;
 *                 unmap strictly (the default: the UNMAP completes before
 *                 the call returns) or lazily (queued, sent as a batch).
 *
 * All addresses and bounds are inclusive ("last", never "end + 1"): an
 * input range may be the whole 64-bit space, whose size does not fit in a
 * uint64_t. Every function returns 0 (or a count) or a negative errno with
 * a sentence for viommu_last_error().
 */

#include <stddef.h>
#include <stdint.h>

#include <uviommu/mem.h>
#include <uviommu/viommu.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IOVA spaces ---- */

struct viommu_iova_space;

/* Power-of-two sizes up to this many granules go through the per-thread caches. */
#define VIOMMU_IOVA_CACHED_GRANULES_MAX 32

/* Flags of viommu_iova_opts. */
#define VIOMMU_IOVA_NO_CACHE (1u << 0) /* every call goes to the range tree */

struct viommu_iova_opts {
	uint64_t first, last; /* inclusive bounds, aligned to the granule (last + 1 aligned) */
	uint64_t granule;     /* a power of two; 0: 4096 */
	int numa_node;        /* node of the range tree's memory; -1: the calling thread's */
	unsigned flags;
};

/*
 * A space of [first, last] in which everything is free. -EINVAL for bad
 * bounds or granule (also for 2^64 granules, which no counter can hold).
 */
int viommu_iova_space_create(const struct viommu_iova_opts *opts,
			     struct viommu_iova_space **out);
/* Frees the space and everything cached; live allocations are forgotten. NULL is a no-op. */
void viommu_iova_space_destroy(struct viommu_iova_space *space);

/*
 * Take [first, last] out of the space for good (a RESV_MEM region, a
 * window the application keeps for itself). The part outside the bounds
 * is ignored. -EBUSY if any of it is allocated (nothing changes).
 */
int viommu_iova_reserve(struct viommu_iova_space *space, uint64_t first, uint64_t last);
/*
 * Lower the top of the space to last (the DMA address limit of an
 * endpoint: 2^bits - 1). -EBUSY if anything above it is allocated,
 * -EINVAL if last is not a granule's last byte or is below the bottom.
 * A higher limit than the current one changes nothing.
 */
int viommu_iova_set_limit(struct viommu_iova_space *space, uint64_t last);

/*
 * Allocate size bytes (rounded up to the granule) aligned to align (a
 * power of two; 0 or anything up to the granule: the granule). The lowest
 * free range that surely fits is used (address-ordered first fit).
 * -ENOSPC when no free range fits, after the caches were emptied into the
 * tree.
 */
int viommu_iova_alloc(struct viommu_iova_space *space, uint64_t size, uint64_t align,
		      uint64_t *iova);
/* Allocate exactly [iova, iova + size - 1]. -EBUSY if any of it is not free. */
int viommu_iova_alloc_at(struct viommu_iova_space *space, uint64_t iova, uint64_t size);
/*
 * Give back [iova, iova + size - 1] (any allocated part of the space; the
 * size is rounded up to the granule). A free that the range tree sees is
 * checked: -EINVAL if any of it is free already (a range waiting in a
 * cache counts as allocated), reserved or out of bounds, and nothing
 * changes. A cached size (a power of two up to
 * VIOMMU_IOVA_CACHED_GRANULES_MAX granules) goes to the calling thread's
 * cache, which checks only bounds and alignment, as the per-CPU IOVA
 * caches of Linux and DPDK do: a double free of such a range, or a free
 * of one never allocated (in a reserved region, say), returns 0 and
 * until the cache is emptied the range can be handed out again, twice
 * for a double free. Emptying the cache (viommu_iova_flush_caches(), or
 * when it overflows) finds it, drops it and counts it in bad_frees. A
 * caller that cannot rule such frees out, or is being debugged, creates
 * the space with VIOMMU_IOVA_NO_CACHE: then every free is checked.
 */
int viommu_iova_free(struct viommu_iova_space *space, uint64_t iova, uint64_t size);
/* Return every cached range to the tree (done by itself when the tree runs out). */
int viommu_iova_flush_caches(struct viommu_iova_space *space);

struct viommu_iova_stats {
	uint64_t first, last, granule; /* bounds now */
	uint64_t free_bytes;     /* in the tree; saturates at UINT64_MAX (a whole 64-bit space) */
	uint64_t cached_bytes;   /* allocated in the tree but waiting in a cache */
	uint64_t largest_free;   /* bytes of the largest free range (saturates) */
	uint64_t free_ranges;    /* free ranges in the tree */
	uint64_t reserved;       /* reserved regions (merged) */
	uint64_t tree_allocs, tree_frees;   /* served by the tree */
	uint64_t cache_allocs, cache_frees; /* served by a thread's cache */
	uint64_t failures;       /* allocations that found no room */
	uint64_t bad_frees;      /* frees refused: not allocated, reserved or out of bounds */
	uint64_t reclaims;       /* times the caches were emptied into the tree */
	uint32_t threads;        /* threads that have a cache in this space */
};
int viommu_iova_get_stats(struct viommu_iova_space *space, struct viommu_iova_stats *stats);

/* ---- DMA mapping of buffers ---- */

struct viommu_dma;

/* Flags of viommu_dma_opts. */
#define VIOMMU_DMA_LAZY (1u << 0)           /* queue unmaps, send them as a batch */
#define VIOMMU_DMA_LAZY_NO_THREAD (1u << 1) /* no flush thread: call viommu_dma_poll() */

/*
 * How a buffer's virtual address becomes the address MAP sends: physical
 * (/proc/self/pagemap, or the table of a registered viommu_mem), or the
 * virtual address itself (the software device, whose "physical" addresses
 * are virtual ones). AUTO: virtual with access "sim", else physical.
 */
enum viommu_dma_addressing {
	VIOMMU_DMA_ADDR_AUTO,
	VIOMMU_DMA_ADDR_PHYSICAL,
	VIOMMU_DMA_ADDR_VIRTUAL,
};

#define VIOMMU_DMA_LAZY_MAX_DEFAULT 128       /* N */
#define VIOMMU_DMA_LAZY_TIMEOUT_US_DEFAULT 1000 /* T */

struct viommu_dma_opts {
	unsigned flags;
	/* Lazy mode: send the queue when this many unmaps are queued (0: the default N). */
	unsigned lazy_max;
	/* Lazy mode: or when the oldest has waited this long, in us (0: the default T). */
	unsigned lazy_timeout_us;
	/* IOVAs to hand out, inclusive; 0 and 0: the input range without IOVA 0's granule. */
	uint64_t iova_first, iova_last;
	enum viommu_dma_addressing addressing;
};

/*
 * DMA mapping for one domain of dev: an IOVA space over the device's
 * input range and granule (its metadata on the calling thread's NUMA
 * node), a batch pool, and in lazy mode the unmap queue (and its flush
 * thread). opts NULL: strict, defaults. The domain's other
 * users must keep out of the space (map only in ranges reserved with
 * viommu_iova_reserve() on viommu_dma_iova_space()). -ENOENT if dom is
 * not a live domain of dev.
 */
int viommu_dma_create(struct viommu_dev *dev, struct viommu_domain *dom,
		      const struct viommu_dma_opts *opts, struct viommu_dma **out);
/*
 * Flush the unmap queue, unmap what is still mapped, free everything.
 * Call it before viommu_close(). Mappings the device refused to remove
 * stay in the domain (destroy the domain). NULL is a no-op.
 */
void viommu_dma_destroy(struct viommu_dma *dma);
struct viommu_iova_space *viommu_dma_iova_space(struct viommu_dma *dma);

/*
 * Attach an endpoint to the domain for DMA: PROBE it, keep its reserved
 * regions out of the IOVA space, lower the space's top to the endpoint's
 * DMA address limit (dma_bits 1-64; 0: 64; QEMU's edu: 28), then attach.
 * -EBUSY (nothing changed) if IOVAs already handed out are in the way;
 * an attach the driver refuses (-ENOENT: unknown endpoint or dead domain;
 * -EACCES: the domain maps inside the endpoint's reserved regions) also
 * changes nothing. If the device itself then fails the ATTACH, the space
 * keeps the endpoint's regions and limit.
 */
int viommu_dma_attach(struct viommu_dma *dma, uint32_t endpoint_id, unsigned dma_bits);

/*
 * Resolve bus addresses of buffers inside mem from its table (no pagemap
 * read per call). mem must outlive the registration; it is dropped by
 * viommu_dma_destroy(). -EINVAL if mem's addressing is not the mapper's.
 */
int viommu_dma_register_mem(struct viommu_dma *dma, const struct viommu_mem *mem);

/*
 * Map [va, va + len) for the domain's endpoints: one IOVA range for the
 * granules the buffer touches, one MAP per physically contiguous run, one
 * batch. *iova receives the address of va itself. flags: VIOMMU_MAP_READ
 * and/or VIOMMU_MAP_WRITE.
 */
int viommu_dma_map(struct viommu_dma *dma, const void *va, size_t len, unsigned flags,
		   uint64_t *iova);
/*
 * Unmap what viommu_dma_map() returned (the same iova and len). Strict: the
 * UNMAP has completed on return, then the IOVA is free again; on failure
 * the mapping stays and the call may be repeated. Lazy: queued; its IOVA
 * is handed out again only after its UNMAP completes. -ENOENT if (iova,
 * len) is not a live mapping.
 */
int viommu_dma_unmap(struct viommu_dma *dma, uint64_t iova, size_t len);

/*
 * Send every queued unmap now and wait for it. Returns how many completed;
 * those that failed stay queued (a failed device: until after
 * viommu_reset()).
 */
int viommu_dma_flush(struct viommu_dma *dma);
/* Flush if the oldest queued unmap has waited lazy_timeout_us (for VIOMMU_DMA_LAZY_NO_THREAD). */
int viommu_dma_poll(struct viommu_dma *dma);

#define VIOMMU_DMA_EXPOSURE_BUCKETS 40

struct viommu_dma_stats {
	uint64_t maps, unmaps;  /* successful viommu_dma_map() and _unmap() calls */
	uint64_t map_requests;  /* MAP requests they sent (one per contiguous run) */
	uint64_t mapped;        /* live mappings now */
	uint64_t queued;        /* unmaps waiting in the lazy queue now */
	uint64_t flushes;       /* queue flushes that sent something */
	uint64_t flushed;       /* queued unmaps completed */
	uint64_t flush_errors;  /* queued unmaps that failed and were kept */
	/*
	 * The exposure window of a lazy unmap: from its viommu_dma_unmap()
	 * to the completion of its UNMAP, in nanoseconds. exposure_log2[i]
	 * counts windows in [2^i, 2^(i+1)) ns (the last bucket: above).
	 */
	uint64_t exposure_max_ns, exposure_total_ns;
	uint64_t exposure_log2[VIOMMU_DMA_EXPOSURE_BUCKETS];
};
int viommu_dma_get_stats(struct viommu_dma *dma, struct viommu_dma_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
