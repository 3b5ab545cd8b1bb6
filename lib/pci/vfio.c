/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vfio backend, no-IOMMU mode: the function is bound to vfio-pci and
 * the kernel has no IOMMU driver for it, so its group is
 * /dev/vfio/noiommu-N and the container uses the VFIO_NOIOMMU_IOMMU model
 * (DMA addresses are physical addresses). Config space and BARs are
 * regions of the device file descriptor (Linux Documentation/driver-api/vfio.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../common/error_internal.h"
#include "bar.h"
#include "pci_dev.h"
#include "sysfs.h"

#define VFIO_DRIVER "vfio-pci"
#define NOIOMMU_FIX "echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode " \
	"(or boot with vfio.enable_unsafe_noiommu_mode=1)"

struct vfio_priv {
	int container;
	int group;
	int device;
	uint64_t cfg_offset; /* of the config region in the device fd */
};

static int check_bound_to_vfio(struct viommu_pci_addr addr, const char *name)
{
	char driver[UVI_DRIVER_NAME_MAX];
	int rc;

	rc = uvi_pci_sysfs_check_present(addr);
	if (!rc)
		rc = uvi_pci_sysfs_driver(addr, driver, sizeof(driver));
	if (rc || strcmp(driver, VFIO_DRIVER) == 0)
		return rc;
	if (!uvi_pci_driver_loaded(VFIO_DRIVER))
		return uvi_fail(-ENODEV, "%s: the " VFIO_DRIVER " module is not loaded: run "
				"'modprobe " VFIO_DRIVER "' and 'uviommu-info bind %s "
				"--driver vfio'", name, name);
	if (!driver[0])
		return uvi_fail(-ENODEV, "%s is not bound to any driver: run 'uviommu-info bind "
				"%s --driver vfio'", name, name);
	return uvi_fail(-ENODEV, "%s is bound to %s, not " VFIO_DRIVER ": run 'uviommu-info "
			"bind %s --driver vfio'", name, driver, name);
}

static int read_group_number(struct viommu_pci_addr addr, const char *name, unsigned *group)
{
	char path[UVI_PATH_MAX], target[UVI_PATH_MAX];
	const char *base;
	ssize_t n;

	uvi_pci_sysfs_path(addr, "iommu_group", path, sizeof(path));
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return uvi_fail(-ENODEV, "%s has no IOMMU group (no %s): vfio-pci takes such a "
				"function only in no-IOMMU mode: %s, then 'uviommu-info bind %s "
				"--driver vfio'", name, path, NOIOMMU_FIX, name);
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (sscanf(base, "%u", group) != 1)
		return uvi_fail(-EIO, "%s: unexpected IOMMU group link '%s'", name, target);
	return 0;
}

static int open_group(unsigned group, const char *name)
{
	char path[UVI_PATH_MAX], real[UVI_PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/vfio/noiommu-%u", uvi_dev_root, group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == EBUSY)
		return uvi_fail(-EBUSY, "%s is busy: another process has IOMMU group %u open", path,
				group);
	if (errno != ENOENT)
		return uvi_open_checked(path, O_RDWR, "vfio no-IOMMU group");
	snprintf(real, sizeof(real), "%s/vfio/%u", uvi_dev_root, group);
	if (stat(real, &st) == 0)
		return uvi_fail(-ENOTSUP, "%s sits behind an IOMMU the kernel drives (%s exists, "
				"no %s): this backend needs vfio's no-IOMMU mode", name, real,
				path);
	return uvi_fail(-ENOENT, "no %s for %s: vfio no-IOMMU mode is off: %s, then rebind "
			"with 'uviommu-info bind %s --driver vfio'", path, name, NOIOMMU_FIX, name);
}

static int open_container(void)
{
	char path[UVI_PATH_MAX];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/vfio/vfio", uvi_dev_root);
	fd = uvi_open_checked(path, O_RDWR, "vfio container (modprobe vfio-pci)");
	if (fd < 0)
		return fd;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		rc = uvi_fail(-ENOTSUP, "%s: unknown vfio API version", path);
	else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0)
		rc = uvi_fail(-ENOTSUP, "vfio offers no no-IOMMU containers: %s (the kernel needs "
			      "CONFIG_VFIO_NOIOMMU)", NOIOMMU_FIX);
	else
		return fd;
	close(fd);
	return rc;
}

static int ioctl_failed(const char *what, unsigned group)
{
	return uvi_fail(-errno, "%s on vfio group %u failed: %s", what, group, strerror(errno));
}

/* Group viable, in the container, container in no-IOMMU mode: then the device fd. */
static int attach_group(struct vfio_priv *p, unsigned group, const char *name)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(p->group, VFIO_GROUP_GET_STATUS, &status))
		return ioctl_failed("VFIO_GROUP_GET_STATUS", group);
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return uvi_fail(-EBUSY, "vfio group %u is not viable: bind every function in "
				"/sys/kernel/iommu_groups/%u/devices to vfio-pci", group, group);
	if (ioctl(p->group, VFIO_GROUP_SET_CONTAINER, &p->container))
		return ioctl_failed("VFIO_GROUP_SET_CONTAINER", group);
	if (ioctl(p->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		return ioctl_failed("VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU)", group);
	p->device = ioctl(p->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (p->device < 0)
		return ioctl_failed("VFIO_GROUP_GET_DEVICE_FD", group);
	return 0;
}

static int region_info(const struct vfio_priv *p, unsigned index, struct vfio_region_info *ri)
{
	*ri = (struct vfio_region_info){ .argsz = sizeof(*ri), .index = index };
	if (ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, ri))
		return uvi_fail(-errno, "VFIO_DEVICE_GET_REGION_INFO(%u) failed: %s", index,
				strerror(errno));
	return 0;
}

static int find_config_region(struct vfio_priv *p, const char *name)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info ri;
	int rc;

	if (ioctl(p->device, VFIO_DEVICE_GET_INFO, &info))
		return uvi_fail(-errno, "%s: VFIO_DEVICE_GET_INFO failed: %s", name,
				strerror(errno));
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return uvi_fail(-ENOTSUP, "%s: vfio does not present it as a PCI device", name);
	rc = region_info(p, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (rc)
		return rc;
	if (ri.size < UVI_PCI_CFG_SIZE)
		return uvi_fail(-EIO, "%s: vfio config region is only %llu bytes", name,
				(unsigned long long)ri.size);
	p->cfg_offset = ri.offset;
	return 0;
}

static void close_priv(struct vfio_priv *p)
{
	if (p->device >= 0)
		close(p->device);
	if (p->group >= 0)
		close(p->group);
	if (p->container >= 0)
		close(p->container);
	free(p);
}

static int open_files(struct vfio_priv *p, struct viommu_pci_addr addr, const char *name)
{
	unsigned group;
	int rc;

	rc = read_group_number(addr, name, &group);
	if (rc)
		return rc;
	p->group = open_group(group, name);
	if (p->group < 0)
		return p->group;
	p->container = open_container();
	if (p->container < 0)
		return p->container;
	rc = attach_group(p, group, name);
	return rc ? rc : find_config_region(p, name);
}

static int vfio_open(struct uvi_pci_dev *dev, void *arg)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	struct vfio_priv *p;
	int rc;

	(void)arg;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	rc = check_bound_to_vfio(dev->addr, name);
	if (rc)
		return rc;
	p = malloc(sizeof(*p));
	if (!p)
		return uvi_fail(-ENOMEM, "vfio open: out of memory");
	*p = (struct vfio_priv){ .container = -1, .group = -1, .device = -1 };
	rc = open_files(p, dev->addr, name);
	if (rc) {
		close_priv(p);
		return rc;
	}
	dev->priv = p;
	return 0;
}

static void vfio_close(struct uvi_pci_dev *dev)
{
	uvi_bars_unmap(dev);
	close_priv(dev->priv);
	dev->priv = NULL;
}

static int vfio_cfg_read(struct uvi_pci_dev *dev, unsigned off, void *buf, size_t len)
{
	struct vfio_priv *p = dev->priv;
	ssize_t n = pread(p->device, buf, len, (off_t)(p->cfg_offset + off));

	return uvi_pci_cfg_io_result(dev, n, len, off, "read");
}

static int vfio_cfg_write(struct uvi_pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	struct vfio_priv *p = dev->priv;
	ssize_t n = pwrite(p->device, buf, len, (off_t)(p->cfg_offset + off));

	return uvi_pci_cfg_io_result(dev, n, len, off, "write");
}

static int vfio_bar_map(struct uvi_pci_dev *dev, unsigned index)
{
	struct vfio_priv *p = dev->priv;
	char name[VIOMMU_PCI_ADDR_STRLEN];
	struct uvi_bar_resource res;
	struct vfio_region_info ri;
	void *base;
	int rc;

	rc = uvi_bar_resource_read(dev->addr, index, &res);
	if (!rc)
		rc = region_info(p, VFIO_PCI_BAR0_REGION_INDEX + index, &ri);
	if (rc)
		return rc;
	viommu_pci_addr_format(dev->addr, name, sizeof(name));
	if (ri.size == 0 || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return uvi_fail(-ENOTSUP, "%s: vfio does not allow mmap of BAR %u", name, index);
	base = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, p->device,
		    (off_t)ri.offset);
	if (base == MAP_FAILED)
		return uvi_fail(-errno, "%s: mmap of BAR %u (%llu bytes) failed: %s", name, index,
				(unsigned long long)ri.size, strerror(errno));
	dev->bars[index] = (struct uvi_bar){ .base = base, .len = ri.size };
	return 0;
}

const struct uvi_pci_backend uvi_pci_backend_vfio = {
	.name = "vfio",
	.dma_addressing = VIOMMU_ADDR_PHYSICAL,
	.open = vfio_open,
	.close = vfio_close,
	.cfg_read = vfio_cfg_read,
	.cfg_write = vfio_cfg_write,
	.bar_map = vfio_bar_map,
};
