/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_GUEST_CHECK_H
#define UVIOMMU_GUEST_CHECK_H

/*
 * The report format of the programs tests/vm/check-* run in the guest:
 * one "CHECK ok|FAIL <what>[: detail]" line per check (the host turns
 * each into a result), then "<name>: N passed, N failed".
 */

#include <stdbool.h>

/* Print the CHECK line (the detail only on failure) and count it; returns ok. */
bool check(bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print the summary line; the exit status: 0 if nothing failed, else 1. */
int check_summary(const char *name);

#endif
