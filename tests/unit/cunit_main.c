/* SPDX-License-Identifier: BSD-3-Clause */
#include "cunit_main.h"

static int add_case(CU_pSuite suite, const struct test_case *c)
{
	CU_pTest test = CU_add_test(suite, c->name, c->fn);

	if (!test)
		return -1;
	if (!c->skip)
		return 0;
	printf("SKIP %s: %s\n", c->name, c->skip);
	return CU_set_test_active(test, CU_FALSE) == CUE_SUCCESS ? 0 : -1;
}

int run_suite(const char *name, const struct test_case *cases)
{
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(name, NULL, NULL);
	if (!suite)
		goto error;
	for (const struct test_case *c = cases; c->name; c++)
		if (add_case(suite, c))
			goto error;
	/* Skipped cases show as inactive in the summary; they are not failures. */
	CU_set_fail_on_inactive(CU_FALSE);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto error;
	failures = CU_get_number_of_failures();
	if (CU_get_number_of_tests_run() == 0)
		failures = 1; /* a suite that ran nothing proves nothing */
	CU_cleanup_registry();
	return failures ? 1 : 0;
error:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}
