/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, driver side (virtio 1.2, 2.7).
 *
 * The free descriptors form a list through the private ids[].next; a
 * chain takes its descriptors off the head of that list, and the list's
 * links become the chain's desc.next fields. A completed chain goes back
 * whole: its tail links to the old free head. The rings themselves are
 * never read back for driver state.
 */
#include "../common/prefetch.h"
#include "vq_internal.h"

#define ROUND_UP(x, a) (((x) + (a) - 1) & ~(size_t)((a) - 1))

/*
 * Poll mode with VIRTIO_F_EVENT_IDX (2.7.7): flags must stay 0, so
 * notifications are suppressed by keeping used_event half the index
 * space ahead of the last consumed entry. The device notifies when its
 * used index reaches used_event + 1, and it can be at most the queue
 * size (<= 2^15) past what the driver consumed when it was set: so it
 * never gets there, except for a 32768-entry queue holding every entry
 * at once, and the spec calls this mechanism a hint anyway.
 */
#define USED_EVENT_AHEAD 0x7fff

void uvi_vq_split_offsets(uint16_t size, struct uvi_vq_layout_offsets *o)
{
	size_t avail = sizeof(struct vring_desc) * size;

	o->driver = avail; /* 16 * size: aligned for the available ring (2) */
	/*
	 * The spec asks 4 for the used ring; a cache line of its own keeps
	 * the device's used-ring writes off the line holding the driver's
	 * last available-ring entries.
	 */
	o->device = ROUND_UP(avail + vring_split_avail_bytes(size), UVI_VQ_RING_ALIGN);
	o->total = o->device + vring_split_used_bytes(size);
}

void uvi_vq_split_init(struct uvi_vq *vq)
{
	struct uvi_vq_split *s = &vq->split;

	s->desc = vq->ring;
	s->avail = vq->driver_area;
	s->used = vq->device_area;
	s->used_event = vring_used_event(s->avail, vq->size);
	s->avail_event = vring_avail_event(s->used, vq->size);
	for (unsigned i = 0; i < vq->size; i++)
		vq->ids[i].next = (uint16_t)(i + 1);
	s->free_head = 0;
	s->avail_next = 0;
	s->avail_pub = 0;
	s->last_used = 0;
	s->used_seen = 0;
	/*
	 * Poll mode: no used-buffer notifications. Without EVENT_IDX the
	 * flag asks for that (2.7.7); with it, flags MUST be 0 and
	 * used_event does the job. Nothing is published yet, so relaxed.
	 */
	if (vq->event_idx)
		vring_store16(s->used_event, USED_EVENT_AHEAD, memory_order_relaxed);
	else
		vring_store16(&s->avail->flags, VRING_AVAIL_F_NO_INTERRUPT, memory_order_relaxed);
}

static void write_desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		       uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Record the chain from head to last in private state and put head in the available ring. */
static void offer_chain(struct uvi_vq *vq, uint16_t head, uint16_t last, unsigned n,
			void *token, uint32_t writable_len)
{
	struct uvi_vq_split *s = &vq->split;
	struct uvi_vq_id *id = &vq->ids[head];

	id->token = token;
	id->seq = vq->added;
	id->writable_len = writable_len;
	id->ndesc = (uint16_t)n;
	id->tail = last;
	s->avail->ring[s->avail_next & vq->mask] = htole16(head);
	s->avail_next++;
}

void uvi_vq_split_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n,
		      void *token, uint32_t writable_len)
{
	struct uvi_vq_split *s = &vq->split;
	uint16_t head = s->free_head, i = head, last = head;

	/*
	 * Plain stores: the device reads descriptors and ring entries only
	 * after its acquire of avail->idx, which publish() orders after
	 * these (2.7.13.1, 2.7.13.2).
	 */
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *d = &s->desc[i];
		uint16_t flags = bufs[k].device_writable ? VRING_DESC_F_WRITE : 0;

		last = i;
		i = vq->ids[i].next;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		write_desc(d, bufs[k].addr, bufs[k].len, flags, i);
	}
	s->free_head = i;
	offer_chain(vq, head, last, n, token, writable_len);
}

void uvi_vq_split_add_pair(struct uvi_vq *vq, const struct uvi_vq_buf *readable,
			   const struct uvi_vq_buf *writable, void *token)
{
	struct uvi_vq_split *s = &vq->split;
	uint16_t head = s->free_head, tail = vq->ids[head].next;

	/* Plain stores, as in uvi_vq_split_add. */
	write_desc(&s->desc[head], readable->addr, readable->len, VRING_DESC_F_NEXT, tail);
	s->free_head = vq->ids[tail].next;
	write_desc(&s->desc[tail], writable->addr, writable->len, VRING_DESC_F_WRITE,
		   s->free_head);
	offer_chain(vq, head, tail, 2, token, writable->len);
}

/* Whether the device asked for this notification (2.7.10). */
static bool device_wants_notify(const struct uvi_vq *vq, uint16_t old_idx, uint16_t new_idx)
{
	const struct uvi_vq_split *s = &vq->split;

	if (vq->event_idx)
		return vring_crossed_event(vring_load16(s->avail_event, memory_order_relaxed),
					   new_idx, old_idx);
	return !(vring_load16(&s->used->flags, memory_order_relaxed) & VRING_USED_F_NO_NOTIFY);
}

bool uvi_vq_split_publish(struct uvi_vq *vq)
{
	struct uvi_vq_split *s = &vq->split;
	uint16_t old_idx = s->avail_pub, new_idx = s->avail_next;

	/* A hint only (see USED_EVENT_AHEAD), ordered by nothing. */
	if (vq->event_idx)
		vring_store16(s->used_event, (uint16_t)(s->last_used + USED_EVENT_AHEAD),
			      memory_order_relaxed);
	/*
	 * The one barrier of the batch (2.7.13.3): a release store, so that
	 * every descriptor and available-ring entry written since the last
	 * publish is visible to a device that sees the new idx.
	 */
	vring_store16(&s->avail->idx, new_idx, memory_order_release);
	s->avail_pub = new_idx;
	/*
	 * 2.7.13.4: the idx store must be visible before flags/avail_event
	 * are read. Otherwise the load could be served first, return the
	 * device's old "no notifications", while the device, having just
	 * asked for them, re-reads idx and misses our store: both sides
	 * would wait. A store then a load of another location: only a full
	 * fence orders them. The device pairs it with the same fence between
	 * its suppression store and its re-read of idx.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	return device_wants_notify(vq, old_idx, new_idx);
}

/*
 * Read used->idx once into *seen and check it: it may only move forward,
 * by at most the number of chains the device holds (2.7.8). 1 if entries
 * are ready, 0 if none, -EPROTO.
 */
static int read_used_idx(struct uvi_vq *vq, uint16_t *seen)
{
	struct uvi_vq_split *s = &vq->split;
	/*
	 * Acquire: the device writes each used element before its release
	 * store of idx (2.7.8 device requirements); our reads of the
	 * elements below idx must not be satisfied from before that.
	 */
	uint16_t idx = vring_load16(&s->used->idx, memory_order_acquire);
	uint16_t ready = (uint16_t)(idx - s->last_used);

	if (ready > vq->in_flight)
		return uvi_vq_fail_protocol(vq, "used index moved to %u, %u entries past %u, but "
					    "only %u chains are outstanding",
					    idx, ready, s->last_used, vq->in_flight);
	*seen = idx;
	return ready != 0;
}

unsigned uvi_vq_split_used_ready(const struct uvi_vq *vq)
{
	const struct uvi_vq_split *s = &vq->split;
	uint16_t ready = (uint16_t)(vring_load16(&s->used->idx, memory_order_relaxed) -
				    s->last_used);

	return ready <= vq->in_flight ? ready : 0; /* nonsense is get_used's to report */
}

int uvi_vq_split_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len)
{
	struct uvi_vq_split *s = &vq->split;
	const struct vring_used_elem *e;
	uint16_t seen = s->used_seen;
	struct uvi_vq_id *st;
	uint32_t id, len;
	int rc;

	/* The device's idx line is read only when the entries seen so far are used up. */
	if (s->last_used == seen) {
		rc = read_used_idx(vq, &seen);
		if (rc <= 0)
			return rc;
	}
	/* Each field read once, then checked, then used. */
	e = &s->used->ring[s->last_used & vq->mask];
	id = vring_load32(&e->id, memory_order_relaxed);
	len = vring_load32(&e->len, memory_order_relaxed);
	rc = uvi_vq_check_used(vq, id, len);
	if (rc)
		return rc;
	st = &vq->ids[id];
	*token = st->token;
	*used_len = len;
	st->token = NULL;
	vq->ids[st->tail].next = s->free_head;
	s->free_head = (uint16_t)id;
	/* Only read by the device, and no longer: the next add writes it (prefetch.h). */
	uvi_prefetch_for_write(&s->desc[id]);
	vq->num_free += st->ndesc;
	vq->in_flight--;
	s->last_used++;
	s->used_seen = seen;
	return 1;
}
