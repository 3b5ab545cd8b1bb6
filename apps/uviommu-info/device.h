/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_INFO_DEVICE_H
#define UVIOMMU_INFO_DEVICE_H

/*
 * uviommu-info device: one virtio-iommu in detail. cmd_device.c gathers
 * the report (from the owner's snapshot, or by opening the device),
 * device_endpoints.c finds the endpoints behind it and device_print.c
 * renders the report as text or JSON.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uviommu/uviommu.h>

#include "../../drivers/iommu/owner.h"

#define DEVICE_MAX_NAMED 16 /* --endpoint options */

struct device_endpoint {
	struct viommu_pci_addr addr;
	uint32_t id;
	int n_resv;                       /* -1: not probed */
	struct viommu_resv_region *resv;  /* n_resv entries */
};

struct device_counters {
	uint64_t requests, request_errors, notifies;
	uint64_t faults, faults_dropped_malformed, resets;
};

struct device_report {
	char device[VIOMMU_PCI_ADDR_STRLEN];
	char access[8];
	char ring[8];
	bool owned;
	struct uvi_owner_state owner; /* owned: the snapshot, strings made printable */
	struct viommu_dev_info info;  /* not owned: what this tool's open found */
	uint64_t features_negotiated;
	uint8_t bypass;
	struct device_counters counters;
	const struct viommu_topology *topo; /* NULL: endpoint IDs unknown */
	size_t iommu_index;                 /* ours in topo; SIZE_MAX: not listed */
	struct device_endpoint *eps;
	size_t n_eps;
};

/*
 * The endpoints to show: the functions on this machine's PCI bus that the
 * topology puts behind the IOMMU (unless scan_bus is false) and the named
 * ones, without duplicates. A named function that is not behind it is an
 * error (-ENOENT, message on stderr).
 */
int device_endpoints_find(struct device_report *r, bool scan_bus,
			  const struct viommu_pci_addr *named, size_t n_named);
void device_endpoints_free(struct device_report *r);
/* The PCI function the topology gives endpoint id of our IOMMU; false if none. */
bool device_endpoint_address(const struct device_report *r, uint32_t id,
			     struct viommu_pci_addr *out);

void device_print_text(const struct device_report *r);
void device_print_json(const struct device_report *r);

#endif
