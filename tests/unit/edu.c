/* SPDX-License-Identifier: BSD-3-Clause */
/* QEMU's edu device: one DMA transfer at a time, waited for with a bound. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <linux/pci_regs.h>

#include "edu.h"
#include "../../lib/common/error_internal.h"
#include "../../lib/pci/pci_dev.h"

#define EDU_ID 0x00
#define EDU_ID_MAGIC 0xed          /* low byte of the identification register */
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN 0x1u
#define EDU_CMD_TO_RAM 0x2u
#define EDU_BUF_BUS 0x40000u        /* the buffer's address on edu's side */
#define EDU_BAR_MIN 0x100u
#define EDU_WAIT_MS 5000u           /* a transfer takes ~100 ms of virtual time */
#define EDU_POLL_NS 200000L

struct edu {
	struct uvi_pci_dev *pci;
	struct uvi_bar *bar;
};

static int check_identity(struct edu *e, const char *name)
{
	uint16_t ids[2] = { 0, 0 };
	uint32_t id;
	int rc = uvi_pci_cfg_read(e->pci, PCI_VENDOR_ID, ids, sizeof(ids));

	if (rc)
		return rc;
	if (ids[0] != EDU_VENDOR || ids[1] != EDU_DEVICE)
		return uvi_fail(-ENODEV, "%s is %04x:%04x, not QEMU's edu (%04x:%04x): start "
				"QEMU with -device edu,dma_mask=0xffffffffffffffff", name, ids[0],
				ids[1], EDU_VENDOR, EDU_DEVICE);
	if (e->bar->len < EDU_BAR_MIN)
		return uvi_fail(-ENODEV, "%s: BAR0 of edu is %llu bytes, expected at least %u",
				name, (unsigned long long)e->bar->len, EDU_BAR_MIN);
	id = (uint32_t)uvi_bar_read(e->bar, EDU_ID, 4);
	if ((id & 0xff) != EDU_ID_MAGIC)
		return uvi_fail(-ENODEV, "%s: edu identification register reads 0x%08x", name, id);
	return 0;
}

int edu_open(const char *access, struct viommu_pci_addr addr, struct edu **out)
{
	const struct uvi_pci_backend *backend = uvi_pci_backend_by_name(access);
	char name[VIOMMU_PCI_ADDR_STRLEN];
	struct edu *e;
	int rc;

	if (!backend)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return uvi_fail(-ENOMEM, "out of memory");
	viommu_pci_addr_format(addr, name, sizeof(name));
	rc = uvi_pci_open(backend, NULL, addr, &e->pci);
	if (!rc)
		rc = uvi_pci_bar_map(e->pci, 0, &e->bar);
	if (!rc)
		rc = check_identity(e, name);
	if (rc) {
		edu_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

void edu_close(struct edu *e)
{
	if (!e)
		return;
	if (e->pci)
		uvi_pci_close(e->pci);
	free(e);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Until the command register's RUN bit clears, at most EDU_WAIT_MS. */
static int wait_idle(struct edu *e)
{
	const struct timespec pause = { 0, EDU_POLL_NS };
	uint64_t deadline = now_ms() + EDU_WAIT_MS;

	while (uvi_bar_read(e->bar, EDU_DMA_CMD, 8) & EDU_CMD_RUN) {
		if (now_ms() > deadline)
			return uvi_fail(-ETIMEDOUT, "edu's DMA did not complete within %u ms",
					EDU_WAIT_MS);
		nanosleep(&pause, NULL);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* what the DMA wrote is read after this */
	return 0;
}

static int transfer(struct edu *e, uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	int rc = wait_idle(e);

	if (rc)
		return rc;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* what the CPU wrote is seen by the DMA */
	uvi_bar_write(e->bar, EDU_DMA_SRC, 8, src);
	uvi_bar_write(e->bar, EDU_DMA_DST, 8, dst);
	uvi_bar_write(e->bar, EDU_DMA_COUNT, 8, len);
	uvi_bar_write(e->bar, EDU_DMA_CMD, 8, cmd | EDU_CMD_RUN);
	return wait_idle(e);
}

static int check_range(uint32_t buf_off, uint32_t len)
{
	if (len == 0 || len > EDU_BUF_USABLE || buf_off > EDU_BUF_USABLE - len)
		return uvi_fail(-EINVAL, "edu DMA of %u bytes at buffer offset %u does not fit the "
				"%u bytes of its buffer QEMU lets a DMA use", len, buf_off,
				EDU_BUF_USABLE);
	return 0;
}

int edu_to_ram(struct edu *e, uint32_t buf_off, uint64_t addr, uint32_t len)
{
	int rc = check_range(buf_off, len);

	return rc ? rc : transfer(e, EDU_BUF_BUS + buf_off, addr, len, EDU_CMD_TO_RAM);
}

int edu_from_ram(struct edu *e, uint64_t addr, uint32_t buf_off, uint32_t len)
{
	int rc = check_range(buf_off, len);

	return rc ? rc : transfer(e, addr, EDU_BUF_BUS + buf_off, len, 0);
}
