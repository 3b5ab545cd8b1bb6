/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_smoke: the virtio-pci transport and one ring layout of lib/virtio
 * against QEMU's virtio-iommu, through the uio or the vfio backend, inside
 * the guests of tests/vm/check-virtio.
 *
 *   virtio_smoke SSSS:BB:DD.F uio|vfio split|packed ENDPOINT_ID
 *
 * Runs the initialisation of virtio 1.2, 3.1.1 with the request queue in
 * 2 MiB of hugepage DMA memory, turns bypass off, then sends real requests
 * about ENDPOINT_ID (a function behind the IOMMU): PROBE, ATTACH, MAP,
 * MAP over it (INVAL), 64 MAPs behind one notify, UNMAP of the whole input
 * range, DETACH, MAP to the vanished domain (NOENT) and a request of an
 * unknown type (UNSUPP). Every request lives in the DMA memory, its
 * device-readable part and its device-writable tail in two descriptors.
 * The device is reset at the end.
 *
 * Prints one "CHECK ok|FAIL <what>[: detail]" line per check and notes
 * indented by two spaces; exits 1 if any check failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uviommu/error.h>
#include <uviommu/mem.h>

#include "pci/pci_dev.h"

#include "check.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_pci_regs.h"
#include "virtio/virtqueue.h"
#include "../../../drivers/iommu/wire.h"

#define F(bit) (1ull << (bit))

/* The DMA memory: ring, one request slot, the batch, and the pages the MAPs point at. */
#define DMA_BYTES (2u << 20)
#define RING_OFF 0u
#define RING_MAX (64u << 10)
#define REQ_OFF (RING_OFF + RING_MAX)
#define REQ_MAX (4u << 10)
#define BATCH_OFF (REQ_OFF + REQ_MAX)
#define TARGET_OFF (1u << 20)
#define PAGE 4096u
#define BATCH 64u

#define QUEUE_SIZE 256u     /* at most; less if the device offers less */
#define WAIT_MS 5000u       /* for one completion, or for a whole batch */
#define DOMAIN 1u
#define IOVA_SINGLE 0x100000ull
#define IOVA_BATCH 0x200000ull
#define T_UNKNOWN 0x42      /* no such request type in virtio 1.2, 5.13.6 */
#define UNKNOWN_LEN 24u     /* head + 16 bytes + tail, the size of an ATTACH */
#define QEMU_PROBE_SIZE 512u
#define MSI_START 0xfee00000ull /* x86 MSI doorbells, reported by QEMU as RESV_MEM MSI */
#define MSI_END 0xfeefffffull
#define TAIL ((uint32_t)sizeof(struct virtio_iommu_req_tail))
#define VIRTIO_F_RING_RESET 40 /* virtio 1.2, 6: offered by QEMU, named in the notes only */

_Static_assert(BATCH_OFF + BATCH * sizeof(struct virtio_iommu_req_map) <= TARGET_OFF,
	       "the batch fits below the target pages");
_Static_assert(TARGET_OFF + BATCH * PAGE <= DMA_BYTES, "the target pages fit in the memory");

struct smoke {
	const char *bdf;
	const char *backend;
	bool packed;
	uint32_t endpoint;
	struct viommu_mem *mem;
	uint8_t *dma;
	struct uvi_pci_dev *pci;
	struct uvi_vpci v;
	bool have_vpci;
	uint64_t features;
	struct virtio_iommu_config cfg;
	struct uvi_vq *vq;
	struct uvi_vpci_notifier doorbell;
	unsigned notifies;
};

static const char *status_name(uint8_t status)
{
	static const char *const names[] = { "OK", "IOERR", "UNSUPP", "DEVERR", "INVAL",
					     "RANGE", "NOENT", "FAULT", "NOMEM" };

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Bus address of p, which lies in the DMA memory by construction. */
static uint64_t bus(const struct smoke *s, const void *p)
{
	uint64_t iova = 0;

	viommu_mem_iova(s->mem, p, &iova, NULL);
	return iova;
}

static bool setup_memory(struct smoke *s)
{
	struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_PHYSICAL, -1 };
	int rc = viommu_mem_alloc(DMA_BYTES, &o, &s->mem);

	if (!check(rc == 0, "2 MiB of hugepage DMA memory", "%s", viommu_last_error()))
		return false;
	s->dma = viommu_mem_va(s->mem);
	printf("  DMA memory at physical 0x%llx\n", (unsigned long long)bus(s, s->dma));
	return true;
}

static bool open_device(struct smoke *s)
{
	const struct uvi_pci_backend *b = uvi_pci_backend_by_name(s->backend);
	struct viommu_pci_addr addr;
	int rc;

	if (!check(viommu_pci_addr_parse(s->bdf, &addr) == 0 && b, "address and backend", "%s",
		   viommu_last_error()))
		return false;
	rc = uvi_pci_open(b, NULL, addr, &s->pci);
	if (!check(rc == 0, "open through the backend", "%s: %s", s->backend,
		   viommu_last_error()))
		return false;
	rc = uvi_vpci_init(&s->v, s->pci);
	s->have_vpci = rc == 0;
	return check(rc == 0, "uvi_vpci_init: virtio capabilities found and mapped", "%s",
		     viommu_last_error());
}

/* 3.1.1 steps 1-3. */
static bool acknowledge(struct smoke *s)
{
	int rc = uvi_vpci_reset(&s->v);
	uint8_t st;

	if (!check(rc == 0, "reset: device_status reads 0", "%s", viommu_last_error()))
		return false;
	uvi_vpci_add_status(&s->v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	st = uvi_vpci_get_status(&s->v);
	return check(st == (UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER),
		     "ACKNOWLEDGE|DRIVER set", "status 0x%02x", st);
}

static const struct { unsigned bit; const char *name; } feature_names[] = {
	{ VIRTIO_IOMMU_F_INPUT_RANGE, "INPUT_RANGE" },
	{ VIRTIO_IOMMU_F_DOMAIN_RANGE, "DOMAIN_RANGE" },
	{ VIRTIO_IOMMU_F_MAP_UNMAP, "MAP_UNMAP" },
	{ VIRTIO_IOMMU_F_BYPASS, "BYPASS" },
	{ VIRTIO_IOMMU_F_PROBE, "PROBE" },
	{ VIRTIO_IOMMU_F_MMIO, "MMIO" },
	{ VIRTIO_IOMMU_F_BYPASS_CONFIG, "BYPASS_CONFIG" },
	{ VIRTIO_F_INDIRECT_DESC, "INDIRECT_DESC" },
	{ VIRTIO_F_EVENT_IDX, "EVENT_IDX" },
	{ VIRTIO_F_VERSION_1, "VERSION_1" },
	{ VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
	{ VIRTIO_F_RING_PACKED, "RING_PACKED" },
	{ VIRTIO_F_RING_RESET, "RING_RESET" },
};
#define N_FEATURE_NAMES (sizeof(feature_names) / sizeof(feature_names[0]))

static void print_features(const char *label, uint64_t features)
{
	printf("  %s 0x%llx:", label, (unsigned long long)features);
	for (size_t i = 0; i < N_FEATURE_NAMES; i++) {
		if (features & F(feature_names[i].bit)) {
			printf(" %s", feature_names[i].name);
			features &= ~F(feature_names[i].bit);
		}
	}
	if (features)
		printf(" other 0x%llx", (unsigned long long)features);
	putchar('\n');
}

/* What this test asks for; RING_PACKED only in packed mode. */
static uint64_t wanted_features(const struct smoke *s)
{
	uint64_t f = F(VIRTIO_IOMMU_F_INPUT_RANGE) | F(VIRTIO_IOMMU_F_DOMAIN_RANGE) |
		     F(VIRTIO_IOMMU_F_MAP_UNMAP) | F(VIRTIO_IOMMU_F_PROBE) |
		     F(VIRTIO_IOMMU_F_BYPASS_CONFIG) | F(VIRTIO_F_EVENT_IDX) |
		     F(VIRTIO_F_VERSION_1);

	return s->packed ? f | F(VIRTIO_F_RING_PACKED) : f;
}

static bool check_offered(const struct smoke *s)
{
	uint64_t offered = uvi_vpci_get_device_features(&s->v);
	uint64_t missing = wanted_features(s) & ~offered;

	print_features("features offered", offered);
	if (check(!missing, s->packed ? "offered: the features asked for, with RING_PACKED" :
		  "offered: the features asked for", "missing 0x%llx", (unsigned long long)missing))
		return true;
	print_features("missing", missing);
	return false;
}

static bool negotiate(struct smoke *s)
{
	uint64_t want = wanted_features(s);
	int rc = uvi_vpci_negotiate(&s->v, want, &s->features);

	if (!check(rc == 0, "negotiate: FEATURES_OK accepted", "%s", viommu_last_error()))
		return false;
	print_features("features negotiated", s->features);
	check(!!(s->features & F(VIRTIO_F_RING_PACKED)) == s->packed,
	      s->packed ? "RING_PACKED negotiated" : "RING_PACKED not negotiated",
	      "negotiated 0x%llx", (unsigned long long)s->features);
	return check(s->features == want, "negotiated exactly what was asked for",
		     "0x%llx, asked 0x%llx", (unsigned long long)s->features,
		     (unsigned long long)want);
}

static void print_config(const struct virtio_iommu_config *c)
{
	printf("  config: page_size_mask 0x%llx input_range [0x%llx, 0x%llx] "
	       "domain_range [%u, %u] probe_size %u bypass %u\n",
	       (unsigned long long)c->page_size_mask, (unsigned long long)c->input_range_start,
	       (unsigned long long)c->input_range_end, c->domain_range_start,
	       c->domain_range_end, c->probe_size, c->bypass);
}

/* The 32/64-bit fields in one read, bypass (an 8-bit field) on its own (4.1.3.1). */
static bool read_config(struct smoke *s)
{
	const size_t wide = offsetof(struct virtio_iommu_config, bypass);
	struct virtio_iommu_config *c = &s->cfg;
	int rc = uvi_vpci_config_read(&s->v, 0, c, wide);

	if (!rc)
		rc = uvi_vpci_config_read(&s->v, (uint32_t)wide, &c->bypass, 1);
	if (!check(rc == 0, "read the device configuration", "%s", viommu_last_error()))
		return false;
	print_config(c);
	check((c->page_size_mask & -c->page_size_mask) == PAGE, "page_size_mask: 4 KiB granule",
	      "lowest set bit of 0x%llx is not bit 12", (unsigned long long)c->page_size_mask);
	check(c->input_range_start <= IOVA_SINGLE && c->input_range_end > IOVA_BATCH + BATCH * PAGE,
	      "input range holds the IOVAs used here", "[0x%llx, 0x%llx]",
	      (unsigned long long)c->input_range_start, (unsigned long long)c->input_range_end);
	check(c->domain_range_start <= DOMAIN && DOMAIN <= c->domain_range_end,
	      "domain range holds domain 1", "[%u, %u]", c->domain_range_start,
	      c->domain_range_end);
	check(c->bypass == 1, "bypass reads 1 (QEMU's boot-bypass default)", "%u", c->bypass);
	return check(c->probe_size == QEMU_PROBE_SIZE, "probe_size is 512", "%u", c->probe_size);
}

static bool create_ring(struct smoke *s, uint16_t size)
{
	struct uvi_vq_config c = {
		.layout = s->packed ? UVI_VQ_PACKED : UVI_VQ_SPLIT,
		.size = size,
		.event_idx = s->features & F(VIRTIO_F_EVENT_IDX),
	};
	size_t bytes = uvi_vq_ring_bytes(&c);
	int rc;

	if (!check(bytes && bytes <= RING_MAX, "ring fits its place in the DMA memory",
		   "%zu bytes for %u entries", bytes, size))
		return false;
	rc = uvi_vq_create(&c, s->dma + RING_OFF, bus(s, s->dma + RING_OFF), &s->vq);
	return check(rc == 0, "create the driver side of the ring", "%s", viommu_last_error());
}

static bool setup_queue(struct smoke *s)
{
	struct uvi_vq_addrs a;
	uint16_t max = 0;
	int rc = uvi_vpci_queue_max_size(&s->v, VIRTIO_IOMMU_QUEUE_REQUEST, &max);

	if (!check(rc == 0, "request queue present", "%s", viommu_last_error()))
		return false;
	printf("  request queue: device maximum %u entries, %s layout\n", max,
	       s->packed ? "packed" : "split");
	if (!create_ring(s, max < QUEUE_SIZE ? max : QUEUE_SIZE))
		return false;
	uvi_vq_get_addrs(s->vq, &a);
	rc = uvi_vpci_queue_setup(&s->v, VIRTIO_IOMMU_QUEUE_REQUEST, uvi_vq_size(s->vq), &a,
				  &s->doorbell);
	if (!rc)
		rc = uvi_vpci_queue_enable(&s->v, VIRTIO_IOMMU_QUEUE_REQUEST);
	return check(rc == 0, "request queue programmed and enabled", "%s", viommu_last_error());
}

static bool driver_ok(struct smoke *s)
{
	const uint8_t bad = UVI_VSTATUS_NEEDS_RESET | UVI_VSTATUS_FAILED;
	uint8_t st;

	uvi_vpci_add_status(&s->v, UVI_VSTATUS_DRIVER_OK);
	st = uvi_vpci_get_status(&s->v);
	return check((st & UVI_VSTATUS_DRIVER_OK) && !(st & bad), "DRIVER_OK set",
		     "status 0x%02x", st);
}

/* Only with BYPASS_CONFIG negotiated (5.13.4); 0 blocks unattached endpoints. */
static bool bypass_off(struct smoke *s)
{
	const uint32_t off = offsetof(struct virtio_iommu_config, bypass);
	uint8_t zero = 0, got = 0xff;
	int rc = uvi_vpci_config_write(&s->v, off, &zero, 1);

	if (!rc)
		rc = uvi_vpci_config_read(&s->v, off, &got, 1);
	return check(rc == 0 && got == 0, "bypass written 0, reads back 0", "rc %d, read %u: %s",
		     rc, got, rc ? viommu_last_error() : "");
}

/* Queue one request: readable bytes, then the device-writable rest (ending in the tail). */
static bool add_request(struct smoke *s, void *req, uint32_t readable, uint32_t writable)
{
	struct uvi_vq_buf b[2] = {
		{ bus(s, req), readable, false },
		{ bus(s, (uint8_t *)req + readable), writable, true },
	};
	int rc = uvi_vq_add(s->vq, b, 2, req);

	return rc == 0 || check(false, "queue a request", "%s", viommu_last_error());
}

static void kick(struct smoke *s)
{
	if (uvi_vq_publish(s->vq)) {
		uvi_vpci_notify(&s->doorbell);
		s->notifies++;
	}
}

/* One completion, waiting at most until deadline (ms); a failed check `what` otherwise. */
static bool wait_used(struct smoke *s, const char *what, uint64_t deadline, void **token,
		      uint32_t *used)
{
	const struct timespec pause = { 0, 10000 };
	int rc;

	while ((rc = uvi_vq_get_used(s->vq, token, used)) == 0 && now_ms() < deadline)
		nanosleep(&pause, NULL);
	if (rc == 1)
		return true;
	if (rc < 0)
		return check(false, what, "%s", viommu_last_error());
	return check(false, what, "no completion within %u ms (device status 0x%02x)", WAIT_MS,
		     uvi_vpci_get_status(&s->v));
}


static uint8_t status_of(const void *req, uint32_t len)
{
	return ((const uint8_t *)req)[len - TAIL];
}

/*
 * Send one request and wait for it; check its status and its used length.
 * false only if the queue cannot go on.
 */
static bool expect(struct smoke *s, const char *what, void *req, uint32_t readable,
		   uint32_t writable, uint8_t want)
{
	uint32_t used = 0;
	void *token = NULL;
	uint8_t st;

	if (!add_request(s, req, readable, writable))
		return false;
	kick(s);
	if (!wait_used(s, what, now_ms() + WAIT_MS, &token, &used))
		return false;
	if (token != req)
		return check(false, what, "completion for %p, sent %p", token, req);
	st = status_of(req, readable + writable);
	check(st == want && used == writable, what,
	      "status %s (%u), used length %u; want %s, %u", status_name(st), st, used,
	      status_name(want), writable);
	return true;
}

static void *request_slot(struct smoke *s, size_t len)
{
	void *p = s->dma + REQ_OFF;

	memset(p, 0, len);
	return p;
}

static void set_head(void *req, uint8_t type, uint32_t len)
{
	((struct virtio_iommu_req_head *)req)->type = type;
	((uint8_t *)req)[len - TAIL] = 0xff; /* no status yet */
}

/* Log each property; true if one is the RESV_MEM MSI window of an x86 machine. */
static bool has_msi_window(const uint8_t *props, size_t len)
{
	struct virtio_iommu_probe_resv_mem r;
	struct virtio_iommu_probe_property h;
	bool found = false;

	for (size_t off = 0; off + sizeof(h) <= len; off += sizeof(h) + h.length) {
		memcpy(&h, props + off, sizeof(h));
		if ((h.type & VIRTIO_IOMMU_PROBE_T_MASK) == VIRTIO_IOMMU_PROBE_T_NONE ||
		    h.length > len - off - sizeof(h))
			break;
		printf("  property type %u length %u", h.type & VIRTIO_IOMMU_PROBE_T_MASK,
		       h.length);
		if ((h.type & VIRTIO_IOMMU_PROBE_T_MASK) == VIRTIO_IOMMU_PROBE_T_RESV_MEM &&
		    sizeof(h) + h.length >= sizeof(r)) {
			memcpy(&r, props + off, sizeof(r));
			printf(": RESV_MEM subtype %u [0x%llx, 0x%llx]", r.subtype,
			       (unsigned long long)r.start, (unsigned long long)r.end);
			found |= r.subtype == VIRTIO_IOMMU_RESV_MEM_T_MSI &&
				 r.start == MSI_START && r.end == MSI_END;
		}
		putchar('\n');
	}
	return found;
}

static bool probe(struct smoke *s)
{
	const uint32_t readable = sizeof(struct virtio_iommu_req_probe);
	const uint32_t writable = s->cfg.probe_size + TAIL;
	struct virtio_iommu_req_probe *p;
	char what[64];

	if (!check(readable + writable <= REQ_MAX, "PROBE fits the request slot",
		   "probe_size %u", s->cfg.probe_size))
		return false;
	p = request_slot(s, readable + writable);
	set_head(p, VIRTIO_IOMMU_T_PROBE, readable + writable);
	p->endpoint = s->endpoint;
	snprintf(what, sizeof(what), "PROBE endpoint %u -> OK", s->endpoint);
	if (!expect(s, what, p, readable, writable, VIRTIO_IOMMU_S_OK))
		return false;
	check(has_msi_window((uint8_t *)(p + 1), s->cfg.probe_size),
	      "PROBE: RESV_MEM MSI 0xfee00000-0xfeefffff", "not among the properties");
	return true;
}

static bool attach(struct smoke *s)
{
	struct virtio_iommu_req_attach *a = request_slot(s, sizeof(*a));

	set_head(a, VIRTIO_IOMMU_T_ATTACH, sizeof(*a));
	a->domain = DOMAIN;
	a->endpoint = s->endpoint;
	return expect(s, "ATTACH domain 1 -> OK", a, sizeof(*a) - TAIL, TAIL, VIRTIO_IOMMU_S_OK);
}

static void fill_map(struct virtio_iommu_req_map *m, uint32_t domain, uint64_t iova,
		     uint64_t phys)
{
	memset(m, 0, sizeof(*m));
	set_head(m, VIRTIO_IOMMU_T_MAP, sizeof(*m));
	m->domain = domain;
	m->virt_start = iova;
	m->virt_end = iova + PAGE - 1;
	m->phys_start = phys;
	m->flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
}

static bool map_one(struct smoke *s, const char *what, uint32_t domain, uint8_t want)
{
	struct virtio_iommu_req_map *m = request_slot(s, sizeof(*m));

	fill_map(m, domain, IOVA_SINGLE, bus(s, s->dma + TARGET_OFF));
	return expect(s, what, m, sizeof(*m) - TAIL, TAIL, want);
}

/*
 * One completion of the batch, which must be a request of it not seen
 * before: 1 if OK with the expected used length, 0 if not, -1 if the queue
 * cannot go on (timeout, protocol error, unknown token).
 */
static int batch_completion(struct smoke *s, struct virtio_iommu_req_map *maps, bool *seen,
			    uint64_t deadline, unsigned *index)
{
	uint32_t used = 0;
	void *token = NULL;
	ptrdiff_t k;

	if (!wait_used(s, "batch completion", deadline, &token, &used))
		return -1;
	k = (struct virtio_iommu_req_map *)token - maps;
	if (k < 0 || k >= (ptrdiff_t)BATCH || seen[k]) {
		check(false, "batch completion", "token %p is not an outstanding request of the "
		      "batch", token);
		return -1;
	}
	seen[k] = true;
	*index = (unsigned)k;
	if (maps[k].tail.status == VIRTIO_IOMMU_S_OK && used == TAIL)
		return 1;
	printf("  batch request %td: status %s (%u), used length %u\n", k,
	       status_name(maps[k].tail.status), maps[k].tail.status, used);
	return 0;
}

static bool map_batch(struct smoke *s)
{
	struct virtio_iommu_req_map *maps = (void *)(s->dma + BATCH_OFF);
	unsigned before = s->notifies, ok = 0, in_order = 0, k = 0;
	uint64_t deadline;
	bool seen[BATCH] = { false };

	for (unsigned i = 0; i < BATCH; i++) {
		fill_map(&maps[i], DOMAIN, IOVA_BATCH + i * PAGE,
			 bus(s, s->dma + TARGET_OFF + i * PAGE));
		if (!add_request(s, &maps[i], sizeof(maps[i]) - TAIL, TAIL))
			return false;
	}
	kick(s);
	check(s->notifies - before == 1, "64 MAPs published at once, one notify", "%u notifies",
	      s->notifies - before);
	deadline = now_ms() + WAIT_MS;
	for (unsigned n = 0; n < BATCH; n++) {
		int rc = batch_completion(s, maps, seen, deadline, &k);

		if (rc < 0)
			return check(false, "batch of 64 MAPs -> all OK", "%u of %u completed OK "
				     "before the queue stopped", ok, BATCH);
		ok += (unsigned)rc;
		in_order += k == n;
	}
	printf("  batch: %u of %u completions in submission order\n", in_order, BATCH);
	check(ok == BATCH, "batch of 64 MAPs -> all OK", "%u of %u OK", ok, BATCH);
	return true;
}

static bool unmap_all(struct smoke *s)
{
	struct virtio_iommu_req_unmap *u = request_slot(s, sizeof(*u));

	set_head(u, VIRTIO_IOMMU_T_UNMAP, sizeof(*u));
	u->domain = DOMAIN;
	u->virt_start = s->cfg.input_range_start;
	u->virt_end = s->cfg.input_range_end;
	return expect(s, "UNMAP of the whole input range -> OK", u, sizeof(*u) - TAIL, TAIL,
		      VIRTIO_IOMMU_S_OK);
}

static bool detach(struct smoke *s)
{
	struct virtio_iommu_req_detach *d = request_slot(s, sizeof(*d));

	set_head(d, VIRTIO_IOMMU_T_DETACH, sizeof(*d));
	d->domain = DOMAIN;
	d->endpoint = s->endpoint;
	return expect(s, "DETACH -> OK", d, sizeof(*d) - TAIL, TAIL, VIRTIO_IOMMU_S_OK);
}

static bool unknown_type(struct smoke *s)
{
	void *r = request_slot(s, UNKNOWN_LEN);

	set_head(r, T_UNKNOWN, UNKNOWN_LEN);
	return expect(s, "request type 0x42 -> UNSUPP", r, UNKNOWN_LEN - TAIL, TAIL,
		      VIRTIO_IOMMU_S_UNSUPP);
}

/* Stops at the first request the queue could not complete: the rest would only time out. */
static void requests(struct smoke *s)
{
	bool all = probe(s) && attach(s) &&
	       map_one(s, "MAP 4 KiB -> OK", DOMAIN, VIRTIO_IOMMU_S_OK) &&
	       map_one(s, "the same MAP again -> INVAL", DOMAIN, VIRTIO_IOMMU_S_INVAL) &&
	       map_batch(s) && unmap_all(s) &&
	       map_one(s, "after the UNMAP the range maps again -> OK", DOMAIN,
		       VIRTIO_IOMMU_S_OK) &&
	       detach(s) &&
	       map_one(s, "MAP to domain 1 after its last DETACH -> NOENT", DOMAIN,
		       VIRTIO_IOMMU_S_NOENT) &&
	       unknown_type(s);

	if (!all)
		printf("  stopped: the request queue cannot go on\n");
}

static void run(struct smoke *s)
{
	if (!setup_memory(s))
		return;
	if (open_device(s) && acknowledge(s) && check_offered(s) && negotiate(s) &&
	    read_config(s) && setup_queue(s) && driver_ok(s) && bypass_off(s))
		requests(s);
	/* Before the ring memory goes: the device must stop using it. */
	if (s->have_vpci)
		check(uvi_vpci_reset(&s->v) == 0, "reset at the end", "%s", viommu_last_error());
	if (s->pci)
		uvi_pci_close(s->pci);
	if (s->vq)
		uvi_vq_destroy(s->vq);
	viommu_mem_free(s->mem);
}

static int usage(void)
{
	fputs("usage: virtio_smoke SSSS:BB:DD.F uio|vfio split|packed ENDPOINT_ID\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct smoke s = { 0 };
	char name[64];
	unsigned long ep;
	char *end;

	if (argc != 5 || (strcmp(argv[2], "uio") && strcmp(argv[2], "vfio")) ||
	    (strcmp(argv[3], "split") && strcmp(argv[3], "packed")))
		return usage();
	errno = 0;
	ep = strtoul(argv[4], &end, 0);
	if (errno || end == argv[4] || *end || ep > UINT32_MAX)
		return usage();
	s.bdf = argv[1];
	s.backend = argv[2];
	s.packed = strcmp(argv[3], "packed") == 0;
	s.endpoint = (uint32_t)ep;
	run(&s);
	snprintf(name, sizeof(name), "virtio_smoke %s %s", s.backend, argv[3]);
	return check_summary(name);
}
