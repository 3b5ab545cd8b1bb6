/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software virtio-iommu semantics (drivers/sim): every request rule of
 * virtio 1.2 section 5.13.6 as the device implements it, PROBE bytes,
 * simulated DMA with fault records, bypass, fault injection, and a
 * randomized MAP/UNMAP run against a page-array model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../drivers/sim/sim_iommu.h"

#define F(bit) (UINT64_C(1) << (bit))
#define PAGE 0x1000ull
#define RESV_MSI_START 0xfee00000ull
#define RESV_MSI_END 0xfeefffffull

/* "Physical" memory of the tests: PHYS_SIZE bytes at bus address PHYS_BASE. */
#define PHYS_BASE 0x100000000ull
#define PHYS_SIZE (1u << 20)
static uint8_t phys_mem[PHYS_SIZE];

/* Fault records the device produced, through the host callback. */
static struct {
	unsigned n;
	struct virtio_iommu_fault last;
} faults;

static void *phys_to_host(void *arg, uint64_t phys, uint64_t len)
{
	(void)arg;
	if (phys < PHYS_BASE || phys - PHYS_BASE > PHYS_SIZE ||
	    len > PHYS_SIZE - (phys - PHYS_BASE))
		return NULL;
	return phys_mem + (phys - PHYS_BASE);
}

static void record_fault(void *arg, const struct virtio_iommu_fault *f)
{
	(void)arg;
	faults.n++;
	faults.last = *f;
}

/* Like QEMU's device: every feature but the legacy F_BYPASS, 4 KiB granule, MSI window. */
static struct sim_iommu_config qemu_like_config(void)
{
	return (struct sim_iommu_config){
		.features = F(VIRTIO_IOMMU_F_INPUT_RANGE) | F(VIRTIO_IOMMU_F_DOMAIN_RANGE) |
			    F(VIRTIO_IOMMU_F_MAP_UNMAP) | F(VIRTIO_IOMMU_F_PROBE) |
			    F(VIRTIO_IOMMU_F_MMIO) | F(VIRTIO_IOMMU_F_BYPASS_CONFIG),
		.page_size_mask = ~(PAGE - 1),
		.input_start = 0,
		.input_end = (UINT64_C(1) << 48) - 1,
		.domain_start = 1,
		.domain_end = 1000,
		.probe_size = 512,
		.resv = { { RESV_MSI_START, RESV_MSI_END, VIRTIO_IOMMU_RESV_MEM_T_MSI } },
		.n_resv = 1,
		.n_endpoints = 8,
	};
}

static struct sim_iommu *make(const struct sim_iommu_config *cfg)
{
	const struct sim_iommu_host host = { phys_to_host, record_fault, NULL };
	struct sim_iommu *s = NULL;
	int rc = sim_iommu_create(cfg, &s);

	if (rc)
		fprintf(stderr, "sim_iommu_create: %s\n", viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sim_iommu_set_host(s, &host);
	memset(&faults, 0, sizeof(faults));
	return s;
}

static struct sim_iommu *make_default(void)
{
	struct sim_iommu_config cfg = qemu_like_config();

	return make(&cfg);
}

/* Serve a request whose writable part is exactly a tail; the status. */
static uint8_t submit(struct sim_iommu *s, const void *in, size_t in_len)
{
	uint8_t tail[4] = { 0xee, 0xee, 0xee, 0xee };
	uint32_t used = sim_iommu_handle(s, in, in_len, tail, sizeof(tail));

	CU_ASSERT_EQUAL(used, 4);
	CU_ASSERT(tail[1] == 0 && tail[2] == 0 && tail[3] == 0);
	return used == 4 ? tail[0] : 0xff;
}

#define READABLE(r) (sizeof(r) - sizeof(struct virtio_iommu_req_tail))

static uint8_t attach_f(struct sim_iommu *s, uint32_t domain, uint32_t ep, uint32_t flags)
{
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = domain, .endpoint = ep,
		.flags = flags,
	};

	return submit(s, &r, READABLE(r));
}

static uint8_t attach(struct sim_iommu *s, uint32_t domain, uint32_t ep)
{
	return attach_f(s, domain, ep, 0);
}

static uint8_t detach(struct sim_iommu *s, uint32_t domain, uint32_t ep)
{
	struct virtio_iommu_req_detach r = {
		.head.type = VIRTIO_IOMMU_T_DETACH, .domain = domain, .endpoint = ep,
	};

	return submit(s, &r, READABLE(r));
}

static uint8_t map(struct sim_iommu *s, uint32_t domain, uint64_t virt_start, uint64_t virt_end,
		   uint64_t phys, uint32_t flags)
{
	struct virtio_iommu_req_map r = {
		.head.type = VIRTIO_IOMMU_T_MAP, .domain = domain, .virt_start = virt_start,
		.virt_end = virt_end, .phys_start = phys, .flags = flags,
	};

	return submit(s, &r, READABLE(r));
}

static uint8_t unmap(struct sim_iommu *s, uint32_t domain, uint64_t virt_start, uint64_t virt_end)
{
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP, .domain = domain, .virt_start = virt_start,
		.virt_end = virt_end,
	};

	return submit(s, &r, READABLE(r));
}

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)

static long n_mappings(struct sim_iommu *s, uint32_t domain)
{
	return sim_iommu_domain_mappings(s, domain);
}

static struct sim_iommu_stats stats(struct sim_iommu *s)
{
	struct sim_iommu_stats st;

	sim_iommu_get_stats(s, &st);
	return st;
}

static void expect_bad_config(const struct sim_iommu_config *cfg, const char *needle)
{
	struct sim_iommu *s = (struct sim_iommu *)0x5e57;

	CU_ASSERT_EQUAL(sim_iommu_create(cfg, &s), -EINVAL);
	CU_ASSERT_PTR_EQUAL(s, (struct sim_iommu *)0x5e57);
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("error message does not name the problem");
	}
}

static void test_create_rejects_bad_config(void)
{
	struct sim_iommu_config c;

	c = qemu_like_config(), c.page_size_mask = 0;
	expect_bad_config(&c, "page_size_mask");
	c = qemu_like_config(), c.n_endpoints = 0;
	expect_bad_config(&c, "endpoints");
	c = qemu_like_config(), c.n_endpoints = SIM_IOMMU_MAX_ENDPOINTS + 1;
	expect_bad_config(&c, "endpoints");
	c = qemu_like_config(), c.features |= F(7);
	expect_bad_config(&c, "feature");
	c = qemu_like_config(), c.input_start = 0x2000, c.input_end = 0x1fff;
	expect_bad_config(&c, "input range");
	c = qemu_like_config(), c.domain_start = 5, c.domain_end = 4;
	expect_bad_config(&c, "domain range");
	c = qemu_like_config(), c.n_resv = SIM_IOMMU_MAX_RESV + 1;
	expect_bad_config(&c, "reserved regions");
	c = qemu_like_config(), c.resv[0].start = 2, c.resv[0].end = 1;
	expect_bad_config(&c, "ends before");
	c = qemu_like_config(), c.n_resv = 2;
	c.resv[1] = (struct sim_iommu_resv){ RESV_MSI_END, RESV_MSI_END + PAGE, 0 };
	expect_bad_config(&c, "overlap");
	c = qemu_like_config(), c.probe_size = 23;
	expect_bad_config(&c, "probe_size");
	c = qemu_like_config(), c.bypass_default = true;
	c.features &= ~F(VIRTIO_IOMMU_F_BYPASS_CONFIG);
	expect_bad_config(&c, "BYPASS_CONFIG");
}

static void test_config_space(void)
{
	struct sim_iommu_config c = qemu_like_config();
	struct virtio_iommu_config vc;
	struct sim_iommu *s;

	c.bypass_default = true;
	s = make(&c);
	sim_iommu_read_config(s, &vc);
	CU_ASSERT_EQUAL(vc.page_size_mask, ~(PAGE - 1));
	CU_ASSERT_EQUAL(vc.input_range_start, 0);
	CU_ASSERT_EQUAL(vc.input_range_end, (UINT64_C(1) << 48) - 1);
	CU_ASSERT_EQUAL(vc.domain_range_start, 1);
	CU_ASSERT_EQUAL(vc.domain_range_end, 1000);
	CU_ASSERT_EQUAL(vc.probe_size, 512);
	CU_ASSERT_EQUAL(vc.bypass, 1);
	CU_ASSERT_EQUAL(vc.reserved[0] | vc.reserved[1] | vc.reserved[2], 0);
	sim_iommu_destroy(s);

	/* Without INPUT_RANGE / DOMAIN_RANGE every value is valid (5.13.6). */
	c = qemu_like_config();
	c.features &= ~(F(VIRTIO_IOMMU_F_INPUT_RANGE) | F(VIRTIO_IOMMU_F_DOMAIN_RANGE));
	s = make(&c);
	sim_iommu_read_config(s, &vc);
	CU_ASSERT_EQUAL(vc.input_range_start, 0);
	CU_ASSERT_EQUAL(vc.input_range_end, UINT64_MAX);
	CU_ASSERT_EQUAL(vc.domain_range_start, 0);
	CU_ASSERT_EQUAL(vc.domain_range_end, UINT32_MAX);
	CU_ASSERT_EQUAL(attach(s, UINT32_MAX, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, UINT32_MAX, UINT64_MAX - PAGE + 1, UINT64_MAX, 0, RW),
			VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(unmap(s, UINT32_MAX, 0, UINT64_MAX), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, UINT32_MAX), 0);
	sim_iommu_destroy(s);
}

static void test_attach_rules(void)
{
	struct sim_iommu *s = make_default();
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = 1, .endpoint = 0,
	};
	uint32_t dom = 0;

	CU_ASSERT_EQUAL(attach(s, 0, 0), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(attach(s, 1001, 0), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(attach(s, 1, 8), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(attach(s, 1, UINT32_MAX), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(attach_f(s, 1, 0, 2), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(attach_f(s, 1, 0, 0x80000000u), VIRTIO_IOMMU_S_INVAL);
	r.reserved[3] = 1;
	CU_ASSERT_EQUAL(submit(s, &r, READABLE(r)), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(stats(s).domains, 0);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 0);

	/* A domain exists from its first ATTACH; a second endpoint may join it. */
	CU_ASSERT_EQUAL(attach(s, 1000, 7), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 1000, 6), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(stats(s).domains, 1);
	CU_ASSERT_EQUAL(n_mappings(s, 1000), 0);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 7, &dom), 1);
	CU_ASSERT_EQUAL(dom, 1000);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 8, &dom), -EINVAL);
	sim_iommu_destroy(s);
}

static void test_reattach_moves_endpoint(void)
{
	struct sim_iommu *s = make_default();
	uint32_t dom = 0;

	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 1, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x10000, 0x10fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);

	/* Same domain again: nothing changes, mappings stay. */
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 1);

	/* Endpoint 0 moves to domain 2; domain 1 keeps endpoint 1 and its mapping. */
	CU_ASSERT_EQUAL(attach(s, 2, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 1);
	CU_ASSERT_EQUAL(dom, 2);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 1);
	CU_ASSERT_EQUAL(n_mappings(s, 2), 0);
	CU_ASSERT_EQUAL(stats(s).domains, 2);
	CU_ASSERT_EQUAL(detach(s, 1, 0), VIRTIO_IOMMU_S_INVAL);

	/* The last endpoint of domain 1 moves away: domain 1 and its mapping are gone. */
	CU_ASSERT_EQUAL(attach(s, 2, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), -ENOENT);
	CU_ASSERT_EQUAL(stats(s).domains, 1);
	CU_ASSERT_EQUAL(stats(s).mappings, 0);
	CU_ASSERT_EQUAL(map(s, 1, 0x10000, 0x10fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_NOENT);
	sim_iommu_destroy(s);
}

static void test_detach_rules(void)
{
	struct sim_iommu *s = make_default();
	struct virtio_iommu_req_detach r = {
		.head.type = VIRTIO_IOMMU_T_DETACH, .domain = 2, .endpoint = 1,
		.reserved = { 1, 2, 3, 4, 5, 6, 7, 8 },
	};
	uint32_t dom;

	CU_ASSERT_EQUAL(detach(s, 1, 8), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(detach(s, 1, 0), VIRTIO_IOMMU_S_INVAL); /* not attached */
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 2, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(detach(s, 2, 0), VIRTIO_IOMMU_S_INVAL); /* attached elsewhere */
	CU_ASSERT_EQUAL(detach(s, 3, 0), VIRTIO_IOMMU_S_INVAL); /* no such domain */
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 1);
	/* 5.13.6.4.2: the device MUST ignore reserved. */
	CU_ASSERT_EQUAL(submit(s, &r, READABLE(r)), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 1, &dom), 0);
	sim_iommu_destroy(s);
}

static void test_last_detach_destroys_domain(void)
{
	struct sim_iommu *s = make_default();

	CU_ASSERT_EQUAL(attach(s, 5, 2), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 5, 3), VIRTIO_IOMMU_S_OK);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(map(s, 5, i * 0x10000, i * 0x10000 + 0xfff, PHYS_BASE, RW),
				VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(detach(s, 5, 2), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 5), 3);
	CU_ASSERT_EQUAL(detach(s, 5, 3), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 5), -ENOENT);
	CU_ASSERT_EQUAL(stats(s).domains, 0);
	CU_ASSERT_EQUAL(stats(s).mappings, 0);
	CU_ASSERT_EQUAL(map(s, 5, 0, 0xfff, PHYS_BASE, RW), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(unmap(s, 5, 0, 0xfff), VIRTIO_IOMMU_S_NOENT);
	/* The ID can be reused: the new domain starts empty. */
	CU_ASSERT_EQUAL(attach(s, 5, 3), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 5), 0);
	CU_ASSERT_EQUAL(map(s, 5, 0, 0xfff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	sim_iommu_destroy(s);
}

static void test_map_rules(void)
{
	struct sim_iommu_config c = qemu_like_config();
	struct sim_iommu *s;

	c.input_start = 0x100000;
	s = make(&c);
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x100fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	/* Outside input_range. */
	CU_ASSERT_EQUAL(map(s, 1, 0xff000, 0x100fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(map(s, 1, (UINT64_C(1) << 48) - PAGE, (UINT64_C(1) << 48) + PAGE - 1,
			    PHYS_BASE, RW), VIRTIO_IOMMU_S_RANGE);
	/* Misaligned virt_start, virt_end + 1, phys_start. */
	CU_ASSERT_EQUAL(map(s, 1, 0x100800, 0x101fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x100ffe, PHYS_BASE, RW), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x100fff, PHYS_BASE + 8, RW), VIRTIO_IOMMU_S_RANGE);
	/* Physical range wrapping around 2^64. */
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x101fff, UINT64_MAX - PAGE + 1, RW),
			VIRTIO_IOMMU_S_RANGE);
	/* Over the RESV_MEM MSI region. */
	CU_ASSERT_EQUAL(map(s, 1, RESV_MSI_END + 1 - PAGE, RESV_MSI_END + PAGE, PHYS_BASE, RW),
			VIRTIO_IOMMU_S_RANGE);
	/* Unknown flags, end before start. */
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x100fff, PHYS_BASE, 8), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(map(s, 1, 0x101000, 0x100fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(stats(s).mappings, 0);
	/* Valid: MMIO (F_MMIO offered and accepted), no flags at all, the top of input_range. */
	CU_ASSERT_EQUAL(map(s, 1, 0x100000, 0x100fff, PHYS_BASE, VIRTIO_IOMMU_MAP_F_MMIO | RW),
			VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x200000, 0x3fffff, PHYS_BASE, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, (UINT64_C(1) << 48) - PAGE, (UINT64_C(1) << 48) - 1, PHYS_BASE,
			    RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 3);

	/* Without F_MMIO the MMIO flag is unknown; without MAP_UNMAP there is no MAP. */
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, c.features & ~F(VIRTIO_IOMMU_F_MMIO)), 0);
	CU_ASSERT_EQUAL(map(s, 1, 0x400000, 0x400fff, PHYS_BASE, VIRTIO_IOMMU_MAP_F_MMIO),
			VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, c.features & ~F(VIRTIO_IOMMU_F_MAP_UNMAP)), 0);
	CU_ASSERT_EQUAL(map(s, 1, 0x400000, 0x400fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_UNSUPP);
	CU_ASSERT_EQUAL(unmap(s, 1, 0x100000, 0x100fff), VIRTIO_IOMMU_S_UNSUPP);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 3);
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, F(8)), -EINVAL);
	sim_iommu_destroy(s);
}

/* DMA read of one 8-byte word; the value, or ~0 if refused. */
static uint64_t dma_word(struct sim_iommu *s, uint32_t ep, uint64_t iova)
{
	uint64_t v = ~UINT64_C(0);

	if (sim_iommu_dma(s, ep, iova, &v, sizeof(v), SIM_DMA_READ))
		return ~UINT64_C(0);
	return v;
}

/* True if the endpoint may read 8 bytes at iova. */
static bool dma_ok(struct sim_iommu *s, uint32_t ep, uint64_t iova)
{
	uint64_t v;

	return sim_iommu_dma(s, ep, iova, &v, sizeof(v), SIM_DMA_READ) == 0;
}

static void put_word(uint64_t phys, uint64_t v)
{
	memcpy(phys_mem + (phys - PHYS_BASE), &v, sizeof(v));
}

static void test_map_overlap_leaves_table_unchanged(void)
{
	static const uint64_t tries[][2] = {
		{ 0x10000, 0x11fff }, /* identical */
		{ 0x11000, 0x11fff }, /* inside */
		{ 0x0f000, 0x10fff }, /* over the start */
		{ 0x11000, 0x12fff }, /* over the end */
		{ 0x0f000, 0x12fff }, /* around */
	};
	struct sim_iommu *s = make_default();

	put_word(PHYS_BASE + 0x1008, 0x1234);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x10000, 0x11fff, PHYS_BASE, VIRTIO_IOMMU_MAP_F_READ),
			VIRTIO_IOMMU_S_OK);
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		CU_ASSERT_EQUAL(map(s, 1, tries[i][0], tries[i][1], PHYS_BASE + 0x10000, RW),
				VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 1);
	CU_ASSERT_EQUAL(dma_word(s, 0, 0x11008), 0x1234);
	/* Adjacent on either side is fine. */
	CU_ASSERT_EQUAL(map(s, 1, 0x0f000, 0x0ffff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x12000, 0x12fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 3);
	sim_iommu_destroy(s);
}

/* The examples of 5.13.6.6, with a 1-byte granule, each from a blank address space. */
static void test_unmap_spec_examples(void)
{
	static const struct {
		uint64_t maps[2][2];
		unsigned n_maps;
		uint64_t unmap[2];
		uint8_t status;
		unsigned left;
	} ex[] = {
		{ { { 0 } }, 0, { 0, 4 }, VIRTIO_IOMMU_S_OK, 0 },
		{ { { 0, 9 } }, 1, { 0, 9 }, VIRTIO_IOMMU_S_OK, 0 },
		{ { { 0, 4 }, { 5, 9 } }, 2, { 0, 9 }, VIRTIO_IOMMU_S_OK, 0 },
		{ { { 0, 9 } }, 1, { 0, 4 }, VIRTIO_IOMMU_S_RANGE, 1 },
		{ { { 0, 4 }, { 5, 9 } }, 2, { 0, 4 }, VIRTIO_IOMMU_S_OK, 1 },
		{ { { 0, 4 } }, 1, { 0, 9 }, VIRTIO_IOMMU_S_OK, 0 },
		{ { { 0, 4 }, { 10, 14 } }, 2, { 0, 14 }, VIRTIO_IOMMU_S_OK, 0 },
	};
	struct sim_iommu_config c = qemu_like_config();

	c.page_size_mask = 1;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct sim_iommu *s = make(&c);

		CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
		for (unsigned m = 0; m < ex[i].n_maps; m++)
			CU_ASSERT_EQUAL(map(s, 1, ex[i].maps[m][0], ex[i].maps[m][1], PHYS_BASE,
					    RW), VIRTIO_IOMMU_S_OK);
		CU_ASSERT_EQUAL(unmap(s, 1, ex[i].unmap[0], ex[i].unmap[1]), ex[i].status);
		CU_ASSERT_EQUAL(n_mappings(s, 1), ex[i].left);
		sim_iommu_destroy(s);
	}
}

static void test_unmap_rules(void)
{
	struct sim_iommu *s = make_default();
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP, .domain = 1, .virt_start = 0,
		.virt_end = UINT64_MAX, .reserved = { 0, 0, 1, 0 },
	};

	CU_ASSERT_EQUAL(unmap(s, 1, 0, 0xfff), VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(unmap(s, 1, 0, UINT64_MAX), VIRTIO_IOMMU_S_OK); /* nothing to unmap */
	/* Three mappings with gaps: 0x10000-0x11fff, 0x14000-0x14fff, 0x20000-0x2ffff. */
	CU_ASSERT_EQUAL(map(s, 1, 0x10000, 0x11fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x14000, 0x14fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x20000, 0x2ffff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);

	/* Reserved non-zero: INVAL, and nothing removed. */
	CU_ASSERT_EQUAL(submit(s, &r, READABLE(r)), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(unmap(s, 1, 0x14fff, 0x14000), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 3);

	/* Would split the first or the last mapping: RANGE, nothing removed (not even 0x14000). */
	CU_ASSERT_EQUAL(unmap(s, 1, 0x11000, 0x2ffff), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(unmap(s, 1, 0x10000, 0x20fff), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(unmap(s, 1, 0x0, 0x10000), VIRTIO_IOMMU_S_RANGE);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 3);
	CU_ASSERT_TRUE(dma_ok(s, 0, 0x14000));

	/* Covering the two first whole mappings and the gaps around them. */
	CU_ASSERT_EQUAL(unmap(s, 1, 0x8000, 0x1ffff), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 1);
	CU_ASSERT_EQUAL(stats(s).mappings, 1);
	CU_ASSERT_FALSE(dma_ok(s, 0, 0x14000));
	CU_ASSERT_TRUE(dma_ok(s, 0, 0x20000));
	sim_iommu_destroy(s);
}

static void le16_at(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void le64_at(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint32_t probe(struct sim_iommu *s, uint32_t ep, size_t in_len, uint8_t *out,
		      size_t out_len)
{
	struct virtio_iommu_req_probe r = { .head.type = VIRTIO_IOMMU_T_PROBE, .endpoint = ep };

	r.reserved[63] = 0x55; /* 5.13.6.7.2: ignored */
	return sim_iommu_handle(s, &r, in_len, out, out_len);
}

/* Two RESV_MEM properties laid out by hand from the spec, then zeros, then the tail. */
static void test_probe_output_bytes(void)
{
	struct sim_iommu_config c = qemu_like_config();
	uint8_t out[512 + 4], want[512 + 4] = { 0 };
	struct sim_iommu *s;

	c.n_resv = 2;
	c.resv[1] = (struct sim_iommu_resv){ 0x8000000000ull, 0x80ffffffffull,
					     VIRTIO_IOMMU_RESV_MEM_T_RESERVED };
	s = make(&c);
	le16_at(want + 0, 1);
	le16_at(want + 2, 20);
	want[4] = 1;
	le64_at(want + 8, RESV_MSI_START);
	le64_at(want + 16, RESV_MSI_END);
	le16_at(want + 24, 1);
	le16_at(want + 26, 20);
	want[28] = 0;
	le64_at(want + 32, 0x8000000000ull);
	le64_at(want + 40, 0x80ffffffffull);
	want[512] = VIRTIO_IOMMU_S_OK;

	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(probe(s, 7, sizeof(struct virtio_iommu_req_probe), out, sizeof(out)),
			sizeof(out));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(out)), 0);
	sim_iommu_destroy(s);
}

static void test_probe_errors(void)
{
	struct sim_iommu_config c = qemu_like_config();
	const size_t in = sizeof(struct virtio_iommu_req_probe);
	uint8_t out[512 + 4];
	struct sim_iommu *s = make(&c);

	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(probe(s, 8, in, out, sizeof(out)), sizeof(out));
	CU_ASSERT_EQUAL(out[512], VIRTIO_IOMMU_S_NOENT);
	CU_ASSERT_EQUAL(out[0], 0); /* no property */

	/* Properties area smaller than probe_size: INVAL, no property written. */
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(probe(s, 0, in, out, 100), 100);
	CU_ASSERT_EQUAL(out[96], VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(out[0] | out[1] | out[2] | out[3], 0);
	CU_ASSERT_EQUAL(out[100], 0xaa);

	/* Readable part shorter than the PROBE head. */
	CU_ASSERT_EQUAL(probe(s, 0, in - 1, out, sizeof(out)), sizeof(out));
	CU_ASSERT_EQUAL(out[512], VIRTIO_IOMMU_S_INVAL);

	/* 5.13.6.7.2: without F_PROBE, the buffer is not written and used length is 0. */
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, c.features & ~F(VIRTIO_IOMMU_F_PROBE)), 0);
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(probe(s, 0, in, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(out[0], 0xaa);
	CU_ASSERT_EQUAL(out[512], 0xaa);
	CU_ASSERT_FALSE(sim_iommu_needs_reset(s));
	sim_iommu_destroy(s);
}

static void test_framing(void)
{
	struct sim_iommu *s = make_default();
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = 1, .endpoint = 0,
	};
	uint8_t unknown[8] = { 0 };
	uint8_t out[8];

	/* Too short for its type: INVAL; unknown types: UNSUPP. */
	CU_ASSERT_EQUAL(submit(s, &r, READABLE(r) - 1), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(submit(s, &r, 4), VIRTIO_IOMMU_S_INVAL);
	for (unsigned t = 0; t < 256; t++) {
		if (t >= VIRTIO_IOMMU_T_ATTACH && t <= VIRTIO_IOMMU_T_PROBE)
			continue;
		unknown[0] = t;
		CU_ASSERT_EQUAL(submit(s, unknown, sizeof(unknown)), VIRTIO_IOMMU_S_UNSUPP);
	}
	/* A longer readable part is fine; so is a longer writable part: tail at its end. */
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, sizeof(r), out, sizeof(out)), 8);
	CU_ASSERT_EQUAL(out[4], VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(out[0] | out[1] | out[2] | out[3] | out[5] | out[6] | out[7], 0);
	CU_ASSERT_EQUAL(stats(s).requests, 254);
	CU_ASSERT_EQUAL(stats(s).unanswered, 0);

	/* No tail, or no full head: unanswered and the device needs a reset. */
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, READABLE(r), out, 3), 0);
	CU_ASSERT_TRUE(sim_iommu_needs_reset(s));
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, READABLE(r), out, 4), 0);
	sim_iommu_reset(s);
	CU_ASSERT_FALSE(sim_iommu_needs_reset(s));
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, 3, out, 4), 0);
	CU_ASSERT_TRUE(sim_iommu_needs_reset(s));
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, 0, out, 4), 0);
	CU_ASSERT_EQUAL(stats(s).unanswered, 4);
	sim_iommu_reset(s);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	sim_iommu_destroy(s);
}

static void test_fault_injection(void)
{
	struct sim_iommu *s = make_default();
	struct sim_iommu_inject inj = { .zero_len_count = 2, .status_count = 1,
					.status = VIRTIO_IOMMU_S_DEVERR };
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = 1, .endpoint = 0,
	};
	uint8_t tail[4] = { 0xee, 0xee, 0xee, 0xee };
	uint32_t dom;

	sim_iommu_set_inject(s, &inj);
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, READABLE(r), tail, 4), 0);
	CU_ASSERT_EQUAL(tail[0], 0xee);
	CU_ASSERT_EQUAL(sim_iommu_handle(s, &r, READABLE(r), tail, 4), 0);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 0); /* not performed */
	CU_ASSERT_FALSE(sim_iommu_needs_reset(s));
	sim_iommu_get_inject(s, &inj);
	CU_ASSERT_EQUAL(inj.zero_len_count, 0);
	CU_ASSERT_EQUAL(inj.status_count, 1);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_DEVERR);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 0);
	/* Knobs survive a reset; then they are spent and requests are served again. */
	inj = (struct sim_iommu_inject){ .status_count = 2, .status = VIRTIO_IOMMU_S_IOERR };
	sim_iommu_set_inject(s, &inj);
	sim_iommu_reset(s);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_IOERR);
	CU_ASSERT_EQUAL(unmap(s, 1, 0, 1), VIRTIO_IOMMU_S_IOERR);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(stats(s).unanswered, 2);
	sim_iommu_destroy(s);
}

static void test_mapping_limit_nomem(void)
{
	struct sim_iommu_config c = qemu_like_config();
	struct sim_iommu *s;

	c.max_mappings = 3;
	s = make(&c);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 2, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x0000, 0x0fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x1000, 0x1fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 2, 0x0000, 0x0fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 2, 0x1000, 0x1fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_NOMEM);
	CU_ASSERT_EQUAL(map(s, 2, 0x0000, 0x0fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(n_mappings(s, 2), 1);
	CU_ASSERT_EQUAL(unmap(s, 1, 0x0000, 0x0fff), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 2, 0x1000, 0x1fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	sim_iommu_destroy(s);
}

static void mark(bool *seen, uint8_t status)
{
	CU_ASSERT(status <= VIRTIO_IOMMU_S_NOMEM);
	if (status <= VIRTIO_IOMMU_S_NOMEM)
		seen[status] = true;
}

/* Every status of 5.13.6 comes out of the device, injected or not. */
static void test_every_status_reachable(void)
{
	struct sim_iommu_config c = qemu_like_config();
	bool seen[VIRTIO_IOMMU_S_NOMEM + 1] = { false };
	struct sim_iommu_inject inj = { .status_count = 1 };
	struct sim_iommu *s;
	uint8_t unknown[4] = { 0x7f };

	c.max_mappings = 1;
	s = make(&c);
	mark(seen, attach(s, 1, 0)); /* OK */
	mark(seen, submit(s, unknown, sizeof(unknown))); /* UNSUPP */
	mark(seen, map(s, 1, 0, 0xfff, PHYS_BASE, 8)); /* INVAL */
	mark(seen, map(s, 1, 1, 0xfff, PHYS_BASE, RW)); /* RANGE */
	mark(seen, map(s, 2, 0, 0xfff, PHYS_BASE, RW)); /* NOENT */
	mark(seen, map(s, 1, 0, 0xfff, PHYS_BASE, RW)); /* OK */
	mark(seen, map(s, 1, 0x1000, 0x1fff, PHYS_BASE, RW)); /* NOMEM */
	for (uint8_t st = VIRTIO_IOMMU_S_IOERR; st <= VIRTIO_IOMMU_S_FAULT; st += 2) {
		inj.status = st; /* IOERR, DEVERR, RANGE, FAULT */
		sim_iommu_set_inject(s, &inj);
		mark(seen, detach(s, 1, 0));
	}
	for (unsigned st = 0; st <= VIRTIO_IOMMU_S_NOMEM; st++)
		CU_ASSERT_TRUE(seen[st]);
	sim_iommu_destroy(s);
}

static void test_dma_translates(void)
{
	struct sim_iommu *s = make_default();
	uint8_t src[0x2000], back[0x2000];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(phys_mem, 0, PHYS_SIZE);
	CU_ASSERT_EQUAL(attach(s, 1, 3), VIRTIO_IOMMU_S_OK);
	/* Two adjacent IOVA pages backed by physical pages far apart, in reverse order. */
	CU_ASSERT_EQUAL(map(s, 1, 0x40000, 0x40fff, PHYS_BASE + 0x9000, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x41000, 0x41fff, PHYS_BASE + 0x2000, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 3, 0x40800, src, 0x1000, SIM_DMA_WRITE), 0);
	CU_ASSERT_EQUAL(memcmp(phys_mem + 0x9800, src, 0x800), 0);
	CU_ASSERT_EQUAL(memcmp(phys_mem + 0x2000, src + 0x800, 0x800), 0);
	CU_ASSERT_EQUAL(phys_mem[0x97ff] | phys_mem[0x2800], 0);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 3, 0x40800, back, 0x1000, SIM_DMA_READ), 0);
	CU_ASSERT_EQUAL(memcmp(back, src, 0x1000), 0);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 3, 0x40000, back, 0, SIM_DMA_READ), 0);
	CU_ASSERT_EQUAL(faults.n, 0);
	CU_ASSERT_EQUAL(stats(s).faults, 0);
	sim_iommu_destroy(s);
}

static void expect_fault(uint8_t reason, uint32_t flags, uint32_t ep, uint64_t addr)
{
	static const uint8_t zero[4];

	CU_ASSERT_EQUAL(faults.last.reason, reason);
	CU_ASSERT_EQUAL(faults.last.flags, flags);
	CU_ASSERT_EQUAL(faults.last.endpoint, ep);
	CU_ASSERT_EQUAL(faults.last.address, addr);
	CU_ASSERT_EQUAL(memcmp(faults.last.reserved, zero, 3), 0);
	CU_ASSERT_EQUAL(memcmp(faults.last.reserved2, zero, 4), 0);
}

static void test_dma_faults(void)
{
	struct sim_iommu *s = make_default();
	uint8_t buf[0x2000];

	memset(buf, 0x5a, sizeof(buf));
	memset(phys_mem, 0, PHYS_SIZE);
	CU_ASSERT_EQUAL(attach(s, 1, 2), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x40000, 0x40fff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x50000, 0x50fff, PHYS_BASE + 0x1000, VIRTIO_IOMMU_MAP_F_READ),
			VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0x60000, 0x60fff, PHYS_BASE + 0x2000, VIRTIO_IOMMU_MAP_F_WRITE),
			VIRTIO_IOMMU_S_OK);

	/* A write that runs off the end of a mapping: one record for the first bad byte. */
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x40800, buf, 0x1000, SIM_DMA_WRITE), -EFAULT);
	CU_ASSERT_EQUAL(faults.n, 1);
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING,
		     VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS, 2, 0x41000);
	CU_ASSERT_EQUAL(phys_mem[0x800] | phys_mem[0xfff], 0); /* nothing touched */

	/* An unmapped read. */
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x1234, buf, 4, SIM_DMA_READ), -EFAULT);
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING,
		     VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS, 2, 0x1234);

	/* Permission: a write into a READ-only mapping (0x102), a read from WRITE-only (0x101). */
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x50010, buf, 64, SIM_DMA_WRITE), -EFAULT);
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING, 0x102, 2, 0x50010);
	CU_ASSERT_EQUAL(phys_mem[0x1010], 0);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x50010, buf, 64, SIM_DMA_READ), 0);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x60000, buf, 8, SIM_DMA_READ), -EFAULT);
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING, 0x101, 2, 0x60000);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x60000, buf, 8, SIM_DMA_WRITE), 0);
	CU_ASSERT_EQUAL(faults.n, 4);
	CU_ASSERT_EQUAL(stats(s).faults, 4);

	/* Caller errors, no record: no such endpoint, a range wrapping around. */
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 8, 0x40000, buf, 8, SIM_DMA_READ), -EINVAL);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, UINT64_MAX - 3, buf, 8, SIM_DMA_READ), -EINVAL);
	/* Allowed by the IOMMU but not memory: -ENXIO, no record. */
	CU_ASSERT_EQUAL(map(s, 1, 0x70000, 0x70fff, 0x1000, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x70000, buf, 8, SIM_DMA_READ), -ENXIO);
	CU_ASSERT_EQUAL(faults.n, 4);
	/* After UNMAP the same access faults. */
	CU_ASSERT_EQUAL(unmap(s, 1, 0x40000, 0x40fff), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 2, 0x40000, buf, 8, SIM_DMA_READ), -EFAULT);
	CU_ASSERT_EQUAL(faults.n, 5);
	sim_iommu_destroy(s);
}

static void test_bypass(void)
{
	struct sim_iommu_config c = qemu_like_config();
	struct virtio_iommu_config vc;
	uint64_t v = 0;
	struct sim_iommu *s;

	c.bypass_default = true;
	s = make(&c);
	put_word(PHYS_BASE + 0x3000, 0xfeed);
	/* Unattached with bypass on: untranslated. */
	CU_ASSERT_EQUAL(dma_word(s, 4, PHYS_BASE + 0x3000), 0xfeed);
	/* Attached: translated (nothing mapped yet). */
	CU_ASSERT_EQUAL(attach(s, 9, 4), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_FALSE(dma_ok(s, 4, PHYS_BASE + 0x3000));
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING, 0x101, 4, PHYS_BASE + 0x3000);
	CU_ASSERT_EQUAL(detach(s, 9, 4), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(dma_word(s, 4, PHYS_BASE + 0x3000), 0xfeed);

	/* Bypass off: an unattached endpoint is blocked with a DOMAIN fault. */
	CU_ASSERT_EQUAL(sim_iommu_write_bypass(s, 0), 0);
	sim_iommu_read_config(s, &vc);
	CU_ASSERT_EQUAL(vc.bypass, 0);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 4, PHYS_BASE + 0x3000, &v, 8, SIM_DMA_WRITE), -EFAULT);
	expect_fault(VIRTIO_IOMMU_FAULT_R_DOMAIN, 0x102, 4, PHYS_BASE + 0x3000);
	CU_ASSERT_FALSE(dma_ok(s, 4, PHYS_BASE + 0x3000));
	CU_ASSERT_EQUAL(faults.n, 3);

	/* Only 0 or 1, only with BYPASS_CONFIG; a device reset keeps the value (5.13.4.2). */
	CU_ASSERT_EQUAL(sim_iommu_write_bypass(s, 2), -EINVAL);
	sim_iommu_reset(s);
	sim_iommu_read_config(s, &vc);
	CU_ASSERT_EQUAL(vc.bypass, 0);
	c.features &= ~F(VIRTIO_IOMMU_F_BYPASS_CONFIG);
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, c.features), 0);
	CU_ASSERT_EQUAL(sim_iommu_write_bypass(s, 1), -EPERM);
	sim_iommu_read_config(s, &vc);
	CU_ASSERT_EQUAL(vc.bypass, 0);
	sim_iommu_destroy(s);

	/* Legacy F_BYPASS negotiated: unattached endpoints bypass. */
	c = qemu_like_config();
	c.features = (c.features & ~F(VIRTIO_IOMMU_F_BYPASS_CONFIG)) | F(VIRTIO_IOMMU_F_BYPASS);
	s = make(&c);
	CU_ASSERT_EQUAL(dma_word(s, 0, PHYS_BASE + 0x3000), 0xfeed);
	/* ATTACH_F_BYPASS is an unknown flag without BYPASS_CONFIG. */
	CU_ASSERT_EQUAL(attach_f(s, 1, 0, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(sim_iommu_set_features(s, 0), 0);
	CU_ASSERT_FALSE(dma_ok(s, 0, PHYS_BASE + 0x3000));
	sim_iommu_destroy(s);
}

static void test_bypass_domain(void)
{
	struct sim_iommu *s = make_default();

	put_word(PHYS_BASE + 0x5000, 0xbeef);
	CU_ASSERT_EQUAL(attach_f(s, 3, 1, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(dma_word(s, 1, PHYS_BASE + 0x5000), 0xbeef);
	/* 5.13.6.3.2: the flag must match the existing domain. */
	CU_ASSERT_EQUAL(attach(s, 3, 2), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(attach_f(s, 3, 2, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 4, 5), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach_f(s, 4, 5, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_INVAL);
	/* No MAP or UNMAP on a bypass domain. */
	CU_ASSERT_EQUAL(map(s, 3, 0, 0xfff, PHYS_BASE, RW), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(unmap(s, 3, 0, 0xfff), VIRTIO_IOMMU_S_INVAL);
	/* Moving an endpoint out of the bypass domain puts it under translation. */
	CU_ASSERT_EQUAL(attach(s, 4, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_FALSE(dma_ok(s, 1, PHYS_BASE + 0x5000));
	sim_iommu_destroy(s);
}

static void test_dma_reserved_regions(void)
{
	struct sim_iommu_config c = qemu_like_config();
	uint64_t v = 0x77, w = 0x1122334455667788ull;
	struct sim_iommu *s;

	/* An MSI doorbell and a RESERVED region that both lie in the test memory. */
	c.resv[0] = (struct sim_iommu_resv){ PHYS_BASE + 0x8000, PHYS_BASE + 0x8fff,
					     VIRTIO_IOMMU_RESV_MEM_T_MSI };
	c.resv[1] = (struct sim_iommu_resv){ PHYS_BASE + 0xa000, PHYS_BASE + 0xafff,
					     VIRTIO_IOMMU_RESV_MEM_T_RESERVED };
	c.n_resv = 2;
	s = make(&c);
	memset(phys_mem, 0, PHYS_SIZE);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 0, PHYS_BASE + 0x8040, &v, 8, SIM_DMA_WRITE), 0);
	CU_ASSERT_EQUAL(phys_mem[0x8040], 0x77);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 0, PHYS_BASE + 0xa000, &v, 8, SIM_DMA_WRITE), -EFAULT);
	expect_fault(VIRTIO_IOMMU_FAULT_R_MAPPING, 0x102, 0, PHYS_BASE + 0xa000);
	/* A DMA that starts mapped and runs into the MSI window is split there. */
	CU_ASSERT_EQUAL(map(s, 1, PHYS_BASE + 0x7000, PHYS_BASE + 0x7fff, PHYS_BASE + 0x1000, RW),
			VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(sim_iommu_dma(s, 0, PHYS_BASE + 0x7ffc, &w, 8, SIM_DMA_WRITE), 0);
	CU_ASSERT_EQUAL(phys_mem[0x1ffc], 0x88);
	CU_ASSERT_EQUAL(phys_mem[0x8000], 0x44);
	sim_iommu_destroy(s);
}

static void test_reset(void)
{
	struct sim_iommu *s = make_default();
	uint32_t dom;

	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(attach(s, 2, 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 1, 0, 0xfff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(map(s, 2, 0, 0xfff, PHYS_BASE, RW), VIRTIO_IOMMU_S_OK);
	sim_iommu_reset(s);
	CU_ASSERT_EQUAL(stats(s).domains, 0);
	CU_ASSERT_EQUAL(stats(s).mappings, 0);
	CU_ASSERT_EQUAL(sim_iommu_endpoint_domain(s, 0, &dom), 0);
	CU_ASSERT_EQUAL(n_mappings(s, 1), -ENOENT);
	CU_ASSERT_EQUAL(detach(s, 1, 0), VIRTIO_IOMMU_S_INVAL);
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 0);
	sim_iommu_destroy(s);
}

/* Tens of thousands of mappings in scattered order, then one UNMAP for all of them. */
static void test_many_mappings(void)
{
	enum { N = 50000 };
	struct sim_iommu *s = make_default();
	unsigned ok = 0;

	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t page = (i * 7919) % N; /* 7919 is prime, coprime with N: a permutation */

		ok += map(s, 1, page * PAGE, page * PAGE + PAGE - 1, PHYS_BASE, RW) ==
		      VIRTIO_IOMMU_S_OK;
	}
	CU_ASSERT_EQUAL(ok, N);
	CU_ASSERT_EQUAL(n_mappings(s, 1), N);
	CU_ASSERT_TRUE(dma_ok(s, 0, 12345 * PAGE + 8));
	CU_ASSERT_EQUAL(unmap(s, 1, PAGE, N * PAGE - PAGE - 1), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 2);
	CU_ASSERT_EQUAL(unmap(s, 1, 0, UINT64_MAX), VIRTIO_IOMMU_S_OK);
	CU_ASSERT_EQUAL(n_mappings(s, 1), 0);
	sim_iommu_destroy(s);
}

/*
 * Randomized MAP/UNMAP against a model: an array of NPAGES pages, each
 * holding the index of the first page of its mapping (or -1). DMA reads
 * check the device's translation of every page against the model.
 */
enum { NPAGES = 256, NPHYS = PHYS_SIZE / PAGE, OPS = 20000 };

struct model {
	int first[NPAGES]; /* first page of the mapping holding this page, or -1 */
	int last[NPAGES]; /* for a first page: last page of its mapping */
	uint64_t phys[NPAGES]; /* for a first page: phys_start */
	long count;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static uint8_t model_map(struct model *m, int a, int b, uint64_t phys)
{
	for (int p = a; p <= b; p++)
		if (m->first[p] >= 0)
			return VIRTIO_IOMMU_S_INVAL;
	for (int p = a; p <= b; p++)
		m->first[p] = a;
	m->last[a] = b;
	m->phys[a] = phys;
	m->count++;
	return VIRTIO_IOMMU_S_OK;
}

/* Bytes [start, end] within the model's pages. */
static uint8_t model_unmap(struct model *m, uint64_t start, uint64_t end)
{
	int ps = start / PAGE, pe = end / PAGE;

	if (m->first[ps] >= 0 && (uint64_t)m->first[ps] * PAGE != start)
		return VIRTIO_IOMMU_S_RANGE;
	if (m->first[pe] >= 0 && (uint64_t)(m->last[m->first[pe]] + 1) * PAGE - 1 != end)
		return VIRTIO_IOMMU_S_RANGE;
	for (int p = ps; p <= pe; p++) {
		if (m->first[p] == p)
			m->count--;
		m->first[p] = -1;
	}
	return VIRTIO_IOMMU_S_OK;
}

/* Each 8-byte word of the test memory holds its own physical address. */
static void fill_phys_with_addresses(void)
{
	for (uint64_t off = 0; off < PHYS_SIZE; off += 8)
		put_word(PHYS_BASE + off, PHYS_BASE + off);
}

static unsigned model_check(struct sim_iommu *s, const struct model *m)
{
	unsigned bad = 0;

	for (int p = 0; p < NPAGES; p++) {
		uint64_t off = rnd(PAGE / 8) * 8, got = dma_word(s, 0, p * PAGE + off);
		int f = m->first[p];
		uint64_t want = f < 0 ? ~UINT64_C(0) : m->phys[f] + (p - f) * PAGE + off;

		bad += got != want;
	}
	bad += n_mappings(s, 1) != m->count;
	return bad;
}

static void test_random_against_model(void)
{
	struct sim_iommu *s = make_default();
	struct model m = { .count = 0 };
	unsigned mismatches = 0, checks_bad = 0, n_ok = 0, n_range = 0, n_inval = 0;

	for (int p = 0; p < NPAGES; p++)
		m.first[p] = -1;
	fill_phys_with_addresses();
	CU_ASSERT_EQUAL(attach(s, 1, 0), VIRTIO_IOMMU_S_OK);
	for (int op = 0; op < OPS; op++) {
		uint8_t want, got;

		if (rnd(2)) {
			int a = rnd(NPAGES), b = a + rnd(8);
			uint64_t phys = PHYS_BASE + rnd(NPHYS - 8) * PAGE;

			b = b < NPAGES ? b : NPAGES - 1;
			want = model_map(&m, a, b, phys);
			got = map(s, 1, a * PAGE, (b + 1) * PAGE - 1, phys, RW);
		} else {
			/* Byte bounds, page-aligned or not, so both split cases happen. */
			uint64_t start = rnd(NPAGES) * PAGE;
			uint64_t end = start + (rnd(24) + 1) * PAGE - 1;

			if (end >= NPAGES * PAGE)
				end = NPAGES * PAGE - 1;
			if (rnd(4) == 0)
				start += rnd(PAGE);
			if (rnd(4) == 0)
				end -= rnd(PAGE);
			if (end < start)
				end = start;
			want = model_unmap(&m, start, end);
			got = unmap(s, 1, start, end);
		}
		mismatches += want != got;
		n_ok += got == VIRTIO_IOMMU_S_OK;
		n_range += got == VIRTIO_IOMMU_S_RANGE;
		n_inval += got == VIRTIO_IOMMU_S_INVAL;
		if (op % 500 == 0)
			checks_bad += model_check(s, &m);
	}
	checks_bad += model_check(s, &m);
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_EQUAL(checks_bad, 0);
	/* The run exercised every outcome, not just one. */
	CU_ASSERT(n_ok > OPS / 4 && n_range > OPS / 50 && n_inval > OPS / 50);
	CU_ASSERT_EQUAL(stats(s).mappings, (uint64_t)m.count);
	sim_iommu_destroy(s);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_create_rejects_bad_config),
		TEST_CASE(test_config_space),
		TEST_CASE(test_attach_rules),
		TEST_CASE(test_reattach_moves_endpoint),
		TEST_CASE(test_detach_rules),
		TEST_CASE(test_last_detach_destroys_domain),
		TEST_CASE(test_map_rules),
		TEST_CASE(test_map_overlap_leaves_table_unchanged),
		TEST_CASE(test_unmap_spec_examples),
		TEST_CASE(test_unmap_rules),
		TEST_CASE(test_probe_output_bytes),
		TEST_CASE(test_probe_errors),
		TEST_CASE(test_framing),
		TEST_CASE(test_fault_injection),
		TEST_CASE(test_mapping_limit_nomem),
		TEST_CASE(test_every_status_reachable),
		TEST_CASE(test_dma_translates),
		TEST_CASE(test_dma_faults),
		TEST_CASE(test_bypass),
		TEST_CASE(test_bypass_domain),
		TEST_CASE(test_dma_reserved_regions),
		TEST_CASE(test_reset),
		TEST_CASE(test_many_mappings),
		TEST_CASE(test_random_against_model),
		TEST_END,
	};

	return run_suite("sim-iommu", cases);
}
