/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI functions as sysfs shows them: presence, bound driver, NUMA node. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "sysfs.h"

const char *uvi_sysfs_root = "/sys";
const char *uvi_dev_root = "/dev";
const char *uvi_modprobe_path = "/sbin/modprobe";

void uvi_pci_sysfs_path(struct viommu_pci_addr addr, const char *file, char *buf, size_t size)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	viommu_pci_addr_format(addr, name, sizeof(name));
	snprintf(buf, size, "%s/bus/pci/devices/%s/%s", uvi_sysfs_root, name, file);
}

int uvi_pci_sysfs_check_present(struct viommu_pci_addr addr)
{
	char path[UVI_PATH_MAX], name[VIOMMU_PCI_ADDR_STRLEN];
	struct stat st;

	uvi_pci_sysfs_path(addr, "", path, sizeof(path));
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	viommu_pci_addr_format(addr, name, sizeof(name));
	return uvi_fail(-ENODEV, "PCI function %s does not exist (no %s): check the address "
			"with 'uviommu-info devices' or 'lspci -D'", name, path);
}

int uvi_pci_sysfs_driver(struct viommu_pci_addr addr, char *buf, size_t size)
{
	char path[UVI_PATH_MAX], target[UVI_PATH_MAX];
	const char *base;
	ssize_t n;

	uvi_pci_sysfs_path(addr, "driver", path, sizeof(path));
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			snprintf(buf, size, "%s", "");
			return 0;
		}
		return uvi_fail(-errno, "cannot read %s: %s", path, strerror(errno));
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, size, "%s", base ? base + 1 : target);
	return 0;
}

int uvi_pci_driver_loaded(const char *name)
{
	char path[UVI_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", uvi_sysfs_root, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int uvi_sysfs_read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return uvi_fail(-errno, "cannot open %s: %s", path, strerror(errno));
	if (!fgets(buf, (int)size, f)) {
		err = ferror(f) ? errno : 0;
		fclose(f);
		if (err)
			return uvi_fail(-err, "cannot read %s: %s", path, strerror(err));
		return uvi_fail(-EIO, "%s is empty", path);
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int uvi_pci_sysfs_numa_node(struct viommu_pci_addr addr)
{
	char path[UVI_PATH_MAX], line[32], *end;
	long node;

	uvi_pci_sysfs_path(addr, "numa_node", path, sizeof(path));
	if (uvi_sysfs_read_line(path, line, sizeof(line)))
		return -1;
	node = strtol(line, &end, 10);
	if (end == line || *end || node < 0 || node > 0xffff)
		return -1;
	return (int)node;
}

int uvi_open_checked(const char *path, int flags, const char *what)
{
	int fd = open(path, flags | O_CLOEXEC);
	int err = errno;

	if (fd >= 0)
		return fd;
	if (err == EACCES || err == EPERM)
		return uvi_fail(-err, "cannot open %s (%s): permission denied: run as root",
				path, what);
	return uvi_fail(-err, "cannot open %s (%s): %s", path, what, strerror(err));
}

int uvi_sysfs_write(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, err;

	fd = uvi_open_checked(path, O_WRONLY | O_TRUNC, "sysfs attribute");
	if (fd < 0)
		return fd;
	n = write(fd, text, len);
	err = errno;
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return uvi_fail(-EIO, "short write of '%s' to %s", text, path);
	if (err == EACCES || err == EPERM)
		return uvi_fail(-err, "writing '%s' to %s: permission denied: run as root",
				text, path);
	return uvi_fail(-err, "writing '%s' to %s failed: %s (see dmesg)", text, path,
			strerror(err));
}
