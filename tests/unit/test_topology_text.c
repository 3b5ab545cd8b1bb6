/* SPDX-License-Identifier: BSD-3-Clause */
/* The text topology format (guests without ACPI) and PCI address parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uviommu/uviommu.h>

#include "cunit_main.h"

#define SENTINEL ((struct viommu_topology *)0x5e57)

static int parse(const char *text, struct viommu_topology **t)
{
	return viommu_topology_parse_text(text, strlen(text), t);
}

static void expect_error(const char *text, const char *needle)
{
	struct viommu_topology *t = SENTINEL;

	CU_ASSERT_EQUAL(parse(text, &t), -EINVAL);
	CU_ASSERT_PTR_EQUAL(t, SENTINEL);
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("error message does not name the problem");
	}
}

static void test_microvm_style(void)
{
	static const char text[] =
		"# a microvm guest: virtio-mmio IOMMU, two virtio-mmio devices\n"
		"iommu viommu0 virtio-mmio 0xfeb00000\n"
		"\n"
		"mmio viommu0 0xfeb00200 1   # virtio-net\n"
		"mmio\tviommu0\t0xFEB00400\t2\r\n"
		"iommu pci0 virtio-pci 0000:00:02.0\n"
		"pci-range pci0 0000:00:00.0 0000:00:1f.7 0";
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;

	CU_ASSERT_EQUAL_FATAL(parse(text, &t), 0);
	CU_ASSERT_EQUAL(t->source, VIOMMU_TOPOLOGY_TEXT);
	CU_ASSERT_EQUAL(t->n_iommus, 2);
	CU_ASSERT_EQUAL(t->n_endpoints, 3);
	CU_ASSERT_EQUAL(t->iommus[0].offset, 2); /* line numbers */
	CU_ASSERT_EQUAL(t->endpoints[1].offset, 5);
	CU_ASSERT_EQUAL(t->endpoints[1].iommu_offset, 2);
	CU_ASSERT_EQUAL(viommu_topology_lookup_mmio(t, 0xfeb00400, &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 2);
	CU_ASSERT_EQUAL(viommu_topology_lookup_mmio(t, 0xfeb00000, &ref), -ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, (struct viommu_pci_addr){ 0, 0x18 }, &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x18);
	CU_ASSERT_EQUAL(ref.iommu_index, 1);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, (struct viommu_pci_addr){ 0, 0x10 }, &ref),
			-ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_find_pci_iommu(t, (struct viommu_pci_addr){ 0, 0x10 }), 1);
	CU_ASSERT_EQUAL(viommu_topology_find_pci_iommu(t, (struct viommu_pci_addr){ 0, 0x18 }),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "no virtio-pci IOMMU at 0000:00:03.0"));
	CU_ASSERT_EQUAL(viommu_topology_find_pci_iommu(NULL, (struct viommu_pci_addr){ 0, 0x10 }),
			-EINVAL);
	viommu_topology_free(t);
}

static void test_syntax_errors(void)
{
	expect_error("", "no 'iommu' statement");
	expect_error("# only a comment\n", "no 'iommu' statement");
	expect_error("bridge x\n", "line 1: unknown statement");
	expect_error("iommu a virtio-pci\n", "line 1: expected 'iommu NAME");
	expect_error("iommu a virtio-ccw 0x1000\n", "unknown IOMMU type");
	expect_error("iommu a virtio-pci 00:02\n", "expected a PCI address");
	expect_error("iommu a virtio-pci 0000:00:20.0\n", "expected a PCI address");
	expect_error("iommu a virtio-mmio 0x1g\n", "expected a number");
	expect_error("iommu a virtio-mmio 0x10000000000000000\n", "expected a number");
	expect_error("iommu a virtio-mmio 012z\n", "expected a number");
	expect_error("iommu a virtio-mmio 0x1000\niommu a virtio-mmio 0x2000\n",
		     "line 2: IOMMU name declared twice");
	expect_error("mmio a 0x1000 1\n", "line 1: unknown IOMMU");
	expect_error("iommu a virtio-mmio 0x1000\nmmio a 0x2000 4294967296\n", "line 2: expected a number");
	expect_error("iommu a virtio-mmio 0x1000 extra\n", "expected 'iommu NAME");
	expect_error("iommu a virtio-mmio 0x1000 1 2 3 4 5\n", "too many fields");
	expect_error("iommu abcdefghijabcdefghijabcdefghijkl virtio-mmio 0x1000\n", "longer than 31");
}

static void test_semantic_errors(void)
{
	expect_error("iommu a virtio-pci 0000:00:02.0\n"
		     "pci-range a 0000:00:10.0 0000:00:08.0 0\n",
		     "line 2: BDF start 0x0080 is above BDF end 0x0040");
	expect_error("iommu a virtio-pci 0000:00:02.0\n"
		     "pci-range a 0001:00:00.0 0000:00:1f.7 0\n",
		     "segment start 0x1 is above segment end 0x0");
	expect_error("iommu a virtio-pci 0000:00:02.0\n"
		     "pci-range a 0000:00:00.0 0000:00:1f.7 0\n"
		     "pci-range a 0000:00:03.0 0000:00:03.0 100\n",
		     "line 3 overlaps the node at line 2");
	expect_error("iommu a virtio-pci 0000:00:02.0\niommu b virtio-pci 0000:00:02.0\n",
		     "same device");
	expect_error("iommu a virtio-pci 0000:00:02.0\n"
		     "pci-range a 0000:00:00.0 0000:00:1f.7 4294967295\n",
		     "overflow 32 bits");
}

static void test_hostile_text(void)
{
	char line[400];
	static const char with_nul[] = "iommu a virtio-mmio 0x1000\0mmio a 0x2000 1\n";

	memset(line, 'x', sizeof(line));
	memcpy(line, "iommu ", 6);
	line[sizeof(line) - 1] = '\0';
	expect_error(line, "longer than 255");
	{
		struct viommu_topology *t = SENTINEL;

		CU_ASSERT_EQUAL(viommu_topology_parse_text(with_nul, sizeof(with_nul) - 1, &t),
				-EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "NUL byte"));
		CU_ASSERT_PTR_EQUAL(t, SENTINEL);
	}
}

static void test_load_text_file(void)
{
	char path[512];
	struct viommu_topology *t;

	snprintf(path, sizeof(path), "%s/topology/microvm.topo", TEST_DATA_DIR);
	CU_ASSERT_EQUAL_FATAL(viommu_topology_load_text(path, &t), 0);
	CU_ASSERT(t->n_iommus >= 1);
	viommu_topology_free(t);
	CU_ASSERT_EQUAL(viommu_topology_load_text("/nonexistent.topo", &t), -ENOENT);
}

static void test_pci_addr(void)
{
	struct viommu_pci_addr a;
	char buf[VIOMMU_PCI_ADDR_STRLEN];

	CU_ASSERT_EQUAL(viommu_pci_addr_parse("0000:00:02.0", &a), 0);
	CU_ASSERT_EQUAL(a.segment, 0);
	CU_ASSERT_EQUAL(a.bdf, 0x10);
	CU_ASSERT_EQUAL(viommu_pci_addr_parse("ABCD:ff:1F.7", &a), 0);
	CU_ASSERT_EQUAL(a.segment, 0xabcd);
	CU_ASSERT_EQUAL(a.bdf, 0xffff);
	viommu_pci_addr_format(a, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "abcd:ff:1f.7");
	CU_ASSERT_EQUAL(viommu_pci_addr_parse("01:00.1", &a), 0);
	CU_ASSERT_EQUAL(a.segment, 0);
	CU_ASSERT_EQUAL(a.bdf, 0x0101);

	a = (struct viommu_pci_addr){ 7, 7 };
	static const char *bad[] = { "", "0:0.0", "00:00.8", "00:20.0", "000:00:00.0",
				     "0000:00:00.0 ", "0000-00:00.0", "g0:00.0", "00:00.00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(viommu_pci_addr_parse(bad[i], &a), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "expected SSSS:BB:DD.F"));
	}
	CU_ASSERT_EQUAL(a.segment, 7);
	CU_ASSERT_EQUAL(a.bdf, 7);
}

static const struct test_case cases[] = {
	TEST_CASE(test_microvm_style),
	TEST_CASE(test_syntax_errors),
	TEST_CASE(test_semantic_errors),
	TEST_CASE(test_hostile_text),
	TEST_CASE(test_load_text_file),
	TEST_CASE(test_pci_addr),
	TEST_END,
};

int main(void)
{
	return run_suite("topology-text", cases);
}
