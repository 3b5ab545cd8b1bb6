/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_dma_map() and strict viommu_dma_unmap() against the software
 * device (drivers/sim, through the driver rig): a buffer becomes one IOVA
 * range whose every page the endpoint reaches (simulated DMA), and after
 * the unmap none; bad unmaps are refused and change nothing; reserved
 * regions and an endpoint's DMA address limit shape the IOVAs, and are
 * refused when IOVAs already handed out are in the way; physical
 * addresses come in contiguous runs, one MAP each, from a registered
 * viommu_mem's table or from /proc/self/pagemap (root); a MAP or UNMAP the
 * device fails is undone or kept, never half done.
 *
 * Sim only: the checks read the software device's mapping count and
 * inject failures into it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>
#include <uviommu/mem.h>

#include "cunit_main.h"
#include "driver_rig.h"

#define EP 8
#define EP2 16
#define G 4096ull
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)
#define MSI_FIRST 0xfee00000ull
#define MSI_LAST 0xfeefffffull

struct setup {
	struct rig r;
	struct viommu_domain *dom;
	struct viommu_dma *dma;
};

/* The sim, a domain, its DMA mapper (opts NULL: strict) and EP attached through it. */
static void open_setup(struct setup *s, const struct viommu_dma_opts *opts, unsigned bits)
{
	rig_open_default(&s->r, false);
	rig_ok(viommu_domain_create(s->r.dev, &s->dom), "domain");
	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_dma_create(s->r.dev, s->dom, opts, &s->dma),
					"dma_create"), 0);
	rig_ok(viommu_dma_attach(s->dma, EP, bits), "dma_attach");
}

static void close_setup(struct setup *s)
{
	viommu_dma_destroy(s->dma);
	CU_ASSERT_EQUAL(rig_sim_stats(&s->r).mappings, 0); /* destroy unmapped everything */
	rig_close(&s->r);
}

static struct viommu_dma_stats dma_stats(struct setup *s)
{
	struct viommu_dma_stats st;

	CU_ASSERT_EQUAL(viommu_dma_get_stats(s->dma, &st), 0);
	return st;
}

/* Every page of [iova, iova + n pages) reaches pages[] (iova page-aligned). */
static unsigned reachable(struct setup *s, uint64_t iova, uint8_t *pages, unsigned n)
{
	unsigned good = 0;

	for (unsigned i = 0; i < n; i++)
		good += rig_translates(&s->r, EP, iova + i * G + 8 * i, pages + i * G);
	return good;
}

static void test_map_and_unmap(void)
{
	uint8_t *pages = rig_pages(4);
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	rig_ok(viommu_dma_map(s.dma, pages + 100, 3 * G, RW, &iova), "map");
	CU_ASSERT_EQUAL(iova % G, 100);
	CU_ASSERT(iova >= G); /* never IOVA 0's granule */
	/* 100 + 3 pages touch 4 pages: all of them are mapped. */
	CU_ASSERT_EQUAL(reachable(&s, iova - 100, pages, 4), 4);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 1); /* one run: one MAP */
	CU_ASSERT_EQUAL(dma_stats(&s).mapped, 1);
	CU_ASSERT_EQUAL(dma_stats(&s).map_requests, 1);
	rig_ok(viommu_dma_unmap(s.dma, iova, 3 * G), "unmap");
	CU_ASSERT_EQUAL(reachable(&s, iova - 100, pages, 4), 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	CU_ASSERT_EQUAL(dma_stats(&s).mapped, 0);
	CU_ASSERT_EQUAL(dma_stats(&s).unmaps, 1);
	close_setup(&s);
	rig_free_pages(pages);
}

static void test_bad_unmaps_change_nothing(void)
{
	uint8_t *pages = rig_pages(2);
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	rig_ok(viommu_dma_map(s.dma, pages, 2 * G, RW, &iova), "map");
	rig_expect(viommu_dma_unmap(s.dma, iova + G, G), -ENOENT, "unmap of its second half");
	rig_expect(viommu_dma_unmap(s.dma, iova, 3 * G), -ENOENT, "unmap too long");
	rig_expect(viommu_dma_unmap(s.dma, iova + 64 * G, 2 * G), -ENOENT, "unmap elsewhere");
	rig_expect(viommu_dma_unmap(s.dma, iova, 0), -ENOENT, "unmap of nothing");
	CU_ASSERT_EQUAL(reachable(&s, iova, pages, 2), 2);
	rig_ok(viommu_dma_unmap(s.dma, iova + 5, 2 * G - 5), "unmap by an inner address");
	rig_expect(viommu_dma_unmap(s.dma, iova, 2 * G), -ENOENT, "double unmap");
	CU_ASSERT_EQUAL(reachable(&s, iova, pages, 2), 0);
	close_setup(&s);
	rig_free_pages(pages);
}

static void test_refused_arguments(void)
{
	struct viommu_dma_opts o = { .flags = 1u << 9 };
	uint8_t *pages = rig_pages(1);
	struct viommu_dma *dma = NULL;
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	rig_expect(viommu_dma_create(s.r.dev, s.dom, &o, &dma), -EINVAL, "unknown flag");
	o = (struct viommu_dma_opts){ .iova_first = 0x1000, .iova_last = 0xfff };
	rig_expect(viommu_dma_create(s.r.dev, s.dom, &o, &dma), -EINVAL, "empty window");
	CU_ASSERT_PTR_NULL(dma);
	rig_expect(viommu_dma_map(s.dma, NULL, G, RW, &iova), -EINVAL, "NULL buffer");
	rig_expect(viommu_dma_map(s.dma, pages, 0, RW, &iova), -EINVAL, "empty buffer");
	rig_expect(viommu_dma_map(s.dma, pages, G, 0, &iova), -EINVAL, "no access");
	rig_expect(viommu_dma_map(s.dma, pages, G, VIOMMU_MAP_MMIO, &iova), -EINVAL, "MMIO");
	rig_expect(viommu_dma_map(s.dma, (void *)(UINTPTR_MAX - 10), 100, RW, &iova), -EINVAL,
	           "wraps");
	rig_expect(viommu_dma_attach(s.dma, EP2, 65), -EINVAL, "65 address bits");
	CU_ASSERT_EQUAL(dma_stats(&s).maps, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	close_setup(&s);
	rig_free_pages(pages);
}

/* The IOVA space's bounds and reserved regions, to see that a refused call left them. */
static void space_shape(struct viommu_dma *dma, struct viommu_iova_stats *out)
{
	CU_ASSERT_EQUAL(viommu_iova_get_stats(viommu_dma_iova_space(dma), out), 0);
}

/*
 * An attach that the driver refuses (a mapping of the domain in the
 * endpoint's reserved region, a destroyed domain) leaves the IOVA space
 * as it was: no region reserved, no limit lowered.
 */
static void test_refused_attach_changes_nothing(void)
{
	struct viommu_iova_stats before, after;
	uint8_t *pages = rig_pages(1);
	struct viommu_domain *dom;
	struct viommu_dma *dma;
	struct rig r;

	rig_open_default(&r, false);
	rig_ok(viommu_domain_create(r.dev, &dom), "domain");
	rig_ok(viommu_dma_create(r.dev, dom, NULL, &dma), "dma_create");
	rig_ok(viommu_map(dom, MSI_FIRST, rig_phys(pages), G, RW), "map in the MSI window");
	space_shape(dma, &before);
	rig_expect(viommu_dma_attach(dma, EP, 32), -EACCES, "attach over a mapped MSI window");
	space_shape(dma, &after);
	CU_ASSERT_EQUAL(after.last, before.last);
	CU_ASSERT_EQUAL(after.reserved, before.reserved);
	CU_ASSERT_EQUAL(after.free_ranges, before.free_ranges);
	rig_ok(viommu_unmap(dom, MSI_FIRST, G), "unmap");
	viommu_domain_destroy(dom);
	rig_expect(viommu_dma_attach(dma, EP2, 20), -ENOENT, "attach to a destroyed domain");
	space_shape(dma, &after);
	CU_ASSERT_EQUAL(after.last, before.last);
	CU_ASSERT_EQUAL(after.reserved, before.reserved);
	viommu_dma_destroy(dma);
	rig_close(&r);
	rig_free_pages(pages);
}

/* A mapper for a domain of another device, or a destroyed one, is refused at create. */
static void test_create_needs_a_live_domain_of_the_device(void)
{
	struct viommu_domain *other_dom, *dead;
	struct viommu_dma *dma = NULL;
	struct rig r, other;

	rig_open_default(&r, false);
	rig_open_default(&other, false);
	rig_ok(viommu_domain_create(other.dev, &other_dom), "domain of the other device");
	rig_expect(viommu_dma_create(r.dev, other_dom, NULL, &dma), -ENOENT,
		   "a domain of another device");
	rig_ok(viommu_domain_create(r.dev, &dead), "domain");
	viommu_domain_destroy(dead);
	rig_expect(viommu_dma_create(r.dev, dead, NULL, &dma), -ENOENT, "a destroyed domain");
	CU_ASSERT_PTR_NULL(dma);
	rig_close(&other);
	rig_close(&r);
}

/*
 * A registered viommu_mem's table gives the bus addresses the mapper
 * sends: memory of the other addressing is refused, since its addresses
 * would name other memory.
 */
static void test_register_mem_of_the_other_addressing(void)
{
	struct viommu_dma_opts po = { .addressing = VIOMMU_DMA_ADDR_PHYSICAL };
	struct viommu_mem_opts mo = { VIOMMU_PAGES_4K, VIOMMU_ADDR_VIRTUAL, -1 };
	struct viommu_dma *phys;
	struct viommu_mem *mem;
	struct setup s;

	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_mem_alloc(4 * G, &mo, &mem), "mem_alloc"), 0);
	open_setup(&s, NULL, 0); /* the software device: virtual addresses */
	rig_ok(viommu_dma_register_mem(s.dma, mem), "virtual memory, virtual mapper");
	rig_ok(viommu_dma_create(s.r.dev, s.dom, &po, &phys), "physical mapper");
	rig_expect(viommu_dma_register_mem(phys, mem), -EINVAL, "virtual memory, physical mapper");
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "virtual addresses"));
	viommu_dma_destroy(phys);
	close_setup(&s);
	viommu_mem_free(mem);
}

/* A window around QEMU's MSI region: the region (from PROBE) is never handed out. */
static void test_reserved_region_is_skipped(void)
{
	struct viommu_dma_opts o = { .iova_first = MSI_FIRST - 0x100000,
				     .iova_last = MSI_LAST + 0x100000 };
	enum { FREE_PAGES = 0x200000 / G };
	uint8_t *page = rig_pages(1);
	uint64_t *iova = calloc(FREE_PAGES + 1, sizeof(*iova));
	unsigned n = 0, inside = 0;
	struct setup s;
	int rc;

	open_setup(&s, &o, 32);
	while ((rc = viommu_dma_map(s.dma, page, G, RW, &iova[n])) == 0 && n < FREE_PAGES) {
		inside += iova[n] >= MSI_FIRST && iova[n] <= MSI_LAST;
		n++;
	}
	rig_expect(rc, -ENOSPC, "map past the window");
	CU_ASSERT_EQUAL(n, FREE_PAGES);
	CU_ASSERT_EQUAL(inside, 0);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, FREE_PAGES);
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, iova[n / 2], page));
	for (unsigned i = 0; i < n; i++)
		rig_ok(viommu_dma_unmap(s.dma, iova[i], G), "unmap");
	close_setup(&s);
	free(iova);
	rig_free_pages(page);
}

/* A 28-bit endpoint (QEMU's edu): IOVAs below 2^28; refused when IOVAs are above. */
static void test_dma_address_limit(void)
{
	uint8_t *pages = rig_pages(1);
	uint64_t iova, high;
	struct setup s;

	open_setup(&s, NULL, 28);
	for (unsigned i = 0; i < 64; i++) {
		rig_ok(viommu_dma_map(s.dma, pages, G, RW, &iova), "map");
		CU_ASSERT(iova + G - 1 <= (1ull << 28) - 1);
	}
	close_setup(&s);

	/* An IOVA above 2^32 handed out first: a 32-bit endpoint cannot join. */
	open_setup(&s, NULL, 0);
	rig_ok(viommu_iova_alloc_at(viommu_dma_iova_space(s.dma), 1ull << 33, G), "alloc_at");
	rig_ok(viommu_iova_free(viommu_dma_iova_space(s.dma), 1ull << 33, G), "free");
	rig_ok(viommu_iova_set_limit(viommu_dma_iova_space(s.dma), (1ull << 34) - 1), "limit");
	rig_ok(viommu_iova_reserve(viommu_dma_iova_space(s.dma), G, (1ull << 33) - 1), "reserve");
	rig_ok(viommu_dma_map(s.dma, pages, G, RW, &high), "map above 2^33");
	CU_ASSERT(high >= 1ull << 33);
	rig_expect(viommu_dma_attach(s.dma, EP2, 32), -EBUSY, "attach a 32-bit endpoint");
	rig_expect(viommu_dma_attach(s.dma, EP2, 8), -ERANGE, "attach an 8-bit endpoint");
	CU_ASSERT_FALSE(rig_translates(&s.r, EP2, high, pages)); /* EP2 was not attached */
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, high, pages));
	rig_ok(viommu_dma_unmap(s.dma, high, G), "unmap");
	close_setup(&s);
	rig_free_pages(pages);
}

/* The runs a viommu_mem's table has over [va, va + len). */
static unsigned table_runs(const struct viommu_mem *mem, const uint8_t *va, size_t len)
{
	unsigned runs = 0;
	size_t off = 0, contig;
	uint64_t bus;

	while (off < len) {
		CU_ASSERT_EQUAL_FATAL(viommu_mem_iova(mem, va + off, &bus, &contig), 0);
		off += contig < len - off ? contig : len - off;
		runs++;
	}
	return runs;
}

/*
 * Physical addresses: the runs of the table of a registered viommu_mem,
 * and the same runs read from pagemap for memory that is not registered.
 */
static void check_runs(enum viommu_page_kind kind, size_t len)
{
	struct viommu_mem_opts mo = { kind, VIOMMU_ADDR_PHYSICAL, -1 };
	struct viommu_dma_opts o = { .addressing = VIOMMU_DMA_ADDR_PHYSICAL };
	struct viommu_dma *plain;
	struct viommu_mem *mem;
	uint64_t iova, iova2;
	unsigned runs;
	struct setup s;
	uint8_t *va;

	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_mem_alloc(len, &mo, &mem),
					"mem_alloc (root, and 2 MiB hugepages reserved)"), 0);
	va = viommu_mem_va(mem);
	runs = table_runs(mem, va, len);
	open_setup(&s, &o, 0);
	rig_ok(viommu_dma_register_mem(s.dma, mem), "register");
	rig_ok(viommu_dma_map(s.dma, va, len, VIOMMU_MAP_READ, &iova), "map registered");
	CU_ASSERT_EQUAL(dma_stats(&s).map_requests, runs);
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, runs);
	/* The same memory, not registered: pagemap finds the same runs. */
	rig_ok(viommu_dma_create(s.r.dev, s.dom, &o, &plain), "second mapper");
	rig_ok(viommu_iova_reserve(viommu_dma_iova_space(plain), iova, iova + len - 1), "keep out");
	rig_ok(viommu_dma_map(plain, va, len, VIOMMU_MAP_READ, &iova2), "map by pagemap");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 2 * runs);
	rig_ok(viommu_dma_unmap(plain, iova2, len), "unmap by pagemap");
	viommu_dma_destroy(plain);
	rig_ok(viommu_dma_unmap(s.dma, iova, len), "unmap registered");
	printf("\n  %zu KiB of %zu KiB pages: %u physically contiguous runs", len >> 10,
	       viommu_mem_page_size(mem) >> 10, runs);
	close_setup(&s);
	viommu_mem_free(mem);
}

/* 4 KiB pages: more runs than a batch holds (several batches); 2 MiB pages: 512 pages a run. */
static void test_physical_runs(void)
{
	check_runs(VIOMMU_PAGES_4K, 300 * G);
	check_runs(VIOMMU_PAGES_HUGE_2M, 4u << 20);
	printf("\n");
}

/* A MAP the device fails: nothing stays mapped, the IOVA is free again. */
static void test_failed_map_is_undone(void)
{
	uint8_t *pages = rig_pages(1);
	uint64_t iova, again;
	struct setup s;

	open_setup(&s, NULL, 0);
	sim_device_inject_status(s.r.sim, 1, VIRTIO_IOMMU_S_NOMEM);
	rig_expect(viommu_dma_map(s.dma, pages, G, RW, &iova), -ENOMEM, "map the device refuses");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	CU_ASSERT_EQUAL(dma_stats(&s).mapped, 0);
	rig_ok(viommu_dma_map(s.dma, pages, G, RW, &again), "map");
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, again, pages));
	rig_ok(viommu_dma_unmap(s.dma, again, G), "unmap");
	close_setup(&s);
	rig_free_pages(pages);
}

#define FRAGMENTED_TRIES 16

/*
 * 16 pages of 4 KiB in more than one physical run. The kernel may hand
 * out a contiguous block (a fresh machine often does), so allocations
 * that came out in one run are kept until the end, to make the next one
 * take other pages; NULL (a failed check) if none of FRAGMENTED_TRIES is.
 */
static struct viommu_mem *alloc_fragmented(void)
{
	struct viommu_mem_opts mo = { VIOMMU_PAGES_4K, VIOMMU_ADDR_PHYSICAL, -1 };
	struct viommu_mem *tries[FRAGMENTED_TRIES], *found = NULL;
	unsigned n = 0;

	while (!found && n < FRAGMENTED_TRIES) {
		if (rig_check(viommu_mem_alloc(16 * G, &mo, &tries[n]), "mem_alloc"))
			break;
		if (table_runs(tries[n], viommu_mem_va(tries[n]), 16 * G) > 1)
			found = tries[n];
		else
			n++;
	}
	while (n)
		viommu_mem_free(tries[--n]);
	CU_ASSERT_PTR_NOT_NULL(found); /* else the test cannot make several MAPs */
	return found;
}

/* The first of several MAPs fails: exactly the others are undone, every IOVA is free again. */
static void test_partly_failed_map_is_undone(void)
{
	struct viommu_dma_opts o = { .addressing = VIOMMU_DMA_ADDR_PHYSICAL };
	struct viommu_iova_stats before, after;
	struct viommu_mem *mem = alloc_fragmented();
	struct setup s;
	uint64_t iova;

	if (!mem)
		return;
	open_setup(&s, &o, 0);
	rig_ok(viommu_dma_register_mem(s.dma, mem), "register");
	rig_ok(viommu_iova_flush_caches(viommu_dma_iova_space(s.dma)), "flush caches");
	rig_ok(viommu_iova_get_stats(viommu_dma_iova_space(s.dma), &before), "stats");
	sim_device_inject_status(s.r.sim, 1, VIRTIO_IOMMU_S_NOMEM);
	rig_expect(viommu_dma_map(s.dma, viommu_mem_va(mem), 16 * G, RW, &iova), -ENOMEM,
	           "a map whose first MAP fails");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	rig_ok(viommu_iova_flush_caches(viommu_dma_iova_space(s.dma)), "flush caches");
	rig_ok(viommu_iova_get_stats(viommu_dma_iova_space(s.dma), &after), "stats");
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_ranges, before.free_ranges);
	close_setup(&s);
	viommu_mem_free(mem);
}

#define SCATTERED_PAGES 1024

/*
 * SCATTERED_PAGES pages of anonymous memory, each in a physical run of
 * its own as far as the kernel allows: no transparent huge page, and
 * touched from the last to the first, so that they get frames in falling
 * order. *runs: how many runs pagemap shows. munmap() frees them.
 */
static uint8_t *scattered_pages(unsigned *runs)
{
	uint8_t *va = mmap(NULL, SCATTERED_PAGES * G, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t pa, prev = 0;

	*runs = 0;
	CU_ASSERT_FATAL(va != MAP_FAILED);
	madvise(va, SCATTERED_PAGES * G, MADV_NOHUGEPAGE);
	for (size_t i = SCATTERED_PAGES; i-- > 0;)
		va[i * G] = 1;
	for (size_t i = 0; i < SCATTERED_PAGES; i++) {
		CU_ASSERT_EQUAL_FATAL(rig_check(viommu_virt_to_phys(va + i * G, &pa), "pagemap (root)"),
				      0);
		*runs += !i || pa != prev + G;
		prev = pa;
	}
	return va;
}

/*
 * A map of more runs than a batch holds (UVI_DMA_BATCH, 128), whose first
 * batch has a MAP the device fails: the MAPs of that batch that went
 * through are undone too, and every IOVA is free again.
 */
static void test_failed_map_in_a_full_batch_is_undone(void)
{
	struct viommu_dma_opts o = { .addressing = VIOMMU_DMA_ADDR_PHYSICAL };
	struct viommu_iova_stats before, after;
	struct viommu_stats st;
	uint64_t iova, again;
	unsigned runs;
	struct setup s;
	uint8_t *va = scattered_pages(&runs);

	printf("\n  %u pages in %u physical runs\n", SCATTERED_PAGES, runs);
	CU_ASSERT_FATAL(runs > 2 * 128); /* else the kernel handed out contiguous blocks */
	open_setup(&s, &o, 0);
	rig_ok(viommu_iova_flush_caches(viommu_dma_iova_space(s.dma)), "flush caches");
	rig_ok(viommu_iova_get_stats(viommu_dma_iova_space(s.dma), &before), "stats");
	sim_device_inject_status(s.r.sim, 1, VIRTIO_IOMMU_S_NOMEM);
	rig_expect(viommu_dma_map(s.dma, va, SCATTERED_PAGES * G, RW, &iova), -ENOMEM,
		   "a map whose first batch has a MAP the device fails");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 0);
	CU_ASSERT_EQUAL(viommu_get_stats(s.r.dev, &st), 0);
	CU_ASSERT_EQUAL(st.mappings, 0);
	CU_ASSERT_EQUAL(dma_stats(&s).mapped, 0);
	rig_ok(viommu_iova_flush_caches(viommu_dma_iova_space(s.dma)), "flush caches");
	rig_ok(viommu_iova_get_stats(viommu_dma_iova_space(s.dma), &after), "stats");
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	rig_ok(viommu_dma_map(s.dma, va, SCATTERED_PAGES * G, RW, &again), "the same map again");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, runs);
	rig_ok(viommu_dma_unmap(s.dma, again, SCATTERED_PAGES * G), "unmap");
	close_setup(&s);
	munmap(va, SCATTERED_PAGES * G);
}

/* A mapping made behind the mapper's back in its range is refused, and left alone. */
static void test_undo_leaves_other_mappings_alone(void)
{
	uint8_t *pages = rig_pages(5);
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	/* First fit: the next 4-page map would get [G, 5G); map 3G by hand. */
	rig_ok(viommu_map(s.dom, 3 * G, rig_phys(pages + 4 * G), G, RW), "foreign map");
	CU_ASSERT(viommu_dma_map(s.dma, pages, 4 * G, RW, &iova) < 0);
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, 3 * G, pages + 4 * G));
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 1);
	rig_ok(viommu_unmap(s.dom, 3 * G, G), "foreign unmap");
	close_setup(&s);
	rig_free_pages(pages);
}

/* An UNMAP the device fails: the mapping stays, the call can be repeated. */
static void test_failed_unmap_keeps_the_mapping(void)
{
	uint8_t *pages = rig_pages(1);
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	rig_ok(viommu_dma_map(s.dma, pages, G, RW, &iova), "map");
	sim_device_inject_status(s.r.sim, 1, VIRTIO_IOMMU_S_IOERR);
	rig_expect(viommu_dma_unmap(s.dma, iova, G), -EIO, "unmap the device refuses");
	CU_ASSERT_TRUE(rig_translates(&s.r, EP, iova, pages));
	CU_ASSERT_EQUAL(dma_stats(&s).mapped, 1);
	rig_ok(viommu_dma_unmap(s.dma, iova, G), "unmap again");
	CU_ASSERT_FALSE(rig_translates(&s.r, EP, iova, pages));
	close_setup(&s);
	rig_free_pages(pages);
}

static void test_destroy_unmaps_everything(void)
{
	uint8_t *pages = rig_pages(8);
	struct setup s;
	uint64_t iova;

	open_setup(&s, NULL, 0);
	for (unsigned i = 0; i < 8; i++)
		rig_ok(viommu_dma_map(s.dma, pages + i * G, G, RW, &iova), "map");
	CU_ASSERT_EQUAL(rig_sim_stats(&s.r).mappings, 8);
	close_setup(&s); /* checks that the device has no mapping left */
	rig_free_pages(pages);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_map_and_unmap),
		TEST_CASE(test_bad_unmaps_change_nothing),
		TEST_CASE(test_refused_arguments),
		TEST_CASE(test_refused_attach_changes_nothing),
		TEST_CASE(test_create_needs_a_live_domain_of_the_device),
		TEST_CASE(test_register_mem_of_the_other_addressing),
		TEST_CASE(test_reserved_region_is_skipped),
		TEST_CASE(test_dma_address_limit),
		TEST_CASE(test_physical_runs),
		TEST_CASE(test_failed_map_is_undone),
		TEST_CASE(test_partly_failed_map_is_undone),
		TEST_CASE(test_failed_map_in_a_full_batch_is_undone),
		TEST_CASE(test_undo_leaves_other_mappings_alone),
		TEST_CASE(test_failed_unmap_keeps_the_mapping),
		TEST_CASE(test_destroy_unmaps_everything),
		TEST_END,
	};

	return run_suite("dma-map", cases);
}
