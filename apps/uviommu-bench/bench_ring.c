/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench ring: the driver's virtqueue (lib/virtio) against the
 * software device's side of the same rings (drivers/sim), served by a
 * second thread pinned to the other CPU, as a device would be.
 *
 * The driver thread submits chains shaped like a virtio-iommu MAP (a
 * 40-byte readable request, a 4-byte writable status), B per publish, and
 * takes completions as they come. Its notification is a release store to
 * a shared atomic (the doorbell) that the device thread polls, as a
 * device sees a notify register write. The device pops every available
 * chain, writes the status, pushes the completion and flushes every 64
 * completions or when the ring is empty.
 *
 * Reported per layout: requests/s (wall clock) and the driver thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID) divided by the requests. The driver
 * polls, so that time includes waiting for the device when the device is
 * the slower side.
 *
 * With --same-thread the device runs in the driver's thread after each
 * batch: no cache line moves between CPUs, and the driver's time is its
 * thread time minus the time spent in the device's code.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uviommu/error.h>

#include "../../drivers/iommu/wire.h"
#include "../../drivers/sim/sim_vq.h"
#include "../../lib/virtio/virtqueue.h"
#include "../common/json.h"
#include "bench.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

#define DEFAULT_REQUESTS 10000000u
#define DEFAULT_BATCH 64u
#define DEFAULT_SIZE 1024u
#define MAP_REQ_LEN 40
#define MAP_TAIL_LEN 4
#define DESC_PER_REQ 2
#define DEVICE_FLUSH_EVERY 64
#define STALL_NS (5ull * 1000000000u) /* no completion for this long: the device is stuck */
#define IDLE_CHECK_EVERY (1u << 20)  /* idle polls between two looks at the clock */
#define WARMUP_MAX 1000000u
#define DRIVER_CPU 0
#define DEVICE_CPU 1

struct ring_opts {
	bool json;
	bool same_thread;
	uint64_t requests;
	unsigned batch;
	uint16_t size;
};

/*
 * A virtio-iommu MAP as the ring sees it: 40 bytes for the device, 4 back.
 * The two parts are separate descriptors, so they live in separate
 * arrays: the heads are written once and stay shared in both CPUs'
 * caches; the status tails, the only request bytes the device writes,
 * sit 16 to a cache line instead of one line per request.
 */
struct map_head {
	uint8_t bytes[MAP_REQ_LEN];
};

struct map_tail {
	uint8_t status;
	uint8_t reserved[MAP_TAIL_LEN - 1];
};

struct device {
	struct sim_vq *vq;
	_Alignas(64) atomic_uint doorbell; /* the driver's notify */
	_Alignas(64) atomic_bool stop;
	atomic_int error;                  /* sim_vq_pop()'s -EPROTO, if any */
};

struct driver {
	const struct ring_opts *opts;
	struct uvi_vq *vq;
	struct device *dev;
	struct map_head *heads;
	struct map_tail *tails;
	uint32_t *free_reqs; /* stack of unused request indices */
	unsigned n_free_reqs;
	unsigned bell;
	uint64_t notifies;
	uint64_t device_ns;  /* --same-thread: time spent in the device's code */
};

struct ring_result {
	const char *ring;
	double requests_per_s;
	double driver_ns_per_request;
	double notifies_per_request;
};

/* ---- device side ---- */

static uint8_t serve_map(const struct sim_vq_chain *chain)
{
	const struct map_head *head = (const void *)(uintptr_t)chain->bufs[0].addr;
	struct map_tail *tail = (void *)(uintptr_t)chain->bufs[chain->n - 1].addr;

	tail->status = head->bytes[0] == VIRTIO_IOMMU_T_MAP ? VIRTIO_IOMMU_S_OK
							     : VIRTIO_IOMMU_S_UNSUPP;
	return tail->status;
}

/* Serve every available chain; false on a malformed one. */
static bool device_serve(struct device *dev)
{
	struct sim_vq_chain chain;
	unsigned pushed = 0;
	int rc;

	while ((rc = sim_vq_pop(dev->vq, &chain)) == 1) {
		serve_map(&chain);
		sim_vq_push(dev->vq, &chain, MAP_TAIL_LEN);
		if (++pushed == DEVICE_FLUSH_EVERY) {
			sim_vq_flush(dev->vq);
			pushed = 0;
		}
	}
	sim_vq_flush(dev->vq);
	if (rc < 0)
		atomic_store(&dev->error, rc);
	return rc == 0;
}

static void *device_main(void *arg)
{
	struct device *dev = arg;
	unsigned seen = 0;

	while (!atomic_load_explicit(&dev->stop, memory_order_relaxed)) {
		/* Acquire: pairs with the driver's release store after its publish. */
		unsigned bell = atomic_load_explicit(&dev->doorbell, memory_order_acquire);

		if (bell == seen) {
			cpu_relax();
			continue;
		}
		seen = bell;
		if (!device_serve(dev))
			break;
	}
	return NULL;
}

/* ---- driver side ---- */

static int take_completions(struct driver *d, unsigned *got)
{
	void *token;
	uint32_t len;
	int rc;

	*got = 0;
	while ((rc = uvi_vq_get_used(d->vq, &token, &len)) == 1) {
		struct map_tail *t = token;

		if (len != MAP_TAIL_LEN || t->status != VIRTIO_IOMMU_S_OK) {
			fprintf(stderr, "uviommu-bench: a request came back with %u bytes, "
				"status %u\n", len, t->status);
			return -EIO;
		}
		d->free_reqs[d->n_free_reqs++] = (uint32_t)(t - d->tails);
		(*got)++;
	}
	return rc;
}

static void notify(struct driver *d)
{
	d->notifies++;
	if (d->opts->same_thread) {
		uint64_t t0 = bench_wall_ns();

		device_serve(d->dev);
		d->device_ns += bench_wall_ns() - t0;
		return;
	}
	/* Release: a device that sees the new value sees the published ring. */
	atomic_store_explicit(&d->dev->doorbell, ++d->bell, memory_order_release);
}

static int submit_batch(struct driver *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t r = d->free_reqs[--d->n_free_reqs];
		const struct uvi_vq_buf bufs[DESC_PER_REQ] = {
			{ (uintptr_t)&d->heads[r], MAP_REQ_LEN, false },
			{ (uintptr_t)&d->tails[r], MAP_TAIL_LEN, true },
		};
		int rc = uvi_vq_add(d->vq, bufs, DESC_PER_REQ, &d->tails[r]);

		if (rc)
			return rc;
	}
	if (uvi_vq_publish(d->vq))
		notify(d);
	return 0;
}

/* A whole batch needs room for its chains; only the last batch may be short. */
static unsigned batch_to_send(const struct driver *d, uint64_t left)
{
	unsigned n = left < d->opts->batch ? (unsigned)left : d->opts->batch;

	return uvi_vq_num_free(d->vq) >= n * DESC_PER_REQ ? n : 0;
}

static int run_requests(struct driver *d, uint64_t requests)
{
	uint64_t submitted = 0, completed = 0, idle = 0, idle_since = 0;

	while (completed < requests) {
		unsigned got, send = batch_to_send(d, requests - submitted);
		int rc = take_completions(d, &got);

		if (rc < 0)
			return rc;
		completed += got;
		if (send) {
			rc = submit_batch(d, send);
			if (rc)
				return rc;
			submitted += send;
		}
		if (got || send) {
			idle = 0;
			continue;
		}
		cpu_relax();
		if (++idle % IDLE_CHECK_EVERY == 0) {
			uint64_t now = bench_wall_ns();

			if (idle == IDLE_CHECK_EVERY)
				idle_since = now;
			else if (now - idle_since > STALL_NS)
				return -ETIMEDOUT;
		}
	}
	return 0;
}

static int measure(struct driver *d, uint64_t requests, struct ring_result *r)
{
	uint64_t wall, cpu, notifies0 = d->notifies;
	int rc;

	d->device_ns = 0;
	wall = bench_wall_ns();
	cpu = bench_thread_cpu_ns();
	rc = run_requests(d, requests);
	cpu = bench_thread_cpu_ns() - cpu;
	wall = bench_wall_ns() - wall;
	if (rc)
		return rc;
	cpu = cpu > d->device_ns ? cpu - d->device_ns : 0;
	r->requests_per_s = (double)requests * 1e9 / (double)(wall ? wall : 1);
	r->driver_ns_per_request = (double)cpu / (double)requests;
	r->notifies_per_request = (double)(d->notifies - notifies0) / (double)requests;
	return 0;
}

/* ---- one layout ---- */

static int driver_init(struct driver *d, const struct uvi_vq_config *cfg, void **ring)
{
	size_t align = uvi_vq_ring_align(cfg), bytes = uvi_vq_ring_bytes(cfg);
	unsigned n = cfg->size;

	*ring = aligned_alloc(align, (bytes + align - 1) & ~(align - 1));
	d->heads = calloc(n, sizeof(*d->heads));
	d->tails = calloc(n, sizeof(*d->tails));
	d->free_reqs = calloc(n, sizeof(*d->free_reqs));
	if (!*ring || !d->heads || !d->tails || !d->free_reqs)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		d->heads[i].bytes[0] = VIRTIO_IOMMU_T_MAP;
		d->free_reqs[i] = i;
	}
	d->n_free_reqs = n;
	return uvi_vq_create(cfg, *ring, (uintptr_t)*ring, &d->vq);
}

static void driver_fini(struct driver *d, void *ring)
{
	if (d->vq)
		uvi_vq_destroy(d->vq);
	free(d->free_reqs);
	free(d->tails);
	free(d->heads);
	free(ring);
}

static int device_init(struct device *dev, const struct uvi_vq_config *cfg, struct uvi_vq *vq)
{
	struct uvi_vq_addrs addrs;

	memset(dev, 0, sizeof(*dev));
	uvi_vq_get_addrs(vq, &addrs);
	return sim_vq_create(cfg, &addrs, &dev->vq);
}

static int start_device_thread(struct device *dev, pthread_t *thread, bool pin)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int rc;

	pthread_attr_init(&attr);
	if (pin) {
		CPU_ZERO(&set);
		CPU_SET(DEVICE_CPU, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	rc = -pthread_create(thread, &attr, device_main, dev);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Warm up (caches, page faults), then measure. */
static int run_both_phases(struct driver *d, struct ring_result *r)
{
	const struct ring_opts *o = d->opts;
	uint64_t warmup = o->requests / 10 < WARMUP_MAX ? o->requests / 10 : WARMUP_MAX;
	int rc;

	fprintf(stderr, "uviommu-bench: ring %s: %llu requests (+%llu warm-up), batch %u, "
		"queue size %u%s\n", r->ring, (unsigned long long)o->requests,
		(unsigned long long)warmup, o->batch, o->size,
		o->same_thread ? ", device in the driver's thread" : "");
	rc = warmup ? run_requests(d, warmup) : 0;
	return rc ? rc : measure(d, o->requests, r);
}

static const char *failure_text(int rc)
{
	if (rc == -ETIMEDOUT)
		return "the device thread stopped completing requests";
	if (rc == -ENOMEM)
		return "out of memory";
	return viommu_last_error()[0] ? viommu_last_error() : strerror(-rc);
}

static int run_layout(const struct ring_opts *o, enum uvi_vq_layout layout, bool pin,
		      struct ring_result *r)
{
	struct uvi_vq_config cfg = { .layout = layout, .size = o->size, .event_idx = false };
	struct device *dev = aligned_alloc(_Alignof(struct device), sizeof(*dev));
	struct driver d = { .opts = o, .dev = dev };
	void *ring = NULL;
	pthread_t thread;
	int rc;

	r->ring = layout == UVI_VQ_SPLIT ? "split" : "packed";
	rc = dev ? driver_init(&d, &cfg, &ring) : -ENOMEM;
	if (rc == 0)
		rc = device_init(dev, &cfg, d.vq);
	if (rc == 0 && o->same_thread) {
		rc = run_both_phases(&d, r);
	} else if (rc == 0) {
		rc = start_device_thread(dev, &thread, pin);
		if (rc == 0) {
			rc = run_both_phases(&d, r);
			atomic_store(&dev->stop, true);
			pthread_join(thread, NULL);
		}
	}
	if (rc == 0 && atomic_load(&dev->error))
		rc = atomic_load(&dev->error);
	if (rc)
		fprintf(stderr, "uviommu-bench: ring %s: %s\n", r->ring, failure_text(rc));
	if (dev && dev->vq)
		sim_vq_destroy(dev->vq);
	free(dev);
	driver_fini(&d, ring);
	return rc;
}

/* ---- output ---- */

static void print_table(const struct ring_opts *o, const struct ring_result *res, unsigned n)
{
	printf("%-7s %6s %6s %12s %14s %20s %18s\n", "ring", "batch", "size", "requests",
	       "requests/s", "driver ns/request", "notifies/request");
	for (unsigned i = 0; i < n; i++)
		printf("%-7s %6u %6u %12llu %14.0f %20.1f %18.4f\n", res[i].ring, o->batch, o->size,
		       (unsigned long long)o->requests, res[i].requests_per_s,
		       res[i].driver_ns_per_request, res[i].notifies_per_request);
}

static void print_json(const struct ring_opts *o, const struct ring_result *res, unsigned n)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", "sim");
	json_array_begin(&j, "results");
	for (unsigned i = 0; i < n; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "ring", res[i].ring);
		json_uint(&j, "batch", o->batch);
		json_double(&j, "requests_per_s", res[i].requests_per_s);
		json_double(&j, "driver_ns_per_request", res[i].driver_ns_per_request);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static int parse_ring_opts(int argc, char **argv, struct ring_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "requests", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "same-thread", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*o = (struct ring_opts){ .requests = DEFAULT_REQUESTS, .batch = DEFAULT_BATCH,
				 .size = DEFAULT_SIZE };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 't':
			o->same_thread = true;
			break;
		case 'n':
			if (!bench_parse_uint(optarg, 1, UINT64_MAX / 2, &o->requests))
				return bench_usage_error("ring: --requests takes a number >= 1");
			break;
		case 'b':
			if (!bench_parse_uint(optarg, 1, 16384, &v))
				return bench_usage_error("ring: --batch takes a number from 1 to "
							 "16384");
			o->batch = (unsigned)v;
			break;
		case 's':
			/* A power of two, which both layouts accept. */
			if (!bench_parse_uint(optarg, 2, 32768, &v) || (v & (v - 1)))
				return bench_usage_error("ring: --size takes a power of two "
							 "from 2 to 32768");
			o->size = (uint16_t)v;
			break;
		default:
			return bench_usage_error("ring: unknown option or missing argument '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bench_usage_error("ring: unexpected argument '%s'", argv[optind]);
	if (o->batch * DESC_PER_REQ > o->size)
		return bench_usage_error("ring: a batch of %u requests needs %u descriptors, more "
					 "than the queue size %u (raise --size)", o->batch,
					 o->batch * DESC_PER_REQ, o->size);
	return 0;
}

/* Pin the driver, and tell what a cache line costs between the two CPUs. */
static bool place_threads(const struct ring_opts *o)
{
	bool pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;

	if (!pin) {
		fprintf(stderr, "uviommu-bench: one CPU: driver and device threads share it\n");
		return false;
	}
	if (!bench_pin_self(DRIVER_CPU))
		return false;
	if (!o->same_thread)
		fprintf(stderr, "uviommu-bench: driver on CPU %d, device on CPU %d; a cache line "
			"goes there and back in %.0f ns\n", DRIVER_CPU, DEVICE_CPU,
			bench_cacheline_round_trip_ns(DEVICE_CPU));
	return true;
}

int bench_ring(int argc, char **argv)
{
	static const enum uvi_vq_layout layouts[] = { UVI_VQ_SPLIT, UVI_VQ_PACKED };
	struct ring_result res[2];
	struct ring_opts o;
	int rc = parse_ring_opts(argc, argv, &o);
	bool pin;

	if (rc)
		return rc;
	fprintf(stderr, "uviommu-bench: device: sim (the software device's rings, in-process)\n");
	pin = place_threads(&o);
	for (unsigned i = 0; i < 2; i++)
		if (run_layout(&o, layouts[i], pin, &res[i]))
			return BENCH_EXIT_FAILED;
	if (o.json)
		print_json(&o, res, 2);
	else
		print_table(&o, res, 2);
	return BENCH_EXIT_OK;
}
