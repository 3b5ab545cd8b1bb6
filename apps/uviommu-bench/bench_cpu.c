/* SPDX-License-Identifier: BSD-3-Clause */
/* Clocks, CPU pinning and the cost of moving a cache line between two CPUs. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define ROUND_TRIPS 100000u

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_wall_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t bench_thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

bool bench_pin_self(int cpu)
{
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc) {
		fprintf(stderr, "uviommu-bench: warning: cannot pin a thread to CPU %d: %s\n", cpu,
			strerror(rc));
		return false;
	}
	return true;
}

struct ping_pong {
	_Alignas(64) atomic_uint ping;
	_Alignas(64) atomic_uint pong;
	int cpu;
};

static void *pong_main(void *arg)
{
	struct ping_pong *pp = arg;

	bench_pin_self(pp->cpu);
	for (unsigned i = 1; i <= ROUND_TRIPS; i++) {
		while (atomic_load_explicit(&pp->ping, memory_order_acquire) != i)
			;
		atomic_store_explicit(&pp->pong, i, memory_order_release);
	}
	return NULL;
}

double bench_cacheline_round_trip_ns(int other_cpu)
{
	static struct ping_pong pp;
	pthread_t thread;
	uint64_t t0;

	atomic_store(&pp.ping, 0);
	atomic_store(&pp.pong, 0);
	pp.cpu = other_cpu;
	if (pthread_create(&thread, NULL, pong_main, &pp))
		return 0;
	t0 = bench_wall_ns();
	for (unsigned i = 1; i <= ROUND_TRIPS; i++) {
		atomic_store_explicit(&pp.ping, i, memory_order_release);
		while (atomic_load_explicit(&pp.pong, memory_order_acquire) != i)
			;
	}
	t0 = bench_wall_ns() - t0;
	pthread_join(thread, NULL);
	return (double)t0 / ROUND_TRIPS;
}
