/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_PCI_MODPROBE_H
#define UVIOMMU_PCI_MODPROBE_H

/*
 * Load a kernel module by running uvi_modprobe_path (/sbin/modprobe) with
 * its output captured; waits at most a bounded time. The message of a
 * failure carries modprobe's own output, or says that modprobe is missing.
 */
int uvi_modprobe(const char *module);

#endif
