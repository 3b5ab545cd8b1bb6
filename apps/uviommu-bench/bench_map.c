/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench map: 4 KiB MAP+UNMAP pairs per second through the public
 * driver API (include/uviommu/viommu.h), against the software device or a
 * real virtio-iommu.
 *
 * One round of batch size B maps B distinct 4 KiB pages and unmaps them:
 *  - B = 1: viommu_map() then viommu_unmap(), each one request, one
 *    notify, waited for;
 *  - B > 1: one viommu_batch_map_burst() of B pages and
 *    viommu_batch_run(), then one viommu_batch_unmap_burst() and
 *    viommu_batch_run() (two batch round trips);
 *  - coalesced: B = 64 on a batch with VIOMMU_BATCH_COALESCE_UNMAP.
 * The latency of a round (B pairs) is its wall time from the first add
 * to the last completion; pairs/s is pairs over the wall time of all
 * rounds.
 *
 * IOVAs: the round's pages are B distinct entries of a pool of 4096
 * pages, one at a pseudo-random 4 KiB offset inside each 64 KiB cell of
 * a 256 MiB window that lies inside the input range and outside every
 * reserved region of the endpoint; the pool is shuffled once and walked
 * B entries per round. UNMAP coalescing needs adjacent ranges, so the
 * coalesced rounds take B adjacent pages instead (an aligned run at a
 * pseudo-random place in the window), mapped and unmapped in address
 * order. Physical addresses are the pages of a DMA buffer the tool
 * allocates (nothing does DMA, so they are never touched).
 *
 * The domain has one endpoint attached, so every request reaches the
 * device. With the software device, its thread runs on the other CPU: it
 * is started inside viommu_open() (at DRIVER_OK) by the calling thread,
 * whose CPU affinity it inherits, so the caller pins itself to that CPU
 * for the open and to its own CPU afterwards.
 *
 * Driver cost: the calling thread's CLOCK_THREAD_CPUTIME_ID time over a
 * configuration, minus the time the driver says it spent waiting for the
 * device (viommu_stats.wait_ns: idle polls with requests in flight),
 * divided by the requests (a request = one MAP or one UNMAP as the caller
 * adds it). What is left is the driver's work, plus the benchmark's own
 * loop and clock reads. The table also gives the CPU time with the
 * waiting (the thread spins, then calls sched_yield(), which returns at
 * once on a CPU of its own), and what needs no profiler: the wall time
 * spent in viommu_batch_map_burst()/_unmap_burst() per request (validation and the
 * shadow, no device involved), and the requests and notifies the
 * driver's counters saw per pair.
 *
 * Batch 64 / batch 1, paired (--paired SLICES, default 21 with the
 * software device, 0 with a real one): besides the ratio of the table's
 * two rows, SLICES pairs of short slices, each running --pairs / 40 pairs
 * (in whole rounds of 64) at batch 1 and at batch 64 back to back, give
 * the median of the slices' ratios (bench_map_paired.c says why).
 *
 * --ring: with the software device, packed makes it offer RING_PACKED
 * (auto and split: it offers split only, as QEMU does by default); with a
 * real device, split declines RING_PACKED and packed requires it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "bench.h"
#include "bench_map.h"

#define DEFAULT_PAIRS 1000000u
#define WARMUP_MAX 100000u
#define N_CONFIGS 5
#define COALESCED 4 /* index of the coalesced configuration */
#define DRIVER_COST_CONFIG 2 /* batch 64: where driver_ns_per_request comes from */
#define PAIRED_SLICES_SIM 21 /* default --paired with the software device */
#define PAIRED_MAX 1001
#define PAIRED_UNSET UINT32_MAX

static const struct config configs[N_CONFIGS] = {
	{ "1", 1, false },
	{ "8", 8, false },
	{ "64", 64, false },
	{ "256", 256, false },
	{ "coalesced64", 64, true },
};

struct map_result {
	uint64_t pairs;
	double pairs_per_s;
	double p50_us, p99_us;
	double driver_ns_per_request; /* thread CPU time minus the driver's waiting */
	double cpu_ns_per_request;    /* thread CPU time, waiting included */
	double add_ns_per_request; /* batches: wall time in the burst adds */
	double requests_per_pair; /* sent to the device */
	double notifies_per_pair;
};

struct results {
	struct map_result cfg[N_CONFIGS];
	struct map_paired paired; /* slices 0: not measured */
};

/* ---- options ---- */

static int parse_ring(const char *s, enum ring_choice *out)
{
	if (strcmp(s, "auto") == 0)
		*out = RING_AUTO;
	else if (strcmp(s, "split") == 0)
		*out = RING_SPLIT;
	else if (strcmp(s, "packed") == 0)
		*out = RING_PACKED;
	else
		return bench_usage_error("map: --ring takes auto, split or packed");
	return 0;
}

/* 0 (none) or an odd number of slices, so that the median is one slice's ratio. */
static int parse_paired(const char *s, unsigned *out)
{
	uint64_t n;

	if (!bench_parse_uint(s, 0, PAIRED_MAX, &n) || (n && n % 2 == 0))
		return bench_usage_error("map: --paired takes 0 or an odd number up to %u",
					 PAIRED_MAX);
	*out = (unsigned)n;
	return 0;
}

static int check_map_opts(struct map_opts *o)
{
	struct viommu_pci_addr addr;
	bool sim = strcmp(o->device, "sim") == 0;

	if (!sim && viommu_pci_addr_parse(o->device, &addr))
		return bench_usage_error("map: --device takes sim or SSSS:BB:DD.F, not '%s'",
					 o->device);
	if (sim && o->access)
		return bench_usage_error("map: --access is for a real device (the software "
					 "device has one access: sim)");
	if (o->access && strcmp(o->access, "auto") && strcmp(o->access, "vfio") &&
	    strcmp(o->access, "uio"))
		return bench_usage_error("map: --access takes auto, vfio or uio");
	/* A real device's runs are slow and its noise is QEMU's: paired slices only on request. */
	if (o->paired == PAIRED_UNSET)
		o->paired = sim ? PAIRED_SLICES_SIM : 0;
	return 0;
}

static int parse_map_opts(int argc, char **argv, struct map_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "access", required_argument, NULL, 'a' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "ring", required_argument, NULL, 'r' },
		{ "pairs", required_argument, NULL, 'n' },
		{ "csv", required_argument, NULL, 'c' },
		{ "paired", required_argument, NULL, 'p' },
		{ "live", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	*o = (struct map_opts){ .device = "sim", .pairs = DEFAULT_PAIRS, .paired = PAIRED_UNSET };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		rc = 0;
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'd':
			o->device = optarg;
			break;
		case 'a':
			o->access = optarg;
			break;
		case 'e':
			o->endpoint = optarg;
			break;
		case 'c':
			o->csv = optarg;
			break;
		case 'r':
			rc = parse_ring(optarg, &o->ring);
			break;
		case 'p':
			rc = parse_paired(optarg, &o->paired);
			break;
		case 'l':
			if (!bench_parse_uint(optarg, 0, MAX_LIVE, &o->live))
				rc = bench_usage_error("map: --live takes a number from 0 to %u",
						       MAX_LIVE);
			break;
		case 'n':
			if (!bench_parse_uint(optarg, 1, UINT32_MAX, &o->pairs))
				rc = bench_usage_error("map: --pairs takes a number from 1 to %u",
						       UINT32_MAX);
			break;
		default:
			rc = bench_usage_error("map: unknown option or missing argument '%s'",
					       argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bench_usage_error("map: unexpected argument '%s'", argv[optind]);
	return check_map_opts(o);
}

/* ---- errors ---- */

/* A failure of the tool itself (not of a uviommu call): rc's text. */
int map_fail_errno(const char *what, int rc)
{
	fprintf(stderr, "uviommu-bench: map: %s: %s\n", what, strerror(-rc));
	return rc;
}

/* A uviommu call failed: its message. */
int map_fail(const char *what, int rc)
{
	const char *msg = viommu_last_error();

	fprintf(stderr, "uviommu-bench: map: %s: %s\n", what,
		msg && msg[0] ? msg : strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -EIO;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values, in microseconds. */
static double percentile_us(const uint64_t *sorted, uint64_t n, double p)
{
	uint64_t rank = (uint64_t)(p * (double)n + 0.999999);

	return (double)sorted[rank ? rank - 1 : 0] / 1000.0;
}

/*
 * The driver's waiting, as its own counter has it (wall time), can exceed
 * the thread's CPU time only if the thread was descheduled while waiting:
 * the work is then at least 0.
 */
static uint64_t busy_clamp(uint64_t cpu, uint64_t wait)
{
	return wait < cpu ? wait : cpu;
}

static int measure(struct bench *b, const struct config *c, struct viommu_batch *batch,
		   uint64_t rounds, struct map_result *res)
{
	struct viommu_stats s0, s1;
	uint64_t wall, cpu;
	int rc;

	viommu_get_stats(b->dev, &s0);
	b->add_ns = 0;
	cpu = bench_thread_cpu_ns();
	wall = bench_wall_ns();
	rc = map_run_rounds(b, c, batch, rounds, b->lat_ns);
	wall = bench_wall_ns() - wall;
	cpu = bench_thread_cpu_ns() - cpu;
	viommu_get_stats(b->dev, &s1);
	if (rc)
		return rc;
	res->pairs = rounds * c->batch;
	res->pairs_per_s = (double)res->pairs * 1e9 / (double)(wall ? wall : 1);
	res->cpu_ns_per_request = (double)cpu / (2.0 * (double)res->pairs);
	res->driver_ns_per_request = (double)(cpu - busy_clamp(cpu, s1.wait_ns - s0.wait_ns)) /
				     (2.0 * (double)res->pairs);
	res->add_ns_per_request = (double)b->add_ns / (2.0 * (double)res->pairs);
	res->requests_per_pair = (double)(s1.requests - s0.requests) / (double)res->pairs;
	res->notifies_per_pair = (double)(s1.notifies - s0.notifies) / (double)res->pairs;
	qsort(b->lat_ns, rounds, sizeof(*b->lat_ns), cmp_u64);
	res->p50_us = percentile_us(b->lat_ns, rounds, 0.50);
	res->p99_us = percentile_us(b->lat_ns, rounds, 0.99);
	return 0;
}

static int run_config(struct bench *b, const struct config *c, struct map_result *res)
{
	uint64_t rounds = (b->o->pairs + c->batch - 1) / c->batch;
	uint64_t warmup = rounds / 10 < WARMUP_MAX / c->batch ? rounds / 10 : WARMUP_MAX / c->batch;
	struct viommu_batch *batch = NULL;
	int rc = 0;

	fprintf(stderr, "uviommu-bench: map: batch %s: %" PRIu64 " pairs (+%" PRIu64
		" warm-up)...", c->name, rounds * c->batch, warmup * c->batch);
	if (c->batch > 1)
		rc = viommu_batch_create(b->dev, c->batch,
					 c->coalesce ? VIOMMU_BATCH_COALESCE_UNMAP : 0, &batch);
	if (rc)
		return map_fail("cannot create a batch", rc);
	rc = map_run_rounds(b, c, batch, warmup, NULL);
	if (!rc)
		rc = measure(b, c, batch, rounds, res);
	viommu_batch_destroy(batch);
	if (!rc)
		fprintf(stderr, " %.0f pairs/s, p50 %.2f us, p99 %.2f us\n", res->pairs_per_s,
			res->p50_us, res->p99_us);
	return rc;
}

/* ---- output ---- */

static void print_table(const struct bench *b, const struct results *r)
{
	const struct map_result *res = r->cfg;

	map_describe_device(b, stdout);
	printf("endpoint: %s; 4 KiB pages, MAP flags READ|WRITE\n\n", b->endpoint);
	printf("%-12s %10s %12s %9s %9s %11s %10s %10s %10s %10s\n", "batch", "pairs",
	       "pairs/s", "p50 us", "p99 us", "driver ns", "CPU ns/req", "add ns/req",
	       "reqs/pair", "kicks/pair");
	for (unsigned i = 0; i < N_CONFIGS; i++) {
		printf("%-12s %10" PRIu64 " %12.0f %9.2f %9.2f %11.1f %10.1f ", configs[i].name,
		       res[i].pairs, res[i].pairs_per_s, res[i].p50_us, res[i].p99_us,
		       res[i].driver_ns_per_request, res[i].cpu_ns_per_request);
		if (configs[i].batch > 1)
			printf("%10.1f", res[i].add_ns_per_request);
		else
			printf("%10s", "-");
		printf(" %10.3f %10.3f\n", res[i].requests_per_pair, res[i].notifies_per_pair);
	}
	printf("\nbatch 64 / batch 1: %.2fx; coalesced64 / batch 1: %.2fx\n",
	       res[DRIVER_COST_CONFIG].pairs_per_s / res[0].pairs_per_s,
	       res[COALESCED].pairs_per_s / res[0].pairs_per_s);
	if (r->paired.slices)
		printf("batch 64 / batch 1, paired: %.2fx (median of %u slices, each %" PRIu64
		       " pairs at batch 1 and at batch 64 back to back; slices %.2f-%.2fx)\n",
		       r->paired.median, r->paired.slices, r->paired.pairs_per_slice,
		       r->paired.min, r->paired.max);
	printf("p50/p99: wall time of one round (B MAPs then B UNMAPs, each batch run to "
	       "completion; batch 1: one viommu_map + one viommu_unmap)\n");
	printf("driver ns: the driver thread's CPU time per MAP or UNMAP, minus the time the "
	       "driver spent waiting for the device (viommu_stats.wait_ns)\n");
	printf("CPU ns/req: the driver thread's CPU time per MAP or UNMAP, waiting included\n");
	printf("add ns/req: wall time in viommu_batch_map/unmap_burst per request (validation, "
	       "shadow, lock)\n");
	printf("reqs/pair, kicks/pair: requests sent to the device and notifies, per pair\n");
}

/* One configuration's figures (add_ns_per_request only for batches: batch 1 adds nothing). */
static void print_json_result(struct json *j, const char *key, const struct config *c,
			      const struct map_result *r)
{
	json_object_begin(j, key);
	json_uint(j, "batch", c->batch);
	json_double(j, "pairs_per_s", r->pairs_per_s);
	json_double(j, "p50_us", r->p50_us);
	json_double(j, "p99_us", r->p99_us);
	json_double(j, "driver_ns_per_request", r->driver_ns_per_request);
	json_double(j, "cpu_ns_per_request", r->cpu_ns_per_request);
	if (c->batch > 1)
		json_double(j, "add_ns_per_request", r->add_ns_per_request);
	json_double(j, "requests_per_pair", r->requests_per_pair);
	json_double(j, "notifies_per_pair", r->notifies_per_pair);
	json_object_end(j);
}

/* The paired measurement, when there is one (bench_map_paired.c). */
static void print_json_paired(struct json *j, const struct map_paired *p)
{
	if (!p->slices)
		return;
	json_object_begin(j, "paired64");
	json_uint(j, "slices", p->slices);
	json_uint(j, "pairs_per_slice", p->pairs_per_slice);
	json_double(j, "median_ratio", p->median);
	json_double(j, "min_ratio", p->min);
	json_double(j, "max_ratio", p->max);
	json_object_end(j);
}

static void print_json(const struct bench *b, const struct results *r)
{
	const struct map_result *res = r->cfg;
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", map_is_sim(b->o) ? "sim" : b->info.device);
	json_string(&j, "ring", b->info.ring);
	json_array_begin(&j, "results");
	for (unsigned i = 0; i < N_CONFIGS; i++) {
		if (!configs[i].coalesce)
			print_json_result(&j, NULL, &configs[i], &res[i]);
	}
	json_array_end(&j);
	print_json_result(&j, "coalesced64", &configs[COALESCED], &res[COALESCED]);
	print_json_paired(&j, &r->paired);
	json_double(&j, "unbatched_pairs_per_s", res[0].pairs_per_s);
	json_double(&j, "coalesced64_pairs_per_s", res[COALESCED].pairs_per_s);
	json_double(&j, "driver_ns_per_request", res[DRIVER_COST_CONFIG].driver_ns_per_request);
	json_object_end(&j);
	json_finish(&j);
}

/* Write the results, or (results NULL: the run failed) remove the file created for them. */
static int finish_csv(FILE *f, const char *path, const struct map_result *res)
{
	if (!res) {
		fclose(f);
		remove(path);
		return 0;
	}
	fprintf(f, "batch,pairs_per_s,p50_us,p99_us\n");
	for (unsigned i = 0; i < N_CONFIGS; i++)
		fprintf(f, "%s,%.0f,%.3f,%.3f\n", configs[i].name, res[i].pairs_per_s,
			res[i].p50_us, res[i].p99_us);
	if (fclose(f)) {
		fprintf(stderr, "uviommu-bench: map: cannot write %s: %s\n", path,
			strerror(errno));
		return -EIO;
	}
	return 0;
}

static int run_all(struct bench *b, struct results *res)
{
	int rc = map_set_up(b);

	b->lat_ns = rc ? NULL : calloc(b->o->pairs, sizeof(*b->lat_ns));
	if (!rc && !b->lat_ns)
		rc = map_fail_errno("latencies", -ENOMEM);
	for (unsigned i = 0; i < N_CONFIGS && !rc; i++)
		rc = run_config(b, &configs[i], &res->cfg[i]);
	if (!rc && b->o->paired)
		rc = map_paired(b, &res->paired);
	return rc;
}

int bench_map(int argc, char **argv)
{
	struct results res = { 0 };
	struct bench *b;
	struct map_opts o;
	FILE *csv = NULL;
	int rc = parse_map_opts(argc, argv, &o);

	if (rc)
		return rc;
	if (o.csv && !(csv = fopen(o.csv, "w"))) {
		fprintf(stderr, "uviommu-bench: map: cannot create %s: %s\n", o.csv,
			strerror(errno));
		return BENCH_EXIT_FAILED;
	}
	b = calloc(1, sizeof(*b));
	if (b) {
		b->o = &o;
		rc = run_all(b, &res);
	} else {
		rc = map_fail_errno("start", -ENOMEM);
	}
	if (!rc && o.json)
		print_json(b, &res);
	else if (!rc)
		print_table(b, &res);
	if (b)
		map_tear_down(b);
	free(b);
	if (csv) {
		int crc = finish_csv(csv, o.csv, rc ? NULL : res.cfg);

		rc = rc ? rc : crc;
	}
	return rc ? BENCH_EXIT_FAILED : BENCH_EXIT_OK;
}
