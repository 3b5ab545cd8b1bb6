/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device ownership and the published snapshot (drivers/iommu/owner.h), in a
 * temporary UVIOMMU_RUN_DIR per test. Other owners and readers are forked
 * children that report through a pipe; a child that waits to be killed
 * also has an alarm, so a failed test never leaves it behind for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../drivers/iommu/owner.h"

#define DEV_NAME "0000:00:02.0"
#define CHILD_ALARM_S 60
/* The torn-read test: the reader stops after this many reads or value changes. */
#define TORN_MAX_READS 200000u
#define TORN_WANT_CHANGES 1000u
#define TORN_MAX_PUBLISHES 100000000ull

static const struct viommu_pci_addr dev = {0, VIOMMU_BDF(0, 2, 0)};
static const struct viommu_pci_addr other_dev = {0, VIOMMU_BDF(0, 3, 0)};
static const struct viommu_pci_addr copy_dev = {0, VIOMMU_BDF(0, 4, 0)};
static const struct viommu_pci_addr junk_dev = {0, VIOMMU_BDF(0, 5, 0)};

static char run_dir[64];
static char path_buf[PATH_MAX];

/* A new empty run directory for the test, in UVIOMMU_RUN_DIR. */
static void fresh_run_dir(void)
{
	snprintf(run_dir, sizeof(run_dir), "/tmp/uvi-owner-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(run_dir));
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, run_dir, 1), 0);
}

static void remove_run_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static const char *in_run_dir(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", run_dir, name);
	return path_buf;
}

static int file_exists(const char *name)
{
	struct stat st;

	return stat(in_run_dir(name), &st) == 0;
}

static ssize_t read_whole(const char *name, void *buf, size_t size)
{
	int fd = open(in_run_dir(name), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	return n;
}

static void write_whole(const char *name, const void *buf, size_t len)
{
	int fd = open(in_run_dir(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void put_lock_record(const char *text)
{
	write_whole(DEV_NAME ".lock", text, strlen(text));
}

/* Hold name locked as its owner would, through a descriptor of our own. */
static int hold_lock(const char *name)
{
	int fd = open(in_run_dir(name), O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(flock(fd, LOCK_EX | LOCK_NB), 0);
	return fd;
}

static int contains(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* ---- forked other processes ---- */

struct child_report {
	int rc;
	char msg[256];
};

/* In a child: try to acquire dev, report rc and message, exit. */
static pid_t fork_acquirer(int *read_fd)
{
	int p[2];
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct child_report r = {0};
		struct uvi_owner *o;

		close(p[0]);
		r.rc = uvi_owner_acquire(dev, &o);
		snprintf(r.msg, sizeof(r.msg), "%s", viommu_last_error());
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	*read_fd = p[0];
	return pid;
}

static struct child_report collect_acquirer(pid_t pid, int fd)
{
	struct child_report r = {.rc = 1};
	int status;

	CU_ASSERT_EQUAL(read(fd, &r, sizeof(r)), (ssize_t)sizeof(r));
	close(fd);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	r.msg[sizeof(r.msg) - 1] = '\0';
	return r;
}

/* In a child: acquire dev, publish requests = 42, say 'r', wait to be killed. */
static pid_t fork_owner_waiting_for_kill(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct uvi_owner_state st = {.requests = 42};
		struct uvi_owner *o;

		close(p[0]);
		alarm(CHILD_ALARM_S);
		if (uvi_owner_acquire(dev, &o))
			_exit(write(p[1], "f", 1) == 1 ? 1 : 2);
		uvi_owner_publish(o, &st);
		if (write(p[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	close(p[0]);
	CU_ASSERT_EQUAL_FATAL(c, 'r');
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	int status;

	CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* ---- states ---- */

/* Every field (but pid and command, which the owner sets) from one counter. */
static void fill_from(uint64_t c, struct uvi_owner_state *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->access, sizeof(st->access), "%07llx", (unsigned long long)(c & 0xfffffff));
	snprintf(st->ring, sizeof(st->ring), "%07llx", (unsigned long long)(c & 0xfffffff));
	st->features_negotiated = c;
	st->bypass = (uint8_t)c;
	st->requests = st->request_errors = st->notifies = c;
	st->faults = st->faults_dropped_malformed = st->resets = c;
	st->n_domains = (uint32_t)c;
	for (unsigned d = 0; d < UVI_OWNER_MAX_DOMAINS; d++) {
		struct uvi_owner_domain *dom = &st->domains[d];

		dom->id = dom->n_endpoints = (uint32_t)c;
		for (unsigned e = 0; e < UVI_OWNER_MAX_ENDPOINTS; e++)
			dom->endpoints[e] = (uint32_t)c;
		dom->mappings = dom->mapped_bytes = c;
	}
}

static int domain_agrees(const struct uvi_owner_domain *dom, uint64_t c)
{
	if (dom->id != (uint32_t)c || dom->n_endpoints != (uint32_t)c ||
	    dom->mappings != c || dom->mapped_bytes != c)
		return 0;
	for (unsigned e = 0; e < UVI_OWNER_MAX_ENDPOINTS; e++)
		if (dom->endpoints[e] != (uint32_t)c)
			return 0;
	return 1;
}

/* True when every field agrees with what fill_from(st->requests) writes. */
static int filled_from_one_counter(const struct uvi_owner_state *st)
{
	uint64_t c = st->requests;
	char text[8];

	snprintf(text, sizeof(text), "%07llx", (unsigned long long)(c & 0xfffffff));
	if (strcmp(st->access, text) || strcmp(st->ring, text) ||
	    st->features_negotiated != c || st->bypass != (uint8_t)c ||
	    st->request_errors != c || st->notifies != c || st->faults != c ||
	    st->faults_dropped_malformed != c || st->resets != c || st->n_domains != (uint32_t)c)
		return 0;
	for (unsigned d = 0; d < UVI_OWNER_MAX_DOMAINS; d++)
		if (!domain_agrees(&st->domains[d], c))
			return 0;
	return 1;
}

static void assert_same_counters(const struct uvi_owner_state *a, const struct uvi_owner_state *b)
{
	CU_ASSERT_STRING_EQUAL(a->access, b->access);
	CU_ASSERT_STRING_EQUAL(a->ring, b->ring);
	CU_ASSERT_EQUAL(a->features_negotiated, b->features_negotiated);
	CU_ASSERT_EQUAL(a->bypass, b->bypass);
	CU_ASSERT_EQUAL(a->requests, b->requests);
	CU_ASSERT_EQUAL(a->request_errors, b->request_errors);
	CU_ASSERT_EQUAL(a->notifies, b->notifies);
	CU_ASSERT_EQUAL(a->faults, b->faults);
	CU_ASSERT_EQUAL(a->faults_dropped_malformed, b->faults_dropped_malformed);
	CU_ASSERT_EQUAL(a->resets, b->resets);
	CU_ASSERT_EQUAL(a->n_domains, b->n_domains);
	CU_ASSERT_EQUAL(memcmp(a->domains, b->domains, sizeof(a->domains)), 0);
}

/* ---- tests ---- */

static void test_acquire_records_owner_and_release_cleans_up(void)
{
	struct uvi_owner_state st;
	struct uvi_owner *o;
	char rec[512], want[32];
	ssize_t n;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	n = read_whole(DEV_NAME ".lock", rec, sizeof(rec) - 1);
	CU_ASSERT_FATAL(n > 0);
	rec[n] = '\0';
	snprintf(want, sizeof(want), "%d ", (int)getpid());
	CU_ASSERT_EQUAL(strncmp(rec, want, strlen(want)), 0);
	CU_ASSERT(contains(rec, program_invocation_short_name));
	CU_ASSERT(file_exists(DEV_NAME ".state"));

	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), 0);
	CU_ASSERT_EQUAL(st.pid, getpid());
	/* The snapshot's command is the recorded command line, cut to fit. */
	CU_ASSERT(st.command[0] != '\0');
	CU_ASSERT_EQUAL(strncmp(rec + strlen(want), st.command, strlen(st.command)), 0);
	CU_ASSERT_EQUAL(st.requests, 0);
	CU_ASSERT_EQUAL(st.n_domains, 0);

	uvi_owner_release(o);
	CU_ASSERT(!file_exists(DEV_NAME ".state"));
	/* The lock file stays (see owner.c), emptied. */
	CU_ASSERT_EQUAL(read_whole(DEV_NAME ".lock", rec, sizeof(rec)), 0);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), -ENOENT);
	CU_ASSERT(contains(viommu_last_error(), "not owned"));
	remove_run_dir();
}

static void test_second_acquire_is_busy_and_names_owner(void)
{
	struct uvi_owner *o, *o2, *other;
	struct child_report r;
	char want[32];
	int fd;
	pid_t pid;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	snprintf(want, sizeof(want), "pid %d ", (int)getpid());

	pid = fork_acquirer(&fd);
	r = collect_acquirer(pid, fd);
	CU_ASSERT_EQUAL(r.rc, -EBUSY);
	CU_ASSERT(contains(r.msg, DEV_NAME " is owned by"));
	CU_ASSERT(contains(r.msg, want));
	CU_ASSERT(contains(r.msg, program_invocation_short_name));

	/* A second open in the same process is refused too. */
	o2 = NULL;
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o2), -EBUSY);
	CU_ASSERT_PTR_NULL(o2);
	CU_ASSERT(contains(viommu_last_error(), want));
	/* Other devices are not affected. */
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(other_dev, &other), 0);
	uvi_owner_release(other);
	uvi_owner_release(o);
	remove_run_dir();
}

static void test_busy_message_from_a_bad_record(void)
{
	struct uvi_owner *o = NULL;
	int fd;

	fresh_run_dir();
	/* A holder that has not written its record yet. */
	put_lock_record("");
	fd = hold_lock(DEV_NAME ".lock");
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EBUSY);
	CU_ASSERT(contains(viommu_last_error(), "has not written its pid"));
	close(fd);
	/* A record that is garbage, with unprintable bytes. */
	put_lock_record("x\x01\x1b[2J\n");
	fd = hold_lock(DEV_NAME ".lock");
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EBUSY);
	CU_ASSERT(contains(viommu_last_error(), "names no pid"));
	close(fd);
	put_lock_record("77 evil\x1b[2Jcmd\n");
	fd = hold_lock(DEV_NAME ".lock");
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EBUSY);
	CU_ASSERT(contains(viommu_last_error(), "pid 77 (evil?[2Jcmd)"));
	close(fd);
	CU_ASSERT_PTR_NULL(o);
	remove_run_dir();
}

static void test_release_lets_the_next_owner_in(void)
{
	struct uvi_owner *o;
	struct child_report r;
	int fd;
	pid_t pid;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	uvi_owner_release(o);
	pid = fork_acquirer(&fd);
	r = collect_acquirer(pid, fd);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	uvi_owner_release(o);
	remove_run_dir();
}

static void test_killed_owner_lets_the_next_owner_in(void)
{
	struct uvi_owner_state st;
	struct uvi_owner *o = NULL;
	char want[32];
	pid_t child;

	fresh_run_dir();
	child = fork_owner_waiting_for_kill();
	snprintf(want, sizeof(want), "pid %d ", (int)child);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), 0);
	CU_ASSERT_EQUAL(st.pid, child);
	CU_ASSERT_EQUAL(st.requests, 42);
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EBUSY);
	CU_ASSERT(contains(viommu_last_error(), want));

	kill_and_reap(child);
	/* SIGKILL ran no clean-up: the snapshot is still there, but stale. */
	CU_ASSERT(file_exists(DEV_NAME ".state"));
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), -ENOENT);
	CU_ASSERT(contains(viommu_last_error(), "left by one that exited"));

	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), 0);
	CU_ASSERT_EQUAL(st.pid, getpid());
	CU_ASSERT_EQUAL(st.requests, 0);
	uvi_owner_release(o);
	remove_run_dir();
}

static void test_publish_read_round_trip(void)
{
	struct uvi_owner_state st, got;
	struct uvi_owner *o;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	memset(&st, 0, sizeof(st));
	st.pid = 1;
	snprintf(st.command, sizeof(st.command), "not me");
	snprintf(st.access, sizeof(st.access), "uio");
	snprintf(st.ring, sizeof(st.ring), "packed");
	st.features_negotiated = 0x40000007full;
	st.bypass = 0;
	st.requests = 1000;
	st.request_errors = 3;
	st.notifies = 20;
	st.faults = 5;
	st.faults_dropped_malformed = 1;
	st.resets = 2;
	st.n_domains = 70; /* more than are listed */
	for (unsigned d = 0; d < UVI_OWNER_MAX_DOMAINS; d++) {
		st.domains[d].id = d + 1;
		st.domains[d].n_endpoints = d % 3;
		for (unsigned e = 0; e < d % 3; e++)
			st.domains[d].endpoints[e] = d * 8 + e;
		st.domains[d].mappings = d * 100;
		st.domains[d].mapped_bytes = (uint64_t)d << 21;
	}
	uvi_owner_publish(o, &st);
	CU_ASSERT_EQUAL_FATAL(uvi_owner_read(dev, &got), 0);
	CU_ASSERT_EQUAL(got.pid, getpid());
	CU_ASSERT_STRING_NOT_EQUAL(got.command, "not me");
	assert_same_counters(&st, &got);

	/* The latest publish wins; unterminated strings come back terminated. */
	st.requests = 1001;
	memset(st.access, 'x', sizeof(st.access));
	uvi_owner_publish(o, &st);
	CU_ASSERT_EQUAL_FATAL(uvi_owner_read(dev, &got), 0);
	CU_ASSERT_EQUAL(got.requests, 1001);
	CU_ASSERT_STRING_EQUAL(got.access, "xxxxxxx");
	uvi_owner_release(o);
	remove_run_dir();
}

struct torn_result {
	unsigned reads, consistent, torn, retried_out, other_errors, changes;
};

/* In the reader child: read until enough value changes were seen, or the bound. */
static struct torn_result read_while_written(void)
{
	struct torn_result r = {0};
	struct uvi_owner_state st;
	uint64_t last = 0;

	while (r.reads < TORN_MAX_READS && r.changes < TORN_WANT_CHANGES) {
		int rc = uvi_owner_read(dev, &st);

		r.reads++;
		if (rc == -EAGAIN) {
			r.retried_out++;
			continue;
		}
		if (rc) {
			r.other_errors++;
			continue;
		}
		r.consistent++;
		if (!filled_from_one_counter(&st))
			r.torn++;
		if (st.requests != last)
			r.changes++;
		last = st.requests;
	}
	return r;
}

static void test_reader_never_sees_a_torn_snapshot(void)
{
	struct uvi_owner_state st;
	struct torn_result r = {0};
	struct uvi_owner *o;
	unsigned long long c;
	int p[2], status;
	pid_t pid;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	fill_from(1, &st);
	uvi_owner_publish(o, &st);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		alarm(CHILD_ALARM_S);
		r = read_while_written();
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	/* Publish until the reader is done; a varying pause moves the writes' phase. */
	for (c = 2; c < TORN_MAX_PUBLISHES; c++) {
		fill_from(c, &st);
		uvi_owner_publish(o, &st);
		for (volatile unsigned spin = 0; spin < (c % 32) * 32; spin++)
			;
		if (c % 256 == 0 && waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	if (c == TORN_MAX_PUBLISHES) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	printf("\n    %llu publishes; %u reads: %u consistent (%u value changes), %u retried "
	       "out, %u torn, %u other errors\n", c - 1, r.reads, r.consistent, r.changes,
	       r.retried_out, r.torn, r.other_errors);
	CU_ASSERT_EQUAL(r.torn, 0);
	CU_ASSERT_EQUAL(r.other_errors, 0);
	CU_ASSERT(r.consistent > 0);
	/* Reads really overlapped the writes. */
	CU_ASSERT(r.changes > 1);
	uvi_owner_release(o);
	remove_run_dir();
}

static void test_stale_state_file_reads_as_not_owned(void)
{
	static unsigned char bytes[64 * 1024];
	struct uvi_owner_state st;
	struct uvi_owner *o;
	ssize_t n;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	/* A valid snapshot naming a live pid, that nobody holds: still stale. */
	n = read_whole(DEV_NAME ".state", bytes, sizeof(bytes));
	CU_ASSERT_FATAL(n > 0);
	write_whole("0000:00:04.0.state", bytes, (size_t)n);
	CU_ASSERT_EQUAL(uvi_owner_read(copy_dev, &st), -ENOENT);
	/* Garbage, without a lock file either. */
	write_whole("0000:00:05.0.state", "garbage", 7);
	CU_ASSERT_EQUAL(uvi_owner_read(junk_dev, &st), -ENOENT);
	/* Nothing at all. */
	CU_ASSERT_EQUAL(uvi_owner_read(other_dev, &st), -ENOENT);
	CU_ASSERT(contains(viommu_last_error(), "0000:00:03.0 is not owned"));
	uvi_owner_release(o);
	remove_run_dir();
}

/* In a fresh run directory, the bytes of a real owner's state file (then released). */
static ssize_t capture_state_file(unsigned char *bytes, size_t size)
{
	struct uvi_owner *o;
	ssize_t n;

	fresh_run_dir();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	n = read_whole(DEV_NAME ".state", bytes, size);
	uvi_owner_release(o);
	CU_ASSERT_FATAL(n > 24);
	return n;
}

static void test_live_file_of_another_layout(void)
{
	static unsigned char bytes[64 * 1024];
	struct uvi_owner_state st;
	ssize_t n;
	int fd;

	n = capture_state_file(bytes, sizeof(bytes));

	write_whole("0000:00:05.0.state", bytes, (size_t)n - 8);
	fd = hold_lock("0000:00:05.0.state");
	CU_ASSERT_EQUAL(uvi_owner_read(junk_dev, &st), -EPROTO);
	CU_ASSERT(contains(viommu_last_error(), "another version"));
	close(fd);

	bytes[0] ^= 0xff; /* the magic */
	write_whole("0000:00:05.0.state", bytes, (size_t)n);
	fd = hold_lock("0000:00:05.0.state");
	CU_ASSERT_EQUAL(uvi_owner_read(junk_dev, &st), -EPROTO);
	close(fd);
	remove_run_dir();
}

/*
 * An owner killed in the middle of an update leaves the counter odd: the
 * reader gives up after its bounded retries. White box: the counter is the
 * third 64-bit word of the file (owner_state.c).
 */
static void test_counter_left_odd(void)
{
	static unsigned char bytes[64 * 1024];
	struct uvi_owner_state st;
	ssize_t n;
	int fd;

	n = capture_state_file(bytes, sizeof(bytes));
	bytes[16] |= 1;
	write_whole("0000:00:05.0.state", bytes, (size_t)n);
	fd = hold_lock("0000:00:05.0.state");
	CU_ASSERT_EQUAL(uvi_owner_read(junk_dev, &st), -EAGAIN);
	CU_ASSERT(contains(viommu_last_error(), "try again"));
	close(fd);
	CU_ASSERT_EQUAL(uvi_owner_read(junk_dev, &st), -ENOENT);
	remove_run_dir();
}

static void test_bad_arguments(void)
{
	static char long_dir[PATH_MAX + 64];
	struct uvi_owner_state st, got;
	struct uvi_owner *o = NULL;

	fresh_run_dir();
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, NULL), -EINVAL);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, NULL), -EINVAL);

	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, "", 1), 0);
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EINVAL);
	CU_ASSERT(contains(viommu_last_error(), UVI_OWNER_RUN_DIR_ENV));
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, "relative/dir", 1), 0);
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -EINVAL);
	memset(long_dir, 'a', sizeof(long_dir) - 1);
	long_dir[0] = '/';
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, long_dir, 1), 0);
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &st), -ENAMETOOLONG);
	/* A run directory whose parent is missing is not created. */
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, in_run_dir("no/such"), 1), 0);
	CU_ASSERT_EQUAL(uvi_owner_acquire(dev, &o), -ENOENT);
	CU_ASSERT(contains(viommu_last_error(), "no/such"));
	CU_ASSERT_PTR_NULL(o);

	/* A lock path that is not a file. */
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, run_dir, 1), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(in_run_dir(DEV_NAME ".lock"), 0755), 0);
	CU_ASSERT(uvi_owner_acquire(dev, &o) < 0);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_EQUAL(rmdir(in_run_dir(DEV_NAME ".lock")), 0);

	/* NULLs change nothing. */
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	fill_from(7, &st);
	uvi_owner_publish(o, &st);
	uvi_owner_publish(o, NULL);
	uvi_owner_publish(NULL, &st);
	uvi_owner_release(NULL);
	CU_ASSERT_EQUAL(uvi_owner_read(dev, &got), 0);
	CU_ASSERT_EQUAL(got.requests, 7);
	uvi_owner_release(o);
	remove_run_dir();
}

static void test_run_dir_is_created(void)
{
	struct uvi_owner *o;
	struct stat st;
	char dir[PATH_MAX];

	fresh_run_dir();
	snprintf(dir, sizeof(dir), "%s", in_run_dir("run"));
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, dir, 1), 0);
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(dev, &o), 0);
	CU_ASSERT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	CU_ASSERT(file_exists("run/" DEV_NAME ".lock"));
	CU_ASSERT(file_exists("run/" DEV_NAME ".state"));
	uvi_owner_release(o);
	remove_run_dir();
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_acquire_records_owner_and_release_cleans_up),
		TEST_CASE(test_second_acquire_is_busy_and_names_owner),
		TEST_CASE(test_busy_message_from_a_bad_record),
		TEST_CASE(test_release_lets_the_next_owner_in),
		TEST_CASE(test_killed_owner_lets_the_next_owner_in),
		TEST_CASE(test_publish_read_round_trip),
		TEST_CASE(test_reader_never_sees_a_torn_snapshot),
		TEST_CASE(test_stale_state_file_reads_as_not_owned),
		TEST_CASE(test_live_file_of_another_layout),
		TEST_CASE(test_counter_left_odd),
		TEST_CASE(test_bad_arguments),
		TEST_CASE(test_run_dir_is_created),
		TEST_END,
	};

	return run_suite("owner", cases);
}
