/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The uio backend: a function bound to uio_pci_generic. Config space is the
 * sysfs "config" file, BARs are mmap()s of the sysfs "resourceN" files, and
 * /dev/uioN stays open for as long as the device is (closing it makes
 * uio_pci_generic clear bus mastering).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "bar.h"
#include "pci_dev.h"
#include "sysfs.h"

#define UIO_DRIVER "uio_pci_generic"

struct uio_priv {
	int uio_fd;
	int cfg_fd;
};

static int check_bound_to_uio(struct viommu_pci_addr addr)
{
	char name[VIOMMU_PCI_ADDR_STRLEN], driver[UVI_DRIVER_NAME_MAX];
	int rc;

	rc = uvi_pci_sysfs_check_present(addr);
	if (!rc)
		rc = uvi_pci_sysfs_driver(addr, driver, sizeof(driver));
	if (rc || strcmp(driver, UIO_DRIVER) == 0)
		return rc;
	viommu_pci_addr_format(addr, name, sizeof(name));
	if (!uvi_pci_driver_loaded(UIO_DRIVER))
		return uvi_fail(-ENODEV, "%s: the " UIO_DRIVER " module is not loaded: run "
				"'modprobe " UIO_DRIVER "' and 'uviommu-info bind %s --driver uio'",
				name, name);
	if (!driver[0])
		return uvi_fail(-ENODEV, "%s is not bound to any driver: run 'uviommu-info bind "
				"%s --driver uio'", name, name);
	return uvi_fail(-ENODEV, "%s is bound to %s, not " UIO_DRIVER ": run 'uviommu-info bind "
			"%s --driver uio'", name, driver, name);
}

/* N of the uioN entry in the function's sysfs "uio" directory. */
static int find_uio_number(struct viommu_pci_addr addr, unsigned *number)
{
	char path[UVI_PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int rc = -ENOENT;

	uvi_pci_sysfs_path(addr, "uio", path, sizeof(path));
	dir = opendir(path);
	if (!dir)
		return uvi_fail(-ENODEV, "no %s: " UIO_DRIVER " did not register a uio device "
				"for this function (see dmesg)", path);
	while ((e = readdir(dir)) != NULL) {
		if (sscanf(e->d_name, "uio%u", number) == 1) {
			rc = 0;
			break;
		}
	}
	closedir(dir);
	if (rc)
		return uvi_fail(rc, "%s holds no uioN entry (see dmesg)", path);
	return 0;
}

static int open_uio_files(struct uvi_pci_dev *dev, struct uio_priv *p)
{
	char path[UVI_PATH_MAX];
	unsigned n;
	int rc;

	rc = find_uio_number(dev->addr, &n);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/uio%u", uvi_dev_root, n);
	p->uio_fd = uvi_open_checked(path, O_RDWR, "uio device");
	if (p->uio_fd < 0)
		return p->uio_fd;
	uvi_pci_sysfs_path(dev->addr, "config", path, sizeof(path));
	p->cfg_fd = uvi_open_checked(path, O_RDWR, "PCI config space");
	if (p->cfg_fd < 0) {
		close(p->uio_fd);
		return p->cfg_fd;
	}
	return 0;
}

static int uio_open(struct uvi_pci_dev *dev, void *arg)
{
	struct uio_priv *p;
	int rc;

	(void)arg;
	rc = check_bound_to_uio(dev->addr);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return uvi_fail(-ENOMEM, "uio open: out of memory");
	rc = open_uio_files(dev, p);
	if (rc) {
		free(p);
		return rc;
	}
	dev->priv = p;
	return 0;
}

static void uio_close(struct uvi_pci_dev *dev)
{
	struct uio_priv *p = dev->priv;

	uvi_bars_unmap(dev);
	close(p->cfg_fd);
	close(p->uio_fd);
	free(p);
	dev->priv = NULL;
}

static int uio_cfg_read(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len)
{
	struct uio_priv *p = dev->priv;

	return uvi_pci_cfg_io_result(dev, pread(p->cfg_fd, buf, len, off), len, off, "read");
}

static int uio_cfg_write(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	struct uio_priv *p = dev->priv;

	return uvi_pci_cfg_io_result(dev, pwrite(p->cfg_fd, buf, len, off), len, off, "write");
}

static int uio_bar_map(struct uvi_pci_dev *dev, unsigned index)
{
	char path[UVI_PATH_MAX], file[16];
	struct uvi_bar_resource res;
	void *base;
	int fd, rc;

	rc = uvi_bar_resource_read(dev->addr, index, &res);
	if (rc)
		return rc;
	snprintf(file, sizeof(file), "resource%u", index);
	uvi_pci_sysfs_path(dev->addr, file, path, sizeof(path));
	fd = uvi_open_checked(path, O_RDWR, "BAR");
	if (fd < 0)
		return fd;
	base = mmap(NULL, res.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = errno;
	close(fd);
	if (base == MAP_FAILED)
		return uvi_fail(-rc, "mmap of %s (%" PRIu64 " bytes) failed: %s", path, res.len,
				strerror(rc));
	dev->bars[index] = (struct uvi_bar){ .base = base, .len = res.len };
	return 0;
}

const struct uvi_pci_backend uvi_pci_backend_uio = {
	.name = "uio",
	.dma_addressing = VIOMMU_ADDR_PHYSICAL,
	.open = uio_open,
	.close = uio_close,
	.cfg_read = uio_cfg_read,
	.cfg_write = uio_cfg_write,
	.bar_map = uio_bar_map,
};
