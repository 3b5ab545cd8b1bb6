/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the driver's virtqueue against a device that is
 * partly honest (the sim's device side) and partly hostile (arbitrary
 * writes into the used ring, or into the packed descriptor ring). The
 * input is a script:
 *
 *   byte 0        layout (bit 0), EVENT_IDX (bit 1), queue size (bits 2-4)
 *   then ops      op byte % 7, each with its operands
 *     0 add       a chain of 1-3 buffers (sometimes ill-formed)
 *     1 publish
 *     2 get_used  up to 4 completions
 *     3 device    the sim pops what is available, completes some, flushes
 *     4 scribble  write one used element / packed descriptor
 *     5 index     split: set used->idx; packed: write a descriptor's flags only
 *     6 reset     both sides, as after a device reset
 *
 * Invariants (abort on violation): a completion returns only a token that
 * was published and is outstanding, with a length within its writable
 * bytes; descriptor accounting is exact (num_free + descriptors held ==
 * size, so num_free never exceeds size); after -EPROTO every call says
 * -EIO (publish: false) until a reset; error returns change nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/sim/sim_vq.h"
#include "../../lib/virtio/virtio_ring.h"
#include "../../lib/virtio/virtqueue.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define NTOK 64
#define MAX_HELD 64

enum tok_state { TOK_FREE, TOK_ADDED, TOK_PUBLISHED };

struct script {
	const uint8_t *data;
	size_t len, pos;
};

struct model {
	struct uvi_vq_config cfg;
	void *ring;
	size_t ring_bytes;
	struct uvi_vq *vq;
	struct sim_vq *dev;
	struct uvi_vq_addrs addrs;
	bool broken;
	enum tok_state tok[NTOK];
	uint32_t writable[NTOK];
	unsigned ndesc[NTOK];
	struct sim_vq_chain held[MAX_HELD]; /* popped by the device, not yet completed */
	unsigned n_held;
};

static uint8_t take8(struct script *s)
{
	return s->pos < s->len ? s->data[s->pos++] : 0;
}

static uint32_t take32(struct script *s)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)take8(s) << (8 * i);
	return v;
}

static bool setup(struct model *m, uint8_t conf)
{
	static const uint16_t split_sizes[8] = { 1, 2, 4, 8, 16, 4, 8, 32 };
	static const uint16_t packed_sizes[8] = { 1, 2, 3, 5, 7, 8, 16, 32 };
	size_t align;

	memset(m, 0, sizeof(*m));
	m->cfg.layout = (conf & 1) ? UVI_VQ_PACKED : UVI_VQ_SPLIT;
	m->cfg.event_idx = conf & 2;
	m->cfg.size = (conf & 1) ? packed_sizes[(conf >> 2) & 7] : split_sizes[(conf >> 2) & 7];
	m->ring_bytes = uvi_vq_ring_bytes(&m->cfg);
	align = uvi_vq_ring_align(&m->cfg);
	CHECK(m->ring_bytes > 0);
	m->ring = aligned_alloc(align, (m->ring_bytes + align - 1) & ~(align - 1));
	if (!m->ring)
		return false;
	CHECK(uvi_vq_create(&m->cfg, m->ring, (uintptr_t)m->ring, &m->vq) == 0);
	uvi_vq_get_addrs(m->vq, &m->addrs);
	CHECK(sim_vq_create(&m->cfg, &m->addrs, &m->dev) == 0);
	return true;
}

static void teardown(struct model *m)
{
	sim_vq_destroy(m->dev);
	uvi_vq_destroy(m->vq);
	free(m->ring);
}

/* Exact accounting while the queue works: every descriptor is free or held by a token. */
static void check_accounting(const struct model *m)
{
	unsigned held = 0;

	CHECK(uvi_vq_num_free(m->vq) <= m->cfg.size);
	CHECK(uvi_vq_broken(m->vq) == m->broken);
	for (unsigned t = 0; t < NTOK; t++)
		if (m->tok[t] != TOK_FREE)
			held += m->ndesc[t];
	CHECK(uvi_vq_num_free(m->vq) + held == m->cfg.size);
}

static void op_add(struct model *m, struct script *s)
{
	struct uvi_vq_buf bufs[3];
	uint8_t shape = take8(s);
	unsigned n = 1 + shape % 3, t = take8(s) % NTOK;
	unsigned free_before = uvi_vq_num_free(m->vq);
	uint32_t writable = 0;
	int rc;

	if (m->tok[t] != TOK_FREE)
		return;
	for (unsigned i = 0; i < n; i++) {
		/* Bit 2 + i: writable. Usually readable-then-writable; not always. */
		bool w = (shape >> (2 + i)) & 1;

		bufs[i] = (struct uvi_vq_buf){ .addr = 0x1000u * (t + 1) + 64 * i,
					       .len = take8(s) % 8, .device_writable = w };
		if (w)
			writable += bufs[i].len;
	}
	rc = uvi_vq_add(m->vq, bufs, n, &m->tok[t]);
	if (m->broken) {
		CHECK(rc == -EIO);
	} else if (rc == 0) {
		m->tok[t] = TOK_ADDED;
		m->writable[t] = writable;
		m->ndesc[t] = n;
		CHECK(uvi_vq_num_free(m->vq) == free_before - n);
		return;
	} else {
		CHECK(rc == -ENOSPC || rc == -EINVAL);
	}
	CHECK(uvi_vq_num_free(m->vq) == free_before);
}

static void op_publish(struct model *m)
{
	bool notify = uvi_vq_publish(m->vq);

	if (m->broken) {
		CHECK(!notify);
		return;
	}
	for (unsigned t = 0; t < NTOK; t++)
		if (m->tok[t] == TOK_ADDED)
			m->tok[t] = TOK_PUBLISHED;
}

static void op_get_used(struct model *m, struct script *s)
{
	unsigned count = 1 + take8(s) % 4;

	for (unsigned i = 0; i < count; i++) {
		void *token = NULL;
		uint32_t len = 0;
		int rc = uvi_vq_get_used(m->vq, &token, &len);

		if (m->broken) {
			CHECK(rc == -EIO && token == NULL);
			continue;
		}
		if (rc == -EPROTO) {
			m->broken = true;
			CHECK(token == NULL);
			continue;
		}
		CHECK(rc == 0 || rc == 1);
		if (rc == 0)
			return;
		{
			enum tok_state *ts = token;
			unsigned t = (unsigned)(ts - m->tok);

			CHECK(ts >= m->tok && ts < m->tok + NTOK);
			CHECK(*ts == TOK_PUBLISHED);
			CHECK(len <= m->writable[t]);
			*ts = TOK_FREE;
		}
	}
}

/* Writable bytes of a popped chain: 64 bits, as scribbles can make any length. */
static uint64_t chain_writable(const struct sim_vq_chain *c)
{
	uint64_t w = 0;

	for (unsigned i = 0; i < c->n; i++)
		if (c->bufs[i].device_writable)
			w += c->bufs[i].len;
	return w;
}

/* The honest part of the device: pop, complete some in any order, flush. */
static void op_device(struct model *m, struct script *s)
{
	unsigned complete = take8(s) % 5;

	while (m->n_held < MAX_HELD) {
		int rc = sim_vq_pop(m->dev, &m->held[m->n_held]);

		/* Hostile scribbles may have made the driver's chains unreadable. */
		CHECK(rc == 0 || rc == 1 || rc == -EPROTO);
		if (rc != 1)
			break;
		m->n_held++;
	}
	for (unsigned i = 0; i < complete && m->n_held; i++) {
		unsigned k = take8(s) % m->n_held;
		uint64_t w = chain_writable(&m->held[k]);

		sim_vq_push(m->dev, &m->held[k], (uint32_t)(take8(s) % (w + 1)));
		m->held[k] = m->held[--m->n_held];
	}
	sim_vq_flush(m->dev);
}

/* The hostile part: one used element (split) or used descriptor (packed). */
static void op_scribble(struct model *m, struct script *s)
{
	uint16_t slot = (uint16_t)(take8(s) % m->cfg.size);
	uint8_t pick = take8(s);
	/* Mostly plausible IDs and lengths, sometimes anything. */
	uint32_t id = (pick & 0x80) ? take32(s) : take8(s) % (m->cfg.size + 2u);
	uint32_t len = (pick & 0x40) ? take32(s) : take8(s) % 8u;

	if (m->cfg.layout == UVI_VQ_SPLIT) {
		struct vring_used *used = (struct vring_used *)(uintptr_t)m->addrs.device;

		vring_store32(&used->ring[slot].id, id, memory_order_relaxed);
		vring_store32(&used->ring[slot].len, len, memory_order_relaxed);
	} else {
		struct vring_packed_desc *d = (struct vring_packed_desc *)(uintptr_t)m->addrs.desc;
		uint16_t flags = (pick & 1 ? VRING_PACKED_DESC_F_AVAIL : 0) |
				 (pick & 2 ? VRING_PACKED_DESC_F_USED : 0) |
				 (pick & 4 ? VRING_DESC_F_WRITE : 0) |
				 (pick & 8 ? VRING_DESC_F_NEXT : 0);

		vring_store16(&d[slot].id, (uint16_t)id, memory_order_relaxed);
		vring_store32(&d[slot].len, len, memory_order_relaxed);
		vring_store16(&d[slot].flags, flags, memory_order_release);
	}
}

static void op_index(struct model *m, struct script *s)
{
	uint8_t v = take8(s);

	if (m->cfg.layout == UVI_VQ_SPLIT) {
		struct vring_used *used = (struct vring_used *)(uintptr_t)m->addrs.device;
		uint16_t idx = vring_load16(&used->idx, memory_order_relaxed);

		/* Small steps either way, or anywhere. */
		idx = (v & 0x80) ? (uint16_t)(take8(s) | take8(s) << 8)
				 : (uint16_t)(idx + (v & 7) - 2);
		vring_store16(&used->idx, idx, memory_order_release);
	} else {
		struct vring_packed_desc *d = (struct vring_packed_desc *)(uintptr_t)m->addrs.desc;

		vring_store16(&d[take8(s) % m->cfg.size].flags, (uint16_t)(v << 8 | take8(s)),
			      memory_order_release);
	}
}

static void op_reset(struct model *m)
{
	uvi_vq_reset(m->vq);
	sim_vq_reset(m->dev);
	memset(m->tok, 0, sizeof(m->tok));
	m->broken = false;
	m->n_held = 0;
	CHECK(uvi_vq_num_free(m->vq) == m->cfg.size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data, size, 0 };
	struct model *m = malloc(sizeof(*m));

	if (!m)
		return 0;
	if (!setup(m, take8(&s))) {
		free(m);
		return 0;
	}
	while (s.pos < s.len) {
		switch (take8(&s) % 7) {
		case 0: op_add(m, &s); break;
		case 1: op_publish(m); break;
		case 2: op_get_used(m, &s); break;
		case 3: op_device(m, &s); break;
		case 4: op_scribble(m, &s); break;
		case 5: op_index(m, &s); break;
		default: op_reset(m); break;
		}
		if (!m->broken)
			check_accounting(m);
		else
			CHECK(uvi_vq_broken(m->vq));
	}
	teardown(m);
	free(m);
	return 0;
}
