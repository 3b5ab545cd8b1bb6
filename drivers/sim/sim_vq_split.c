/* SPDX-License-Identifier: BSD-3-Clause */
/* Split virtqueue, device side (virtio 1.2, 2.7). */
#include <errno.h>

#include "../../lib/common/error_internal.h"
#include "sim_vq_internal.h"

/* With EVENT_IDX and kicks off: avail_event this far ahead of what was read. */
#define AVAIL_EVENT_AHEAD 0x7fff

void sim_vq_split_init(struct sim_vq *vq, const struct uvi_vq_addrs *addrs)
{
	struct sim_vq_split *s = &vq->split;

	s->desc = (struct vring_desc *)(uintptr_t)addrs->desc;
	s->avail = (struct vring_avail *)(uintptr_t)addrs->driver;
	s->used = (struct vring_used *)(uintptr_t)addrs->device;
	s->used_event = vring_used_event(s->avail, vq->size);
	s->avail_event = vring_avail_event(s->used, vq->size);
	s->last_avail = 0;
	s->avail_seen = 0;
	s->used_next = 0;
	s->used_pub = 0;
}

/* Read avail->idx once: it may move forward by at most the queue size. */
static int refresh_avail_idx(struct sim_vq *vq)
{
	struct sim_vq_split *s = &vq->split;
	/* Acquire: pairs with the driver's release store (2.7.13.3). */
	uint16_t idx = vring_load16(&s->avail->idx, memory_order_acquire);

	if ((uint16_t)(idx - s->last_avail) > vq->size)
		return uvi_fail(-EPROTO, "sim virtqueue: available index moved to %u, more than "
				"%u entries past %u", idx, vq->size, s->last_avail);
	s->avail_seen = idx;
	return idx != s->last_avail;
}

static int read_chain(struct sim_vq *vq, uint16_t head, struct sim_vq_chain *chain)
{
	const struct vring_desc *desc = vq->split.desc;
	uint16_t i = head;

	sim_vq_chain_start(chain, head);
	for (;;) {
		const struct vring_desc *d = &desc[i];
		uint16_t flags = le16toh(d->flags), next = le16toh(d->next);
		int rc = sim_vq_chain_append(chain, vq->size, le64toh(d->addr), le32toh(d->len),
					     flags);

		if (rc)
			return rc;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (next >= vq->size)
			return uvi_fail(-EPROTO, "sim virtqueue: chain at %u links to "
					"descriptor %u, beyond queue size %u", head, next,
					vq->size);
		i = next;
	}
	chain->ndesc = (uint16_t)chain->n;
	return 0;
}

/*
 * The driver wrote the descriptors and buffers of the next chains from
 * its CPU: each is a cache miss when the device first reads it. After a
 * pop, start loading the next chain's first buffer (for writing: its
 * tail usually shares the request's cache line) and the head descriptor
 * of the one after, so that the loads overlap the serving of the chain
 * popped. Only entries the driver has published (below avail_seen) are
 * read, indices are masked into the table, and the values are used as
 * nothing but prefetch addresses, which never fault: a hostile ring can
 * neither make this read out of bounds nor change what is served.
 * Always inlined: GCC takes a function that only reads and prefetches
 * for a pure one, and drops the call.
 */
static inline __attribute__((always_inline)) void warm_next(const struct sim_vq *vq)
{
	const struct sim_vq_split *s = &vq->split;
	uint16_t next = s->last_avail, ahead = (uint16_t)(s->avail_seen - next);
	const struct vring_desc *d;

	if (ahead == 0)
		return;
	d = &s->desc[le16toh(s->avail->ring[next & vq->mask]) & vq->mask];
	__builtin_prefetch((const void *)(uintptr_t)le64toh(d->addr), 1);
	if (ahead > 1)
		__builtin_prefetch(&s->desc[le16toh(s->avail->ring[(next + 1) & vq->mask]) &
					    vq->mask]);
}

int sim_vq_split_pop(struct sim_vq *vq, struct sim_vq_chain *chain)
{
	struct sim_vq_split *s = &vq->split;
	uint16_t head;
	int rc;

	if (s->last_avail == s->avail_seen) {
		rc = refresh_avail_idx(vq);
		if (rc <= 0)
			return rc;
	}
	head = le16toh(s->avail->ring[s->last_avail & vq->mask]);
	if (head >= vq->size)
		return uvi_fail(-EPROTO, "sim virtqueue: available entry %u names descriptor %u, "
				"beyond queue size %u", s->last_avail, head, vq->size);
	rc = read_chain(vq, head, chain);
	if (rc)
		return rc;
	s->last_avail++;
	if (vq->kicks_off && vq->event_idx)
		vring_store16(s->avail_event, (uint16_t)(s->last_avail + AVAIL_EVENT_AHEAD),
			      memory_order_relaxed);
	warm_next(vq);
	return 1;
}

void sim_vq_split_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len)
{
	struct sim_vq_split *s = &vq->split;
	struct vring_used_elem *e = &s->used->ring[s->used_next & vq->mask];

	/* Ordered before the idx store by flush()'s release (2.7.8: len before idx). */
	vring_store32(&e->id, chain->id, memory_order_relaxed);
	vring_store32(&e->len, used_len, memory_order_relaxed);
	s->used_next++;
}

bool sim_vq_split_flush(struct sim_vq *vq)
{
	struct sim_vq_split *s = &vq->split;
	uint16_t old_idx = s->used_pub, new_idx = s->used_next;

	/* Release: the used elements are visible before the idx that covers them. */
	vring_store16(&s->used->idx, new_idx, memory_order_release);
	s->used_pub = new_idx;
	/* Store idx, then load the driver's suppression fields: a full fence (2.7.7). */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx)
		return vring_crossed_event(vring_load16(s->used_event, memory_order_relaxed),
					   new_idx, old_idx);
	return !(vring_load16(&s->avail->flags, memory_order_relaxed) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

void sim_vq_split_kick(struct sim_vq *vq, bool enable)
{
	struct sim_vq_split *s = &vq->split;

	if (!vq->event_idx) {
		vring_store16(&s->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY,
			      memory_order_relaxed);
		return;
	}
	/* 2.7.10: with EVENT_IDX the device MUST keep flags 0; avail_event does it all. */
	vring_store16(s->avail_event,
		      (uint16_t)(s->last_avail + (enable ? 0 : AVAIL_EVENT_AHEAD)),
		      memory_order_relaxed);
}

void sim_vq_split_kick_at(struct sim_vq *vq, uint16_t event)
{
	vring_store16(vq->split.avail_event, event, memory_order_relaxed);
}
