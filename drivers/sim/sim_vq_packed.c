/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueue, device side (virtio 1.2, 2.8). The device reads
 * chains in ring order and writes one used descriptor per chain, in
 * completion order, from its own used position, skipping the chain's
 * slots after it (2.8.6).
 */
#include <errno.h>

#include "../../lib/common/error_internal.h"
#include "sim_vq_internal.h"

#define AVAIL_USED_BITS (VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED)

void sim_vq_packed_init(struct sim_vq *vq, const struct uvi_vq_addrs *addrs)
{
	struct sim_vq_packed *p = &vq->packed;

	p->desc = (struct vring_packed_desc *)(uintptr_t)addrs->desc;
	p->driver_event = (struct vring_packed_event *)(uintptr_t)addrs->driver;
	p->device_event = (struct vring_packed_event *)(uintptr_t)addrs->device;
	p->avail = (struct vring_packed_pos){ .slot = 0, .wrap = 1 };
	p->used = p->avail;
	p->pub = p->avail;
}

/* Available in the lap of wrap: AVAIL equals the counter, USED does not (2.8.1). */
static bool is_available(uint16_t flags, uint16_t wrap)
{
	uint16_t want = wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;

	return (flags & AVAIL_USED_BITS) == want;
}

static void advance(struct vring_packed_pos *pos, uint16_t n, uint16_t size)
{
	unsigned slot = pos->slot + n;

	if (slot >= size) {
		slot -= size;
		pos->wrap ^= 1;
	}
	pos->slot = (uint16_t)slot;
}

/*
 * Read the chain starting at the device's position, whose head flags
 * (already read, with acquire) show it available. The rest of the chain
 * was written before the head (2.8.17) and must show available too.
 */
static int read_chain(struct sim_vq *vq, uint16_t head_flags, struct sim_vq_chain *chain,
		      struct vring_packed_pos *end)
{
	struct sim_vq_packed *p = &vq->packed;
	struct vring_packed_pos pos = p->avail;
	uint16_t flags = head_flags;

	sim_vq_chain_start(chain, pos.slot); /* the slot for messages until the ID is known */
	for (;;) {
		const struct vring_packed_desc *d = &p->desc[pos.slot];
		int rc;

		if (chain->n > 0) {
			flags = vring_load16(&d->flags, memory_order_relaxed);
			if (!is_available(flags, pos.wrap))
				return uvi_fail(-EPROTO, "sim virtqueue: chain at %u continues "
						"into slot %u, which is not available", chain->id,
						pos.slot);
		}
		rc = sim_vq_chain_append(chain, vq->size, le64toh(d->addr), le32toh(d->len),
					 flags);
		if (rc)
			return rc;
		advance(&pos, 1, vq->size);
		if (!(flags & VRING_DESC_F_NEXT)) {
			chain->id = le16toh(d->id); /* in the last descriptor (2.8.6) */
			break;
		}
	}
	chain->ndesc = (uint16_t)chain->n;
	*end = pos;
	return 0;
}

int sim_vq_packed_pop(struct sim_vq *vq, struct sim_vq_chain *chain)
{
	struct sim_vq_packed *p = &vq->packed;
	struct vring_packed_pos end;
	uint16_t flags;
	int rc;

	/* Acquire: pairs with the driver's release store of the head flags (2.8.21.1). */
	flags = vring_load16(&p->desc[p->avail.slot].flags, memory_order_acquire);
	if (!is_available(flags, p->avail.wrap))
		return 0;
	rc = read_chain(vq, flags, chain, &end);
	if (rc)
		return rc;
	p->avail = end;
	return 1;
}

/*
 * Write the used descriptor now; its flags, which hand it to the driver,
 * last and with release (2.8.9: the first of a batch after the rest),
 * except for the batch's first, whose flags wait for flush(): the driver
 * polls only its next slot (2.8.2), so the batch becomes visible at once.
 */
void sim_vq_packed_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len)
{
	struct sim_vq_packed *p = &vq->packed;
	struct vring_packed_desc *d = &p->desc[p->used.slot];
	uint16_t flags = p->used.wrap ? AVAIL_USED_BITS : 0;

	if (used_len)
		flags |= VRING_DESC_F_WRITE; /* 2.8.3: data was written */
	vring_store16(&d->id, chain->id, memory_order_relaxed);
	vring_store32(&d->len, used_len, memory_order_relaxed);
	if (vq->pushed == 0) {
		p->batch_head = p->used.slot;
		p->batch_flags = flags;
	} else {
		vring_store16(&d->flags, flags, memory_order_release);
	}
	advance(&p->used, chain->ndesc, vq->size);
}

/* Whether the driver event suppression structure asks for this notification (2.8.10). */
static bool driver_wants_notify(const struct sim_vq *vq)
{
	const struct sim_vq_packed *p = &vq->packed;
	struct vring_packed_event ev = vring_load_event(p->driver_event);

	switch (ev.flags & VRING_PACKED_EVENT_FLAGS_MASK) {
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (vq->event_idx)
			return vring_packed_crossed_event(ev.desc, vq->size, p->pub, p->used);
		return true;
	default:
		return true;
	}
}

bool sim_vq_packed_flush(struct sim_vq *vq)
{
	struct sim_vq_packed *p = &vq->packed;
	bool notify;

	vring_store16(&p->desc[p->batch_head].flags, p->batch_flags, memory_order_release);
	/* Store flags, then load the driver's suppression structure: a full fence. */
	atomic_thread_fence(memory_order_seq_cst);
	notify = driver_wants_notify(vq);
	p->pub = p->used;
	return notify;
}

void sim_vq_packed_kick(struct sim_vq *vq, bool enable)
{
	uint16_t flags = enable ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE;

	vring_store_event(vq->packed.device_event, 0, flags);
}

void sim_vq_packed_kick_at(struct sim_vq *vq, uint16_t event)
{
	vring_store_event(vq->packed.device_event, event, VRING_PACKED_EVENT_FLAG_DESC);
}
