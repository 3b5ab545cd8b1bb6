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
 * than the queue size) is reported with -EPROTO and not served, as a
 * careful device would.
 */

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/virtio/virtqueue.h"

#define SIM_VQ_MAX_CHAIN 64

struct sim_vq_chain {
	uint16_t id;      /* split: head index; packed: buffer ID */
	uint16_t ndesc;   /* descriptors used by the chain (packed: ring slots) */
	unsigned n;       /* number of buffers */
	struct uvi_vq_buf bufs[SIM_VQ_MAX_CHAIN];
};

struct sim_vq;

int sim_vq_create(const struct uvi_vq_config *cfg, const struct uvi_vq_addrs *addrs,
		  struct sim_vq **out);
void sim_vq_destroy(struct sim_vq *vq);

/* Next available chain: 1 and *chain filled, 0 if none, -EPROTO if malformed. */
int sim_vq_pop(struct sim_vq *vq, struct sim_vq_chain *chain);

/*
 * Return a chain to the driver with used_len bytes written. Completions
 * may be pushed in any order; they become visible at sim_vq_flush().
 */
void sim_vq_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len);
/* Publish pushed completions (one release barrier + index/flags store). */
void sim_vq_flush(struct sim_vq *vq);

#endif
