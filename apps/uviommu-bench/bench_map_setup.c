/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench map: what a run measures on. The device (the software
 * device, its thread pinned to the other CPU, or a real one), the
 * endpoint attached to the run's domain, an IOVA window clear of its
 * reserved regions, and the DMA pages that are mapped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_map.h"

/* ---- the device ---- */

bool map_is_sim(const struct map_opts *o)
{
	return strcmp(o->device, "sim") == 0;
}

/* The software device's thread inherits the CPU of the thread that opens it. */
static int open_sim(struct bench *b, bool pin)
{
	struct viommu_open_opts oo = { .access = "sim" };
	struct sim_config cfg;
	int rc;

	sim_config_default(&cfg);
	if (b->o->ring == RING_PACKED)
		cfg.features |= 1ull << VIRTIO_F_RING_PACKED;
	rc = sim_device_create(&cfg, &b->sim);
	if (rc)
		return map_fail("cannot create the software device", rc);
	oo.sim = b->sim;
	if (pin)
		bench_pin_self(DEVICE_CPU);
	rc = viommu_open(&oo, &b->dev);
	if (pin)
		bench_pin_self(DRIVER_CPU);
	return rc ? map_fail("cannot open the software device", rc) : 0;
}

static int open_real(struct bench *b, bool pin)
{
	struct viommu_open_opts oo = {
		.device = b->o->device,
		.access = b->o->access ? b->o->access : "auto",
		.flags = b->o->ring == RING_SPLIT ? VIOMMU_OPEN_SPLIT_RING : 0,
	};
	int rc;

	if (pin)
		bench_pin_self(DRIVER_CPU);
	rc = viommu_open(&oo, &b->dev);
	return rc ? map_fail(b->o->device, rc) : 0;
}

static int check_device(struct bench *b)
{
	int rc = viommu_get_info(b->dev, &b->info);

	if (rc)
		return map_fail("cannot read the device's information", rc);
	if (b->o->ring == RING_PACKED && strcmp(b->info.ring, "packed") != 0) {
		fprintf(stderr, "uviommu-bench: map: %s does not offer RING_PACKED (QEMU: "
			"-device virtio-iommu-pci,packed=on)\n", b->info.device);
		return -EOPNOTSUPP;
	}
	if (b->info.granule > PAGE) {
		fprintf(stderr, "uviommu-bench: map: the device's granule is 0x%" PRIx64
			": 4 KiB mappings are impossible\n", b->info.granule);
		return -EINVAL;
	}
	return 0;
}

void map_describe_device(const struct bench *b, FILE *out)
{
	const struct viommu_dev_info *i = &b->info;

	if (map_is_sim(b->o))
		fprintf(out, "device: sim (software device), ");
	else
		fprintf(out, "device: %s (%s), ", i->device, i->access);
	fprintf(out, "ring %s, request queue %u, granule 0x%" PRIx64 ", input range [0x%"
		PRIx64 ", 0x%" PRIx64 "]\n", i->ring, i->request_queue_size, i->granule,
		i->input_start, i->input_end);
}

/* ---- the endpoint ---- */

static int topology_iommu(const struct viommu_topology *topo, const char *device)
{
	struct viommu_pci_addr addr;
	int rc = viommu_pci_addr_parse(device, &addr);

	return rc ? rc : viommu_topology_find_pci_iommu(topo, addr);
}

/* The first PCI function (in libpci's order) the topology puts behind this IOMMU. */
static int first_endpoint_behind(const struct viommu_topology *topo, int iommu,
				 struct viommu_pci_addr *out)
{
	struct viommu_endpoint_ref ref;
	struct viommu_pci_func *funcs;
	size_t count;
	int rc = viommu_pci_scan(&funcs, &count);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < count && rc; i++) {
		if (viommu_topology_lookup_pci(topo, funcs[i].addr, &ref) == 0 &&
		    ref.iommu_index == (size_t)iommu) {
			*out = funcs[i].addr;
			rc = 0;
		}
	}
	viommu_pci_scan_free(funcs);
	return rc;
}

static int default_real_endpoint(struct bench *b, struct viommu_pci_addr *out)
{
	struct viommu_topology *topo;
	int iommu, rc = viommu_topology_load_viot(NULL, &topo);

	if (rc)
		return map_fail("no topology to choose an endpoint from (give --endpoint "
			    "SSSS:BB:DD.F)", rc);
	iommu = topology_iommu(topo, b->info.device);
	rc = iommu < 0 ? iommu : first_endpoint_behind(topo, iommu, out);
	viommu_topology_free(topo);
	if (rc)
		fprintf(stderr, "uviommu-bench: map: the topology puts no PCI function behind %s: "
			"give --endpoint SSSS:BB:DD.F\n", b->info.device);
	return rc;
}

static int attach_addr(struct bench *b, struct viommu_pci_addr addr, uint32_t *id)
{
	struct viommu_topology *topo;
	struct viommu_endpoint_ref ref;
	int rc;

	viommu_pci_addr_format(addr, b->endpoint, sizeof(b->endpoint));
	rc = viommu_attach(b->dom, addr);
	if (rc)
		return map_fail(b->endpoint, rc);
	/* The software device without a topology numbers functions segment << 16 | BDF. */
	*id = (uint32_t)addr.segment << 16 | addr.bdf;
	if (!map_is_sim(b->o) && viommu_topology_load_viot(NULL, &topo) == 0) {
		if (viommu_topology_lookup_pci(topo, addr, &ref) == 0)
			*id = ref.endpoint_id;
		viommu_topology_free(topo);
	}
	return 0;
}

static int attach_endpoint(struct bench *b, uint32_t *id)
{
	struct viommu_pci_addr addr;
	uint64_t raw;
	int rc;

	if (b->o->endpoint && bench_parse_uint(b->o->endpoint, 0, UINT32_MAX, &raw)) {
		*id = (uint32_t)raw;
		snprintf(b->endpoint, sizeof(b->endpoint), "ID %u", *id);
		rc = viommu_attach_endpoint(b->dom, *id);
		return rc ? map_fail(b->endpoint, rc) : 0;
	}
	if (b->o->endpoint) {
		rc = viommu_pci_addr_parse(b->o->endpoint, &addr);
		if (rc)
			return map_fail("--endpoint", rc);
	} else if (map_is_sim(b->o)) {
		*id = 0;
		snprintf(b->endpoint, sizeof(b->endpoint), "ID 0");
		rc = viommu_attach_endpoint(b->dom, 0);
		return rc ? map_fail(b->endpoint, rc) : 0;
	} else {
		rc = default_real_endpoint(b, &addr);
		if (rc)
			return rc;
	}
	return attach_addr(b, addr, id);
}

/* ---- the IOVA window and the physical pages ---- */

/* The endpoint's reserved regions (none if it was never probed: no PROBE feature). */
static int read_resv(struct bench *b, uint32_t endpoint_id, struct viommu_resv_region **out)
{
	int n = viommu_get_resv_regions(b->dev, endpoint_id, NULL, 0);

	*out = NULL;
	if (n == -ENOENT || n == 0)
		return 0;
	if (n < 0)
		return map_fail("cannot read the endpoint's reserved regions", n);
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return map_fail_errno("reserved regions", -ENOMEM);
	n = viommu_get_resv_regions(b->dev, endpoint_id, *out, (unsigned)n);
	if (n >= 0)
		return n;
	free(*out);
	*out = NULL;
	return map_fail("cannot read the endpoint's reserved regions", n);
}

/*
 * Move *base up past every reserved region the window [*base, *base +
 * size) meets (5.13.6.8.1.1: never map over one). A move can only meet
 * regions further up, so this ends. False if the window runs off 2^64.
 */
static bool clear_of_resv(const struct viommu_resv_region *resv, int n, uint64_t size,
			  uint64_t *base)
{
	bool moved = true;

	while (moved) {
		moved = false;
		if (*base > UINT64_MAX - (size - 1))
			return false;
		for (int i = 0; i < n; i++) {
			if (resv[i].start > *base + (size - 1) || resv[i].end < *base)
				continue;
			if (resv[i].end > UINT64_MAX - WINDOW_ALIGN)
				return false;
			*base = (resv[i].end + WINDOW_ALIGN) & ~(uint64_t)(WINDOW_ALIGN - 1);
			moved = true;
		}
	}
	return true;
}

/*
 * The lowest WINDOW_ALIGN-aligned window inside the input range and clear
 * of reserved regions, twice as large with --live: the live pages take
 * the second half.
 */
static int choose_window(struct bench *b, uint32_t endpoint_id)
{
	struct viommu_resv_region *resv;
	uint64_t base = b->info.input_start, size = b->o->live ? 2 * WINDOW : WINDOW;
	int n = read_resv(b, endpoint_id, &resv);
	bool ok;

	if (n < 0)
		return n;
	ok = base <= UINT64_MAX - WINDOW_ALIGN;
	base = (base + WINDOW_ALIGN - 1) & ~(uint64_t)(WINDOW_ALIGN - 1);
	ok = ok && clear_of_resv(resv, n, size, &base) && base + (size - 1) <= b->info.input_end;
	free(resv);
	if (!ok) {
		fprintf(stderr, "uviommu-bench: map: the input range has no room for a %" PRIu64
			" MiB IOVA window clear of the reserved regions\n", size >> 20);
		return -ERANGE;
	}
	b->window = base;
	fprintf(stderr, "uviommu-bench: map: IOVA window [0x%" PRIx64 ", 0x%" PRIx64 "], "
		"clear of %d reserved region%s\n", base, base + (size - 1), n,
		n == 1 ? "" : "s");
	return 0;
}

/* Pages of a DMA buffer: 4 KiB pages by virtual address (sim), else a 2 MiB hugepage. */
static int alloc_pages(struct bench *b)
{
	struct viommu_mem_opts mo = {
		.pages = map_is_sim(b->o) ? VIOMMU_PAGES_4K : VIOMMU_PAGES_HUGE_2M,
		.addressing = map_is_sim(b->o) ? VIOMMU_ADDR_VIRTUAL : VIOMMU_ADDR_PHYSICAL,
		.numa_node = -1,
	};
	int rc = viommu_mem_alloc((size_t)MAX_BATCH * PAGE, &mo, &b->mem);

	if (rc)
		return map_fail("cannot allocate the DMA buffer whose pages are mapped", rc);
	for (unsigned i = 0; i < MAX_BATCH && !rc; i++) {
		b->page[i].len = PAGE;
		rc = viommu_mem_iova(b->mem, (char *)viommu_mem_va(b->mem) + (size_t)i * PAGE,
				     &b->page[i].phys, NULL);
	}
	return rc ? map_fail("cannot read the DMA buffer's bus addresses", rc) : 0;
}

static int set_up_live(struct bench *b)
{
	struct viommu_stats st;
	int rc = map_live_pages(b);

	if (rc)
		return map_fail("cannot map the --live pages", rc);
	if (b->o->live) {
		viommu_get_stats(b->dev, &st);
		fprintf(stderr, "uviommu-bench: map: %" PRIu64 " live pages mapped after the window; "
			"the domain holds %" PRIu64 " mappings\n", b->o->live, st.mappings);
	}
	return 0;
}

static bool can_pin(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		return true;
	fprintf(stderr, "uviommu-bench: map: one CPU: nothing is pinned\n");
	return false;
}

int map_set_up(struct bench *b)
{
	bool pin = can_pin();
	uint32_t endpoint_id = 0;
	int rc = map_is_sim(b->o) ? open_sim(b, pin) : open_real(b, pin);

	if (!rc)
		rc = check_device(b);
	if (rc)
		return rc;
	fputs("uviommu-bench: map: ", stderr);
	map_describe_device(b, stderr);
	if (pin && map_is_sim(b->o))
		fprintf(stderr, "uviommu-bench: map: driver on CPU %d, device thread on CPU %d; "
			"a cache line goes there and back in %.0f ns\n", DRIVER_CPU, DEVICE_CPU,
			bench_cacheline_round_trip_ns(DEVICE_CPU));
	rc = viommu_domain_create(b->dev, &b->dom);
	if (rc)
		return map_fail("cannot create a domain", rc);
	rc = attach_endpoint(b, &endpoint_id);
	if (!rc)
		fprintf(stderr, "uviommu-bench: map: endpoint %s attached to domain %u\n",
			b->endpoint, viommu_domain_id(b->dom));
	if (!rc)
		rc = choose_window(b, endpoint_id);
	if (!rc)
		rc = alloc_pages(b);
	map_build_pool(b);
	return rc ? rc : set_up_live(b);
}

void map_tear_down(struct bench *b)
{
	viommu_domain_destroy(b->dom);
	viommu_close(b->dev);
	sim_device_destroy(b->sim);
	viommu_mem_free(b->mem);
	free(b->lat_ns);
}
