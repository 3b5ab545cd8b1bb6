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
#include <unistd.h>

#include <uviommu/uviommu.h>

#include "../../drivers/sim/sim.h"
#include "../common/json.h"
#include "bench.h"

#define PAGE 4096u
#define MAX_BATCH 256u
#define POOL_CELLS 4096u             /* at least the largest batch */
#define CELL (64u * 1024)            /* one pool page at some 4 KiB offset in each */
#define WINDOW ((uint64_t)POOL_CELLS * CELL)
#define WINDOW_ALIGN (2u * 1024 * 1024)
#define DEFAULT_PAIRS 1000000u
#define WARMUP_MAX 100000u
#define MAP_FLAGS (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)
#define DRIVER_CPU 0
#define DEVICE_CPU 1
#define N_CONFIGS 5
#define COALESCED 4 /* index of the coalesced configuration */
#define DRIVER_COST_CONFIG 2 /* batch 64: where driver_ns_per_request comes from */

enum ring_choice { RING_AUTO, RING_SPLIT, RING_PACKED };

struct map_opts {
	bool json;
	const char *device; /* "sim" or SSSS:BB:DD.F */
	const char *access; /* real device: auto, vfio or uio */
	const char *endpoint; /* SSSS:BB:DD.F or a raw endpoint ID; NULL: the default */
	const char *csv;
	enum ring_choice ring;
	uint64_t pairs;
};

struct config {
	const char *name;
	unsigned batch;
	bool coalesce;
};

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

struct bench {
	const struct map_opts *o;
	struct sim_device *sim;
	struct viommu_dev *dev;
	struct viommu_domain *dom;
	struct viommu_dev_info info;
	char endpoint[32];            /* as printed */
	struct viommu_mem *mem;
	uint64_t window;              /* base of the IOVA window */
	uint32_t cells[POOL_CELLS];   /* shuffled cell indices */
	unsigned cursor;
	/* this round's requests: its pages' IOVAs, the buffer's pages' bus addresses */
	struct viommu_range page[MAX_BATCH];
	uint64_t *lat_ns;             /* one per round */
	uint64_t add_ns;              /* wall time spent adding requests to batches */
	uint64_t rng;
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

static int check_map_opts(const struct map_opts *o)
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
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	*o = (struct map_opts){ .device = "sim", .pairs = DEFAULT_PAIRS };
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
static int fail_errno(const char *what, int rc)
{
	fprintf(stderr, "uviommu-bench: map: %s: %s\n", what, strerror(-rc));
	return rc;
}

/* A uviommu call failed: its message. */
static int fail(const char *what, int rc)
{
	const char *msg = viommu_last_error();

	fprintf(stderr, "uviommu-bench: map: %s: %s\n", what,
		msg && msg[0] ? msg : strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -EIO;
}

/* ---- the device ---- */

static bool is_sim(const struct map_opts *o)
{
	return strcmp(o->device, "sim") == 0;
}

/* The software device's thread inherits the CPU of the thread that opens it. */
static int open_sim(struct bench *b, bool pin)
{
	struct viommu_open_opts oo = { .access = "sim" };
	struct sim_config cfg;
	int rc;

	sim_config_default(&cfg);
	if (b->o->ring == RING_PACKED)
		cfg.features |= 1ull << VIRTIO_F_RING_PACKED;
	rc = sim_device_create(&cfg, &b->sim);
	if (rc)
		return fail("cannot create the software device", rc);
	oo.sim = b->sim;
	if (pin)
		bench_pin_self(DEVICE_CPU);
	rc = viommu_open(&oo, &b->dev);
	if (pin)
		bench_pin_self(DRIVER_CPU);
	return rc ? fail("cannot open the software device", rc) : 0;
}

static int open_real(struct bench *b, bool pin)
{
	struct viommu_open_opts oo = {
		.device = b->o->device,
		.access = b->o->access ? b->o->access : "auto",
		.flags = b->o->ring == RING_SPLIT ? VIOMMU_OPEN_SPLIT_RING : 0,
	};
	int rc;

	if (pin)
		bench_pin_self(DRIVER_CPU);
	rc = viommu_open(&oo, &b->dev);
	return rc ? fail(b->o->device, rc) : 0;
}

static int check_device(struct bench *b)
{
	int rc = viommu_get_info(b->dev, &b->info);

	if (rc)
		return fail("cannot read the device's information", rc);
	if (b->o->ring == RING_PACKED && strcmp(b->info.ring, "packed") != 0) {
		fprintf(stderr, "uviommu-bench: map: %s does not offer RING_PACKED (QEMU: "
			"-device virtio-iommu-pci,packed=on)\n", b->info.device);
		return -EOPNOTSUPP;
	}
	if (b->info.granule > PAGE) {
		fprintf(stderr, "uviommu-bench: map: the device's granule is 0x%" PRIx64
			": 4 KiB mappings are impossible\n", b->info.granule);
		return -EINVAL;
	}
	return 0;
}

static void describe_device(const struct bench *b, FILE *out)
{
	const struct viommu_dev_info *i = &b->info;

	if (is_sim(b->o))
		fprintf(out, "device: sim (software device), ");
	else
		fprintf(out, "device: %s (%s), ", i->device, i->access);
	fprintf(out, "ring %s, request queue %u, granule 0x%" PRIx64 ", input range [0x%"
		PRIx64 ", 0x%" PRIx64 "]\n", i->ring, i->request_queue_size, i->granule,
		i->input_start, i->input_end);
}

/* ---- the endpoint ---- */

static int topology_iommu(const struct viommu_topology *topo, const char *device)
{
	struct viommu_pci_addr addr;
	int rc = viommu_pci_addr_parse(device, &addr);

	return rc ? rc : viommu_topology_find_pci_iommu(topo, addr);
}

/* The first PCI function (in libpci's order) the topology puts behind this IOMMU. */
static int first_endpoint_behind(const struct viommu_topology *topo, int iommu,
				 struct viommu_pci_addr *out)
{
	struct viommu_endpoint_ref ref;
	struct viommu_pci_func *funcs;
	size_t count;
	int rc = viommu_pci_scan(&funcs, &count);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < count && rc; i++) {
		if (viommu_topology_lookup_pci(topo, funcs[i].addr, &ref) == 0 &&
		    ref.iommu_index == (size_t)iommu) {
			*out = funcs[i].addr;
			rc = 0;
		}
	}
	viommu_pci_scan_free(funcs);
	return rc;
}

static int default_real_endpoint(struct bench *b, struct viommu_pci_addr *out)
{
	struct viommu_topology *topo;
	int iommu, rc = viommu_topology_load_viot(NULL, &topo);

	if (rc)
		return fail("no topology to choose an endpoint from (give --endpoint "
			    "SSSS:BB:DD.F)", rc);
	iommu = topology_iommu(topo, b->info.device);
	rc = iommu < 0 ? iommu : first_endpoint_behind(topo, iommu, out);
	viommu_topology_free(topo);
	if (rc)
		fprintf(stderr, "uviommu-bench: map: the topology puts no PCI function behind %s: "
			"give --endpoint SSSS:BB:DD.F\n", b->info.device);
	return rc;
}

static int attach_addr(struct bench *b, struct viommu_pci_addr addr, uint32_t *id)
{
	struct viommu_topology *topo;
	struct viommu_endpoint_ref ref;
	int rc;

	viommu_pci_addr_format(addr, b->endpoint, sizeof(b->endpoint));
	rc = viommu_attach(b->dom, addr);
	if (rc)
		return fail(b->endpoint, rc);
	/* The software device without a topology numbers functions segment << 16 | BDF. */
	*id = (uint32_t)addr.segment << 16 | addr.bdf;
	if (!is_sim(b->o) && viommu_topology_load_viot(NULL, &topo) == 0) {
		if (viommu_topology_lookup_pci(topo, addr, &ref) == 0)
			*id = ref.endpoint_id;
		viommu_topology_free(topo);
	}
	return 0;
}

static int attach_endpoint(struct bench *b, uint32_t *id)
{
	struct viommu_pci_addr addr;
	uint64_t raw;
	int rc;

	if (b->o->endpoint && bench_parse_uint(b->o->endpoint, 0, UINT32_MAX, &raw)) {
		*id = (uint32_t)raw;
		snprintf(b->endpoint, sizeof(b->endpoint), "ID %u", *id);
		rc = viommu_attach_endpoint(b->dom, *id);
		return rc ? fail(b->endpoint, rc) : 0;
	}
	if (b->o->endpoint) {
		rc = viommu_pci_addr_parse(b->o->endpoint, &addr);
		if (rc)
			return fail("--endpoint", rc);
	} else if (is_sim(b->o)) {
		*id = 0;
		snprintf(b->endpoint, sizeof(b->endpoint), "ID 0");
		rc = viommu_attach_endpoint(b->dom, 0);
		return rc ? fail(b->endpoint, rc) : 0;
	} else {
		rc = default_real_endpoint(b, &addr);
		if (rc)
			return rc;
	}
	return attach_addr(b, addr, id);
}

/* ---- the IOVA window and the physical pages ---- */

/* The endpoint's reserved regions (none if it was never probed: no PROBE feature). */
static int read_resv(struct bench *b, uint32_t endpoint_id, struct viommu_resv_region **out)
{
	int n = viommu_get_resv_regions(b->dev, endpoint_id, NULL, 0);

	*out = NULL;
	if (n == -ENOENT || n == 0)
		return 0;
	if (n < 0)
		return fail("cannot read the endpoint's reserved regions", n);
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return fail_errno("reserved regions", -ENOMEM);
	n = viommu_get_resv_regions(b->dev, endpoint_id, *out, (unsigned)n);
	if (n >= 0)
		return n;
	free(*out);
	*out = NULL;
	return fail("cannot read the endpoint's reserved regions", n);
}

/*
 * Move *base up past every reserved region the window [*base, *base +
 * WINDOW) meets (5.13.6.8.1.1: never map over one). A move can only meet
 * regions further up, so this ends. False if the window runs off 2^64.
 */
static bool clear_of_resv(const struct viommu_resv_region *resv, int n, uint64_t *base)
{
	bool moved = true;

	while (moved) {
		moved = false;
		if (*base > UINT64_MAX - (WINDOW - 1))
			return false;
		for (int i = 0; i < n; i++) {
			if (resv[i].start > *base + (WINDOW - 1) || resv[i].end < *base)
				continue;
			if (resv[i].end > UINT64_MAX - WINDOW_ALIGN)
				return false;
			*base = (resv[i].end + WINDOW_ALIGN) & ~(uint64_t)(WINDOW_ALIGN - 1);
			moved = true;
		}
	}
	return true;
}

/* The lowest WINDOW_ALIGN-aligned window inside the input range and clear of reserved regions. */
static int choose_window(struct bench *b, uint32_t endpoint_id)
{
	struct viommu_resv_region *resv;
	uint64_t base = b->info.input_start;
	int n = read_resv(b, endpoint_id, &resv);
	bool ok;

	if (n < 0)
		return n;
	ok = base <= UINT64_MAX - WINDOW_ALIGN;
	base = (base + WINDOW_ALIGN - 1) & ~(uint64_t)(WINDOW_ALIGN - 1);
	ok = ok && clear_of_resv(resv, n, &base) && base + (WINDOW - 1) <= b->info.input_end;
	free(resv);
	if (!ok) {
		fprintf(stderr, "uviommu-bench: map: the input range has no room for a 256 MiB "
			"IOVA window clear of the reserved regions\n");
		return -ERANGE;
	}
	b->window = base;
	fprintf(stderr, "uviommu-bench: map: IOVA window [0x%" PRIx64 ", 0x%" PRIx64 "], "
		"clear of %d reserved region%s\n", base, base + (WINDOW - 1), n,
		n == 1 ? "" : "s");
	return 0;
}

/* Pages of a DMA buffer: 4 KiB pages by virtual address (sim), else a 2 MiB hugepage. */
static int alloc_pages(struct bench *b)
{
	struct viommu_mem_opts mo = {
		.pages = is_sim(b->o) ? VIOMMU_PAGES_4K : VIOMMU_PAGES_HUGE_2M,
		.addressing = is_sim(b->o) ? VIOMMU_ADDR_VIRTUAL : VIOMMU_ADDR_PHYSICAL,
		.numa_node = -1,
	};
	int rc = viommu_mem_alloc((size_t)MAX_BATCH * PAGE, &mo, &b->mem);

	if (rc)
		return fail("cannot allocate the DMA buffer whose pages are mapped", rc);
	for (unsigned i = 0; i < MAX_BATCH && !rc; i++) {
		b->page[i].len = PAGE;
		rc = viommu_mem_iova(b->mem, (char *)viommu_mem_va(b->mem) + (size_t)i * PAGE,
				     &b->page[i].phys, NULL);
	}
	return rc ? fail("cannot read the DMA buffer's bus addresses", rc) : 0;
}

/* ---- the pages of a round ---- */

static uint64_t next_random(struct bench *b)
{
	/* xorshift64: reproducible, and cheap enough to stay out of the measurement */
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

static void build_pool(struct bench *b)
{
	b->rng = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < POOL_CELLS; i++)
		b->cells[i] = i;
	for (unsigned i = POOL_CELLS - 1; i > 0; i--) {
		unsigned j = (unsigned)(next_random(b) % (i + 1));
		uint32_t t = b->cells[i];

		b->cells[i] = b->cells[j];
		b->cells[j] = t;
	}
}

/* A cell's page: at an offset inside the cell that a hash of the cell picks. */
static uint64_t cell_page(const struct bench *b, uint32_t cell)
{
	uint32_t h = cell * 2654435761u;

	return b->window + (uint64_t)cell * CELL + (uint64_t)(h >> 28) * PAGE;
}

static void next_round(struct bench *b, const struct config *c)
{
	uint32_t cell = b->cells[b->cursor];

	if (c->coalesce) {
		uint64_t run = cell % (WINDOW / ((uint64_t)c->batch * PAGE));
		uint64_t base = b->window + run * c->batch * PAGE;

		for (unsigned i = 0; i < c->batch; i++)
			b->page[i].iova = base + (uint64_t)i * PAGE;
		b->cursor = (b->cursor + 1) % POOL_CELLS;
		return;
	}
	for (unsigned i = 0; i < c->batch; i++)
		b->page[i].iova = cell_page(b, b->cells[(b->cursor + i) % POOL_CELLS]);
	b->cursor = (b->cursor + c->batch) % POOL_CELLS;
}

/* ---- rounds ---- */

static int round_single(struct bench *b)
{
	int rc = viommu_map(b->dom, b->page[0].iova, b->page[0].phys, PAGE, MAP_FLAGS);

	if (rc)
		return fail("MAP", rc);
	rc = viommu_unmap(b->dom, b->page[0].iova, PAGE);
	return rc ? fail("UNMAP", rc) : 0;
}

static int run_half(struct bench *b, struct viommu_batch *batch, unsigned n, bool map)
{
	const char *what = map ? "a batch of MAPs" : "a batch of UNMAPs";
	uint64_t t0 = bench_wall_ns();
	int rc = map ? viommu_batch_map_burst(batch, b->dom, b->page, n, MAP_FLAGS)
		     : viommu_batch_unmap_burst(batch, b->dom, b->page, n);

	b->add_ns += bench_wall_ns() - t0;
	if (rc < 0)
		return fail(what, rc);
	if ((unsigned)rc < n)
		return fail(what, map ? viommu_batch_map_burst(batch, b->dom, b->page + rc, 1,
								MAP_FLAGS)
				      : viommu_batch_unmap_burst(batch, b->dom, b->page + rc, 1));
	rc = viommu_batch_run(batch);
	if (rc)
		return fail(what, rc);
	rc = viommu_batch_reset(batch);
	return rc ? fail(what, rc) : 0;
}

static int round_batch(struct bench *b, struct viommu_batch *batch, unsigned n)
{
	int rc = run_half(b, batch, n, true);

	return rc ? rc : run_half(b, batch, n, false);
}

/* Run rounds; with lat, record each round's wall time. */
static int run_rounds(struct bench *b, const struct config *c, struct viommu_batch *batch,
		      uint64_t rounds, uint64_t *lat)
{
	int rc = 0;

	for (uint64_t r = 0; r < rounds && !rc; r++) {
		uint64_t t0;

		next_round(b, c);
		t0 = bench_wall_ns();
		rc = batch ? round_batch(b, batch, c->batch) : round_single(b);
		if (lat)
			lat[r] = bench_wall_ns() - t0;
	}
	return rc;
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
	rc = run_rounds(b, c, batch, rounds, b->lat_ns);
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
		return fail("cannot create a batch", rc);
	rc = run_rounds(b, c, batch, warmup, NULL);
	if (!rc)
		rc = measure(b, c, batch, rounds, res);
	viommu_batch_destroy(batch);
	if (!rc)
		fprintf(stderr, " %.0f pairs/s, p50 %.2f us, p99 %.2f us\n", res->pairs_per_s,
			res->p50_us, res->p99_us);
	return rc;
}

/* ---- output ---- */

static void print_table(const struct bench *b, const struct map_result *res)
{
	describe_device(b, stdout);
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

static void print_json(const struct bench *b, const struct map_result *res)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", is_sim(b->o) ? "sim" : b->info.device);
	json_string(&j, "ring", b->info.ring);
	json_array_begin(&j, "results");
	for (unsigned i = 0; i < N_CONFIGS; i++) {
		if (!configs[i].coalesce)
			print_json_result(&j, NULL, &configs[i], &res[i]);
	}
	json_array_end(&j);
	print_json_result(&j, "coalesced64", &configs[COALESCED], &res[COALESCED]);
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

/* ---- the run ---- */

static bool can_pin(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		return true;
	fprintf(stderr, "uviommu-bench: map: one CPU: nothing is pinned\n");
	return false;
}

static int set_up(struct bench *b)
{
	bool pin = can_pin();
	uint32_t endpoint_id = 0;
	int rc = is_sim(b->o) ? open_sim(b, pin) : open_real(b, pin);

	if (!rc)
		rc = check_device(b);
	if (rc)
		return rc;
	fputs("uviommu-bench: map: ", stderr);
	describe_device(b, stderr);
	if (pin && is_sim(b->o))
		fprintf(stderr, "uviommu-bench: map: driver on CPU %d, device thread on CPU %d; "
			"a cache line goes there and back in %.0f ns\n", DRIVER_CPU, DEVICE_CPU,
			bench_cacheline_round_trip_ns(DEVICE_CPU));
	rc = viommu_domain_create(b->dev, &b->dom);
	if (rc)
		return fail("cannot create a domain", rc);
	rc = attach_endpoint(b, &endpoint_id);
	if (!rc)
		fprintf(stderr, "uviommu-bench: map: endpoint %s attached to domain %u\n",
			b->endpoint, viommu_domain_id(b->dom));
	if (!rc)
		rc = choose_window(b, endpoint_id);
	if (!rc)
		rc = alloc_pages(b);
	build_pool(b);
	return rc;
}

static void tear_down(struct bench *b)
{
	viommu_domain_destroy(b->dom);
	viommu_close(b->dev);
	sim_device_destroy(b->sim);
	viommu_mem_free(b->mem);
	free(b->lat_ns);
}

static int run_all(struct bench *b, struct map_result *res)
{
	int rc = set_up(b);

	b->lat_ns = rc ? NULL : calloc(b->o->pairs, sizeof(*b->lat_ns));
	if (!rc && !b->lat_ns)
		rc = fail_errno("latencies", -ENOMEM);
	for (unsigned i = 0; i < N_CONFIGS && !rc; i++)
		rc = run_config(b, &configs[i], &res[i]);
	return rc;
}

int bench_map(int argc, char **argv)
{
	struct map_result res[N_CONFIGS] = { 0 };
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
		rc = run_all(b, res);
	} else {
		rc = fail_errno("start", -ENOMEM);
	}
	if (!rc && o.json)
		print_json(b, res);
	else if (!rc)
		print_table(b, res);
	if (b)
		tear_down(b);
	free(b);
	if (csv) {
		int crc = finish_csv(csv, o.csv, rc ? NULL : res);

		rc = rc ? rc : crc;
	}
	return rc ? BENCH_EXIT_FAILED : BENCH_EXIT_OK;
}
