/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK's memory, as the NICs see it (IOVA = physical address).
 *
 * Memory allocated while the application runs raises events: ALLOC after
 * the pages exist and before the allocator hands them out, FREE before the
 * pages go back to the kernel. The callback maps and unmaps there; it cannot
 * fail the allocation, so a MAP that fails leaves the pages unreachable for
 * the NICs (fail closed) and is counted. Memory preallocated with -m,
 * --socket-mem or --legacy-mem raises no event: the bus probe walks the
 * segments once EAL memory is complete (uvi_dpdk_map_startup_memory).
 * Segments are physically contiguous hugepages; neighbours in physical
 * address merge into one mapping whatever their virtual addresses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memory.h>

#include "dpdk_internal.h"

struct collect {
	struct uvi_dpdk_range *r;
	size_t n, cap;
	int rc;
};

/* The physical pages behind [addr, addr + len), pushed in virtual order. */
static int pages_of(const void *addr, size_t len, struct collect *c)
{
	struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	size_t off;
	int rc = 0;

	if (!msl)
		return uvi_dpdk_fail(-EFAULT, "%p is not DPDK memory", addr);
	for (off = 0; off < len && !rc; off += msl->page_sz) {
		const void *va = (const char *)addr + off;
		struct rte_memseg *ms = rte_mem_virt2memseg(va, msl);

		if (!ms || ms->iova == RTE_BAD_IOVA)
			rc = uvi_dpdk_fail(-EFAULT, "no physical address for %p", va);
		else
			rc = uvi_dpdk_ranges_push(&c->r, &c->n, &c->cap,
						  ms->iova + (uint64_t)((const char *)va -
									(const char *)ms->addr),
						  msl->page_sz);
	}
	return rc;
}

/* Map or unmap the event's ranges, under uvi_dpdk.lock. */
static int apply_event(enum rte_mem_event type, const struct collect *c)
{
	size_t i;
	int rc = 0;

	if (!uvi_dpdk.isolated)
		return 0; /* rte_eal_cleanup() closed the device meanwhile */
	if (type == RTE_MEM_EVENT_ALLOC)
		return uvi_dpdk_map_ranges(c->r, c->n);
	for (i = 0; i < c->n; i++) {
		int r = uvi_dpdk_unmap_range(c->r[i].start, c->r[i].len, false);

		rc = rc ? rc : r;
	}
	return rc;
}

/*
 * Called by DPDK with its memory hot-plug lock held: only the thread-unsafe
 * lookups may be used here (the locking ones would deadlock).
 */
static void on_mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct collect c = { 0 };
	int rc;

	(void)arg;
	atomic_fetch_add(type == RTE_MEM_EVENT_ALLOC ? &uvi_dpdk.c.alloc_events
						     : &uvi_dpdk.c.free_events, 1);
	if (!uvi_dpdk.isolated || uvi_dpdk.opts.map == UVI_DPDK_MAP_IDENTITY)
		return;
	rc = pages_of(addr, len, &c);
	if (!rc) {
		uvi_dpdk_ranges_normalize(c.r, &c.n);
		pthread_mutex_lock(&uvi_dpdk.lock);
		rc = apply_event(type, &c);
		pthread_mutex_unlock(&uvi_dpdk.lock);
	}
	if (rc)
		uvi_dpdk_log(RTE_LOG_ERR, "ISOLATION ERROR on %s of %p+%#zx: %s",
			     type == RTE_MEM_EVENT_ALLOC ? "ALLOC" : "FREE", addr, len,
			     viommu_dpdk_last_error());
	free(c.r);
}

int uvi_dpdk_watch_memory(void)
{
	if (rte_mem_event_callback_register("uviommu", on_mem_event, NULL) == 0)
		return 0;
	if (rte_errno == ENOTSUP) {
		/* --legacy-mem (or --no-huge): all memory exists at init and never changes. */
		uvi_dpdk_log(RTE_LOG_INFO, "legacy memory: no memory events, all of it is mapped "
			     "once EAL memory is complete");
		return 0;
	}
	return uvi_dpdk_fail(-rte_errno, "rte_mem_event_callback_register failed: %s",
			     strerror(rte_errno));
}

static int collect_segment(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
			   void *arg)
{
	struct collect *c = arg;

	if (msl->external && !msl->heap)
		return 0; /* rte_extmem_register() memory: the application maps it (dpdk.h) */
	if (ms->iova == RTE_BAD_IOVA) {
		c->rc = uvi_dpdk_fail(-EFAULT, "segment %p has no physical address", ms->addr);
		return -1;
	}
	c->rc = uvi_dpdk_ranges_push(&c->r, &c->n, &c->cap, ms->iova, ms->len);
	return c->rc ? -1 : 0;
}

/* The end of the last "System RAM" range of /proc/iomem (needs root). */
static int ram_end(uint64_t *end)
{
	FILE *f = fopen("/proc/iomem", "re");
	char line[256];
	uint64_t s, e;

	if (!f)
		return uvi_dpdk_fail(-errno, "cannot read /proc/iomem: %s", strerror(errno));
	*end = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, ": System RAM") && line[0] != ' ' &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64, &s, &e) == 2 && e + 1 > *end)
			*end = e + 1;
	fclose(f);
	if (*end == 0)
		return uvi_dpdk_fail(-EACCES, "/proc/iomem shows no System RAM (addresses are "
				     "hidden from non-root users)");
	return 0;
}

/* [0, end of RAM) minus every reserved region of every NIC. */
static int identity_ranges(struct collect *c)
{
	struct viommu_resv_region resv[16];
	uint64_t end, cur = 0;
	unsigned i;
	int n, j, rc = ram_end(&end);

	end = (end + uvi_dpdk.granule - 1) & ~(uvi_dpdk.granule - 1);
	for (i = 0; !rc && i < uvi_dpdk.n_nics; i++) {
		n = viommu_get_resv_regions(uvi_dpdk.dev, uvi_dpdk.nics[i].endpoint_id, resv, 16);
		for (j = 0; j < n && j < 16 && !rc; j++)
			rc = uvi_dpdk_ranges_push(&c->r, &c->n, &c->cap, resv[j].start,
						  resv[j].end - resv[j].start + 1);
	}
	if (rc)
		return rc;
	uvi_dpdk_ranges_normalize(c->r, &c->n); /* the holes, sorted */
	{
		struct collect out = { 0 };

		for (i = 0; i < c->n && !rc && cur < end; i++) {
			if (c->r[i].start > cur)
				rc = uvi_dpdk_ranges_push(&out.r, &out.n, &out.cap, cur,
							  (c->r[i].start < end ? c->r[i].start
									       : end) - cur);
			cur = c->r[i].start + c->r[i].len;
		}
		if (!rc && cur < end)
			rc = uvi_dpdk_ranges_push(&out.r, &out.n, &out.cap, cur, end - cur);
		free(c->r);
		*c = out;
	}
	uvi_dpdk_log(RTE_LOG_WARNING, "map=identity: every NIC reaches all %" PRIu64 " MiB of "
		     "RAM (a benchmark bound, NOT isolation)", end >> 20);
	return rc;
}

int uvi_dpdk_map_startup_memory(void)
{
	struct collect c = { 0 };
	uint64_t t0 = uvi_dpdk_now_ns();
	int rc;

	/* Held across the map: no ALLOC or FREE can run between the walk and the MAPs. */
	rte_mcfg_mem_read_lock();
	if (uvi_dpdk.opts.map == UVI_DPDK_MAP_IDENTITY) {
		rc = identity_ranges(&c);
	} else {
		rte_memseg_walk_thread_unsafe(collect_segment, &c);
		rc = c.rc;
	}
	if (!rc) {
		uvi_dpdk_ranges_normalize(c.r, &c.n);
		pthread_mutex_lock(&uvi_dpdk.lock);
		rc = uvi_dpdk_map_ranges(c.r, c.n);
		pthread_mutex_unlock(&uvi_dpdk.lock);
	}
	rte_mcfg_mem_read_unlock();
	free(c.r);
	atomic_store(&uvi_dpdk.c.startup_map_ns, uvi_dpdk_now_ns() - t0);
	return rc;
}
