/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The software device end to end: virtio-pci transport + driver-side
 * virtqueues + the device thread + the device semantics. Requests go
 * through real rings and doorbells, in both ring layouts; fault records
 * arrive on the event queue; the ring-level fault injection and a reset
 * behave as documented in sim.h.
 *
 * Waits for the device thread are bounded (a hang fails the test after
 * WAIT_LIMIT_S seconds); nothing asserts on how long anything took.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../drivers/sim/sim.h"
#include "../../lib/virtio/virtio_pci.h"
#include "../../lib/virtio/virtio_pci_regs.h"
#include "../../lib/virtio/virtqueue.h"

#define F(bit) (1ull << (bit))
#define WAIT_LIMIT_S 10
#define QUEUE_SIZE 256
#define EVENT_BUFS 8
#define ENDPOINT 8
#define DOMAIN 1

struct rig {
	struct sim_device *sim;
	struct uvi_pci_dev *pci;
	struct uvi_vpci v;
	uint64_t features;
	struct uvi_vq *vq[2];
	void *ring[2];
	struct uvi_vpci_notifier doorbell[2];
	struct virtio_iommu_fault events[EVENT_BUFS];
};

static const struct viommu_pci_addr sim_addr = { 0, VIOMMU_BDF(0, 2, 0) };

static void check(int rc, const char *what)
{
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", what, viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc < 0 ? rc : 0, 0);
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void pause_briefly(void)
{
	const struct timespec ts = { 0, 20000 };

	nanosleep(&ts, NULL);
}

/* Driver-side queue q: rings in process memory (bus address = VA with the sim). */
static void setup_queue(struct rig *r, uint16_t q)
{
	struct uvi_vq_config c = {
		.layout = r->features & F(VIRTIO_F_RING_PACKED) ? UVI_VQ_PACKED : UVI_VQ_SPLIT,
		.size = QUEUE_SIZE,
		.event_idx = r->features & F(VIRTIO_F_EVENT_IDX),
	};
	size_t align = uvi_vq_ring_align(&c);
	size_t bytes = (uvi_vq_ring_bytes(&c) + align - 1) / align * align;
	struct uvi_vq_addrs a;

	r->ring[q] = aligned_alloc(align, bytes);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->ring[q]);
	check(uvi_vq_create(&c, r->ring[q], (uintptr_t)r->ring[q], &r->vq[q]), "vq create");
	uvi_vq_get_addrs(r->vq[q], &a);
	check(uvi_vpci_queue_setup(&r->v, q, QUEUE_SIZE, &a, &r->doorbell[q]), "queue setup");
	check(uvi_vpci_queue_enable(&r->v, q), "queue enable");
}

static void free_queues(struct rig *r)
{
	for (int q = 0; q < 2; q++) {
		if (r->vq[q])
			uvi_vq_destroy(r->vq[q]);
		free(r->ring[q]);
		r->vq[q] = NULL;
		r->ring[q] = NULL;
	}
}

/* The initialization sequence of virtio 1.2, 3.1.1, through to DRIVER_OK. */
static void driver_init(struct rig *r, uint64_t wanted)
{
	check(uvi_vpci_reset(&r->v), "reset");
	uvi_vpci_add_status(&r->v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	check(uvi_vpci_negotiate(&r->v, wanted, &r->features), "negotiate");
	setup_queue(r, VIRTIO_IOMMU_QUEUE_REQUEST);
	setup_queue(r, VIRTIO_IOMMU_QUEUE_EVENT);
	uvi_vpci_add_status(&r->v, UVI_VSTATUS_DRIVER_OK);
	CU_ASSERT_EQUAL(uvi_vpci_get_status(&r->v) & (UVI_VSTATUS_DRIVER_OK |
						     UVI_VSTATUS_NEEDS_RESET),
			UVI_VSTATUS_DRIVER_OK);
}

static const uint64_t wanted_default = F(VIRTIO_IOMMU_F_MAP_UNMAP) |
	F(VIRTIO_IOMMU_F_BYPASS_CONFIG) | F(VIRTIO_IOMMU_F_PROBE) | F(VIRTIO_F_EVENT_IDX) |
	F(VIRTIO_F_RING_PACKED);

static void rig_up(struct rig *r, bool packed)
{
	struct sim_config cfg;

	memset(r, 0, sizeof(*r));
	sim_config_default(&cfg);
	if (packed)
		cfg.features |= F(VIRTIO_F_RING_PACKED);
	check(sim_device_create(&cfg, &r->sim), "sim create");
	check(uvi_pci_open(&uvi_sim_backend, r->sim, sim_addr, &r->pci), "pci open");
	check(uvi_vpci_init(&r->v, r->pci), "vpci init");
	driver_init(r, wanted_default);
	CU_ASSERT_EQUAL(!!(r->features & F(VIRTIO_F_RING_PACKED)), packed);
}

static void rig_down(struct rig *r)
{
	check(uvi_vpci_reset(&r->v), "reset");
	free_queues(r);
	uvi_pci_close(r->pci);
	sim_device_destroy(r->sim);
}

static void kick(struct rig *r, uint16_t q)
{
	if (uvi_vq_publish(r->vq[q]))
		uvi_vpci_notify(&r->doorbell[q]);
}

/* One completion from queue q, waiting for the device thread (bounded). */
static void *wait_used(struct rig *r, uint16_t q, uint32_t *len)
{
	uint64_t deadline = now_s() + WAIT_LIMIT_S;
	void *token = NULL;
	int rc;

	while ((rc = uvi_vq_get_used(r->vq[q], &token, len)) == 0 && now_s() < deadline)
		pause_briefly();
	check(rc, "get used");
	CU_ASSERT_EQUAL_FATAL(rc, 1);
	return token;
}

/* Queue a request whose last 4 bytes are the device-writable tail. */
static void add_request(struct rig *r, void *req, size_t len)
{
	struct uvi_vq_buf b[2] = {
		{ (uintptr_t)req, (uint32_t)(len - 4), false },
		{ (uintptr_t)req + len - 4, 4, true },
	};

	check(uvi_vq_add(r->vq[VIRTIO_IOMMU_QUEUE_REQUEST], b, 2, req), "add request");
}

static void fill_attach(struct virtio_iommu_req_attach *a, uint32_t domain, uint32_t ep)
{
	memset(a, 0, sizeof(*a));
	a->head.type = VIRTIO_IOMMU_T_ATTACH;
	a->domain = domain;
	a->endpoint = ep;
	a->tail.status = 0xff;
}

static void fill_map(struct virtio_iommu_req_map *m, uint64_t iova, uint64_t phys, uint64_t len)
{
	memset(m, 0, sizeof(*m));
	m->head.type = VIRTIO_IOMMU_T_MAP;
	m->domain = DOMAIN;
	m->virt_start = iova;
	m->virt_end = iova + len - 1;
	m->phys_start = phys;
	m->flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
	m->tail.status = 0xff;
}

/* Send one request and wait for it: its used length, the status is in req. */
static uint32_t roundtrip(struct rig *r, void *req, size_t len)
{
	uint32_t used = 0;

	add_request(r, req, len);
	kick(r, VIRTIO_IOMMU_QUEUE_REQUEST);
	CU_ASSERT_PTR_EQUAL(wait_used(r, VIRTIO_IOMMU_QUEUE_REQUEST, &used), req);
	return used;
}

static void attach(struct rig *r)
{
	struct virtio_iommu_req_attach a;

	fill_attach(&a, DOMAIN, ENDPOINT);
	CU_ASSERT_EQUAL(roundtrip(r, &a, sizeof(a)), 4);
	CU_ASSERT_EQUAL(a.tail.status, VIRTIO_IOMMU_S_OK);
}

static void attach_map_dma(bool packed)
{
	static uint8_t page[4096] __attribute__((aligned(4096)));
	const uint8_t pattern[16] = "endpoint writes";
	struct virtio_iommu_req_map m;
	struct sim_iommu_stats st;
	struct rig r;

	rig_up(&r, packed);
	attach(&r);
	fill_map(&m, 0x100000, (uintptr_t)page, sizeof(page));
	CU_ASSERT_EQUAL(roundtrip(&r, &m, sizeof(m)), 4);
	CU_ASSERT_EQUAL(m.tail.status, VIRTIO_IOMMU_S_OK);
	sim_device_get_iommu_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.domains, 1);
	CU_ASSERT_EQUAL(st.mappings, 1);
	/* The mapping is live: the endpoint's DMA lands in page. */
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, ENDPOINT, 0x100010, (void *)pattern,
				       sizeof(pattern), SIM_DMA_WRITE), 0);
	CU_ASSERT_EQUAL(memcmp(page + 0x10, pattern, sizeof(pattern)), 0);
	rig_down(&r);
}

static void test_attach_map_split(void)
{
	attach_map_dma(false);
}

static void test_attach_map_packed(void)
{
	attach_map_dma(true);
}

#define BATCH 64

static void test_batch_of_64_maps(void)
{
	static struct virtio_iommu_req_map maps[BATCH];
	struct sim_device_stats before, after;
	struct sim_iommu_stats st;
	bool seen[BATCH] = { false };
	struct rig r;

	rig_up(&r, false);
	attach(&r);
	sim_device_get_stats(r.sim, &before);
	for (unsigned i = 0; i < BATCH; i++) {
		fill_map(&maps[i], 0x200000 + i * 0x1000ull, 0x40000000 + i * 0x1000ull, 0x1000);
		add_request(&r, &maps[i], sizeof(maps[i]));
	}
	kick(&r, VIRTIO_IOMMU_QUEUE_REQUEST);
	for (unsigned i = 0; i < BATCH; i++) {
		uint32_t used = 0;
		struct virtio_iommu_req_map *m = wait_used(&r, VIRTIO_IOMMU_QUEUE_REQUEST, &used);
		ptrdiff_t k = m - maps;

		CU_ASSERT_FATAL(k >= 0 && k < BATCH);
		CU_ASSERT_FALSE(seen[k]);
		seen[k] = true;
		CU_ASSERT_EQUAL(used, 4);
		CU_ASSERT_EQUAL(m->tail.status, VIRTIO_IOMMU_S_OK);
	}
	sim_device_get_stats(r.sim, &after);
	CU_ASSERT_EQUAL(after.notifies - before.notifies, 1);
	sim_device_get_iommu_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.mappings, BATCH);
	rig_down(&r);
}

static void post_event_buffers(struct rig *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct uvi_vq_buf b = { (uintptr_t)&r->events[i], sizeof(r->events[i]), true };

		memset(&r->events[i], 0xcc, sizeof(r->events[i]));
		check(uvi_vq_add(r->vq[VIRTIO_IOMMU_QUEUE_EVENT], &b, 1, &r->events[i]),
		      "add event buffer");
	}
	kick(r, VIRTIO_IOMMU_QUEUE_EVENT);
}

static void test_fault_event(void)
{
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct virtio_iommu_fault *rec;
	struct sim_device_stats st;
	uint32_t used = 0;
	void *token;
	struct rig r;

	rig_up(&r, false);
	attach(&r);
	post_event_buffers(&r, 2);
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, ENDPOINT, 0xdead000, data, sizeof(data),
				       SIM_DMA_WRITE), -EFAULT);
	rec = wait_used(&r, VIRTIO_IOMMU_QUEUE_EVENT, &used);
	CU_ASSERT_PTR_EQUAL(rec, &r.events[0]);
	CU_ASSERT_EQUAL(used, sizeof(*rec));
	CU_ASSERT_EQUAL(rec->reason, VIRTIO_IOMMU_FAULT_R_MAPPING);
	CU_ASSERT_EQUAL(rec->flags, VIRTIO_IOMMU_FAULT_F_ADDRESS | VIRTIO_IOMMU_FAULT_F_WRITE);
	CU_ASSERT_EQUAL(rec->endpoint, ENDPOINT);
	CU_ASSERT_EQUAL(rec->address, 0xdead000);
	CU_ASSERT_EQUAL(rec->reserved[0] | rec->reserved2[0], 0);

	/* A full event queue: the device takes no buffer and the record is lost. */
	sim_device_set_eventq_full(r.sim, true);
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, ENDPOINT, 0xbeef000, data, sizeof(data),
				       SIM_DMA_READ), -EFAULT);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.events, 1);
	CU_ASSERT_EQUAL(st.events_dropped, 1);
	CU_ASSERT_EQUAL(uvi_vq_get_used(r.vq[VIRTIO_IOMMU_QUEUE_EVENT], &token, &used), 0);
	/* Room again: the second buffer takes the next fault. */
	sim_device_set_eventq_full(r.sim, false);
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, ENDPOINT, 0xbeef000, data, sizeof(data),
				       SIM_DMA_READ), -EFAULT);
	rec = wait_used(&r, VIRTIO_IOMMU_QUEUE_EVENT, &used);
	CU_ASSERT_PTR_EQUAL(rec, &r.events[1]);
	CU_ASSERT_EQUAL(rec->flags, VIRTIO_IOMMU_FAULT_F_ADDRESS | VIRTIO_IOMMU_FAULT_F_READ);
	/* No buffer left at all: dropped, as QEMU drops it. */
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, ENDPOINT, 0xbeef000, data, sizeof(data),
				       SIM_DMA_READ), -EFAULT);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.events, 2);
	CU_ASSERT_EQUAL(st.events_dropped, 2);
	rig_down(&r);
}

/* Reset, with state, then again after DEVICE_NEEDS_RESET: the device comes back clean. */
static void test_reset_brings_device_back(void)
{
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct virtio_iommu_req_map m;
	struct sim_device_stats st;
	struct sim_iommu_stats ist;
	uint8_t gen;
	struct rig r;

	rig_up(&r, false);
	attach(&r);
	fill_map(&m, 0x100000, (uintptr_t)page, sizeof(page));
	CU_ASSERT_EQUAL(roundtrip(&r, &m, sizeof(m)), 4);

	check(uvi_vpci_reset(&r.v), "reset");
	CU_ASSERT_EQUAL(uvi_vpci_get_status(&r.v), 0);
	sim_device_get_iommu_stats(r.sim, &ist);
	CU_ASSERT_EQUAL(ist.domains, 0);
	CU_ASSERT_EQUAL(ist.mappings, 0);
	free_queues(&r);
	driver_init(&r, wanted_default);
	attach(&r);

	gen = uvi_vpci_config_generation(&r.v);
	sim_device_set_needs_reset(r.sim);
	CU_ASSERT(uvi_vpci_get_status(&r.v) & UVI_VSTATUS_NEEDS_RESET);
	CU_ASSERT_NOT_EQUAL(uvi_vpci_config_generation(&r.v), gen);
	CU_ASSERT(uvi_vpci_isr(&r.v) & 2); /* configuration change */
	CU_ASSERT_EQUAL(uvi_vpci_isr(&r.v), 0); /* reading cleared it */
	free_queues(&r);
	driver_init(&r, wanted_default);
	attach(&r);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.starts, 3);
	rig_down(&r);
}

/* Reordered completions: one pass's requests come back last first. */
static void test_reorder(void)
{
	struct virtio_iommu_req_map maps[4];
	uint32_t used;
	struct rig r;

	rig_up(&r, false);
	attach(&r);
	sim_device_set_reorder(r.sim, true);
	for (unsigned i = 0; i < 4; i++) {
		fill_map(&maps[i], 0x300000 + i * 0x1000ull, 0x50000000 + i * 0x1000ull, 0x1000);
		add_request(&r, &maps[i], sizeof(maps[i]));
	}
	kick(&r, VIRTIO_IOMMU_QUEUE_REQUEST);
	for (int i = 3; i >= 0; i--) {
		CU_ASSERT_PTR_EQUAL(wait_used(&r, VIRTIO_IOMMU_QUEUE_REQUEST, &used), &maps[i]);
		CU_ASSERT_EQUAL(maps[i].tail.status, VIRTIO_IOMMU_S_OK);
	}
	rig_down(&r);
}

/* Delayed completion: held by the device first, then delivered. */
static void test_delay(void)
{
	struct virtio_iommu_req_map m;
	struct sim_device_stats st;
	uint64_t deadline = now_s() + WAIT_LIMIT_S;
	bool was_held = false;
	uint32_t used;
	void *token = NULL;
	struct rig r;
	int rc;

	rig_up(&r, false);
	attach(&r);
	sim_device_set_delay(r.sim, 1000);
	fill_map(&m, 0x100000, 0x60000000, 0x1000);
	add_request(&r, &m, sizeof(m));
	kick(&r, VIRTIO_IOMMU_QUEUE_REQUEST);
	while ((rc = uvi_vq_get_used(r.vq[VIRTIO_IOMMU_QUEUE_REQUEST], &token, &used)) == 0 &&
	       now_s() < deadline) {
		sim_device_get_stats(r.sim, &st);
		was_held |= st.held == 1;
		pause_briefly();
	}
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_EQUAL(token, &m);
	CU_ASSERT_EQUAL(m.tail.status, VIRTIO_IOMMU_S_OK);
	CU_ASSERT_TRUE(was_held);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.held, 0);
	rig_down(&r);
}

/* Used length 0 and DEVERR, injected through the semantics, reach the driver. */
static void test_injected_failures(void)
{
	struct virtio_iommu_req_map m;
	struct rig r;

	rig_up(&r, false);
	attach(&r);
	sim_device_inject_zero_len(r.sim, 1);
	fill_map(&m, 0x100000, 0x60000000, 0x1000);
	CU_ASSERT_EQUAL(roundtrip(&r, &m, sizeof(m)), 0);
	CU_ASSERT_EQUAL(m.tail.status, 0xff); /* nothing written */
	sim_device_inject_status(r.sim, 1, VIRTIO_IOMMU_S_DEVERR);
	fill_map(&m, 0x100000, 0x60000000, 0x1000);
	CU_ASSERT_EQUAL(roundtrip(&r, &m, sizeof(m)), 4);
	CU_ASSERT_EQUAL(m.tail.status, VIRTIO_IOMMU_S_DEVERR);
	fill_map(&m, 0x100000, 0x60000000, 0x1000);
	CU_ASSERT_EQUAL(roundtrip(&r, &m, sizeof(m)), 4);
	CU_ASSERT_EQUAL(m.tail.status, VIRTIO_IOMMU_S_OK);
	rig_down(&r);
}

/* A request too short to answer puts the device in DEVICE_NEEDS_RESET (as QEMU). */
static void test_malformed_request_needs_reset(void)
{
	struct virtio_iommu_req_attach a;
	uint64_t deadline;
	struct rig r;

	rig_up(&r, false);
	fill_attach(&a, DOMAIN, ENDPOINT);
	add_request(&r, &a, 6); /* a 2-byte head */
	kick(&r, VIRTIO_IOMMU_QUEUE_REQUEST);
	deadline = now_s() + WAIT_LIMIT_S;
	while (!(uvi_vpci_get_status(&r.v) & UVI_VSTATUS_NEEDS_RESET) && now_s() < deadline)
		pause_briefly();
	CU_ASSERT(uvi_vpci_get_status(&r.v) & UVI_VSTATUS_NEEDS_RESET);
	free_queues(&r);
	driver_init(&r, wanted_default);
	attach(&r);
	rig_down(&r);
}

static const struct test_case cases[] = {
	TEST_CASE(test_attach_map_split),
	TEST_CASE(test_attach_map_packed),
	TEST_CASE(test_batch_of_64_maps),
	TEST_CASE(test_fault_event),
	TEST_CASE(test_reset_brings_device_back),
	TEST_CASE(test_reorder),
	TEST_CASE(test_delay),
	TEST_CASE(test_injected_failures),
	TEST_CASE(test_malformed_request_needs_reset),
	TEST_END,
};

int main(void)
{
	return run_suite("sim-device", cases);
}
