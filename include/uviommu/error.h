/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_ERROR_H
#define UVIOMMU_ERROR_H

/*
 * Error reporting convention for every uviommu function:
 *  - the return value is 0 (or a non-negative count) on success and a
 *    negative errno value on failure;
 *  - on failure, a human-readable sentence describing what went wrong is
 *    kept per thread and can be read with viommu_last_error() until the
 *    next failing call in the same thread.
 */

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last failure in the calling thread ("" if none). */
const char *viommu_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
