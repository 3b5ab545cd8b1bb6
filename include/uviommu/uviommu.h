/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_UVIOMMU_H
#define UVIOMMU_UVIOMMU_H

/* Umbrella header: everything an application needs. */
#include <uviommu/error.h>
#include <uviommu/iova.h>
#include <uviommu/mem.h>
#include <uviommu/pci.h>
#include <uviommu/pci_addr.h>
#include <uviommu/topology.h>
#include <uviommu/viommu.h>

#endif
