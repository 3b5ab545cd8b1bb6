/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Faults. An unmodified application never polls the IOMMU's event queue,
 * so an EAL control thread does (every poll_us, default 1 ms; the driver
 * keeps the queue full of buffers). Each fault is counted per NIC and
 * logged with the port, the PCI address and the IOVA, at most
 * fault_log_rate lines a second (QEMU reports one record per access, so a
 * single bad DMA can be dozens); the rest is summed up once a second.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_log.h>

#include "dpdk_internal.h"

#define NS_PER_S 1000000000ull

/* Only the poller thread touches these. */
static uint64_t window_start_ns;
static unsigned logged_in_window;
static uint64_t suppressed;

static const char *reason_name(uint8_t reason)
{
	switch (reason) {
	case VIOMMU_FAULT_REASON_DOMAIN:
		return "domain";
	case VIOMMU_FAULT_REASON_MAPPING:
		return "mapping";
	default:
		return "unknown";
	}
}

static void log_fault(const struct viommu_fault *f, const struct uvi_dpdk_nic *n)
{
	char addr[32] = "no address";

	if (f->flags & VIOMMU_FAULT_ADDRESS)
		snprintf(addr, sizeof(addr), "IOVA %#" PRIx64, f->address);
	if (n)
		uvi_dpdk_log(RTE_LOG_ERR, "DMA FAULT: port %d (%s, endpoint %u): %s%s%s blocked, "
			     "reason %s", n->port, n->name, n->endpoint_id, addr,
			     f->flags & VIOMMU_FAULT_READ ? " read" : "",
			     f->flags & VIOMMU_FAULT_WRITE ? " write" : "", reason_name(f->reason));
	else
		uvi_dpdk_log(RTE_LOG_ERR, "DMA FAULT: endpoint %u (not a DPDK NIC): %s blocked, "
			     "reason %s", f->endpoint_id, addr, reason_name(f->reason));
}

static void on_fault(const struct viommu_fault *f, void *arg)
{
	struct uvi_dpdk_nic *n = uvi_dpdk_nic_by_endpoint(f->endpoint_id);
	uint64_t now = uvi_dpdk_now_ns();

	(void)arg;
	atomic_fetch_add(&uvi_dpdk.c.faults, 1);
	if (n) {
		atomic_fetch_add(&n->faults, 1);
		atomic_store(&n->last_fault_iova, f->address);
		atomic_store(&n->last_fault_flags, f->flags);
		atomic_store(&n->last_fault_reason, f->reason);
	} else {
		atomic_fetch_add(&uvi_dpdk.c.faults_unknown, 1);
	}
	if (now - window_start_ns >= NS_PER_S) {
		window_start_ns = now;
		logged_in_window = 0;
	}
	if (logged_in_window < uvi_dpdk.opts.fault_log_rate) {
		logged_in_window++;
		log_fault(f, n);
	} else {
		suppressed++;
	}
}

int uvi_dpdk_install_fault_handler(void)
{
	int rc = viommu_set_default_fault_handler(uvi_dpdk.dev, on_fault, NULL);

	return rc ? uvi_dpdk_fail(rc, "fault handler: %s", viommu_last_error()) : 0;
}

static void *poll_loop(void *arg)
{
	uint64_t last_note = uvi_dpdk_now_ns();

	(void)arg;
	while (!atomic_load(&uvi_dpdk.poller_stop)) {
		uint64_t now;

		if (viommu_poll_events(uvi_dpdk.dev, 0) < 0)
			uvi_dpdk_log(RTE_LOG_ERR, "polling the event queue: %s",
				     viommu_last_error());
		now = uvi_dpdk_now_ns();
		if (suppressed && now - last_note >= NS_PER_S) {
			uvi_dpdk_log(RTE_LOG_ERR, "DMA FAULT: %" PRIu64 " more not logged (%" PRIu64
				     " in all)", suppressed, atomic_load(&uvi_dpdk.c.faults));
			suppressed = 0;
			last_note = now;
		}
		usleep(uvi_dpdk.opts.poll_us);
	}
	return NULL;
}

int uvi_dpdk_start_fault_poller(void)
{
	int rc = rte_ctrl_thread_create(&uvi_dpdk.poller, "uviommu-faults", NULL, poll_loop,
					NULL);

	if (rc)
		return uvi_dpdk_fail(rc < 0 ? rc : -rc, "cannot start the fault polling thread: "
				     "%s", strerror(rc < 0 ? -rc : rc));
	uvi_dpdk.poller_running = true;
	return 0;
}

void uvi_dpdk_stop_fault_poller(void)
{
	if (!uvi_dpdk.poller_running)
		return;
	atomic_store(&uvi_dpdk.poller_stop, true);
	pthread_join(uvi_dpdk.poller, NULL);
	uvi_dpdk.poller_running = false;
	viommu_poll_events(uvi_dpdk.dev, 0); /* the last ones, before the figures are logged */
}
