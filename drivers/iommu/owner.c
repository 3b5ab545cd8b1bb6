/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One owner per device: an exclusive flock() on <run dir>/SSSS:BB:DD.F.lock
 * holding "pid command line\n".
 *
 * flock() rather than fcntl() record locks: a flock belongs to the open
 * file description, so two opens conflict even inside one process, and the
 * kernel drops it when the last descriptor to it closes, crash or not.
 * The lock file is never removed: if it were, a process that had opened
 * the old file and one that creates a new file could both get a lock.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/common/error_internal.h"
#include "owner.h"

#define COMMAND_LINE_MAX 256
#define OWNER_RECORD_MAX (COMMAND_LINE_MAX + 16) /* "pid command line\n" */
#define SHOWN_COMMAND_MAX 120                    /* of it, in an -EBUSY message */

struct uvi_owner {
	int lock_fd;
	int32_t pid;
	char device[VIOMMU_PCI_ADDR_STRLEN];
	char command_line[COMMAND_LINE_MAX];
	struct uvi_owner_snapshot *snap;
	struct uvi_owner_state scratch; /* what publish() hands on, pid and command filled in */
};

static const char *run_dir(void)
{
	const char *dir = getenv(UVI_OWNER_RUN_DIR_ENV);

	return dir ? dir : UVI_OWNER_RUN_DIR;
}

static int check_run_dir(const char *dir)
{
	if (dir[0] != '/')
		return uvi_fail(-EINVAL, UVI_OWNER_RUN_DIR_ENV "='%s' is not an absolute path "
				"(unset it to use " UVI_OWNER_RUN_DIR ")", dir);
	return 0;
}

int uvi_owner_path(struct viommu_pci_addr addr, const char *suffix, char *buf, size_t size)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	const char *dir = run_dir();
	int rc, n;

	rc = check_run_dir(dir);
	if (rc)
		return rc;
	viommu_pci_addr_format(addr, name, sizeof(name));
	n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= size)
		return uvi_fail(-ENAMETOOLONG, "the path of %s%s in " UVI_OWNER_RUN_DIR_ENV
				" is longer than %zu bytes", name, suffix, size - 1);
	return 0;
}

static int make_run_dir(void)
{
	const char *dir = run_dir();
	int err;

	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	err = errno;
	if (err == EACCES || err == EPERM)
		return uvi_fail(-err, "cannot create %s: permission denied (run as root, or set "
				UVI_OWNER_RUN_DIR_ENV " to a writable directory)", dir);
	return uvi_fail(-err, "cannot create %s: %s", dir, strerror(err));
}

/* Unprintable bytes (the file is input, the command line is anybody's) as '?'. */
static void make_printable(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isprint((unsigned char)s[i]))
			s[i] = '?';
}

/* /proc/self/cmdline with its arguments separated by spaces (cut to fit). */
static void read_command_line(char *buf, size_t size)
{
	ssize_t n = -1;
	int fd;

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n <= 0) {
		snprintf(buf, size, "%s", program_invocation_short_name);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	make_printable(buf, (size_t)n);
	buf[n] = '\0';
}

/* The -EBUSY failure, naming the owner recorded in the lock file fd. */
static int report_owner(int fd, const char *device, const char *path)
{
	char rec[OWNER_RECORD_MAX + 1];
	char *end, *command;
	ssize_t n;
	long pid;

	n = pread(fd, rec, OWNER_RECORD_MAX, 0);
	if (n <= 0)
		return uvi_fail(-EBUSY, "%s is owned by another process (it has not written its "
				"pid into %s yet)", device, path);
	rec[n] = '\0';
	pid = strtol(rec, &end, 10);
	if (end == rec || *end != ' ' || pid <= 0 || pid > INT32_MAX)
		return uvi_fail(-EBUSY, "%s is owned by another process (%s names no pid)",
				device, path);
	command = end + 1;
	command[strcspn(command, "\n")] = '\0';
	make_printable(command, strlen(command));
	return uvi_fail(-EBUSY, "%s is owned by pid %ld (%.*s); stop it first", device, pid,
			SHOWN_COMMAND_MAX, command);
}

static int open_lock_file(const char *path, int *fd_out)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = errno;
		if (err == EACCES)
			return uvi_fail(-err, "%s: permission denied (run as root, or set "
					UVI_OWNER_RUN_DIR_ENV " to a writable directory)", path);
		return uvi_fail(-err, "%s: cannot open: %s", path, strerror(err));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return uvi_fail(-EINVAL, "%s is not a regular file: remove it", path);
	}
	*fd_out = fd;
	return 0;
}

static int take_lock(struct uvi_owner *o, const char *path)
{
	int fd = -1, rc, err;

	rc = open_lock_file(path, &fd);
	if (rc)
		return rc;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		o->lock_fd = fd;
		return 0;
	}
	err = errno;
	if (err == EWOULDBLOCK)
		rc = report_owner(fd, o->device, path);
	else
		rc = uvi_fail(-err, "%s: cannot lock: %s", path, strerror(err));
	close(fd);
	return rc;
}

static int record_owner(struct uvi_owner *o, const char *path)
{
	char rec[OWNER_RECORD_MAX];
	int len, err;

	len = snprintf(rec, sizeof(rec), "%d %s\n", (int)o->pid, o->command_line);
	if (len >= (int)sizeof(rec))
		len = (int)sizeof(rec) - 1;
	errno = 0;
	if (ftruncate(o->lock_fd, 0) == 0 && pwrite(o->lock_fd, rec, (size_t)len, 0) == len)
		return 0;
	err = errno ? errno : EIO;
	return uvi_fail(-err, "%s: cannot write the owner's pid: %s", path, strerror(err));
}

/* A stale record must never name this process once it has let go. */
static void clear_record(struct uvi_owner *o)
{
	int rc = ftruncate(o->lock_fd, 0);

	(void)rc; /* nothing to undo: closing the descriptor is what unlocks */
}

/* The fields the owner fills in itself, and strings cut to fit. */
static void stamp(const struct uvi_owner *o, struct uvi_owner_state *st)
{
	size_t n = strnlen(o->command_line, sizeof(st->command) - 1);

	st->pid = o->pid;
	memset(st->command, 0, sizeof(st->command));
	memcpy(st->command, o->command_line, n);
	st->access[sizeof(st->access) - 1] = '\0';
	st->ring[sizeof(st->ring) - 1] = '\0';
}

int uvi_owner_acquire(struct viommu_pci_addr addr, struct uvi_owner **out)
{
	char lock_path[PATH_MAX], state_path[PATH_MAX];
	struct uvi_owner *o;
	int rc;

	if (!out)
		return uvi_fail(-EINVAL, "uvi_owner_acquire: NULL out");
	rc = uvi_owner_path(addr, UVI_OWNER_LOCK_SUFFIX, lock_path, sizeof(lock_path));
	if (!rc)
		rc = uvi_owner_path(addr, UVI_OWNER_STATE_SUFFIX, state_path, sizeof(state_path));
	if (!rc)
		rc = make_run_dir();
	if (rc)
		return rc;
	o = calloc(1, sizeof(*o));
	if (!o)
		return uvi_fail(-ENOMEM, "out of memory");
	o->pid = (int32_t)getpid();
	viommu_pci_addr_format(addr, o->device, sizeof(o->device));
	read_command_line(o->command_line, sizeof(o->command_line));

	rc = take_lock(o, lock_path);
	if (rc)
		goto free;
	rc = record_owner(o, lock_path);
	if (rc)
		goto unlock;
	stamp(o, &o->scratch);
	rc = uvi_owner_snapshot_create(state_path, &o->scratch, &o->snap);
	if (rc)
		goto unlock;
	*out = o;
	return 0;
unlock:
	clear_record(o);
	close(o->lock_fd);
free:
	free(o);
	return rc;
}

void uvi_owner_release(struct uvi_owner *o)
{
	if (!o)
		return;
	uvi_owner_snapshot_destroy(o->snap);
	clear_record(o);
	close(o->lock_fd);
	free(o);
}

void uvi_owner_publish(struct uvi_owner *o, const struct uvi_owner_state *st)
{
	if (!o || !st)
		return;
	o->scratch = *st;
	stamp(o, &o->scratch);
	uvi_owner_snapshot_write(o->snap, &o->scratch);
}
