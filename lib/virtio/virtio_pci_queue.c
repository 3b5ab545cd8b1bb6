/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue configuration over the modern virtio-pci transport (virtio
 * 1.2, 4.1.5.1.3) and the location of each queue's doorbell (4.1.4.4).
 */
#include <errno.h>

#include "virtio_pci.h"
#include "virtio_pci_access.h"
#include "virtio_pci_regs.h"
#include "../common/error_internal.h"

static void select_queue(const struct uvi_vpci *v, uint16_t index)
{
	vpci_write(&v->common, UVI_VCOMMON_Q_SELECT, 2, index);
}

int uvi_vpci_queue_max_size(const struct uvi_vpci *v, uint16_t index, uint16_t *max)
{
	uint16_t num = uvi_vpci_num_queues(v), size;

	if (index >= num)
		return uvi_fail(-ENOENT, "virtqueue %u does not exist: the device has %u", index,
				num);
	select_queue(v, index);
	size = (uint16_t)vpci_read(&v->common, UVI_VCOMMON_Q_SIZE, 2);
	/* 4.1.4.3: queue_size 0 means the queue is unavailable. */
	if (!size)
		return uvi_fail(-ENOENT, "virtqueue %u is unavailable (queue_size reads 0)", index);
	*max = size;
	return 0;
}

/*
 * 4.1.4.4: the doorbell of a queue is at cap.offset + queue_notify_off *
 * notify_off_multiplier, and the device must make the notification
 * structure long enough for every queue; a device that does not is
 * caught here rather than by a store outside the BAR.
 */
static int locate_doorbell(const struct uvi_vpci *v, uint16_t index,
			   struct uvi_vpci_notifier *out)
{
	uint16_t notify_off = (uint16_t)vpci_read(&v->common, UVI_VCOMMON_Q_NOFF, 2);
	uint64_t off = (uint64_t)notify_off * v->notify_off_multiplier;

	if (off + 2 > v->notify.len)
		return uvi_fail(-EPROTO, "virtqueue %u doorbell lies outside the notify "
				"structure: queue_notify_off %u * multiplier %u = 0x%llx, its "
				"length 0x%x (virtio 1.2, 4.1.4.4)", index, notify_off,
				v->notify_off_multiplier, (unsigned long long)off, v->notify.len);
	*out = (struct uvi_vpci_notifier){
		.bar = v->notify.bar, .off = v->notify.off + off, .queue = index,
	};
	return 0;
}

/* 4.1.5.1.3 steps 1-5 (writing a smaller queue_size is allowed by 4.1.4.3.2). */
int uvi_vpci_queue_setup(const struct uvi_vpci *v, uint16_t index, uint16_t size,
			 const struct uvi_vq_addrs *addrs, struct uvi_vpci_notifier *out)
{
	uint16_t max;
	int rc;

	rc = uvi_vpci_queue_max_size(v, index, &max);
	if (rc)
		return rc;
	if (vpci_read(&v->common, UVI_VCOMMON_Q_ENABLE, 2))
		return uvi_fail(-EBUSY, "virtqueue %u is already enabled: reset the device before "
				"setting it up again", index);
	if (!size || size > max)
		return uvi_fail(-EINVAL, "virtqueue %u: size %u is not within the device's 1-%u",
				index, size, max);
	if (size != max) {
		vpci_write(&v->common, UVI_VCOMMON_Q_SIZE, 2, size);
		if (vpci_read(&v->common, UVI_VCOMMON_Q_SIZE, 2) != size)
			return uvi_fail(-EPROTO, "virtqueue %u: the device did not accept size %u "
					"(maximum %u)", index, size, max);
	}
	vpci_write64(&v->common, UVI_VCOMMON_Q_DESC, addrs->desc);
	vpci_write64(&v->common, UVI_VCOMMON_Q_DRIVER, addrs->driver);
	vpci_write64(&v->common, UVI_VCOMMON_Q_DEVICE, addrs->device);
	return locate_doorbell(v, index, out);
}

/* 4.1.5.1.3 step 6; reading it back catches a device that ignored the write. */
int uvi_vpci_queue_enable(const struct uvi_vpci *v, uint16_t index)
{
	if (index >= uvi_vpci_num_queues(v))
		return uvi_fail(-ENOENT, "virtqueue %u does not exist", index);
	select_queue(v, index);
	vpci_write(&v->common, UVI_VCOMMON_Q_ENABLE, 2, 1);
	if (vpci_read(&v->common, UVI_VCOMMON_Q_ENABLE, 2) != 1)
		return uvi_fail(-EPROTO, "virtqueue %u: the device did not enable it (queue_enable "
				"reads back 0)", index);
	return 0;
}
