/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_BENCH_H
#define UVIOMMU_BENCH_H

/* uviommu-bench: one file per subcommand, dispatched from main.c. */

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of uviommu-bench. */
enum {
	BENCH_EXIT_OK = 0,
	BENCH_EXIT_FAILED = 1,
	BENCH_EXIT_USAGE = 2,
};

/* Print a usage error for a subcommand; returns BENCH_EXIT_USAGE. */
int bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a whole decimal number in [min, max]; false if it is not one. */
bool bench_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* bench_cpu.c: wall clock and the calling thread's CPU clock, in nanoseconds. */
uint64_t bench_wall_ns(void);
uint64_t bench_thread_cpu_ns(void);
/* Pin the calling thread to cpu; false (and a warning) if that failed. */
bool bench_pin_self(int cpu);
/*
 * Time for one cache line to go from the calling thread to a thread on
 * other_cpu and back (the mean of 100000 round trips), 0 if no thread
 * could be started. On a VM it changes with where the host runs the vCPUs.
 */
double bench_cacheline_round_trip_ns(int other_cpu);

/*
 * bench_ring.c: uviommu-bench ring [--json] [--requests N] [--batch B]
 * [--size S] [--same-thread]
 */
int bench_ring(int argc, char **argv);

/*
 * bench_map.c: uviommu-bench map [--device sim|SSSS:BB:DD.F] [--access
 * auto|vfio|uio] [--endpoint ADDR|ID] [--ring auto|split|packed]
 * [--pairs N] [--paired SLICES] [--json] [--csv FILE]
 */
int bench_map(int argc, char **argv);

#endif
