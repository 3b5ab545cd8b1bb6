/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports that come and go after start-up.
 *
 * Probed (rte_dev_probe, testpmd's "port attach"): DPDK 22.11 raises the
 * port's NEW event from rte_eth_dev_probing_finish() while the port is not
 * valid yet (rte_ethdev.h: too early to query it), so the port cannot say
 * which PCI function it is. EAL can: rte_dev_probe() inserts the
 * function's device arguments before probing it, and the PCI bus marks the
 * device probed only once its driver's probe returned. So the functions
 * being probed are those with an allowing device argument, a device on the
 * PCI bus that is not probed yet, and a userspace driver bound. A port
 * closed earlier keeps its device probed; a function a kernel driver owns
 * has no userspace driver: neither is taken. Each is isolated (when
 * devices= takes it) before the application can start the port.
 *
 * Released (rte_eth_dev_close, hot-unplug): the port is still valid during
 * its DESTROY event. Its NIC is detached, so that whatever drives the
 * function next reaches nothing through DPDK's mappings, unless another
 * port still runs on the same function (multi-port devices,
 * representors).
 */
#include <errno.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "dpdk_internal.h"
#include "rte_bus_abi.h"

#define MAX_PROBING 8

static int name_differs(const struct rte_device *dev, const void *name)
{
	return strcmp(rte_dev_name(dev), name);
}

/* Whether the PCI bus has a device of that name that is not probed yet. */
static bool being_probed(const char *name)
{
	struct uvi_rte_bus_2211 *pci = (struct uvi_rte_bus_2211 *)rte_bus_find_by_name("pci");
	const struct rte_device *dev = pci ? pci->find_device(NULL, name_differs, name) : NULL;

	return dev && !rte_dev_is_probed(dev);
}

static bool has_userspace_driver(struct viommu_pci_addr a, const struct viommu_pci_func *f,
				 size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (uvi_dpdk_same_func(f[i].addr, a))
			return uvi_dpdk_userspace_driver(f[i].driver);
	return false;
}

/* Of funcs[0 .. n - 1], keep those bound to a userspace driver; returns how many. */
static unsigned keep_userspace_bound(struct viommu_pci_addr *funcs, unsigned n)
{
	struct viommu_pci_func *f;
	size_t count;
	unsigned i, kept = 0;

	if (n == 0 || viommu_pci_scan(&f, &count))
		return 0;
	for (i = 0; i < n; i++)
		if (has_userspace_driver(funcs[i], f, count))
			funcs[kept++] = funcs[i];
	viommu_pci_scan_free(f);
	return kept;
}

/* The functions DPDK may be probing now (see above), at most max; returns how many. */
static unsigned probing_functions(struct viommu_pci_addr *out, unsigned max)
{
	struct rte_devargs *da;
	unsigned n = 0;

	RTE_EAL_DEVARGS_FOREACH("pci", da) {
		struct viommu_pci_addr a;

		if (da->policy == RTE_DEV_ALLOWED && !viommu_pci_addr_parse(da->name, &a) &&
		    being_probed(da->name) && n < max)
			out[n++] = a;
	}
	return keep_userspace_bound(out, n); /* the sysfs scan only when there is a candidate */
}

/* Isolate function a, which may be port port_id's (sure: it is). uvi_dpdk.lock held. */
static void isolate_new_function(struct viommu_pci_addr a, uint16_t port_id, bool sure)
{
	struct uvi_dpdk_nic *n = uvi_dpdk_find_nic(a);
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int rc;

	viommu_pci_addr_format(a, name, sizeof(name));
	if (n && n->attached)
		return;
	rc = uvi_dpdk_selected(a) ? uvi_dpdk_add_nic(a, &n) : -EPERM;
	if (!rc)
		rc = uvi_dpdk_attach_nic(n); /* refuses a NIC blocked for good (memmap.c) */
	if (rc) {
		uvi_dpdk_setup_error("new port %u (%s): %s; not isolated", port_id, name,
				     rc == -EPERM ? "not among the selected devices (devices=)"
						  : viommu_dpdk_last_error());
		return;
	}
	if (sure)
		n->port = port_id;
	uvi_dpdk_log(RTE_LOG_INFO, "new port %u (%s): isolated in domain %u", port_id, n->name,
		     viommu_domain_id(n->dom));
}

static int on_new_port(uint16_t port_id, enum rte_eth_event_type event, void *arg, void *ret)
{
	struct viommu_pci_addr funcs[MAX_PROBING];
	unsigned i, n;

	(void)event;
	(void)arg;
	(void)ret;
	pthread_mutex_lock(&uvi_dpdk.lock);
	n = uvi_dpdk.isolated ? probing_functions(funcs, MAX_PROBING) : 0;
	for (i = 0; i < n; i++)
		isolate_new_function(funcs[i], port_id, n == 1);
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return 0;
}

/* A valid port other than port_id on function a, or -1. */
static int other_port_on(struct viommu_pci_addr a, uint16_t port_id)
{
	struct viommu_pci_addr b;
	uint16_t p;

	RTE_ETH_FOREACH_DEV(p)
		if (p != port_id && uvi_dpdk_port_addr(p, &b) == 0 && uvi_dpdk_same_func(a, b))
			return p;
	return -1;
}

static void detach_released(struct uvi_dpdk_nic *n, uint16_t port_id)
{
	int other = other_port_on(n->addr, port_id);

	if (other >= 0) {
		n->port = other; /* the function still has a running port */
		return;
	}
	if (viommu_detach(n->dom, n->addr) == 0) {
		n->attached = false;
		uvi_dpdk_log(RTE_LOG_INFO, "port %u (%s) released: detached, its DMA is blocked",
			     port_id, n->name);
	} else {
		uvi_dpdk_setup_error("port %u (%s) released, but the detach failed: %s", port_id,
				     n->name, viommu_last_error());
	}
}

static int on_port_released(uint16_t port_id, enum rte_eth_event_type event, void *arg,
			    void *ret)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct viommu_pci_addr a;
	bool named;
	unsigned i;

	(void)event;
	(void)arg;
	(void)ret;
	/* A one-port PCI device's port has its function's name. */
	named = rte_eth_dev_get_name_by_port(port_id, name) == 0 &&
		viommu_pci_addr_parse(name, &a) == 0;
	pthread_mutex_lock(&uvi_dpdk.lock);
	for (i = 0; uvi_dpdk.isolated && i < uvi_dpdk.n_nics; i++) {
		struct uvi_dpdk_nic *n = &uvi_dpdk.nics[i];
		bool its = n->port == (int)port_id || (named && uvi_dpdk_same_func(n->addr, a));

		if (!its)
			continue;
		if (n->port == (int)port_id)
			n->port = -1; /* port IDs are reused */
		if (n->attached)
			detach_released(n, port_id);
	}
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return 0;
}

int uvi_dpdk_watch_new_ports(void)
{
	int rc = rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_NEW, on_new_port, NULL);

	if (!rc)
		rc = rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_DESTROY,
						   on_port_released, NULL);
	return rc ? uvi_dpdk_fail(rc, "rte_eth_dev_callback_register: %s", strerror(-rc)) : 0;
}
