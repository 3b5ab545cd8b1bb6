/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The software device's PCI function: a 256-byte configuration space that
 * describes a modern virtio-iommu (virtio 1.2, 4.1.2 and 4.1.4) with its
 * structures in BAR4, where QEMU puts them, and the "sim" PCI backend.
 */
#include <errno.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "sim_internal.h"

#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09 /* prog-if, subclass, base class */
#define CFG_BAR0 0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID 0x2e
#define CFG_CAP_PTR 0x34
#define CFG_INT_PIN 0x3d

#define COMMAND_WRITABLE 0x0407 /* I/O, memory, bus master, INTx disable */
#define STATUS_CAP_LIST 0x0010
#define BAR_MEM64_PREF 0x0c
#define SIM_BAR_ADDR 0xfe000000u /* what firmware might have assigned; never used */

/* Vendor capabilities (4.1.4), in list order. */
#define CAP_COMMON 0x40
#define CAP_ISR 0x50
#define CAP_DEVCFG 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCI_CFG 0x84
#define CAP_LEN 16
#define CAP_LEN_EXT 20 /* notify (+ multiplier) and PCI cfg access (+ data) */

/* Fields of the PCI configuration access capability (4.1.4.9). */
#define PCICFG_BAR (CAP_PCI_CFG + 4)
#define PCICFG_OFFSET (CAP_PCI_CFG + 8)
#define PCICFG_LENGTH (CAP_PCI_CFG + 12)
#define PCICFG_DATA (CAP_PCI_CFG + 16)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_vendor_cap(uint8_t *cfg, uint8_t pos, uint8_t next, uint8_t len, uint8_t type,
			   uint8_t bar, uint32_t off, uint32_t size)
{
	cfg[pos] = 0x09;
	cfg[pos + 1] = next;
	cfg[pos + 2] = len;
	cfg[pos + 3] = type;
	cfg[pos + 4] = bar;
	put32(cfg + pos + 8, off);
	put32(cfg + pos + 12, size);
}

void sim_build_config_space(struct sim_device *d)
{
	uint8_t *cfg = d->config_space;

	memset(cfg, 0, UVI_PCI_CFG_SIZE);
	put16(cfg, SIM_VENDOR);
	put16(cfg + 2, SIM_DEVICE_ID);
	put16(cfg + CFG_STATUS, STATUS_CAP_LIST);
	cfg[CFG_REVISION] = 1; /* 4.1.2.1: modern-only devices have revision 1 or more */
	cfg[CFG_CLASS + 1] = 0x80; /* base system peripheral, "other" (as QEMU) */
	cfg[CFG_CLASS + 2] = 0x08;
	put32(cfg + CFG_BAR0 + 4 * SIM_BAR, SIM_BAR_ADDR | BAR_MEM64_PREF);
	put16(cfg + CFG_SUBSYS_VENDOR, SIM_VENDOR);
	put16(cfg + CFG_SUBSYS_ID, 0x1100);
	cfg[CFG_CAP_PTR] = CAP_COMMON;
	cfg[CFG_INT_PIN] = 1;
	put_vendor_cap(cfg, CAP_COMMON, CAP_ISR, CAP_LEN, 1, SIM_BAR, SIM_COMMON_OFF,
		       SIM_REGION_LEN);
	put_vendor_cap(cfg, CAP_ISR, CAP_DEVCFG, CAP_LEN, 3, SIM_BAR, SIM_ISR_OFF, SIM_REGION_LEN);
	put_vendor_cap(cfg, CAP_DEVCFG, CAP_NOTIFY, CAP_LEN, 4, SIM_BAR, SIM_DEVCFG_OFF,
		       SIM_REGION_LEN);
	put_vendor_cap(cfg, CAP_NOTIFY, CAP_PCI_CFG, CAP_LEN_EXT, 2, SIM_BAR, SIM_NOTIFY_OFF,
		       SIM_REGION_LEN);
	put32(cfg + CAP_NOTIFY + 16, SIM_NOTIFY_MULT);
	put_vendor_cap(cfg, CAP_PCI_CFG, 0, CAP_LEN_EXT, 5, 0, 0, 0);
}

static struct sim_device *sim_of(struct uvi_pci_dev *dev)
{
	return dev->priv;
}

static int sim_open(struct uvi_pci_dev *dev, void *arg)
{
	struct sim_device *d = arg;
	int rc = 0;

	if (!d)
		return uvi_fail(-EINVAL, "sim backend: open needs the struct sim_device * as arg");
	pthread_mutex_lock(&d->regs_lock);
	if (d->pci_open)
		rc = uvi_fail(-EBUSY, "sim device is already open: one owner at a time");
	else
		d->pci_open = true;
	pthread_mutex_unlock(&d->regs_lock);
	if (rc)
		return rc;
	dev->priv = d;
	dev->numa_node = -1;
	return 0;
}

static void sim_close(struct uvi_pci_dev *dev)
{
	struct sim_device *d = sim_of(dev);

	pthread_mutex_lock(&d->regs_lock);
	d->pci_open = false;
	pthread_mutex_unlock(&d->regs_lock);
}

/* The PCI cfg access window (4.1.4.9): a BAR access of `length` bytes at `offset`. */
static bool window_access(struct sim_device *d, uint64_t *off, unsigned *width)
{
	const uint8_t *cfg = d->config_space;
	uint32_t len = get32(cfg + PCICFG_LENGTH);

	*off = get32(cfg + PCICFG_OFFSET);
	*width = len;
	return cfg[PCICFG_BAR] == SIM_BAR && (len == 1 || len == 2 || len == 4) &&
	       *off % len == 0 && *off + len <= SIM_BAR_LEN;
}

static bool touches_window(unsigned off, size_t len)
{
	return off < PCICFG_DATA + 4 && off + len > PCICFG_DATA;
}

/* Fill pci_cfg_data from the BAR before a read of it. Called without locks. */
static void window_read(struct sim_device *d)
{
	uint64_t off, val = 0;
	unsigned width;
	bool ok;

	pthread_mutex_lock(&d->regs_lock);
	ok = window_access(d, &off, &width);
	pthread_mutex_unlock(&d->regs_lock);
	if (ok)
		val = sim_bar_read(d, off, width);
	pthread_mutex_lock(&d->regs_lock);
	put32(d->config_space + PCICFG_DATA, (uint32_t)val);
	pthread_mutex_unlock(&d->regs_lock);
}

static void window_write(struct sim_device *d)
{
	uint64_t off;
	unsigned width;
	uint32_t val;
	bool ok;

	pthread_mutex_lock(&d->regs_lock);
	ok = window_access(d, &off, &width);
	val = get32(d->config_space + PCICFG_DATA);
	pthread_mutex_unlock(&d->regs_lock);
	if (ok)
		sim_bar_write(d, off, width, val);
}

static int sim_cfg_read(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len)
{
	struct sim_device *d = sim_of(dev);

	if (touches_window(off, len))
		window_read(d);
	pthread_mutex_lock(&d->regs_lock);
	memcpy(buf, d->config_space + off, len);
	pthread_mutex_unlock(&d->regs_lock);
	return 0;
}

/* Which bits of config byte `off` the driver may change; the rest is read-only. */
static uint8_t writable_mask(unsigned off)
{
	if (off == CFG_COMMAND || off == CFG_COMMAND + 1)
		return (uint8_t)(COMMAND_WRITABLE >> (8 * (off - CFG_COMMAND)));
	if (off == PCICFG_BAR || (off >= PCICFG_OFFSET && off < PCICFG_DATA + 4))
		return 0xff;
	return 0;
}

static int sim_cfg_write(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	struct sim_device *d = sim_of(dev);
	const uint8_t *p = buf;

	pthread_mutex_lock(&d->regs_lock);
	for (size_t i = 0; i < len; i++) {
		uint8_t mask = writable_mask(off + (unsigned)i);
		uint8_t *b = &d->config_space[off + i];

		*b = (uint8_t)((*b & ~mask) | (p[i] & mask));
	}
	pthread_mutex_unlock(&d->regs_lock);
	if (touches_window(off, len))
		window_write(d);
	return 0;
}

static int sim_bar_map(struct uvi_pci_dev *dev, unsigned index)
{
	struct sim_device *d = sim_of(dev);

	if (index != SIM_BAR)
		return uvi_fail(-ENODEV, "sim device: BAR%u is not implemented (only BAR%u is)",
				index, SIM_BAR);
	dev->bars[index] = (struct uvi_bar){ .base = NULL, .len = SIM_BAR_LEN, .emul = &d->emul };
	return 0;
}

const struct uvi_pci_backend uvi_sim_backend = {
	.name = "sim",
	.dma_addressing = VIOMMU_ADDR_VIRTUAL,
	.open = sim_open,
	.close = sim_close,
	.cfg_read = sim_cfg_read,
	.cfg_write = sim_cfg_write,
	.bar_map = sim_bar_map,
};
