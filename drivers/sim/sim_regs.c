/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * BAR4 of the software device, emulated synchronously in the accessing
 * thread: the common configuration structure (virtio 1.2, 4.1.4.3), the
 * ISR status (4.1.4.5), the device configuration (struct
 * virtio_iommu_config, 5.13.4) and the doorbells (4.1.4.4).
 *
 * An access of the wrong width or to an offset that holds no field reads
 * 0 and writes nothing, as the spec lets a device do with accesses that
 * break 4.1.3.1.
 */
#include <limits.h>
#include <string.h>

#include "sim_internal.h"

/* struct virtio_pci_common_cfg (4.1.4.3). */
enum {
	C_DFSELECT = 0x00, C_DF = 0x04, C_GFSELECT = 0x08, C_GF = 0x0c, C_MSIX = 0x10,
	C_NUMQ = 0x12, C_STATUS = 0x14, C_CFGGEN = 0x15, C_QSELECT = 0x16, C_QSIZE = 0x18,
	C_QMSIX = 0x1a, C_QENABLE = 0x1c, C_QNOFF = 0x1e, C_QDESC = 0x20, C_QDRIVER = 0x28,
	C_QDEVICE = 0x30, C_END = 0x38,
};

#define MSI_NO_VECTOR 0xffff /* there is no MSI-X capability: the sim is polled */
#define BYPASS_OFF 36        /* offsetof(struct virtio_iommu_config, bypass) */
#define IOMMU_FEATURE_BITS 0x7full

static unsigned field_width(uint64_t off)
{
	if (off >= C_QDESC && off < C_END)
		return 4; /* halves of the 64-bit queue addresses (4.1.3.1) */
	switch (off) {
	case C_DFSELECT: case C_DF: case C_GFSELECT: case C_GF:
		return 4;
	case C_STATUS: case C_CFGGEN:
		return 1;
	case C_MSIX: case C_NUMQ: case C_QSELECT: case C_QSIZE: case C_QMSIX: case C_QENABLE:
	case C_QNOFF:
		return 2;
	default:
		return 0;
	}
}

static bool valid_access(uint64_t off, unsigned width)
{
	unsigned w = field_width(off);

	/* A 64-bit queue address may also be accessed whole. */
	if (!w || (width != w && !(w == 4 && off >= C_QDESC && width == 8)))
		return false;
	return off % width == 0;
}

static struct sim_queue_regs *selected(struct sim_device *d)
{
	return d->queue_select < SIM_NUM_QUEUES ? &d->queues[d->queue_select] : NULL;
}

static uint8_t status_of(struct sim_device *d)
{
	return (uint8_t)(d->status | (atomic_load(&d->needs_reset) ? SIM_S_NEEDS_RESET : 0));
}

static uint8_t generation_read(struct sim_device *d)
{
	if (!d->unstable_reads)
		return atomic_load(&d->generation);
	if (d->unstable_reads != UINT_MAX)
		d->unstable_reads--;
	return (uint8_t)(atomic_fetch_add(&d->generation, 1) + 1);
}

static uint64_t *queue_addr(struct sim_queue_regs *q, uint64_t off)
{
	if (off < C_QDRIVER)
		return &q->desc;
	return off < C_QDEVICE ? &q->driver : &q->device;
}

static uint64_t queue_read(struct sim_device *d, uint64_t off, unsigned width)
{
	struct sim_queue_regs *q = selected(d);

	if (!q)
		return off == C_QMSIX ? MSI_NO_VECTOR : 0; /* queue_size 0: no such queue */
	switch (off) {
	case C_QSIZE: return q->size;
	case C_QMSIX: return MSI_NO_VECTOR;
	case C_QENABLE: return q->enabled;
	case C_QNOFF: return atomic_load(&d->notify_off[d->queue_select]);
	}
	if (width == 8)
		return *queue_addr(q, off);
	return (uint32_t)(*queue_addr(q, off) >> (off % 8 ? 32 : 0));
}

static uint64_t common_read(struct sim_device *d, uint64_t off, unsigned width)
{
	switch (off) {
	case C_DFSELECT: return d->dfselect;
	case C_DF: return d->dfselect < 2 ? (uint32_t)(d->cfg.features >> (32 * d->dfselect)) : 0;
	case C_GFSELECT: return d->gfselect;
	case C_GF:
		return d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0;
	case C_MSIX: return MSI_NO_VECTOR;
	case C_NUMQ: return SIM_NUM_QUEUES;
	case C_STATUS: return status_of(d);
	case C_CFGGEN: return generation_read(d);
	case C_QSELECT: return d->queue_select;
	}
	return queue_read(d, off, width);
}

/* 3.1.1 step 5: FEATURES_OK sticks only for a subset of the offer that has VERSION_1. */
static bool features_acceptable(struct sim_device *d)
{
	uint64_t f = d->driver_features;
	int rc;

	if (f & ~d->cfg.features || !(f & 1ull << VIRTIO_F_VERSION_1))
		return false;
	pthread_mutex_lock(&d->dev_lock);
	rc = sim_iommu_set_features(d->iommu, f & IOMMU_FEATURE_BITS);
	pthread_mutex_unlock(&d->dev_lock);
	return rc == 0;
}

/*
 * Writing 0 resets (4.1.4.3.1). Otherwise the driver only adds bits
 * (3.1.1); NEEDS_RESET is the device's. DRIVER_OK after FEATURES_OK
 * starts the device; failing to (rings the sim cannot use) needs a reset.
 */
static void status_write(struct sim_device *d, uint8_t v)
{
	uint8_t old = d->status, now = (uint8_t)((old | v) & ~SIM_S_NEEDS_RESET);

	if (!v) {
		if (!atomic_load(&d->stuck_reset))
			sim_reset_locked(d);
		return;
	}
	if (now & SIM_S_FEATURES_OK && !(old & SIM_S_FEATURES_OK) && !features_acceptable(d))
		now &= (uint8_t)~SIM_S_FEATURES_OK;
	d->status = now;
	if (now & SIM_S_DRIVER_OK && !(old & SIM_S_DRIVER_OK) && now & SIM_S_FEATURES_OK &&
	    sim_thread_start(d, d->driver_features))
		sim_raise_needs_reset(d);
}

static void driver_features_write(struct sim_device *d, uint32_t v)
{
	unsigned shift = 32 * d->gfselect;

	if (d->gfselect >= 2 || d->status & SIM_S_FEATURES_OK)
		return;
	d->driver_features = (d->driver_features & ~(0xffffffffull << shift)) |
			     (uint64_t)v << shift;
}

static void queue_write(struct sim_device *d, uint64_t off, unsigned width, uint64_t v)
{
	struct sim_queue_regs *q = selected(d);
	uint64_t *addr;

	/* 4.1.4.3.2: fields of an enabled queue are not written by the driver. */
	if (!q || q->enabled)
		return;
	if (off == C_QSIZE) {
		if (v && v <= d->cfg.queue_size_max)
			q->size = (uint16_t)v;
	} else if (off == C_QENABLE) {
		/* Queues are enabled before DRIVER_OK (3.1.1 step 7); later ones are ignored. */
		q->enabled = v == 1 && !(d->status & SIM_S_DRIVER_OK);
	} else if (off >= C_QDESC) {
		addr = queue_addr(q, off);
		if (width == 8)
			*addr = v;
		else if (off % 8)
			*addr = (*addr & 0xffffffffull) | v << 32;
		else
			*addr = (*addr & ~0xffffffffull) | (uint32_t)v;
	}
}

static void common_write(struct sim_device *d, uint64_t off, unsigned width, uint64_t v)
{
	switch (off) {
	case C_DFSELECT: d->dfselect = (uint32_t)v; break;
	case C_GFSELECT: d->gfselect = (uint32_t)v; break;
	case C_GF: driver_features_write(d, (uint32_t)v); break;
	case C_STATUS: status_write(d, (uint8_t)v); break;
	case C_QSELECT: d->queue_select = (uint16_t)v; break;
	case C_QSIZE: case C_QENABLE: queue_write(d, off, width, v); break;
	default:
		if (off >= C_QDESC)
			queue_write(d, off, width, v);
		break; /* read-only fields */
	}
}

static uint64_t devcfg_read(struct sim_device *d, uint64_t off, unsigned width)
{
	struct virtio_iommu_config cfg;
	uint8_t bytes[sizeof(cfg)];
	uint64_t v = 0;

	if (off + width > sizeof(cfg))
		return 0;
	pthread_mutex_lock(&d->dev_lock);
	sim_iommu_read_config(d->iommu, &cfg);
	pthread_mutex_unlock(&d->dev_lock);
	memcpy(bytes, &cfg, sizeof(cfg)); /* the wire layout, little-endian */
	for (unsigned i = 0; i < width; i++)
		v |= (uint64_t)bytes[off + i] << (8 * i);
	return v;
}

/* Only bypass is writable, with BYPASS_CONFIG negotiated (5.13.4.1); sim_iommu checks 0/1. */
static void devcfg_write(struct sim_device *d, uint64_t off, unsigned width, uint64_t v)
{
	bool negotiated;

	if (off != BYPASS_OFF || width != 1)
		return;
	pthread_mutex_lock(&d->regs_lock);
	negotiated = d->status & SIM_S_FEATURES_OK &&
		     d->driver_features & 1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG;
	pthread_mutex_unlock(&d->regs_lock);
	if (!negotiated)
		return;
	pthread_mutex_lock(&d->dev_lock);
	sim_iommu_write_bypass(d->iommu, (uint8_t)v);
	pthread_mutex_unlock(&d->dev_lock);
}

/* 4.1.4.4: the doorbell at notify_off * multiplier; the value written is not needed. */
static void notify_write(struct sim_device *d, uint64_t off, unsigned width)
{
	if (width != 2)
		return;
	for (unsigned q = 0; q < SIM_NUM_QUEUES; q++) {
		if ((uint64_t)atomic_load(&d->notify_off[q]) * SIM_NOTIFY_MULT == off) {
			atomic_fetch_add(&d->stats.notifies, 1);
			atomic_store_explicit(&d->doorbell[q], 1, memory_order_release);
			return;
		}
	}
}

uint64_t sim_bar_read(void *ctx, uint64_t off, unsigned width)
{
	struct sim_device *d = ctx;
	uint64_t v = 0;

	if (off < SIM_ISR_OFF) {
		if (!valid_access(off, width))
			return 0;
		pthread_mutex_lock(&d->regs_lock);
		v = common_read(d, off, width);
		pthread_mutex_unlock(&d->regs_lock);
	} else if (off == SIM_ISR_OFF) {
		v = atomic_exchange(&d->isr, 0); /* 4.1.4.5: reading clears it */
	} else if (off >= SIM_DEVCFG_OFF && off < SIM_NOTIFY_OFF) {
		v = devcfg_read(d, off - SIM_DEVCFG_OFF, width);
	}
	return v;
}

void sim_bar_write(void *ctx, uint64_t off, unsigned width, uint64_t value)
{
	struct sim_device *d = ctx;

	if (off < SIM_ISR_OFF) {
		if (!valid_access(off, width))
			return;
		pthread_mutex_lock(&d->regs_lock);
		common_write(d, off, width, value);
		pthread_mutex_unlock(&d->regs_lock);
	} else if (off >= SIM_DEVCFG_OFF && off < SIM_NOTIFY_OFF) {
		devcfg_write(d, off - SIM_DEVCFG_OFF, width, value);
	} else if (off >= SIM_NOTIFY_OFF && off < SIM_BAR_LEN) {
		notify_write(d, off - SIM_NOTIFY_OFF, width);
	}
}

/* 2.1.2: the device sets DEVICE_NEEDS_RESET and sends a configuration change. */
void sim_raise_needs_reset(struct sim_device *d)
{
	atomic_store(&d->needs_reset, true);
	atomic_fetch_add(&d->generation, 1);
	atomic_fetch_or(&d->isr, SIM_ISR_CONFIG);
}

void sim_reset_locked(struct sim_device *d)
{
	sim_thread_stop(d);
	pthread_mutex_lock(&d->dev_lock);
	sim_iommu_reset(d->iommu);
	pthread_mutex_unlock(&d->dev_lock);
	d->dfselect = d->gfselect = 0;
	d->driver_features = 0;
	d->queue_select = 0;
	for (unsigned q = 0; q < SIM_NUM_QUEUES; q++) {
		d->queues[q] = (struct sim_queue_regs){ .size = d->cfg.queue_size_max };
		atomic_store(&d->doorbell[q], 0);
	}
	atomic_store(&d->needs_reset, false);
	atomic_store(&d->isr, 0);
	d->status = 0;
}
