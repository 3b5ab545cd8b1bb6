/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIOMMU_H
#define UVIOMMU_VIOMMU_H

/*
 * The virtio-iommu poll-mode driver.
 *
 *   viommu_open()            find the device, take ownership, reset, negotiate,
 *                            block unattached endpoints (bypass = 0)
 *   viommu_domain_create()   a domain: an address space that lives in the driver
 *   viommu_map()/unmap()     change it (synchronous), or
 *   viommu_batch_*()         many MAP/UNMAP requests, one notify, a status each
 *   viommu_attach()          put an endpoint (a NIC) in the domain
 *   viommu_poll_events()     fault reports, handed to the endpoint's handler
 *   viommu_close()           detach everything, reset the device
 *
 * Every function returns 0 (or a count) or a negative errno, with a
 * sentence for viommu_last_error(). The errno of each failure is listed in
 * doc/driver.md.
 *
 * Domains live in the driver. The device knows a domain only from its
 * first ATTACH to its last DETACH, and re-attaching an endpoint silently
 * moves it; so the driver keeps every domain's mappings in a shadow, sends
 * them at the first attach, and replays them after a re-attach or a device
 * reset. A domain with no endpoint attached can be mapped and unmapped
 * freely: only the shadow changes.
 *
 * Threading: all calls on one device are serialised by a per-device lock,
 * so any thread may call any function. A batch belongs to one thread at a
 * time. Fault handlers run in the thread that calls viommu_poll_events()
 * (or in the event thread), without the device lock held, and may call
 * map/unmap.
 *
 * Changes to this header since its first version (each was needed by the
 * implementation; the shape of the API is unchanged):
 *  - viommu_open_opts.request_timeout_ms: the bound on waiting for the
 *    device (a request that takes longer resets the device, see below).
 *  - viommu_dev_info.isolation and .unattached_blocked: what the device
 *    does with the DMA of endpoints that are not attached, which the
 *    driver cannot report through viommu_last_error() on a successful open.
 *  - viommu_reset(): reset the device and replay every attachment and
 *    mapping (what the driver does by itself after DEVICE_NEEDS_RESET, a
 *    request timeout or a storm of DEVERR statuses), and the only way back
 *    after a recovery failed.
 *  - viommu_stats.timeouts and .faults_reason[].
 *  - viommu_batch_status() of an index past the end: -EINVAL.
 *  - viommu_probe_endpoint(): the reserved regions of an endpoint without
 *    attaching it (uviommu-info device shows them for every endpoint).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uviommu/pci_addr.h>

#ifdef __cplusplus
extern "C" {
#endif

struct viommu_dev;
struct viommu_domain;
struct viommu_batch;

/* Flags of viommu_open_opts. */
#define VIOMMU_OPEN_KEEP_BYPASS (1u << 0) /* do not write bypass = 0 (unattached
					   * endpoints keep whatever the device does) */
#define VIOMMU_OPEN_SPLIT_RING (1u << 1)  /* do not negotiate RING_PACKED */
#define VIOMMU_OPEN_NO_EVENT_IDX (1u << 2)

struct viommu_open_opts {
	/* "SSSS:BB:DD.F" of the virtio-iommu; NULL: the only virtio-pci IOMMU of the topology. */
	const char *device;
	/*
	 * "auto" or NULL (vfio-noiommu if the function is bound to vfio-pci,
	 * uio if bound to uio_pci_generic), "vfio", "uio", or "sim". The
	 * software device is used only when named: "auto" never picks it.
	 */
	const char *access;
	const char *viot_path;     /* ACPI VIOT file; NULL: sysfs */
	const char *topology_path; /* text topology instead of a VIOT */
	void *sim;                 /* access "sim": a struct sim_device, NULL for a default one */
	uint16_t queue_size;       /* request queue size; 0: the device's maximum */
	unsigned flags;            /* VIOMMU_OPEN_*; any other bit: -EINVAL */
	/*
	 * How long the device may take to complete anything once it has
	 * requests (0: 2000 ms). Past it the device is reset and replayed;
	 * if it does not answer after that either, calls fail with -ETIMEDOUT.
	 */
	unsigned request_timeout_ms;
};

int viommu_open(const struct viommu_open_opts *opts, struct viommu_dev **out);
/*
 * Detach every endpoint, reset the device, release it. bypass stays 0, so
 * endpoints stay blocked. Destroy the device's batches first. NULL is a no-op.
 */
void viommu_close(struct viommu_dev *dev);

/* What was negotiated and read at open time. */
struct viommu_dev_info {
	char device[VIOMMU_PCI_ADDR_STRLEN];
	const char *access;       /* "vfio", "uio" or "sim" */
	const char *ring;         /* "split" or "packed" */
	uint64_t features_offered;
	uint64_t features_negotiated;
	uint64_t page_size_mask;
	uint64_t granule;         /* lowest set bit of page_size_mask */
	uint64_t input_start, input_end;   /* inclusive */
	uint32_t domain_start, domain_end; /* inclusive */
	uint32_t probe_size;
	uint8_t bypass;           /* as read back from the device */
	uint16_t request_queue_size, event_queue_size;
	/*
	 * Whether the DMA of an endpoint that is attached to no domain is
	 * refused (bypass = 0 written and read back, or a device without
	 * BYPASS_CONFIG and without the legacy BYPASS feature accepted), and
	 * a sentence saying why (static storage).
	 */
	bool unattached_blocked;
	const char *isolation;
};
int viommu_get_info(struct viommu_dev *dev, struct viommu_dev_info *info);

/*
 * Reset the device and bring it back as it was: renegotiate the same
 * features, set up the queues again, write bypass = 0 again, re-attach
 * every attached endpoint and replay every mapping from the shadows.
 * Requests in flight complete with what the shadow then says (0 for the
 * ones re-applied). The driver does this by itself on DEVICE_NEEDS_RESET,
 * a request timeout or a storm of DEVERR. After a recovery that failed,
 * until viommu_reset() succeeds: every call that needs the device (domain
 * creation, map, unmap, attach, detach, PROBE, adding to a batch) fails
 * with -EIO, and the requests a batch still held complete with -EIO
 * (viommu_batch_status); the calls on the driver's own state (stats, fault
 * handlers, viommu_poll_events, viommu_batch_poll) keep working.
 */
int viommu_reset(struct viommu_dev *dev);

/* ---- domains and endpoints ---- */

int viommu_domain_create(struct viommu_dev *dev, struct viommu_domain **out);
/* Detach its endpoints and forget its mappings. NULL is a no-op. */
void viommu_domain_destroy(struct viommu_domain *dom);
uint32_t viommu_domain_id(const struct viommu_domain *dom);

/*
 * Attach a PCI function (its endpoint ID comes from the topology) or a raw
 * endpoint ID. The first attach of an endpoint PROBEs it (when negotiated)
 * for reserved regions; a domain whose mappings overlap them is refused.
 * An endpoint attached to another domain moves to this one.
 */
int viommu_attach(struct viommu_domain *dom, struct viommu_pci_addr addr);
int viommu_attach_endpoint(struct viommu_domain *dom, uint32_t endpoint_id);
/* -ENOENT if the endpoint is not attached to dom. The domain's mappings stay in its shadow. */
int viommu_detach(struct viommu_domain *dom, struct viommu_pci_addr addr);
int viommu_detach_endpoint(struct viommu_domain *dom, uint32_t endpoint_id);

/* Reserved regions of an endpoint (after its PROBE), inclusive ends. */
#define VIOMMU_RESV_RESERVED 0
#define VIOMMU_RESV_MSI 1
struct viommu_resv_region {
	uint64_t start, end;
	uint8_t subtype;
};
/* Copies up to max regions; returns how many the endpoint has. */
int viommu_get_resv_regions(struct viommu_dev *dev, uint32_t endpoint_id,
			    struct viommu_resv_region *regions, unsigned max);
/*
 * PROBE the endpoint now (if it was never probed), without attaching it;
 * returns how many reserved regions it has (0 without the PROBE feature).
 * viommu_get_resv_regions() then copies them.
 */
int viommu_probe_endpoint(struct viommu_dev *dev, uint32_t endpoint_id);

/* ---- mappings ---- */

#define VIOMMU_MAP_READ (1u << 0)  /* the device may read */
#define VIOMMU_MAP_WRITE (1u << 1) /* the device may write */
#define VIOMMU_MAP_MMIO (1u << 2)  /* needs the MMIO feature */

/* Synchronous: one request, waited for. len a multiple of the granule. */
int viommu_map(struct viommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t len,
	       unsigned flags);
/* Removes every mapping inside [iova, iova + len); must not split one. */
int viommu_unmap(struct viommu_domain *dom, uint64_t iova, uint64_t len);

/* ---- batches: many requests, one notify, a status each ---- */

/* Flags of viommu_batch_create. */
#define VIOMMU_BATCH_COALESCE_UNMAP (1u << 0) /* adjacent whole-mapping UNMAPs become one */

int viommu_batch_create(struct viommu_dev *dev, unsigned capacity, unsigned flags,
			struct viommu_batch **out);
/* Waits for its requests in flight; those not queued yet are given up (shadow restored). */
void viommu_batch_destroy(struct viommu_batch *b);

/*
 * Add a request. It is validated now (granule, input range, overlap with a
 * mapping or an in-flight request, split, reserved region, unknown domain):
 * a request that fails validation is not added, and the call returns its
 * errno. Returns the request's index in the batch otherwise. A range that
 * overlaps a request of another batch that is not complete: -EBUSY.
 */
int viommu_batch_map(struct viommu_batch *b, struct viommu_domain *dom, uint64_t iova,
		     uint64_t phys, uint64_t len, unsigned flags);
int viommu_batch_unmap(struct viommu_batch *b, struct viommu_domain *dom, uint64_t iova,
		       uint64_t len);

/* One request of a burst: [iova, iova + len), mapped to phys (MAP only). */
struct viommu_range {
	uint64_t iova;
	uint64_t phys;
	uint64_t len;
};

/*
 * Bursts: add n requests of one domain in one call, with the same checks
 * per request as viommu_batch_map()/_unmap() but the lock taken and the
 * device and the domain checked once per 256 requests instead of once per
 * request (rte_*_burst style). Requests are added in order up to the first
 * that is refused. Returns how many were added (n = 0: none, 0); when that
 * is fewer than n, viommu_last_error() says why ranges[returned] was
 * refused, and a call starting there returns its errno, unless what
 * refused it has changed since (-EBUSY: the other batch completed). When
 * the first is refused, returns its errno.
 */
int viommu_batch_map_burst(struct viommu_batch *b, struct viommu_domain *dom,
			   const struct viommu_range *ranges, unsigned n, unsigned flags);
int viommu_batch_unmap_burst(struct viommu_batch *b, struct viommu_domain *dom,
			     const struct viommu_range *ranges, unsigned n);

/*
 * Queue what fits and notify once. A request that depends on an earlier
 * one still in flight (same range) waits for it: the spec orders nothing
 * between requests. Returns how many requests are still not queued.
 */
int viommu_batch_submit(struct viommu_batch *b);
/* Reap completions and queue more; returns how many requests are not complete. */
int viommu_batch_poll(struct viommu_batch *b);
/* submit + poll until complete (bounded). 0 if every request succeeded, else the first errno. */
int viommu_batch_run(struct viommu_batch *b);
unsigned viommu_batch_count(const struct viommu_batch *b);
/* 0, -EINPROGRESS while pending, or the request's errno (-EINVAL: no such index). */
int viommu_batch_status(const struct viommu_batch *b, unsigned index);
/* Forget completed requests (all must be complete: -EBUSY otherwise). */
int viommu_batch_reset(struct viommu_batch *b);

/* ---- faults ---- */

#define VIOMMU_FAULT_REASON_UNKNOWN 0
#define VIOMMU_FAULT_REASON_DOMAIN 1
#define VIOMMU_FAULT_REASON_MAPPING 2
#define VIOMMU_FAULT_READ (1u << 0)
#define VIOMMU_FAULT_WRITE (1u << 1)
#define VIOMMU_FAULT_EXEC (1u << 2)
#define VIOMMU_FAULT_ADDRESS (1u << 8) /* address is valid */

struct viommu_fault {
	uint8_t reason;
	uint32_t flags;
	uint32_t endpoint_id;
	uint64_t address;
};

typedef void (*viommu_fault_fn)(const struct viommu_fault *fault, void *arg);

/* Handler for one endpoint's faults (NULL fn removes it). */
int viommu_set_fault_handler(struct viommu_dev *dev, uint32_t endpoint_id, viommu_fault_fn fn,
			     void *arg);
/* Handler for faults of endpoints that have none. */
int viommu_set_default_fault_handler(struct viommu_dev *dev, viommu_fault_fn fn, void *arg);
/* Process up to max fault records (0: all available); returns how many. */
int viommu_poll_events(struct viommu_dev *dev, unsigned max);
/* Or let a helper thread poll every interval_us. */
int viommu_start_event_thread(struct viommu_dev *dev, unsigned interval_us);
void viommu_stop_event_thread(struct viommu_dev *dev);

/* ---- statistics ---- */

/*
 * New counters are added at the end. Before 1.0 the ABI is not stable
 * (soname libuviommu.so.0 throughout): rebuild against the header of the
 * library you run with.
 */
struct viommu_stats {
	uint64_t requests, request_errors; /* sent to the device; completed with an error */
	uint64_t notifies;
	uint64_t faults, faults_dropped_malformed;
	uint64_t faults_reason[3]; /* indexed by VIOMMU_FAULT_REASON_* */
	uint64_t resets;           /* recoveries and viommu_reset() */
	uint64_t timeouts;         /* request timeouts (each led to a reset) */
	uint32_t domains, endpoints_attached;
	uint64_t mappings;
	/*
	 * Nanoseconds the driver spent waiting for the device: polling with
	 * requests in flight and nothing completed (its idle time; the rest
	 * of the calling threads' CPU time in uviommu calls is its work).
	 */
	uint64_t wait_ns;
};
int viommu_get_stats(struct viommu_dev *dev, struct viommu_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
