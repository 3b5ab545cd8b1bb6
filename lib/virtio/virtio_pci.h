/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIRTIO_PCI_H
#define UVIOMMU_VIRTIO_PCI_H

/*
 * The modern virtio-pci transport (virtio 1.2, section 4.1), polled.
 *
 * uvi_vpci_init() walks the PCI capability list of an opened function,
 * finds the virtio vendor capabilities (4.1.4), maps the BARs they point
 * into and checks every offset and length against what the BAR really
 * holds: the device is not trusted. The rest are the operations of the
 * common configuration structure (4.1.4.3), the doorbells (4.1.4.4) and
 * the device-specific configuration (4.1.4.6).
 *
 * Control-path calls (everything but uvi_vpci_notify) are meant for one
 * thread at a time: they select a queue or a feature word and then use it.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../pci/pci_dev.h"
#include "virtqueue.h"

/* One virtio structure: a window of a mapped BAR. */
struct uvi_vpci_region {
	const struct uvi_bar *bar;
	uint64_t off;   /* in the BAR; off + len <= bar->len was checked */
	uint32_t len;
	uint8_t bar_index;
	uint8_t cap;    /* config-space offset of the capability that described it */
};

struct uvi_vpci {
	struct uvi_pci_dev *pci;
	struct uvi_vpci_region common;
	struct uvi_vpci_region notify;
	struct uvi_vpci_region isr;
	struct uvi_vpci_region device; /* len 0: the device has no config structure */
	uint32_t notify_off_multiplier;
	uint8_t pci_cfg_cap;         /* VIRTIO_PCI_CAP_PCI_CFG capability, 0 if none */
	unsigned reset_timeout_ms;   /* uvi_vpci_reset() gives up after this */
	unsigned config_retries;     /* generation-checked config reads give up after this */
};

/* A queue's doorbell, from uvi_vpci_queue_setup(). */
struct uvi_vpci_notifier {
	const struct uvi_bar *bar;
	uint64_t off;
	uint16_t queue;
};

#define UVI_VPCI_RESET_TIMEOUT_MS 1000
#define UVI_VPCI_CONFIG_RETRIES 64

/*
 * Find and map the virtio structures of pci. Common, notify and ISR are
 * required; the device-specific structure is optional (len 0 without it).
 * -ENODEV when pci is not a modern virtio function, -EPROTO when its
 * capabilities are malformed or point outside their BAR. *v is written
 * only on success.
 */
int uvi_vpci_init(struct uvi_vpci *v, struct uvi_pci_dev *pci);

/* Write 0 to device_status and wait (bounded) until it reads back 0 (4.1.4.3.2). */
int uvi_vpci_reset(struct uvi_vpci *v);
uint8_t uvi_vpci_get_status(const struct uvi_vpci *v);
void uvi_vpci_set_status(const struct uvi_vpci *v, uint8_t status);
/* set_status(get_status() | bits): the way to advance the init sequence (3.1.1). */
void uvi_vpci_add_status(const struct uvi_vpci *v, uint8_t bits);

uint64_t uvi_vpci_get_device_features(const struct uvi_vpci *v);
void uvi_vpci_set_driver_features(const struct uvi_vpci *v, uint64_t features);
/*
 * Set FEATURES_OK and read it back (3.1.1 steps 5-6): -ENOTSUP with the
 * feature set in the message when the device refused it.
 */
int uvi_vpci_features_ok(const struct uvi_vpci *v);
/*
 * The whole negotiation: accept wanted & offered, require VERSION_1
 * (the modern interface, 6.1), write the driver features and run the
 * FEATURES_OK handshake. *negotiated is written on success.
 */
int uvi_vpci_negotiate(const struct uvi_vpci *v, uint64_t wanted, uint64_t *negotiated);

uint16_t uvi_vpci_num_queues(const struct uvi_vpci *v);
/* Maximum size of queue `index`: -ENOENT if the device reports 0 (absent). */
int uvi_vpci_queue_max_size(const struct uvi_vpci *v, uint16_t index, uint16_t *max);
/*
 * Program queue `index` with a ring of `size` entries at addrs (from
 * uvi_vq_size() and uvi_vq_get_addrs(), so that the transport does not
 * depend on the ring layout code) and locate its doorbell (4.1.5.1.3).
 * The queue is not enabled yet. -EBUSY if it is already enabled (no reset
 * since), -EINVAL if size is 0 or above the device maximum, -EPROTO if the
 * device refuses the size or gives a doorbell outside the notify structure.
 */
int uvi_vpci_queue_setup(const struct uvi_vpci *v, uint16_t index, uint16_t size,
			 const struct uvi_vq_addrs *addrs, struct uvi_vpci_notifier *out);
/* Write 1 to queue_enable and check that the device took it. */
int uvi_vpci_queue_enable(const struct uvi_vpci *v, uint16_t index);

/*
 * Device-specific configuration (4.1.4.6), at [off, off + len) of the
 * structure. Reads are repeated until config_generation is the same
 * before and after (2.5.1), at most v->config_retries times: -EIO after
 * that. Accesses are naturally aligned and at most 32 bits wide (4.1.3.1):
 * read an 8-bit field on its own, a range of 32/64-bit fields together.
 */
int uvi_vpci_config_read(const struct uvi_vpci *v, uint32_t off, void *buf, size_t len);
int uvi_vpci_config_write(const struct uvi_vpci *v, uint32_t off, const void *buf, size_t len);
uint8_t uvi_vpci_config_generation(const struct uvi_vpci *v);

/* Read (and thereby clear) the ISR status (4.1.4.5). */
uint8_t uvi_vpci_isr(const struct uvi_vpci *v);

/*
 * Kick a queue: one 16-bit store of its index to its doorbell (4.1.5.2,
 * VIRTIO_F_NOTIFICATION_DATA not negotiated). The release fence orders
 * the ring updates before the doorbell on weakly ordered CPUs; on x86 it
 * only stops the compiler.
 */
static inline void uvi_vpci_notify(const struct uvi_vpci_notifier *n)
{
	atomic_thread_fence(memory_order_release);
	uvi_bar_write(n->bar, n->off, 2, n->queue);
}

#endif
