/* SPDX-License-Identifier: BSD-3-Clause */
/* include/uviommu/dpdk.h: the calls for applications that link the plugin. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dpdk_internal.h"

static _Thread_local char last_error[512];

int uvi_dpdk_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return rc;
}

const char *viommu_dpdk_last_error(void)
{
	return last_error;
}

/* Checked under uvi_dpdk.lock by the calls that act: rte_eal_cleanup() may be running. */
static int need_isolation(void)
{
	if (!uvi_dpdk.isolated || !uvi_dpdk.probed)
		return uvi_dpdk_fail(-ENODEV, "isolation is not running (before rte_eal_init(), "
				     "after rte_eal_cleanup(), or without a virtio-iommu)");
	return 0;
}

/* port: the DPDK port the NIC is, or -1. */
static int isolate(struct viommu_pci_addr addr, int port)
{
	struct uvi_dpdk_nic *n;
	int rc;

	pthread_mutex_lock(&uvi_dpdk.lock);
	rc = need_isolation();
	if (!rc)
		rc = uvi_dpdk_add_nic(addr, &n);
	if (!rc)
		rc = uvi_dpdk_attach_nic(n);
	if (!rc && port >= 0)
		n->port = port;
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return rc;
}

int viommu_dpdk_isolate_device(const char *pci_addr)
{
	struct viommu_pci_addr a;

	if (!pci_addr || viommu_pci_addr_parse(pci_addr, &a))
		return uvi_dpdk_fail(-EINVAL, "'%s' is not a PCI address (SSSS:BB:DD.F)",
				     pci_addr ? pci_addr : "(null)");
	return isolate(a, -1);
}

int viommu_dpdk_isolate_port(uint16_t port_id)
{
	struct viommu_pci_addr a;
	int rc = need_isolation();

	if (!rc)
		rc = uvi_dpdk_port_addr(port_id, &a);
	if (!rc)
		rc = isolate(a, port_id);
	return rc;
}

static int check_range(uint64_t iova, uint64_t len)
{
	uint64_t g = uvi_dpdk.granule;

	if (len == 0 || iova + len < iova || (iova | len) & (g - 1))
		return uvi_dpdk_fail(-EINVAL, "%#" PRIx64 "+%#" PRIx64 ": not a non-empty range "
				     "aligned to the granule %#" PRIx64, iova, len, g);
	return 0;
}

/* Takes uvi_dpdk.lock, which the caller releases; then checks isolation and the range. */
static int lock_extmem(uint64_t iova, uint64_t len)
{
	int rc;

	pthread_mutex_lock(&uvi_dpdk.lock);
	rc = need_isolation();
	return rc ? rc : check_range(iova, len);
}

int viommu_dpdk_map_extmem(uint64_t iova, uint64_t len)
{
	struct uvi_dpdk_range r = { iova, len };
	int rc = lock_extmem(iova, len);

	if (!rc && uvi_dpdk_range_overlaps(iova, len))
		rc = uvi_dpdk_fail(-EEXIST, "%#" PRIx64 "+%#" PRIx64 " overlaps memory mapped "
				   "already", iova, len);
	if (!rc)
		rc = uvi_dpdk_map_ranges(&r, 1);
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return rc;
}

int viommu_dpdk_unmap_extmem(uint64_t iova, uint64_t len)
{
	int rc = lock_extmem(iova, len);

	if (!rc)
		rc = uvi_dpdk_unmap_range(iova, len, true);
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return rc;
}

int viommu_dpdk_get_stats(struct viommu_dpdk_stats *st)
{
	const struct uvi_dpdk_counters *c = &uvi_dpdk.c;
	unsigned i;

	if (!st)
		return uvi_dpdk_fail(-EINVAL, "stats: NULL");
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&uvi_dpdk.lock);
	st->isolated = uvi_dpdk.isolated;
	for (i = 0; i < uvi_dpdk.n_nics; i++)
		st->nics += uvi_dpdk.nics[i].attached;
	st->domains = uvi_dpdk_n_domains();
	st->mappings = (uint32_t)uvi_dpdk.n_maps;
	st->mapped_bytes = uvi_dpdk.mapped_bytes;
	pthread_mutex_unlock(&uvi_dpdk.lock);
	st->mappings_created = atomic_load(&c->mappings_created);
	st->mappings_removed = atomic_load(&c->mappings_removed);
	st->splits = atomic_load(&c->splits);
	st->alloc_events = atomic_load(&c->alloc_events);
	st->free_events = atomic_load(&c->free_events);
	st->map_errors = atomic_load(&c->map_errors);
	st->unmap_errors = atomic_load(&c->unmap_errors);
	st->setup_errors = atomic_load(&c->setup_errors);
	st->startup_map_ns = atomic_load(&c->startup_map_ns);
	st->map_ns = atomic_load(&c->map_ns);
	st->faults = atomic_load(&c->faults);
	st->faults_unknown = atomic_load(&c->faults_unknown);
	return 0;
}

int viommu_dpdk_get_port_stats(uint16_t port_id, struct viommu_dpdk_port_stats *st)
{
	struct viommu_pci_addr a;
	const struct uvi_dpdk_nic *n;
	int rc;

	if (!st)
		return uvi_dpdk_fail(-EINVAL, "port stats: NULL");
	rc = uvi_dpdk_port_addr(port_id, &a);
	if (rc)
		return rc;
	pthread_mutex_lock(&uvi_dpdk.lock);
	n = uvi_dpdk_find_nic(a);
	if (!n || !n->attached) {
		pthread_mutex_unlock(&uvi_dpdk.lock);
		return uvi_dpdk_fail(-ENOENT, "port %u is not isolated", port_id);
	}
	memset(st, 0, sizeof(*st));
	snprintf(st->device, sizeof(st->device), "%s", n->name);
	st->endpoint_id = n->endpoint_id;
	st->domain_id = viommu_domain_id(n->dom);
	st->faults = atomic_load(&n->faults);
	st->last_fault_iova = atomic_load(&n->last_fault_iova);
	st->last_fault_flags = atomic_load(&n->last_fault_flags);
	st->last_fault_reason = atomic_load(&n->last_fault_reason);
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return 0;
}
