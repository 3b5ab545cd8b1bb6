/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-bench: micro-benchmarks of the driver's layers, one subcommand each. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_iova.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
};

static const struct command commands[] = {
	{ "ring", bench_ring,
	  "ring [--json] [--requests N] [--batch B] [--size S] [--same-thread]\n"
	  "        split and packed virtqueues against the software device's\n"
	  "        rings served by a second thread: requests/s and the driver's\n"
	  "        CPU time per request" },
	{ "map", bench_map,
	  "map [--device sim|SSSS:BB:DD.F] [--access auto|vfio|uio] [--endpoint ADDR|ID]\n"
	  "        [--ring auto|split|packed] [--pairs N] [--paired SLICES] [--live N]\n"
	  "        [--json] [--csv FILE]\n"
	  "        4 KiB MAP+UNMAP pairs/s through the driver's API at batch sizes 1, 8,\n"
	  "        64, 256 and 64 with UNMAP coalescing; p50/p99 per round, driver CPU\n"
	  "        time per request (default device: sim, 1000000 pairs per batch size)" },
	{ "iova", bench_iova,
	  "iova [--json] [--reps N]\n"
	  "        the IOVA allocator: cached alloc+free pairs (1 and 2 threads), uncached\n"
	  "        allocation with 1000000 live ranges and a fragmentation run, each\n"
	  "        against a first-fit reference; strict and lazy DMA unmap against\n"
	  "        the software device (not with --json)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("usage: uviommu-bench COMMAND [OPTIONS]\n\ncommands:\n", out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s\n", commands[i].synopsis);
	fputs("\nexit status: 0 success, 1 failure, 2 usage error\n", out);
}

int bench_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("uviommu-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(run 'uviommu-bench --help' for usage)\n", stderr);
	return BENCH_EXIT_USAGE;
}

bool bench_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	uintmax_t v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoumax(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), BENCH_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout), BENCH_EXIT_OK;
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return bench_usage_error("unknown command '%s'", argv[1]);
}
