/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_CUNIT_MAIN_H
#define UVIOMMU_TEST_CUNIT_MAIN_H

/*
 * Every suite binary runs one CUnit suite with the basic runner (which
 * prints CUnit's summary) and exits non-zero if any assertion failed.
 */

#include <CUnit/Basic.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_CASE(fn) { #fn, fn }
#define TEST_END { NULL, NULL }

int run_suite(const char *name, const struct test_case *cases);

#endif
