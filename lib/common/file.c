/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error_internal.h"
#include "file_internal.h"

#define READ_CHUNK 4096

static int read_all(int fd, const char *path, const char *what, size_t max_size,
		    char **buf, size_t *len)
{
	size_t cap = 0;

	*buf = NULL;
	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			char *p;

			if (cap > max_size) {
				free(*buf);
				return uvi_fail(-EFBIG, "%s %s: larger than %zu bytes",
						   what, path, max_size);
			}
			p = realloc(*buf, cap + READ_CHUNK);
			if (!p) {
				free(*buf);
				return uvi_fail(-ENOMEM, "%s %s: out of memory", what, path);
			}
			*buf = p;
			cap += READ_CHUNK;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(*buf);
			return uvi_fail(-err, "%s %s: read failed: %s", what, path, strerror(err));
		}
		*len += (size_t)n;
	}
	if (*len > max_size) {
		free(*buf);
		return uvi_fail(-EFBIG, "%s %s: larger than %zu bytes", what, path, max_size);
	}
	return 0;
}

int uvi_read_file(const char *path, const char *what, size_t max_size,
		     void **data, size_t *size)
{
	char *buf;
	size_t len;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == EACCES)
			return uvi_fail(-err, "%s %s: permission denied (run as root)",
					   what, path);
		return uvi_fail(-err, "%s %s: cannot open: %s", what, path, strerror(err));
	}
	rc = read_all(fd, path, what, max_size, &buf, &len);
	close(fd);
	if (rc)
		return rc;
	*data = buf;
	*size = len;
	return 0;
}
