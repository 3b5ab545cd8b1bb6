/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_OWNER_H
#define UVIOMMU_OWNER_H

/*
 * One owner per device, and the owner's state for other tools.
 *
 * uvi_owner_acquire() takes an exclusive, non-blocking flock() on
 * /run/uviommu/SSSS:BB:DD.F.lock (the directory is created if needed;
 * UVIOMMU_RUN_DIR overrides /run/uviommu for tests) and writes the
 * owner's pid and command line into it. A second process gets -EBUSY and
 * a message naming the owner ("0000:00:02.0 is owned by pid 1234
 * (dpdk-testpmd)"). The kernel drops the lock when the owner dies, so a
 * crashed owner never blocks the next one.
 *
 * The owner publishes a snapshot of its state in a shared-memory file
 * beside the lock (SSSS:BB:DD.F.state), updated under a sequence counter
 * so that readers (uviommu-info device) never see a torn snapshot.
 */

#include <stddef.h>
#include <stdint.h>

#include <uviommu/pci_addr.h>

#define UVI_OWNER_RUN_DIR "/run/uviommu"
#define UVI_OWNER_RUN_DIR_ENV "UVIOMMU_RUN_DIR" /* an absolute path */
#define UVI_OWNER_LOCK_SUFFIX ".lock"
#define UVI_OWNER_STATE_SUFFIX ".state"

#define UVI_OWNER_MAX_DOMAINS 64
#define UVI_OWNER_MAX_ENDPOINTS 16 /* per domain, in the snapshot */

struct uvi_owner_domain {
	uint32_t id;
	uint32_t n_endpoints;
	uint32_t endpoints[UVI_OWNER_MAX_ENDPOINTS];
	uint64_t mappings;
	uint64_t mapped_bytes;
};

struct uvi_owner_state {
	int32_t pid;
	char command[64];
	char access[8];   /* "vfio", "uio" */
	char ring[8];     /* "split", "packed" */
	uint64_t features_negotiated;
	uint8_t bypass;
	uint64_t requests, request_errors, notifies;
	uint64_t faults, faults_dropped_malformed, resets;
	uint32_t n_domains; /* all of them; at most UVI_OWNER_MAX_DOMAINS listed */
	struct uvi_owner_domain domains[UVI_OWNER_MAX_DOMAINS];
};

struct uvi_owner;

int uvi_owner_acquire(struct viommu_pci_addr addr, struct uvi_owner **out);
/* Unlock and remove the state file. NULL is a no-op. */
void uvi_owner_release(struct uvi_owner *o);
/* Copy st into the shared snapshot (pid and command are filled in here). */
void uvi_owner_publish(struct uvi_owner *o, const struct uvi_owner_state *st);

/*
 * For readers: a consistent copy of the snapshot of addr's owner.
 * -ENOENT when nobody owns the device (no live lock holder).
 * -EPROTO when the owner's file has another layout (another uviommu
 * version), -EAGAIN when the snapshot changed during every bounded retry.
 */
int uvi_owner_read(struct viommu_pci_addr addr, struct uvi_owner_state *out);

/*
 * The rest is shared by owner.c (the lock) and owner_state.c (the snapshot).
 *
 * "<run dir>/SSSS:BB:DD.F<suffix>" into buf. -EINVAL when UVIOMMU_RUN_DIR
 * is set but empty or relative, -ENAMETOOLONG when it does not fit.
 */
int uvi_owner_path(struct viommu_pci_addr addr, const char *suffix, char *buf, size_t size);

/*
 * The snapshot file. Liveness is a property of the file itself: its creator
 * holds an exclusive flock() on it for as long as it owns the device, so a
 * reader that can take a shared lock on the file it opened knows that the
 * file was left behind by a process that is gone (whatever it contains and
 * whatever pid it names).
 */
struct uvi_owner_snapshot;
/*
 * Create path's file holding st: written and locked under a temporary name,
 * then renamed over any stale file, so that the name never shows an
 * unlocked or half-written snapshot.
 */
int uvi_owner_snapshot_create(const char *path, const struct uvi_owner_state *st,
			      struct uvi_owner_snapshot **out);
/* One writer at a time (the owner's device lock covers it). */
void uvi_owner_snapshot_write(struct uvi_owner_snapshot *s, const struct uvi_owner_state *st);
/* Remove the file, then drop its lock. NULL is a no-op. */
void uvi_owner_snapshot_destroy(struct uvi_owner_snapshot *s);

#endif
