/* SPDX-License-Identifier: BSD-3-Clause */
/* A helper thread that polls the event queue every interval, until stopped. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define INTERVAL_US_DEFAULT 1000

/* Sleep interval_us on the monotonic clock, or until a stop signals event_wake (lock held). */
static void sleep_interval(struct viommu_dev *dev)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += dev->event_interval_us / 1000000;
	deadline.tv_nsec += (long)(dev->event_interval_us % 1000000) * 1000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	/* A spurious or early wake-up only polls sooner. */
	pthread_cond_timedwait(&dev->event_wake, &dev->event_wake_lock, &deadline);
}

static void *event_main(void *arg)
{
	struct viommu_dev *dev = arg;

	pthread_mutex_lock(&dev->event_wake_lock);
	while (!dev->event_thread_stop) {
		pthread_mutex_unlock(&dev->event_wake_lock);
		viommu_poll_events(dev, 0);
		pthread_mutex_lock(&dev->event_wake_lock);
		if (!dev->event_thread_stop)
			sleep_interval(dev);
	}
	pthread_mutex_unlock(&dev->event_wake_lock);
	return NULL;
}

/* The lock and the condition the thread sleeps on, its clock the monotonic one. */
static int wake_init(struct viommu_dev *dev)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (!rc)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(&dev->event_wake, &attr);
	pthread_condattr_destroy(&attr);
	if (!rc) {
		rc = pthread_mutex_init(&dev->event_wake_lock, NULL);
		if (rc)
			pthread_cond_destroy(&dev->event_wake);
	}
	return rc ? uvi_fail(-rc, "cannot start the event thread: %s", strerror(rc)) : 0;
}

static void wake_fini(struct viommu_dev *dev)
{
	pthread_cond_destroy(&dev->event_wake);
	pthread_mutex_destroy(&dev->event_wake_lock);
}

static int start_locked(struct viommu_dev *dev, unsigned interval_us)
{
	int rc;

	if (dev->event_thread_running)
		return uvi_fail(-EALREADY, "the event thread is running already");
	rc = wake_init(dev);
	if (rc)
		return rc;
	dev->event_interval_us = interval_us ? interval_us : INTERVAL_US_DEFAULT;
	dev->event_thread_stop = false;
	rc = pthread_create(&dev->event_thread, NULL, event_main, dev);
	if (rc) {
		wake_fini(dev);
		return uvi_fail(-rc, "cannot start the event thread: %s", strerror(rc));
	}
	dev->event_thread_running = true;
	return 0;
}

/* thread_lock serialises start and stop; the device lock is never held across a join. */
int viommu_start_event_thread(struct viommu_dev *dev, unsigned interval_us)
{
	int rc;

	if (!dev)
		return uvi_fail(-EINVAL, "start_event_thread: NULL device");
	pthread_mutex_lock(&dev->thread_lock);
	rc = start_locked(dev, interval_us);
	pthread_mutex_unlock(&dev->thread_lock);
	return rc;
}

/* Wakes the thread from its sleep: a stop takes one poll at most, whatever the interval. */
void viommu_stop_event_thread(struct viommu_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->thread_lock);
	if (dev->event_thread_running) {
		pthread_mutex_lock(&dev->event_wake_lock);
		dev->event_thread_stop = true;
		pthread_cond_signal(&dev->event_wake);
		pthread_mutex_unlock(&dev->event_wake_lock);
		pthread_join(dev->event_thread, NULL);
		wake_fini(dev);
		dev->event_thread_running = false;
	}
	pthread_mutex_unlock(&dev->thread_lock);
}
