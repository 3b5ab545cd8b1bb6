/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry (dpdk-telemetry.py, or any client of the telemetry socket):
 *   /uviommu/stats   the plugin's counters (struct viommu_dpdk_stats)
 *   /uviommu/nics    one entry per NIC: device, endpoint, domain, port, faults
 * Registered from the constructor: the telemetry library keeps commands in
 * libc memory and serves them once EAL has started its socket.
 */
#include <stdio.h>

#include <rte_telemetry.h>

#include "dpdk_internal.h"

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct viommu_dpdk_stats st;

	(void)cmd;
	(void)params;
	viommu_dpdk_get_stats(&st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "isolated", st.isolated);
	rte_tel_data_add_dict_u64(d, "nics", st.nics);
	rte_tel_data_add_dict_u64(d, "domains", st.domains);
	rte_tel_data_add_dict_u64(d, "mappings", st.mappings);
	rte_tel_data_add_dict_u64(d, "mapped_bytes", st.mapped_bytes);
	rte_tel_data_add_dict_u64(d, "mappings_created", st.mappings_created);
	rte_tel_data_add_dict_u64(d, "mappings_removed", st.mappings_removed);
	rte_tel_data_add_dict_u64(d, "splits", st.splits);
	rte_tel_data_add_dict_u64(d, "alloc_events", st.alloc_events);
	rte_tel_data_add_dict_u64(d, "free_events", st.free_events);
	rte_tel_data_add_dict_u64(d, "map_errors", st.map_errors);
	rte_tel_data_add_dict_u64(d, "unmap_errors", st.unmap_errors);
	rte_tel_data_add_dict_u64(d, "setup_errors", st.setup_errors);
	rte_tel_data_add_dict_u64(d, "startup_map_ns", st.startup_map_ns);
	rte_tel_data_add_dict_u64(d, "map_ns", st.map_ns);
	rte_tel_data_add_dict_u64(d, "faults", st.faults);
	rte_tel_data_add_dict_u64(d, "faults_unknown", st.faults_unknown);
	return 0;
}

/*
 * A dict key from a PCI address: telemetry drops entries whose names hold
 * anything but letters, digits, '_' and '/' (DPDK 22.11, telemetry_data.c),
 * so "0000:00:03.0" becomes "port0"; the address is a value of its own.
 */
static void key_of(const struct uvi_dpdk_nic *n, unsigned i, char *key, size_t size)
{
	if (n->port >= 0)
		snprintf(key, size, "port%d", n->port);
	else
		snprintf(key, size, "nic%u", i);
}

/* Under uvi_dpdk.lock: a domain may go away with rte_eal_cleanup() otherwise. */
static int add_nics(struct rte_tel_data *d)
{
	char key[32];
	unsigned i;

	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		const struct uvi_dpdk_nic *n = &uvi_dpdk.nics[i];
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (!c)
			return -1;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_string(c, "device", n->name);
		rte_tel_data_add_dict_int(c, "port", n->port);
		rte_tel_data_add_dict_u64(c, "endpoint_id", n->endpoint_id);
		rte_tel_data_add_dict_u64(c, "domain_id", n->dom ? viommu_domain_id(n->dom) : 0);
		rte_tel_data_add_dict_u64(c, "attached", n->attached);
		rte_tel_data_add_dict_u64(c, "faults", atomic_load(&n->faults));
		rte_tel_data_add_dict_u64(c, "last_fault_iova", atomic_load(&n->last_fault_iova));
		key_of(n, i, key, sizeof(key));
		if (rte_tel_data_add_dict_container(d, key, c, 0))
			rte_tel_data_free(c);
	}
	return 0;
}

static int cmd_nics(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int rc;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&uvi_dpdk.lock);
	rc = add_nics(d);
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return rc;
}

void uvi_dpdk_register_telemetry(void)
{
	rte_telemetry_register_cmd("/uviommu/stats", cmd_stats,
				   "uviommu DMA isolation counters. Takes no parameters");
	rte_telemetry_register_cmd("/uviommu/nics", cmd_nics,
				   "uviommu isolated NICs and their faults. Takes no parameters");
}
