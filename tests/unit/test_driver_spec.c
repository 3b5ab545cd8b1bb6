/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver (include/uviommu/viommu.h) against behaviour every
 * spec-conforming virtio-iommu shows (virtio 1.2, section 5.13), run on
 * the software device in both ring layouts.
 *
 * Device behaviour assumed, all from the spec: ATTACH creates a domain
 * and moves an endpoint attached elsewhere (5.13.6.3); the last DETACH
 * destroys the domain and its mappings (5.13.6.4); PROBE reports the
 * reserved regions (here QEMU's MSI window 0xfee00000-0xfeefffff); a
 * mapping translates DMA, no mapping faults with a record on the event
 * queue (5.13.6.9); bypass = 0 blocks unattached endpoints (5.13.4); a
 * device out of resources answers NOMEM; one UNMAP may remove several
 * whole mappings (5.13.6.6).
 *
 * Where QEMU's device deviates: it does not check MAP alignment, and it
 * removes the mappings an UNMAP covers before failing one that would
 * split a mapping. The driver never sends either request (it refuses
 * them with -EINVAL and -EXDEV first), so QEMU and the software device
 * must agree on every outcome tested here. QEMU also lets the MSI window
 * through untranslated, as the software device does; no test DMAs there.
 *
 * Checks go through the device: its mapping and domain counts and
 * simulated DMA (sim_device_dma) that either lands in the mapped page or
 * faults. Waits are bounded by the driver's request timeout; nothing
 * asserts on time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "driver_rig.h"

#define F(bit) (1ull << (bit))
#define IOVA 0x100000ull
#define EP1 8
#define EP2 16
#define EP3 24
#define MSI_START 0xfee00000ull
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)

static void ok(int rc, const char *what)
{
	CU_ASSERT_EQUAL(rig_check(rc, what), 0);
}

/* ---- open ---- */

static void open_info(bool packed)
{
	struct viommu_dev_info info;
	struct rig r;

	rig_open_default(&r, packed);
	ok(viommu_get_info(r.dev, &info), "info");
	CU_ASSERT_STRING_EQUAL(info.access, "sim");
	CU_ASSERT_STRING_EQUAL(info.ring, packed ? "packed" : "split");
	CU_ASSERT_EQUAL(info.granule, 4096);
	CU_ASSERT(info.features_negotiated & F(VIRTIO_IOMMU_F_MAP_UNMAP));
	CU_ASSERT(info.features_negotiated & F(VIRTIO_IOMMU_F_BYPASS_CONFIG));
	CU_ASSERT(info.features_negotiated & F(VIRTIO_IOMMU_F_PROBE));
	CU_ASSERT(info.features_negotiated & F(VIRTIO_F_EVENT_IDX));
	CU_ASSERT_FALSE(info.features_negotiated & F(VIRTIO_IOMMU_F_BYPASS));
	CU_ASSERT_EQUAL(info.bypass, 0);
	CU_ASSERT_TRUE(info.unattached_blocked);
	CU_ASSERT_PTR_NOT_NULL(strstr(info.isolation, "bypass = 0"));
	CU_ASSERT_EQUAL(info.probe_size, 512);
	CU_ASSERT_EQUAL(info.request_queue_size, SIM_QUEUE_SIZE_DEFAULT);
	rig_close(&r);
}

static void test_open_info_split(void)
{
	open_info(false);
}

static void test_open_info_packed(void)
{
	open_info(true);
}

/* The driver's own software device when none is given; bad options. */
static void test_open_default_sim(void)
{
	struct viommu_open_opts o = { .access = "sim" };
	struct viommu_dev_info info;
	struct viommu_domain *dom;
	struct viommu_dev *dev;

	ok(viommu_open(&o, &dev), "open");
	ok(viommu_get_info(dev, &info), "info");
	CU_ASSERT_STRING_EQUAL(info.device, "0000:00:02.0");
	ok(viommu_domain_create(dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_map(dom, IOVA, 0x40000000, RIG_PAGE, RW), "map");
	viommu_close(dev);
	viommu_close(NULL);

	o.device = "0000:00:02.9";
	CU_ASSERT_EQUAL(viommu_open(&o, &dev), -EINVAL);
	CU_ASSERT_EQUAL(viommu_open(NULL, &dev), -EINVAL);
}

/* ---- validation ---- */

static void expect(int rc, int err, const char *what)
{
	if (rc != err)
		fprintf(stderr, "%s: got %d, expected %d (%s)\n", what, rc, err,
			viommu_last_error());
	CU_ASSERT_EQUAL(rc, err);
}

static void test_validation_errnos(void)
{
	struct sim_config cfg;
	struct viommu_domain *dom, *gone;
	struct viommu_batch *b;
	uint8_t *pages = rig_pages(4);
	uint64_t p = rig_phys(pages), requests;
	struct rig r;

	rig_config(&cfg, false);
	cfg.iommu.input_end = (1ull << 40) - 1;
	rig_open(&r, &cfg, NULL);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_map(dom, IOVA, p, RIG_PAGE, RW), "map");
	requests = rig_stats(&r).requests;

	expect(viommu_map(dom, IOVA + 0x10000, p, 0, RW), -EINVAL, "len 0");
	expect(viommu_map(dom, UINT64_MAX - 0xfff, p, 0x2000, RW), -EINVAL, "iova wraps");
	expect(viommu_map(dom, IOVA + 0x10000, UINT64_MAX - 0xfff, 0x2000, RW), -EINVAL,
	       "phys wraps");
	expect(viommu_map(dom, IOVA + 0x10000, p, RIG_PAGE, 1u << 5), -EINVAL, "flags");
	expect(viommu_map(dom, IOVA + 0x10800, p, RIG_PAGE, RW), -EINVAL, "iova align");
	expect(viommu_map(dom, IOVA + 0x10000, p + 0x800, RIG_PAGE, RW), -EINVAL, "phys align");
	expect(viommu_map(dom, IOVA + 0x10000, p, 0x800, RW), -EINVAL, "len align");
	expect(viommu_map(dom, 1ull << 40, p, RIG_PAGE, RW), -ERANGE, "input range");
	expect(viommu_map(dom, (1ull << 40) - RIG_PAGE, p, 2 * RIG_PAGE, RW), -ERANGE,
	       "input range end");
	expect(viommu_unmap(dom, 1ull << 40, RIG_PAGE), -ERANGE, "unmap input range");
	expect(viommu_map(dom, IOVA, p + RIG_PAGE, RIG_PAGE, RW), -EEXIST, "existing");
	expect(viommu_map(dom, IOVA - RIG_PAGE, p, 2 * RIG_PAGE, RW), -EEXIST, "overlap");
	expect(viommu_map(dom, MSI_START, p, RIG_PAGE, RW), -EACCES, "reserved");
	expect(viommu_map(dom, MSI_START - RIG_PAGE, p, 2 * RIG_PAGE, RW), -EACCES,
	       "reserved overlap");

	/* An in-flight mapping counts: the second add of a batch sees the first. */
	ok(viommu_batch_create(r.dev, 4, 0, &b), "batch");
	CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + 0x20000, p, 2 * RIG_PAGE, RW), 0);
	expect(viommu_batch_map(b, dom, IOVA + 0x21000, p, RIG_PAGE, RW), -EEXIST, "in flight");
	expect(viommu_batch_unmap(b, dom, IOVA + 0x20000, RIG_PAGE), -EXDEV, "split in flight");
	CU_ASSERT_EQUAL(viommu_batch_count(b), 1);
	ok(viommu_batch_run(b), "batch run");
	viommu_batch_destroy(b);

	expect(viommu_unmap(dom, IOVA + 0x20000, RIG_PAGE), -EXDEV, "split");
	expect(viommu_unmap(dom, IOVA + 0x21000, 2 * RIG_PAGE), -EXDEV, "split end");
	/* The driver sent none of these. */
	CU_ASSERT_EQUAL(rig_stats(&r).requests, requests + 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 2);

	/* Unmapping nothing succeeds without a request (5.13.6.6 example 1). */
	ok(viommu_unmap(dom, IOVA + 0x40000, 16 * RIG_PAGE), "unmap nothing");
	CU_ASSERT_EQUAL(rig_stats(&r).requests, requests + 1);

	/* A destroyed domain. */
	ok(viommu_domain_create(r.dev, &gone), "domain 2");
	viommu_domain_destroy(gone);
	expect(viommu_map(gone, IOVA, p, RIG_PAGE, RW), -ENOENT, "destroyed map");
	expect(viommu_unmap(gone, IOVA, RIG_PAGE), -ENOENT, "destroyed unmap");
	expect(viommu_attach_endpoint(gone, EP2), -ENOENT, "destroyed attach");
	expect(viommu_map(NULL, IOVA, p, RIG_PAGE, RW), -EINVAL, "NULL domain");

	/* What was there is still there. */
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + 8, pages));
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 2);
	rig_close(&r);
	rig_free_pages(pages);
}

static void test_mmio_needs_feature(void)
{
	struct viommu_domain *dom;
	struct sim_config cfg;
	struct rig r;

	rig_config(&cfg, false);
	cfg.features &= ~F(VIRTIO_IOMMU_F_MMIO);
	rig_open(&r, &cfg, NULL);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	expect(viommu_map(dom, IOVA, 0x40000000, RIG_PAGE, VIOMMU_MAP_WRITE | VIOMMU_MAP_MMIO),
	       -EOPNOTSUPP, "MMIO without the feature");
	ok(viommu_map(dom, IOVA, 0x40000000, RIG_PAGE, VIOMMU_MAP_WRITE), "without MMIO");
	rig_close(&r);

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_map(dom, IOVA, 0x40000000, RIG_PAGE, VIOMMU_MAP_WRITE | VIOMMU_MAP_MMIO),
	   "MMIO with the feature");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 1);
	rig_close(&r);
}

/* ---- the shadow: before attach, re-attach, last detach ---- */

static void map_before_attach(bool packed)
{
	uint8_t *pages = rig_pages(3);
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, packed);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	for (unsigned i = 0; i < 3; i++)
		ok(viommu_map(dom, IOVA + i * RIG_PAGE, rig_phys(pages + i * RIG_PAGE), RIG_PAGE,
			      RW), "map");
	ok(viommu_unmap(dom, IOVA + RIG_PAGE, RIG_PAGE), "unmap");
	/* The device knows nothing yet. */
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 0);
	CU_ASSERT_EQUAL(rig_stats(&r).requests, 0);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 2);

	ok(viommu_attach_endpoint(dom, EP1), "attach");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 2);
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA, pages));
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA + RIG_PAGE, pages + RIG_PAGE));
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + 2 * RIG_PAGE + 64, pages + 2 * RIG_PAGE));
	rig_close(&r);
	rig_free_pages(pages);
}

static void test_map_before_attach_split(void)
{
	map_before_attach(false);
}

static void test_map_before_attach_packed(void)
{
	map_before_attach(true);
}

static void test_reattach_moves_endpoint(void)
{
	uint8_t *pa = rig_pages(1), *pb = rig_pages(1);
	struct viommu_domain *a, *b;
	uint32_t where;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &a), "domain a");
	ok(viommu_domain_create(r.dev, &b), "domain b");
	ok(viommu_map(a, IOVA, rig_phys(pa), RIG_PAGE, RW), "map a");
	ok(viommu_map(b, IOVA + 0x10000, rig_phys(pb), RIG_PAGE, RW), "map b");
	ok(viommu_attach_endpoint(a, EP1), "attach a");
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA, pa));

	ok(viommu_attach_endpoint(b, EP1), "move to b");
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA, pa));
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + 0x10000, pb));
	/* a lost its last endpoint: the device dropped it, the shadow kept it. */
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 1);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 2);
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);

	/* a comes back with its mappings at its next attach. */
	ok(viommu_attach_endpoint(a, EP2), "attach a again");
	CU_ASSERT_TRUE(rig_translates(&r, EP2, IOVA, pa));
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 2);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 2);
	CU_ASSERT_EQUAL(sim_device_dma(r.sim, EP2, IOVA + 0x10000, &where, 4, SIM_DMA_READ),
			-EFAULT);
	rig_close(&r);
	rig_free_pages(pa);
	rig_free_pages(pb);
}

static void test_last_detach_forgets_domain(void)
{
	uint8_t *pages = rig_pages(2);
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach 1");
	ok(viommu_attach_endpoint(dom, EP2), "attach 2");
	ok(viommu_map(dom, IOVA, rig_phys(pages), RIG_PAGE, RW), "map");
	ok(viommu_detach_endpoint(dom, EP1), "detach 1");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 1);
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA, pages));
	CU_ASSERT_TRUE(rig_translates(&r, EP2, IOVA, pages));
	expect(viommu_detach_endpoint(dom, EP1), -ENOENT, "detach twice");

	ok(viommu_detach_endpoint(dom, EP2), "last detach");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 0);
	CU_ASSERT_FALSE(rig_translates(&r, EP2, IOVA, pages));
	/* Changes while nothing is attached go to the shadow only. */
	ok(viommu_map(dom, IOVA + RIG_PAGE, rig_phys(pages + RIG_PAGE), RIG_PAGE, RW), "map");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 0);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 2);

	ok(viommu_attach_endpoint(dom, EP2), "attach again");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 2);
	CU_ASSERT_TRUE(rig_translates(&r, EP2, IOVA, pages));
	CU_ASSERT_TRUE(rig_translates(&r, EP2, IOVA + RIG_PAGE, pages + RIG_PAGE));
	rig_close(&r);
	rig_free_pages(pages);
}

/* ---- PROBE and reserved regions ---- */

static void test_probe_reserved_regions(void)
{
	struct viommu_resv_region regions[4];
	struct viommu_domain *dom, *other;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_domain_create(r.dev, &other), "other");
	expect(viommu_get_resv_regions(r.dev, EP1, regions, 4), -ENOENT, "not probed yet");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	CU_ASSERT_EQUAL(viommu_get_resv_regions(r.dev, EP1, regions, 4), 1);
	CU_ASSERT_EQUAL(regions[0].start, MSI_START);
	CU_ASSERT_EQUAL(regions[0].end, 0xfeefffffull);
	CU_ASSERT_EQUAL(regions[0].subtype, VIOMMU_RESV_MSI);
	CU_ASSERT_EQUAL(viommu_get_resv_regions(r.dev, EP1, NULL, 0), 1);

	expect(viommu_map(dom, MSI_START + 0x1000, 0x40000000, RIG_PAGE, RW), -EACCES,
	       "map over MSI");
	/* A domain without endpoints has no reserved set... */
	ok(viommu_map(other, MSI_START, 0x40000000, RIG_PAGE, RW), "map while unattached");
	/* ...but an endpoint that reserves what it maps cannot join it. */
	expect(viommu_attach_endpoint(other, EP1), -EACCES, "attach over MSI");
	expect(viommu_attach_endpoint(other, EP2), -EACCES, "attach another over MSI");
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	ok(viommu_unmap(other, MSI_START, RIG_PAGE), "unmap");
	ok(viommu_attach_endpoint(other, EP1), "attach now");
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	rig_close(&r);
}

/* ---- batches ---- */

#define BATCH 64

static void batch_partial_failure(bool packed)
{
	uint8_t *pages = rig_pages(BATCH);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct sim_config cfg;
	unsigned failed = 0, good = 0;
	int bad = -1;
	struct rig r;

	/* A device with room for 63 mappings: one MAP in 64 gets NOMEM. */
	rig_config(&cfg, packed);
	cfg.iommu.max_mappings = BATCH - 1;
	rig_open(&r, &cfg, NULL);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_batch_create(r.dev, BATCH, 0, &b), "batch");
	for (unsigned i = 0; i < BATCH; i++)
		CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + i * RIG_PAGE,
						 rig_phys(pages + i * RIG_PAGE), RIG_PAGE, RW),
				(int)i);
	CU_ASSERT_EQUAL(viommu_batch_run(b), -ENOMEM);
	for (unsigned i = 0; i < BATCH; i++) {
		int st = viommu_batch_status(b, i);

		if (st == 0) {
			good++;
			CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + i * RIG_PAGE,
						      pages + i * RIG_PAGE));
		} else {
			failed++;
			bad = (int)i;
			CU_ASSERT_EQUAL(st, -ENOMEM);
		}
	}
	CU_ASSERT_EQUAL(good, BATCH - 1);
	CU_ASSERT_EQUAL(failed, 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, BATCH - 1);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, BATCH - 1);
	/* The failed one left no trace: its range is free again. */
	CU_ASSERT_FATAL(bad >= 0);
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA + (unsigned)bad * RIG_PAGE,
				       pages + (unsigned)bad * RIG_PAGE));
	expect(viommu_batch_status(b, BATCH), -EINVAL, "status past the end");
	ok(viommu_batch_reset(b), "reset");
	CU_ASSERT_EQUAL(viommu_batch_count(b), 0);
	viommu_batch_destroy(b);
	rig_close(&r);
	rig_free_pages(pages);
}

static void test_batch_partial_failure_split(void)
{
	batch_partial_failure(false);
}

static void test_batch_partial_failure_packed(void)
{
	batch_partial_failure(true);
}

/* One publish for many requests. */
static void test_batch_one_notify(void)
{
	uint8_t *pages = rig_pages(BATCH);
	struct viommu_stats before, after;
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_batch_create(r.dev, BATCH, 0, &b), "batch");
	for (unsigned i = 0; i < BATCH; i++)
		viommu_batch_map(b, dom, IOVA + i * RIG_PAGE, rig_phys(pages + i * RIG_PAGE),
				 RIG_PAGE, RW);
	before = rig_stats(&r);
	ok(viommu_batch_run(b), "run");
	after = rig_stats(&r);
	CU_ASSERT_EQUAL(after.requests - before.requests, BATCH);
	CU_ASSERT(after.notifies - before.notifies <= 1);
	CU_ASSERT_EQUAL(after.mappings, BATCH);
	viommu_batch_destroy(b);
	rig_close(&r);
	rig_free_pages(pages);
}

/* Requests of one batch that depend on each other wait for each other. */
static void dependent_requests(bool packed)
{
	uint8_t *pages = rig_pages(4);
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct rig r;

	rig_open_default(&r, packed);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_map(dom, IOVA, rig_phys(pages), RIG_PAGE, RW), "map 0");
	ok(viommu_map(dom, IOVA + 2 * RIG_PAGE, rig_phys(pages + 2 * RIG_PAGE), RIG_PAGE, RW),
	   "map 2");
	ok(viommu_batch_create(r.dev, 8, 0, &b), "batch");
	/* MAP then UNMAP of the same range: the UNMAP must not overtake the MAP. */
	CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + 8 * RIG_PAGE,
					 rig_phys(pages + 3 * RIG_PAGE), RIG_PAGE, RW), 0);
	CU_ASSERT_EQUAL(viommu_batch_unmap(b, dom, IOVA + 8 * RIG_PAGE, RIG_PAGE), 1);
	/* An UNMAP with a hole, then a MAP in the hole: the MAP waits for the UNMAP. */
	CU_ASSERT_EQUAL(viommu_batch_unmap(b, dom, IOVA, 3 * RIG_PAGE), 2);
	CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + RIG_PAGE, rig_phys(pages + RIG_PAGE),
					 RIG_PAGE, RW), 3);
	/* Two requests are held back at submit. */
	CU_ASSERT_EQUAL(viommu_batch_submit(b), 2);
	ok(viommu_batch_run(b), "run");
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(viommu_batch_status(b, i), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 1);
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA + 8 * RIG_PAGE, pages + 3 * RIG_PAGE));
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA, pages));
	CU_ASSERT_TRUE(rig_translates(&r, EP1, IOVA + RIG_PAGE, pages + RIG_PAGE));
	CU_ASSERT_FALSE(rig_translates(&r, EP1, IOVA + 2 * RIG_PAGE, pages + 2 * RIG_PAGE));
	viommu_batch_destroy(b);
	rig_close(&r);
	rig_free_pages(pages);
}

static void test_dependent_requests_split(void)
{
	dependent_requests(false);
}

static void test_dependent_requests_packed(void)
{
	dependent_requests(true);
}

/* Another batch's pending range is off limits until it completes. */
static void test_batches_do_not_race(void)
{
	struct viommu_batch *b1, *b2;
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_batch_create(r.dev, 4, 0, &b1), "batch 1");
	ok(viommu_batch_create(r.dev, 4, 0, &b2), "batch 2");
	CU_ASSERT_EQUAL(viommu_batch_map(b1, dom, IOVA, 0x40000000, RIG_PAGE, RW), 0);
	expect(viommu_batch_unmap(b2, dom, IOVA, RIG_PAGE), -EBUSY, "unmap of a pending map");
	expect(viommu_unmap(dom, IOVA, RIG_PAGE), -EBUSY, "sync unmap of a pending map");
	ok(viommu_batch_run(b1), "run 1");
	CU_ASSERT_EQUAL(viommu_batch_unmap(b2, dom, IOVA - RIG_PAGE, 4 * RIG_PAGE), 0);
	expect(viommu_batch_map(b1, dom, IOVA + RIG_PAGE, 0x40001000, RIG_PAGE, RW), -EBUSY,
	       "map inside a pending unmap");
	ok(viommu_batch_run(b2), "run 2");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 0);
	/* Destroying a batch gives its unsent requests up and rolls the shadow back. */
	ok(viommu_batch_reset(b1), "reset 1");
	CU_ASSERT_EQUAL(viommu_batch_map(b1, dom, IOVA, 0x40000000, RIG_PAGE, RW), 0);
	viommu_batch_destroy(b1);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 0);
	ok(viommu_map(dom, IOVA, 0x40000000, RIG_PAGE, RW), "map after destroy");
	viommu_batch_destroy(b2);
	rig_close(&r);
}

/* More requests than the queue holds: the driver reaps to make room. */
static void test_queue_full_back_pressure(void)
{
	enum { N = 300 };
	struct viommu_open_opts o = { .queue_size = 8 };
	struct viommu_dev_info info;
	struct viommu_domain *dom;
	struct viommu_batch *b;
	struct sim_config cfg;
	time_t deadline;
	struct rig r;

	rig_config(&cfg, false);
	rig_open(&r, &cfg, &o);
	ok(viommu_get_info(r.dev, &info), "info");
	CU_ASSERT_EQUAL(info.request_queue_size, 8);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_batch_create(r.dev, N, 0, &b), "batch");
	for (unsigned i = 0; i < N; i++)
		CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA + i * RIG_PAGE,
						 0x40000000 + i * RIG_PAGE, RIG_PAGE, RW), (int)i);
	CU_ASSERT(viommu_batch_submit(b) > 0);
	deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	while (viommu_batch_poll(b) > 0 && time(NULL) < deadline)
		;
	for (unsigned i = 0; i < N; i++)
		CU_ASSERT_EQUAL(viommu_batch_status(b, i), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, N);
	viommu_batch_destroy(b);
	rig_close(&r);
}

/* ---- UNMAP coalescing ---- */

static uint64_t unmap_whole(struct rig *r, struct viommu_domain *dom, unsigned flags)
{
	struct viommu_batch *b;
	uint64_t before;

	ok(viommu_batch_create(r->dev, BATCH, flags, &b), "batch");
	for (unsigned i = 0; i < BATCH; i++)
		viommu_batch_map(b, dom, IOVA + i * RIG_PAGE, 0x40000000 + i * RIG_PAGE, RIG_PAGE,
				 RW);
	ok(viommu_batch_run(b), "maps");
	ok(viommu_batch_reset(b), "reset");
	before = rig_sim_stats(r).requests;
	for (unsigned i = 0; i < BATCH; i++)
		CU_ASSERT_EQUAL(viommu_batch_unmap(b, dom, IOVA + i * RIG_PAGE, RIG_PAGE), (int)i);
	ok(viommu_batch_run(b), "unmaps");
	for (unsigned i = 0; i < BATCH; i++)
		CU_ASSERT_EQUAL(viommu_batch_status(b, i), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(r).mappings, 0);
	viommu_batch_destroy(b);
	return rig_sim_stats(r).requests - before;
}

static void unmap_coalescing(bool packed)
{
	struct viommu_domain *dom;
	struct rig r;

	rig_open_default(&r, packed);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	CU_ASSERT_EQUAL(unmap_whole(&r, dom, 0), BATCH);
	CU_ASSERT_EQUAL(unmap_whole(&r, dom, VIOMMU_BATCH_COALESCE_UNMAP), 1);
	rig_close(&r);
}

static void test_unmap_coalescing_split(void)
{
	unmap_coalescing(false);
}

static void test_unmap_coalescing_packed(void)
{
	unmap_coalescing(true);
}

/* ---- faults ---- */

struct seen {
	unsigned calls;
	struct viommu_fault last;
};

static void on_fault(const struct viommu_fault *f, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->last = *f;
}

static void fault_events(bool packed)
{
	struct seen s1 = { 0 }, s2 = { 0 }, sd = { 0 };
	uint8_t *page = rig_pages(1), byte = 1;
	struct viommu_domain *dom;
	struct viommu_stats st;
	struct rig r;

	rig_open_default(&r, packed);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_attach_endpoint(dom, EP1), "attach 1");
	ok(viommu_attach_endpoint(dom, EP2), "attach 2");
	ok(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, VIOMMU_MAP_READ), "map read-only");
	ok(viommu_set_fault_handler(r.dev, EP1, on_fault, &s1), "handler 1");
	ok(viommu_set_fault_handler(r.dev, EP2, on_fault, &s2), "handler 2");
	ok(viommu_set_default_fault_handler(r.dev, on_fault, &sd), "default");

	/* A write into a read-only mapping. */
	CU_ASSERT_EQUAL(rig_dma_write(&r, EP2, IOVA + 0x40, &byte, 1), -EFAULT);
	CU_ASSERT_EQUAL(page[0x40], 0);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 1);
	CU_ASSERT_EQUAL(s1.calls, 0);
	CU_ASSERT_EQUAL(s2.calls, 1);
	CU_ASSERT_EQUAL(s2.last.reason, VIOMMU_FAULT_REASON_MAPPING);
	CU_ASSERT_EQUAL(s2.last.flags, VIOMMU_FAULT_WRITE | VIOMMU_FAULT_ADDRESS);
	CU_ASSERT_EQUAL(s2.last.endpoint_id, EP2);
	CU_ASSERT_EQUAL(s2.last.address, IOVA + 0x40);

	/* An unattached endpoint with no handler of its own: the default handler. */
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP3, IOVA, &byte, 1), -EFAULT);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 1);
	CU_ASSERT_EQUAL(sd.calls, 1);
	CU_ASSERT_EQUAL(sd.last.reason, VIOMMU_FAULT_REASON_DOMAIN);
	CU_ASSERT_EQUAL(sd.last.endpoint_id, EP3);
	CU_ASSERT(sd.last.flags & VIOMMU_FAULT_READ);

	/* Removing a handler sends its endpoint's faults to the default one. */
	ok(viommu_set_fault_handler(r.dev, EP1, NULL, NULL), "remove handler 1");
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP1, IOVA + 0x10000, &byte, 1), -EFAULT);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 1);
	CU_ASSERT_EQUAL(sd.calls, 2);
	CU_ASSERT_EQUAL(sd.last.endpoint_id, EP1);
	CU_ASSERT_EQUAL(s1.calls, 0);
	CU_ASSERT_EQUAL(viommu_poll_events(r.dev, 0), 0);

	st = rig_stats(&r);
	CU_ASSERT_EQUAL(st.faults, 3);
	CU_ASSERT_EQUAL(st.faults_reason[VIOMMU_FAULT_REASON_MAPPING], 2);
	CU_ASSERT_EQUAL(st.faults_reason[VIOMMU_FAULT_REASON_DOMAIN], 1);
	CU_ASSERT_EQUAL(st.faults_dropped_malformed, 0);
	rig_close(&r);
	rig_free_pages(page);
}

static void test_fault_events_split(void)
{
	fault_events(false);
}

static void test_fault_events_packed(void)
{
	fault_events(true);
}

static void count_fault(const struct viommu_fault *f, void *arg)
{
	if (f->endpoint_id == EP1)
		__atomic_add_fetch((unsigned *)arg, 1, __ATOMIC_RELEASE);
}

static void test_event_thread(void)
{
	unsigned calls = 0;
	struct rig r;
	uint8_t byte;
	time_t deadline;

	rig_open_default(&r, false);
	ok(viommu_set_default_fault_handler(r.dev, count_fault, &calls), "default");
	ok(viommu_start_event_thread(r.dev, 100), "start");
	expect(viommu_start_event_thread(r.dev, 100), -EALREADY, "start twice");
	CU_ASSERT_EQUAL(rig_dma_read(&r, EP1, IOVA, &byte, 1), -EFAULT);
	deadline = time(NULL) + RIG_WAIT_LIMIT_S;
	while (!__atomic_load_n(&calls, __ATOMIC_ACQUIRE) && time(NULL) < deadline) {
		const struct timespec pause = { 0, 100000 };

		nanosleep(&pause, NULL);
	}
	viommu_stop_event_thread(r.dev);
	viommu_stop_event_thread(r.dev);
	CU_ASSERT_EQUAL(__atomic_load_n(&calls, __ATOMIC_ACQUIRE), 1);
	rig_close(&r);
}

/* ---- bypass ---- */

static void test_bypass_blocks_unattached(void)
{
	struct viommu_open_opts keep = { .flags = VIOMMU_OPEN_KEEP_BYPASS };
	uint8_t *page = rig_pages(1), byte = 0x77;
	struct viommu_dev_info info;
	struct rig r;

	/* bypass = 0: an unattached endpoint reaches nothing. */
	rig_open_default(&r, false);
	CU_ASSERT_EQUAL(rig_dma_write(&r, EP1, rig_phys(page), &byte, 1), -EFAULT);
	CU_ASSERT_EQUAL(page[0], 0);
	rig_close(&r);

	/* Kept at the device's 1: untranslated access to all memory, and info says so. */
	rig_open(&r, NULL, &keep);
	ok(viommu_get_info(r.dev, &info), "info");
	CU_ASSERT_EQUAL(info.bypass, 1);
	CU_ASSERT_FALSE(info.unattached_blocked);
	CU_ASSERT_PTR_NOT_NULL(strstr(info.isolation, "NOT blocked"));
	CU_ASSERT_EQUAL(rig_dma_write(&r, EP1, rig_phys(page), &byte, 1), 0);
	CU_ASSERT_EQUAL(page[0], 0x77);
	rig_close(&r);
	rig_free_pages(page);
}

static void test_bypass_without_bypass_config(void)
{
	struct viommu_dev_info info;
	struct sim_config cfg;
	struct rig r;

	rig_config(&cfg, false);
	cfg.features &= ~F(VIRTIO_IOMMU_F_BYPASS_CONFIG);
	cfg.iommu.bypass_default = false;
	rig_open(&r, &cfg, NULL);
	ok(viommu_get_info(r.dev, &info), "info");
	CU_ASSERT_TRUE(info.unattached_blocked);
	CU_ASSERT_PTR_NOT_NULL(strstr(info.isolation, "no BYPASS_CONFIG"));
	rig_close(&r);
}

static void test_split_ring_flag(void)
{
	struct viommu_open_opts o = { .flags = VIOMMU_OPEN_SPLIT_RING | VIOMMU_OPEN_NO_EVENT_IDX };
	struct viommu_dev_info info;
	struct sim_config cfg;
	struct rig r;

	rig_config(&cfg, true);
	rig_open(&r, &cfg, &o);
	ok(viommu_get_info(r.dev, &info), "info");
	CU_ASSERT_STRING_EQUAL(info.ring, "split");
	CU_ASSERT_FALSE(info.features_negotiated & F(VIRTIO_F_EVENT_IDX));
	CU_ASSERT((info.features_offered & F(VIRTIO_F_RING_PACKED)) != 0);
	rig_close(&r);
}

/* A device that cannot take a domain's mappings: the endpoint is not left half-attached. */
static void test_attach_replay_failure_leaves_endpoint_detached(void)
{
	struct viommu_domain *dom;
	struct sim_config cfg;
	struct rig r;

	rig_config(&cfg, false);
	cfg.iommu.max_mappings = 2;
	rig_open(&r, &cfg, NULL);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	for (unsigned i = 0; i < 4; i++)
		ok(viommu_map(dom, IOVA + i * RIG_PAGE, 0x40000000 + i * RIG_PAGE, RIG_PAGE, RW),
		   "map");
	expect(viommu_attach_endpoint(dom, EP1), -ENOMEM, "attach");
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 0);
	CU_ASSERT_EQUAL(rig_stats(&r).mappings, 4);
	ok(viommu_unmap(dom, IOVA, 2 * RIG_PAGE), "unmap half");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 2);
	rig_close(&r);
}

/* Requests waiting in a batch for a domain that is destroyed fail with -ENOENT. */
static void test_destroyed_domain_fails_pending_requests(void)
{
	struct viommu_domain *dom, *keep;
	struct viommu_batch *b;
	struct rig r;

	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_domain_create(r.dev, &keep), "keep");
	ok(viommu_attach_endpoint(dom, EP1), "attach");
	ok(viommu_attach_endpoint(keep, EP2), "attach keep");
	ok(viommu_batch_create(r.dev, 4, 0, &b), "batch");
	CU_ASSERT_EQUAL(viommu_batch_map(b, dom, IOVA, 0x40000000, RIG_PAGE, RW), 0);
	CU_ASSERT_EQUAL(viommu_batch_map(b, keep, IOVA, 0x40000000, RIG_PAGE, RW), 1);
	CU_ASSERT_EQUAL(viommu_batch_status(b, 0), -EINPROGRESS);
	viommu_domain_destroy(dom);
	CU_ASSERT_EQUAL(viommu_batch_status(b, 0), -ENOENT);
	CU_ASSERT_EQUAL(viommu_batch_run(b), -ENOENT);
	CU_ASSERT_EQUAL(viommu_batch_status(b, 1), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).mappings, 1);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 1);
	viommu_batch_destroy(b);
	rig_close(&r);
}

/* ---- domain IDs ---- */

static void test_domain_ids_within_range(void)
{
	struct viommu_domain *a, *b, *c, *d;
	struct sim_config cfg;
	struct rig r;

	rig_config(&cfg, false);
	cfg.iommu.domain_start = 5;
	cfg.iommu.domain_end = 6;
	rig_open(&r, &cfg, NULL);
	ok(viommu_domain_create(r.dev, &a), "a");
	ok(viommu_domain_create(r.dev, &b), "b");
	CU_ASSERT_EQUAL(viommu_domain_id(a), 5);
	CU_ASSERT_EQUAL(viommu_domain_id(b), 6);
	expect(viommu_domain_create(r.dev, &c), -ENOSPC, "range exhausted");
	ok(viommu_attach_endpoint(b, EP1), "attach b");
	viommu_domain_destroy(a);
	ok(viommu_domain_create(r.dev, &c), "c");
	CU_ASSERT_EQUAL(viommu_domain_id(c), 5);
	ok(viommu_attach_endpoint(c, EP2), "attach c");
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 2);
	/* Destroying an attached domain detaches its endpoints on the device. */
	viommu_domain_destroy(b);
	CU_ASSERT_EQUAL(rig_sim_stats(&r).domains, 1);
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	CU_ASSERT_EQUAL(rig_stats(&r).domains, 1);
	ok(viommu_domain_create(r.dev, &d), "d");
	CU_ASSERT_EQUAL(viommu_domain_id(d), 6);
	rig_close(&r);
}

/* ---- endpoint IDs of PCI functions ---- */

static void test_attach_by_pci_address(void)
{
	static const char topo[] = "iommu v0 virtio-pci 0000:00:02.0\n"
				   "pci-range v0 0000:00:00.0 0000:00:1f.7 0x100\n";
	const struct viommu_pci_addr nic = { 0, VIOMMU_BDF(0, 3, 0) };
	const struct viommu_pci_addr iommu = { 0, VIOMMU_BDF(0, 2, 0) };
	const struct viommu_pci_addr outside = { 0, VIOMMU_BDF(1, 0, 0) };
	char path[] = "/tmp/uviommu-topo-XXXXXX";
	struct viommu_open_opts o = { 0 };
	uint8_t *page = rig_pages(1);
	struct viommu_domain *dom;
	struct rig r;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, topo, sizeof(topo) - 1), (ssize_t)sizeof(topo) - 1);
	close(fd);

	/* From the topology: 00:03.0 is endpoint 0x100 + 0x18. */
	o.topology_path = path;
	rig_open(&r, NULL, &o);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), "map");
	ok(viommu_attach(dom, nic), "attach 00:03.0");
	CU_ASSERT_TRUE(rig_translates(&r, 0x118, IOVA, page));
	CU_ASSERT_EQUAL(rig_stats(&r).endpoints_attached, 1);
	expect(viommu_attach(dom, iommu), -ENODEV, "the IOMMU itself");
	expect(viommu_attach(dom, outside), -ENOENT, "not behind it");
	ok(viommu_detach(dom, nic), "detach 00:03.0");
	CU_ASSERT_FALSE(rig_translates(&r, 0x118, IOVA, page));
	rig_close(&r);

	/* The software device without a topology: the BDF, as QEMU's default VIOT. */
	rig_open_default(&r, false);
	ok(viommu_domain_create(r.dev, &dom), "domain");
	ok(viommu_map(dom, IOVA, rig_phys(page), RIG_PAGE, RW), "map");
	ok(viommu_attach(dom, nic), "attach 00:03.0");
	CU_ASSERT_TRUE(rig_translates(&r, 0x18, IOVA, page));
	rig_close(&r);
	unlink(path);
	rig_free_pages(page);
}

static const struct test_case cases[] = {
	TEST_CASE(test_open_info_split),
	TEST_CASE(test_open_info_packed),
	TEST_CASE(test_open_default_sim),
	TEST_CASE(test_validation_errnos),
	TEST_CASE(test_mmio_needs_feature),
	TEST_CASE(test_map_before_attach_split),
	TEST_CASE(test_map_before_attach_packed),
	TEST_CASE(test_reattach_moves_endpoint),
	TEST_CASE(test_last_detach_forgets_domain),
	TEST_CASE(test_probe_reserved_regions),
	TEST_CASE(test_batch_partial_failure_split),
	TEST_CASE(test_batch_partial_failure_packed),
	TEST_CASE(test_batch_one_notify),
	TEST_CASE(test_dependent_requests_split),
	TEST_CASE(test_dependent_requests_packed),
	TEST_CASE(test_batches_do_not_race),
	TEST_CASE(test_queue_full_back_pressure),
	TEST_CASE(test_unmap_coalescing_split),
	TEST_CASE(test_unmap_coalescing_packed),
	TEST_CASE(test_fault_events_split),
	TEST_CASE(test_fault_events_packed),
	TEST_CASE(test_event_thread),
	TEST_CASE(test_bypass_blocks_unattached),
	TEST_CASE(test_bypass_without_bypass_config),
	TEST_CASE(test_split_ring_flag),
	TEST_CASE(test_attach_replay_failure_leaves_endpoint_detached),
	TEST_CASE(test_destroyed_domain_fails_pending_requests),
	TEST_CASE(test_domain_ids_within_range),
	TEST_CASE(test_attach_by_pci_address),
	TEST_END,
};

int main(void)
{
	return run_suite("driver-spec", cases);
}
