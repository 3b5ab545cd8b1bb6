/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_IOMMU_DEV_H
#define UVIOMMU_IOMMU_DEV_H

/*
 * Internal state of the virtio-iommu driver, shared by the files of
 * drivers/iommu. One concern per file:
 *
 *   select.c     which device, which access backend, which topology
 *   open.c       viommu_open / viommu_close / viommu_get_info
 *   bringup.c    reset, negotiation, configuration, queues on, bypass
 *   queues.c     DMA memory: rings, request slots, event buffers
 *   request.c    request slots, queueing, publishing, reaping, statuses
 *   wait.c       polling with stall detection, bounded waits
 *   sync.c       the control requests (ATTACH, DETACH, PROBE) sent one by one
 *   probe.c      PROBE and its properties
 *   probe_endpoint.c  viommu_probe_endpoint (PROBE without an attach)
 *   endpoint.c   endpoints: attachment, reserved regions, fault handlers
 *   domain.c     domains: IDs, shadows, pending requests
 *   attach.c     viommu_attach / viommu_detach
 *   replay.c     sending a domain's shadow (first attach, recovery)
 *   validate.c   argument checks of MAP and UNMAP (the errno table)
 *   batch*.c     batches: life, add, submit (fences, coalescing), completion
 *   map.c        viommu_map / viommu_unmap (a batch of one)
 *   events.c     the event queue and fault handlers; event_thread.c its thread
 *   reset.c      recovery: reset, renegotiate, replay
 *   stats.c      counters and the owner's published snapshot
 *
 * Locking: dev->lock serialises everything below, including batches and
 * the shadows. Fault handlers are called without it.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uviommu/mem.h>
#include <uviommu/topology.h>
#include <uviommu/viommu.h>

#include "../../lib/common/list.h"
#include "../../lib/common/rbtree.h"
#include "../../lib/pci/pci_dev.h"
#include "../../lib/virtio/virtio_pci.h"
#include "../../lib/virtio/virtqueue.h"
#include "owner.h"
#include "shadow.h"
#include "wire.h"

#define UVI_SLOT_BYTES 128        /* one request: head, body and tail */
#define UVI_PROBE_TAIL_OFF 120    /* PROBE: head + endpoint + reserved = 72 bytes, tail here */
#define UVI_SYNC_DESC_MAX 3       /* descriptors of the longest request: PROBE's head, props, tail */
#define UVI_EVENT_STRIDE 32       /* one fault record (24 bytes) per 32 */
#define UVI_EVENT_QUEUE_MAX 128   /* event buffers kept posted */
#define UVI_PROBE_SIZE_MAX 65536  /* a larger probe_size is refused at open */
#define UVI_DEVERR_STORM 8        /* DEVERR in a row that make the driver reset the device */
#define UVI_TIMEOUT_MS_DEFAULT 2000
#define UVI_STATUS_CHECK_NS 1000000ull  /* device status read at most every 1 ms of stall */
#define UVI_STALL_CLOCK_POLLS 32        /* a stall reads the clock once per this many polls */
#define UVI_IDLE_STATUS_NS 100000000ull /* and every 100 ms by an event poll when idle */
#define UVI_PUBLISH_NS 10000000ull      /* owner snapshot at most every 10 ms */
#define UVI_REAP_CHUNK 16               /* completions a batch waits for before reaping */
#define UVI_RECOVERY_ATTEMPTS 2

#define UVI_F(bit) (1ull << (bit))

/* Why the device needs a reset (dev->need_recovery). */
enum uvi_recovery_reason {
	UVI_RECOVER_NONE,
	UVI_RECOVER_NEEDS_RESET, /* DEVICE_NEEDS_RESET, or the device left DRIVER_OK */
	UVI_RECOVER_TIMEOUT,     /* no completion within the request timeout */
	UVI_RECOVER_DEVERR,      /* UVI_DEVERR_STORM DEVERR statuses in a row */
	UVI_RECOVER_PROTOCOL,    /* a queue broke the virtio protocol */
	UVI_RECOVER_MANUAL,      /* viommu_reset() */
};

enum uvi_slot_kind {
	UVI_SLOT_FREE,
	UVI_SLOT_BATCH,  /* a group of batch requests (one, or coalesced UNMAPs) */
	UVI_SLOT_SYNC,   /* ATTACH, DETACH, PROBE: the caller waits on `done` */
	UVI_SLOT_REPLAY, /* a MAP of a shadow replay: counted in dev->replay */
};

/* One in-flight request: its DMA buffer and what its completion means. */
struct uvi_slot {
	uint8_t *buf;   /* UVI_SLOT_BYTES of DMA memory */
	uint64_t bus;   /* its bus address, computed once at open */
	enum uvi_slot_kind kind;
	uint8_t type;   /* VIRTIO_IOMMU_T_* */
	bool done;      /* SYNC: completed (status valid) */
	int status;     /* SYNC: 0 or a negative errno */
	uint32_t writable; /* bytes the device must report as written */
	struct viommu_batch *batch; /* BATCH: requests first .. first + n - 1 */
	uint32_t first, n;
};

/* An endpoint the driver has seen (probed or attached). */
struct uvi_ep {
	uint32_t id;
	struct viommu_domain *domain; /* attached to, NULL if not */
	bool probed;
	struct viommu_resv_region *resv;
	unsigned n_resv;
	viommu_fault_fn fault_fn;
	void *fault_arg;
};

/* A batch request (also the unit of fences and of the domain's pending list). */
enum uvi_breq_state { UVI_BREQ_ADDED, UVI_BREQ_QUEUED, UVI_BREQ_DONE };

struct uvi_breq {
	struct viommu_batch *batch;
	struct viommu_domain *dom;
	uint64_t start, end, phys; /* inclusive end */
	uint32_t flags;            /* VIOMMU_MAP_* */
	uint32_t index;
	uint8_t type;              /* VIRTIO_IOMMU_T_MAP or _UNMAP */
	bool fenced;               /* may depend on an earlier request of its batch */
	bool marked;               /* UNMAP: its covered entries are UNMAP_PENDING */
	bool gapless;              /* marked UNMAP: they cover its whole range (uvi_breq_mark) */
	bool in_tree;              /* pending UNMAP in the domain's pending_unmaps */
	enum uvi_breq_state state;
	int status;
	struct uvi_list_node pending; /* in the domain's pending list (not DONE) */
	struct uvi_rb_node unmap_node; /* pending UNMAP: in the domain's pending_unmaps */
	uint64_t max_end;              /* the largest end in unmap_node's subtree */
	struct uvi_shadow_entry *entry; /* MAP: its entry; marked UNMAP: the first it marked */
};

/* What the pending requests of a domain that overlap a request r are. */
struct uvi_overlap {
	bool other_batch; /* one belongs to another batch */
	bool earlier;     /* one belongs to r's batch and was added before r */
};

struct viommu_batch {
	struct viommu_dev *dev;
	unsigned capacity, count, flags;
	unsigned next;         /* no request below this index is ADDED */
	unsigned n_added;      /* ADDED: not yet queued */
	unsigned n_incomplete; /* ADDED or QUEUED */
	struct uvi_breq reqs[];
};

struct viommu_domain {
	struct viommu_dev *dev;
	uint32_t id;
	bool dead;                 /* destroyed: the handle stays valid until close */
	struct uvi_shadow *shadow; /* NULL once dead */
	uint64_t mapped_bytes;     /* over every shadow entry */
	unsigned n_endpoints;      /* attached on the device */
	struct uvi_list pending; /* requests not DONE (uvi_breq.pending), in add order */
	unsigned n_pending;
	unsigned n_pending_unmaps; /* those in pending_unmaps */
	struct uvi_rb_tree pending_unmaps; /* by start, augmented with max_end */
	struct viommu_domain *next_dead;
};

struct viommu_dev {
	pthread_mutex_t lock;

	/* What and how. */
	struct viommu_pci_addr addr;
	const struct uvi_pci_backend *backend;
	struct uvi_pci_dev *pci;
	struct uvi_vpci vpci;
	void *own_sim;           /* a sim_device created by open, destroyed by close */
	struct uvi_owner *owner; /* NULL for the software device */
	struct viommu_topology *topo;
	size_t iommu_index;      /* ours in topo; SIZE_MAX: not listed */
	unsigned open_flags;
	unsigned timeout_ms;

	/* Negotiated and read at open (kept across resets). */
	uint64_t offered, wanted, negotiated;
	struct virtio_iommu_config cfg; /* ranges filled in when their feature is absent */
	uint64_t granule; /* the lowest bit of page_size_mask (never 0): a power of two */
	uint8_t bypass;
	const char *isolation;
	bool unattached_blocked;

	/* DMA memory and queues. */
	struct viommu_mem *mem;
	struct uvi_vq *rq, *eq;
	struct uvi_vpci_notifier rq_bell, eq_bell;
	uint16_t rq_size, eq_size;
	struct uvi_slot *slots;
	unsigned n_slots;
	unsigned *free_slots;   /* stack of free slot indices */
	unsigned n_free;
	uint8_t *probe_buf;
	uint64_t probe_bus;
	struct virtio_iommu_fault *events[UVI_EVENT_QUEUE_MAX];
	uint64_t event_bus[UVI_EVENT_QUEUE_MAX];

	/* Request engine. */
	unsigned inflight;      /* slots queued and not completed */
	unsigned unpublished;   /* queued since the last publish */
	unsigned deverr_run;
	enum uvi_recovery_reason need_recovery;
	bool recovering;
	bool failed;            /* recovery failed: only viommu_reset() and close work */
	int fail_err;
	uint64_t stall_start_ns, status_check_ns;
	unsigned empty_polls;   /* polls without a completion since the last one */
	struct {
		unsigned inflight;
		int err;
	} replay;
	struct uvi_group *groups; /* n_slots entries: batch slots a recovery took over */

	/* Domains and endpoints. */
	struct viommu_domain **domains;
	unsigned n_domains, cap_domains;
	struct viommu_domain *dead_domains;
	uint32_t next_domain_id;
	struct uvi_ep **eps;
	unsigned n_eps, cap_eps;
	viommu_fault_fn default_fault_fn;
	void *default_fault_arg;
	struct viommu_batch *sync_batch; /* viommu_map / viommu_unmap */

	/*
	 * Event thread (thread_lock serialises its start and stop). It sleeps
	 * on event_wake between polls, so that a stop wakes it at once; both
	 * exist while it runs. event_thread_stop is read and written under
	 * event_wake_lock.
	 */
	pthread_mutex_t thread_lock;
	pthread_t event_thread;
	bool event_thread_running;
	bool event_thread_stop;
	pthread_mutex_t event_wake_lock;
	pthread_cond_t event_wake;
	unsigned event_interval_us;

	/* Counters and the owner's snapshot. */
	struct viommu_stats stats;
	bool publish_dirty;
	uint64_t publish_ns;
};

static inline bool uvi_has(const struct viommu_dev *dev, unsigned feature)
{
	return dev->negotiated & UVI_F(feature);
}

static inline uint64_t uvi_min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline bool uvi_overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 <= e2 && s2 <= e1;
}

/* select.c */
struct uvi_selection {
	struct viommu_pci_addr addr;
	const struct uvi_pci_backend *backend;
	struct viommu_topology *topo; /* may be NULL */
	size_t iommu_index;
};
int uvi_select(const struct viommu_open_opts *opts, struct uvi_selection *sel);

/* bringup.c: the initialization sequence of virtio 1.2, 3.1.1 (first: at open) */
int uvi_bringup(struct viommu_dev *dev, bool first);

/* queues.c */
int uvi_queues_alloc(struct viommu_dev *dev);
void uvi_queues_free(struct viommu_dev *dev);
int uvi_queues_program(struct viommu_dev *dev);

/* request.c */
struct uvi_slot *uvi_slot_get(struct viommu_dev *dev, enum uvi_slot_kind kind);
void uvi_slot_put(struct viommu_dev *dev, struct uvi_slot *slot);
int uvi_req_queue(struct viommu_dev *dev, struct uvi_slot *slot);
void uvi_req_kick(struct viommu_dev *dev);
int uvi_req_reap(struct viommu_dev *dev);
void uvi_req_fill_map(struct uvi_slot *slot, uint32_t domain, uint64_t start, uint64_t end,
		      uint64_t phys, uint32_t flags);
void uvi_req_fill_unmap(struct uvi_slot *slot, uint32_t domain, uint64_t start, uint64_t end);

/* wait.c */
int uvi_poll(struct viommu_dev *dev);
void uvi_check_device_status(struct viommu_dev *dev);
void uvi_relax(unsigned *spins);
void uvi_await(struct viommu_dev *dev, unsigned want, bool lock_free);
int uvi_drain(struct viommu_dev *dev);
int uvi_wait_slot(struct viommu_dev *dev, struct uvi_slot *slot);
int uvi_check_usable(struct viommu_dev *dev);
int uvi_nested_trouble(struct viommu_dev *dev);

/* sync.c */
typedef void (*uvi_fill_fn)(struct uvi_slot *slot, const void *arg);
int uvi_sync_request(struct viommu_dev *dev, uvi_fill_fn fill, const void *arg);
int uvi_send_attach(struct viommu_dev *dev, uint32_t domain, uint32_t endpoint);
int uvi_send_detach(struct viommu_dev *dev, uint32_t domain, uint32_t endpoint);

/* probe.c */
int uvi_probe_endpoint(struct viommu_dev *dev, struct uvi_ep *ep);
int uvi_probe_parse(const uint8_t *props, size_t size, struct viommu_resv_region **out,
		    unsigned *n_out);

/* endpoint.c */
struct uvi_ep *uvi_ep_find(struct viommu_dev *dev, uint32_t id);
int uvi_ep_get(struct viommu_dev *dev, uint32_t id, struct uvi_ep **out);
void uvi_ep_free_all(struct viommu_dev *dev);
int uvi_ep_id_of(struct viommu_dev *dev, struct viommu_pci_addr addr, uint32_t *id);
bool uvi_domain_resv_overlaps(const struct viommu_domain *dom, uint64_t start, uint64_t end);

/* domain.c */
int uvi_domain_check(const struct viommu_dev *dev, const struct viommu_domain *dom);
int uvi_dom_insert(struct viommu_domain *dom, const struct uvi_shadow_entry *e,
		   struct uvi_shadow_entry **out);
void uvi_dom_remove(struct viommu_domain *dom, struct uvi_shadow_entry *e);
void uvi_domain_pending_add(struct viommu_domain *dom, struct uvi_breq *r);
void uvi_domain_pending_del(struct viommu_domain *dom, struct uvi_breq *r);
void uvi_domain_pending_overlap(struct viommu_domain *dom, const struct uvi_breq *r,
				const struct uvi_shadow_entry *exact, struct uvi_overlap *out);

/*
 * Whether uvi_domain_pending_overlap() may find anything for r: a pending
 * UNMAP with gaps is in the tree; any other pending request only overlaps
 * an UNMAP (validation refuses a MAP over any entry, pending ones too).
 */
static inline bool uvi_domain_may_overlap(const struct viommu_domain *dom,
					  const struct uvi_breq *r)
{
	return dom->n_pending_unmaps || (r->type == VIRTIO_IOMMU_T_UNMAP && dom->n_pending);
}
void uvi_domain_free_all(struct viommu_dev *dev);

/* attach.c */
void uvi_detach_all(struct viommu_dev *dev);

/* replay.c: abandoned groups (recovery) are in-flight batch slots copied aside */
struct uvi_group {
	struct viommu_batch *batch;
	uint32_t first, n;
};
int uvi_replay_domain(struct viommu_dev *dev, struct viommu_domain *dom,
		      const struct uvi_group *groups, unsigned n_groups);

/* validate.c */
int uvi_validate_map(struct viommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t len,
		     unsigned flags);
/*
 * *exact: the shadow entry that is exactly [iova, iova + len - 1], if any
 * (then no other entry overlaps the range), else NULL.
 */
int uvi_validate_unmap(struct viommu_domain *dom, uint64_t iova, uint64_t len,
		       struct uvi_shadow_entry **exact);

/* batch*.c */
int uvi_batch_alloc(struct viommu_dev *dev, unsigned capacity, unsigned flags,
		    struct viommu_batch **out);
int uvi_batch_add_locked(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
			 uint64_t iova, uint64_t phys, uint64_t len, unsigned flags);
int uvi_batch_add_burst_locked(struct viommu_batch *b, uint8_t type, struct viommu_domain *dom,
			       const struct viommu_range *ranges, unsigned n, unsigned flags);
int uvi_batch_submit_locked(struct viommu_batch *b);
void uvi_batch_await(struct viommu_batch *b, bool lock_free);
int uvi_batch_step_locked(struct viommu_batch *b);
int uvi_batch_run_locked(struct viommu_batch *b);
int uvi_batch_first_error(const struct viommu_batch *b);
unsigned uvi_breq_mark(struct uvi_breq *r);
unsigned uvi_breq_mark_from(struct uvi_breq *r, struct uvi_shadow_entry *first);
void uvi_breq_finish(struct viommu_dev *dev, struct uvi_breq *r, int status);
void uvi_batch_complete_slot(struct viommu_dev *dev, struct uvi_slot *slot, int status);
void uvi_batch_fail_added(struct viommu_batch *b, int err);

/* events.c */
int uvi_events_post_all(struct viommu_dev *dev);
int uvi_event_decode(const struct virtio_iommu_fault *rec, uint32_t used_len,
		     struct viommu_fault *out);

/* reset.c */
int uvi_recover(struct viommu_dev *dev);
const char *uvi_recovery_reason_name(enum uvi_recovery_reason r);

/* stats.c */
uint64_t uvi_now_ns(void);
uint64_t uvi_coarse_now_ns(void);
void uvi_snapshot(const struct viommu_dev *dev, struct uvi_owner_state *st);
void uvi_publish(struct viommu_dev *dev, bool force);
static inline void uvi_mark_dirty(struct viommu_dev *dev)
{
	dev->publish_dirty = true;
}

#endif
