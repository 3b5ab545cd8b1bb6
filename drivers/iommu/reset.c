/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery: on DEVICE_NEEDS_RESET (virtio 1.2, 2.1.2), a request timeout,
 * a storm of DEVERR statuses, a ring protocol error, or viommu_reset().
 *
 * The device is reset and brought up again with the same features and
 * queue sizes, bypass = 0 is written again, every attached endpoint is
 * re-attached and every domain with endpoints gets its shadow replayed.
 * Batch requests that were in flight are taken over: their MAPs are part
 * of the replay and their UNMAPs are not, and once the device is back
 * they complete with status 0, which is what the shadow then says.
 * Control requests in flight complete with -ECANCELED, which makes their
 * sender try them once more.
 *
 * If the device cannot be brought back (UVI_RECOVERY_ATTEMPTS tries),
 * the taken-over requests fail with the recovery's error and roll their
 * shadow changes back, and the device is marked failed: every call then
 * returns -EIO until viommu_reset() succeeds. Nothing a caller was told
 * succeeded is lost: the shadow still holds it for that reset.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

const char *uvi_recovery_reason_name(enum uvi_recovery_reason r)
{
	switch (r) {
	case UVI_RECOVER_NEEDS_RESET: return "the device set DEVICE_NEEDS_RESET";
	case UVI_RECOVER_TIMEOUT: return "a request timed out";
	case UVI_RECOVER_DEVERR: return "a storm of DEVERR statuses";
	case UVI_RECOVER_PROTOCOL: return "the device broke the virtqueue protocol";
	case UVI_RECOVER_MANUAL: return "a reset was asked for";
	default: return "no reason";
	}
}

/* Take every slot back: batch groups are recorded in groups[], returns how many. */
static unsigned abandon(struct viommu_dev *dev, struct uvi_group *groups)
{
	unsigned n = 0;

	for (unsigned i = 0; i < dev->n_slots; i++) {
		struct uvi_slot *s = &dev->slots[i];

		switch (s->kind) {
		case UVI_SLOT_BATCH:
			groups[n++] = (struct uvi_group){ s->batch, s->first, s->n };
			uvi_slot_put(dev, s);
			break;
		case UVI_SLOT_REPLAY:
			uvi_slot_put(dev, s);
			break;
		case UVI_SLOT_SYNC: /* its waiter releases it */
			if (!s->done) {
				s->done = true;
				s->status = -ECANCELED;
			}
			break;
		default:
			break;
		}
	}
	dev->replay.inflight = 0;
	dev->inflight = 0;
	dev->unpublished = 0;
	return n;
}

static int replay_all(struct viommu_dev *dev, unsigned n_groups)
{
	int rc = 0;

	for (unsigned i = 0; i < dev->n_eps && !rc; i++)
		if (dev->eps[i]->domain)
			rc = uvi_send_attach(dev, dev->eps[i]->domain->id, dev->eps[i]->id);
	for (unsigned i = 0; i < dev->n_domains && !rc; i++)
		if (dev->domains[i]->n_endpoints)
			rc = uvi_replay_domain(dev, dev->domains[i], dev->groups, n_groups);
	return rc;
}

static void settle(struct viommu_dev *dev, unsigned n_groups, int status)
{
	for (unsigned g = 0; g < n_groups; g++)
		for (uint32_t i = 0; i < dev->groups[g].n; i++)
			uvi_breq_finish(dev, &dev->groups[g].batch->reqs[dev->groups[g].first + i],
					status);
}

static int report(struct viommu_dev *dev, enum uvi_recovery_reason reason, int rc)
{
	char name[VIOMMU_PCI_ADDR_STRLEN], why[256];

	snprintf(why, sizeof(why), "%s", viommu_last_error());
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	return uvi_fail(rc, "virtio-iommu %s could not be reset and replayed after %s (%d "
			"attempts): %s", name, uvi_recovery_reason_name(reason),
			UVI_RECOVERY_ATTEMPTS, why);
}

/* With the lock held and no recovery running. Returns 0 or the error that stayed. */
int uvi_recover(struct viommu_dev *dev)
{
	enum uvi_recovery_reason reason = dev->need_recovery;
	unsigned n_groups;
	int rc = -EIO;

	dev->recovering = true;
	dev->failed = false; /* trying again */
	dev->stats.resets++;
	n_groups = abandon(dev, dev->groups);
	for (unsigned attempt = 0; attempt < UVI_RECOVERY_ATTEMPTS && rc; attempt++) {
		if (attempt)
			n_groups += abandon(dev, dev->groups + n_groups);
		dev->need_recovery = UVI_RECOVER_NONE;
		dev->deverr_run = 0;
		rc = uvi_bringup(dev, false);
		if (!rc)
			rc = replay_all(dev, n_groups);
	}
	if (rc)
		rc = report(dev, reason, rc);
	settle(dev, n_groups, rc);
	dev->failed = rc != 0;
	dev->fail_err = rc;
	dev->need_recovery = UVI_RECOVER_NONE;
	dev->recovering = false;
	uvi_mark_dirty(dev);
	uvi_publish(dev, true);
	return rc;
}

int viommu_reset(struct viommu_dev *dev)
{
	int rc;

	if (!dev)
		return uvi_fail(-EINVAL, "reset: NULL device");
	pthread_mutex_lock(&dev->lock);
	dev->need_recovery = UVI_RECOVER_MANUAL;
	rc = uvi_recover(dev);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}
