/* SPDX-License-Identifier: BSD-3-Clause */
/* An opened PCI function: backend dispatch, command register, bounds checks. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "../common/error_internal.h"
#include "pci_dev.h"
#include "sysfs.h"

#define COMMAND_DMA_BITS (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)

const struct uvi_pci_backend *uvi_pci_backend_by_name(const char *name)
{
	if (name && strcmp(name, uvi_pci_backend_vfio.name) == 0)
		return &uvi_pci_backend_vfio;
	if (name && strcmp(name, uvi_pci_backend_uio.name) == 0)
		return &uvi_pci_backend_uio;
	uvi_fail(-EINVAL, "unknown PCI access backend '%s' (known: vfio, uio)",
		 name ? name : "(null)");
	return NULL;
}

static int check_cfg_range(const struct uvi_pci_dev *dev, unsigned off, const void *buf,
			   size_t len)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (buf && len && off < UVI_PCI_CFG_SIZE && len <= UVI_PCI_CFG_SIZE - off)
		return 0;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	return uvi_fail(-EINVAL, "%s: config access of %zu bytes at 0x%x is outside 0-0x%x",
			name, len, off, UVI_PCI_CFG_SIZE - 1);
}

int uvi_pci_cfg_read(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len)
{
	int rc = check_cfg_range(dev, off, buf, len);

	return rc ? rc : dev->backend->cfg_read(dev, off, buf, len);
}

int uvi_pci_cfg_write(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	int rc = check_cfg_range(dev, off, buf, len);

	return rc ? rc : dev->backend->cfg_write(dev, off, buf, len);
}

int uvi_pci_cfg_io_result(const struct uvi_pci_dev *dev, ssize_t n, size_t len, unsigned off,
			  const char *op)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	if (n == (ssize_t)len)
		return 0;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	if (n < 0)
		return uvi_fail(-errno, "%s: %s config %s at 0x%x failed: %s", name,
				dev->backend->name, op, off, strerror(errno));
	return uvi_fail(-EIO, "%s: short %s config %s at 0x%x (%zd of %zu bytes; not root?)",
			name, dev->backend->name, op, off, n, len);
}

int uvi_pci_bar_map(struct uvi_pci_dev *dev, unsigned index, struct uvi_bar **out)
{
	int rc;

	if (index >= UVI_PCI_BARS)
		return uvi_fail(-EINVAL, "BAR %u does not exist (0-%d)", index, UVI_PCI_BARS - 1);
	if (!dev->bars[index].base && !dev->bars[index].emul) {
		rc = dev->backend->bar_map(dev, index);
		if (rc)
			return rc;
	}
	*out = &dev->bars[index];
	return 0;
}

static int read_command(struct uvi_pci_dev *dev, uint16_t *cmd)
{
	uint16_t le;
	int rc = uvi_pci_cfg_read(dev, PCI_COMMAND, &le, sizeof(le));

	*cmd = le16toh(le);
	return rc;
}

static int write_command(struct uvi_pci_dev *dev, uint16_t cmd)
{
	uint16_t le = htole16(cmd);

	return uvi_pci_cfg_write(dev, PCI_COMMAND, &le, sizeof(le));
}

/*
 * Memory space and bus mastering on: uio_pci_generic enables neither bus
 * mastering nor (always) memory decoding, and vfio leaves both to the user.
 */
static int enable_dma(struct uvi_pci_dev *dev)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	uint16_t cmd;
	int rc;

	rc = read_command(dev, &cmd);
	if (!rc && (cmd & COMMAND_DMA_BITS) != COMMAND_DMA_BITS)
		rc = write_command(dev, cmd | COMMAND_DMA_BITS);
	if (!rc)
		rc = read_command(dev, &cmd);
	if (rc)
		return rc;
	if ((cmd & COMMAND_DMA_BITS) == COMMAND_DMA_BITS)
		return 0;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	return uvi_fail(-EIO, "%s keeps memory space or bus mastering off (command register "
			"0x%04x): the function may be in a low-power state or gone (check "
			"'lspci -vv -s %s')", name, cmd, name);
}

int uvi_pci_open(const struct uvi_pci_backend *backend, void *arg,
		 struct viommu_pci_addr addr, struct uvi_pci_dev **out)
{
	struct uvi_pci_dev *dev;
	int rc;

	if (!backend || !out)
		return uvi_fail(-EINVAL, "PCI open: NULL backend or result pointer");
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return uvi_fail(-ENOMEM, "PCI open: out of memory");
	dev->addr = addr;
	dev->backend = backend;
	dev->numa_node = uvi_pci_sysfs_numa_node(addr);
	rc = backend->open(dev, arg);
	if (rc) {
		free(dev);
		return rc;
	}
	rc = enable_dma(dev);
	if (rc) {
		backend->close(dev);
		free(dev);
		return rc;
	}
	*out = dev;
	return 0;
}

void uvi_pci_close(struct uvi_pci_dev *dev)
{
	uint16_t cmd;

	if (!dev)
		return;
	if (read_command(dev, &cmd) == 0 && (cmd & PCI_COMMAND_MASTER))
		write_command(dev, cmd & ~PCI_COMMAND_MASTER);
	dev->backend->close(dev);
	free(dev);
}
