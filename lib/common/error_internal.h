/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_ERROR_INTERNAL_H
#define UVIOMMU_ERROR_INTERNAL_H

#include <uviommu/error.h>

/*
 * Record a failure message for viommu_last_error() and return err, so that
 * a failing path reads: return uvi_fail(-EINVAL, "what went wrong");
 */
int uvi_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
