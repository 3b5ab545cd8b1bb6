/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile device: used entries written straight into ring memory. Every
 * protocol violation must give -EPROTO before any driver state changes,
 * then -EIO on every call until a reset; no token comes back twice or
 * without having been added. Run under ASan for out-of-bounds accesses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "../../lib/virtio/vq_internal.h"
#include "cunit_main.h"
#include "vq_harness.h"

enum { SIZE = 8, NREQ = 4 };

/* Requests A, B, C published; D added but not published. */
struct scene {
	struct vqt_pair p;
	struct vqt_req reqs[NREQ];
	void *state;       /* copy of the driver's private state */
	size_t state_len;
};

static bool scene_setup(struct scene *s, enum uvi_vq_layout layout)
{
	memset(s, 0, sizeof(*s));
	if (!vqt_setup(&s->p, layout, SIZE, false))
		return false;
	for (unsigned i = 0; i < NREQ; i++) {
		vqt_req_init(&s->reqs[i], i);
		CU_ASSERT_EQUAL(vqt_add(&s->p, &s->reqs[i]), 0);
		if (i == NREQ - 2)
			uvi_vq_publish(s->p.drv);
	}
	s->state_len = sizeof(struct uvi_vq) + SIZE * sizeof(struct uvi_vq_id);
	s->state = malloc(s->state_len);
	CU_ASSERT_PTR_NOT_NULL(s->state);
	return s->state != NULL;
}

static void scene_teardown(struct scene *s)
{
	free(s->state);
	vqt_teardown(&s->p);
}

static void snapshot(struct scene *s)
{
	memcpy(s->state, s->p.drv, s->state_len);
}

/* ---- what a hostile device writes ---- */

static struct vring_used *split_used(struct scene *s)
{
	return s->p.drv->split.used;
}

static void split_put(struct scene *s, uint16_t slot, uint32_t id, uint32_t len)
{
	struct vring_used_elem *e = &split_used(s)->ring[slot & (SIZE - 1)];

	vring_store32(&e->id, id, memory_order_relaxed);
	vring_store32(&e->len, len, memory_order_relaxed);
}

static void split_set_idx(struct scene *s, uint16_t idx)
{
	vring_store16(&split_used(s)->idx, idx, memory_order_release);
}

static void packed_put(struct scene *s, uint16_t slot, uint16_t id, uint32_t len, uint16_t flags)
{
	struct vring_packed_desc *d = &s->p.drv->packed.desc[slot];

	vring_store16(&d->id, id, memory_order_relaxed);
	vring_store32(&d->len, len, memory_order_relaxed);
	vring_store16(&d->flags, flags, memory_order_release);
}

/* Used in lap 1: AVAIL = USED = 1 (2.8.1); WRITE if data was written. */
#define USED_LAP1 (VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED)

/* ---- checks ---- */

static void expect_message(const char *needle)
{
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("error message does not name the bad value");
	}
}

/*
 * The next get_used fails with -EPROTO naming the value, touching nothing
 * but the broken flag; then everything says -EIO; a reset recovers.
 */
static void expect_protocol_error(struct scene *s, const char *needle)
{
	struct uvi_vq *vq = s->p.drv;
	unsigned returned_before[NREQ];
	void *token = NULL;
	uint32_t len = 7;

	for (unsigned i = 0; i < NREQ; i++)
		returned_before[i] = s->reqs[i].returned;
	snapshot(s);
	CU_ASSERT_EQUAL(uvi_vq_get_used(vq, &token, &len), -EPROTO);
	expect_message(needle);
	CU_ASSERT_PTR_NULL(token);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_TRUE(uvi_vq_broken(vq));
	((struct uvi_vq *)s->state)->broken = true;
	CU_ASSERT_EQUAL(memcmp(s->state, vq, s->state_len), 0);
	/* Broken: -EIO from now on, nothing handed out, nothing published. */
	CU_ASSERT_EQUAL(uvi_vq_get_used(vq, &token, &len), -EIO);
	CU_ASSERT_EQUAL(uvi_vq_get_used(vq, &token, &len), -EIO);
	CU_ASSERT_PTR_NULL(token);
	CU_ASSERT_EQUAL(vqt_add(&s->p, &(struct vqt_req){ 0 }), -EIO);
	CU_ASSERT_EQUAL(vqt_add(&s->p, &(struct vqt_req){ .serial = 1 }), -EIO); /* add_pair */
	CU_ASSERT_FALSE(uvi_vq_publish(vq));
	CU_ASSERT_EQUAL(memcmp(s->state, vq, s->state_len), 0);
	for (unsigned i = 0; i < NREQ; i++)
		CU_ASSERT_EQUAL(s->reqs[i].returned, returned_before[i]);
	/* A reset brings the queue back. */
	vqt_reset(&s->p);
	for (unsigned i = 0; i < NREQ; i++)
		s->reqs[i].queued = false;
	CU_ASSERT_FALSE(uvi_vq_broken(vq));
	CU_ASSERT_EQUAL(vqt_add(&s->p, &s->reqs[0]), 0);
	uvi_vq_publish(vq);
	CU_ASSERT_EQUAL(vqt_dev_pop(&s->p), 1);
	vqt_dev_complete(&s->p, NULL, 1);
	CU_ASSERT_EQUAL(vqt_reap(&s->p, NULL, 0), 1);
}

/* Take one good completion: must be req i. */
static void expect_token(struct scene *s, unsigned i, uint32_t want_len)
{
	void *token = NULL;
	uint32_t len = 0;

	CU_ASSERT_EQUAL(uvi_vq_get_used(s->p.drv, &token, &len), 1);
	CU_ASSERT_PTR_EQUAL(token, &s->reqs[i]);
	CU_ASSERT_EQUAL(len, want_len);
	if (token == &s->reqs[i])
		s->reqs[i].returned++;
}

/* ---- split: descriptors A 0-1, B 2-3, C 4-5, D 6-7 (D unpublished) ---- */

static void split_case(void (*write)(struct scene *s), const char *needle)
{
	unsigned failures = CU_get_number_of_failures();
	struct scene s;

	if (scene_setup(&s, UVI_VQ_SPLIT))
		write(&s);
	if (CU_get_number_of_failures() == failures)
		expect_protocol_error(&s, needle);
	scene_teardown(&s);
}

static void split_id_too_big(struct scene *s)
{
	split_put(s, 0, SIZE, 4);
	split_set_idx(s, 1);
}

static void split_id_huge(struct scene *s)
{
	split_put(s, 0, 0xffffffffu, 4);
	split_set_idx(s, 1);
}

static void split_id_not_head(struct scene *s)
{
	split_put(s, 0, 1, 4); /* A's second descriptor */
	split_set_idx(s, 1);
}

static void split_id_unpublished(struct scene *s)
{
	split_put(s, 0, 6, 4); /* D's head */
	split_set_idx(s, 1);
}

static void split_len_too_big(struct scene *s)
{
	split_put(s, 0, 2, 5); /* B offers 4 writable bytes */
	split_set_idx(s, 1);
}

static void split_idx_jump(struct scene *s)
{
	for (uint16_t i = 0; i < 4; i++)
		split_put(s, i, (uint16_t)(2 * i), 4);
	split_set_idx(s, 4); /* 3 outstanding */
}

static void split_idx_backwards(struct scene *s)
{
	split_set_idx(s, 0xffff);
}

static void split_duplicate(struct scene *s)
{
	split_put(s, 0, 0, 4);
	split_put(s, 1, 0, 4);
	split_set_idx(s, 2);
	expect_token(s, 0, 4);
}

static void split_completed_again(struct scene *s)
{
	split_put(s, 0, 4, 3); /* C, 3 bytes: fine */
	split_set_idx(s, 1);
	expect_token(s, 2, 3);
	split_put(s, 1, 4, 3); /* C again */
	split_set_idx(s, 2);
}

static void test_split_hostile(void)
{
	split_case(split_id_too_big, "buffer ID 8, beyond queue size 8");
	split_case(split_id_huge, "buffer ID 4294967295");
	split_case(split_id_not_head, "buffer ID 1, which is not outstanding");
	split_case(split_id_unpublished, "buffer ID 6, which is not outstanding");
	split_case(split_len_too_big, "5 bytes written to buffer ID 2");
	split_case(split_idx_jump, "only 3 chains are outstanding");
	split_case(split_idx_backwards, "used index moved to 65535");
	split_case(split_duplicate, "buffer ID 0, which is not outstanding");
	split_case(split_completed_again, "buffer ID 4, which is not outstanding");
}

/* ---- packed: IDs A 0, B 1, C 2, D 3; slots 0-1, 2-3, 4-5, 6-7 ---- */

static void packed_case(void (*write)(struct scene *s), const char *needle)
{
	unsigned failures = CU_get_number_of_failures();
	struct scene s;

	if (scene_setup(&s, UVI_VQ_PACKED))
		write(&s);
	if (CU_get_number_of_failures() == failures)
		expect_protocol_error(&s, needle);
	scene_teardown(&s);
}

static void packed_id_too_big(struct scene *s)
{
	packed_put(s, 0, SIZE, 4, USED_LAP1 | VRING_DESC_F_WRITE);
}

static void packed_id_free(struct scene *s)
{
	packed_put(s, 0, 5, 4, USED_LAP1 | VRING_DESC_F_WRITE);
}

static void packed_id_unpublished(struct scene *s)
{
	packed_put(s, 0, 3, 4, USED_LAP1 | VRING_DESC_F_WRITE); /* D */
}

static void packed_len_too_big(struct scene *s)
{
	packed_put(s, 0, 1, 5, USED_LAP1 | VRING_DESC_F_WRITE);
}

/* The same without WRITE, as QEMU completes: the length is still checked. */
static void packed_len_too_big_no_write_flag(struct scene *s)
{
	packed_put(s, 0, 1, 0xffffffffu, USED_LAP1);
}

static void packed_duplicate(struct scene *s)
{
	packed_put(s, 0, 0, 4, USED_LAP1 | VRING_DESC_F_WRITE);
	packed_put(s, 2, 0, 4, USED_LAP1 | VRING_DESC_F_WRITE);
	expect_token(s, 0, 4);
}

/* Nothing outstanding at all: a fresh queue gets a used descriptor. */
static void packed_nothing_outstanding(struct scene *s)
{
	vqt_reset(&s->p);
	for (unsigned i = 0; i < NREQ; i++)
		s->reqs[i].queued = false;
	packed_put(s, 0, 0, 0, USED_LAP1);
}

/* A used descriptor for C at the next lap's slot after the ring went round. */
static void packed_completed_again(struct scene *s)
{
	packed_put(s, 0, 2, 4, USED_LAP1 | VRING_DESC_F_WRITE);
	expect_token(s, 2, 4);
	packed_put(s, 2, 2, 4, USED_LAP1 | VRING_DESC_F_WRITE);
}

static void test_packed_hostile(void)
{
	packed_case(packed_id_too_big, "buffer ID 8, beyond queue size 8");
	packed_case(packed_id_free, "buffer ID 5, which is not outstanding");
	packed_case(packed_id_unpublished, "buffer ID 3, which is not outstanding");
	packed_case(packed_len_too_big, "5 bytes written to buffer ID 1");
	packed_case(packed_len_too_big_no_write_flag, "4294967295 bytes written to buffer ID 1");
	packed_case(packed_duplicate, "buffer ID 0, which is not outstanding");
	packed_case(packed_nothing_outstanding, "buffer ID 0, which is not outstanding");
	packed_case(packed_completed_again, "buffer ID 2, which is not outstanding");
}

/* Not violations: no completion yet, and no error. */
static void test_packed_not_used(void)
{
	struct scene s;
	void *token = NULL;
	uint32_t len = 9;

	if (!scene_setup(&s, UVI_VQ_PACKED))
		goto out;
	snapshot(&s);
	/* USED set for this lap but AVAIL not: what a stale available slot shows. */
	packed_put(&s, 0, 0, 4, VRING_PACKED_DESC_F_USED);
	CU_ASSERT_EQUAL(uvi_vq_get_used(s.p.drv, &token, &len), 0);
	packed_put(&s, 0, 0, 4, VRING_PACKED_DESC_F_AVAIL);
	CU_ASSERT_EQUAL(uvi_vq_get_used(s.p.drv, &token, &len), 0);
	CU_ASSERT_EQUAL(memcmp(s.state, s.p.drv, s.state_len), 0);
	CU_ASSERT_PTR_NULL(token);
	/*
	 * Without WRITE the length is reserved (2.8.4), but QEMU writes it
	 * there and never sets WRITE: it is taken, and checked like any other.
	 */
	packed_put(&s, 0, 1, 4, USED_LAP1);
	expect_token(&s, 1, 4);
	CU_ASSERT_FALSE(uvi_vq_broken(s.p.drv));
out:
	scene_teardown(&s);
}

/* ---- random garbage: the invariants hold whatever the device writes ---- */

static uint32_t next_random(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static void scribble(struct scene *s, uint32_t *seed)
{
	uint32_t r = next_random(seed);

	if (s->p.cfg.layout == UVI_VQ_SPLIT) {
		split_put(s, (uint16_t)(r & 7), next_random(seed) % 12,
			  next_random(seed) % 6);
		if (r & 0x100)
			split_set_idx(s, (uint16_t)(s->p.drv->split.last_used + (r >> 12) % 5));
	} else {
		uint16_t flags = (uint16_t)(next_random(seed) & 0x8082);

		packed_put(s, (uint16_t)(r & 7), (uint16_t)(next_random(seed) % 12),
			   next_random(seed) % 6, flags);
	}
}

static void random_garbage(enum uvi_vq_layout layout)
{
	unsigned failures = CU_get_number_of_failures(), eproto = 0, completions = 0;
	uint32_t seed = 4242;

	for (unsigned trial = 0; trial < 3000; trial++) {
		struct scene s;
		bool broken = false;

		if (!scene_setup(&s, layout))
			break;
		for (unsigned step = 0; step < 12; step++) {
			void *token = NULL;
			uint32_t len = 0;
			int rc;

			scribble(&s, &seed);
			rc = uvi_vq_get_used(s.p.drv, &token, &len);
			if (broken) {
				CU_ASSERT_EQUAL(rc, -EIO);
			} else if (rc == 1) {
				struct vqt_req *r = token;

				/* Only A, B, C were published, and each comes back at most once. */
				CU_ASSERT(r == &s.reqs[0] || r == &s.reqs[1] || r == &s.reqs[2]);
				CU_ASSERT_TRUE(r->queued);
				CU_ASSERT(len <= VQT_STATUS_LEN);
				r->queued = false;
				completions++;
			} else if (rc == -EPROTO) {
				broken = true;
				eproto++;
			} else {
				CU_ASSERT_EQUAL(rc, 0);
			}
			CU_ASSERT(uvi_vq_num_free(s.p.drv) <= SIZE);
		}
		scene_teardown(&s);
		if (CU_get_number_of_failures() != failures)
			break;
	}
	/* The garbage exercised both outcomes. */
	CU_ASSERT(eproto > 100);
	CU_ASSERT(completions > 100);
}

static void test_split_random_garbage(void)
{
	random_garbage(UVI_VQ_SPLIT);
}

static void test_packed_random_garbage(void)
{
	random_garbage(UVI_VQ_PACKED);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_split_hostile),
		TEST_CASE(test_packed_hostile),
		TEST_CASE(test_packed_not_used),
		TEST_CASE(test_split_random_garbage),
		TEST_CASE(test_packed_random_garbage),
		TEST_END,
	};

	return run_suite("vq-hostile", cases);
}
