/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench map end to end against the software device: the JSON
 * contract of issue #4 (doc/bench-map.md), the paired ratio and its
 * option, --live, and the map-medians script. Tiny runs: what is
 * checked is the output's shape and its internal consistency, never a
 * speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli_run.h"
#include "cunit_main.h"

#define bench(r, ...) cli_run((r), BENCH_BIN, __VA_ARGS__)

/* The number after "key": in a JSON text, or -1 when the key is absent. */
static double number_of(const char *json, const char *key)
{
	char pattern[64];
	const char *p;
	double v;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(json, pattern);
	if (!p || sscanf(p + strlen(pattern), "%lf", &v) != 1)
		return -1;
	return v;
}

/* The paired measurement, on by default with the software device: 21 positive finite ratios. */
static void check_paired_default(const char *json)
{
	const char *p = strstr(json, "\"paired64\":{");
	double median, lo, hi;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(number_of(p, "slices"), 21);
	CU_ASSERT_EQUAL(number_of(p, "pairs_per_slice"), 64); /* 640 / 40, in whole rounds of 64 */
	median = number_of(p, "median_ratio");
	lo = number_of(p, "min_ratio");
	hi = number_of(p, "max_ratio");
	CU_ASSERT(lo > 0 && hi < 1e6); /* finite: neither rate was 0 */
	CU_ASSERT(lo <= median && median <= hi);
}

static void test_map_json_contract(void)
{
	static const char *const keys[] = {
		"\"device\":\"sim\"", "\"ring\":\"split\"", "\"results\":[", "\"batch\":1,",
		"\"batch\":8,", "\"batch\":64,", "\"batch\":256,", "\"coalesced64\":{",
		"\"unbatched_pairs_per_s\":", "\"coalesced64_pairs_per_s\":",
		"\"driver_ns_per_request\":", "\"p50_us\":", "\"p99_us\":",
	};
	struct cli_run r;

	bench(&r, "map --device sim --pairs 640 --json");
	CU_ASSERT_EQUAL_FATAL(r.status, 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(r.out, keys[i]));
	CU_ASSERT(number_of(r.out, "unbatched_pairs_per_s") > 0);
	CU_ASSERT(number_of(r.out, "coalesced64_pairs_per_s") > 0);
	check_paired_default(r.out);
}

static void test_map_paired_option(void)
{
	struct cli_run r;

	bench(&r, "map --device sim --pairs 640 --paired 0 --json");
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NULL(strstr(r.out, "paired64"));
	bench(&r, "map --device sim --pairs 640 --paired 3");
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "batch 64 / batch 1, paired: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "median of 3 slices"));
	/* An even count has no middle slice. */
	bench(&r, "map --device sim --paired 4");
	CU_ASSERT_EQUAL(r.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--paired takes 0 or an odd number"));
	bench(&r, "map --device sim --paired 1003");
	CU_ASSERT_EQUAL(r.status, 2);
}

/* --live N: N mappings made first and left in place (the domain's count says so); bounds. */
static void test_map_live_option(void)
{
	struct cli_run r;

	bench(&r, "map --device sim --pairs 640 --paired 0 --live 5000 --json");
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "5000 live pages mapped after the window; "
					     "the domain holds 5000 mappings"));
	CU_ASSERT(number_of(r.out, "unbatched_pairs_per_s") > 0);
	CU_ASSERT(number_of(r.out, "coalesced64_pairs_per_s") > 0); /* its runs miss the live pages */
	bench(&r, "map --device sim --live 65537");
	CU_ASSERT_EQUAL(r.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--live takes a number from 0 to 65536"));
}

/* Lines of text that start with prefix. */
static unsigned lines_starting(const char *text, const char *prefix)
{
	unsigned n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* How many times needle occurs in text. */
static unsigned count_of(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The N in "driver / bare ring Nx" on the line starting with prefix; -1 if none. */
static double ratio_after(const char *text, const char *prefix)
{
	static const char key[] = "driver / bare ring ";
	const char *line = strstr(text, prefix), *p, *eol;
	double v;

	p = line ? strstr(line, key) : NULL;
	eol = line ? strchr(line, '\n') : NULL;
	if (!p || (eol && eol < p) || sscanf(p + strlen(key), "%lfx", &v) != 1)
		return -1;
	return v;
}

/*
 * apps/uviommu-bench/map-medians, one tiny run: a CSV row per ring and
 * batch shape, and per ring the driver's cost beside the bare ring's
 * (`uviommu-bench ring`), both read back from the two tools' JSON.
 */
static void test_map_medians_script(void)
{
	char csv[] = "/tmp/uviommu-medians-XXXXXX";
	char text[CLI_OUT_MAX];
	int fd = mkstemp(csv);
	struct cli_run r;
	FILE *f;
	size_t n;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	cli_run(&r, "/bin/bash", "'%s' '%s' '%s' 1 2000", MAP_MEDIANS, BUILD_ROOT, csv);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(lines_starting(r.out, "split  run 1: batch 1 "), 1);
	CU_ASSERT_EQUAL(lines_starting(r.out, "packed run 1: batch 1 "), 1);
	CU_ASSERT_EQUAL(lines_starting(r.out, "split: driver ns/request at batch 64 "), 1);
	CU_ASSERT_EQUAL(lines_starting(r.out, "packed: driver ns/request at batch 64 "), 1);
	CU_ASSERT_EQUAL(count_of(r.out, "(bare ring "), 2);
	/*
	 * Read, not judged: a tiny run on a loaded machine can spend more wall
	 * time waiting than CPU time, and the tool then clamps the driver's
	 * time to 0.
	 */
	CU_ASSERT(ratio_after(r.out, "split: driver ns/request at batch 64 ") >= 0);
	CU_ASSERT(ratio_after(r.out, "packed: driver ns/request at batch 64 ") >= 0);
	f = fopen(csv, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(csv);
	CU_ASSERT_EQUAL(lines_starting(text, "ring,batch,pairs_per_s,p50_us,p99_us"), 1);
	CU_ASSERT_EQUAL(lines_starting(text, "split,"), 5);
	CU_ASSERT_EQUAL(lines_starting(text, "packed,"), 5);
}

/*
 * A bare ring figure that is not a positive number (the tool's JSON says
 * null for one it could not measure) stops the script with a message
 * naming the ring, not an awk error. A stand-in uviommu-bench prints it.
 */
static void test_map_medians_bad_ring_json(void)
{
	char root[] = "/tmp/uviommu-medians-root-XXXXXX";
	char dir[256], stub[300], cmd[300];
	struct cli_run r;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/apps/uviommu-bench", root);
	snprintf(stub, sizeof(stub), "%s/uviommu-bench", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	f = fopen(stub, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("#!/bin/sh\necho '{\"device\":\"sim\",\"results\":[{\"ring\":\"split\","
	      "\"batch\":64,\"driver_ns_per_request\":null}]}'\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(stub, 0755), 0);
	cli_run(&r, "/bin/bash", "'%s' '%s' /dev/null 1 2000", MAP_MEDIANS, root);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no positive driver_ns_per_request for the split ring"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static const struct test_case cases[] = {
	TEST_CASE(test_map_json_contract),
	TEST_CASE(test_map_paired_option),
	TEST_CASE(test_map_live_option),
	TEST_CASE(test_map_medians_script),
	TEST_CASE(test_map_medians_bad_ring_json),
	TEST_END,
};

int main(void)
{
	return run_suite("uviommu-bench", cases);
}
