/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plugin's life cycle inside rte_eal_init() (doc/dpdk.md):
 *
 *   constructor  (EAL loads the -d library in eal_plugins_init(): no memory,
 *                no bus scanned yet) read UVIOMMU, register the telemetry
 *                commands and a bus of our own.
 *   bus scan     (after the interrupt and alarm threads, before any memory
 *                and before any PMD has touched a device) open the
 *                virtio-iommu, which blocks every unattached endpoint, attach
 *                each NIC to an empty domain, and register the memory event
 *                callback, so that no byte of DPDK memory exists unseen.
 *   bus probe    (after memory and the heap; before rte_eal_init() returns,
 *                so before the application can start a port) map the memory
 *                DPDK has by now.
 *   ports probe  (a second bus, registered at the end of our scan so that it
 *                comes after the PCI bus) check that every ethdev port on PCI
 *                is isolated, watch for new ports, start the fault poller.
 *   bus cleanup  (rte_eal_cleanup()) stop the poller, log the figures, close
 *                the device: the NICs stay blocked.
 *
 * Fail closed: in strict mode (the default) a failure in scan or probe stops
 * the application with rte_exit() before any port can start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_version.h>

#include "dpdk_internal.h"
#include "rte_bus_abi.h"

#define DPDK_SERIES "DPDK 22.11."

struct uvi_dpdk uvi_dpdk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static int logtype = RTE_LOGTYPE_EAL;

uint64_t uvi_dpdk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void uvi_dpdk_log(unsigned level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rte_log(level, logtype, UVI_DPDK_LOG_PREFIX "%s\n", line);
}

void uvi_dpdk_setup_error(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&uvi_dpdk.c.setup_errors, 1);
	uvi_dpdk_log(RTE_LOG_ERR, "ISOLATION FAILED: %s", line);
}

/*
 * A failure that leaves a NIC without isolation. Strict: stop here, before
 * any port can start. Permissive: go on; what failed stays blocked (the
 * device refuses the DMA of an endpoint attached nowhere, and of any IOVA
 * not mapped).
 */
static void fail_closed(const char *what)
{
	if (uvi_dpdk.opts.mode == UVI_DPDK_STRICT)
		rte_exit(EXIT_FAILURE, UVI_DPDK_LOG_PREFIX "%s; stopping before any port starts "
			 "(UVIOMMU=mode=permissive keeps the application running with the NIC "
			 "blocked)\n", what);
	uvi_dpdk_log(RTE_LOG_ERR, "%s; going on because mode=permissive: the NIC stays blocked",
		     what);
}

static struct uvi_rte_bus_2211 uvi_ports_bus;

static int open_device(void)
{
	const struct uvi_dpdk_opts *o = &uvi_dpdk.opts;
	struct viommu_open_opts vo = {
		.device = o->iommu[0] ? o->iommu : NULL,
		.access = o->access,
		.viot_path = o->viot[0] ? o->viot : NULL,
		.topology_path = o->topology[0] ? o->topology : NULL,
	};
	struct viommu_dev_info info;
	int rc;

	rc = viommu_open(&vo, &uvi_dpdk.dev);
	if (rc)
		return rc;
	rc = viommu_get_info(uvi_dpdk.dev, &info);
	if (!rc && !info.unattached_blocked)
		rc = -EPERM;
	if (!rc)
		rc = viommu_batch_create(uvi_dpdk.dev, UVI_DPDK_BATCH, VIOMMU_BATCH_COALESCE_UNMAP,
					 &uvi_dpdk.batch);
	if (rc) {
		if (rc == -EPERM)
			uvi_dpdk_setup_error("%s: %s", info.device, info.isolation);
		viommu_close(uvi_dpdk.dev);
		uvi_dpdk.dev = NULL;
		return rc;
	}
	uvi_dpdk.granule = info.granule;
	uvi_dpdk_log(RTE_LOG_INFO, "virtio-iommu %s through %s, %s rings, granule %#" PRIx64
		     ": %s", info.device, info.access, info.ring, info.granule, info.isolation);
	return 0;
}

static void run_unprotected(const char *why)
{
	uvi_dpdk_log(RTE_LOG_WARNING, "*** NO DMA ISOLATION *** %s; running unprotected because "
		     "UVIOMMU has allow_unprotected=1", why);
}

static int bus_scan(void)
{
	char why[400];
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		uvi_dpdk_log(RTE_LOG_INFO, "secondary process: the primary owns isolation");
		return 0;
	}
	if (!uvi_dpdk.options_ok)
		rte_exit(EXIT_FAILURE, UVI_DPDK_LOG_PREFIX "UVIOMMU: %s\n", uvi_dpdk.options_error);
	rc = open_device();
	if (rc) {
		snprintf(why, sizeof(why), "cannot open the virtio-iommu: %s", viommu_last_error());
		if (uvi_dpdk.opts.allow_unprotected) {
			run_unprotected(why);
			return 0;
		}
		atomic_fetch_add(&uvi_dpdk.c.setup_errors, 1);
		rte_exit(EXIT_FAILURE, UVI_DPDK_LOG_PREFIX "%s; no NIC can be isolated, stopping "
			 "(UVIOMMU=allow_unprotected=1 runs without isolation)\n", why);
	}
	if (uvi_dpdk_install_fault_handler() || uvi_dpdk_watch_memory())
		rte_exit(EXIT_FAILURE, UVI_DPDK_LOG_PREFIX "%s\n", viommu_dpdk_last_error());
	uvi_dpdk.isolated = true;
	if (uvi_dpdk_select_nics())
		fail_closed(viommu_dpdk_last_error());
	rte_bus_register((struct rte_bus *)&uvi_ports_bus);
	return 0;
}

static void log_summary(void)
{
	struct viommu_dpdk_stats st;
	unsigned i;

	viommu_dpdk_get_stats(&st);
	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		const struct uvi_dpdk_nic *n = &uvi_dpdk.nics[i];

		uvi_dpdk_log(RTE_LOG_INFO, "%s: endpoint %u, %s domain %u, port %d", n->name,
			     n->endpoint_id, n->attached ? "isolated in" : "BLOCKED, not in",
			     n->dom ? viommu_domain_id(n->dom) : 0, n->port);
	}
	uvi_dpdk_log(RTE_LOG_INFO, "%u NIC(s) in %u domain(s); %u mappings of %" PRIu64
		     " MiB, mapped in %.3f ms", st.nics, st.domains, st.mappings,
		     st.mapped_bytes >> 20, (double)st.startup_map_ns / 1e6);
}

static int bus_probe(void)
{
	if (!uvi_dpdk.isolated)
		return 0;
	if (rte_eal_iova_mode() != RTE_IOVA_PA && strcmp(uvi_dpdk.opts.access, "sim") != 0) {
		uvi_dpdk_setup_error("DPDK runs with IOVA as virtual addresses (--iova-mode=va or "
				     "no physical addresses): this plugin maps IOVA = physical "
				     "address only; run with --iova-mode=pa");
		fail_closed("IOVA mode is not PA");
	}
	if (uvi_dpdk_map_startup_memory())
		fail_closed(viommu_dpdk_last_error());
	uvi_dpdk.probed = true;
	return 0;
}

/* The second bus: probed after every other bus but vdev, so after the PCI probe. */
static int ports_probe(void)
{
	if (!uvi_dpdk.isolated)
		return 0;
	if (uvi_dpdk_check_ports())
		fail_closed(viommu_dpdk_last_error());
	if (uvi_dpdk_watch_new_ports() || uvi_dpdk_start_fault_poller())
		fail_closed(viommu_dpdk_last_error());
	log_summary();
	return 0;
}

static int ports_scan(void)
{
	return 0;
}

static struct rte_device *bus_find_device(const struct rte_device *start, rte_dev_cmp_t cmp,
					  const void *data)
{
	(void)start;
	(void)cmp;
	(void)data;
	return NULL; /* the buses have no devices: they are only hooks */
}

/*
 * Registered from bus_scan, when every plugin is loaded and so every bus
 * registered: it lands at the tail of EAL's list, behind the PCI bus even
 * when EAL loaded that one from its driver directory after this plugin
 * (whose own bus then comes first: an application that links the plugin).
 */
static struct uvi_rte_bus_2211 uvi_ports_bus = {
	.name = "uviommu_ports",
	.scan = ports_scan,
	.probe = ports_probe,
	.find_device = bus_find_device,
};

/* No NIC is attached any more, and no pointer to a domain outlives its device. */
static void forget_domains(void)
{
	unsigned i;

	for (i = 0; i < uvi_dpdk.n_nics; i++) {
		uvi_dpdk.nics[i].dom = NULL;
		uvi_dpdk.nics[i].attached = false;
	}
	uvi_dpdk.shared = NULL;
}

static int bus_cleanup(void)
{
	struct viommu_dpdk_stats st;

	if (!uvi_dpdk.isolated)
		return 0;
	uvi_dpdk_stop_fault_poller();
	viommu_dpdk_get_stats(&st);
	uvi_dpdk_log(RTE_LOG_INFO, "stats: nics=%u domains=%u mappings=%u mapped_mib=%" PRIu64
		     " mappings_created=%" PRIu64 " splits=%" PRIu64 " alloc_events=%" PRIu64
		     " free_events=%" PRIu64 " map_errors=%" PRIu64 " unmap_errors=%" PRIu64
		     " setup_errors=%" PRIu64 " startup_map_ms=%.3f map_ms=%.3f faults=%" PRIu64,
		     st.nics, st.domains, st.mappings, st.mapped_bytes >> 20,
		     st.mappings_created, st.splits, st.alloc_events, st.free_events,
		     st.map_errors, st.unmap_errors, st.setup_errors,
		     (double)st.startup_map_ns / 1e6, (double)st.map_ns / 1e6, st.faults);
	pthread_mutex_lock(&uvi_dpdk.lock);
	uvi_dpdk.isolated = false;
	viommu_batch_destroy(uvi_dpdk.batch);
	uvi_dpdk.batch = NULL;
	viommu_close(uvi_dpdk.dev); /* detaches and resets; bypass stays 0: NICs stay blocked */
	uvi_dpdk.dev = NULL;
	forget_domains(); /* viommu_close freed them */
	pthread_mutex_unlock(&uvi_dpdk.lock);
	return 0;
}

static struct uvi_rte_bus_2211 uvi_bus = {
	.name = "uviommu",
	.scan = bus_scan,
	.probe = bus_probe,
	.find_device = bus_find_device,
	.cleanup = bus_cleanup,
};

RTE_INIT(uvi_dpdk_constructor)
{
	const char *env = getenv("UVIOMMU");
	int t = rte_log_register_type_and_pick_level("pmd.uviommu", RTE_LOG_INFO);

	if (t >= 0)
		logtype = t;
	uvi_dpdk.options_ok = uvi_dpdk_parse_options(env ? env : "", &uvi_dpdk.opts,
						     uvi_dpdk.options_error,
						     sizeof(uvi_dpdk.options_error)) == 0;
	if (strncmp(rte_version(), DPDK_SERIES, strlen(DPDK_SERIES)) != 0)
		rte_exit(EXIT_FAILURE, UVI_DPDK_LOG_PREFIX "built for " DPDK_SERIES "x, loaded into "
			 "%s: its bus hook depends on 22.11's internal layout, so it cannot "
			 "isolate anything here; rebuild it against this DPDK\n", rte_version());
	uvi_dpdk_register_telemetry();
	rte_bus_register((struct rte_bus *)&uvi_bus);
}
