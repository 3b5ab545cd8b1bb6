/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The owner's snapshot: <run dir>/SSSS:BB:DD.F.state, a file both sides
 * map shared, holding a header, a sequence counter and struct
 * uvi_owner_state as 64-bit words.
 *
 * The counter makes it a seqlock: the writer makes the counter odd, stores
 * the words and makes it even again; a reader copies the words between two
 * loads of the counter and keeps the copy only when both saw the same even
 * value. The C11 form follows H.-J. Boehm, "Can seqlocks get along with
 * programming language memory models?" (MSPC 2012): every shared word is
 * an atomic read and written relaxed, so a copy that races with the writer
 * is only thrown away, and two fences order the words against the counter.
 * The two processes share the atomics, so they must be lock-free.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/common/error_internal.h"
#include "owner.h"

#define SNAPSHOT_MAGIC UINT64_C(0x50414e534f495655) /* "UVIOSNAP" in little-endian bytes */
#define SNAPSHOT_VERSION UINT64_C(1)
/* Any change of struct uvi_owner_state changes its size or must bump the version. */
#define SNAPSHOT_LAYOUT (SNAPSHOT_VERSION << 32 | sizeof(struct uvi_owner_state))
#define STATE_WORDS (sizeof(struct uvi_owner_state) / sizeof(uint64_t))
/*
 * A reader's bound: copies tried before -EAGAIN. Between the first ones it
 * yields; after that it sleeps, so that a writer preempted in the middle of
 * an update gets a CPU back: about 0.1 s in all.
 */
#define READ_TRIES 1000
#define READ_YIELDS 100
#define READ_SLEEP_NS 100000

_Static_assert(sizeof(struct uvi_owner_state) % sizeof(uint64_t) == 0,
	       "the state is copied as whole 64-bit words");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	       "atomics shared between processes must be lock-free");

struct snapshot_file {
	_Atomic uint64_t magic;
	_Atomic uint64_t layout;
	_Atomic uint64_t seq; /* odd while the owner writes */
	_Atomic uint64_t words[STATE_WORDS];
};

struct uvi_owner_snapshot {
	int fd;
	struct snapshot_file *file;
	char path[PATH_MAX];
};

void uvi_owner_snapshot_write(struct uvi_owner_snapshot *s, const struct uvi_owner_state *st)
{
	struct snapshot_file *f = s->file;
	uint64_t seq = atomic_load_explicit(&f->seq, memory_order_relaxed);

	atomic_store_explicit(&f->seq, seq + 1, memory_order_relaxed);
	/* The odd count before any word: pairs with the reader's acquire fence. */
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < STATE_WORDS; i++) {
		uint64_t w;

		memcpy(&w, (const unsigned char *)st + i * sizeof(w), sizeof(w));
		atomic_store_explicit(&f->words[i], w, memory_order_relaxed);
	}
	/* Every word before the even count: pairs with the reader's first load. */
	atomic_store_explicit(&f->seq, seq + 2, memory_order_release);
}

static int file_error(const char *what, const char *path, int err)
{
	return uvi_fail(-err, "%s %s: %s", what, path, strerror(err));
}

/* Lock, size and map the new file fd; the first snapshot goes in before it has its name. */
static int fill_new_file(struct uvi_owner_snapshot *s, const char *tmp,
			 const struct uvi_owner_state *st)
{
	struct snapshot_file *f;
	int err;

	/* Nobody else can have this file yet: the lock cannot be refused. */
	if (flock(s->fd, LOCK_EX | LOCK_NB))
		return file_error("cannot lock", tmp, errno);
	/* Readers need not be root; mkostemp() made it 0600. */
	if (fchmod(s->fd, 0644))
		return file_error("cannot chmod", tmp, errno);
	/* Allocated now, so that a full file system fails here, not as SIGBUS in a store. */
	err = posix_fallocate(s->fd, 0, sizeof(*f));
	if (err)
		return file_error("cannot allocate", tmp, err);
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (f == MAP_FAILED)
		return file_error("cannot map", tmp, errno);
	s->file = f;
	atomic_store_explicit(&f->magic, SNAPSHOT_MAGIC, memory_order_release);
	atomic_store_explicit(&f->layout, SNAPSHOT_LAYOUT, memory_order_release);
	atomic_store_explicit(&f->seq, 0, memory_order_relaxed);
	uvi_owner_snapshot_write(s, st);
	return 0;
}

int uvi_owner_snapshot_create(const char *path, const struct uvi_owner_state *st,
			      struct uvi_owner_snapshot **out)
{
	char tmp[PATH_MAX];
	struct uvi_owner_snapshot *s;
	int n, rc;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return uvi_fail(-ENAMETOOLONG, "%s: path too long", path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return uvi_fail(-ENOMEM, "out of memory");
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->fd = mkostemp(tmp, O_CLOEXEC);
	if (s->fd < 0) {
		rc = file_error("cannot create", tmp, errno);
		free(s);
		return rc;
	}
	rc = fill_new_file(s, tmp, st);
	/* Atomically replaces a stale file that a crashed owner left. */
	if (!rc && rename(tmp, path))
		rc = file_error("cannot rename to", path, errno);
	if (rc) {
		if (s->file)
			munmap(s->file, sizeof(*s->file));
		unlink(tmp);
		close(s->fd);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* True when path still names the file fd is open on. */
static bool still_ours(int fd, const char *path)
{
	struct stat mine, named;

	return fstat(fd, &mine) == 0 && lstat(path, &named) == 0 &&
	       mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

void uvi_owner_snapshot_destroy(struct uvi_owner_snapshot *s)
{
	if (!s)
		return;
	if (still_ours(s->fd, s->path))
		unlink(s->path);
	munmap(s->file, sizeof(*s->file));
	close(s->fd); /* drops the lock: from here on, a reader holding it sees it stale */
	free(s);
}

/* ---- readers ---- */

/* 1 when a live process holds fd's file locked, 0 when none does; no lock is kept. */
static int held_by_live_owner(int fd, const char *path)
{
	int err;

	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	err = errno;
	if (err == EWOULDBLOCK)
		return 1;
	return file_error("cannot test the lock of", path, err);
}

static int not_owned(const char *device, const char *path)
{
	return uvi_fail(-ENOENT, "%s is not owned by any process (%s was left by one that "
			"exited)", device, path);
}

static int open_live(const char *device, const char *path, int *fd_out)
{
	int fd, err, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return uvi_fail(-ENOENT, "%s is not owned by any process (no %s)",
					device, path);
		if (err == EACCES)
			return uvi_fail(-err, "%s: permission denied (run as root)", path);
		return file_error("cannot open", path, err);
	}
	rc = held_by_live_owner(fd, path);
	if (rc == 1) {
		*fd_out = fd;
		return 0;
	}
	close(fd);
	return rc ? rc : not_owned(device, path);
}

static int map_checked(int fd, const char *path, struct snapshot_file **out)
{
	struct snapshot_file *f;
	struct stat st;

	if (fstat(fd, &st))
		return file_error("cannot stat", path, errno);
	if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(*f))
		return uvi_fail(-EPROTO, "%s: %lld bytes where this uviommu writes %zu: the "
				"owner runs another version of uviommu", path,
				(long long)st.st_size, sizeof(*f));
	f = mmap(NULL, sizeof(*f), PROT_READ, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		return file_error("cannot map", path, errno);
	if (atomic_load_explicit(&f->magic, memory_order_acquire) != SNAPSHOT_MAGIC ||
	    atomic_load_explicit(&f->layout, memory_order_acquire) != SNAPSHOT_LAYOUT) {
		munmap(f, sizeof(*f));
		return uvi_fail(-EPROTO, "%s: not a snapshot of this uviommu version's layout",
				path);
	}
	*out = f;
	return 0;
}

/* One try: false when the owner was writing, or wrote, while we copied. */
static bool copy_once(struct snapshot_file *f, struct uvi_owner_state *out)
{
	uint64_t before, after;

	before = atomic_load_explicit(&f->seq, memory_order_acquire);
	if (before & 1)
		return false;
	for (size_t i = 0; i < STATE_WORDS; i++) {
		uint64_t w = atomic_load_explicit(&f->words[i], memory_order_relaxed);

		memcpy((unsigned char *)out + i * sizeof(w), &w, sizeof(w));
	}
	/* Every word loaded before the counter is loaded again. */
	atomic_thread_fence(memory_order_acquire);
	after = atomic_load_explicit(&f->seq, memory_order_relaxed);
	return before == after;
}

static int copy_consistent(struct snapshot_file *f, struct uvi_owner_state *out)
{
	static const struct timespec pause = {0, READ_SLEEP_NS};

	for (unsigned i = 0; i < READ_TRIES; i++) {
		if (copy_once(f, out))
			return 0;
		if (i < READ_YIELDS)
			sched_yield();
		else
			nanosleep(&pause, NULL);
	}
	return -EAGAIN;
}

/* The file is input: its strings end within their arrays whatever it holds. */
static void terminate_strings(struct uvi_owner_state *st)
{
	st->command[sizeof(st->command) - 1] = '\0';
	st->access[sizeof(st->access) - 1] = '\0';
	st->ring[sizeof(st->ring) - 1] = '\0';
}

static int read_live(const char *device, const char *path, int fd, struct uvi_owner_state *out)
{
	struct snapshot_file *f = NULL;
	int rc;

	rc = map_checked(fd, path, &f);
	if (rc)
		return rc;
	rc = copy_consistent(f, out);
	munmap(f, sizeof(*f));
	if (rc != -EAGAIN)
		return rc;
	/* An owner killed mid-update leaves the counter odd for good. */
	rc = held_by_live_owner(fd, path);
	if (rc == 0)
		return not_owned(device, path);
	if (rc < 0)
		return rc;
	return uvi_fail(-EAGAIN, "%s: the snapshot changed during each of %d reads; try again",
			path, READ_TRIES);
}

int uvi_owner_read(struct viommu_pci_addr addr, struct uvi_owner_state *out)
{
	char path[PATH_MAX], device[VIOMMU_PCI_ADDR_STRLEN];
	struct uvi_owner_state copy;
	int fd = -1, rc;

	if (!out)
		return uvi_fail(-EINVAL, "uvi_owner_read: NULL out");
	rc = uvi_owner_path(addr, UVI_OWNER_STATE_SUFFIX, path, sizeof(path));
	if (rc)
		return rc;
	viommu_pci_addr_format(addr, device, sizeof(device));
	rc = open_live(device, path, &fd);
	if (rc)
		return rc;
	rc = read_live(device, path, fd, &copy);
	close(fd);
	if (rc)
		return rc;
	terminate_strings(&copy);
	*out = copy;
	return 0;
}
