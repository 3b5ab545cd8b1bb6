/* SPDX-License-Identifier: BSD-3-Clause */
/* Running modprobe: spawn, capture its output, bounded wait. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/error_internal.h"
#include "modprobe.h"
#include "sysfs.h"

#define MODPROBE_TIMEOUT_MS 30000
#define OUTPUT_MAX 160

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the child's output until EOF or the deadline; 0 on EOF, -ETIMEDOUT otherwise. */
static int collect_output(int fd, char *out, size_t size)
{
	long long deadline = now_ms() + MODPROBE_TIMEOUT_MS;
	size_t used = 0;
	char scratch[256];

	out[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, scratch, sizeof(scratch));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		for (ssize_t i = 0; i < n && used + 1 < size; i++)
			out[used++] = scratch[i] == '\n' ? ' ' : scratch[i];
		out[used] = '\0';
	}
}

static int spawn(const char *module, int out_fd, pid_t *pid)
{
	char *argv[] = { (char *)"modprobe", (char *)module, NULL };
	posix_spawn_file_actions_t fa;
	int rc;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	if (!rc)
		rc = posix_spawn(pid, uvi_modprobe_path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

static int finish(const char *module, pid_t pid, int collected, const char *output)
{
	int status;

	if (collected < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return uvi_fail(-errno, "waiting for 'modprobe %s': %s", module,
					strerror(errno));
	}
	if (collected == -ETIMEDOUT)
		return uvi_fail(-ETIMEDOUT, "'modprobe %s' did not finish in %d s", module,
				MODPROBE_TIMEOUT_MS / 1000);
	if (collected < 0)
		return uvi_fail(collected, "reading the output of 'modprobe %s': %s", module,
				strerror(-collected));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return uvi_fail(-EIO, "'modprobe %s' failed (exit status %d): %s", module,
				WEXITSTATUS(status), output[0] ? output : "no output");
	return uvi_fail(-EIO, "'modprobe %s' was killed by signal %d", module,
			WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int uvi_modprobe(const char *module)
{
	char output[OUTPUT_MAX];
	int pipe_fds[2], rc, collected;
	pid_t pid;

	if (access(uvi_modprobe_path, X_OK))
		return uvi_fail(-ENOENT, "module %s is not loaded and %s is not available: load "
				"it yourself (insmod %s.ko with its dependencies)", module,
				uvi_modprobe_path, module);
	if (pipe2(pipe_fds, O_CLOEXEC))
		return uvi_fail(-errno, "modprobe %s: pipe: %s", module, strerror(errno));
	rc = spawn(module, pipe_fds[1], &pid);
	close(pipe_fds[1]);
	if (rc) {
		close(pipe_fds[0]);
		return uvi_fail(rc, "cannot run %s: %s", uvi_modprobe_path, strerror(-rc));
	}
	collected = collect_output(pipe_fds[0], output, sizeof(output));
	close(pipe_fds[0]);
	return finish(module, pid, collected, output);
}
