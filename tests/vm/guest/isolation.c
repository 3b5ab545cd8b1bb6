/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * isolation: the proof, with QEMU's edu device as the DMA engine, that an
 * endpoint reaches through the virtio-iommu exactly what the public driver
 * API (include/uviommu/viommu.h) mapped for it, inside the guests of
 * tests/vm/run.
 *
 *   isolation IOMMU uio|vfio EDU [--trials N] [--seed S]
 *
 * Random trials (200 by default), each at a random IOVA (any magnitude up
 * to the input range, kept out of the reserved regions, of the IOVAs the
 * program maps for itself and of the physical range of its own memory)
 * with a random length (4-256 bytes) and one random kind:
 *   mapped write     edu writes into a mapped page: it lands, there and
 *                    nowhere else, and no fault is reported;
 *   mapped read      edu reads a mapped page: it gets its bytes;
 *   never mapped     edu writes at the physical address of a page filled
 *                    with a pattern, used as the IOVA (identity or bypass
 *                    would show there): blocked;
 *   unmapped         edu writes at an IOVA it has just written through,
 *                    now unmapped: blocked;
 *   read-only        edu writes into a READ-only mapping: blocked, and
 *                    every fault carries the WRITE flag;
 *   unmapped read    edu reads a page of secret bytes through an IOVA that
 *                    is unmapped (never mapped, or unmapped after use),
 *                    then writes what it got to a mapped page: never the
 *                    secret.
 * After every DMA every page of the program's memory is compared with
 * what it must hold: a byte changed by a blocked DMA is an escape.
 * Faults are polled after every DMA (viommu_poll_events; the driver keeps
 * the event queue full): a blocked trial must produce at least one fault
 * of reason MAPPING for edu's endpoint at an address inside the DMA's
 * range; a DMA that may pass must produce none. QEMU reports one fault per
 * 4-byte access, so a blocked DMA of 256 bytes gives 64 records, half the
 * 128 buffers the driver keeps posted.
 *
 * Fixed checks around the trials: an endpoint never attached (bypass = 0)
 * reaches nothing, not even at a physical address; a detached endpoint
 * is blocked (a fault of reason DOMAIN).
 *
 * Output: one "CHECK ok|FAIL <what>[: detail]" line per fixed check and
 * per failed trial, progress every 50 trials, then
 *   ISOLATION trials=N escapes=N blocked_trials=N blocked_trials_with_fault=N ...
 * and "isolation: N passed, N failed". Exits 1 if anything failed. Every
 * edu transfer takes ~100 ms of QEMU's virtual clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uviommu/uviommu.h>

#include "check.h"
#include "../../unit/edu.h"

#define PAGE 4096u
#define MEM_BYTES (2u << 20)   /* one 2 MiB hugepage: physically contiguous */
#define SRC_PAGE 0u            /* what edu's buffer is loaded from */
#define READBACK_PAGE 1u       /* where read trials write what edu got */
#define TARGET_FIRST 2u        /* mapped by the write trials */
#define TARGETS 64u
#define PATTERN_FIRST (TARGET_FIRST + TARGETS) /* never mapped: their addresses are IOVAs */
#define PATTERNS 64u
#define SECRET_FIRST (PATTERN_FIRST + PATTERNS)
#define SECRETS 32u
#define CHECKED_FIRST TARGET_FIRST /* the pages compared after every DMA */
#define CHECKED_PAGES (TARGETS + PATTERNS + SECRETS)
#define WRITE_OFF 0u           /* edu's buffer: what the writes copy */
#define READ_OFF 2048u         /* edu's buffer: where reads land */
#define SLOT (EDU_BUF_USABLE - READ_OFF) /* bytes of each part a DMA may use: 2047 */
#define MAX_LEN 256u           /* 64 faults at most per blocked DMA */
#define SRC_IOVA 0x7ff000000000ull /* the program's own mappings, far from the rest */
#define READBACK_IOVA (SRC_IOVA + PAGE)
#define MAX_FAULTS 512u
#define MAX_RESV 8u
#define DEFAULT_TRIALS 200u
#define RW (VIOMMU_MAP_READ | VIOMMU_MAP_WRITE)

enum kind { MAPPED_WRITE, MAPPED_READ, NEVER_MAPPED, UNMAPPED, READ_ONLY, UNMAPPED_READ, KINDS };

static const char *const kind_names[KINDS] = {
	"mapped write", "mapped read", "never mapped", "unmapped after use", "read-only",
	"unmapped read",
};

struct fault_log {
	unsigned n, overflow;
	struct viommu_fault f[MAX_FAULTS];
};

struct totals {
	unsigned trials, escapes, blocked, blocked_with_fault, passed, passed_ok;
	unsigned bad_faults, faults, read_only, read_only_write_flag, per_kind[KINDS];
};

struct iso {
	const char *device, *access, *edu_text;
	struct viommu_dev *dev;
	struct viommu_domain *dom;
	struct edu *edu;
	uint32_t ep;
	struct viommu_mem *mem;
	uint8_t *va;
	uint64_t phys;
	uint8_t expect[CHECKED_PAGES * PAGE]; /* what the checked pages must hold */
	uint8_t edu_buf[SLOT];                /* what edu's buffer holds at WRITE_OFF */
	struct viommu_resv_region resv[MAX_RESV];
	unsigned n_resv;
	uint64_t input_start, input_end;
	uint64_t rng;
	struct fault_log log;
	struct totals t;
};

/* ---- randomness (xorshift64*, seeded so that a failure can be replayed) ---- */

static uint64_t rnd(struct iso *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

static unsigned rnd_below(struct iso *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

static void fill_random(struct iso *s, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)rnd(s);
		p[i] += !p[i]; /* never 0: a read refused as zeros is never the secret */
	}
}

/* ---- memory ---- */

static uint8_t *page_va(struct iso *s, unsigned page)
{
	return s->va + (size_t)page * PAGE;
}

static uint64_t page_phys(struct iso *s, unsigned page)
{
	return s->phys + (uint64_t)page * PAGE;
}

static uint8_t *expect_of(struct iso *s, unsigned page)
{
	return s->expect + (size_t)(page - CHECKED_FIRST) * PAGE;
}

/* Give a checked page new random contents, in memory and in the expectation. */
static void refill(struct iso *s, unsigned page)
{
	fill_random(s, expect_of(s, page), PAGE);
	memcpy(page_va(s, page), expect_of(s, page), PAGE);
}

/* Pages whose contents differ from the expectation; the first one in *first. */
static unsigned changed_pages(struct iso *s, unsigned *first)
{
	unsigned n = 0;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < CHECKED_PAGES; i++) {
		if (memcmp(page_va(s, CHECKED_FIRST + i), expect_of(s, CHECKED_FIRST + i), PAGE))
			if (!n++)
				*first = CHECKED_FIRST + i;
	}
	return n;
}

/* ---- faults ---- */

static void on_edu_fault(const struct viommu_fault *f, void *arg)
{
	struct fault_log *log = arg;

	if (log->n < MAX_FAULTS)
		log->f[log->n++] = *f;
	else
		log->overflow++;
}

static unsigned stray_faults;

static void on_other_fault(const struct viommu_fault *f, void *arg)
{
	(void)arg;
	if (stray_faults++ < 4)
		printf("  fault of another endpoint: %u reason %u flags 0x%x address 0x%" PRIx64
		       "\n", f->endpoint_id, f->reason, f->flags, f->address);
}

/* Poll the event queue dry; the log then holds what edu's last DMA caused. */
static void collect_faults(struct iso *s)
{
	s->log.n = 0;
	s->log.overflow = 0;
	while (viommu_poll_events(s->dev, 0) > 0)
		;
}

/* Faults of reason MAPPING for edu at an address in [iova, iova + len); the others in *bad. */
static unsigned mapping_faults(struct iso *s, uint64_t iova, uint32_t len, uint32_t need,
			       unsigned *bad)
{
	unsigned good = 0;

	*bad = s->log.overflow;
	for (unsigned i = 0; i < s->log.n; i++) {
		const struct viommu_fault *f = &s->log.f[i];

		if (f->reason == VIOMMU_FAULT_REASON_MAPPING && f->endpoint_id == s->ep &&
		    (f->flags & VIOMMU_FAULT_ADDRESS) && (f->flags & need) == need &&
		    f->address >= iova && f->address - iova < len)
			good++;
		else
			(*bad)++;
	}
	return good;
}

/* ---- IOVAs ---- */

static bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* Inside the input range, outside reserved regions, our own mappings and our memory. */
static bool iova_usable(struct iso *s, uint64_t iova, uint64_t len)
{
	if (iova < s->input_start || iova + len < iova || iova + len - 1 > s->input_end)
		return false;
	for (unsigned i = 0; i < s->n_resv; i++)
		if (overlaps(iova, len, s->resv[i].start, s->resv[i].end - s->resv[i].start + 1))
			return false;
	return !overlaps(iova, len, SRC_IOVA, 2 * PAGE) && !overlaps(iova, len, s->phys, MEM_BYTES);
}

/* A random page-aligned IOVA for pages pages: random magnitude, then random bits. */
static uint64_t random_iova(struct iso *s, unsigned pages)
{
	for (;;) {
		unsigned bits = 13 + rnd_below(s, 52);
		uint64_t iova = rnd(s) & (bits < 64 ? (1ull << bits) - 1 : UINT64_MAX);

		iova &= ~(uint64_t)(PAGE - 1);
		if (iova_usable(s, iova, (uint64_t)pages * PAGE))
			return iova;
	}
}

/* ---- one DMA ---- */

struct dma {
	uint64_t iova;
	uint32_t len, buf_off, page_off;
};

static void random_dma(struct iso *s, struct dma *d, uint64_t page_iova)
{
	d->len = 4 * (1 + rnd_below(s, MAX_LEN / 4));
	d->buf_off = 4 * rnd_below(s, (SLOT - d->len) / 4 + 1);
	d->page_off = 4 * rnd_below(s, (PAGE - d->len) / 4 + 1);
	d->iova = page_iova + d->page_off;
}

/* ---- trials ---- */

struct outcome {
	bool blocked;       /* the trial's (last) DMA must not pass */
	bool ok;            /* everything as it must be */
	bool escaped;       /* memory changed, or the secret came out */
	unsigned faults;    /* good fault records of the blocked DMA */
	char why[160];
};

static void verdict(struct outcome *o, bool ok, const char *fmt, const char *detail)
{
	if (ok || !o->ok)
		return;
	o->ok = false;
	snprintf(o->why, sizeof(o->why), fmt, detail);
}

/* A step of the trial's setup (map, unmap, an edu transfer) that must succeed. */
static bool step(struct outcome *o, int rc, const char *what)
{
	char detail[128];

	if (!rc)
		return true;
	snprintf(detail, sizeof(detail), "%s failed: %s", what, viommu_last_error());
	verdict(o, false, "%s", detail);
	return false;
}

/* edu writes d's bytes; if may_land, they are then expected in `page`. */
static bool edu_write(struct iso *s, struct outcome *o, const struct dma *d, unsigned page,
		      bool may_land)
{
	const uint8_t *src = s->edu_buf + d->buf_off;

	if (!step(o, edu_to_ram(s->edu, WRITE_OFF + d->buf_off, d->iova, d->len), "edu write"))
		return false;
	collect_faults(s);
	if (may_land) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		verdict(o, memcmp(page_va(s, page) + d->page_off, src, d->len) == 0, "%s",
			"a DMA to a mapped IOVA did not land");
		memcpy(expect_of(s, page) + d->page_off, src, d->len);
	}
	return true;
}

/* After a write: memory as expected, and the faults it must (not) have caused. */
static void judge_write(struct iso *s, struct outcome *o, const struct dma *d, uint32_t need)
{
	unsigned first = 0, bad, good, changed = changed_pages(s, &first);

	good = mapping_faults(s, d->iova, d->len, need, &bad);
	if (changed) {
		o->escaped = o->blocked;
		verdict(o, false, "%s", o->blocked ? "a blocked DMA changed memory" :
			"the DMA changed memory it was not mapped to");
		memcpy(expect_of(s, first), page_va(s, first), PAGE); /* report it once */
	}
	s->t.faults += good + bad;
	s->t.bad_faults += bad;
	verdict(o, bad == 0, "%s", "a fault record with the wrong reason, endpoint or address");
	if (o->blocked) {
		o->faults += good;
		verdict(o, good > 0, "%s", "no fault of reason MAPPING reported");
	} else {
		verdict(o, good == 0, "%s", "a fault reported for a mapped IOVA");
	}
}

static void trial_mapped_write(struct iso *s, struct outcome *o)
{
	unsigned pages = 1 + rnd_below(s, 4), first = TARGET_FIRST + rnd_below(s, TARGETS - 3);
	unsigned at = rnd_below(s, pages), flags = rnd_below(s, 2) ? RW : VIOMMU_MAP_WRITE;
	uint64_t base = random_iova(s, pages), len = (uint64_t)pages * PAGE;
	struct dma d;

	random_dma(s, &d, base + (uint64_t)at * PAGE);
	if (!step(o, viommu_map(s->dom, base, page_phys(s, first), len, flags), "map"))
		return;
	if (edu_write(s, o, &d, first + at, true))
		judge_write(s, o, &d, 0);
	step(o, viommu_unmap(s->dom, base, len), "unmap");
}

static void trial_never_mapped(struct iso *s, struct outcome *o)
{
	unsigned page = PATTERN_FIRST + rnd_below(s, PATTERNS);
	struct dma d;

	o->blocked = true;
	refill(s, page);
	random_dma(s, &d, page_phys(s, page));
	if (edu_write(s, o, &d, page, false))
		judge_write(s, o, &d, 0);
}

static void trial_unmapped(struct iso *s, struct outcome *o)
{
	unsigned page = TARGET_FIRST + rnd_below(s, TARGETS);
	uint64_t iova = random_iova(s, 1);
	struct dma d;

	random_dma(s, &d, iova);
	if (!step(o, viommu_map(s->dom, iova, page_phys(s, page), PAGE, RW), "map"))
		return;
	if (edu_write(s, o, &d, page, true))
		judge_write(s, o, &d, 0);
	if (!step(o, viommu_unmap(s->dom, iova, PAGE), "unmap"))
		return;
	o->blocked = true;
	refill(s, page);
	if (edu_write(s, o, &d, page, false))
		judge_write(s, o, &d, 0);
}

static void trial_read_only(struct iso *s, struct outcome *o)
{
	unsigned page = TARGET_FIRST + rnd_below(s, TARGETS);
	uint64_t iova = random_iova(s, 1);
	struct dma d;

	o->blocked = true;
	random_dma(s, &d, iova);
	refill(s, page);
	if (!step(o, viommu_map(s->dom, iova, page_phys(s, page), PAGE, VIOMMU_MAP_READ), "map"))
		return;
	if (edu_write(s, o, &d, page, false))
		judge_write(s, o, &d, VIOMMU_FAULT_WRITE);
	s->t.read_only++;
	if (o->ok)
		s->t.read_only_write_flag++;
	step(o, viommu_unmap(s->dom, iova, PAGE), "unmap");
}

/* edu reads d's bytes into its buffer, then writes them out to the readback page. */
static bool read_through(struct iso *s, struct outcome *o, const struct dma *d, uint8_t *got)
{
	uint8_t *rb = page_va(s, READBACK_PAGE);

	if (!step(o, edu_from_ram(s->edu, d->iova, READ_OFF + d->buf_off, d->len), "edu read"))
		return false;
	collect_faults(s);
	memset(rb, 0, d->len);
	if (!step(o, edu_to_ram(s->edu, READ_OFF + d->buf_off, READBACK_IOVA, d->len),
		  "edu write-out"))
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(got, rb, d->len);
	return true;
}

/* A read of the secret in `page` at d: obtained if and only if the trial is not blocked. */
static void read_and_judge(struct iso *s, struct outcome *o, const struct dma *d, unsigned page)
{
	const uint8_t *secret = page_va(s, page) + d->page_off;
	unsigned bad, good, first = 0;
	uint8_t got[MAX_LEN];
	bool same;

	if (!read_through(s, o, d, got))
		return;
	same = memcmp(got, secret, d->len) == 0;
	good = mapping_faults(s, d->iova, d->len, 0, &bad);
	s->t.faults += good + bad;
	s->t.bad_faults += bad;
	verdict(o, bad == 0, "%s", "a fault record with the wrong reason, endpoint or address");
	verdict(o, changed_pages(s, &first) == 0, "%s", "a read changed memory");
	if (o->blocked) {
		o->faults += good;
		o->escaped = same;
		verdict(o, !same, "%s", "edu obtained the secret through an unmapped IOVA");
		verdict(o, good > 0, "%s", "no fault of reason MAPPING reported");
	} else {
		verdict(o, same, "%s", "edu did not get the bytes of a mapped page");
		verdict(o, good == 0, "%s", "a fault reported for a mapped IOVA");
	}
}

/* mapped: read through a READ mapping. Else through the secret's physical address, or
 * through a mapping used once and unmapped (with a new secret behind it). */
static void trial_read(struct iso *s, struct outcome *o, bool mapped)
{
	unsigned page = SECRET_FIRST + rnd_below(s, SECRETS);
	bool via_phys = !mapped && rnd_below(s, 2);
	uint64_t iova = via_phys ? page_phys(s, page) : random_iova(s, 1);
	struct dma d;

	refill(s, page);
	random_dma(s, &d, iova);
	if (!via_phys) {
		if (!step(o, viommu_map(s->dom, iova, page_phys(s, page), PAGE, VIOMMU_MAP_READ),
			  "map"))
			return;
		read_and_judge(s, o, &d, page);
		if (!step(o, viommu_unmap(s->dom, iova, PAGE), "unmap") || mapped)
			return;
		refill(s, page);
	}
	o->blocked = true;
	read_and_judge(s, o, &d, page);
}

static void count(struct iso *s, enum kind k, const struct outcome *o, unsigned n)
{
	s->t.trials++;
	s->t.per_kind[k]++;
	if (o->escaped)
		s->t.escapes++;
	if (o->blocked) {
		s->t.blocked++;
		if (o->faults)
			s->t.blocked_with_fault++;
	} else {
		s->t.passed++;
		if (o->ok)
			s->t.passed_ok++;
	}
	if (!o->ok)
		check(false, kind_names[k], "trial %u: %s", n, o->why);
}

static void run_trial(struct iso *s, unsigned n)
{
	enum kind k = (enum kind)rnd_below(s, KINDS);
	struct outcome o = { .ok = true };

	switch (k) {
	case MAPPED_WRITE: trial_mapped_write(s, &o); break;
	case MAPPED_READ: trial_read(s, &o, true); break;
	case NEVER_MAPPED: trial_never_mapped(s, &o); break;
	case UNMAPPED: trial_unmapped(s, &o); break;
	case READ_ONLY: trial_read_only(s, &o); break;
	default: trial_read(s, &o, false); break;
	}
	count(s, k, &o, n);
}

/* ---- fixed checks ---- */

static const char *reason_name(uint8_t reason)
{
	static const char *const names[] = { "UNKNOWN", "DOMAIN", "MAPPING" };

	return reason < 3 ? names[reason] : "?";
}

/* edu (attached nowhere) writes at a page's physical address: nothing lands, a fault comes. */
static void check_unattached(struct iso *s, const char *what)
{
	unsigned page = PATTERN_FIRST, first = 0, mine = 0;
	struct outcome o = { .ok = true };
	struct dma d = { page_phys(s, page), 64, 0, 0 };

	refill(s, page);
	if (!edu_write(s, &o, &d, page, false)) {
		check(false, what, "%s", o.why);
		return;
	}
	check(changed_pages(s, &first) == 0, what, "edu's write landed at physical 0x%" PRIx64,
	      d.iova);
	for (unsigned i = 0; i < s->log.n; i++)
		mine += s->log.f[i].endpoint_id == s->ep;
	if (check(mine > 0, "... and the device reports it", "no fault for endpoint %u", s->ep))
		printf("  %u fault records, reason %s, flags 0x%x\n", mine,
		       reason_name(s->log.f[0].reason), s->log.f[0].flags);
}

/* Mapped, edu's write lands; detached, the same write does not. */
static void check_detached(struct iso *s)
{
	unsigned page = TARGET_FIRST;
	uint64_t iova = random_iova(s, 1);
	struct outcome o = { .ok = true };
	struct dma d = { iova, 64, 0, 0 };

	if (!step(&o, viommu_map(s->dom, iova, page_phys(s, page), PAGE, RW), "map") ||
	    !edu_write(s, &o, &d, page, true)) {
		check(false, "detached endpoint", "%s", o.why);
		return;
	}
	judge_write(s, &o, &d, 0);
	check(o.ok, "attached: edu's write to a mapped IOVA lands", "%s", o.why);
	if (!check(!viommu_detach_endpoint(s->dom, s->ep), "detach edu", "%s",
		   viommu_last_error()))
		return;
	check_unattached(s, "detached: the same write does not land");
	check(s->log.n > 0 && s->log.f[0].reason == VIOMMU_FAULT_REASON_DOMAIN,
	      "detached: reason DOMAIN", "reason %s", s->log.n ? reason_name(s->log.f[0].reason) :
	      "(none)");
}

/* ---- setup ---- */

static int find_endpoint(struct iso *s)
{
	struct viommu_topology *topo;
	struct viommu_endpoint_ref ref;
	struct viommu_pci_addr addr;
	int rc = viommu_pci_addr_parse(s->edu_text, &addr);

	if (!rc)
		rc = viommu_topology_load_viot(NULL, &topo);
	if (rc)
		return rc;
	rc = viommu_topology_lookup_pci(topo, addr, &ref);
	viommu_topology_free(topo);
	if (!rc)
		s->ep = ref.endpoint_id;
	return rc ? rc : edu_open(s->access, addr, &s->edu);
}

static int setup_memory(struct iso *s)
{
	const struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_PHYSICAL, -1 };
	size_t contiguous = 0;
	int rc = viommu_mem_alloc(MEM_BYTES, &o, &s->mem);

	if (rc)
		return rc;
	s->va = viommu_mem_va(s->mem);
	rc = viommu_mem_iova(s->mem, s->va, &s->phys, &contiguous);
	if (!rc && contiguous < MEM_BYTES)
		rc = -EINVAL;
	fill_random(s, page_va(s, SRC_PAGE), PAGE);
	memcpy(s->edu_buf, page_va(s, SRC_PAGE), sizeof(s->edu_buf));
	for (unsigned i = 0; i < CHECKED_PAGES; i++)
		refill(s, CHECKED_FIRST + i);
	return rc;
}

static bool setup(struct iso *s)
{
	const struct viommu_open_opts o = { .device = s->device, .access = s->access };
	struct viommu_dev_info info;
	int rc = viommu_open(&o, &s->dev);

	if (!check(rc == 0, "viommu_open", "%s", viommu_last_error()))
		return false;
	viommu_get_info(s->dev, &info);
	s->input_start = info.input_start;
	s->input_end = info.input_end;
	printf("  %s via %s, %s ring; %s\n", info.device, info.access, info.ring, info.isolation);
	check(info.unattached_blocked, "unattached endpoints are blocked (bypass = 0)", "%s",
	      info.isolation);
	rc = find_endpoint(s);
	if (!check(rc == 0, "edu found", "%s", viommu_last_error()))
		return false;
	rc = setup_memory(s);
	if (!check(rc == 0, "2 MiB of contiguous hugepage memory", "%s", viommu_last_error()))
		return false;
	viommu_set_fault_handler(s->dev, s->ep, on_edu_fault, &s->log);
	viommu_set_default_fault_handler(s->dev, on_other_fault, NULL);
	printf("  edu %s is endpoint %u; memory at physical 0x%" PRIx64 "\n", s->edu_text, s->ep,
	       s->phys);
	return true;
}

/* The domain of the trials: edu attached, the buffer source and the readback page mapped. */
static bool setup_domain(struct iso *s)
{
	uint8_t *rb = page_va(s, READBACK_PAGE);
	int rc = viommu_domain_create(s->dev, &s->dom), n;

	if (!rc)
		rc = viommu_map(s->dom, SRC_IOVA, page_phys(s, SRC_PAGE), PAGE, VIOMMU_MAP_READ);
	if (!rc)
		rc = viommu_map(s->dom, READBACK_IOVA, page_phys(s, READBACK_PAGE), PAGE,
				VIOMMU_MAP_WRITE);
	if (!rc)
		rc = viommu_attach_endpoint(s->dom, s->ep);
	if (!check(rc == 0, "domain with edu attached", "%s", viommu_last_error()))
		return false;
	n = viommu_get_resv_regions(s->dev, s->ep, s->resv, MAX_RESV);
	s->n_resv = n < 0 ? 0 : (unsigned)n < MAX_RESV ? (unsigned)n : MAX_RESV;
	for (unsigned i = 0; i < s->n_resv; i++)
		printf("  reserved 0x%" PRIx64 "-0x%" PRIx64 " (%s): no trial IOVA there\n",
		       s->resv[i].start, s->resv[i].end,
		       s->resv[i].subtype == VIOMMU_RESV_MSI ? "MSI" : "reserved");
	rc = edu_from_ram(s->edu, SRC_IOVA, WRITE_OFF, SLOT);
	if (!rc)
		rc = edu_to_ram(s->edu, WRITE_OFF, READBACK_IOVA, SLOT);
	if (!check(rc == 0, "edu DMA through the domain", "%s", viommu_last_error()))
		return false;
	collect_faults(s);
	return check(memcmp(rb, s->edu_buf, SLOT) == 0 && s->log.n == 0,
		     "edu reads and writes through mapped IOVAs", "%u faults, data %s", s->log.n,
		     memcmp(rb, s->edu_buf, SLOT) ? "differs" : "matches");
}

/* ---- main ---- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void run_trials(struct iso *s, unsigned trials)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned n = 0; n < trials; n++) {
		run_trial(s, n);
		if ((n + 1) % 50 == 0)
			printf("  %u/%u trials, %.1f s\n", n + 1, trials, seconds_since(&t0));
	}
	printf("  trials took %.1f s\n", seconds_since(&t0));
}

static void report(struct iso *s, unsigned trials)
{
	const struct totals *t = &s->t;
	struct viommu_stats st;

	viommu_get_stats(s->dev, &st);
	check(t->trials == trials && trials >= DEFAULT_TRIALS, "at least 200 trials", "%u run",
	      t->trials);
	check(t->escapes == 0, "no escape", "%u trials escaped", t->escapes);
	check(t->blocked_with_fault == t->blocked, "every blocked trial reported a MAPPING fault",
	      "%u of %u did", t->blocked_with_fault, t->blocked);
	check(t->passed_ok == t->passed, "every DMA through a mapping did what it must",
	      "%u of %u did", t->passed_ok, t->passed);
	check(t->read_only > 0 && t->read_only_write_flag == t->read_only,
	      "writes into READ-only mappings: blocked, faults with the WRITE flag",
	      "%u of %u", t->read_only_write_flag, t->read_only);
	check(t->bad_faults == 0 && st.faults_dropped_malformed == 0,
	      "no fault record out of place", "%u misplaced, %" PRIu64 " malformed",
	      t->bad_faults, st.faults_dropped_malformed);
	printf("  per kind:");
	for (unsigned k = 0; k < KINDS; k++)
		printf(" %s %u%s", kind_names[k], t->per_kind[k], k + 1 < KINDS ? "," : "\n");
	printf("ISOLATION trials=%u escapes=%u blocked_trials=%u blocked_trials_with_fault=%u "
	       "mapped_trials=%u mapped_trials_ok=%u faults=%u misplaced_faults=%u "
	       "stray_faults=%u\n", t->trials, t->escapes, t->blocked, t->blocked_with_fault,
	       t->passed, t->passed_ok, t->faults, t->bad_faults, stray_faults);
}

static int usage(void)
{
	fprintf(stderr, "usage: isolation IOMMU uio|vfio EDU [--trials N] [--seed S]\n");
	return 2;
}

static int parse(struct iso *s, int argc, char **argv, unsigned *trials)
{
	if (argc < 4)
		return usage();
	s->device = argv[1];
	s->access = argv[2];
	s->edu_text = argv[3];
	for (int i = 4; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--trials") == 0)
			*trials = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--seed") == 0)
			s->rng = strtoull(argv[i + 1], NULL, 0);
		else
			return usage();
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct iso s;
	unsigned trials = DEFAULT_TRIALS;
	int rc = parse(&s, argc, argv, &trials);

	if (rc)
		return rc;
	if (!s.rng)
		s.rng = (uint64_t)time(NULL) * 2654435761u | 1;
	printf("  seed %" PRIu64 " (--seed to replay), %u trials\n", s.rng, trials);
	if (setup(&s)) {
		check_unattached(&s, "never attached: a write to a physical address is blocked");
		if (setup_domain(&s)) {
			run_trials(&s, trials);
			check_detached(&s);
			report(&s, trials);
		}
	}
	viommu_domain_destroy(s.dom);
	viommu_close(s.dev);
	edu_close(s.edu);
	viommu_mem_free(s.mem);
	return check_summary("isolation");
}
