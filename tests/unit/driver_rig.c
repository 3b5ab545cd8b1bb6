/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver rig: the target (software device or real device), case
 * selection, opening the driver, memory, DMA probes and counters. The real
 * device's half is in driver_rig_real.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "driver_rig.h"
#include "driver_rig_real.h"

/* The software device by default: endpoints 8 and 16 (00:01.0 and 00:02.0 as BDFs). */
static struct rig_target target = {
	.name = "the software device",
	.access = "sim",
	.ep_dma = 8,
	.ep_peer = 16,
	.dma_pci = { 0, VIOMMU_BDF(0, 1, 0) },
	.packed_offered = true, /* rig_config() offers it on request */
};
static unsigned not_checked;

bool rig_is_sim(void)
{
	return !target.real;
}

const char *rig_access(void)
{
	return target.access;
}

uint32_t rig_ep_dma(void)
{
	return target.ep_dma;
}

uint32_t rig_ep_peer(void)
{
	return target.ep_peer;
}

struct viommu_pci_addr rig_ep_dma_pci(void)
{
	return target.dma_pci;
}

void rig_not_checked(const char *what, const char *why)
{
	not_checked++;
	printf("\n  NOT CHECKED on %s: %s: %s\n", target.name, what, why);
}

int rig_check(int rc, const char *what)
{
	if (rc < 0)
		fprintf(stderr, "%s: %d: %s\n", what, rc, viommu_last_error());
	return rc;
}

void rig_ok(int rc, const char *what)
{
	CU_ASSERT_EQUAL(rig_check(rc, what), 0);
}

void rig_expect(int rc, int err, const char *what)
{
	if (rc != err)
		fprintf(stderr, "%s: got %d, expected %d (%s)\n", what, rc, err,
			viommu_last_error());
	CU_ASSERT_EQUAL(rc, err);
}

/* ---- the suite ---- */

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s                 (the software device)\n"
		"       %s --device SSSS:BB:DD.F --access uio|vfio --edu SSSS:BB:DD.F "
		"--peer SSSS:BB:DD.F\n", prog, prog);
}

/* 0 and *a filled (device NULL: the software device), or 2 for a usage error. */
static int parse_args(int argc, char **argv, struct rig_real_args *a)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "access", required_argument, NULL, 'a' },
		{ "edu", required_argument, NULL, 'e' },
		{ "peer", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->device = optarg; break;
		case 'a': a->access = optarg; break;
		case 'e': a->edu = optarg; break;
		case 'p': a->peer = optarg; break;
		default: usage(argv[0]); return 2;
		}
	}
	if (optind != argc || (a->device && (!a->access || !a->edu || !a->peer)) ||
	    (!a->device && (a->access || a->edu || a->peer))) {
		usage(argv[0]);
		return 2;
	}
	return 0;
}

static const char *skip_reason(const struct rig_case *c)
{
	if (c->needs == RIG_SIM_ONLY && target.real)
		return c->why;
	if (c->needs == RIG_PACKED && !target.packed_offered)
		return "the device does not offer VIRTIO_F_RING_PACKED (QEMU: "
		       "-device virtio-iommu-pci,packed=on)";
	return NULL;
}

static int run(const char *suite, const struct rig_case *cases)
{
	struct test_case *tc;
	size_t n = 0;
	int rc;

	while (cases[n].name)
		n++;
	tc = calloc(n + 1, sizeof(*tc));
	if (!tc)
		return 2;
	for (size_t i = 0; i < n; i++)
		tc[i] = (struct test_case){ cases[i].name, cases[i].fn, skip_reason(&cases[i]) };
	rc = run_suite(suite, tc);
	free(tc);
	printf("%s on %s: %u checks not made here (NOT CHECKED above)\n", suite, target.name,
	       not_checked);
	return rc;
}

int rig_main(const char *suite, const struct rig_case *cases, int argc, char **argv)
{
	struct rig_real_args a;
	int rc = parse_args(argc, argv, &a);

	if (rc)
		return rc;
	if (a.device && rig_real_setup(&a, &target)) {
		fprintf(stderr, "%s: the real-device rig cannot start: %s\n", suite,
			viommu_last_error());
		rig_real_teardown();
		return 2;
	}
	printf("%s: against %s\n", suite, target.name);
	rc = run(suite, cases);
	if (target.real)
		rig_real_teardown();
	return rc;
}

/* ---- opening the driver ---- */

void rig_config(struct sim_config *cfg, bool packed)
{
	sim_config_default(cfg);
	if (packed)
		cfg->features |= 1ull << VIRTIO_F_RING_PACKED;
}

void rig_open(struct rig *r, const struct sim_config *cfg, const struct viommu_open_opts *opts)
{
	struct viommu_open_opts o = opts ? *opts : (struct viommu_open_opts){ 0 };
	struct sim_config defaults;

	memset(r, 0, sizeof(*r));
	CU_ASSERT_FATAL(rig_is_sim()); /* a real device has the configuration it has */
	if (!cfg) {
		rig_config(&defaults, false);
		cfg = &defaults;
	}
	CU_ASSERT_EQUAL_FATAL(rig_check(sim_device_create(cfg, &r->sim), "sim create"), 0);
	o.access = "sim";
	o.sim = r->sim;
	CU_ASSERT_EQUAL_FATAL(rig_check(viommu_open(&o, &r->dev), "viommu_open"), 0);
}

void rig_open_opts(struct rig *r, bool packed, const struct viommu_open_opts *opts)
{
	struct sim_config cfg;

	if (rig_is_sim()) {
		rig_config(&cfg, packed);
		rig_open(r, &cfg, opts);
		return;
	}
	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(rig_check(rig_real_open(packed, opts, &r->dev), "viommu_open"), 0);
}

void rig_open_default(struct rig *r, bool packed)
{
	rig_open_opts(r, packed, NULL);
}

void rig_close(struct rig *r)
{
	viommu_close(r->dev);
	sim_device_destroy(r->sim);
	memset(r, 0, sizeof(*r));
}

/* ---- memory ---- */

uint8_t *rig_pages(size_t n)
{
	uint8_t *p = rig_is_sim() ? aligned_alloc(RIG_PAGE, n * RIG_PAGE) : rig_real_pages(n);

	if (!p)
		fprintf(stderr, "rig_pages(%zu): %s\n", n, viommu_last_error());
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0, n * RIG_PAGE);
	return p;
}

void rig_free_pages(uint8_t *p)
{
	if (rig_is_sim())
		free(p);
	else
		rig_real_free_pages(p);
}

uint64_t rig_phys(const void *p)
{
	return rig_is_sim() ? (uint64_t)(uintptr_t)p : rig_real_phys(p);
}

/* ---- DMA probes ---- */

static bool probe_endpoint_ok(uint32_t ep, uint64_t iova)
{
	if (iova % 4) {
		CU_FAIL("a DMA probe must be 4-byte aligned");
		return false;
	}
	if (target.real && ep != target.ep_dma) {
		fprintf(stderr, "rig: endpoint %u cannot do DMA on %s (only %u can)\n", ep,
			target.name, target.ep_dma);
		CU_FAIL("DMA probe through an endpoint that cannot do DMA");
		return false;
	}
	return true;
}

bool rig_translates(struct rig *r, uint32_t ep, uint64_t iova, uint8_t *page)
{
	static uint32_t counter;
	uint32_t marker = 0x5a000000u | ++counter, seen;
	size_t off = iova % RIG_PAGE;
	int rc;

	if (!probe_endpoint_ok(ep, iova))
		return false;
	if (rig_is_sim()) {
		if (rig_dma_write(r, ep, iova, &marker, sizeof(marker)))
			return false;
		memcpy(&seen, page + off, sizeof(seen));
		return seen == marker;
	}
	rc = rig_real_translates(iova, page);
	if (rc < 0) {
		fprintf(stderr, "rig: DMA probe at 0x%llx: %s\n", (unsigned long long)iova,
			viommu_last_error());
		CU_FAIL("edu's DMA failed");
	}
	return rc == 1;
}

void rig_probe_read(struct rig *r, uint32_t ep, uint64_t iova)
{
	uint32_t word;

	if (!probe_endpoint_ok(ep, iova))
		return;
	if (rig_is_sim()) {
		rig_dma_read(r, ep, iova, &word, sizeof(word));
		return;
	}
	if (rig_real_probe_read(iova)) {
		fprintf(stderr, "rig: DMA read probe at 0x%llx: %s\n", (unsigned long long)iova,
			viommu_last_error());
		CU_FAIL("edu's DMA failed");
	}
}

/* ---- software device only ---- */

int rig_dma_write(struct rig *r, uint32_t ep, uint64_t iova, const void *buf, size_t len)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->sim);
	return sim_device_dma(r->sim, ep, iova, (void *)buf, len, SIM_DMA_WRITE);
}

int rig_dma_read(struct rig *r, uint32_t ep, uint64_t iova, void *buf, size_t len)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->sim);
	return sim_device_dma(r->sim, ep, iova, buf, len, SIM_DMA_READ);
}

struct sim_iommu_stats rig_sim_stats(struct rig *r)
{
	struct sim_iommu_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r->sim);
	sim_device_get_iommu_stats(r->sim, &st);
	return st;
}

/* ---- either ---- */

struct viommu_stats rig_stats(struct rig *r)
{
	struct viommu_stats st;

	CU_ASSERT_EQUAL(viommu_get_stats(r->dev, &st), 0);
	return st;
}
