/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which virtio-iommu to open, through which access backend, and the
 * topology that gives its endpoints' IDs.
 *
 * The software device is used only when named: "auto" looks at the kernel
 * driver bound to the function and never falls back to it, because a
 * silent fallback would look like isolation and be none.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <uviommu/pci.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/pci/sysfs.h"
#include "../sim/sim.h"
#include "dev.h"

#define SIM_DEFAULT_ADDR { 0, VIOMMU_BDF(0, 2, 0) } /* where QEMU's q35 puts it */

static bool is_sim(const char *access)
{
	return access && strcmp(access, "sim") == 0;
}

static bool is_auto(const char *access)
{
	return !access || strcmp(access, "auto") == 0;
}

/* A topology only from the paths given; for real devices also the firmware's VIOT. */
static int load_topology(const struct viommu_open_opts *o, struct viommu_topology **topo)
{
	*topo = NULL;
	if (o->topology_path)
		return viommu_topology_load_text(o->topology_path, topo);
	if (o->viot_path)
		return viommu_topology_load_viot(o->viot_path, topo);
	if (is_sim(o->access) || access(VIOMMU_VIOT_SYSFS_PATH, R_OK) != 0)
		return 0; /* no VIOT: endpoint IDs must then be given raw */
	return viommu_topology_load_viot(NULL, topo);
}

static int only_topology_iommu(const struct viommu_topology *topo, struct viommu_pci_addr *out)
{
	size_t found = 0;

	for (size_t i = 0; i < topo->n_iommus; i++) {
		if (topo->iommus[i].type != VIOMMU_NODE_VIRTIO_PCI_IOMMU)
			continue;
		if (!found++)
			*out = topo->iommus[i].pci;
	}
	if (found == 1)
		return 0;
	if (!found)
		return uvi_fail(-ENODEV, "the topology lists no virtio-pci IOMMU: give the "
				"device's address (SSSS:BB:DD.F)");
	return uvi_fail(-EINVAL, "the topology lists %zu virtio-pci IOMMUs: give the address of "
			"the one to open ('uviommu-info devices' lists them)", found);
}

static int only_scanned_iommu(struct viommu_pci_addr *out)
{
	struct viommu_pci_func *funcs;
	size_t count, found = 0;
	int rc = viommu_pci_scan(&funcs, &count);

	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++)
		if (viommu_pci_is_virtio_iommu(&funcs[i]) && !found++)
			*out = funcs[i].addr;
	viommu_pci_scan_free(funcs);
	if (found == 1)
		return 0;
	if (!found)
		return uvi_fail(-ENODEV, "no virtio-iommu (PCI 1af4:1057) on this machine: start "
				"the VM with -device virtio-iommu-pci");
	return uvi_fail(-EINVAL, "%zu virtio-iommu functions on this machine: give the address "
			"of the one to open ('uviommu-info devices' lists them)", found);
}

static int choose_address(const struct viommu_open_opts *o, const struct viommu_topology *topo,
			  struct viommu_pci_addr *out)
{
	static const struct viommu_pci_addr sim_default = SIM_DEFAULT_ADDR;

	if (o->device)
		return viommu_pci_addr_parse(o->device, out);
	if (is_sim(o->access)) {
		*out = sim_default;
		return 0;
	}
	return topo ? only_topology_iommu(topo, out) : only_scanned_iommu(out);
}

/* "auto": the backend that matches the kernel driver the function is bound to. */
static int auto_backend(struct viommu_pci_addr addr, const struct uvi_pci_backend **out)
{
	char name[VIOMMU_PCI_ADDR_STRLEN], driver[UVI_DRIVER_NAME_MAX];
	int rc = uvi_pci_sysfs_check_present(addr);

	if (!rc)
		rc = uvi_pci_sysfs_driver(addr, driver, sizeof(driver));
	if (rc)
		return rc;
	if (strcmp(driver, "vfio-pci") == 0)
		*out = &uvi_pci_backend_vfio;
	else if (strcmp(driver, "uio_pci_generic") == 0)
		*out = &uvi_pci_backend_uio;
	else
		*out = NULL;
	if (*out)
		return 0;
	viommu_pci_addr_format(addr, name, sizeof(name));
	return uvi_fail(-ENODEV, "%s is %s%s, which gives userspace no access: run "
			"'uviommu-info bind %s --driver uio' (or --driver vfio with vfio's "
			"no-IOMMU mode)", name, driver[0] ? "bound to " : "bound to no driver",
			driver, name);
}

static int choose_backend(const char *access, struct viommu_pci_addr addr,
			  const struct uvi_pci_backend **out)
{
	if (is_auto(access))
		return auto_backend(addr, out);
	if (is_sim(access)) {
		*out = &uvi_sim_backend;
		return 0;
	}
	if (strcmp(access, "vfio") != 0 && strcmp(access, "uio") != 0)
		return uvi_fail(-EINVAL, "unknown access '%s' (auto, vfio, uio or sim)", access);
	*out = uvi_pci_backend_by_name(access);
	return 0;
}

static size_t our_iommu_index(const struct viommu_topology *topo, struct viommu_pci_addr addr)
{
	int index = topo ? viommu_topology_find_pci_iommu(topo, addr) : -ENOENT;

	return index < 0 ? SIZE_MAX : (size_t)index;
}

int uvi_select(const struct viommu_open_opts *o, struct uvi_selection *sel)
{
	struct viommu_topology *topo;
	int rc = load_topology(o, &topo);

	if (!rc)
		rc = choose_address(o, topo, &sel->addr);
	if (!rc)
		rc = choose_backend(o->access, sel->addr, &sel->backend);
	if (rc) {
		viommu_topology_free(topo);
		return rc;
	}
	sel->topo = topo;
	sel->iommu_index = our_iommu_index(topo, sel->addr);
	return 0;
}
