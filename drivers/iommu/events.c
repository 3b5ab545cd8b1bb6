/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The event queue (virtio 1.2, 5.13.6.9): kept full of device-writable
 * buffers, one fault record each, so that the device never has to drop a
 * fault for want of a buffer; every buffer consumed is posted again at
 * once. Records are copied out of DMA memory before they are decoded
 * (the device may write the buffer again as soon as it is posted), and a
 * record with non-zero reserved bytes or a short used length is ignored
 * and counted. Handlers are called after the device lock is released.
 */
#include <errno.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define CHUNK 32 /* records taken per lock hold */
#define KNOWN_FAULT_FLAGS (VIOMMU_FAULT_READ | VIOMMU_FAULT_WRITE | VIOMMU_FAULT_EXEC | \
			   VIOMMU_FAULT_ADDRESS)

struct delivery {
	struct viommu_fault fault;
	viommu_fault_fn fn;
	void *arg;
};

static int post(struct viommu_dev *dev, unsigned i)
{
	struct uvi_vq_buf b = { dev->event_bus[i], sizeof(struct virtio_iommu_fault), true };

	return uvi_vq_add(dev->eq, &b, 1, dev->events[i]);
}

static void kick_events(struct viommu_dev *dev)
{
	if (uvi_vq_publish(dev->eq))
		uvi_vpci_notify(&dev->eq_bell);
}

int uvi_events_post_all(struct viommu_dev *dev)
{
	int rc = 0;

	for (unsigned i = 0; i < dev->eq_size && !rc; i++) {
		memset(dev->events[i], 0, sizeof(*dev->events[i]));
		rc = post(dev, i);
	}
	if (!rc)
		kick_events(dev);
	return rc;
}

/*
 * 5.13.6.9.1: ignore a record whose reserved field is not zero, ignore
 * reserved1 and undefined flags, treat an unknown reason as UNKNOWN.
 */
int uvi_event_decode(const struct virtio_iommu_fault *rec, uint32_t used_len,
		     struct viommu_fault *out)
{
	if (used_len < sizeof(*rec))
		return uvi_fail(-EPROTO, "fault record of %u bytes, %zu expected", used_len,
				sizeof(*rec));
	if (rec->reserved[0] | rec->reserved[1] | rec->reserved[2])
		return uvi_fail(-EPROTO, "fault record with non-zero reserved bytes");
	*out = (struct viommu_fault){
		.reason = rec->reason <= VIRTIO_IOMMU_FAULT_R_MAPPING ?
			  rec->reason : VIOMMU_FAULT_REASON_UNKNOWN,
		.flags = rec->flags & KNOWN_FAULT_FLAGS,
		.endpoint_id = rec->endpoint,
	};
	if (out->flags & VIOMMU_FAULT_ADDRESS)
		out->address = rec->address;
	return 0;
}

static void route(struct viommu_dev *dev, struct delivery *d)
{
	struct uvi_ep *ep = uvi_ep_find(dev, d->fault.endpoint_id);

	if (ep && ep->fault_fn) {
		d->fn = ep->fault_fn;
		d->arg = ep->fault_arg;
	} else {
		d->fn = dev->default_fault_fn;
		d->arg = dev->default_fault_arg;
	}
}

static void take(struct viommu_dev *dev, void *token, uint32_t used_len, struct delivery *d,
		 unsigned *n)
{
	struct virtio_iommu_fault rec;
	unsigned i = (unsigned)(((uint8_t *)token - (uint8_t *)dev->events[0]) / UVI_EVENT_STRIDE);

	memcpy(&rec, token, sizeof(rec));
	if (post(dev, i) && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_PROTOCOL;
	if (uvi_event_decode(&rec, used_len, &d[*n].fault)) {
		dev->stats.faults_dropped_malformed++;
		return;
	}
	dev->stats.faults++;
	dev->stats.faults_reason[d[*n].fault.reason]++;
	route(dev, &d[*n]);
	(*n)++;
}

/* Up to max valid records into d[]; every buffer taken is posted again. */
static unsigned pull(struct viommu_dev *dev, struct delivery *d, unsigned max)
{
	unsigned n = 0, taken = 0;
	uint32_t used_len;
	void *token;
	int rc = 0;

	while (n < max && (rc = uvi_vq_get_used(dev->eq, &token, &used_len)) == 1) {
		take(dev, token, used_len, d, &n);
		taken++;
	}
	if (rc < 0 && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_PROTOCOL;
	if (taken) {
		kick_events(dev);
		uvi_mark_dirty(dev);
	}
	return n;
}

/*
 * With nothing in flight no stall reveals DEVICE_NEEDS_RESET (2.1.2), and
 * the event queue just goes quiet: the event poll looks at the status now
 * and then (one register read).
 */
static void watch_idle_device(struct viommu_dev *dev)
{
	uint64_t now;

	if (dev->inflight || dev->failed)
		return;
	now = uvi_now_ns();
	if (now - dev->status_check_ns < UVI_IDLE_STATUS_NS)
		return;
	dev->status_check_ns = now;
	uvi_check_device_status(dev);
}

static unsigned pull_locked(struct viommu_dev *dev, struct delivery *d, unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&dev->lock);
	n = dev->failed ? 0 : pull(dev, d, max);
	watch_idle_device(dev);
	if (dev->need_recovery && !dev->recovering)
		uvi_recover(dev);
	uvi_publish(dev, false);
	pthread_mutex_unlock(&dev->lock);
	return n;
}

int viommu_poll_events(struct viommu_dev *dev, unsigned max)
{
	struct delivery d[CHUNK];
	unsigned total = 0, want, n;

	if (!dev)
		return uvi_fail(-EINVAL, "poll_events: NULL device");
	do {
		want = max && max - total < CHUNK ? max - total : CHUNK;
		n = pull_locked(dev, d, want);
		for (unsigned i = 0; i < n; i++)
			if (d[i].fn)
				d[i].fn(&d[i].fault, d[i].arg);
		total += n;
	} while (n == want && (!max || total < max));
	return (int)total;
}
