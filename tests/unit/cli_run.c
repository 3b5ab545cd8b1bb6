/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"

static void read_all(FILE *f, char *buf)
{
	size_t n = fread(buf, 1, CLI_OUT_MAX - 1, f);

	buf[n] = '\0';
}

void cli_run(struct cli_run *r, const char *bin, const char *fmt, ...)
{
	char errpath[] = "/tmp/uviommu-cli-XXXXXX";
	char args[1024], cmd[2048];
	int fd = mkstemp(errpath);
	FILE *p, *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'", bin, args, errpath);
	p = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	read_all(p, r->out);
	r->status = WEXITSTATUS(pclose(p));
	e = fopen(errpath, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	read_all(e, r->err);
	fclose(e);
	unlink(errpath);
}
