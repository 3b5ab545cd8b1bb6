/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_VQ_INTERNAL_H
#define UVIOMMU_SIM_VQ_INTERNAL_H

/*
 * The device-side queue behind sim_vq.h: sim_vq.c holds creation and
 * dispatch, sim_vq_split.c and sim_vq_packed.c the ring protocols. The
 * rings are the driver's memory: the device keeps its own positions and
 * reads every driver-written field once before checking it.
 */

#include "../../lib/virtio/virtio_ring.h"
#include "sim_vq.h"

struct sim_vq_split {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;
	uint16_t *avail_event;
	uint16_t last_avail; /* next available ring entry to read */
	uint16_t avail_seen; /* avail->idx as last read */
	uint16_t used_next;  /* used->idx once the pushed completions are flushed */
	uint16_t used_pub;   /* used->idx as last flushed */
};

struct sim_vq_packed {
	struct vring_packed_desc *desc;
	struct vring_packed_event *driver_event;
	struct vring_packed_event *device_event;
	struct vring_packed_pos avail; /* next slot to read; wrap = Device Ring Wrap Counter
					* of the driver's lap there */
	struct vring_packed_pos used;  /* next slot to write a used descriptor to */
	struct vring_packed_pos pub;   /* used at the last flush */
	uint16_t batch_head;           /* first unflushed used descriptor ... */
	uint16_t batch_flags;          /* ... and the flags it gets at flush */
};

struct sim_vq {
	enum uvi_vq_layout layout;
	bool event_idx;
	bool kicks_off;     /* sim_vq_kick_enable(false) in force */
	uint16_t size;
	uint16_t mask;      /* split: size - 1 */
	unsigned pushed;    /* completions pushed since the last flush */
	union {
		struct sim_vq_split split;
		struct sim_vq_packed packed;
	};
};

void sim_vq_split_init(struct sim_vq *vq, const struct uvi_vq_addrs *addrs);
int sim_vq_split_pop(struct sim_vq *vq, struct sim_vq_chain *chain);
void sim_vq_split_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len);
bool sim_vq_split_flush(struct sim_vq *vq);
void sim_vq_split_kick(struct sim_vq *vq, bool enable);
void sim_vq_split_kick_at(struct sim_vq *vq, uint16_t event);

void sim_vq_packed_init(struct sim_vq *vq, const struct uvi_vq_addrs *addrs);
int sim_vq_packed_pop(struct sim_vq *vq, struct sim_vq_chain *chain);
void sim_vq_packed_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len);
bool sim_vq_packed_flush(struct sim_vq *vq);
void sim_vq_packed_kick(struct sim_vq *vq, bool enable);
void sim_vq_packed_kick_at(struct sim_vq *vq, uint16_t event);

/* Start reading the chain `id`: no buffer yet. */
static inline void sim_vq_chain_start(struct sim_vq_chain *chain, uint16_t id)
{
	chain->id = id;
	chain->n = 0;
	chain->n_in = 0;
	chain->in_len = 0;
	chain->out_len = 0;
}

/* The rule of sim_vq_chain_append() a descriptor breaks, as a message; returns -EPROTO. */
int sim_vq_chain_refuse(const struct sim_vq_chain *chain, uint16_t size, uint16_t flags);

/*
 * Append one descriptor to a chain being read, enforcing the rules every
 * chain obeys (2.7.4, 2.7.5, 2.8.17): no indirect descriptors
 * (VIRTIO_F_INDIRECT_DESC is not offered), readable before writable, not
 * longer than the queue nor than what the sim serves. 0 or -EPROTO.
 */
static inline int sim_vq_chain_append(struct sim_vq_chain *chain, uint16_t size, uint64_t addr,
				      uint32_t len, uint16_t flags)
{
	bool writable = flags & VRING_DESC_F_WRITE;

	if (chain->n >= size || chain->n >= SIM_VQ_MAX_CHAIN || (flags & VRING_DESC_F_INDIRECT) ||
	    (!writable && chain->n_in != chain->n))
		return sim_vq_chain_refuse(chain, size, flags);
	chain->bufs[chain->n++] = (struct uvi_vq_buf){ addr, len, writable };
	if (writable) {
		chain->out_len += len;
	} else {
		chain->n_in++;
		chain->in_len += len;
	}
	return 0;
}

#endif
