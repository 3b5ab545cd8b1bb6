/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hand a PCI function to a userspace-access driver, as dpdk-devbind does:
 * load the module, name the driver in driver_override, unbind the current
 * driver, ask the kernel to probe, and check who took the function.
 * driver_override stays set so that a later probe (a module reload, a
 * rescan) gives the function back to the same driver.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uviommu/pci.h>

#include "../common/error_internal.h"
#include "modprobe.h"
#include "sysfs.h"

#define NOIOMMU_PARAM "module/vfio/parameters/enable_unsafe_noiommu_mode"

struct bind_target {
	const char *alias;  /* what users type */
	const char *driver; /* the kernel's PCI driver name */
	const char *module;
	bool needs_noiommu; /* functions without an IOMMU group need no-IOMMU mode */
	const char *refusal_hint; /* why the driver may refuse a function */
};

static const struct bind_target targets[] = {
	{ "uio", "uio_pci_generic", "uio_pci_generic", false,
	  " (uio_pci_generic refuses functions without INTx masking)" },
	{ "vfio", "vfio-pci", "vfio-pci", true, "" },
};

static const struct bind_target *find_target(const char *alias)
{
	for (size_t i = 0; alias && i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (strcmp(alias, targets[i].alias) == 0)
			return &targets[i];
	}
	return NULL;
}

static int load_driver(const struct bind_target *t)
{
	char path[UVI_PATH_MAX];
	int rc;

	if (uvi_pci_driver_loaded(t->driver))
		return 0;
	rc = uvi_modprobe(t->module);
	if (rc)
		return rc;
	if (uvi_pci_driver_loaded(t->driver))
		return 0;
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", uvi_sysfs_root, t->driver);
	return uvi_fail(-ENODEV, "'modprobe %s' succeeded but %s does not exist", t->module, path);
}

/*
 * Without an IOMMU group, vfio-pci takes a function only in no-IOMMU mode:
 * say so now rather than after a probe that fails with a line in dmesg.
 */
static int check_noiommu(struct viommu_pci_addr addr, const char *name)
{
	char path[UVI_PATH_MAX], value[8];

	uvi_pci_sysfs_path(addr, "iommu_group", path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/" NOIOMMU_PARAM, uvi_sysfs_root);
	if (uvi_sysfs_read_line(path, value, sizeof(value)))
		return uvi_fail(-ENOTSUP, "%s has no IOMMU and this kernel's vfio has no no-IOMMU "
				"mode (no %s; CONFIG_VFIO_NOIOMMU is off): use --driver uio or a "
				"kernel built with VFIO_NOIOMMU", name, path);
	if (value[0] == 'Y' || value[0] == '1')
		return 0;
	return uvi_fail(-ENOTSUP, "%s has no IOMMU and vfio's no-IOMMU mode is off: echo 1 > "
			"/sys/" NOIOMMU_PARAM " (or boot with vfio.enable_unsafe_noiommu_mode=1)",
			name);
}

static int write_attr(struct viommu_pci_addr addr, const char *attr, const char *text)
{
	char path[UVI_PATH_MAX];

	uvi_pci_sysfs_path(addr, attr, path, sizeof(path));
	return uvi_sysfs_write(path, text);
}

static int probe(const char *name)
{
	char path[UVI_PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", uvi_sysfs_root);
	return uvi_sysfs_write(path, name);
}

/* Clear the override and let the kernel probe again, so that the old driver gets it back. */
static void restore(struct viommu_pci_addr addr, const char *name)
{
	if (write_attr(addr, "driver_override", "\n") == 0)
		probe(name);
}

static int rebind(struct viommu_pci_addr addr, const char *name, const struct bind_target *t,
		  const char *current)
{
	char why[256];
	int rc;

	rc = write_attr(addr, "driver_override", t->driver);
	if (rc)
		return rc;
	if (current[0])
		rc = write_attr(addr, "driver/unbind", name);
	if (!rc)
		rc = probe(name);
	if (!rc)
		return 0;
	snprintf(why, sizeof(why), "%s", viommu_last_error());
	restore(addr, name);
	return uvi_fail(rc, "%s", why);
}

/* The new driver refused the function: undo, and say who has it now. */
static int refused(struct viommu_pci_addr addr, const char *name, const struct bind_target *t,
		   const char *before)
{
	char now[UVI_DRIVER_NAME_MAX] = "";

	uvi_pci_sysfs_driver(addr, now, sizeof(now));
	if (!now[0]) {
		restore(addr, name);
		uvi_pci_sysfs_driver(addr, now, sizeof(now));
	}
	return uvi_fail(-EIO, "%s did not take %s (it was bound to %s, now to %s): see dmesg%s",
			t->driver, name, before[0] ? before : "no driver", now[0] ? now : "none",
			t->refusal_hint);
}

int viommu_pci_bind(struct viommu_pci_addr addr, const char *driver)
{
	char name[VIOMMU_PCI_ADDR_STRLEN], before[UVI_DRIVER_NAME_MAX], after[UVI_DRIVER_NAME_MAX];
	const struct bind_target *t = find_target(driver);
	int rc;

	if (!t)
		return uvi_fail(-EINVAL, "cannot bind to driver '%s': give uio or vfio",
				driver ? driver : "(null)");
	viommu_pci_addr_format(addr, name, sizeof(name));
	rc = uvi_pci_sysfs_check_present(addr);
	if (!rc)
		rc = uvi_pci_sysfs_driver(addr, before, sizeof(before));
	if (rc || strcmp(before, t->driver) == 0)
		return rc;
	rc = load_driver(t);
	if (!rc && t->needs_noiommu)
		rc = check_noiommu(addr, name);
	if (!rc)
		rc = rebind(addr, name, t, before);
	if (!rc)
		rc = uvi_pci_sysfs_driver(addr, after, sizeof(after));
	if (rc)
		return rc;
	return strcmp(after, t->driver) == 0 ? 0 : refused(addr, name, t, before);
}
