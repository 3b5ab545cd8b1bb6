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
 *
 * Everything that can run out of memory (the list of requests, room in the
 * table) is allocated before the first request goes out: once the device
 * has acted, the table always follows it, so a NIC never keeps a mapping
 * the table does not know of (and so would never remove).
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
	int rc; /* 0 if it succeeded in every domain, else the first errno; NOT_SENT */
};

#define NOT_SENT (-ECANCELED) /* an op that never reached the device: a batch failed first */

static unsigned domains(struct viommu_domain **doms)
{
	unsigned i, j, n = 0;

	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		/*
		 * A blocked NIC's domain keeps what it failed to unmap: changes
		 * skip it, or each MAP there would fail and be undone everywhere.
		 */
		struct viommu_domain *d = uvi_dpdk.nics[i].blocked ? NULL : uvi_dpdk.nics[i].dom;

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

/* Room for `extra` more mappings, so that the inserts after the requests cannot fail. */
static int track_reserve(size_t extra)
{
	size_t cap = uvi_dpdk.cap_maps ? uvi_dpdk.cap_maps : 64;
	struct uvi_dpdk_range *m;

	if (uvi_dpdk.n_maps + extra <= uvi_dpdk.cap_maps)
		return 0;
	while (cap < uvi_dpdk.n_maps + extra)
		cap *= 2;
	m = realloc(uvi_dpdk.maps, cap * sizeof(*m));
	if (!m)
		return uvi_dpdk_fail(-ENOMEM, "out of memory for the mapping table (%zu entries)",
				     cap);
	uvi_dpdk.maps = m;
	uvi_dpdk.cap_maps = cap;
	return 0;
}

/* Record a mapping; track_reserve() made room for it. */
static void track_insert(uint64_t start, uint64_t len)
{
	size_t i = first_ending_after(start);

	memmove(&uvi_dpdk.maps[i + 1], &uvi_dpdk.maps[i],
		(uvi_dpdk.n_maps - i) * sizeof(uvi_dpdk.maps[0]));
	uvi_dpdk.maps[i] = (struct uvi_dpdk_range){ start, len };
	uvi_dpdk.n_maps++;
	uvi_dpdk.mapped_bytes += len;
	atomic_fetch_add(&uvi_dpdk.c.mappings_created, 1);
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
		if (viommu_detach_endpoint(dom, n->endpoint_id) == 0)
			n->attached = false;
		uvi_dpdk_log(RTE_LOG_ERR, "%s BLOCKED: an UNMAP of memory DPDK is releasing "
			     "failed, so the NIC was detached (%s)", n->name,
			     n->attached ? "the detach failed too" : "all its DMA now faults");
	}
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

/* The op went to every domain with statuses st[0 .. n_doms - 1]: its rc, and what a failure costs. */
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

/* Add op for dom to the batch: its index there, or the errno that refused it. */
static int add_op(struct viommu_batch *b, const struct op *op, struct viommu_domain *dom)
{
	if (op->unmap)
		return viommu_batch_unmap(b, dom, op->start, op->len);
	return viommu_batch_map(b, dom, op->start, op->start, op->len,
				VIOMMU_MAP_READ | VIOMMU_MAP_WRITE);
}

/*
 * Send ops[first..] x doms, as many as the batch holds, and settle each op
 * sent. Returns the index of the first op not sent, or a negative errno
 * when the batch could not be reset afterwards (the device failed): the
 * ops of this batch are settled all the same, from their final statuses.
 */
static long run_chunk(struct op *ops, size_t first, size_t n, struct viommu_domain **doms,
		      unsigned n_doms)
{
	struct viommu_batch *b = uvi_dpdk.batch;
	size_t i, cap = UVI_DPDK_BATCH / n_doms, end = first + cap < n ? first + cap : n;
	int idx[UVI_DPDK_BATCH], st[UVI_DPDK_BATCH];
	unsigned d, k = 0, count;
	int rc;

	for (i = first; i < end; i++)
		for (d = 0; d < n_doms; d++)
			idx[k++] = add_op(b, &ops[i], doms[d]);
	count = k;
	viommu_batch_run(b); /* statuses are read one by one below */
	for (k = 0; k < count; k++)
		st[k] = idx[k] < 0 ? idx[k] : viommu_batch_status(b, (unsigned)idx[k]);
	rc = viommu_batch_reset(b);
	for (i = first; i < end; i++)
		settle(&ops[i], doms, n_doms, &st[(i - first) * n_doms]);
	if (rc)
		return uvi_dpdk_fail(-EIO, "the request batch did not complete: %s",
				     viommu_last_error());
	return (long)end;
}

/*
 * Apply ops in order to the given domains; each op's rc says how it went
 * (NOT_SENT: a failed batch stopped the run before it). Allocates nothing.
 */
static int run_ops(struct op *ops, size_t n, struct viommu_domain **doms, unsigned n_doms)
{
	uint64_t t0 = uvi_dpdk_now_ns();
	long next = 0;
	size_t i;

	if (n_doms == 0) {
		for (i = 0; i < n; i++)
			ops[i].rc = 0; /* no domain to change: the table alone records it */
		return 0;
	}
	while (next >= 0 && (size_t)next < n)
		next = run_chunk(ops, (size_t)next, n, doms, n_doms);
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
	(*ops)[(*n)++] = (struct op){ .start = start, .len = len, .unmap = unmap,
				      .rc = NOT_SENT };
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

/* Record the MAP ops of ops[from .. to - 1] that succeeded; track_reserve() made room. */
static void track_mapped(const struct op *ops, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (ops[i].rc == 0)
			track_insert(ops[i].start, ops[i].len);
}

/* The errno of a run: the batch's failure, else the first op that failed. */
static int run_result(int run_rc, const struct op *ops, size_t n)
{
	return run_rc ? run_rc : first_error(ops, n);
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
		rc = track_reserve(n_ops);
	if (!rc) {
		rc = run_ops(ops, n_ops, doms, n_doms);
		track_mapped(ops, 0, n_ops);
		rc = run_result(rc, ops, n_ops);
	}
	free(ops);
	return rc;
}

/*
 * ops[0 .. n_unmaps - 1] UNMAP the table's mappings first, first + 1, ...
 * whole; the rest MAP back the parts of them outside the range. The table
 * loses every mapping whose UNMAP was sent (one that failed blocked its
 * domain) and gains every part mapped back.
 */
static int unmap_then_remap(struct op *ops, size_t n_unmaps, size_t n_ops, size_t first,
			    struct viommu_domain **doms, unsigned n_doms)
{
	int rc = run_ops(ops, n_unmaps, doms, n_doms);
	size_t i, removed = 0;

	for (i = n_unmaps; i > 0; i--)
		if (ops[i - 1].rc != NOT_SENT) {
			track_remove(first + i - 1);
			removed++;
		}
	atomic_fetch_add(&uvi_dpdk.c.mappings_removed, removed);
	if (rc)
		return rc;
	if (n_ops > n_unmaps)
		atomic_fetch_add(&uvi_dpdk.c.splits, 1);
	/*
	 * The MAPs go once the UNMAPs completed: a mapping exists until its
	 * UNMAP does. Not to the domains a failed UNMAP just blocked.
	 */
	n_doms = domains(doms);
	rc = run_ops(ops + n_unmaps, n_ops - n_unmaps, doms, n_doms);
	track_mapped(ops, n_unmaps, n_ops);
	return run_result(rc, ops, n_ops);
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
	if (!rc)
		rc = track_reserve(n_ops - (last - first));
	if (!rc)
		rc = unmap_then_remap(ops, last - first, n_ops, first, doms, n_doms);
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
		rc = run_result(run_ops(ops, n_ops, &dom, 1), ops, n_ops);
	free(ops);
	return rc;
}
