/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

static unsigned passed, failed;

bool check(bool ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("CHECK %s %s", ok ? "ok" : "FAIL", what);
	if (!ok && fmt) {
		fputs(": ", stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

int check_summary(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, passed, failed);
	return failed ? 1 : 0;
}
