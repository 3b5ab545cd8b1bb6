/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK plugin's mapping table (drivers/dpdk/memmap.c) against the
 * software device, without EAL: the table is the plugin's record of what
 * every NIC's domain maps, so after every call, whatever failed, it must
 * say exactly what the device lets each NIC reach. The checks go through
 * the device: simulated DMA by each NIC's endpoint, page by page.
 *
 * Failures are forced where a running plugin meets them only by bad luck:
 *  - out of memory at each allocation memmap.c makes in turn (memmap.c is
 *    built for this suite with realloc renamed to uvi_test_realloc);
 *  - a MAP or an UNMAP the device fails (sim fault injection);
 *  - a batch that cannot be reset after it ran (viommu_batch_reset renamed
 *    to uvi_test_batch_reset in memmap.c): the requests after it are never
 *    sent.
 *
 * EAL's side (memory events, the bus hooks, testpmd) runs in the guest,
 * in tests/vm/check-dpdk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cunit_main.h"
#include "driver_rig.h"
#include "../../drivers/dpdk/dpdk_internal.h"
#include "../../drivers/iommu/wire.h"

#define NPAGES 512u
#define EP_A 8
#define EP_B 16

/* ---- what memmap.c needs from the rest of the plugin ---- */

struct uvi_dpdk uvi_dpdk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static char last_fail[512];

int uvi_dpdk_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_fail, sizeof(last_fail), fmt, ap);
	va_end(ap);
	return rc;
}

void uvi_dpdk_log(unsigned level, const char *fmt, ...)
{
	(void)level;
	(void)fmt; /* the errors memmap.c logs are counted in uvi_dpdk.c, checked below */
}

uint64_t uvi_dpdk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- out of memory on demand: memmap.c's realloc ---- */

static long reallocs_left = -1; /* < 0: never fail; else fail once this many went through */
static unsigned reallocs_failed;

void *uvi_test_realloc(void *p, size_t size);
void *uvi_test_realloc(void *p, size_t size)
{
	if (reallocs_left == 0) {
		reallocs_left = -1;
		reallocs_failed++;
		return NULL;
	}
	if (reallocs_left > 0)
		reallocs_left--;
	return realloc(p, size);
}

/* ---- a batch that fails after it ran: memmap.c's viommu_batch_reset ---- */

static long resets_left = -1; /* < 0: never fail; else fail once this many went through */

int uvi_test_batch_reset(struct viommu_batch *b);
int uvi_test_batch_reset(struct viommu_batch *b)
{
	int rc = viommu_batch_reset(b); /* done anyway: the batch stays usable */

	if (resets_left == 0) {
		resets_left = -1;
		return -EBUSY;
	}
	if (resets_left > 0)
		resets_left--;
	return rc;
}

/* ---- the rig: a software device, NICs each in a domain of its own or all in one ---- */

static struct rig rig;
static uint8_t *mem; /* NPAGES pages: IOVA = address, as the sim translates */

static uint64_t page_addr(unsigned page)
{
	return rig_phys(mem + (size_t)page * RIG_PAGE);
}

static void add_nic(uint32_t ep, bool shared)
{
	struct uvi_dpdk_nic *n = &uvi_dpdk.nics[uvi_dpdk.n_nics++];

	n->endpoint_id = ep;
	n->port = -1;
	snprintf(n->name, sizeof(n->name), "ep%u", ep);
	if (shared && uvi_dpdk.shared) {
		n->dom = uvi_dpdk.shared;
	} else {
		rig_ok(viommu_domain_create(rig.dev, &n->dom), "domain");
		if (shared)
			uvi_dpdk.shared = n->dom;
	}
	rig_ok(viommu_attach_endpoint(n->dom, ep), "attach");
	n->attached = true;
}

static void setup(bool shared)
{
	pthread_mutex_t lock = uvi_dpdk.lock;

	memset(&uvi_dpdk, 0, sizeof(uvi_dpdk));
	uvi_dpdk.lock = lock;
	rig_open_default(&rig, false);
	uvi_dpdk.dev = rig.dev;
	uvi_dpdk.granule = RIG_PAGE;
	rig_ok(viommu_batch_create(rig.dev, UVI_DPDK_BATCH, VIOMMU_BATCH_COALESCE_UNMAP,
				   &uvi_dpdk.batch), "batch");
	add_nic(EP_A, shared);
	add_nic(EP_B, shared);
	mem = rig_pages(NPAGES);
	reallocs_left = -1;
	reallocs_failed = 0;
	resets_left = -1;
}

static void teardown(void)
{
	viommu_batch_destroy(uvi_dpdk.batch);
	rig_close(&rig);
	rig_free_pages(mem);
	free(uvi_dpdk.maps);
	uvi_dpdk.maps = NULL;
}

/* ---- the invariant: the table is what the device lets every attached NIC reach ---- */

static bool table_covers(uint64_t addr)
{
	for (size_t i = 0; i < uvi_dpdk.n_maps; i++)
		if (addr >= uvi_dpdk.maps[i].start &&
		    addr - uvi_dpdk.maps[i].start < uvi_dpdk.maps[i].len)
			return true;
	return false;
}

static bool reachable(uint32_t ep, unsigned page)
{
	uint32_t word;

	return rig_dma_read(&rig, ep, page_addr(page), &word, sizeof(word)) == 0;
}

/* Pages where the device and the table disagree, for every NIC (attached ones: the table). */
static unsigned out_of_step(void)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < uvi_dpdk.n_nics; i++) {
		const struct uvi_dpdk_nic *n = &uvi_dpdk.nics[i];

		for (unsigned p = 0; p < NPAGES; p++) {
			bool want = n->attached && table_covers(page_addr(p));

			if (reachable(n->endpoint_id, p) != want) {
				if (!bad)
					fprintf(stderr, "  ep %u page %u: device %s, table %s\n",
						n->endpoint_id, p, want ? "refuses" : "allows",
						want ? "maps" : "does not");
				bad++;
			}
		}
	}
	return bad;
}

static void check_table_sorted(void)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < uvi_dpdk.n_maps; i++) {
		bytes += uvi_dpdk.maps[i].len;
		if (i)
			CU_ASSERT(uvi_dpdk.maps[i - 1].start + uvi_dpdk.maps[i - 1].len <=
				  uvi_dpdk.maps[i].start);
	}
	CU_ASSERT_EQUAL(bytes, uvi_dpdk.mapped_bytes);
}

static struct uvi_dpdk_range pages(unsigned first, unsigned n)
{
	return (struct uvi_dpdk_range){ page_addr(first), (uint64_t)n * RIG_PAGE };
}

/* pages first, first + 2, ... : n mappings of one page, none adjacent */
static void map_every_other_page(unsigned first, unsigned n)
{
	struct uvi_dpdk_range r[NPAGES / 2];

	CU_ASSERT_FATAL(n <= NPAGES / 2);
	for (unsigned i = 0; i < n; i++)
		r[i] = pages(first + 2 * i, 1);
	rig_ok(uvi_dpdk_map_ranges(r, n), "map every other page");
}

/* ---- cases ---- */

static void test_map_unmap_and_split(void)
{
	struct uvi_dpdk_range r[2];

	setup(false);
	r[0] = pages(0, 16);
	r[1] = pages(32, 16);
	rig_ok(uvi_dpdk_map_ranges(r, 2), "map");
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 2);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	/* The middle of the first: UNMAP it whole, MAP both sides again. */
	rig_ok(uvi_dpdk_unmap_range(page_addr(4), 4 * RIG_PAGE, false), "split");
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 3);
	CU_ASSERT_FALSE(table_covers(page_addr(5)));
	CU_ASSERT_TRUE(table_covers(page_addr(3)) && table_covers(page_addr(8)));
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.splits), 1);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	/* An external-memory unmap never splits. */
	CU_ASSERT_EQUAL(uvi_dpdk_unmap_range(page_addr(40), RIG_PAGE, true), -EXDEV);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 3);
	rig_ok(uvi_dpdk_unmap_range(page_addr(32), 16 * RIG_PAGE, true), "whole");
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 2);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	check_table_sorted();
	teardown();
}

/*
 * Each allocation of a map_ranges call fails in turn. Before the fix, the
 * table grew after the device had mapped: a failed growth left mappings
 * the table did not know (and so would never unmap).
 */
static void test_out_of_memory_in_map_changes_nothing(void)
{
	unsigned k;
	int rc;

	setup(false);
	for (k = 0;; k++) {
		struct uvi_dpdk_range r[127];

		for (unsigned i = 0; i < 127; i++)
			r[i] = pages(2 * i, 1);
		reallocs_left = k;
		rc = uvi_dpdk_map_ranges(r, 127);
		if (reallocs_left < 0 && rc == -ENOMEM) {
			CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 0);
			CU_ASSERT_EQUAL(out_of_step(), 0);
			continue;
		}
		rig_ok(rc, "map with enough memory");
		break;
	}
	reallocs_left = -1;
	CU_ASSERT(reallocs_failed >= 2); /* the request list and the table */
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 127);
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.map_errors), 0);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	check_table_sorted();
	teardown();
}

/*
 * The same for a split: the table is full (128 entries), so the two parts
 * mapped back need it to grow.
 */
static void test_out_of_memory_in_split_changes_nothing(void)
{
	struct uvi_dpdk_range three;
	unsigned k;
	int rc;

	setup(false);
	three = pages(300, 3);
	map_every_other_page(0, 127);
	rig_ok(uvi_dpdk_map_ranges(&three, 1), "map three pages");
	CU_ASSERT_EQUAL_FATAL(uvi_dpdk.n_maps, uvi_dpdk.cap_maps);
	for (k = 0;; k++) {
		reallocs_left = k;
		rc = uvi_dpdk_unmap_range(page_addr(301), RIG_PAGE, false);
		if (reallocs_left < 0 && rc == -ENOMEM) {
			CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 128);
			CU_ASSERT_TRUE(table_covers(page_addr(301)));
			CU_ASSERT_EQUAL(out_of_step(), 0);
			continue;
		}
		rig_ok(rc, "split with enough memory");
		break;
	}
	reallocs_left = -1;
	CU_ASSERT(reallocs_failed >= 2);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 129);
	CU_ASSERT_FALSE(table_covers(page_addr(301)));
	CU_ASSERT_EQUAL(out_of_step(), 0);
	check_table_sorted();
	teardown();
}

/* One domain's MAP fails: the other's is undone, the range is reachable by no NIC. */
static void test_failed_map_is_undone_in_every_domain(void)
{
	struct uvi_dpdk_range r[2];

	setup(false); /* before pages(): it allocates the memory */
	r[0] = pages(0, 4);
	r[1] = pages(8, 4);
	/* Requests go in order: r[0] in EP_A's domain is the first. */
	sim_device_inject_status(rig.sim, 1, VIRTIO_IOMMU_S_IOERR);
	CU_ASSERT_EQUAL(uvi_dpdk_map_ranges(r, 2), -EIO);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 1);
	CU_ASSERT_FALSE(table_covers(page_addr(0)));
	CU_ASSERT_TRUE(table_covers(page_addr(8)));
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.map_errors), 1);
	CU_ASSERT_FALSE(uvi_dpdk.nics[0].blocked || uvi_dpdk.nics[1].blocked);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	/* Mapping it again works. */
	rig_ok(uvi_dpdk_map_ranges(r, 1), "map again");
	CU_ASSERT_EQUAL(out_of_step(), 0);
	teardown();
}

/* An UNMAP one domain fails: its NIC is detached and blocked, the table drops the range. */
static void failed_unmap(bool shared)
{
	struct uvi_dpdk_range r;

	setup(shared);
	r = pages(0, 8);
	rig_ok(uvi_dpdk_map_ranges(&r, 1), "map");
	sim_device_inject_status(rig.sim, 1, VIRTIO_IOMMU_S_IOERR);
	CU_ASSERT_EQUAL(uvi_dpdk_unmap_range(r.start, r.len, false), -EIO);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 0);
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.unmap_errors), 1);
	CU_ASSERT_TRUE(uvi_dpdk.nics[0].blocked && !uvi_dpdk.nics[0].attached);
	/* Separate domains: the other NIC's UNMAP went through and it stays. */
	CU_ASSERT_EQUAL(uvi_dpdk.nics[1].blocked, shared);
	CU_ASSERT_EQUAL(uvi_dpdk.nics[1].attached, !shared);
	CU_ASSERT_PTR_NULL(uvi_dpdk.shared);
	/* The blocked NIC reaches nothing; the other exactly the table. */
	CU_ASSERT_EQUAL(out_of_step(), 0);
	teardown();
}

static void test_failed_unmap_blocks_that_domain(void)
{
	failed_unmap(false);
}

static void test_failed_unmap_blocks_the_shared_domain(void)
{
	failed_unmap(true);
}

/*
 * A split whose UNMAP fails in one of two domains: the parts kept go back
 * to the healthy domain only, and later changes skip the blocked one
 * (before, its stale mapping made every overlapping MAP fail and be undone
 * in the healthy domain too).
 */
static void test_blocked_domain_does_not_hold_the_others_back(void)
{
	struct uvi_dpdk_range r;

	setup(false);
	r = pages(0, 8);
	rig_ok(uvi_dpdk_map_ranges(&r, 1), "map");
	sim_device_inject_status(rig.sim, 1, VIRTIO_IOMMU_S_IOERR); /* EP_A's UNMAP */
	CU_ASSERT_EQUAL(uvi_dpdk_unmap_range(page_addr(4), RIG_PAGE, false), -EIO);
	CU_ASSERT_TRUE(uvi_dpdk.nics[0].blocked);
	CU_ASSERT_TRUE(table_covers(page_addr(3)) && table_covers(page_addr(5)));
	CU_ASSERT_FALSE(table_covers(page_addr(4)));
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.map_errors), 0);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	/* The page comes back (DPDK reuses it): the healthy NIC reaches it again. */
	r = pages(4, 1);
	rig_ok(uvi_dpdk_map_ranges(&r, 1), "map the page again");
	CU_ASSERT_TRUE(reachable(EP_B, 4));
	CU_ASSERT_EQUAL(out_of_step(), 0);
	CU_ASSERT_EQUAL(uvi_dpdk_n_domains(), 1);
	teardown();
}

/*
 * Two domains: a batch holds 128 ops. The first batch cannot be reset:
 * its ops are settled from their statuses, the rest are never sent, and
 * the table records exactly the first batch's.
 */
static void test_batch_failing_midway(void)
{
	struct uvi_dpdk_range r[200];

	setup(false);
	for (unsigned i = 0; i < 200; i++)
		r[i] = pages(2 * i, 1);
	resets_left = 0;
	CU_ASSERT_EQUAL(uvi_dpdk_map_ranges(r, 200), -EIO);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, UVI_DPDK_BATCH / 2);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	rig_ok(uvi_dpdk_map_ranges(r, 200), "map the rest");
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 200);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	/* UNMAPs of 200 mappings: the 72 after the failed batch stay mapped, and in the table. */
	resets_left = 0;
	CU_ASSERT_EQUAL(uvi_dpdk_unmap_range(page_addr(0), 400 * RIG_PAGE, false), -EIO);
	CU_ASSERT_EQUAL(uvi_dpdk.n_maps, 200 - UVI_DPDK_BATCH / 2);
	CU_ASSERT_EQUAL(out_of_step(), 0);
	check_table_sorted();
	CU_ASSERT_EQUAL(atomic_load(&uvi_dpdk.c.map_errors) + atomic_load(&uvi_dpdk.c.unmap_errors),
			0);
	teardown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_map_unmap_and_split),
	TEST_CASE(test_out_of_memory_in_map_changes_nothing),
	TEST_CASE(test_out_of_memory_in_split_changes_nothing),
	TEST_CASE(test_failed_map_is_undone_in_every_domain),
	TEST_CASE(test_failed_unmap_blocks_that_domain),
	TEST_CASE(test_failed_unmap_blocks_the_shared_domain),
	TEST_CASE(test_blocked_domain_does_not_hold_the_others_back),
	TEST_CASE(test_batch_failing_midway),
	TEST_END,
};

int main(void)
{
	return run_suite("dpdk-memmap", cases);
}
