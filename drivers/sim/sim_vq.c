/* SPDX-License-Identifier: BSD-3-Clause */
/* Device-side virtqueue: creation, the rules every chain obeys, dispatch on the layout. */
#include <errno.h>
#include <stdlib.h>

#include "../../lib/common/error_internal.h"
#include "sim_vq_internal.h"

int sim_vq_create(const struct uvi_vq_config *cfg, const struct uvi_vq_addrs *addrs,
		  struct sim_vq **out)
{
	struct sim_vq *vq;

	if (!cfg || !addrs || !out || cfg->size == 0 || cfg->size > VRING_MAX_SIZE ||
	    (cfg->layout == UVI_VQ_SPLIT && (cfg->size & (cfg->size - 1))))
		return uvi_fail(-EINVAL, "sim virtqueue: invalid queue configuration");
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return uvi_fail(-ENOMEM, "sim virtqueue: out of memory");
	vq->layout = cfg->layout;
	vq->event_idx = cfg->event_idx;
	vq->size = cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	if (vq->layout == UVI_VQ_SPLIT)
		sim_vq_split_init(vq, addrs);
	else
		sim_vq_packed_init(vq, addrs);
	*out = vq;
	return 0;
}

void sim_vq_destroy(struct sim_vq *vq)
{
	free(vq);
}

void sim_vq_reset(struct sim_vq *vq)
{
	struct uvi_vq_addrs addrs;

	/* The ring addresses stay: recover them from the pointers held. */
	if (vq->layout == UVI_VQ_SPLIT)
		addrs = (struct uvi_vq_addrs){ (uintptr_t)vq->split.desc,
					       (uintptr_t)vq->split.avail,
					       (uintptr_t)vq->split.used };
	else
		addrs = (struct uvi_vq_addrs){ (uintptr_t)vq->packed.desc,
					       (uintptr_t)vq->packed.driver_event,
					       (uintptr_t)vq->packed.device_event };
	vq->kicks_off = false;
	vq->pushed = 0;
	if (vq->layout == UVI_VQ_SPLIT)
		sim_vq_split_init(vq, &addrs);
	else
		sim_vq_packed_init(vq, &addrs);
}

int sim_vq_chain_refuse(const struct sim_vq_chain *chain, uint16_t size, uint16_t flags)
{
	if (chain->n >= size)
		return uvi_fail(-EPROTO, "sim virtqueue: chain at %u has more than %u descriptors "
				"(the queue size): it loops", chain->id, size);
	if (chain->n >= SIM_VQ_MAX_CHAIN)
		return uvi_fail(-EPROTO, "sim virtqueue: chain at %u is longer than %u descriptors",
				chain->id, SIM_VQ_MAX_CHAIN);
	if (flags & VRING_DESC_F_INDIRECT)
		return uvi_fail(-EPROTO, "sim virtqueue: chain at %u has an indirect "
				"descriptor, but VIRTIO_F_INDIRECT_DESC was not offered",
				chain->id);
	return uvi_fail(-EPROTO, "sim virtqueue: chain at %u has a device-readable descriptor "
			"after a device-writable one", chain->id);
}

int sim_vq_pop(struct sim_vq *vq, struct sim_vq_chain *chain)
{
	if (vq->layout == UVI_VQ_SPLIT)
		return sim_vq_split_pop(vq, chain);
	return sim_vq_packed_pop(vq, chain);
}

void sim_vq_push(struct sim_vq *vq, const struct sim_vq_chain *chain, uint32_t used_len)
{
	if (vq->layout == UVI_VQ_SPLIT)
		sim_vq_split_push(vq, chain, used_len);
	else
		sim_vq_packed_push(vq, chain, used_len);
	vq->pushed++;
}

bool sim_vq_flush(struct sim_vq *vq)
{
	bool notify;

	if (vq->pushed == 0)
		return false;
	if (vq->layout == UVI_VQ_SPLIT)
		notify = sim_vq_split_flush(vq);
	else
		notify = sim_vq_packed_flush(vq);
	vq->pushed = 0;
	return notify;
}

/*
 * The device's half of 2.7.13.4 / 2.8.21.2.1: its suppression store must
 * be visible before it re-reads the ring, as the driver's index store
 * must be before it reads the suppression fields.
 */
static void kick_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

void sim_vq_kick_enable(struct sim_vq *vq, bool enable)
{
	vq->kicks_off = !enable;
	if (vq->layout == UVI_VQ_SPLIT)
		sim_vq_split_kick(vq, enable);
	else
		sim_vq_packed_kick(vq, enable);
	kick_fence();
}

int sim_vq_kick_at(struct sim_vq *vq, uint16_t event)
{
	if (!vq->event_idx)
		return uvi_fail(-EINVAL, "sim virtqueue: a kick at an index needs "
				"VIRTIO_F_EVENT_IDX");
	vq->kicks_off = false;
	if (vq->layout == UVI_VQ_SPLIT)
		sim_vq_split_kick_at(vq, event);
	else
		sim_vq_packed_kick_at(vq, event);
	kick_fence();
	return 0;
}

uint16_t sim_vq_avail_position(const struct sim_vq *vq)
{
	if (vq->layout == UVI_VQ_SPLIT)
		return vq->split.last_avail;
	return (uint16_t)(vq->packed.avail.slot |
			  vq->packed.avail.wrap << VRING_PACKED_EVENT_WRAP_SHIFT);
}
