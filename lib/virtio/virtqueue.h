/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIRTQUEUE_H
#define UVIOMMU_VIRTQUEUE_H

/*
 * Driver side of a virtqueue, polled (no interrupts), in either layout of
 * the virtio 1.2 spec: split (section 2.7) or packed (section 2.8).
 *
 * Usage, one thread per queue:
 *   uvi_vq_add() any number of chains  -> descriptors written, not yet visible
 *   uvi_vq_publish()                   -> one release barrier, one index/flag
 *                                         store; returns whether to notify
 *   uvi_vq_get_used() until it says 0  -> completions, possibly out of order
 *
 * The device is untrusted: a used ID out of range or not outstanding, a
 * used length above what the chain offered as writable, a used index that
 * jumps past the outstanding count: each is detected before any driver
 * state is touched, reported with -EPROTO and a message, and the queue is
 * marked broken (every later call returns -EIO) until re-initialised.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uvi_vq_layout { UVI_VQ_SPLIT, UVI_VQ_PACKED };

struct uvi_vq_buf {
	uint64_t addr; /* bus address */
	uint32_t len;
	bool device_writable;
};

struct uvi_vq_config {
	enum uvi_vq_layout layout;
	uint16_t size;   /* split: power of two <= 32768; packed: 1..32768 */
	bool event_idx;  /* VIRTIO_F_EVENT_IDX negotiated */
};

/* Where the three ring areas live, for the transport's queue registers. */
struct uvi_vq_addrs {
	uint64_t desc;   /* descriptor table / packed descriptor ring */
	uint64_t driver; /* split: available ring; packed: driver event suppression */
	uint64_t device; /* split: used ring; packed: device event suppression */
};

struct uvi_vq; /* defined in vq_internal.h; opaque to the layers above */

/*
 * Bytes and alignment of ring memory for cfg (all three areas, one block).
 * uvi_vq_ring_bytes() is 0 for a cfg uvi_vq_create() would refuse; the
 * alignment is a cache line (64), above what the spec asks of any area.
 */
size_t uvi_vq_ring_bytes(const struct uvi_vq_config *cfg);
size_t uvi_vq_ring_align(const struct uvi_vq_config *cfg);

/*
 * Create a queue whose rings live in ring_va (zeroed here), which the
 * device sees at bus address ring_iova; the block must be contiguous in
 * bus address space for uvi_vq_ring_bytes(cfg) bytes.
 */
int uvi_vq_create(const struct uvi_vq_config *cfg, void *ring_va, uint64_t ring_iova,
		  struct uvi_vq **out);
void uvi_vq_destroy(struct uvi_vq *vq);
/* Forget every outstanding chain and zero the rings (after a device reset). */
void uvi_vq_reset(struct uvi_vq *vq);

void uvi_vq_get_addrs(const struct uvi_vq *vq, struct uvi_vq_addrs *out);
uint16_t uvi_vq_size(const struct uvi_vq *vq);
unsigned uvi_vq_num_free(const struct uvi_vq *vq);
bool uvi_vq_broken(const struct uvi_vq *vq);

/*
 * Queue one chain of n buffers (readable ones first, then writable, as
 * virtio requires). token comes back with its completion and must not be
 * NULL. -ENOSPC, with nothing changed, when fewer than n descriptors are
 * free; -EINVAL on a bad chain (n == 0, writable before readable, ...).
 */
int uvi_vq_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n, void *token);

/*
 * uvi_vq_add() of the chain most requests are: one device-readable buffer
 * then one device-writable buffer (a request and the reply it gets back).
 * Same checks, same errors; it skips only the general chain walk.
 */
int uvi_vq_add_pair(struct uvi_vq *vq, const struct uvi_vq_buf *readable,
		    const struct uvi_vq_buf *writable, void *token);

/* Make the chains added since the last publish visible; true = notify. */
bool uvi_vq_publish(struct uvi_vq *vq);

/*
 * Take one completion: 1 and (*token, *used_len) if there was one, 0 if
 * none, -EPROTO if the device broke the protocol, -EIO if already broken.
 */
int uvi_vq_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len);

/*
 * How many completions uvi_vq_get_used() would find now, at most the
 * chains in flight: for deciding how long to wait. Reads the ring, changes
 * nothing and checks little: get_used still validates each completion.
 */
unsigned uvi_vq_used_ready(const struct uvi_vq *vq);

#endif
