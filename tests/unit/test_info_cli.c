/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info end to end: output contracts and exit statuses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"

/* Run uviommu-info with arguments (printf-formatted shell words). */
#define info(r, ...) cli_run((r), INFO_BIN, __VA_ARGS__)

static void expect_exact(const char *args, int status, const char *out)
{
	struct cli_run r;

	info(&r, args, TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, status);
	if (strcmp(r.out, out) != 0) {
		fprintf(stderr, "\n%s\n got: %s\nwant: %s\n", args, r.out, out);
		CU_FAIL("output differs");
	}
}

static void test_viot_json_contract(void)
{
	expect_exact("viot --file %s/viot/q35-default.bin --json", 0,
		     "{\"length\":88,\"revision\":0,\"oem_id\":\"BOCHS \",\"iommus\":["
		     "{\"offset\":48,\"type\":\"virtio-pci\",\"segment\":0,\"bdf\":16}],"
		     "\"endpoints\":[{\"offset\":64,\"type\":\"pci-range\",\"endpoint_start\":0,"
		     "\"segment_start\":0,\"segment_end\":0,\"bdf_start\":0,\"bdf_end\":255,"
		     "\"iommu\":48}]}\n");
}

static void test_endpoint_json_contract(void)
{
	expect_exact("viot --file %s/viot/q35-default.bin --endpoint 0000:00:03.0 --json", 0,
		     "{\"device\":\"0000:00:03.0\",\"endpoint_id\":24,\"iommu\":48}\n");
	expect_exact("viot --file %s/viot/q35-default.bin --endpoint 00:1f.7 --json", 0,
		     "{\"device\":\"0000:00:1f.7\",\"endpoint_id\":255,\"iommu\":48}\n");
	/* The IOMMU itself and uncovered functions: null, still exit 0. */
	expect_exact("viot --file %s/viot/q35-default.bin --endpoint 0000:00:02.0 --json", 0,
		     "{\"device\":\"0000:00:02.0\",\"endpoint_id\":null,\"iommu\":null}\n");
	expect_exact("viot --file %s/viot/q35-default.bin --endpoint 0000:05:00.0 --json", 0,
		     "{\"device\":\"0000:05:00.0\",\"endpoint_id\":null,\"iommu\":null}\n");
}

static void test_mmio_json(void)
{
	expect_exact("viot --topology %s/topology/microvm.topo --json", 0,
		     "{\"length\":263,\"revision\":0,\"oem_id\":\"\",\"iommus\":["
		     "{\"offset\":3,\"type\":\"virtio-mmio\",\"base\":\"0xfeb00000\"}],"
		     "\"endpoints\":[{\"offset\":4,\"type\":\"mmio\",\"endpoint\":1,"
		     "\"base\":\"0xfeb00200\",\"iommu\":3},{\"offset\":5,\"type\":\"mmio\","
		     "\"endpoint\":2,\"base\":\"0xfeb00400\",\"iommu\":3}]}\n");
}

static void test_human_output(void)
{
	struct cli_run r;

	info(&r, "viot --file %s/viot/q35-default.bin", TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "88 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[offset 48] virtio-pci IOMMU"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(0000:00:02.0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[offset 64] PCI range"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "IDs 0..255"));

	info(&r, "viot --file %s/viot/q35-default.bin --endpoint 00:03.0", TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "endpoint ID 24 behind virtio-pci IOMMU 0000:00:02.0"));
}

/* A corrupted copy of the default table: exit 1, one line naming the offset. */
static void test_malformed_exit_1(void)
{
	char path[] = "/tmp/uviommu-viot-XXXXXX";
	unsigned char table[88];
	struct cli_run r;
	FILE *f = fopen(TEST_DATA_DIR "/viot/q35-default.bin", "rb");
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL_FATAL(fread(table, 1, sizeof(table), f), sizeof(table));
	fclose(f);
	table[64 + 2] = 0; /* zero-length node */
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, table, sizeof(table)), (ssize_t)sizeof(table));
	close(fd);
	info(&r, "viot --file %s --json", path);
	unlink(path);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	/* checksum first: the corruption is caught there, with its offset */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "checksum at offset 9"));
	CU_ASSERT_PTR_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);

	info(&r, "viot --file /nonexistent/VIOT");
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "/nonexistent/VIOT"));
}

static void test_usage_exit_2(void)
{
	static const char *bad[] = {
		"", "frobnicate", "viot --bogus", "viot --file", "viot stray",
		"viot --file a --topology b", "viot --endpoint 0:0:0", "devices --endpoint 00:01.0",
	};
	struct cli_run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		info(&r, "%s", bad[i]);
		if (r.status != 2)
			fprintf(stderr, "'%s' exited %d\n", bad[i], r.status);
		CU_ASSERT_EQUAL(r.status, 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "uviommu-info"));
	}
	info(&r, "--help");
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: uviommu-info"));
}

/* devices works on any machine: here the topology comes from a file. */
static void test_devices_runs(void)
{
	struct cli_run r;

	info(&r, "devices --file %s/viot/q35-default.bin --json", TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "{\"topology\":true,\"iommus\":["));
}

static const struct test_case cases[] = {
	TEST_CASE(test_viot_json_contract),
	TEST_CASE(test_endpoint_json_contract),
	TEST_CASE(test_mmio_json),
	TEST_CASE(test_human_output),
	TEST_CASE(test_malformed_exit_1),
	TEST_CASE(test_usage_exit_2),
	TEST_CASE(test_devices_runs),
	TEST_END,
};

int main(void)
{
	return run_suite("uviommu-info", cases);
}
