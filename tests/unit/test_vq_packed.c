/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed virtqueues (virtio 1.2, 2.8): the driver in lib/virtio against the sim's device side. */
#include <errno.h>
#include <string.h>

#include <uviommu/error.h>

#include "../../lib/virtio/vq_internal.h"
#include "cunit_main.h"
#include "vq_harness.h"

static void test_single_request(void)
{
	vqt_check_single(UVI_VQ_PACKED);
}

static void test_batches(void)
{
	vqt_check_batch(UVI_VQ_PACKED);
}

/* An odd size: chains of two straddle the end of the ring, and counters flip often. */
static void test_index_wrap(void)
{
	vqt_check_index_wrap(UVI_VQ_PACKED, 7, 150000);
}

static void test_full_queue(void)
{
	vqt_check_full_queue(UVI_VQ_PACKED);
}

static void test_out_of_order(void)
{
	vqt_check_out_of_order(UVI_VQ_PACKED);
}

static void test_used_ready(void)
{
	vqt_check_used_ready(UVI_VQ_PACKED);
}

static void test_reset(void)
{
	vqt_check_reset(UVI_VQ_PACKED);
}

static void test_bad_calls(void)
{
	vqt_check_bad_calls(UVI_VQ_PACKED);
}

static void test_poll_mode(void)
{
	vqt_check_poll_mode(UVI_VQ_PACKED, false);
}

static void test_poll_mode_event_idx(void)
{
	vqt_check_poll_mode(UVI_VQ_PACKED, true);
}

/*
 * Wrap counters of both sides: the driver's avail and used positions and
 * the device's read position each flip their counter at every pass of
 * the ring end (2.8.1), and the queue keeps working across the flips.
 */
static void test_wrap_counters(void)
{
	struct vqt_pair p;
	struct vqt_req reqs[2];
	unsigned avail_flips = 0, used_flips = 0, dev_flips = 0;
	uint16_t avail_wrap, used_wrap, dev_wrap;

	if (!vqt_setup(&p, UVI_VQ_PACKED, 5, false))
		goto out;
	avail_wrap = p.drv->packed.avail.wrap;
	used_wrap = p.drv->packed.used.wrap;
	dev_wrap = sim_vq_avail_position(p.dev) >> 15;
	CU_ASSERT_EQUAL(avail_wrap, 1); /* both counters start at 1 */
	CU_ASSERT_EQUAL(dev_wrap, 1);
	for (unsigned round = 0; round < 100; round++) {
		/* 1 or 2 chains of two slots: 2, 4, 2, 4 ... slots of a ring of 5. */
		vqt_publish_batch(&p, reqs, 1 + round % 2);
		if (p.drv->packed.avail.wrap != avail_wrap)
			avail_flips++;
		avail_wrap = p.drv->packed.avail.wrap;
		vqt_dev_pop(&p);
		if ((sim_vq_avail_position(p.dev) >> 15) != dev_wrap)
			dev_flips++;
		dev_wrap = sim_vq_avail_position(p.dev) >> 15;
		CU_ASSERT_EQUAL(dev_wrap, avail_wrap); /* the device caught up */
		vqt_dev_complete(&p, NULL, p.n_chains);
		CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), 1 + round % 2);
		if (p.drv->packed.used.wrap != used_wrap)
			used_flips++;
		used_wrap = p.drv->packed.used.wrap;
		CU_ASSERT_EQUAL(p.drv->packed.used.slot, p.drv->packed.avail.slot);
		CU_ASSERT_EQUAL(used_wrap, avail_wrap);
	}
	/* 300 slots through a ring of 5: 60 passes of the end on every side. */
	CU_ASSERT_EQUAL(avail_flips, 60);
	CU_ASSERT_EQUAL(used_flips, 60);
	CU_ASSERT_EQUAL(dev_flips, 60);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 5);
out:
	vqt_teardown(&p);
}

/* ENABLE and DISABLE in the device event suppression structure (2.8.10). */
static void test_kick_flags(void)
{
	struct vqt_pair p;
	struct vqt_req reqs[2];

	if (!vqt_setup(&p, UVI_VQ_PACKED, 16, false))
		goto out;
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 2)); /* zeroed: ENABLE */
	vqt_serve_all(&p);
	sim_vq_kick_enable(p.dev, false);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 2));
	vqt_serve_all(&p);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));
	vqt_serve_all(&p);
	sim_vq_kick_enable(p.dev, true);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 1));
	vqt_serve_all(&p);
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, 3), -EINVAL); /* DESC needs EVENT_IDX */
out:
	vqt_teardown(&p);
}

static uint16_t event_at(uint16_t slot, uint16_t wrap)
{
	return (uint16_t)(slot | wrap << 15);
}

/* RING_EVENT_FLAGS_DESC: notify when the batch makes that slot available in that lap. */
static void test_kick_desc_event(void)
{
	struct vqt_pair p;
	struct vqt_req reqs[4];

	/* 8 slots, chains of 2: chain k of a lap takes slots 2k, 2k + 1. */
	if (!vqt_setup(&p, UVI_VQ_PACKED, 8, true))
		goto out;
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, event_at(2, 1)), 0);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));    /* slots 0-1 */
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs + 1, 1)); /* slots 2-3 */
	vqt_serve_all(&p);
	/* Slot 1 of the next lap (counter 0). */
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, event_at(1, 0)), 0);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs, 1));     /* 4-5 */
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs + 1, 1)); /* 6-7, then the counter flips */
	CU_ASSERT_EQUAL(p.drv->packed.avail.wrap, 0);
	vqt_serve_all(&p);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 1));      /* 0-1 of lap 0 */
	/* A slot of the lap just left is not made available again. */
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, event_at(3, 1)), 0);
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs + 1, 1)); /* 2-3 of lap 0 */
	vqt_serve_all(&p);
	/* A batch running over the ring end, wanted slot after the flip. */
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, event_at(0, 1)), 0);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 3)); /* 4-7 of lap 0, 0-1 of lap 1 */
	vqt_serve_all(&p);
	/* Where the device reads next, asked as an idle device would. */
	CU_ASSERT_EQUAL(sim_vq_avail_position(p.dev), event_at(2, 1));
	CU_ASSERT_EQUAL(sim_vq_kick_at(p.dev, sim_vq_avail_position(p.dev)), 0);
	CU_ASSERT_TRUE(vqt_publish_batch(&p, reqs, 1));
	CU_ASSERT_FALSE(vqt_publish_batch(&p, reqs + 1, 1));
	vqt_serve_all(&p);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 8);
	CU_ASSERT_EQUAL(p.used_notifies, 0);
out:
	vqt_teardown(&p);
}

/* ---- the device side refuses chains a driver built wrongly ---- */

static uint16_t avail_bits(uint16_t wrap)
{
	return wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
}

/* Write slot i as an available descriptor of lap 1 (a hostile driver's view). */
static void set_desc(struct vqt_pair *p, uint16_t i, uint16_t flags)
{
	static uint8_t buf[64];
	struct vring_packed_desc *d = &p->drv->packed.desc[i];

	d->addr = htole64((uintptr_t)buf);
	d->len = htole32(8);
	d->id = htole16(0);
	vring_store16(&d->flags, flags | avail_bits(1), memory_order_release);
}

static void test_device_rejects_bad_chains(void)
{
	struct vqt_pair p;
	struct sim_vq_chain c;

	if (!vqt_setup(&p, UVI_VQ_PACKED, 16, false))
		goto out;
	set_desc(&p, 1, VRING_DESC_F_NEXT); /* body first, head last */
	set_desc(&p, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	vqt_expect_bad_chain(&p, "readable descriptor after a device-writable");

	set_desc(&p, 0, VRING_DESC_F_NEXT); /* slot 1 left as zero: not available */
	vqt_expect_bad_chain(&p, "continues into slot 1, which is not available");

	set_desc(&p, 0, VRING_DESC_F_INDIRECT);
	vqt_expect_bad_chain(&p, "indirect");

	/* Every slot chained: the chain runs into slot 0 of the next lap. */
	for (uint16_t i = 16; i-- > 0;)
		set_desc(&p, i, VRING_DESC_F_NEXT);
	vqt_expect_bad_chain(&p, "continues into slot 0");

	set_desc(&p, 1, 0);
	set_desc(&p, 0, VRING_DESC_F_NEXT);
	CU_ASSERT_EQUAL(sim_vq_pop(p.dev, &c), 1);
	CU_ASSERT_EQUAL(c.n, 2);
	CU_ASSERT_EQUAL(c.ndesc, 2);
	vqt_teardown(&p);

	if (!vqt_setup(&p, UVI_VQ_PACKED, 128, false))
		goto out;
	for (uint16_t i = 65; i-- > 0;)
		set_desc(&p, i, i < 64 ? VRING_DESC_F_NEXT : 0);
	vqt_expect_bad_chain(&p, "longer than 64");
out:
	vqt_teardown(&p);
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
		TEST_CASE(test_wrap_counters),
		TEST_CASE(test_kick_flags),
		TEST_CASE(test_kick_desc_event),
		TEST_CASE(test_device_rejects_bad_chains),
		TEST_END,
	};

	return run_suite("vq-packed", cases);
}
