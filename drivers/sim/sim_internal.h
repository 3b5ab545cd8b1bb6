/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_SIM_INTERNAL_H
#define UVIOMMU_SIM_INTERNAL_H

/*
 * State of the software device shared by its PCI function (sim_pci.c),
 * its registers (sim_regs.c), its thread (sim_thread.c) and its lifetime
 * (sim_device.c).
 *
 * Locking:
 *  - regs_lock: the common configuration registers, config space and the
 *    start/stop of the thread. Taken by register accesses and test knobs,
 *    never by the device thread (a reset joins the thread under it).
 *  - dev_lock: the sim_iommu instance and the event queue; taken by the
 *    device thread around each pass, by config-space accesses and by
 *    simulated DMA.
 *  - Everything the thread reads without a lock is set before it starts
 *    or is atomic (doorbells, knobs, counters, the needs-reset flag).
 */

#include <pthread.h>
#include <stdatomic.h>

#include "sim.h"
#include "sim_vq.h"

/*
 * The device's view of the transport layout (virtio 1.2, 4.1.4), kept
 * apart from lib/virtio on purpose: the sim checks the transport, so it
 * must not share the transport's constants.
 */
#define SIM_VENDOR 0x1af4
#define SIM_DEVICE_ID 0x1057 /* 0x1040 + 23 */
#define SIM_BAR 4
#define SIM_BAR_LEN 0x4000
#define SIM_COMMON_OFF 0x0000
#define SIM_ISR_OFF 0x1000
#define SIM_DEVCFG_OFF 0x2000
#define SIM_NOTIFY_OFF 0x3000
#define SIM_REGION_LEN 0x1000
#define SIM_NOTIFY_MULT 4

/* Device status bits (2.1). */
#define SIM_S_DRIVER_OK 0x04
#define SIM_S_FEATURES_OK 0x08
#define SIM_S_NEEDS_RESET 0x40

#define SIM_ISR_QUEUE 0x1
#define SIM_ISR_CONFIG 0x2

struct sim_queue_regs {
	uint16_t size;
	bool enabled;
	uint64_t desc, driver, device;
};

/* A completion the device holds back (fault injection: reorder, delay). */
struct sim_held {
	struct sim_vq_chain chain;
	uint32_t used_len;
	uint64_t due; /* poll number from which it may be pushed */
};

struct sim_device {
	struct sim_config cfg;
	struct uvi_mmio_emul emul;
	bool pci_open;

	pthread_mutex_t regs_lock;
	uint8_t config_space[UVI_PCI_CFG_SIZE];
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint8_t status; /* driver-visible bits; NEEDS_RESET lives in needs_reset */
	uint16_t queue_select;
	struct sim_queue_regs queues[SIM_NUM_QUEUES];
	atomic_ushort notify_off[SIM_NUM_QUEUES]; /* device property, survives reset */
	atomic_bool needs_reset;
	atomic_uchar generation;
	atomic_uchar isr;
	unsigned unstable_reads;
	atomic_bool stuck_reset;

	/* Device thread. */
	pthread_t thread;
	bool running;
	atomic_bool stop;
	atomic_uint doorbell[SIM_NUM_QUEUES];
	uint64_t polls;
	struct sim_held *held; /* FIFO of held completions, queue-size entries */
	unsigned n_held, held_max;
	uint8_t *bounce_in, *bounce_out; /* gather/scatter of multi-buffer requests */
	size_t bounce_len;

	pthread_mutex_t dev_lock;
	struct sim_iommu *iommu;
	struct sim_vq *vqs[SIM_NUM_QUEUES]; /* set while the device runs */

	/* Knobs. */
	atomic_bool reorder;
	atomic_uint delay_polls;
	atomic_bool eventq_full;

	struct {
		atomic_uint_least64_t notifies, chains, events, events_dropped, bad_chains, starts,
			held;
	} stats;
};

/* sim_regs.c */
uint64_t sim_bar_read(void *ctx, uint64_t off, unsigned width);
void sim_bar_write(void *ctx, uint64_t off, unsigned width, uint64_t value);
/* The device broke down (malformed ring): DEVICE_NEEDS_RESET + config change. Lock-free. */
void sim_raise_needs_reset(struct sim_device *d);
/* Reset the transport and the semantics. Called with regs_lock held. */
void sim_reset_locked(struct sim_device *d);

/* sim_pci.c */
void sim_build_config_space(struct sim_device *d);

/* sim_thread.c: with regs_lock held. Start creates the rings from the queue registers. */
int sim_thread_start(struct sim_device *d, uint64_t features);
void sim_thread_stop(struct sim_device *d);
/* sim_iommu host callback target: deliver one fault record (dev_lock held). */
void sim_deliver_fault(struct sim_device *d, const struct virtio_iommu_fault *f);

#endif
