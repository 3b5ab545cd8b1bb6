/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_DPDK_H
#define UVIOMMU_DPDK_H

/*
 * Isolated DMA for DPDK applications: the API of librte_uviommu.so.
 *
 * The same library is the plugin that unmodified applications load with
 * the EAL option -d (doc/dpdk.md): it opens the virtio-iommu, attaches
 * every NIC DPDK will use to an isolated domain before EAL memory exists,
 * maps exactly DPDK's memory (IOVA = physical address) and polls for
 * faults. Options come from the environment variable UVIOMMU.
 *
 * Applications that link the library get, in addition, the calls below.
 * They are valid after rte_eal_init() returned; before it, or when the
 * plugin runs without isolation (UVIOMMU=...,allow_unprotected=1 and no
 * device), the calls that act (isolating, mapping and unmapping external
 * memory) fail with -ENODEV, viommu_dpdk_get_stats() reports isolated = 0
 * and viommu_dpdk_get_port_stats() fails with -ENOENT (no port is
 * isolated). Every call returns 0 (or a count) or a negative errno, with a
 * sentence for viommu_dpdk_last_error().
 *
 * This header includes no DPDK header: a port is a DPDK port ID.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Isolate one more device (its PCI address "SSSS:BB:DD.F", or a port's
 * device): attach it to the shared domain, or to a new domain holding
 * every mapping the plugin keeps. Call it before the port starts.
 * Isolating a device that is isolated already is a no-op.
 */
int viommu_dpdk_isolate_device(const char *pci_addr);
int viommu_dpdk_isolate_port(uint16_t port_id);

/*
 * External memory (rte_extmem_register() users): make [iova, iova + len)
 * reachable by every isolated NIC, as an identity mapping (DPDK runs in
 * IOVA-as-PA mode: iova is the physical address). iova and len must be
 * multiples of the IOMMU's granule; the range must not overlap memory the
 * plugin maps already (-EEXIST). Unmap exactly what was mapped, before the
 * memory is released.
 */
int viommu_dpdk_map_extmem(uint64_t iova, uint64_t len);
int viommu_dpdk_unmap_extmem(uint64_t iova, uint64_t len);

struct viommu_dpdk_stats {
	uint32_t isolated;          /* 1: isolation is on */
	uint32_t nics;              /* attached NICs */
	uint32_t domains;
	uint32_t mappings;          /* live mappings (the same set in every domain) */
	uint64_t mapped_bytes;      /* bytes they cover */
	uint64_t mappings_created;  /* mappings made since start (each counted once) */
	uint64_t mappings_removed;
	uint64_t splits;            /* mappings split because DPDK freed part of one */
	uint64_t alloc_events, free_events;
	uint64_t map_errors;        /* MAPs refused: that memory stays unreachable */
	uint64_t unmap_errors;      /* UNMAPs refused: the domain's NICs were blocked */
	uint64_t setup_errors;      /* isolation set-up failures (start-up, hot-plug) */
	uint64_t startup_map_ns;    /* mapping the memory present at the end of EAL init */
	uint64_t map_ns;            /* all time spent mapping and unmapping */
	uint64_t faults;            /* DMA faults reported by the IOMMU */
	uint64_t faults_unknown;    /* ... from endpoints that are not our NICs */
};
int viommu_dpdk_get_stats(struct viommu_dpdk_stats *stats);

struct viommu_dpdk_port_stats {
	char device[16];            /* "SSSS:BB:DD.F" */
	uint32_t endpoint_id;
	uint32_t domain_id;
	uint64_t faults;
	uint64_t last_fault_iova;   /* valid when faults != 0 */
	uint32_t last_fault_flags;  /* VIOMMU_FAULT_* */
	uint8_t last_fault_reason;  /* VIOMMU_FAULT_REASON_* */
};
/* -ENOENT if the port's device is not isolated. */
int viommu_dpdk_get_port_stats(uint16_t port_id, struct viommu_dpdk_port_stats *stats);

/* The sentence of the last failure of this thread. */
const char *viommu_dpdk_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
