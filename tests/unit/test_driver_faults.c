/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver against device failures that only the software device can
 * produce on demand: every status code through fault injection, used
 * length 0, reordered and delayed completions, DEVICE_NEEDS_RESET, a
 * storm of DEVERR, a device that stops answering, a full event queue,
 * malformed fault records and PROBE properties; plus the environment:
 * ownership by another process and a function no userspace driver owns.
 *
 * Device behaviour assumed (drivers/sim, doc/sim-device.md): injected
 * statuses and zero-length completions apply to the next requests and are
 * not performed; the knobs survive a device reset; needs-reset stops the
 * device until it is reset; held completions are dropped by a reset.
 *
 * QEMU's device differs where it matters here only in ways the driver
 * never exercises: it does not check MAP alignment and it removes covered
 * mappings before failing an UNMAP that would split one; the driver
 * refuses both requests before sending them.
 *
 * "Nothing lost" is checked through the device: after each recovery every
 * mapping must translate simulated DMA into its page again. Waits are
 * bounded by the driver's request timeout; nothing asserts on time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "driver_rig.h"
#include "../../drivers/iommu/dev.h"
#include "../../lib/pci/sysfs.h"

#define IOVA 0x100000ull
#define EP1 8
#define EP2 16
#define EP3 24
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)

static struct viommu_domain *attached_domain(struct rig *r, uint32_t ep)
{
	struct viommu_domain *dom = NULL;

	rig_ok(viommu_domain_create(r->dev, &dom), "domain");
	rig_ok(viommu_attach_endpoint(dom, ep), "attach");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
	return dom;
}

/* ---- statuses ---- */

static const struct {
	uint8_t status;
	int err;
} status_table[] = {
	{ VIRTIO_IOMMU_S_IOERR, -EIO },    { VIRTIO_IOMMU_S_UNSUPP, -EOPNOTSUPP },
	{ VIRTIO_IOMMU_S_DEVERR, -EREMOTEIO }, { VIRTIO_IOMMU_S_INVAL, -EINVAL },
	{ VIRTIO_IOMMU_S_RANGE, -ERANGE }, { VIRTIO_IOMMU_S_NOENT, -ENOENT },
	{ VIRTIO_IOMMU_S_FAULT, -EFAULT }, { VIRTIO_IOMMU_S_NOMEM, -ENOMEM },
	{ 9, -EPROTO },                    { 0xff, -EPROTO },
};

static void test_status_codes(void)
{
	uint8_t *page = rig_pages(1);
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, false);
	dom = attached_domain(&r, EP1);
	for (unsigned i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++) {
		/* A failed MAP leaves nothing behind: the range is free again. */
		sim_device_inject_status(r.sim, 1, status_table[i].status);
		rig_expect(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), status_table[i].err,
		           "MAP");
		CU_ASSERT_EQUAL(rig_stats(&r).mappings, 0);
		rig_ok(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), "MAP again");
		/* A failed UNMAP leaves the mapping in place. */
		sim_device_inject_status(r.sim, 1, status_table[i].status);
		rig_expect(viommu_unmap(dom, IOVA, RIG_PAGE), status_table[i].err, "UNMAP");
		CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA, page));
		rig_expect(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), -EEXIST,
		           "still mapped");
		rig_ok(viommu_unmap(dom, IOVA, RIG_PAGE), "UNMAP again");
	}
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 0);
	/* A refused ATTACH changes nothing either. */
	sim_device_inject_status(r.sim, 1, VIRTIO_IOMMU_S_UNSUPP);
	rig_expect(viommu_attach_endpoint(dom, EP2), -EOPNOTSUPP, "ATTACH (its PROBE)");
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	rig_close(&r);
	rig_free_pages(page);
}

static void test_used_length_zero(void)
{
	uint8_t *page = rig_pages(1);
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, false);
	dom = attached_domain(&r, EP1);
	sim_device_inject_zero_len(r.sim, 1);
	rig_expect(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), -EPROTO, "used length 0");
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 0);
	rig_ok(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), "MAP again");
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA, page));
	/* A PROBE returned unwritten: the endpoint is not attached. */
	sim_device_inject_zero_len(r.sim, 1);
	rig_expect(viommu_attach_endpoint(dom, EP2), -EPROTO, "PROBE used length 0");
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	rig_close(&r);
	rig_free_pages(page);
}

/* ---- completion order and timing ---- */

#define BATCH 64

static void run_maps(struct rig *r, struct viommu_domain *dom, uint8_t *pages, unsigned n,
		     uint64_t iova)
{
	struct viommu_batch *b;

	rig_ok(viommu_batch_create(r->dev, n, 0, &b), "batch");
	for (unsigned i = 0; i < n; i++)
		viommu_batch_map(b, dom, iova + i * RIG_PAGE, rig_phys(pages + i * RIG_PAGE),
				 RIG_PAGE, RW);
	rig_ok(viommu_batch_run(b), "run");
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(viommu_batch_status(b, i), 0);
	viommu_batch_destroy(b);
}

static void check_all_translate(struct rig *r, uint32_t ep, uint8_t *pages, unsigned n,
				uint64_t iova)
{
	unsigned good = 0;

	for (unsigned i = 0; i < n; i++)
		good += rig_translates(r, ep, iova + i * RIG_PAGE + 4 * i, pages + i * RIG_PAGE);
	CU_ASSERT_EQUAL(good, n);
}

static void test_out_of_order_completions(void)
{
	uint8_t *pages = rig_pages(BATCH);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct rig r;

	rig_open_default(&r, false);
	dom = attached_domain(&r, EP1);
	sim_device_set_reorder(r.sim, true);
	run_maps(&r, dom, pages, BATCH, IOVA);
	check_all_translate(&r, EP1, pages, BATCH, IOVA);
	rig_ok(viommu_batch_create(r.dev, BATCH, VIOMMU_BATCH_COALESCE_UNMAP, &b), "batch");
	for (unsigned i = 0; i < BATCH; i += 2)
		viommu_batch_unmap(b, dom, IOVA + i * RIG_PAGE, RIG_PAGE);
	rig_ok(viommu_batch_run(b), "unmaps");
	viommu_batch_destroy(b);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, BATCH / 2);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, BATCH / 2);
	rig_close(&r);
	rig_free_pages(pages);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_delayed_completions(void)
{
	uint8_t *pages = rig_pages(8);
	struct viommu_domain *dom;
	struct rig r;

	uint64_t wait0, t0, wall;

	rig_open_default(&r, true);
	dom = attached_domain(&r, EP1);
	sim_device_set_delay(r.sim, 500);
	wait0 = rig_stats(&r).wait_ns;
	t0 = monotonic_ns();
	run_maps(&r, dom, pages, 8, IOVA);
	wall = monotonic_ns() - t0;
	sim_device_set_delay(r.sim, 0);
	check_all_translate(&r, EP1, pages, 8, IOVA);
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 0);
	/* Held completions are waited for, and that wait is counted, within the call's time. */
	CU_ASSERT(rig_stats(&r).wait_ns > wait0);
	CU_ASSERT(rig_stats(&r).wait_ns - wait0 <= wall);
	rig_close(&r);
	rig_free_pages(pages);
}

/*
 * A request queue too small for a PROBE (three descriptors: 5.13.6.8) is
 * refused at open, whether the device offers no more (-EPROTO) or the
 * caller asked for so few (-EINVAL), instead of every attach failing later.
 */
static void test_tiny_request_queue_is_refused(void)
{
	struct viommu_open_opts o = { .access = "sim" };
	struct sim_device *sim;
	struct viommu_dev *dev;
	struct sim_config cfg;

	for (unsigned packed = 0; packed < 2; packed++) {
		rig_config(&cfg, packed);
		cfg.queue_size_max = 2;
		CU_ASSERT_EQUAL_FATAL(rig_check(sim_device_create(&cfg, &sim), "sim create"), 0);
		o.sim = sim;
		rig_expect(viommu_open(&o, &dev), -EPROTO, "a device with 2-entry queues");
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "at most 2 entries"));
		sim_device_destroy(sim);
		rig_config(&cfg, packed);
		CU_ASSERT_EQUAL_FATAL(rig_check(sim_device_create(&cfg, &sim), "sim create"), 0);
		o.sim = sim;
		o.queue_size = 2;
		rig_expect(viommu_open(&o, &dev), -EINVAL, "asking for 2 entries");
		o.queue_size = 4;
		rig_ok(viommu_open(&o, &dev), "asking for 4 entries");
		viommu_close(dev);
		o.queue_size = 0;
		sim_device_destroy(sim);
	}
}

/*
 * A PROBE needs three descriptors where batch requests take two: with
 * every other slot of an 8-entry queue in flight, only two descriptors are
 * free, and the PROBE waits for completions instead of failing -ENOSPC.
 */
static void test_probe_waits_for_ring_room(void)
{
	struct viommu_open_opts o = { .queue_size = 8 };
	uint8_t *pages = rig_pages(3);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct rig r;

	rig_open(&r, NULL, &o);
	dom = attached_domain(&r, EP1);
	rig_ok(viommu_batch_create(r.dev, 3, 0, &b), "batch");
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + i * RIG_PAGE,
						 rig_phys(pages + i * RIG_PAGE), RIG_PAGE, RW),
				(int)i);
	sim_device_set_delay(r.sim, 200); /* the three stay in flight for a while */
	CU_ASSERT_EQUAL(viommu_batch_submit(b), 0);
	CU_ASSERT(viommu_probe_endpoint(r.dev, EP2) >= 0);
	sim_device_set_delay(r.sim, 0);
	rig_ok(viommu_batch_run(b), "the maps complete");
	check_all_translate(&r, EP1, pages, 3, IOVA);
	viommu_batch_destroy(b);
	rig_close(&r);
	rig_free_pages(pages);
}

/* ---- reset and replay ---- */

#define PER_DOMAIN 10

struct world {
	struct viommu_domain *a, *b, *idle;
	uint8_t *pages; /* 3 * PER_DOMAIN */
};

/* Two attached domains (EP1+EP2 in a, EP3 in b), one with no endpoint, all mapped. */
static void build_world(struct rig *r, struct world *w)
{
	w->pages = rig_pages(3 * PER_DOMAIN);
	rig_ok(viommu_domain_create(r->dev, &w->a), "a");
	rig_ok(viommu_domain_create(r->dev, &w->b), "b");
	rig_ok(viommu_domain_create(r->dev, &w->idle), "idle");
	rig_ok(viommu_attach_endpoint(w->a, EP1), "attach 1");
	rig_ok(viommu_attach_endpoint(w->a, EP2), "attach 2");
	rig_ok(viommu_attach_endpoint(w->b, EP3), "attach 3");
	run_maps(r, w->a, w->pages, PER_DOMAIN, IOVA);
	run_maps(r, w->b, w->pages + PER_DOMAIN * RIG_PAGE, PER_DOMAIN, IOVA);
	run_maps(r, w->idle, w->pages + 2 * PER_DOMAIN * RIG_PAGE, PER_DOMAIN, IOVA);
}

static void check_world(struct rig *r, struct world *w)
{
	check_all_translate(r, EP1, w->pages, PER_DOMAIN, IOVA);
	check_all_translate(r, EP2, w->pages, PER_DOMAIN, IOVA);
	check_all_translate(r, EP3, w->pages + PER_DOMAIN * RIG_PAGE, PER_DOMAIN, IOVA);
	CU_ASSERT_EQUAL(rig_sim_stats(r).mappings, 2 * PER_DOMAIN);
	CU_ASSERT_EQUAL(rig_sim_stats(r).domains, 2);
	CU_ASSERT_EQUAL(rig_stats(r).mappings, 3 * PER_DOMAIN);
}

static void test_needs_reset_replays_everything(void)
{
	uint8_t *extra = rig_pages(1);
	struct sim_device_stats st;
	struct world w;
	struct rig r;

	rig_open_default(&r, true);
	build_world(&r, &w);
	check_world(&r, &w);
	sim_device_set_needs_reset(r.sim);
	/* The next request finds the device stopped: reset, replay, then it goes through. */
	rig_ok(viommu_map(w.a, IOVA + 0x100000, rig_phys(extra), RIG_PAGE, RW),
	       "map after needs-reset");
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 1);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.starts, 2);
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + 0x100000, extra));
	rig_ok(viommu_unmap(w.a, IOVA + 0x100000, RIG_PAGE), "unmap extra");
	check_world(&r, &w);

	/* The same by hand. */
	rig_ok(viommu_reset(r.dev), "viommu_reset");
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 2);
	check_world(&r, &w);
	rig_close(&r);
	rig_free_pages(w.pages);
	rig_free_pages(extra);
}

/* A reset while an endpoint is being attached: its PROBE is sent again afterwards. */
static void test_needs_reset_during_attach(void)
{
	enum { EP4 = 32 };
	struct world w;
	struct rig r;

	rig_open_default(&r, false);
	build_world(&r, &w);
	sim_device_set_needs_reset(r.sim);
	rig_ok(viommu_attach_endpoint(w.b, EP4), "attach during needs-reset");
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 1);
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 4);
	check_all_translate(&r, EP4, w.pages + PER_DOMAIN * RIG_PAGE, PER_DOMAIN, IOVA);
	check_world(&r, &w);
	rig_close(&r);
	rig_free_pages(w.pages);
}

/* With nothing in flight, the event poll notices DEVICE_NEEDS_RESET. */
static void test_needs_reset_seen_when_idle(void)
{
	time_t deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	struct world w;
	struct rig r;

	rig_open_default(&r, false);
	build_world(&r, &w);
	sim_device_set_needs_reset(r.sim);
	while (rig_stats(&r).resets == 0 && time(NULL) < deadline) {
		const struct timespec pause = { 0, 1000000 };

		viommu_poll_events(r.dev, 0);
		nanosleep(&pause, NULL);
	}
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 1);
	check_world(&r, &w);
	rig_close(&r);
	rig_free_pages(w.pages);
}

/* Requests in flight when the device is reset complete as the shadow then says. */
static void test_reset_with_requests_in_flight(void)
{
	uint8_t *pages = rig_pages(BATCH);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct rig r;

	rig_open_default(&r, false);
	dom = attached_domain(&r, EP1);
	run_maps(&r, dom, pages, BATCH / 2, IOVA); /* the first half, to be unmapped */
	rig_ok(viommu_batch_create(r.dev, BATCH, 0, &b), "batch");
	for (unsigned i = 0; i < BATCH / 2; i++)
		viommu_batch_unmap(b, dom, IOVA + i * RIG_PAGE, RIG_PAGE);
	for (unsigned i = BATCH / 2; i < BATCH; i++)
		viommu_batch_map(b, dom, IOVA + i * RIG_PAGE, rig_phys(pages + i * RIG_PAGE),
				 RIG_PAGE, RW);
	/* Held by the device until it is reset: the reset takes them over. */
	sim_device_set_delay(r.sim, UINT32_MAX);
	CU_ASSERT_EQUAL(viommu_batch_submit(b), 0);
	sim_device_set_delay(r.sim, 0);
	rig_ok(viommu_reset(r.dev), "reset");
	CU_ASSERT_EQUAL(viommu_batch_poll(b), 0);
	for (unsigned i = 0; i < BATCH; i++)
		CU_ASSERT_EQUAL(viommu_batch_status(b, i), 0);
	viommu_batch_destroy(b);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, BATCH / 2);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, BATCH / 2);
	check_all_translate(&r, EP1, pages + BATCH / 2 * RIG_PAGE, BATCH / 2,
			    IOVA + BATCH / 2 * RIG_PAGE);
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA, pages));
	rig_close(&r);
	rig_free_pages(pages);
}

static void test_deverr_storm_resets(void)
{
	enum { N = 16 };
	uint8_t *pages = rig_pages(N);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	unsigned failed = 0;
	struct rig r;

	rig_open_default(&r, false);
	dom = attached_domain(&r, EP1);
	rig_ok(viommu_batch_create(r.dev, N, 0, &b), "batch");
	for (unsigned i = 0; i < N; i++)
		viommu_batch_map(b, dom, IOVA + i * RIG_PAGE, rig_phys(pages + i * RIG_PAGE),
				 RIG_PAGE, RW);
	sim_device_inject_status(r.sim, UVI_DEVERR_STORM, VIRTIO_IOMMU_S_DEVERR);
	CU_ASSERT_EQUAL(viommu_batch_run(b), -EREMOTEIO);
	for (unsigned i = 0; i < N; i++) {
		int st = viommu_batch_status(b, i);

		CU_ASSERT(st == 0 || st == -EREMOTEIO);
		failed += st != 0;
		CU_ASSERT_EQUAL(rig_translates(&r, EP1, IOVA + i * RIG_PAGE, pages + i * RIG_PAGE),
				st == 0);
	}
	CU_ASSERT_EQUAL(failed, UVI_DEVERR_STORM);
	CU_ASSERT_EQUAL(rig_stats(&r).resets, 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, N - UVI_DEVERR_STORM);
	viommu_batch_destroy(b);
	rig_close(&r);
	rig_free_pages(pages);
}

/* A device that stops answering: reset; when it still does not answer, fail until reset. */
static void test_timeout_then_manual_reset(void)
{
	struct viommu_open_opts o = { .request_timeout_ms = 300 };
	uint8_t *pages = rig_pages(2);
	struct viommu_domain *dom;
	struct viommu_stats st;
	struct rig r;

	rig_open(&r, NULL, &o);
	dom = attached_domain(&r, EP1);
	rig_ok(viommu_map(dom, IOVA, rig_phys(pages), RIG_PAGE, RW), "map");
	sim_device_set_delay(r.sim, UINT32_MAX);
	rig_expect(viommu_map(dom, IOVA + RIG_PAGE, rig_phys(pages + RIG_PAGE), RIG_PAGE, RW),
	           -ETIMEDOUT, "map on a silent device");
	st = rig_stats(&r);
	CU_ASSERT(st.timeouts >= 1);
	CU_ASSERT_EQUAL(st.resets, 1);
	rig_expect(viommu_map(dom, IOVA + 2 * RIG_PAGE, rig_phys(pages), RIG_PAGE, RW), -EIO,
	           "after a failed recovery");
	/* The shadow kept the first mapping and not the timed-out one. */
	CU_ASSERT_EQUAL(st.mappings, 1);
	sim_device_set_delay(r.sim, 0);
	rig_ok(viommu_reset(r.dev), "reset");
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA, pages));
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA + RIG_PAGE, pages + RIG_PAGE));
	rig_ok(viommu_map(dom, IOVA + RIG_PAGE, rig_phys(pages + RIG_PAGE), RIG_PAGE, RW),
	       "map now");
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + RIG_PAGE, pages + RIG_PAGE));
	rig_close(&r);
	rig_free_pages(pages);
}

/* ---- the event queue ---- */

static void test_event_queue_full(void)
{
	struct viommu_dev_info info;
	struct sim_device_stats st;
	struct rig r;
	uint8_t byte;
	unsigned delivered = 0;

	rig_open_default(&r, false);
	rig_ok(viommu_get_info(r.dev, &info), "info");
	sim_device_set_eventq_full(r.sim, true);
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP1, IOVA, &byte, 1), -EFAULT);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.events_dropped, 1);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 0);
	sim_device_set_eventq_full(r.sim, false);
	/* Buffers are posted again as they are consumed: three queues' worth, none lost. */
	for (unsigned i = 0; i < 3u * info.event_queue_size; i++) {
		CU_ASSERT_EQUAL(rig_dma_read(&r, EP1, IOVA + i, &byte, 1), -EFAULT);
		if (i % 7 == 6)
			delivered += (unsigned)viommu_poll_events(r.dev, 0);
	}
	delivered += (unsigned)viommu_poll_events(r.dev, 0);
	CU_ASSERT_EQUAL(delivered, 3u * info.event_queue_size);
	sim_device_get_stats(r.sim, &st);
	CU_ASSERT_EQUAL(st.events_dropped, 1);
	CU_ASSERT_EQUAL(rig_stats(&r).faults, 3u * info.event_queue_size);
	/* max bounds one call. */
	for (unsigned i = 0; i < 5; i++)
		rig_dma_read(&r, EP1, IOVA + i, &byte, 1);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 2), 2);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 3);
	rig_close(&r);
}

/* The record the device just wrote for endpoint ep, still unread by the driver. */
static struct virtio_iommu_fault *pending_record(struct viommu_dev *dev, uint32_t ep)
{
	for (unsigned i = 0; i < dev->eq_size; i++)
		if (dev->events[i]->endpoint == ep)
			return dev->events[i];
	return NULL;
}

static void test_malformed_event_records(void)
{
	struct virtio_iommu_fault rec = { .reason = 2, .flags = 0x102, .endpoint = 3,
					  .address = 0x1000 }, *hostile;
	struct viommu_fault f;
	struct viommu_stats st;
	struct rig r;
	uint8_t byte;

	/* Decoding (5.13.6.9.1). */
	CU_ASSERT_EQUAL(uvi_event_decode(&rec, sizeof(rec), &f), 0);
	CU_ASSERT_EQUAL(f.reason, VIOMMU_FAULT_REASON_MAPPING);
	CU_ASSERT_EQUAL(f.flags, VIOMMU_FAULT_WRITE | VIOMMU_FAULT_ADDRESS);
	CU_ASSERT_EQUAL(f.address, 0x1000);
	CU_ASSERT_EQUAL(uvi_event_decode(&rec, sizeof(rec) - 1, &f), -EPROTO);
	CU_ASSERT_EQUAL(uvi_event_decode(&rec, 0, &f), -EPROTO);
	rec.reserved2[0] = 0xaa; /* reserved1: ignored */
	rec.flags = 0x80000001u; /* undefined flags: ignored */
	rec.reason = 9;          /* unknown reason: UNKNOWN */
	CU_ASSERT_EQUAL(uvi_event_decode(&rec, sizeof(rec), &f), 0);
	CU_ASSERT_EQUAL(f.reason, VIOMMU_FAULT_REASON_UNKNOWN);
	CU_ASSERT_EQUAL(f.flags, VIOMMU_FAULT_READ);
	CU_ASSERT_EQUAL(f.address, 0);
	rec.reserved[1] = 1;     /* reserved: the record is ignored */
	CU_ASSERT_EQUAL(uvi_event_decode(&rec, sizeof(rec), &f), -EPROTO);

	/* Through the queue: a hostile device's record is dropped and counted. */
	rig_open_default(&r, false);
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP2, IOVA, &byte, 1), -EFAULT);
	hostile = pending_record(r.dev, EP2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hostile);
	hostile->reserved[0] = 0x5a;
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 0);
	st = rig_stats(&r);
	CU_ASSERT_EQUAL(st.faults_dropped_malformed, 1);
	CU_ASSERT_EQUAL(st.faults, 0);
	/* Its buffer went back: the next fault arrives. */
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP2, IOVA, &byte, 1), -EFAULT);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 1);
	rig_close(&r);
}

/* ---- PROBE properties from a hostile device ---- */

static size_t put_prop(uint8_t *buf, size_t off, uint16_t type, uint16_t len)
{
	buf[off] = (uint8_t)type;
	buf[off + 1] = (uint8_t)(type >> 8);
	buf[off + 2] = (uint8_t)len;
	buf[off + 3] = (uint8_t)(len >> 8);
	return off + 4;
}

static size_t put_resv(uint8_t *buf, size_t off, uint8_t subtype, uint64_t start, uint64_t end)
{
	off = put_prop(buf, off, VIRTIO_IOMMU_PROBE_T_RESV_MEM, 20);
	buf[off] = subtype;
	memcpy(buf + off + 4, &start, 8);
	memcpy(buf + off + 12, &end, 8);
	return off + 20;
}

static void test_probe_properties_hostile(void)
{
	struct viommu_resv_region *r;
	uint8_t buf[128];
	unsigned n;
	size_t off;

	/* Two regions around an unknown property and one with reserved bits, then the end. */
	memset(buf, 0, sizeof(buf));
	off = put_resv(buf, 0, VIRTIO_IOMMU_RESV_MEM_T_MSI, 0xfee00000, 0xfeefffff);
	off = put_prop(buf, off, 0x7, 4) + 4;
	off = put_prop(buf, off, 0x1001, 20) + 20;
	off = put_resv(buf, off, 9, 0x1000, 0x1fff);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(r[0].subtype, VIOMMU_RESV_MSI);
	CU_ASSERT_EQUAL(r[0].start, 0xfee00000);
	CU_ASSERT_EQUAL(r[1].subtype, VIOMMU_RESV_RESERVED); /* unknown subtype */
	CU_ASSERT_EQUAL(r[1].end, 0x1fff);
	free(r);

	/* Nothing at all. */
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(r);

	/* A length past the end of the buffer. */
	put_prop(buf, 0, VIRTIO_IOMMU_PROBE_T_RESV_MEM, 125);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), -EPROTO);
	CU_ASSERT_EQUAL(n, 0);
	/* The same near the end: a header that fits, a value that does not. */
	memset(buf, 0, sizeof(buf));
	off = put_prop(buf, 0, 0x7, 116);
	put_prop(buf, off + 116, VIRTIO_IOMMU_PROBE_T_RESV_MEM, 20);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), -EPROTO);
	/* A RESV_MEM too short for its fields, and one that ends before it starts. */
	memset(buf, 0, sizeof(buf));
	put_prop(buf, 0, VIRTIO_IOMMU_PROBE_T_RESV_MEM, 8);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), -EPROTO);
	memset(buf, 0, sizeof(buf));
	put_resv(buf, 0, 0, 0x2000, 0x1fff);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, sizeof(buf), &r, &n), -EPROTO);
	/* A buffer that ends inside a property header. */
	memset(buf, 0, sizeof(buf));
	put_resv(buf, 0, 0, 0x2000, 0x2fff);
	CU_ASSERT_EQUAL(uvi_probe_parse(buf, 26, &r, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(r);
}

/* ---- the owner's snapshot ---- */

static void test_owner_snapshot_contents(void)
{
	struct uvi_owner_state st;
	struct world w;
	struct rig r;

	rig_open_default(&r, true);
	build_world(&r, &w);
	pthread_mutex_lock(&r.dev->lock);
	uvi_snapshot(r.dev, &st);
	pthread_mutex_unlock(&r.dev->lock);
	CU_ASSERT_STRING_EQUAL(st.access, "sim");
	CU_ASSERT_STRING_EQUAL(st.ring, "packed");
	CU_ASSERT_EQUAL(st.bypass, 0);
	CU_ASSERT_EQUAL(st.n_domains, 3);
	CU_ASSERT_EQUAL(st.requests, rig_stats(&r).requests);
	for (unsigned i = 0; i < 3; i++) {
		const struct uvi_owner_domain *d = &st.domains[i];

		CU_ASSERT_EQUAL(d->mappings, PER_DOMAIN);
		CU_ASSERT_EQUAL(d->mapped_bytes, PER_DOMAIN * RIG_PAGE);
		if (d->id == viommu_domain_id(w.a)) {
			CU_ASSERT_EQUAL(d->n_endpoints, 2);
			CU_ASSERT(d->endpoints[0] + d->endpoints[1] == EP1 + EP2);
		} else if (d->id == viommu_domain_id(w.b)) {
			CU_ASSERT_EQUAL(d->n_endpoints, 1);
			CU_ASSERT_EQUAL(d->endpoints[0], EP3);
		} else {
			CU_ASSERT_EQUAL(d->id, viommu_domain_id(w.idle));
			CU_ASSERT_EQUAL(d->n_endpoints, 0);
		}
	}
	rig_close(&r);
	rig_free_pages(w.pages);
}

/* ---- the environment ---- */

static char run_dir[64];

static void make_run_dir(void)
{
	strcpy(run_dir, "/tmp/uviommu-driver-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(run_dir));
	setenv(UVI_OWNER_RUN_DIR_ENV, run_dir, 1);
}

static void remove_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Another process owns the device: open fails with -EBUSY naming it, before touching it. */
static void test_second_owner_is_refused(void)
{
	const struct viommu_pci_addr addr = { 0, VIOMMU_BDF(0, 2, 0) };
	char pid_text[32];
	struct uvi_owner *owner;
	int status = -1;
	pid_t child;

	make_run_dir();
	rig_ok(uvi_owner_acquire(addr, &owner), "owner");
	snprintf(pid_text, sizeof(pid_text), "pid %d", (int)getpid());
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		struct viommu_open_opts o = { .device = "0000:00:02.0", .access = "uio" };
		struct viommu_dev *dev;
		int rc = viommu_open(&o, &dev);

		_exit(rc == -EBUSY && strstr(viommu_last_error(), pid_text) ? 0 : 1);
	}
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	uvi_owner_release(owner);
	unsetenv(UVI_OWNER_RUN_DIR_ENV);
	remove_dir(run_dir);
}

/* "auto" on a function bound to no userspace driver: the fix is in the message. */
static void test_auto_access_names_the_fix(void)
{
	const char *saved = uvi_sysfs_root;
	struct viommu_open_opts o = { .device = "0000:00:07.0" };
	char root[64] = "/tmp/uviommu-sysfs-XXXXXX", path[160];
	struct viommu_dev *dev;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(path, sizeof(path), "mkdir -p '%s/bus/pci/devices/0000:00:07.0' "
		 "'%s/bus/pci/drivers/uio_pci_generic'", root, root);
	CU_ASSERT_EQUAL_FATAL(system(path), 0);
	uvi_sysfs_root = root;
	rig_expect(viommu_open(&o, &dev), -ENODEV, "auto, no driver");
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(),
				      "uviommu-info bind 0000:00:07.0 --driver uio"));
	o.access = "carrier-pigeon";
	rig_expect(viommu_open(&o, &dev), -EINVAL, "unknown access");
	uvi_sysfs_root = saved;
	remove_dir(root);
}

static const struct test_case cases[] = {
	TEST_CASE(test_status_codes),
	TEST_CASE(test_used_length_zero),
	TEST_CASE(test_out_of_order_completions),
	TEST_CASE(test_delayed_completions),
	TEST_CASE(test_tiny_request_queue_is_refused),
	TEST_CASE(test_probe_waits_for_ring_room),
	TEST_CASE(test_needs_reset_replays_everything),
	TEST_CASE(test_needs_reset_seen_when_idle),
	TEST_CASE(test_needs_reset_during_attach),
	TEST_CASE(test_reset_with_requests_in_flight),
	TEST_CASE(test_deverr_storm_resets),
	TEST_CASE(test_timeout_then_manual_reset),
	TEST_CASE(test_event_queue_full),
	TEST_CASE(test_malformed_event_records),
	TEST_CASE(test_probe_properties_hostile),
	TEST_CASE(test_owner_snapshot_contents),
	TEST_CASE(test_second_owner_is_refused),
	TEST_CASE(test_auto_access_names_the_fix),
	TEST_END,
};

int main(void)
{
	return run_suite("driver-faults", cases);
}
