/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_SYSFS_H
#define UVIOMMU_PCI_SYSFS_H

/*
 * What the kernel tells about a PCI function through sysfs, shared by the
 * access backends and the binding code. Every path is built from the roots
 * below so that the unit tests can point them at a fake tree (and at a
 * stand-in for modprobe); nothing else changes them.
 */

#include <stddef.h>

#include <uviommu/pci_addr.h>

#define UVI_PATH_MAX 256
#define UVI_DRIVER_NAME_MAX 64

extern const char *uvi_sysfs_root;    /* "/sys" */
extern const char *uvi_dev_root;      /* "/dev" */
extern const char *uvi_modprobe_path; /* "/sbin/modprobe" */

/* "<sysfs>/bus/pci/devices/SSSS:BB:DD.F/<file>" ("" file: the directory). */
void uvi_pci_sysfs_path(struct viommu_pci_addr addr, const char *file, char *buf, size_t size);

/* 0 if the function exists; -ENODEV with a message naming the fix otherwise. */
int uvi_pci_sysfs_check_present(struct viommu_pci_addr addr);

/* Name of the driver bound to addr into buf; "" when none. */
int uvi_pci_sysfs_driver(struct viommu_pci_addr addr, char *buf, size_t size);

/* 1 if the PCI driver called name is registered (its module is loaded), else 0. */
int uvi_pci_driver_loaded(const char *name);

/* NUMA node of addr from sysfs, -1 when unknown. */
int uvi_pci_sysfs_numa_node(struct viommu_pci_addr addr);

/* First line of a sysfs attribute, newline stripped. */
int uvi_sysfs_read_line(const char *path, char *buf, size_t size);

/* Write text to a sysfs attribute; the message names path and the fix. */
int uvi_sysfs_write(const char *path, const char *text);

/*
 * Open a file of a device; the message names what it is for and the fix
 * (root for EACCES). Returns the descriptor or a negative errno.
 */
int uvi_open_checked(const char *path, int flags, const char *what);

#endif
