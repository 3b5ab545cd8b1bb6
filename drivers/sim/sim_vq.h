/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_VQ_H
#define UVIOMMU_SIM_VQ_H

/*
 * Device side of a virtqueue (split or packed), for the software device.
 * It reads the rings the driver set up through the transport registers;
 * with the sim, bus addresses are process virtual addresses.
 *
 * A chain the driver built wrongly (a loop, a descriptor index out of
 * range, a readable descriptor after a writable one, more descriptors
 * than the queue size or than SIM_VQ_MAX_CHAIN, an indirect descriptor,
 * which the sim does not offer) is reported with -EPROTO and not served,
 * as a careful device would; the queue position stays on that chain.
 *
 * One thread drives a sim_vq at a time (the device thread); the driver
 * runs concurrently on the other side of the rings.
 */

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/virtio/virtqueue.h"

#define SIM_VQ_MAX_CHAIN 64

struct sim_vq_chain {
	uint16_t id;      /* split: head index; packed: buffer ID */
	uint16_t ndesc;   /* descriptors used by the chain (packed: ring slots) */
	unsigned n;       /* number of buffers */
	unsigned n_in;    /* device-readable buffers: the first n_in */
	uint64_t in_len;  /* bytes in the device-readable buffers */
	uint64_t out_len; /* bytes in the device-writable ones */
	struct uvi_vq_buf bufs[SIM_VQ_MAX_CHAIN];
};

struct sim_vq;

int sim_vq_create(const struct uvi_vq_config *cfg, const struct uvi_vq_addrs *addrs,
		  struct sim_vq **out);
void sim_vq_destroy(struct sim_vq *vq);

/* Forget all progress (the driver reset its queue: rings are zero again). */
void sim_vq_reset(struct sim_vq *vq);

/* Next available chain: 1 and *chain filled, 0 if none, -EPROTO if malformed. */
int sim_vq_pop(struct sim_vq *vq, struct sim_vq_chain *chain);

/*
 * Return a chain to the driver with used_len bytes written. Completions
 * may be pushed in any order; they become visible at sim_vq_flush().
 */
void sim_vq_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len);
/*
 * Publish pushed completions (one release barrier + index/flags store).
 * Returns true when the driver's suppression settings (avail->flags or
 * used_event, or the driver event suppression structure) ask for a
 * used-buffer notification, false otherwise or if nothing was pushed.
 */
bool sim_vq_flush(struct sim_vq *vq);

/*
 * Available-buffer notifications ("kicks") the device asks of the
 * driver (2.7.10, 2.8.10). A new queue asks for every kick.
 *
 * sim_vq_kick_enable(true): split without EVENT_IDX: used->flags 0;
 * split with EVENT_IDX: avail_event = the next entry the device reads;
 * packed: RING_EVENT_FLAGS_ENABLE.
 * sim_vq_kick_enable(false): split without EVENT_IDX: NO_NOTIFY; split
 * with EVENT_IDX (where flags must stay 0): avail_event kept 2^15 - 1
 * entries ahead of the device, refreshed by every sim_vq_pop(); packed:
 * RING_EVENT_FLAGS_DISABLE.
 * sim_vq_kick_at(event), EVENT_IDX only (-EINVAL otherwise): kick when
 * the driver makes entry `event` available: split: avail_event = event;
 * packed: RING_EVENT_FLAGS_DESC at event = offset | wrap << 15.
 *
 * Each ends with a full fence, so that a device going idle can enable
 * kicks, then re-check with sim_vq_pop() without losing a chain the
 * driver published meanwhile.
 */
void sim_vq_kick_enable(struct sim_vq *vq, bool enable);
int sim_vq_kick_at(struct sim_vq *vq, uint16_t event);

/*
 * Where the device reads next, in the form sim_vq_kick_at() takes:
 * split: its available index; packed: offset | wrap << 15.
 */
uint16_t sim_vq_avail_position(const struct sim_vq *vq);

#endif
