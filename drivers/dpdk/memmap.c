/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mappings: one set of identity ranges (IOVA = physical address), the
 * same in every domain, kept sorted in uvi_dpdk.maps. Every change goes to
 * all domains in one batch (one notify per batch, a status per request).
 *
 * A MAP that fails in any domain is undone in the others: the range stays
 * unreachable for every NIC (fail closed), and is counted. An UNMAP that
 * fails leaves memory DPDK is about to release reachable, so the NICs of
 * that domain are detached, which blocks them (bypass = 0), and counted.
 * Callers hold uvi_dpdk.lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "dpdk_internal.h"

struct op {
	uint64_t start, len;
	bool unmap;
	int rc; /* 0 if it succeeded in every domain, else the first errno */
};

static unsigned domains(struct viommu_domain **doms)
{
	unsigned i, j, n = 0;

	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		struct viommu_domain *d = uvi_dpdk.nics[i].dom;

		for (j = 0; d && j < n && doms[j] != d; j++)
			;
		if (d && j == n)
			doms[n++] = d;
	}
	return n;
}

unsigned uvi_dpdk_n_domains(void)
{
	struct viommu_domain *doms[UVI_DPDK_MAX_NICS];

	return domains(doms);
}

/* Index of the first mapping that ends after addr. */
static size_t first_ending_after(uint64_t addr)
{
	size_t lo = 0, hi = uvi_dpdk.n_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct uvi_dpdk_range *m = &uvi_dpdk.maps[mid];

		if (m->start + m->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool uvi_dpdk_range_overlaps(uint64_t start, uint64_t len)
{
	size_t i = first_ending_after(start);

	return i < uvi_dpdk.n_maps && uvi_dpdk.maps[i].start < start + len;
}

static int track_insert(uint64_t start, uint64_t len)
{
	size_t i = first_ending_after(start);

	if (uvi_dpdk.n_maps == uvi_dpdk.cap_maps) {
		size_t cap = uvi_dpdk.cap_maps ? uvi_dpdk.cap_maps * 2 : 64;
		struct uvi_dpdk_range *m = realloc(uvi_dpdk.maps, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		uvi_dpdk.maps = m;
		uvi_dpdk.cap_maps = cap;
	}
	memmove(&uvi_dpdk.maps[i + 1], &uvi_dpdk.maps[i],
		(uvi_dpdk.n_maps - i) * sizeof(uvi_dpdk.maps[0]));
	uvi_dpdk.maps[i] = (struct uvi_dpdk_range){ start, len };
	uvi_dpdk.n_maps++;
	uvi_dpdk.mapped_bytes += len;
	return 0;
}

static void track_remove(size_t i)
{
	uvi_dpdk.mapped_bytes -= uvi_dpdk.maps[i].len;
	memmove(&uvi_dpdk.maps[i], &uvi_dpdk.maps[i + 1],
		(uvi_dpdk.n_maps - i - 1) * sizeof(uvi_dpdk.maps[0]));
	uvi_dpdk.n_maps--;
}

/* Block every NIC of dom: detached, the device refuses all of its DMA. */
static void block_domain(struct viommu_domain *dom)
{
	unsigned i;

	/* A NIC isolated later gets a new domain, replayed from the table (which no longer has it). */
	if (uvi_dpdk.shared == dom)
		uvi_dpdk.shared = NULL;
	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		struct uvi_dpdk_nic *n = &uvi_dpdk.nics[i];

		if (n->dom != dom)
			continue;
		n->blocked = true; /* uvi_dpdk_attach_nic refuses it from now on */
		if (!n->attached)
			continue;
		if (viommu_detach(dom, n->addr) == 0)
			n->attached = false;
		uvi_dpdk_log(RTE_LOG_ERR, "%s BLOCKED: an UNMAP of memory DPDK is releasing "
			     "failed, so the NIC was detached (%s)", n->name,
			     n->attached ? "the detach failed too" : "all its DMA now faults");
	}
}

/*
 * Queue ops[first..] x doms until the batch is full, run it, record each
 * pair's status in st[op * n_doms + dom]. Returns the index of the first op
 * not queued, or a negative errno if the batch itself failed.
 */
static long run_some(struct op *ops, size_t first, size_t n, struct viommu_domain **doms,
		     unsigned n_doms, int *st)
{
	struct viommu_batch *b = uvi_dpdk.batch;
	size_t i, cap = 256 / n_doms, end = first + cap < n ? first + cap : n;
	int idx[256];
	unsigned d, k = 0;

	for (i = first; i < end; i++)
		for (d = 0; d < n_doms; d++) {
			int r = ops[i].unmap ? viommu_batch_unmap(b, doms[d], ops[i].start,
								     ops[i].len)
					     : viommu_batch_map(b, doms[d], ops[i].start,
								   ops[i].start, ops[i].len,
								   VIOMMU_MAP_READ | VIOMMU_MAP_WRITE);

			idx[k++] = r;
			st[i * n_doms + d] = r < 0 ? r : -EINPROGRESS;
		}
	viommu_batch_run(b); /* statuses are read one by one below */
	k = 0;
	for (i = first; i < end; i++)
		for (d = 0; d < n_doms; d++, k++)
			if (idx[k] >= 0)
				st[i * n_doms + d] = viommu_batch_status(b, (unsigned)idx[k]);
	if (viommu_batch_reset(b))
		return uvi_dpdk_fail(-EIO, "the request batch did not complete: %s",
				     viommu_last_error());
	return (long)end;
}

/* Undo the MAPs of a failed op in the domains where they succeeded. */
static void roll_back(const struct op *op, struct viommu_domain **doms, unsigned n_doms,
		      const int *st)
{
	unsigned d;

	for (d = 0; d < n_doms; d++)
		if (st[d] == 0 && viommu_unmap(doms[d], op->start, op->len))
			block_domain(doms[d]);
}

static void settle(struct op *op, struct viommu_domain **doms, unsigned n_doms, const int *st)
{
	unsigned d;

	op->rc = 0;
	for (d = 0; d < n_doms; d++)
		if (st[d] && !op->rc)
			op->rc = st[d];
	if (!op->rc)
		return;
	if (op->unmap) {
		atomic_fetch_add(&uvi_dpdk.c.unmap_errors, 1);
		uvi_dpdk_log(RTE_LOG_ERR, "UNMAP %#" PRIx64 "+%#" PRIx64 " failed: %s", op->start,
			     op->len, strerror(-op->rc));
		for (d = 0; d < n_doms; d++)
			if (st[d])
				block_domain(doms[d]);
		return;
	}
	atomic_fetch_add(&uvi_dpdk.c.map_errors, 1);
	uvi_dpdk_log(RTE_LOG_ERR, "MAP %#" PRIx64 "+%#" PRIx64 " failed (%s): no NIC can reach "
		     "that memory", op->start, op->len, strerror(-op->rc));
	roll_back(op, doms, n_doms, st);
}

/* Apply ops in order to the given domains; each op's rc says how it went. */
static int run_ops(struct op *ops, size_t n, struct viommu_domain **doms, unsigned n_doms)
{
	uint64_t t0 = uvi_dpdk_now_ns();
	int *st;
	size_t i;
	long next = 0;

	if (n == 0 || n_doms == 0)
		return 0;
	st = calloc(n * n_doms, sizeof(*st));
	if (!st)
		return uvi_dpdk_fail(-ENOMEM, "out of memory for %zu requests", n * n_doms);
	while ((size_t)next < n) {
		next = run_some(ops, (size_t)next, n, doms, n_doms, st);
		if (next < 0)
			break;
	}
	for (i = 0; next >= 0 && i < n; i++)
		settle(&ops[i], doms, n_doms, &st[i * n_doms]);
	free(st);
	atomic_fetch_add(&uvi_dpdk.c.map_ns, uvi_dpdk_now_ns() - t0);
	return next < 0 ? (int)next : 0;
}

static int push_op(struct op **ops, size_t *n, size_t *cap, uint64_t start, uint64_t len,
		   bool unmap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct op *no = realloc(*ops, ncap * sizeof(*no));

		if (!no)
			return uvi_dpdk_fail(-ENOMEM, "out of memory for %zu requests", ncap);
		*ops = no;
		*cap = ncap;
	}
	(*ops)[(*n)++] = (struct op){ .start = start, .len = len, .unmap = unmap };
	return 0;
}

/* The parts of [start, start + len) no mapping covers yet, as MAP ops. */
static int uncovered(uint64_t start, uint64_t len, struct op **ops, size_t *n, size_t *cap)
{
	uint64_t cur = start, end = start + len;
	size_t i;
	int rc = 0;

	for (i = first_ending_after(start); !rc && i < uvi_dpdk.n_maps; i++) {
		const struct uvi_dpdk_range *m = &uvi_dpdk.maps[i];

		if (m->start >= end)
			break;
		if (m->start > cur)
			rc = push_op(ops, n, cap, cur, m->start - cur, false);
		if (m->start + m->len > cur)
			cur = m->start + m->len;
	}
	if (!rc && cur < end)
		rc = push_op(ops, n, cap, cur, end - cur, false);
	return rc;
}

static int first_error(const struct op *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ops[i].rc)
			return uvi_dpdk_fail(ops[i].rc, "%s %#" PRIx64 "+%#" PRIx64 " failed: %s",
					     ops[i].unmap ? "UNMAP" : "MAP", ops[i].start,
					     ops[i].len, viommu_last_error());
	return 0;
}

int uvi_dpdk_map_ranges(const struct uvi_dpdk_range *r, size_t n)
{
	struct viommu_domain *doms[UVI_DPDK_MAX_NICS];
	unsigned n_doms = domains(doms);
	struct op *ops = NULL;
	size_t i, n_ops = 0, cap = 0;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = uncovered(r[i].start, r[i].len, &ops, &n_ops, &cap);
	if (!rc)
		rc = run_ops(ops, n_ops, doms, n_doms);
	for (i = 0; !rc && i < n_ops; i++) {
		if (ops[i].rc)
			continue;
		if (track_insert(ops[i].start, ops[i].len)) {
			rc = uvi_dpdk_fail(-ENOMEM, "out of memory for the mapping table");
			break;
		}
		atomic_fetch_add(&uvi_dpdk.c.mappings_created, 1);
	}
	if (!rc)
		rc = first_error(ops, n_ops);
	free(ops);
	return rc;
}

/*
 * Remove [start, start + len) from every domain. A mapping only partly
 * inside is split: UNMAP it whole (a virtio-iommu UNMAP must not split a
 * mapping, 5.13.6.6), wait for it, and MAP the parts outside again. In
 * between, those parts are unreachable for a moment (a NIC's DMA there
 * faults: never an escape).
 * whole_only: refuse (-EXDEV) instead of splitting.
 */
int uvi_dpdk_unmap_range(uint64_t start, uint64_t len, bool whole_only)
{
	struct viommu_domain *doms[UVI_DPDK_MAX_NICS];
	unsigned n_doms = domains(doms);
	uint64_t end = start + len;
	struct op *ops = NULL;
	size_t i, first = first_ending_after(start), last = first, n_ops = 0, cap = 0;
	int rc = 0;

	while (last < uvi_dpdk.n_maps && uvi_dpdk.maps[last].start < end)
		last++;
	for (i = first; i < last && !rc; i++) {
		const struct uvi_dpdk_range *m = &uvi_dpdk.maps[i];

		if (whole_only && (m->start < start || m->start + m->len > end))
			rc = uvi_dpdk_fail(-EXDEV, "%#" PRIx64 "+%#" PRIx64 " covers part of the "
					   "mapping %#" PRIx64 "+%#" PRIx64 " only", start, len,
					   m->start, m->len);
		else
			rc = push_op(&ops, &n_ops, &cap, m->start, m->len, true);
	}
	for (i = first; i < last && !rc; i++) {
		const struct uvi_dpdk_range *m = &uvi_dpdk.maps[i];

		if (m->start < start)
			rc = push_op(&ops, &n_ops, &cap, m->start, start - m->start, false);
		if (!rc && m->start + m->len > end)
			rc = push_op(&ops, &n_ops, &cap, end, m->start + m->len - end, false);
	}
	if (!rc && n_ops > last - first)
		atomic_fetch_add(&uvi_dpdk.c.splits, 1);
	/* The MAPs go once the UNMAPs completed: a mapping exists until its UNMAP does. */
	if (!rc)
		rc = run_ops(ops, last - first, doms, n_doms);
	if (!rc)
		rc = run_ops(ops + (last - first), n_ops - (last - first), doms, n_doms);
	if (!rc) {
		for (i = last; i > first; i--)
			track_remove(i - 1);
		atomic_fetch_add(&uvi_dpdk.c.mappings_removed, last - first);
		for (i = last - first; i < n_ops; i++)
			if (!ops[i].rc && track_insert(ops[i].start, ops[i].len) == 0)
				atomic_fetch_add(&uvi_dpdk.c.mappings_created, 1);
		rc = first_error(ops, n_ops);
	}
	free(ops);
	return rc;
}

/* Give a domain no NIC is attached to yet every mapping (only its shadow changes). */
int uvi_dpdk_replay_into(struct viommu_domain *dom)
{
	struct op *ops = NULL;
	size_t i, n_ops = 0, cap = 0;
	int rc = 0;

	for (i = 0; i < uvi_dpdk.n_maps && !rc; i++)
		rc = push_op(&ops, &n_ops, &cap, uvi_dpdk.maps[i].start, uvi_dpdk.maps[i].len,
			     false);
	if (!rc)
		rc = run_ops(ops, n_ops, &dom, 1);
	if (!rc)
		rc = first_error(ops, n_ops);
	free(ops);
	return rc;
}
