/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-info device end to end: the JSON contract on the software
 * device (opened, probed without an attach, closed), and the snapshot of
 * an owner (this test process, in a temporary UVIOMMU_RUN_DIR) shown
 * without touching the device.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uviommu/error.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "../../drivers/iommu/owner.h"

/* What the software device says about itself (QEMU 7.2's defaults, drivers/sim). */
#define SIM_FEATURES                                                                   \
	"[\"INPUT_RANGE\",\"DOMAIN_RANGE\",\"MAP_UNMAP\",\"PROBE\",\"MMIO\",\"BYPASS_CONFIG\"," \
	"\"EVENT_IDX\",\"VERSION_1\"]"
#define SIM_HEAD                                                                        \
	"{\"device\":\"0000:00:02.0\",\"access\":\"sim\",\"ring\":\"split\",\"owner\":null,"   \
	"\"features_offered\":" SIM_FEATURES ",\"features_negotiated\":" SIM_FEATURES ","       \
	"\"config\":{\"page_size_mask\":\"0xfffffffffffff000\",\"granule\":4096,"               \
	"\"input_start\":\"0x0\",\"input_end\":\"0xffffffffffffffff\",\"domain_start\":0,"    \
	"\"domain_end\":4294967295,\"probe_size\":512,\"bypass\":1},"

/* Run uviommu-info with arguments (printf-formatted shell words). */
#define info(r, ...) cli_run((r), INFO_BIN, __VA_ARGS__)

static void expect_output(const struct cli_run *r, const char *what, const char *want)
{
	if (strcmp(r->out, want) != 0) {
		fprintf(stderr, "\n%s\n got: %s\nwant: %s\n stderr: %s\n", what, r->out, want,
			r->err);
		CU_FAIL("output differs");
	}
}

/* Nothing to probe: the device's features and configuration, no endpoint, no domain. */
static void test_sim_json_contract(void)
{
	struct cli_run r;

	info(&r, "device --access sim --json");
	CU_ASSERT_EQUAL(r.status, 0);
	expect_output(&r, "device --access sim --json",
		      SIM_HEAD "\"endpoints\":[],\"domains\":[],\"counters\":{\"requests\":0,"
		      "\"request_errors\":0,\"notifies\":0,\"faults\":0,"
		      "\"faults_dropped_malformed\":0,\"resets\":0}}\n");
}

/*
 * Named endpoints are PROBEd without an attach: the MSI window QEMU
 * reports, one request each, and no domain appears.
 */
static void test_sim_probe_endpoints(void)
{
	struct cli_run r;

	info(&r, "device --access sim --file %s/viot/q35-default.bin --endpoint 00:03.0 "
	     "--endpoint 0000:00:1f.7 --endpoint 00:03.0 --json", TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 0);
	expect_output(&r, "device --access sim --endpoint ... --json",
		      SIM_HEAD "\"endpoints\":[{\"device\":\"0000:00:03.0\",\"endpoint_id\":24,"
		      "\"reserved\":[{\"start\":\"0xfee00000\",\"end\":\"0xfeefffff\","
		      "\"type\":\"msi\"}]},{\"device\":\"0000:00:1f.7\",\"endpoint_id\":255,"
		      "\"reserved\":[{\"start\":\"0xfee00000\",\"end\":\"0xfeefffff\","
		      "\"type\":\"msi\"}]}],\"domains\":[],\"counters\":{\"requests\":2,"
		      "\"request_errors\":0,\"notifies\":2,\"faults\":0,"
		      "\"faults_dropped_malformed\":0,\"resets\":0}}\n");

	info(&r, "device --access sim --file %s/viot/q35-default.bin --endpoint 00:03.0",
	     TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "0000:00:02.0 virtio-iommu: not owned"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Probe size: 512 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "0000:00:03.0 endpoint 24:\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "msi      0xfee00000-0xfeefffff\n"));
}

static void test_bad_endpoints(void)
{
	struct cli_run r;

	/* The IOMMU itself, and a function without a topology to number it. */
	info(&r, "device --access sim --file %s/viot/q35-default.bin --endpoint 00:02.0 --json",
	     TEST_DATA_DIR);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "does not place 0000:00:02.0 behind"));
	info(&r, "device --access sim --endpoint 00:03.0");
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "give --file or --topology"));
}

static void test_usage_exit_2(void)
{
	static const char *bad[] = {
		"device --access dpdk",
		"device 00:02.0 00:03.0",
		"device --access sim --endpoint nonsense",
		"device --access sim --file a --topology b",
		"device --bogus",
		"device 00:99.0",
	};
	struct cli_run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		info(&r, "%s", bad[i]);
		if (r.status != 2)
			fprintf(stderr, "'%s' exited %d\n", bad[i], r.status);
		CU_ASSERT_EQUAL(r.status, 2);
		CU_ASSERT_STRING_EQUAL(r.out, "");
	}
}

/* ---- an owner's snapshot ---- */

static char run_dir[64], topo_path[128];

/*
 * Endpoint 24 is 00ff:00:03.0 here: a segment no test machine has, so that
 * the endpoints found on the bus (none) do not depend on the machine.
 */
static void write_topology(void)
{
	static const char text[] = "iommu viommu0 virtio-pci 0000:00:02.0\n"
				   "pci-range viommu0 00ff:00:00.0 00ff:00:1f.7 0\n";
	FILE *f;

	snprintf(topo_path, sizeof(topo_path), "%s/q35.topo", run_dir);
	f = fopen(topo_path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fputs(text, f) >= 0, 1);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void owner_state(struct uvi_owner_state *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->access, sizeof(st->access), "vfio");
	snprintf(st->ring, sizeof(st->ring), "packed");
	st->features_negotiated = 1ull << 2 | 1ull << 4 | 1ull << 6 | 1ull << 32 | 1ull << 34 |
				  1ull << 50;
	st->requests = 11;
	st->request_errors = 1;
	st->notifies = 7;
	st->faults = 3;
	st->faults_dropped_malformed = 2;
	st->resets = 1;
	st->n_domains = 2;
	st->domains[0] = (struct uvi_owner_domain){
		.id = 1, .n_endpoints = 2, .endpoints = { 24, 70000 }, .mappings = 4,
		.mapped_bytes = 16384,
	};
	st->domains[1] = (struct uvi_owner_domain){ .id = 9 };
}

static void test_owner_snapshot(void)
{
	static const struct viommu_pci_addr addr = { 0, VIOMMU_BDF(0, 2, 0) };
	struct uvi_owner_state st, seen;
	struct uvi_owner *owner;
	char want[CLI_OUT_MAX];
	struct cli_run r;

	snprintf(run_dir, sizeof(run_dir), "/tmp/uvi-devcli-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(run_dir));
	CU_ASSERT_EQUAL_FATAL(setenv(UVI_OWNER_RUN_DIR_ENV, run_dir, 1), 0);
	write_topology();
	CU_ASSERT_EQUAL_FATAL(uvi_owner_acquire(addr, &owner), 0);
	owner_state(&st);
	uvi_owner_publish(owner, &st);
	CU_ASSERT_EQUAL_FATAL(uvi_owner_read(addr, &seen), 0); /* the command, as published */

	info(&r, "device 0000:00:02.0 --topology %s --json", topo_path);
	CU_ASSERT_EQUAL(r.status, 0);
	snprintf(want, sizeof(want),
		 "{\"device\":\"0000:00:02.0\",\"access\":\"vfio\",\"ring\":\"packed\","
		 "\"owner\":{\"pid\":%d,\"command\":\"%s\"},\"features_offered\":null,"
		 "\"features_negotiated\":[\"MAP_UNMAP\",\"PROBE\",\"BYPASS_CONFIG\","
		 "\"VERSION_1\",\"RING_PACKED\",\"bit50\"],\"config\":{\"bypass\":0},"
		 "\"endpoints\":[],\"domains\":[{\"id\":1,\"endpoints\":["
		 "{\"device\":\"00ff:00:03.0\",\"endpoint_id\":24},"
		 "{\"device\":null,\"endpoint_id\":70000}],\"mappings\":4,"
		 "\"mapped_bytes\":16384},{\"id\":9,\"endpoints\":[],\"mappings\":0,"
		 "\"mapped_bytes\":0}],\"counters\":{\"requests\":11,\"request_errors\":1,"
		 "\"notifies\":7,\"faults\":3,\"faults_dropped_malformed\":2,\"resets\":1}}\n",
		 (int)getpid(), seen.command);
	expect_output(&r, "device (owned) --json", want);

	info(&r, "device 0000:00:02.0 --topology %s", topo_path);
	CU_ASSERT_EQUAL(r.status, 0);
	snprintf(want, sizeof(want), "0000:00:02.0 virtio-iommu: owned by pid %d (", (int)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "domain 1: 4 mappings, 16384 bytes; endpoints 24 "
				      "(00ff:00:03.0), 70000 (not in the topology)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "domain 9: 0 mappings, 0 bytes; no endpoint"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "11 requests (1 failed), 7 notifies"));

	uvi_owner_release(owner);
	unlink(topo_path);
	snprintf(want, sizeof(want), "rm -rf '%s'", run_dir);
	CU_ASSERT_EQUAL(system(want), 0);
	unsetenv(UVI_OWNER_RUN_DIR_ENV);
}

static const struct test_case cases[] = {
	TEST_CASE(test_sim_json_contract),
	TEST_CASE(test_sim_probe_endpoints),
	TEST_CASE(test_bad_endpoints),
	TEST_CASE(test_usage_exit_2),
	TEST_CASE(test_owner_snapshot),
	TEST_END,
};

int main(void)
{
	return run_suite("uviommu-info-device", cases);
}
