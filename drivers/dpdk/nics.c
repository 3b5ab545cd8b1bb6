/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NICs: which ones, their domains, and the check that DPDK drives no
 * PCI port the plugin has not isolated.
 *
 * devices=auto picks, at bus-scan time (before any PMD probes a device),
 * every PCI function that the topology puts behind our virtio-iommu, that
 * is bound to a userspace driver DPDK can use (uio_pci_generic, vfio-pci,
 * igb_uio) and that EAL's -a/-b lists leave to DPDK. Each is attached to
 * an empty domain at once: until its memory is mapped, the device refuses
 * all of its DMA.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "dpdk_internal.h"

static struct viommu_topology *topo;

static int load_topology(void)
{
	const struct uvi_dpdk_opts *o = &uvi_dpdk.opts;
	int rc;

	if (topo)
		return 0;
	rc = o->topology[0] ? viommu_topology_load_text(o->topology, &topo)
			    : viommu_topology_load_viot(o->viot[0] ? o->viot : NULL, &topo);
	return rc ? uvi_dpdk_fail(rc, "topology: %s", viommu_last_error()) : 0;
}

struct uvi_dpdk_nic *uvi_dpdk_find_nic(struct viommu_pci_addr addr)
{
	unsigned i;

	for (i = 0; i < uvi_dpdk.n_nics; i++)
		if (uvi_dpdk.nics[i].addr.segment == addr.segment &&
		    uvi_dpdk.nics[i].addr.bdf == addr.bdf)
			return &uvi_dpdk.nics[i];
	return NULL;
}

struct uvi_dpdk_nic *uvi_dpdk_nic_by_endpoint(uint32_t endpoint_id)
{
	unsigned i;

	for (i = 0; i < uvi_dpdk.n_nics; i++)
		if (uvi_dpdk.nics[i].endpoint_id == endpoint_id)
			return &uvi_dpdk.nics[i];
	return NULL;
}

/* A function of our IOMMU: its endpoint ID. */
static int endpoint_of(struct viommu_pci_addr addr, uint32_t *id)
{
	struct viommu_dev_info info;
	struct viommu_pci_addr iommu;
	struct viommu_endpoint_ref ref;
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int rc = load_topology();

	if (rc)
		return rc;
	viommu_pci_addr_format(addr, name, sizeof(name));
	rc = viommu_topology_lookup_pci(topo, addr, &ref);
	if (rc)
		return uvi_dpdk_fail(rc, "%s is not behind any virtio-iommu of the topology: it "
				     "cannot be isolated", name);
	viommu_get_info(uvi_dpdk.dev, &info);
	if (viommu_pci_addr_parse(info.device, &iommu) == 0 &&
	    viommu_topology_find_pci_iommu(topo, iommu) >= 0 &&
	    (size_t)viommu_topology_find_pci_iommu(topo, iommu) != ref.iommu_index)
		return uvi_dpdk_fail(-ENOENT, "%s is behind another virtio-iommu than %s", name,
				     info.device);
	*id = ref.endpoint_id;
	return 0;
}

int uvi_dpdk_add_nic(struct viommu_pci_addr addr, struct uvi_dpdk_nic **out)
{
	struct uvi_dpdk_nic *n = uvi_dpdk_find_nic(addr);
	uint32_t id;
	int rc;

	if (n) {
		*out = n;
		return 0;
	}
	if (uvi_dpdk.n_nics == UVI_DPDK_MAX_NICS)
		return uvi_dpdk_fail(-ENOSPC, "more than %d NICs", UVI_DPDK_MAX_NICS);
	rc = endpoint_of(addr, &id);
	if (rc)
		return rc;
	/* Filled before it is counted: the fault handler reads the table without the lock. */
	n = &uvi_dpdk.nics[uvi_dpdk.n_nics];
	n->addr = addr;
	viommu_pci_addr_format(addr, n->name, sizeof(n->name));
	n->endpoint_id = id;
	n->port = -1;
	atomic_thread_fence(memory_order_release);
	uvi_dpdk.n_nics++;
	*out = n;
	return 0;
}

static int domain_for(struct uvi_dpdk_nic *n, struct viommu_domain **out)
{
	int rc;

	if (uvi_dpdk.opts.shared_domain && uvi_dpdk.shared) {
		*out = uvi_dpdk.shared;
		return 0;
	}
	rc = viommu_domain_create(uvi_dpdk.dev, out);
	if (rc)
		return uvi_dpdk_fail(rc, "%s: no domain: %s", n->name, viommu_last_error());
	rc = uvi_dpdk_replay_into(*out); /* empty at bus scan; everything for a later NIC */
	if (rc) {
		viommu_domain_destroy(*out);
		return rc;
	}
	if (uvi_dpdk.opts.shared_domain)
		uvi_dpdk.shared = *out;
	return 0;
}

/* uvi_dpdk.lock held. */
int uvi_dpdk_attach_nic(struct uvi_dpdk_nic *n)
{
	int rc;

	if (n->attached)
		return 0;
	if (n->blocked)
		return uvi_dpdk_fail(-EIO, "%s stays blocked: an UNMAP in its domain failed, and "
				     "that domain may still map memory DPDK released", n->name);
	if (!n->dom) {
		rc = domain_for(n, &n->dom);
		if (rc)
			return rc;
	}
	rc = viommu_attach(n->dom, n->addr);
	if (rc)
		return uvi_dpdk_fail(rc, "%s: attach failed: %s", n->name, viommu_last_error());
	n->attached = true;
	return 0;
}

bool uvi_dpdk_userspace_driver(const char *driver)
{
	return !strcmp(driver, "uio_pci_generic") || !strcmp(driver, "vfio-pci") ||
	       !strcmp(driver, "igb_uio");
}

bool uvi_dpdk_same_func(struct viommu_pci_addr a, struct viommu_pci_addr b)
{
	return a.segment == b.segment && a.bdf == b.bdf;
}

/* What EAL's -a (allow) and -b (block) options say about addr. */
static bool eal_allows(struct viommu_pci_addr addr)
{
	const struct rte_devargs *da;
	bool any_allowed = false, listed = false;

	RTE_EAL_DEVARGS_FOREACH("pci", da) {
		struct viommu_pci_addr a;

		if (viommu_pci_addr_parse(da->name, &a)) /* also BB:DD.F, as -a takes it */
			continue;
		if (da->policy == RTE_DEV_ALLOWED)
			any_allowed = true;
		if (uvi_dpdk_same_func(a, addr))
			listed = true;
		if (uvi_dpdk_same_func(a, addr) && da->policy == RTE_DEV_BLOCKED)
			return false;
	}
	return !any_allowed || listed;
}

static int select_auto(void)
{
	struct viommu_pci_func *f;
	struct uvi_dpdk_nic *n;
	size_t i, count;
	int rc = viommu_pci_scan(&f, &count);

	if (rc)
		return uvi_dpdk_fail(rc, "PCI scan: %s", viommu_last_error());
	for (i = 0; i < count && !rc; i++) {
		uint32_t id;

		if (viommu_pci_is_virtio_iommu(&f[i]) || !uvi_dpdk_userspace_driver(f[i].driver) ||
		    !eal_allows(f[i].addr) || endpoint_of(f[i].addr, &id))
			continue;
		rc = uvi_dpdk_add_nic(f[i].addr, &n);
	}
	viommu_pci_scan_free(f);
	return rc;
}

int uvi_dpdk_select_nics(void)
{
	struct uvi_dpdk_nic *n;
	unsigned i;
	int rc = 0, first = 0;

	if (uvi_dpdk.opts.devices_auto)
		rc = select_auto();
	for (i = 0; !rc && i < uvi_dpdk.opts.n_devices; i++)
		rc = uvi_dpdk_add_nic(uvi_dpdk.opts.devices[i], &n);
	if (rc) {
		uvi_dpdk_setup_error("%s", viommu_dpdk_last_error());
		return rc;
	}
	if (uvi_dpdk.n_nics == 0)
		uvi_dpdk_log(RTE_LOG_WARNING, "no NIC selected (devices=auto found no function "
			     "behind the IOMMU bound to a userspace driver)");
	pthread_mutex_lock(&uvi_dpdk.lock);
	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		rc = uvi_dpdk_attach_nic(&uvi_dpdk.nics[i]);
		if (rc) {
			uvi_dpdk_setup_error("%s", viommu_dpdk_last_error());
			first = first ? first : rc;
		}
	}
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return first ? uvi_dpdk_fail(first, "not every NIC could be attached (see above)") : 0;
}

int uvi_dpdk_port_addr(uint16_t port_id, struct viommu_pci_addr *addr)
{
	struct rte_eth_dev_info info;
	const struct rte_bus *bus;
	int rc = rte_eth_dev_info_get(port_id, &info);

	if (rc)
		return uvi_dpdk_fail(rc, "port %u: no such port", port_id);
	bus = info.device ? rte_dev_bus(info.device) : NULL;
	if (!bus || strcmp(rte_bus_name(bus), "pci") != 0)
		return uvi_dpdk_fail(-ENOTSUP, "port %u is not a PCI device", port_id);
	if (viommu_pci_addr_parse(rte_dev_name(info.device), addr))
		return uvi_dpdk_fail(-EINVAL, "port %u: '%s' is not a PCI address", port_id,
				     rte_dev_name(info.device));
	return 0;
}

/* Every ethdev port on PCI must be an attached NIC: a port DMAs. */
int uvi_dpdk_check_ports(void)
{
	uint16_t p;
	int first = 0;

	RTE_ETH_FOREACH_DEV(p) {
		struct viommu_pci_addr a;
		struct uvi_dpdk_nic *n;
		char name[VIOMMU_PCI_ADDR_STRLEN] = "?";
		int rc = uvi_dpdk_port_addr(p, &a);

		if (rc == -ENOTSUP)
			continue; /* a virtual device: no DMA of its own */
		if (!rc)
			viommu_pci_addr_format(a, name, sizeof(name));
		n = rc ? NULL : uvi_dpdk_find_nic(a);
		if (n)
			n->port = p;
		if (n && n->attached)
			continue;
		uvi_dpdk_setup_error("port %u (%s) is driven by DPDK but not isolated%s", p, name,
				     n ? ": its attach failed" :
					 ": it is not among the selected devices (devices=)");
		first = first ? first : -EPERM;
	}
	return first ? uvi_dpdk_fail(first, "a DPDK port is not isolated (see above)") : 0;
}

/* Whether devices= takes the function (devices=auto: every one). */
bool uvi_dpdk_selected(struct viommu_pci_addr a)
{
	unsigned i;

	for (i = 0; i < uvi_dpdk.opts.n_devices; i++)
		if (uvi_dpdk_same_func(uvi_dpdk.opts.devices[i], a))
			return true;
	return uvi_dpdk.opts.devices_auto;
}

