/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Polling the request queue, and the bounds on every wait: a stall (no
 * completion while requests are in flight) makes the driver read the
 * device status once a millisecond (DEVICE_NEEDS_RESET, virtio 1.2,
 * 2.1.2) and, past the request timeout, give up on the device. Either
 * way the device is then reset and replayed (reset.c) by whoever polls,
 * unless a recovery is already running: then the wait fails and the
 * recovery tries again or gives up.
 */
#include <errno.h>
#include <sched.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/virtio/virtio_pci_regs.h"
#include "dev.h"

#define SPINS_BEFORE_YIELD 64
#define AWAIT_QUIET_NS 10000  /* no new completion for this long: stop waiting for more */
#define AWAIT_SLICE_NS 50000  /* the longest one await holds the device lock */

void uvi_check_device_status(struct viommu_dev *dev)
{
	uint8_t s = uvi_vpci_get_status(&dev->vpci);

	if ((s & UVI_VSTATUS_NEEDS_RESET || !(s & UVI_VSTATUS_DRIVER_OK)) && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_NEEDS_RESET;
}

static void check_stall(struct viommu_dev *dev)
{
	uint64_t now = uvi_now_ns();

	if (!dev->stall_start_ns) {
		dev->stall_start_ns = now;
		dev->status_check_ns = now;
		return;
	}
	if (now - dev->status_check_ns >= UVI_STATUS_CHECK_NS) {
		dev->status_check_ns = now;
		uvi_check_device_status(dev);
	}
	if (now - dev->stall_start_ns >= (uint64_t)dev->timeout_ms * 1000000u &&
	    !dev->need_recovery) {
		dev->need_recovery = UVI_RECOVER_TIMEOUT;
		dev->stats.timeouts++;
	}
}

/*
 * Reap; on a stall, watch the device; recover it if needed. Returns
 * completions taken. A stall is timed from its UVI_STALL_CLOCK_POLLS-th
 * empty poll and checked on every such poll after it: the clock is not
 * read while completions keep coming, and a wait is still bounded.
 */
int uvi_poll(struct viommu_dev *dev)
{
	int n = uvi_req_reap(dev);

	if (n) {
		dev->stall_start_ns = 0;
		dev->empty_polls = 0;
	} else if (dev->inflight && ++dev->empty_polls % UVI_STALL_CLOCK_POLLS == 0) {
		check_stall(dev);
	}
	if (dev->need_recovery && !dev->recovering)
		uvi_recover(dev);
	return n;
}

static void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * One idle step of a wait. With `lock_free`, the device lock is let go
 * for it: other threads (the event thread, other batches) get their turn
 * while this one has nothing to do.
 */
static void idle_step(struct viommu_dev *dev, unsigned *spins, bool lock_free)
{
	if (lock_free)
		pthread_mutex_unlock(&dev->lock);
	uvi_relax(spins);
	if (lock_free)
		pthread_mutex_lock(&dev->lock);
}

/* Nothing worth waiting for: enough are ready, or none can come, or a reset is due. */
static bool await_done(const struct viommu_dev *dev, unsigned want, unsigned ready)
{
	return ready >= want || ready >= dev->inflight || dev->need_recovery || dev->failed;
}

/*
 * Idle until at least `want` completions are ready (at most those in
 * flight), without taking any: reaping them one by one as they trickle in
 * costs more than taking them in one pass, and pulls the used-ring line
 * away from a device that is still writing it. The wait ends early when
 * none came for AWAIT_QUIET_NS (a stalled or slow device: the caller's
 * poll watches for stalls), after AWAIT_SLICE_NS, or when a reset is due.
 * With `lock_free`, the lock is released for each idle step; everything
 * is read again after it, since another thread may have reaped or reset
 * meanwhile. Its time is the driver's idle time, stats.wait_ns.
 */
void uvi_await(struct viommu_dev *dev, unsigned want, bool lock_free)
{
	unsigned ready = uvi_vq_used_ready(dev->rq), now_ready, spins = 0;
	uint64_t start, now, changed;

	if (await_done(dev, want, ready))
		return;
	start = changed = now = uvi_now_ns();
	for (;;) {
		idle_step(dev, &spins, lock_free);
		now_ready = uvi_vq_used_ready(dev->rq);
		now = uvi_now_ns();
		if (await_done(dev, want, now_ready) || now - start >= AWAIT_SLICE_NS)
			break;
		if (now_ready != ready) {
			ready = now_ready;
			changed = now;
		} else if (now - changed >= AWAIT_QUIET_NS) {
			break;
		}
	}
	dev->stats.wait_ns += now - start;
}

void uvi_relax(unsigned *spins)
{
	if (++*spins < SPINS_BEFORE_YIELD) {
		cpu_pause();
		return;
	}
	sched_yield(); /* only while waiting for the device, never per request */
}

/*
 * A wait inside a recovery met a new reason to reset: the recovery attempt
 * fails with this (0 when there is no such trouble).
 */
int uvi_nested_trouble(struct viommu_dev *dev)
{
	static const int err[] = {
		[UVI_RECOVER_NEEDS_RESET] = -EIO, [UVI_RECOVER_TIMEOUT] = -ETIMEDOUT,
		[UVI_RECOVER_DEVERR] = -EREMOTEIO, [UVI_RECOVER_PROTOCOL] = -EPROTO,
		[UVI_RECOVER_MANUAL] = -EIO,
	};

	if (!dev->recovering || !dev->need_recovery)
		return 0;
	return uvi_fail(err[dev->need_recovery], "the device failed again while it was being "
			"reset and replayed: %s", uvi_recovery_reason_name(dev->need_recovery));
}

int uvi_check_usable(struct viommu_dev *dev)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (!dev->failed)
		return 0;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	return uvi_fail(-EIO, "virtio-iommu %s failed to come back after a reset (errno %d); "
			"call viommu_reset() to try again", name, dev->fail_err);
}

/* Wait until nothing is in flight (bounded by the request timeout and recovery). */
int uvi_drain(struct viommu_dev *dev)
{
	unsigned spins = 0;
	int rc;

	while (dev->inflight) {
		uvi_await(dev, dev->inflight, false);
		if (uvi_poll(dev)) {
			spins = 0;
			continue;
		}
		rc = uvi_nested_trouble(dev);
		if (rc)
			return rc;
		uvi_relax(&spins);
	}
	return uvi_check_usable(dev);
}

/*
 * Wait for one SYNC slot and release it. A recovery that ran meanwhile
 * completed it with -ECANCELED (the caller may send it again) or with
 * the recovery's error.
 */
int uvi_wait_slot(struct viommu_dev *dev, struct uvi_slot *slot)
{
	unsigned spins = 0;
	int rc;

	while (!slot->done) {
		uvi_await(dev, 1, false);
		if (uvi_poll(dev)) {
			spins = 0;
			continue;
		}
		rc = slot->done ? 0 : uvi_nested_trouble(dev);
		if (rc) {
			/* The recovery's next attempt resets the queue this slot is on. */
			uvi_slot_put(dev, slot);
			return rc;
		}
		uvi_relax(&spins);
	}
	rc = slot->status;
	uvi_slot_put(dev, slot);
	return rc;
}
