/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIRTIO_RING_H
#define UVIOMMU_VIRTIO_RING_H

/*
 * Virtqueue memory as the virtio 1.2 spec lays it out (all fields
 * little-endian), shared by the driver (lib/virtio) and the software
 * device (drivers/sim): split rings (section 2.7) and packed rings
 * (section 2.8). Plus the accessors for the fields that both sides touch
 * while the other may be running.
 */

#include <assert.h>
#include <endian.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Descriptor flags (2.7.5, 2.8.3, 2.8.6, 2.8.7). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

/* Split rings: suppression flags (2.7.7 avail->flags, 2.7.10 used->flags). */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* Packed rings: availability bits of a descriptor's flags (2.8.1). */
#define VRING_PACKED_DESC_F_AVAIL (1u << 7)
#define VRING_PACKED_DESC_F_USED (1u << 15)

/* Packed rings: event suppression flags (2.8.10) and desc field (2.8.14). */
#define VRING_PACKED_EVENT_FLAG_ENABLE 0
#define VRING_PACKED_EVENT_FLAG_DISABLE 1
#define VRING_PACKED_EVENT_FLAG_DESC 2
#define VRING_PACKED_EVENT_FLAGS_MASK 3
#define VRING_PACKED_EVENT_WRAP_SHIFT 15
#define VRING_PACKED_EVENT_OFF_MASK 0x7fff

/* Largest queue either layout allows (2.7, 2.8). */
#define VRING_MAX_SIZE 32768

/* Alignment of each area (2.7 table; 2.8.10.1 table). */
#define VRING_SPLIT_DESC_ALIGN 16
#define VRING_SPLIT_AVAIL_ALIGN 2
#define VRING_SPLIT_USED_ALIGN 4
#define VRING_PACKED_DESC_ALIGN 16
#define VRING_PACKED_EVENT_ALIGN 4

/* ---- split layout (2.7.5, 2.7.6, 2.7.8) ---- */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Followed by ring[size] and, with VIRTIO_F_EVENT_IDX, le16 used_event. */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* Followed by ring[size] and, with VIRTIO_F_EVENT_IDX, le16 avail_event. */
struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

static inline size_t vring_split_avail_bytes(unsigned size)
{
	return sizeof(struct vring_avail) + sizeof(uint16_t) * (size + 1u);
}

static inline size_t vring_split_used_bytes(unsigned size)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * size +
	       sizeof(uint16_t);
}

/* used_event sits right after the available ring's entries (2.7.6). */
static inline uint16_t *vring_used_event(struct vring_avail *avail, unsigned size)
{
	return &avail->ring[size];
}

/* avail_event sits right after the used ring's entries (2.7.8). */
static inline uint16_t *vring_avail_event(struct vring_used *used, unsigned size)
{
	return (uint16_t *)&used->ring[size];
}

/*
 * The notification rule of VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10): moving an
 * index from old to new crosses "event" (the entry the other side wants
 * to hear about) when event lies in [old, new), all modulo 2^16.
 */
static inline int vring_crossed_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* ---- packed layout (2.8.13, 2.8.14) ---- */

struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct vring_packed_event {
	uint16_t desc;  /* offset (bits 0-14) | wrap counter (bit 15), for FLAG_DESC */
	uint16_t flags; /* ENABLE, DISABLE or DESC in bits 0-1 */
};

/* A position in the packed ring: slot and the wrap counter of that lap (2.8.1). */
struct vring_packed_pos {
	uint16_t slot;
	uint16_t wrap; /* 0 or 1 */
};

/* Rank of a position in the two-lap cycle of (slot, wrap) pairs: 0 .. 2 * size - 1. */
static inline unsigned vring_packed_rank(struct vring_packed_pos p, uint16_t size)
{
	return p.slot + (p.wrap ? 0u : size);
}

static inline unsigned vring_packed_distance(unsigned from, unsigned to, uint16_t size)
{
	return to >= from ? to - from : to + 2u * size - from;
}

/*
 * RING_EVENT_FLAGS_DESC (2.8.10, 2.8.14): one side moved its position
 * from old to new (by 1 .. size slots, each made available or used) and
 * the other side asked to hear about the slot at event (offset | wrap <<
 * 15): was that slot among them, in that lap? An offset past the ring
 * names no slot; the answer is then yes, as a spurious notification is
 * harmless and a missed one is not.
 */
static inline int vring_packed_crossed_event(uint16_t event, uint16_t size,
					     struct vring_packed_pos old_pos,
					     struct vring_packed_pos new_pos)
{
	struct vring_packed_pos ev = {
		.slot = event & VRING_PACKED_EVENT_OFF_MASK,
		.wrap = event >> VRING_PACKED_EVENT_WRAP_SHIFT,
	};
	unsigned start = vring_packed_rank(old_pos, size);
	unsigned moved = vring_packed_distance(start, vring_packed_rank(new_pos, size), size);

	if (ev.slot >= size)
		return 1;
	return vring_packed_distance(start, vring_packed_rank(ev, size), size) < moved;
}

static_assert(sizeof(struct vring_desc) == 16, "split descriptor is 16 bytes");
static_assert(offsetof(struct vring_desc, next) == 14, "split descriptor layout");
static_assert(sizeof(struct vring_avail) == 4, "available ring header is 4 bytes");
static_assert(sizeof(struct vring_used_elem) == 8, "used element is 8 bytes");
static_assert(sizeof(struct vring_used) == 4, "used ring header is 4 bytes");
static_assert(sizeof(struct vring_packed_desc) == 16, "packed descriptor is 16 bytes");
static_assert(offsetof(struct vring_packed_desc, flags) == 14, "packed descriptor layout");
static_assert(sizeof(struct vring_packed_event) == 4, "event suppression is 4 bytes");

/*
 * Shared-field access. The fields one side writes while the other reads
 * (indices, flags, event positions) and every field a possibly hostile
 * peer may rewrite at any time are accessed as C11 atomics: volatile
 * alone gives no ordering, and a plain load of a field that changes
 * under us may legally be re-read by the compiler, so a value validated
 * once could differ from the one used. The wire fields are plain
 * integers; an atomic view of the same object is a qualified version of
 * its type, and the asserts below make sure that view has the same size
 * and is lock-free (a plain mov on x86). Values are converted from and to
 * little-endian here, so callers deal in CPU order only.
 */
static_assert(sizeof(_Atomic uint16_t) == 2 && ATOMIC_SHORT_LOCK_FREE == 2,
	      "16-bit ring fields need lock-free atomics");
static_assert(sizeof(_Atomic uint32_t) == 4 && ATOMIC_INT_LOCK_FREE == 2,
	      "32-bit ring fields need lock-free atomics");

static inline uint16_t vring_load16(const uint16_t *p, memory_order mo)
{
	return le16toh(atomic_load_explicit((const _Atomic uint16_t *)p, mo));
}

static inline void vring_store16(uint16_t *p, uint16_t v, memory_order mo)
{
	atomic_store_explicit((_Atomic uint16_t *)p, htole16(v), mo);
}

static inline uint32_t vring_load32(const uint32_t *p, memory_order mo)
{
	return le32toh(atomic_load_explicit((const _Atomic uint32_t *)p, mo));
}

static inline void vring_store32(uint32_t *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit((_Atomic uint32_t *)p, htole32(v), mo);
}

/* Both halves of an event suppression structure in one load: a consistent pair. */
static inline struct vring_packed_event vring_load_event(const struct vring_packed_event *e)
{
	uint32_t v = vring_load32((const uint32_t *)e, memory_order_relaxed);

	return (struct vring_packed_event){ .desc = (uint16_t)v, .flags = (uint16_t)(v >> 16) };
}

static inline void vring_store_event(struct vring_packed_event *e, uint16_t desc, uint16_t flags)
{
	vring_store32((uint32_t *)e, (uint32_t)desc | (uint32_t)flags << 16, memory_order_relaxed);
}

#endif
