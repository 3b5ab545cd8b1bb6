/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_CLI_RUN_H
#define UVIOMMU_TEST_CLI_RUN_H

/* Running one of the project's tools from a CUnit test, capturing what it prints. */

#define CLI_OUT_MAX 16384

struct cli_run {
	int status; /* exit status */
	char out[CLI_OUT_MAX];
	char err[CLI_OUT_MAX];
};

/* Run `bin` with arguments (printf-formatted shell words); asserts (fatally) it could run. */
void cli_run(struct cli_run *r, const char *bin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
