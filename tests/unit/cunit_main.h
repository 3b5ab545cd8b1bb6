/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_CUNIT_MAIN_H
#define UVIOMMU_TEST_CUNIT_MAIN_H

/*
 * Every suite binary runs one CUnit suite with the basic runner (which
 * prints CUnit's summary) and exits non-zero if any assertion failed.
 *
 * A case whose `skip` is set cannot run where the suite runs now (a check
 * only the software device can make, for instance): it is registered but
 * inactive, printed as "SKIP <name>: <skip>", and counted in the Inactive
 * column of CUnit's summary, never as passed.
 */

#include <CUnit/Basic.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	const char *skip; /* why it does not run here; NULL: it runs */
};

#define TEST_CASE(f) { .name = #f, .fn = f }
#define TEST_END { .name = NULL }

int run_suite(const char *name, const struct test_case *cases);

#endif
