/* SPDX-License-Identifier: BSD-3-Clause */
/* A helper thread that polls the event queue every interval, until stopped. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define INTERVAL_US_DEFAULT 1000

static void *event_main(void *arg)
{
	struct viommu_dev *dev = arg;
	struct timespec pause = {
		.tv_sec = dev->event_interval_us / 1000000,
		.tv_nsec = (long)(dev->event_interval_us % 1000000) * 1000,
	};

	while (!atomic_load_explicit(&dev->event_thread_stop, memory_order_acquire)) {
		viommu_poll_events(dev, 0);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* thread_lock serialises start and stop; the device lock is never held across a join. */
int viommu_start_event_thread(struct viommu_dev *dev, unsigned interval_us)
{
	int rc = 0;

	if (!dev)
		return uvi_fail(-EINVAL, "start_event_thread: NULL device");
	pthread_mutex_lock(&dev->thread_lock);
	if (dev->event_thread_running) {
		rc = uvi_fail(-EALREADY, "the event thread is running already");
	} else {
		dev->event_interval_us = interval_us ? interval_us : INTERVAL_US_DEFAULT;
		atomic_store(&dev->event_thread_stop, false);
		rc = -pthread_create(&dev->event_thread, NULL, event_main, dev);
		if (rc)
			uvi_fail(rc, "cannot start the event thread: %s", strerror(-rc));
		dev->event_thread_running = !rc;
	}
	pthread_mutex_unlock(&dev->thread_lock);
	return rc;
}

void viommu_stop_event_thread(struct viommu_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->thread_lock);
	if (dev->event_thread_running) {
		atomic_store_explicit(&dev->event_thread_stop, true, memory_order_release);
		pthread_join(dev->event_thread, NULL);
		dev->event_thread_running = false;
	}
	pthread_mutex_unlock(&dev->thread_lock);
}
