/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Each thread that uses a cache gets a small index, the slot of its cache
 * in every space. The index goes back to the pool when the thread exits
 * (a pthread key destructor); the next thread to take it inherits the
 * caches of that slot, ranges included, so nothing cached is lost. With
 * every index taken, a thread has no cache and goes to the tree.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iova_internal.h"

_Thread_local unsigned uvi_iova_tid __attribute__((tls_model("initial-exec")));

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool key_ok;
static bool taken[UVI_IOVA_MAX_THREADS];

static void release_index(void *value)
{
	unsigned index = (unsigned)(uintptr_t)value - 1;

	pthread_mutex_lock(&registry_lock);
	taken[index] = false;
	pthread_mutex_unlock(&registry_lock);
}

static void make_key(void)
{
	key_ok = pthread_key_create(&exit_key, release_index) == 0;
}

int uvi_iova_thread_index(void)
{
	int index = -1;

	if (uvi_iova_tid)
		return (int)uvi_iova_tid - 1;
	pthread_once(&key_once, make_key);
	if (!key_ok)
		return -1;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < UVI_IOVA_MAX_THREADS; i++) {
		if (!taken[i]) {
			taken[i] = true;
			index = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (index < 0)
		return -1;
	if (pthread_setspecific(exit_key, (void *)(uintptr_t)(index + 1))) {
		release_index((void *)(uintptr_t)(index + 1));
		return -1;
	}
	uvi_iova_tid = (unsigned)index + 1;
	return index;
}
