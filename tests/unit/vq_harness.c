/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/virtio/virtio_ring.h"
#include "../../lib/virtio/vq_internal.h" /* uvi_vq_fail_protocol: a broken queue */
#include "cunit_main.h"
#include "vq_harness.h"

#define STATUS_OK_MAGIC 0x5a

bool vqt_setup(struct vqt_pair *p, enum uvi_vq_layout layout, uint16_t size, bool event_idx)
{
	struct uvi_vq_addrs addrs;
	size_t align, alloc;
	int rc;

	memset(p, 0, sizeof(*p));
	p->cfg = (struct uvi_vq_config){ .layout = layout, .size = size, .event_idx = event_idx };
	p->ring_bytes = uvi_vq_ring_bytes(&p->cfg);
	align = uvi_vq_ring_align(&p->cfg);
	CU_ASSERT(p->ring_bytes > 0);
	CU_ASSERT(align >= 16 && (align & (align - 1)) == 0);
	if (p->ring_bytes == 0 || align < 16)
		return false;
	alloc = (p->ring_bytes + align - 1) & ~(align - 1);
	p->ring = aligned_alloc(align, alloc);
	p->chains = calloc(size, sizeof(*p->chains));
	CU_ASSERT_PTR_NOT_NULL(p->ring);
	CU_ASSERT_PTR_NOT_NULL(p->chains);
	if (!p->ring || !p->chains)
		return false;
	memset(p->ring, 0xa5, alloc); /* create must zero it */
	rc = uvi_vq_create(&p->cfg, p->ring, (uintptr_t)p->ring, &p->drv);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		return false;
	CU_ASSERT_EQUAL(uvi_vq_size(p->drv), size);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p->drv), size);
	CU_ASSERT_FALSE(uvi_vq_broken(p->drv));
	uvi_vq_get_addrs(p->drv, &addrs);
	CU_ASSERT_EQUAL(addrs.desc, (uintptr_t)p->ring);
	CU_ASSERT(addrs.driver > addrs.desc && addrs.device > addrs.driver);
	CU_ASSERT(addrs.device < (uintptr_t)p->ring + p->ring_bytes);
	rc = sim_vq_create(&p->cfg, &addrs, &p->dev);
	CU_ASSERT_EQUAL(rc, 0);
	return rc == 0;
}

void vqt_teardown(struct vqt_pair *p)
{
	if (p->dev)
		sim_vq_destroy(p->dev);
	if (p->drv)
		uvi_vq_destroy(p->drv);
	free(p->chains);
	free(p->ring);
	memset(p, 0, sizeof(*p));
}

void vqt_reset(struct vqt_pair *p)
{
	uvi_vq_reset(p->drv);
	sim_vq_reset(p->dev);
	p->n_chains = 0;
}

void vqt_req_init(struct vqt_req *r, unsigned serial)
{
	memset(r, 0, sizeof(*r));
	r->serial = serial;
	r->cmd[0] = (uint8_t)serial;
	r->cmd[1] = (uint8_t)(serial >> 8);
}

int vqt_add(struct vqt_pair *p, struct vqt_req *r)
{
	const struct uvi_vq_buf bufs[2] = {
		{ .addr = (uintptr_t)r->cmd, .len = VQT_REQ_LEN, .device_writable = false },
		{ .addr = (uintptr_t)r->status, .len = VQT_STATUS_LEN, .device_writable = true },
	};
	/* Both ways to add this chain, alternately: they must not differ. */
	int rc = r->serial & 1 ? uvi_vq_add_pair(p->drv, &bufs[0], &bufs[1], r) :
				 uvi_vq_add(p->drv, bufs, 2, r);

	if (rc == 0) {
		CU_ASSERT_FALSE(r->queued);
		r->queued = true;
	}
	return rc;
}

static bool chain_is_map_request(const struct sim_vq_chain *c)
{
	return c->n == 2 && c->ndesc == 2 && !c->bufs[0].device_writable &&
	       c->bufs[0].len == VQT_REQ_LEN && c->bufs[1].device_writable &&
	       c->bufs[1].len == VQT_STATUS_LEN &&
	       c->bufs[1].addr == c->bufs[0].addr + VQT_REQ_LEN;
}

unsigned vqt_dev_pop(struct vqt_pair *p)
{
	unsigned popped = 0;

	while (p->n_chains < p->cfg.size) {
		struct sim_vq_chain *c = &p->chains[p->n_chains];
		int rc = sim_vq_pop(p->dev, c);

		CU_ASSERT(rc == 0 || rc == 1);
		if (rc != 1)
			break;
		CU_ASSERT(chain_is_map_request(c));
		p->n_chains++;
		popped++;
	}
	return popped;
}

void vqt_dev_complete(struct vqt_pair *p, const unsigned *order, unsigned m)
{
	bool *done = calloc(p->n_chains ? p->n_chains : 1, sizeof(*done));
	unsigned kept = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(done);
	CU_ASSERT(m <= p->n_chains);
	for (unsigned i = 0; i < m && i < p->n_chains; i++) {
		unsigned k = order ? order[i] : i;
		const struct sim_vq_chain *c = &p->chains[k];
		const uint8_t *cmd = (const uint8_t *)(uintptr_t)c->bufs[0].addr;
		uint8_t *status = (uint8_t *)(uintptr_t)c->bufs[1].addr;

		CU_ASSERT_FALSE(done[k]);
		done[k] = true;
		status[0] = (uint8_t)(cmd[0] ^ STATUS_OK_MAGIC);
		sim_vq_push(p->dev, c, VQT_STATUS_LEN);
	}
	if (sim_vq_flush(p->dev))
		p->used_notifies++;
	for (unsigned i = 0; i < p->n_chains; i++)
		if (!done[i])
			p->chains[kept++] = p->chains[i];
	p->n_chains = kept;
	free(done);
}

unsigned vqt_reap(struct vqt_pair *p, struct vqt_req **got, unsigned max)
{
	unsigned n = 0;
	void *token;
	uint32_t len;
	int rc;

	while ((rc = uvi_vq_get_used(p->drv, &token, &len)) == 1) {
		struct vqt_req *r = token;

		CU_ASSERT_EQUAL(len, VQT_STATUS_LEN);
		CU_ASSERT_TRUE(r->queued);
		CU_ASSERT_EQUAL(r->status[0], (uint8_t)(r->cmd[0] ^ STATUS_OK_MAGIC));
		r->queued = false;
		r->returned++;
		if (got && n < max)
			got[n] = r;
		n++;
	}
	CU_ASSERT_EQUAL(rc, 0);
	return n;
}

void vqt_shuffle(unsigned *order, unsigned n, uint32_t *seed)
{
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = n; i > 1; i--) {
		unsigned j, t;

		*seed = *seed * 1103515245u + 12345u;
		j = (*seed >> 8) % i;
		t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

static uint32_t next_random(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

void vqt_check_single(enum uvi_vq_layout layout)
{
	struct vqt_pair p;
	struct vqt_req r, *got = NULL;
	void *token;
	uint32_t len;

	if (!vqt_setup(&p, layout, 16, false))
		goto out;
	vqt_req_init(&r, 7);
	CU_ASSERT_EQUAL(vqt_add(&p, &r), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 14);
	/* Not published yet: the device sees nothing. */
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 0);
	CU_ASSERT_TRUE(uvi_vq_publish(p.drv)); /* a new device asks for every kick */
	CU_ASSERT_EQUAL(uvi_vq_get_used(p.drv, &token, &len), 0);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 1);
	CU_ASSERT_EQUAL(p.chains[0].bufs[0].addr, (uintptr_t)r.cmd);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 0);
	vqt_dev_complete(&p, NULL, 1);
	CU_ASSERT_EQUAL(p.used_notifies, 0); /* poll mode */
	CU_ASSERT_EQUAL(vqt_reap(&p, &got, 1), 1);
	CU_ASSERT_PTR_EQUAL(got, &r);
	CU_ASSERT_EQUAL(r.returned, 1);
	CU_ASSERT_EQUAL(uvi_vq_get_used(p.drv, &token, &len), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 16);
out:
	vqt_teardown(&p);
}

void vqt_check_batch(enum uvi_vq_layout layout)
{
	enum { N = 64 };
	struct vqt_pair p;
	struct vqt_req reqs[N], *got[N];

	if (!vqt_setup(&p, layout, 256, false))
		goto out;
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < N; i++) {
			vqt_req_init(&reqs[i], round * N + i);
			CU_ASSERT_EQUAL(vqt_add(&p, &reqs[i]), 0);
		}
		CU_ASSERT_EQUAL(vqt_dev_pop(&p), 0);
		/* One publish for the batch; rounds 1 and 2: the device asks for no kicks. */
		CU_ASSERT_EQUAL(uvi_vq_publish(p.drv), round == 0);
		CU_ASSERT_FALSE(uvi_vq_publish(p.drv)); /* nothing new */
		CU_ASSERT_EQUAL(vqt_dev_pop(&p), N);
		for (unsigned i = 0; i < N; i++)
			CU_ASSERT_EQUAL(p.chains[i].bufs[0].addr, (uintptr_t)reqs[i].cmd);
		vqt_dev_complete(&p, NULL, N);
		CU_ASSERT_EQUAL(vqt_reap(&p, got, N), N);
		for (unsigned i = 0; i < N; i++)
			CU_ASSERT_PTR_EQUAL(got[i], &reqs[i]);
		CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 256);
		sim_vq_kick_enable(p.dev, false);
	}
	CU_ASSERT_EQUAL(p.used_notifies, 0);
out:
	vqt_teardown(&p);
}

/*
 * Many rounds of batches of random size; the device completes a random
 * part of what it holds in random order and keeps the rest for later
 * rounds, so indices and wrap counters run far past their limits.
 */
void vqt_check_index_wrap(enum uvi_vq_layout layout, uint16_t size, unsigned requests)
{
	struct vqt_pair p;
	struct vqt_req *reqs = calloc(size, sizeof(*reqs));
	unsigned *order = calloc(size, sizeof(*order));
	unsigned failures = CU_get_number_of_failures(), added = 0, reaped = 0, serial = 0;
	uint32_t seed = 12345;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reqs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(order);
	if (!vqt_setup(&p, layout, size, false))
		goto out;
	sim_vq_kick_enable(p.dev, false);
	while (added < requests) {
		unsigned want = 1 + next_random(&seed) % (size / 2), m;

		for (unsigned i = 0; i < size && want; i++) {
			if (reqs[i].queued)
				continue;
			vqt_req_init(&reqs[i], serial++);
			rc = vqt_add(&p, &reqs[i]);
			if (rc) {
				CU_ASSERT_EQUAL(rc, -ENOSPC);
				break;
			}
			added++;
			want--;
		}
		CU_ASSERT_FALSE(uvi_vq_publish(p.drv));
		vqt_dev_pop(&p);
		vqt_shuffle(order, p.n_chains, &seed);
		m = next_random(&seed) % (p.n_chains + 1);
		vqt_dev_complete(&p, order, m);
		CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), m);
		reaped += m;
		if (CU_get_number_of_failures() != failures)
			break;
	}
	vqt_dev_complete(&p, NULL, p.n_chains);
	reaped += vqt_reap(&p, NULL, 0);
	CU_ASSERT_EQUAL(reaped, added);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), size);
	CU_ASSERT_EQUAL(p.used_notifies, 0);
	CU_ASSERT_FALSE(uvi_vq_broken(p.drv));
out:
	vqt_teardown(&p);
	free(order);
	free(reqs);
}

void vqt_check_full_queue(enum uvi_vq_layout layout)
{
	struct vqt_pair p;
	struct vqt_req reqs[6];
	uint8_t *before = NULL;
	uint8_t hdr[VQT_REQ_LEN];
	const struct uvi_vq_buf three[3] = {
		{ (uintptr_t)hdr, 8, false }, { (uintptr_t)hdr + 8, 8, false },
		{ (uintptr_t)hdr + 16, 4, true },
	};

	if (!vqt_setup(&p, layout, 8, false))
		goto out;
	before = malloc(p.ring_bytes);
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	for (unsigned i = 0; i < 6; i++)
		vqt_req_init(&reqs[i], i);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(vqt_add(&p, &reqs[i]), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 0);
	memcpy(before, p.ring, p.ring_bytes);
	CU_ASSERT_EQUAL(vqt_add(&p, &reqs[4]), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "free"));
	uvi_fail(-EINVAL, "overwritten"); /* the next message must be the next call's own */
	CU_ASSERT_EQUAL(vqt_add(&p, &reqs[5]), -ENOSPC); /* odd serial: uvi_vq_add_pair */
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "free"));
	CU_ASSERT_EQUAL(memcmp(before, p.ring, p.ring_bytes), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 0);
	uvi_vq_publish(p.drv);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 4);
	vqt_dev_complete(&p, NULL, 1);
	CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), 1);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 2);
	/* Two free, three needed: refused, nothing written. */
	memcpy(before, p.ring, p.ring_bytes);
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, three, 3, &reqs[5]), -ENOSPC);
	CU_ASSERT_EQUAL(memcmp(before, p.ring, p.ring_bytes), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 2);
	CU_ASSERT_FALSE(uvi_vq_publish(p.drv)); /* nothing was added */
	CU_ASSERT_EQUAL(vqt_add(&p, &reqs[4]), 0);
	uvi_vq_publish(p.drv);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 1);
	CU_ASSERT_EQUAL(p.chains[3].bufs[0].addr, (uintptr_t)reqs[4].cmd);
	vqt_dev_complete(&p, NULL, p.n_chains);
	CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), 4);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 8);
	CU_ASSERT_FALSE(reqs[5].queued);
out:
	free(before);
	vqt_teardown(&p);
}

void vqt_check_out_of_order(enum uvi_vq_layout layout)
{
	enum { SIZE = 32, MAX = SIZE / 2 };
	struct vqt_pair p;
	struct vqt_req reqs[MAX], *got[MAX];
	unsigned order[MAX], serial = 0;
	uint32_t seed = 99;

	if (!vqt_setup(&p, layout, SIZE, false))
		goto out;
	for (unsigned round = 0; round < 200; round++) {
		unsigned n = 1 + next_random(&seed) % MAX;

		for (unsigned i = 0; i < n; i++) {
			vqt_req_init(&reqs[i], serial++);
			CU_ASSERT_EQUAL_FATAL(vqt_add(&p, &reqs[i]), 0);
		}
		uvi_vq_publish(p.drv);
		CU_ASSERT_EQUAL_FATAL(vqt_dev_pop(&p), n);
		vqt_shuffle(order, n, &seed);
		vqt_dev_complete(&p, order, n);
		CU_ASSERT_EQUAL_FATAL(vqt_reap(&p, got, MAX), n);
		/* Completions come back in the device's order, each once. */
		for (unsigned i = 0; i < n; i++) {
			CU_ASSERT_PTR_EQUAL(got[i], &reqs[order[i]]);
			CU_ASSERT_EQUAL(reqs[i].returned, 1);
		}
		CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), SIZE);
	}
out:
	vqt_teardown(&p);
}

/*
 * uvi_vq_used_ready() counts what uvi_vq_get_used() would take, over
 * several laps of a small ring (packed: each chain takes two slots, so the
 * count walks chains across the wrap), completions out of order and in
 * parts; nothing before publish, nothing on a broken queue.
 */
void vqt_check_used_ready(enum uvi_vq_layout layout)
{
	enum { SIZE = 8, MAX = 4 };
	struct vqt_pair p;
	struct vqt_req reqs[MAX], *got[MAX];
	unsigned order[MAX], serial = 0;
	uint32_t seed = 7;

	if (!vqt_setup(&p, layout, SIZE, false))
		goto out;
	for (unsigned round = 0; round < 40; round++) {
		unsigned n = 1 + next_random(&seed) % MAX, part = next_random(&seed) % (n + 1);

		for (unsigned i = 0; i < n; i++) {
			vqt_req_init(&reqs[i], serial++);
			CU_ASSERT_EQUAL_FATAL(vqt_add(&p, &reqs[i]), 0);
		}
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), 0);
		uvi_vq_publish(p.drv);
		CU_ASSERT_EQUAL_FATAL(vqt_dev_pop(&p), n);
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), 0);
		vqt_shuffle(order, n, &seed);
		vqt_dev_complete(&p, order, part);
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), part);
		CU_ASSERT_EQUAL_FATAL(vqt_reap(&p, got, MAX), part);
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), 0);
		vqt_dev_complete(&p, NULL, n - part);
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), n - part);
		CU_ASSERT_EQUAL_FATAL(vqt_reap(&p, got, MAX), n - part);
		CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), 0);
	}
	vqt_req_init(&reqs[0], serial++);
	CU_ASSERT_EQUAL_FATAL(vqt_add(&p, &reqs[0]), 0);
	uvi_vq_publish(p.drv);
	CU_ASSERT_EQUAL_FATAL(vqt_dev_pop(&p), 1);
	vqt_dev_complete(&p, NULL, 1);
	uvi_vq_fail_protocol(p.drv, "test");
	CU_ASSERT_EQUAL(uvi_vq_used_ready(p.drv), 0);
out:
	vqt_teardown(&p);
}

void vqt_check_reset(enum uvi_vq_layout layout)
{
	struct vqt_pair p;
	struct vqt_req old[3], fresh[2], *got[2];
	void *token;
	uint32_t len;

	if (!vqt_setup(&p, layout, 16, false))
		goto out;
	for (unsigned i = 0; i < 3; i++) {
		vqt_req_init(&old[i], i);
		CU_ASSERT_EQUAL(vqt_add(&p, &old[i]), 0);
	}
	uvi_vq_publish(p.drv);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 3);
	vqt_dev_complete(&p, NULL, 1); /* flushed, never taken */
	vqt_reset(&p);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 16);
	CU_ASSERT_FALSE(uvi_vq_broken(p.drv));
	CU_ASSERT_EQUAL(uvi_vq_get_used(p.drv, &token, &len), 0);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 0);
	for (unsigned i = 0; i < 2; i++) {
		vqt_req_init(&fresh[i], 100 + i);
		CU_ASSERT_EQUAL(vqt_add(&p, &fresh[i]), 0);
	}
	CU_ASSERT_TRUE(uvi_vq_publish(p.drv));
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 2);
	vqt_dev_complete(&p, NULL, 2);
	CU_ASSERT_EQUAL(vqt_reap(&p, got, 2), 2);
	CU_ASSERT_PTR_EQUAL(got[0], &fresh[0]);
	CU_ASSERT_PTR_EQUAL(got[1], &fresh[1]);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(old[i].returned, 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 16);
out:
	vqt_teardown(&p);
}

void vqt_check_bad_calls(enum uvi_vq_layout layout)
{
	struct vqt_pair p;
	uint8_t buf[64], *before = NULL;
	struct uvi_vq *vq = NULL;
	struct uvi_vq_config cfg = { .layout = layout, .size = 12 };
	const struct uvi_vq_buf w_then_r[2] = {
		{ (uintptr_t)buf, 4, true }, { (uintptr_t)buf + 4, 4, false },
	};
	const struct uvi_vq_buf huge[2] = {
		{ (uintptr_t)buf, 0x80000000u, false }, { (uintptr_t)buf, 0x80000000u, true },
	};
	struct uvi_vq_buf many[17];

	for (unsigned i = 0; i < 17; i++)
		many[i] = (struct uvi_vq_buf){ (uintptr_t)buf, 1, false };
	/* Sizes: split needs a power of two; both at most 32768. */
	CU_ASSERT_EQUAL(uvi_vq_ring_bytes(&cfg) == 0, layout == UVI_VQ_SPLIT);
	cfg.size = 0;
	CU_ASSERT_EQUAL(uvi_vq_ring_bytes(&cfg), 0);
	CU_ASSERT_EQUAL(uvi_vq_create(&cfg, buf, (uintptr_t)buf, &vq), -EINVAL);
	CU_ASSERT_PTR_NULL(vq);
	if (!vqt_setup(&p, layout, 16, false))
		goto out;
	/* Misaligned ring memory. */
	cfg.size = 16;
	CU_ASSERT_EQUAL(uvi_vq_create(&cfg, (char *)p.ring + 8, (uintptr_t)p.ring + 8, &vq),
			-EINVAL);
	CU_ASSERT_PTR_NULL(vq);
	before = malloc(p.ring_bytes);
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	memcpy(before, p.ring, p.ring_bytes);
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, many, 0, buf), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, many, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, w_then_r, 2, buf), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "readable"));
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, many, 17, buf), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, huge, 2, buf), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vq_add_pair(p.drv, &w_then_r[0], &w_then_r[1], buf), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "readable"));
	CU_ASSERT_EQUAL(uvi_vq_add_pair(p.drv, &w_then_r[1], &w_then_r[0], NULL), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vq_add_pair(p.drv, &huge[0], &huge[1], buf), -EINVAL);
	CU_ASSERT_EQUAL(memcmp(before, p.ring, p.ring_bytes), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 16);
	CU_ASSERT_FALSE(uvi_vq_publish(p.drv));
	/* A chain of the whole queue is fine. */
	CU_ASSERT_EQUAL(uvi_vq_add(p.drv, many, 16, buf), 0);
	CU_ASSERT_EQUAL(uvi_vq_num_free(p.drv), 0);
out:
	free(before);
	vqt_teardown(&p);
}

static void check_poll_mode_fields(const struct vqt_pair *p, const struct uvi_vq_addrs *a)
{
	if (p->cfg.layout == UVI_VQ_SPLIT) {
		const struct vring_avail *avail = (const struct vring_avail *)(uintptr_t)a->driver;

		/* With EVENT_IDX, flags MUST be 0 (2.7.7) and used_event is far ahead. */
		CU_ASSERT_EQUAL(vring_load16(&avail->flags, memory_order_relaxed),
				p->cfg.event_idx ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
		if (p->cfg.event_idx)
			CU_ASSERT(vring_load16(&avail->ring[p->cfg.size], memory_order_relaxed) >=
				  0x4000);
	} else {
		struct vring_packed_event ev =
			vring_load_event((const struct vring_packed_event *)(uintptr_t)a->driver);

		CU_ASSERT_EQUAL(ev.flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	}
}

/* Write what a driver that wants used-buffer notifications would. */
static void ask_for_interrupts(const struct vqt_pair *p, const struct uvi_vq_addrs *a)
{
	if (p->cfg.layout == UVI_VQ_PACKED) {
		vring_store_event((struct vring_packed_event *)(uintptr_t)a->driver, 0,
				  VRING_PACKED_EVENT_FLAG_ENABLE);
	} else if (p->cfg.event_idx) {
		struct vring_avail *avail = (struct vring_avail *)(uintptr_t)a->driver;
		const struct vring_used *used = (const struct vring_used *)(uintptr_t)a->device;

		/* Notify at the next used entry. */
		vring_store16(vring_used_event(avail, p->cfg.size),
			      vring_load16(&used->idx, memory_order_relaxed), memory_order_relaxed);
	} else {
		vring_store16(&((struct vring_avail *)(uintptr_t)a->driver)->flags, 0,
			      memory_order_relaxed);
	}
}

/*
 * Poll mode: the driver asks for no used-buffer notifications, and a
 * device that honours the request sends none; the same device does send
 * them once the driver's fields ask for them.
 */
void vqt_check_poll_mode(enum uvi_vq_layout layout, bool event_idx)
{
	struct vqt_pair p;
	struct vqt_req reqs[8];
	struct uvi_vq_addrs a;

	if (!vqt_setup(&p, layout, 8, event_idx))
		goto out;
	uvi_vq_get_addrs(p.drv, &a);
	check_poll_mode_fields(&p, &a);
	for (unsigned round = 0; round < 3000; round++) {
		unsigned n = 1 + round % 4;

		for (unsigned i = 0; i < n; i++) {
			vqt_req_init(&reqs[i], round);
			CU_ASSERT_EQUAL(vqt_add(&p, &reqs[i]), 0);
		}
		uvi_vq_publish(p.drv);
		CU_ASSERT_EQUAL(vqt_dev_pop(&p), n);
		vqt_dev_complete(&p, NULL, n);
		CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), n);
	}
	CU_ASSERT_EQUAL(p.used_notifies, 0);
	/* After a publish (which refreshes used_event), ask as a driver wanting interrupts. */
	vqt_req_init(&reqs[0], 0);
	CU_ASSERT_EQUAL(vqt_add(&p, &reqs[0]), 0);
	uvi_vq_publish(p.drv);
	ask_for_interrupts(&p, &a);
	CU_ASSERT_EQUAL(vqt_dev_pop(&p), 1);
	vqt_dev_complete(&p, NULL, 1);
	CU_ASSERT_EQUAL(p.used_notifies, 1);
	CU_ASSERT_EQUAL(vqt_reap(&p, NULL, 0), 1);
out:
	vqt_teardown(&p);
}

bool vqt_publish_batch(struct vqt_pair *p, struct vqt_req *reqs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		vqt_req_init(&reqs[i], i);
		CU_ASSERT_EQUAL(vqt_add(p, &reqs[i]), 0);
	}
	return uvi_vq_publish(p->drv);
}

void vqt_serve_all(struct vqt_pair *p)
{
	vqt_dev_pop(p);
	vqt_dev_complete(p, NULL, p->n_chains);
	vqt_reap(p, NULL, 0);
}

void vqt_expect_bad_chain(struct vqt_pair *p, const char *needle)
{
	struct sim_vq_chain c;

	CU_ASSERT_EQUAL(sim_vq_pop(p->dev, &c), -EPROTO);
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("device error message does not name the problem");
	}
	CU_ASSERT_EQUAL(sim_vq_pop(p->dev, &c), -EPROTO);
	vqt_reset(p);
}
