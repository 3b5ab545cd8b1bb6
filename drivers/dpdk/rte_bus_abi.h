/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_DPDK_RTE_BUS_ABI_H
#define UVIOMMU_DPDK_RTE_BUS_ABI_H

/*
 * The one piece of DPDK's internal ABI the plugin depends on: a bus of its
 * own, so that EAL calls it back at two points of rte_eal_init() that no
 * public API reaches (doc/dpdk.md, "How the plugin gets control").
 *
 * Debian's libdpdk-dev ships no driver-SDK headers (bus_driver.h), so the
 * layout is declared here. It is DPDK 22.11's, read from the offsets that
 * librte_eal.so.23 (22.11.11) itself uses: rte_bus_register() checks
 * scan @0x18, probe @0x20, find_device @0x28, plug @0x30 and unplug @0x38;
 * rte_bus_get_iommu_class() calls @0x68; the cleanup in rte_eal_cleanup()
 * calls @0x88. ABI 23 also covers DPDK 23.03 and 23.07, whose internal
 * layout is not promised to be the same, so the plugin checks rte_version()
 * before it registers anything (plugin.c) and meson builds it only against
 * 22.11.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_bus.h>
#include <rte_dev.h>

struct uvi_rte_bus_2211 {
	struct uvi_rte_bus_2211 *next_le, **prev_le; /* RTE_TAILQ_ENTRY */
	const char *name;
	int (*scan)(void);
	int (*probe)(void);
	struct rte_device *(*find_device)(const struct rte_device *start, rte_dev_cmp_t cmp,
					  const void *data);
	void *plug, *unplug, *parse, *devargs_parse, *dma_map, *dma_unmap;
	struct {
		int scan_mode;
	} conf;
	enum rte_iova_mode (*get_iommu_class)(void);
	void *dev_iterate, *hot_unplug_handler, *sigbus_handler;
	int (*cleanup)(void);
};

_Static_assert(offsetof(struct uvi_rte_bus_2211, scan) == 0x18, "DPDK 22.11 rte_bus.scan");
_Static_assert(offsetof(struct uvi_rte_bus_2211, get_iommu_class) == 0x68,
	       "DPDK 22.11 rte_bus.get_iommu_class");
_Static_assert(offsetof(struct uvi_rte_bus_2211, cleanup) == 0x88, "DPDK 22.11 rte_bus.cleanup");

/* Exported by librte_eal.so.23 under the symbol version INTERNAL. */
void rte_bus_register(struct rte_bus *bus);

#endif
