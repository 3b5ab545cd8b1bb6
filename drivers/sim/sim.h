/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_H
#define UVIOMMU_SIM_H

/*
 * The software virtio-iommu device: a fake PCI function (1af4:1057) with
 * the modern virtio-pci transport in BAR4, laid out as QEMU lays it out,
 * and a device thread that serves the rings. Open it with
 *
 *   uvi_pci_open(&uvi_sim_backend, sim, addr, &pci)
 *
 * and drive it like the real device. Bus addresses are process virtual
 * addresses (VIOMMU_ADDR_VIRTUAL): the driver is trusted not to hand the
 * sim wild pointers; the sim checks the ring protocol, not the memory.
 *
 * Register accesses are emulated synchronously in the accessing thread,
 * as QEMU emulates them on an MMIO exit. A notify is an atomic store into
 * a per-queue doorbell, which the device thread observes as a real device
 * observes a doorbell write. The thread runs from DRIVER_OK to reset.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/pci/pci_dev.h"
#include "sim_iommu.h"

#define SIM_NUM_QUEUES 2
#define SIM_QUEUE_SIZE_DEFAULT 256

/* What QEMU 7.2's virtio-iommu-pci offers (except INDIRECT_DESC), plus EVENT_IDX. */
#define SIM_FEATURES_DEFAULT                                                           \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_IOMMU_F_INPUT_RANGE |              \
	 1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE | 1ull << VIRTIO_IOMMU_F_MAP_UNMAP |       \
	 1ull << VIRTIO_IOMMU_F_MMIO | 1ull << VIRTIO_IOMMU_F_PROBE |                   \
	 1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG | 1ull << VIRTIO_F_EVENT_IDX)

struct sim_config {
	/* Device semantics; its `features` field is replaced by bits 0-6 of `features`. */
	struct sim_iommu_config iommu;
	uint64_t features;       /* offered to the driver (add VIRTIO_F_RING_PACKED for packed) */
	uint16_t queue_size_max; /* of both queues, 1..32768 */
};

struct sim_device;

/* QEMU's defaults: the features above, 256-entry queues, 4 KiB pages, MSI window. */
void sim_config_default(struct sim_config *cfg);

/* cfg NULL: sim_config_default(). -EINVAL with a message for a bad config. */
int sim_device_create(const struct sim_config *cfg, struct sim_device **out);
/* Stops the device thread. Close the uvi_pci_dev opened on it first. */
void sim_device_destroy(struct sim_device *d);

/* The "sim" PCI backend: open()'s arg is the struct sim_device *. */
extern const struct uvi_pci_backend uvi_sim_backend;

/*
 * Endpoint `endpoint` does DMA at iova (sim_iommu_dma()); a fault goes to
 * the event queue at once, into the next buffer the driver has made
 * available there, or is dropped and counted when there is none (as QEMU
 * does). Translated addresses are process virtual addresses.
 */
int sim_device_dma(struct sim_device *d, uint32_t endpoint, uint64_t iova, void *buf,
		   size_t len, enum sim_dma_dir dir);

struct sim_device_stats {
	uint64_t notifies;        /* doorbell writes */
	uint64_t chains;          /* request chains served */
	uint64_t events;          /* fault records delivered */
	uint64_t events_dropped;  /* faults with no event buffer to go to */
	uint64_t bad_chains;      /* malformed chains (the device then needs a reset) */
	uint64_t starts;          /* DRIVER_OK transitions that started the device */
	uint64_t held;            /* completions held back now (reorder, delay) */
};
void sim_device_get_stats(struct sim_device *d, struct sim_device_stats *out);
/* The semantics' counters, read under the device lock. */
void sim_device_get_iommu_stats(struct sim_device *d, struct sim_iommu_stats *out);

/*
 * Fault injection. Completions with used length 0 and forced statuses
 * (e.g. VIRTIO_IOMMU_S_DEVERR) go through sim_iommu for the next `count`
 * requests. The others act at the ring level.
 */
void sim_device_inject_zero_len(struct sim_device *d, uint32_t count);
void sim_device_inject_status(struct sim_device *d, uint32_t count, uint8_t status);
/* Complete each pass's requests in reverse order of arrival. */
void sim_device_set_reorder(struct sim_device *d, bool on);
/* Hold every completion for `polls` device-thread polls before pushing it (0: off). */
void sim_device_set_delay(struct sim_device *d, unsigned polls);
/* Raise DEVICE_NEEDS_RESET (status bit 0x40) with a config change; serving stops. */
void sim_device_set_needs_reset(struct sim_device *d);
/* Take no event buffers: every fault is dropped, as with a full event queue. */
void sim_device_set_eventq_full(struct sim_device *d, bool full);

/*
 * Hostile-device hooks for transport tests. The config space may be
 * changed before uvi_pci_open() (the transport reads it at init).
 */
uint8_t *sim_device_test_config_space(struct sim_device *d);
/* queue_notify_off the device reports for `queue` (default: the queue index). */
void sim_device_test_set_notify_off(struct sim_device *d, uint16_t queue, uint16_t off);
/* config_generation changes on each of the next `reads` reads (UINT_MAX: forever). */
void sim_device_test_set_unstable_generation(struct sim_device *d, unsigned reads);
/* A write of 0 to device_status is ignored: the reset never completes. */
void sim_device_test_set_stuck_reset(struct sim_device *d, bool on);

#endif
