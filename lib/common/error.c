/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>

#include "error_internal.h"

#define VIOMMU_ERROR_MAX 256

static _Thread_local char last_error[VIOMMU_ERROR_MAX];

int uvi_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *viommu_last_error(void)
{
	return last_error;
}
