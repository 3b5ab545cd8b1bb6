/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VQ_INTERNAL_H
#define UVIOMMU_VQ_INTERNAL_H

/*
 * The driver-side virtqueue behind virtqueue.h. virtqueue.c holds what
 * both layouts share (creation, checks of the caller's chain, dispatch
 * on the layout); vq_split.c and vq_packed.c hold the ring protocols.
 *
 * Everything the device must not be able to corrupt (free lists, chain
 * lengths, tokens) lives here, in private memory, never in the rings:
 * the rings are only written, or read once into locals and validated.
 */

#include <stdbool.h>
#include <stdint.h>

#include "virtio_ring.h"
#include "virtqueue.h"

/*
 * Alignment of the ring block: a cache line, above every area's spec
 * alignment (16 at most), so that the areas the driver writes and those
 * the device writes can start on lines of their own.
 */
#define UVI_VQ_RING_ALIGN 64

/*
 * Per buffer ID bookkeeping: for split rings the ID is the index of the
 * chain's head descriptor, for packed rings an ID drawn from a free list
 * of its own (ring slots and buffer IDs are separate there, 2.8.6).
 */
struct uvi_vq_id {
	void *token;           /* NULL: not outstanding */
	uint64_t seq;          /* vq->added when the chain was added */
	uint32_t writable_len; /* bytes the device may write: the bound on used len */
	uint16_t ndesc;        /* descriptors (packed: ring slots) the chain takes */
	uint16_t next;         /* split: next descriptor of a chain or of the free list;
				* packed: next free ID */
	uint16_t tail;         /* split: last descriptor of the chain headed here */
};

struct uvi_vq_split {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;
	uint16_t *avail_event;
	uint16_t free_head;  /* first free descriptor (list through ids[].next) */
	uint16_t avail_next; /* avail->idx once the pending chains are published */
	uint16_t avail_pub;  /* avail->idx as last published */
	uint16_t last_used;  /* next used ring entry to consume */
	uint16_t used_seen;  /* used->idx as last read: entries below it are ready */
};

/*
 * Positions carry the wrap counter of their lap (2.8.1): avail's is the
 * Driver Ring Wrap Counter; used's is the value the device marks the
 * next used descriptor with (its Device Ring Wrap Counter there).
 */
struct uvi_vq_packed {
	struct vring_packed_desc *desc;
	struct vring_packed_event *driver_event;
	struct vring_packed_event *device_event;
	uint16_t free_id;              /* first free buffer ID (list through ids[].next) */
	uint16_t avail_bits;           /* AVAIL/USED bits marking a slot available in avail's lap */
	struct vring_packed_pos avail; /* where the next chain goes */
	struct vring_packed_pos pub;   /* avail at the last publish */
	struct vring_packed_pos used;  /* where the next used descriptor will be */
	uint16_t batch_head;           /* slot of the first unpublished chain's head ... */
	uint16_t batch_flags;          /* ... and the flags it gets at publish */
};

/* One thread uses a queue at a time: nothing here is locked or atomic. */
struct uvi_vq {
	enum uvi_vq_layout layout;
	bool event_idx;
	bool broken;
	uint16_t size;
	uint16_t mask;         /* split: size - 1 (size is a power of two) */
	unsigned num_free;     /* free descriptors (packed: free ring slots) */
	unsigned in_flight;    /* published chains not yet returned */
	unsigned pending;      /* chains added since the last publish */
	uint64_t added;        /* chains ever added (the next chain's seq) */
	uint64_t published;    /* chains with seq below this are visible to the device */
	void *ring;
	void *driver_area;     /* split: available ring; packed: driver event suppression */
	void *device_area;     /* split: used ring; packed: device event suppression */
	size_t ring_bytes;
	struct uvi_vq_addrs addrs;
	union {
		struct uvi_vq_split split;
		struct uvi_vq_packed packed;
	};
	struct uvi_vq_id ids[];
};

/* Where each area starts inside the ring block. */
struct uvi_vq_layout_offsets {
	size_t driver;
	size_t device;
	size_t total;
};

void uvi_vq_split_offsets(uint16_t size, struct uvi_vq_layout_offsets *o);
void uvi_vq_packed_offsets(uint16_t size, struct uvi_vq_layout_offsets *o);

/* (Re)initialise layout state and rings, which the caller has zeroed. */
void uvi_vq_split_init(struct uvi_vq *vq);
void uvi_vq_packed_init(struct uvi_vq *vq);

/*
 * Write a chain the caller already checked (n <= num_free, readable
 * before writable) whose writable bytes total writable_len.
 */
void uvi_vq_split_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n,
		      void *token, uint32_t writable_len);
void uvi_vq_packed_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n,
		       void *token, uint32_t writable_len);
/* uvi_vq_split_add of a readable buffer then a writable one, checked likewise. */
void uvi_vq_split_add_pair(struct uvi_vq *vq, const struct uvi_vq_buf *readable,
			   const struct uvi_vq_buf *writable, void *token);

bool uvi_vq_split_publish(struct uvi_vq *vq);
bool uvi_vq_packed_publish(struct uvi_vq *vq);

int uvi_vq_split_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len);
unsigned uvi_vq_split_used_ready(const struct uvi_vq *vq);
unsigned uvi_vq_packed_used_ready(const struct uvi_vq *vq);
int uvi_vq_packed_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len);

/* Mark the queue broken and record why; returns -EPROTO. */
int uvi_vq_fail_protocol(struct uvi_vq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Shared by both layouts' get_used: check what the device reported (a
 * buffer ID and the bytes it wrote, both already copied out of the ring)
 * before any state is touched. A chain added but not yet published is
 * not outstanding: the device cannot have seen it.
 */
static inline int uvi_vq_check_used(struct uvi_vq *vq, uint32_t id, uint32_t used_len)
{
	const struct uvi_vq_id *s;

	if (id >= vq->size)
		return uvi_vq_fail_protocol(vq, "device returned buffer ID %u, beyond queue "
					    "size %u", id, vq->size);
	s = &vq->ids[id];
	if (!s->token || s->seq >= vq->published)
		return uvi_vq_fail_protocol(vq, "device returned buffer ID %u, which is not "
					    "outstanding", id);
	if (used_len > s->writable_len)
		return uvi_vq_fail_protocol(vq, "device reports %u bytes written to buffer ID %u, "
					    "which has only %u writable bytes",
					    used_len, id, s->writable_len);
	return 0;
}

#endif
