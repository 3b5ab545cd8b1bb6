/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_DRIVER_RIG_H
#define UVIOMMU_TEST_DRIVER_RIG_H

/*
 * The device rig of the driver suites: the driver (viommu_*) opened on
 *  - "sim" (the default): a new software device per rig_open(), in any
 *    configuration; every endpoint can do simulated DMA (sim_device_dma);
 *    bus addresses are process virtual addresses;
 *  - "real" (rig_main() given a PCI address): a virtio-iommu opened through
 *    uio or vfio inside a QEMU guest. QEMU's edu device is the endpoint
 *    that does DMA; a second function behind the IOMMU is a peer endpoint
 *    that is attached and detached but never does DMA. Memory endpoints
 *    reach is hugepage DMA memory with physical addresses.
 *
 * A check that must see whether a mapping really translates uses a DMA
 * probe: rig_translates() (the endpoint writes) or rig_probe_read(). On the
 * sim they are simulated DMA; on a real device edu, attached wherever the
 * test attached its endpoint, copies 4 bytes between its buffer and the
 * IOVA. Both leave one fault record per refused probe.
 *
 * Checks that only the software device can make (its counters, its
 * configuration knobs, its behaviour where QEMU's differs) are either whole
 * cases declared with RIG_SIM_CASE (skipped elsewhere, counted as inactive)
 * or single assertions written RIG_SIM_ASSERT (listed as NOT CHECKED
 * elsewhere and counted): never passed silently.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include <uviommu/viommu.h>

#include "../../drivers/sim/sim.h"

#define RIG_PAGE 4096u
#define RIG_WAIT_LIMIT_S 10

struct rig {
	struct sim_device *sim; /* the software device; NULL on a real one */
	struct viommu_dev *dev;
};

/* ---- the target, chosen once per process by rig_main() ---- */

bool rig_is_sim(void);
const char *rig_access(void);  /* "sim", "uio" or "vfio" */
uint32_t rig_ep_dma(void);     /* the endpoint the probes go through */
uint32_t rig_ep_peer(void);    /* another endpoint, never used for DMA */
struct viommu_pci_addr rig_ep_dma_pci(void); /* the PCI function of rig_ep_dma() */

enum rig_needs {
	RIG_ANY,
	RIG_PACKED,   /* a device that offers VIRTIO_F_RING_PACKED */
	RIG_SIM_ONLY, /* the software device; `why` says why */
};

struct rig_case {
	const char *name;
	void (*fn)(void);
	enum rig_needs needs;
	const char *why;
};

#define RIG_CASE(f) { #f, f, RIG_ANY, NULL }
#define RIG_PACKED_CASE(f) { #f, f, RIG_PACKED, NULL }
#define RIG_SIM_CASE(f, reason) { #f, f, RIG_SIM_ONLY, reason }
#define RIG_END { NULL, NULL, RIG_ANY, NULL }

/*
 * Run one suite (run_suite() of cunit_main.h). Without arguments on the
 * software device; on a real one with
 *   --device SSSS:BB:DD.F --access uio|vfio --edu SSSS:BB:DD.F --peer SSSS:BB:DD.F
 * (endpoint IDs from the firmware's VIOT). Cases the target cannot run are
 * skipped with their reason. Returns the exit status: 0 all passed, 1 a
 * failure, 2 the rig could not be set up (the message says why).
 */
int rig_main(const char *suite, const struct rig_case *cases, int argc, char **argv);

/* A check only the software device can make: asserted there; elsewhere listed and counted. */
#define RIG_SIM_ASSERT(cond, why)                          \
	do {                                               \
		if (rig_is_sim()) {                        \
			CU_ASSERT(cond);                   \
		} else {                                   \
			rig_not_checked(#cond, why);       \
		}                                          \
	} while (0)
void rig_not_checked(const char *what, const char *why);

/* ---- opening the driver ---- */

/* Software device only: QEMU-like; packed adds VIRTIO_F_RING_PACKED to its offer. */
void rig_config(struct sim_config *cfg, bool packed);
/* Software device only: a device of configuration cfg (NULL: rig_config(cfg, false)). */
void rig_open(struct rig *r, const struct sim_config *cfg, const struct viommu_open_opts *opts);
/*
 * Either target: opts (NULL: none) with the rig's device and access. The
 * ring is split unless packed (on a real device, a packed ring needs a
 * device that offers one: cases that need it are RIG_PACKED_CASE).
 */
void rig_open_opts(struct rig *r, bool packed, const struct viommu_open_opts *opts);
void rig_open_default(struct rig *r, bool packed);
void rig_close(struct rig *r);

/* ---- memory endpoints reach ---- */

/* n zeroed pages, freed by rig_free_pages(); rig_phys() is the address to map. */
uint8_t *rig_pages(size_t n);
void rig_free_pages(uint8_t *p);
uint64_t rig_phys(const void *p);

/* ---- DMA probes ---- */

/*
 * Endpoint ep writes a 4-byte marker at iova (4-byte aligned): true if it
 * landed in page, at iova's offset within its page. On a real device ep
 * must be rig_ep_dma().
 */
bool rig_translates(struct rig *r, uint32_t ep, uint64_t iova, uint8_t *page);
/* Endpoint ep reads 4 bytes at iova; a refused read shows only on the event queue. */
void rig_probe_read(struct rig *r, uint32_t ep, uint64_t iova);

/* ---- software device only ---- */

/* Simulated DMA and its immediate result (0, or -EFAULT when the IOMMU refused it). */
int rig_dma_write(struct rig *r, uint32_t ep, uint64_t iova, const void *buf, size_t len);
int rig_dma_read(struct rig *r, uint32_t ep, uint64_t iova, void *buf, size_t len);
struct sim_iommu_stats rig_sim_stats(struct rig *r);

/* ---- either ---- */

struct viommu_stats rig_stats(struct rig *r);
/* Print viommu_last_error() if rc < 0; returns rc. */
int rig_check(int rc, const char *what);
/* The tests' two assertions on a call's result: it succeeded; it failed with err. */
void rig_ok(int rc, const char *what);
void rig_expect(int rc, int err, const char *what);

#endif
