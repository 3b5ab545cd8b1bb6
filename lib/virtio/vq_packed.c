/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue, driver side (virtio 1.2, 2.8).
 *
 * Ring slots and buffer IDs are separate: a chain takes the next ndesc
 * slots in ring order and one ID from a private free list; the device
 * writes one used descriptor per chain, in completion order, at the
 * next used slot, and both sides then skip the chain's ndesc slots
 * (2.8.6). The driver knows ndesc from the ID, never from the ring.
 *
 * Both sides keep a wrap counter starting at 1 that flips each time
 * their position passes the end of the ring (2.8.1). A slot is
 * available in a lap when its AVAIL bit equals that lap's counter and
 * USED does not, and used when both equal it.
 */
#include "vq_internal.h"

#define AVAIL_USED_BITS (VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED)

/* Two cache lines of descriptors: how far ahead get_used() prefetches. */
#define PREFETCH_SLOTS 8

void uvi_vq_packed_offsets(uint16_t size, struct uvi_vq_layout_offsets *o)
{
	o->driver = sizeof(struct vring_packed_desc) * size; /* 16 * size: aligned 4 */
	/*
	 * The spec asks 4 for the device area; a cache line of its own keeps
	 * the device's writes off the line of the driver's area.
	 */
	o->device = o->driver + UVI_VQ_RING_ALIGN;
	o->total = o->device + sizeof(struct vring_packed_event);
}

void uvi_vq_packed_init(struct uvi_vq *vq)
{
	struct uvi_vq_packed *p = &vq->packed;

	p->desc = vq->ring;
	p->driver_event = vq->driver_area;
	p->device_event = vq->device_area;
	for (unsigned i = 0; i < vq->size; i++)
		vq->ids[i].next = (uint16_t)(i + 1);
	p->free_id = 0;
	p->avail_bits = VRING_PACKED_DESC_F_AVAIL; /* counter 1: AVAIL=1, USED=0 */
	p->avail = (struct vring_packed_pos){ .slot = 0, .wrap = 1 };
	p->pub = p->avail;
	p->used = p->avail;
	/*
	 * Poll mode: no used-buffer notifications (2.8.10). DISABLE is valid
	 * with or without EVENT_IDX. Nothing is published yet, so relaxed.
	 */
	vring_store_event(p->driver_event, 0, VRING_PACKED_EVENT_FLAG_DISABLE);
}

/*
 * Write one chain. Within the chain the head's flags are written last:
 * they are what makes the chain available, and the device may act on
 * the whole chain as soon as it sees them (2.8.21.1: for a chain, the
 * first descriptor's flags, and the barrier before them, wait until the
 * other descriptors are written; 2.8.17: the first descriptor is never
 * made available before the rest of the chain). The head of the first
 * chain of a batch waits for publish(). Every later chain's head is
 * stored now, with release so that its body is visible before it: the
 * device starts chains strictly in ring order (2.8.12) and polls only
 * the next slot (2.8.2), so it cannot reach these chains before the
 * batch's first head is written, and the whole batch still becomes
 * visible with that one store.
 */
void uvi_vq_packed_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n,
		       void *token, uint32_t writable_len)
{
	struct uvi_vq_packed *p = &vq->packed;
	uint16_t id = p->free_id, bits = p->avail_bits, head_flags = 0;
	struct vring_packed_pos pos = p->avail;
	struct uvi_vq_id *st;

	for (unsigned k = 0; k < n; k++) {
		struct vring_packed_desc *d = &p->desc[pos.slot];
		uint16_t flags = bits;

		if (bufs[k].device_writable)
			flags |= VRING_DESC_F_WRITE;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		d->addr = htole64(bufs[k].addr);
		d->len = htole32(bufs[k].len);
		d->id = htole16(id); /* needed in the last descriptor (2.8.6); harmless in all */
		if (k == 0)
			head_flags = flags;
		else /* ordered before the head by the head's release store */
			vring_store16(&d->flags, flags, memory_order_relaxed);
		if (++pos.slot == vq->size) {
			pos.slot = 0;
			pos.wrap ^= 1;
			bits ^= AVAIL_USED_BITS;
		}
	}
	p->free_id = vq->ids[id].next;
	st = &vq->ids[id];
	st->token = token;
	st->seq = vq->added;
	st->writable_len = writable_len;
	st->ndesc = (uint16_t)n;
	if (vq->pending == 0) {
		p->batch_head = p->avail.slot;
		p->batch_flags = head_flags;
	} else {
		vring_store16(&p->desc[p->avail.slot].flags, head_flags, memory_order_release);
	}
	p->avail = pos;
	p->avail_bits = bits;
}

/* Whether the device asked for this notification (2.8.10, 2.8.21.2). */
static bool device_wants_notify(const struct uvi_vq *vq)
{
	const struct uvi_vq_packed *p = &vq->packed;
	struct vring_packed_event ev = vring_load_event(p->device_event);

	switch (ev.flags & VRING_PACKED_EVENT_FLAGS_MASK) {
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (vq->event_idx)
			return vring_packed_crossed_event(ev.desc, vq->size, p->pub, p->avail);
		return true; /* DESC without EVENT_IDX is not valid: notify */
	default: /* ENABLE, and the reserved value 3: notify */
		return true;
	}
}

bool uvi_vq_packed_publish(struct uvi_vq *vq)
{
	struct uvi_vq_packed *p = &vq->packed;
	bool notify;

	/*
	 * The one barrier of the batch (2.8.21.1.1: a memory barrier before
	 * the flags update): a release store of the first chain's head
	 * flags, which orders every descriptor written since the last
	 * publish, and every later head, before it.
	 */
	vring_store16(&p->desc[p->batch_head].flags, p->batch_flags, memory_order_release);
	/*
	 * 2.8.21.2.1: the flags must be visible before the device event
	 * suppression structure is read. Otherwise the load could be served
	 * first and return the device's old DISABLE, while the device, having
	 * just enabled notifications, re-reads the slot and misses our
	 * flags: both sides would wait. A store then a load of another
	 * location: only a full fence orders them.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	notify = device_wants_notify(vq);
	p->pub = p->avail;
	return notify;
}

/*
 * The device writes used descriptors in runs (one flush makes a batch
 * visible) and the driver walks them one by one, each line a cache miss
 * on a line the device just wrote. Asking for the line two ahead while
 * this one is processed overlaps those misses. A hint to the CPU only:
 * nothing read this way reaches driver state.
 */
static void prefetch_ahead(const struct uvi_vq *vq, uint16_t slot)
{
	unsigned ahead = slot + PREFETCH_SLOTS;

	if (ahead >= vq->size)
		ahead -= vq->size;
	if (ahead < vq->size) /* not so in rings of fewer than PREFETCH_SLOTS */
		__builtin_prefetch(&vq->packed.desc[ahead]);
}

/*
 * Walk the used descriptors from the next one to consume, chain by chain,
 * reading only: a count for waiting, not state. A descriptor whose ID is
 * not outstanding ends the walk (get_used reports it).
 */
unsigned uvi_vq_packed_used_ready(const struct uvi_vq *vq)
{
	const struct uvi_vq_packed *p = &vq->packed;
	struct vring_packed_pos pos = p->used;
	unsigned n = 0;

	while (n < vq->in_flight) {
		const struct vring_packed_desc *d = &p->desc[pos.slot];
		uint16_t want = pos.wrap ? AVAIL_USED_BITS : 0, id;
		unsigned slot;

		if ((vring_load16(&d->flags, memory_order_relaxed) & AVAIL_USED_BITS) != want)
			break;
		id = vring_load16(&d->id, memory_order_relaxed);
		if (id >= vq->size || !vq->ids[id].token || !vq->ids[id].ndesc)
			break;
		n++;
		slot = pos.slot + vq->ids[id].ndesc;
		if (slot >= vq->size) {
			slot -= vq->size;
			pos.wrap ^= 1;
		}
		pos.slot = (uint16_t)slot;
	}
	return n;
}

int uvi_vq_packed_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len)
{
	struct uvi_vq_packed *p = &vq->packed;
	const struct vring_packed_desc *d = &p->desc[p->used.slot];
	uint16_t want = p->used.wrap ? AVAIL_USED_BITS : 0;
	uint16_t flags, id, slot;
	struct uvi_vq_id *st;
	uint32_t len = 0;
	int rc;

	/*
	 * Acquire: the device writes id and len before its release store of
	 * flags marks the descriptor used (2.8.9, 2.8.22); our reads of them
	 * must not come from before it.
	 */
	flags = vring_load16(&d->flags, memory_order_acquire);
	/*
	 * Used means both bits equal our used wrap counter (2.8.1). A stale
	 * available descriptor left from the previous lap (a chain's
	 * non-head slot, never overwritten) has USED equal to it but not
	 * AVAIL: not used, and not an error.
	 */
	if ((flags & AVAIL_USED_BITS) != want)
		return 0;
	prefetch_ahead(vq, p->used.slot);
	id = vring_load16(&d->id, memory_order_relaxed);
	/*
	 * 2.8.4 makes len reserved in a used descriptor without WRITE. But
	 * QEMU (7.2) never sets WRITE in used descriptors, and writes the
	 * length anyway; honouring the flag would read every completion of
	 * QEMU's packed queues as "nothing written", which a virtio-iommu
	 * driver must treat as a failed request. So len is read whenever the
	 * chain offered writable buffers (a chain without any has nothing to
	 * report, and a reserved value there is ignored), and checked
	 * against what the chain offered like any other untrusted value.
	 */
	if (id < vq->size && vq->ids[id].writable_len)
		len = vring_load32(&d->len, memory_order_relaxed);
	rc = uvi_vq_check_used(vq, id, len);
	if (rc)
		return rc;
	st = &vq->ids[id];
	*token = st->token;
	*used_len = len;
	st->token = NULL;
	st->next = p->free_id;
	p->free_id = id;
	vq->num_free += st->ndesc;
	vq->in_flight--;
	slot = (uint16_t)(p->used.slot + st->ndesc);
	if (slot >= vq->size) {
		slot = (uint16_t)(slot - vq->size);
		p->used.wrap ^= 1;
	}
	p->used.slot = slot;
	return 1;
}
