/* SPDX-License-Identifier: BSD-3-Clause */
/* Split virtqueues (virtio 1.2, 2.7): the driver in lib/virtio against the sim's device side. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <uviommu/error.h>

#include "../../lib/common/prefetch.h"
#include "../../lib/virtio/virtio_ring.h"
#include "cunit_main.h"
#include "vq_harness.h"

static void test_single_request(void)
{
	vqt_check_single(UVI_VQ_SPLIT);
}

static void test_batches(void)
{
	vqt_check_batch(UVI_VQ_SPLIT);
}

/* 16-bit available and used indices wrap at 65536: go well past that. */
static void test_index_wrap(void)
{
	vqt_check_index_wrap(UVI_VQ_SPLIT, 8, 150000);
}

static void test_full_queue(void)
{
	vqt_check_full_queue(UVI_VQ_SPLIT);
}

static void test_out_of_order(void)
{
	vqt_check_out_of_order(UVI_VQ_SPLIT);
}

static void test_used_ready(void)
{
	vqt_check_used_ready(UVI_VQ_SPLIT);
}

static void test_reset(void)
{
	vqt_check_reset(UVI_VQ_SPLIT);
}

static void test_bad_calls(void)
{
	vqt_check_bad_calls(UVI_VQ_SPLIT);
}

static void test_poll_mode(void)
{
	vqt_check_poll_mode(UVI_VQ_SPLIT, false);
}

static void test_poll_mode_event_idx(void)
{
	vqt_check_poll_mode(UVI_VQ_SPLIT, true);
}

/* One request through the whole cycle; returns what publish() said. */
static bool round_trip(struct vqt_pair *p, struct vqt_req *r, unsigned serial)
{
	bool notify;

	vqt_req_init(r, serial);
	CU_ASSERT_EQUAL(vqt_add(p, r), 0);
	notify = uvi_vq_publish(p->drv);
	CU_ASSERT_EQUAL(vqt_dev_pop(p), 1);
	vqt_dev_complete(p, NULL, 1);
	CU_ASSERT_EQUAL(vqt_reap(p, NULL, 0), 1);
	return notify;
}

/* Without EVENT_IDX: used->flags NO_NOTIFY is honoured (2.7.10). */
static void test_kick_flags(void)
{
	struct vqt_pair p;
	struct vqt_req r;

	if (!vqt_setup(&p, UVI_VQ_SPLIT, 16, false))
		goto out;
	CU_ASSERT_TRUE(round_trip(&p, &r, 1));
	sim_vq_kick_enable(p.dev, false);
	CU_ASSERT_FALSE(round_trip(&p, &r, 2));
	CU_ASSERT_FALSE(round_trip(&p, &r, 3));
	sim_vq_kick_enable(p.dev, true);
	CU_ASSERT_TRUE(round_trip(&p, &r, 4));
	/* avail_event means nothing without EVENT_IDX: the device's value is ignored. */
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, 100), -EINVAL);
	CU_ASSERT_TRUE(round_trip(&p, &r, 5));
out:
	vqt_teardown(&p);
}

/* With EVENT_IDX: notify exactly when the batch makes entry avail_event available (2.7.10). */
static void test_kick_event_idx(void)
{
	struct vqt_pair p;
	unsigned failures = CU_get_number_of_failures(), idx = 0;
	struct vqt_req reqs[4];

	if (!vqt_setup(&p, UVI_VQ_SPLIT, 16, true))
		goto out;
	/* A fresh used ring has avail_event 0: the first entry is wanted. */
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 1));
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs + 1, 1)); /* the device has not caught up */
	vqt_serve_all(&p);
	idx = 2;
	CU_ASSERT_EQUAL(sim_vq_avail_position(p.dev), idx);
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, sim_vq_avail_position(p.dev)), 0);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 1));
	vqt_serve_all(&p);
	idx = 3;
	/* Wanted: entry 5. Entries 3, 4 no; the batch holding 5 yes; 6 no. */
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, 5), 0);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs + 1, 1));
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs + 2, 2));
	vqt_serve_all(&p);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));
	vqt_serve_all(&p);
	idx = 8;
	/* Kicks off: avail_event stays out of reach as the device moves on. */
	sim_vq_kick_enable(p.dev, false);
	for (; idx < 65533; idx++) {
		CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));
		vqt_serve_all(&p);
		if (CU_get_number_of_failures() != failures)
			break;
	}
	/* Across the 16-bit wrap: wanted entry 65535, then entry 1. */
	CU_ASSERT_EQUAL(sim_vq_avail_position(p.dev), 65533);
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, 0xffff), 0);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 2)); /* 65533, 65534 */
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs + 2, 2)); /* 65535, 0 */
	vqt_serve_all(&p);
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, 1), 0);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 3)); /* 1, 2, 3 */
	vqt_serve_all(&p);
	CU_ASSERT_EQUAL(sim_vq_avail_position(p.dev), 4);
	CU_ASSERT_EQUAL(p.used_notifies, 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 16);
out:
	vqt_teardown(&p);
}

/* ---- the device side refuses chains a driver built wrongly ---- */

static struct vring_desc *ring_desc(struct vqt_pair *p)
{
	struct uvi_vq_addrs a;

	uvi_vq_get_addrs(p->drv, &a);
	return (struct vring_desc *)(uintptr_t)a.desc;
}

static void set_desc(struct vqt_pair *p, uint16_t i, uint16_t flags, uint16_t next)
{
	static uint8_t buf[64];

	ring_desc(p)[i] = (struct vring_desc){ .addr = htole64((uintptr_t)buf),
					       .len = htole32(8), .flags = htole16(flags),
					       .next = htole16(next) };
}

/* Make avail entry 0 name head and publish it (as a hostile driver would). */
static void offer_head(struct vqt_pair *p, uint16_t head, uint16_t idx)
{
	struct uvi_vq_addrs a;
	struct vring_avail *avail;

	uvi_vq_get_addrs(p->drv, &a);
	avail = (struct vring_avail *)(uintptr_t)a.driver;
	avail->ring[0] = htole16(head);
	vring_store16(&avail->idx, idx, memory_order_release);
}

static void test_device_rejects_bad_chains(void)
{
	struct vqt_pair p;
	struct sim_vq_chain c;

	if (!vqt_setup(&p, UVI_VQ_SPLIT, 16, false))
		goto out;
	set_desc(&p, 0, VRING_DESC_F_NEXT, 1);
	set_desc(&p, 1, VRING_DESC_F_NEXT, 0);
	offer_head(&p, 0, 1);
	vqt_expect_bad_chain(&p, "loops");

	offer_head(&p, 16, 1);
	vqt_expect_bad_chain(&p, "names descriptor 16");

	set_desc(&p, 0, VRING_DESC_F_NEXT, 40);
	offer_head(&p, 0, 1);
	vqt_expect_bad_chain(&p, "links to descriptor 40");

	set_desc(&p, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&p, 1, 0, 0);
	offer_head(&p, 0, 1);
	vqt_expect_bad_chain(&p, "readable descriptor after a device-writable");

	set_desc(&p, 0, VRING_DESC_F_INDIRECT, 0);
	offer_head(&p, 0, 1);
	vqt_expect_bad_chain(&p, "indirect");

	set_desc(&p, 0, 0, 0);
	offer_head(&p, 0, 17);
	vqt_expect_bad_chain(&p, "available index moved to 17");

	/* A good one-descriptor chain still goes through after all that. */
	set_desc(&p, 3, 0, 0);
	offer_head(&p, 3, 1);
	CU_ASSERT_EQUAL(sim_vq_pop(p.dev, &c), 1);
	CU_ASSERT_EQUAL(c.id, 3);
	CU_ASSERT_EQUAL(c.n, 1);
	vqt_teardown(&p);

	/* Longer than the sim serves (64), in a queue where that is no loop. */
	if (!vqt_setup(&p, UVI_VQ_SPLIT, 128, false))
		goto out;
	for (uint16_t i = 0; i < 65; i++)
		set_desc(&p, i, i < 64 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer_head(&p, 0, 1);
	vqt_expect_bad_chain(&p, "longer than 64");
	for (uint16_t i = 0; i < 64; i++)
		set_desc(&p, i, i < 63 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer_head(&p, 0, 1);
	CU_ASSERT_EQUAL(sim_vq_pop(p.dev, &c), 1);
	CU_ASSERT_EQUAL(c.n, 64);
out:
	vqt_teardown(&p);
}

/*
 * The completions' prefetch for write (lib/common/prefetch.h) is on where
 * the CPU has PREFETCHW: its flag as the kernel reports it agrees with
 * what the library's load-time CPUID check found (on x86; elsewhere the
 * compiler's write prefetch is always used).
 */
static void test_prefetchw_detected(void)
{
	static char line_for_prefetch[64] = { 0x5a };

#if defined(__x86_64__) || defined(__i386__)
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool has = false, seen = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (!seen && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		seen = true;
		has = strstr(line, " 3dnowprefetch") != NULL;
	}
	fclose(f);
	CU_ASSERT_TRUE_FATAL(seen);
	CU_ASSERT_EQUAL(uvi_cpu_prefetchw, has);
#else
	CU_ASSERT_TRUE(uvi_cpu_prefetchw);
#endif
	uvi_prefetch_for_write(line_for_prefetch); /* a hint: it must neither fault nor change it */
	CU_ASSERT_EQUAL(line_for_prefetch[0], 0x5a);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_single_request),
		TEST_CASE(test_batches),
		TEST_CASE(test_index_wrap),
		TEST_CASE(test_full_queue),
		TEST_CASE(test_out_of_order),
		TEST_CASE(test_used_ready),
		TEST_CASE(test_reset),
		TEST_CASE(test_bad_calls),
		TEST_CASE(test_poll_mode),
		TEST_CASE(test_poll_mode_event_idx),
		TEST_CASE(test_kick_flags),
		TEST_CASE(test_kick_event_idx),
		TEST_CASE(test_device_rejects_bad_chains),
		TEST_CASE(test_prefetchw_detected),
		TEST_END,
	};

	return run_suite("vq-split", cases);
}
