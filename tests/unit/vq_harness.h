/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_VQ_HARNESS_H
#define UVIOMMU_TEST_VQ_HARNESS_H

/*
 * A driver virtqueue (lib/virtio) and the software device's side of the
 * same rings (drivers/sim) in one thread, for the layout suites. The
 * requests have the shape of a virtio-iommu MAP: a 40-byte readable
 * buffer and a 4-byte writable status. The checks shared by both layouts
 * live here as vqt_check_*(layout); each suite adds its layout's own.
 */

#include <stdbool.h>
#include <stdint.h>

#include "../../drivers/sim/sim_vq.h"
#include "../../lib/virtio/virtqueue.h"

#define VQT_REQ_LEN 40
#define VQT_STATUS_LEN 4

struct vqt_req {
	uint8_t cmd[VQT_REQ_LEN];
	uint8_t status[VQT_STATUS_LEN]; /* right after cmd: the device checks that */
	unsigned serial;
	bool queued;       /* added and not yet handed back */
	unsigned returned; /* times the driver handed it back */
};

struct vqt_pair {
	struct uvi_vq_config cfg;
	void *ring;
	size_t ring_bytes;
	struct uvi_vq *drv;
	struct sim_vq *dev;
	struct sim_vq_chain *chains; /* size entries: what the device popped */
	unsigned n_chains;
	unsigned used_notifies;      /* sim_vq_flush() asking for an interrupt */
};

/* false (after a CUnit failure) if the pair could not be set up. */
bool vqt_setup(struct vqt_pair *p, enum uvi_vq_layout layout, uint16_t size, bool event_idx);
void vqt_teardown(struct vqt_pair *p);
/* Reset both sides, as after a device reset. */
void vqt_reset(struct vqt_pair *p);

void vqt_req_init(struct vqt_req *r, unsigned serial);
/* Add r as a MAP-shaped chain: uvi_vq_add()'s result. */
int vqt_add(struct vqt_pair *p, struct vqt_req *r);
/* Device: pop every available chain (appended to p->chains), checking its shape. */
unsigned vqt_dev_pop(struct vqt_pair *p);
/*
 * Device: complete m of the popped chains, in the order given by
 * order[] (indices into p->chains; NULL: the first m in pop order),
 * writing each status; then flush. The others stay popped, in order.
 */
void vqt_dev_complete(struct vqt_pair *p, const unsigned *order, unsigned m);
/* Driver: take every completion, checking each; returns how many (in *got). */
unsigned vqt_reap(struct vqt_pair *p, struct vqt_req **got, unsigned max);
/* Add n requests and publish them as one batch; returns publish's "notify" answer. */
bool vqt_publish_batch(struct vqt_pair *p, struct vqt_req *reqs, unsigned n);
/*
 * The device refuses the chain on offer with -EPROTO and a message
 * containing needle, twice (not served, not skipped); then reset.
 */
void vqt_expect_bad_chain(struct vqt_pair *p, const char *needle);
/* The device takes everything available and completes it; the driver reaps it all. */
void vqt_serve_all(struct vqt_pair *p);

/* A permutation of 0..n-1 from seed (deterministic). */
void vqt_shuffle(unsigned *order, unsigned n, uint32_t *seed);

/* Checks both layout suites run. */
void vqt_check_single(enum uvi_vq_layout layout);
void vqt_check_batch(enum uvi_vq_layout layout);
void vqt_check_index_wrap(enum uvi_vq_layout layout, uint16_t size, unsigned requests);
void vqt_check_full_queue(enum uvi_vq_layout layout);
void vqt_check_out_of_order(enum uvi_vq_layout layout);
void vqt_check_used_ready(enum uvi_vq_layout layout);
void vqt_check_reset(enum uvi_vq_layout layout);
void vqt_check_bad_calls(enum uvi_vq_layout layout);
void vqt_check_poll_mode(enum uvi_vq_layout layout, bool event_idx);

#endif
