/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_DPDK_INTERNAL_H
#define UVIOMMU_DPDK_INTERNAL_H

/*
 * The plugin's state: one per process (EAL is one per process too).
 *
 *   plugin.c     constructor, the bus hooks (scan, probe, cleanup), fail-closed exits
 *   options.c    the UVIOMMU environment variable
 *   nics.c       which NICs, domains, attach, checking DPDK's ports
 *   hotplug.c    ports probed after start-up (isolated) and released (detached)
 *   ranges.c     physical ranges: sort, merge, subtract
 *   memmap.c     the mappings: one set, applied to every domain in batches
 *   memevent.c   DPDK memory: the event callback, the start-up walk, the identity mode
 *   faults.c     fault records: handler, polling thread, rate-limited log
 *   telemetry.c  the /uviommu/... telemetry commands
 *   api.c        include/uviommu/dpdk.h
 *
 * Locking: uvi_dpdk.lock serialises every change of the mappings, the
 * domains and the NIC table. DPDK calls the memory event callback with its
 * memory hot-plug lock held, and the start-up walk takes that lock first,
 * so the order is always DPDK's lock, then ours; nothing here calls into
 * DPDK's memory allocator with ours held.
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uviommu/dpdk.h>
#include <uviommu/uviommu.h>

#define UVI_DPDK_MAX_NICS 32
#define UVI_DPDK_BATCH 256 /* requests per batch: every change goes in batches this big */
#define UVI_DPDK_LOG_PREFIX "uviommu: "

enum uvi_dpdk_mode {
	UVI_DPDK_STRICT,     /* stop the application when isolation cannot be set up */
	UVI_DPDK_PERMISSIVE, /* keep going; what failed stays blocked */
};

enum uvi_dpdk_map_mode {
	UVI_DPDK_MAP_DPDK,     /* exactly DPDK's memory (the point of the plugin) */
	UVI_DPDK_MAP_IDENTITY, /* one identity mapping of all RAM: a benchmark bound, not isolation */
};

struct uvi_dpdk_opts {
	char iommu[VIOMMU_PCI_ADDR_STRLEN]; /* "" : the only one of the topology */
	char access[8];                     /* auto, uio, vfio, sim */
	char viot[256], topology[256];
	bool devices_auto;
	struct viommu_pci_addr devices[UVI_DPDK_MAX_NICS];
	unsigned n_devices;
	bool shared_domain;
	enum uvi_dpdk_mode mode;
	enum uvi_dpdk_map_mode map;
	bool allow_unprotected;
	unsigned poll_us;        /* fault polling interval */
	unsigned fault_log_rate; /* fault lines logged per second at most */
};

struct uvi_dpdk_nic {
	struct viommu_pci_addr addr;
	char name[VIOMMU_PCI_ADDR_STRLEN];
	uint32_t endpoint_id;
	struct viommu_domain *dom;
	bool attached;
	/*
	 * Its domain failed an UNMAP of memory DPDK released, so it may still
	 * map that memory: the NIC is detached and never attached again.
	 */
	bool blocked;
	int port; /* DPDK port ID, -1 until known */
	_Atomic uint64_t faults;
	_Atomic uint64_t last_fault_iova;
	_Atomic uint32_t last_fault_flags;
	_Atomic uint8_t last_fault_reason;
};

/* A physical (= IOVA) range, [start, start + len). */
struct uvi_dpdk_range {
	uint64_t start, len;
};

struct uvi_dpdk_counters {
	_Atomic uint64_t mappings_created, mappings_removed, splits;
	_Atomic uint64_t alloc_events, free_events;
	_Atomic uint64_t map_errors, unmap_errors, setup_errors;
	_Atomic uint64_t startup_map_ns, map_ns;
	_Atomic uint64_t faults, faults_unknown;
};

struct uvi_dpdk {
	struct uvi_dpdk_opts opts;
	bool options_ok;
	char options_error[256];
	/*
	 * Written under lock (bus_cleanup) or before any other thread can act
	 * (the bus scan and probe); read without it by the memory event
	 * callback and the API's quick checks, which check again under it.
	 */
	_Atomic bool isolated; /* the device is open and the NICs are attached */
	_Atomic bool probed;   /* the start-up walk is done */
	pthread_mutex_t lock;
	struct viommu_dev *dev;
	uint64_t granule;
	struct viommu_domain *shared;
	struct uvi_dpdk_nic nics[UVI_DPDK_MAX_NICS];
	unsigned n_nics;
	struct viommu_batch *batch;
	/* The mappings, sorted by start, never overlapping; the same in every domain. */
	struct uvi_dpdk_range *maps;
	size_t n_maps, cap_maps;
	uint64_t mapped_bytes;
	struct uvi_dpdk_counters c;
	/* Fault polling thread. */
	pthread_t poller;
	bool poller_running;
	_Atomic bool poller_stop;
};

extern struct uvi_dpdk uvi_dpdk;

/* plugin.c: log through DPDK's logging, type "uviommu" */
void uvi_dpdk_log(unsigned level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A set-up failure: counted, logged as an error; the caller decides whether it is fatal. */
void uvi_dpdk_setup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t uvi_dpdk_now_ns(void);

/* api.c: the message for viommu_dpdk_last_error(); returns rc. */
int uvi_dpdk_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* options.c */
int uvi_dpdk_parse_options(const char *text, struct uvi_dpdk_opts *o, char *err, size_t errlen);

/* nics.c */
int uvi_dpdk_select_nics(void);
int uvi_dpdk_attach_nic(struct uvi_dpdk_nic *nic);
int uvi_dpdk_add_nic(struct viommu_pci_addr addr, struct uvi_dpdk_nic **out);
struct uvi_dpdk_nic *uvi_dpdk_find_nic(struct viommu_pci_addr addr);
struct uvi_dpdk_nic *uvi_dpdk_nic_by_endpoint(uint32_t endpoint_id);
int uvi_dpdk_check_ports(void);
bool uvi_dpdk_selected(struct viommu_pci_addr a);
bool uvi_dpdk_userspace_driver(const char *driver);
bool uvi_dpdk_same_func(struct viommu_pci_addr a, struct viommu_pci_addr b);

/* hotplug.c: ports probed and released after start-up */
int uvi_dpdk_watch_new_ports(void);
int uvi_dpdk_port_addr(uint16_t port_id, struct viommu_pci_addr *addr);
unsigned uvi_dpdk_n_domains(void);

/* ranges.c */
void uvi_dpdk_ranges_normalize(struct uvi_dpdk_range *r, size_t *n);
int uvi_dpdk_ranges_push(struct uvi_dpdk_range **r, size_t *n, size_t *cap, uint64_t start,
			 uint64_t len);

/* memmap.c (uvi_dpdk.lock held) */
int uvi_dpdk_map_ranges(const struct uvi_dpdk_range *r, size_t n);
int uvi_dpdk_unmap_range(uint64_t start, uint64_t len, bool whole_only);
int uvi_dpdk_replay_into(struct viommu_domain *dom);
bool uvi_dpdk_range_overlaps(uint64_t start, uint64_t len);

/* memevent.c */
int uvi_dpdk_watch_memory(void);
int uvi_dpdk_map_startup_memory(void);

/* faults.c */
int uvi_dpdk_start_fault_poller(void);
void uvi_dpdk_stop_fault_poller(void);
int uvi_dpdk_install_fault_handler(void);

/* telemetry.c */
void uvi_dpdk_register_telemetry(void);

#endif
