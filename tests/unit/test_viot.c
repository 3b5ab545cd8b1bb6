/* SPDX-License-Identifier: BSD-3-Clause */
/* VIOT parser: real QEMU tables, synthetic MMIO tables, and every malformed case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/uviommu.h>

#include "cunit_main.h"
#include "viot_image.h"

#define SENTINEL ((struct viommu_topology *)0x5e57)

static struct viommu_topology *parse_ok(const struct viot_image *v)
{
	struct viommu_topology *t = NULL;
	int rc = viommu_topology_parse_viot(v->bytes, v->len, &t);

	if (rc)
		fprintf(stderr, "unexpected failure: %s\n", viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

/*
 * A malformed table fails with -EINVAL, leaves *out untouched, and the
 * message names the problem (`needle`) and where it is.
 */
static void expect_malformed(const void *bytes, size_t len, const char *needle)
{
	struct viommu_topology *t = SENTINEL;
	int rc = viommu_topology_parse_viot(bytes, len, &t);

	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_EQUAL(t, SENTINEL);
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("error message does not name the problem");
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "offset"));
}

static void load_capture(const char *name, struct viot_image *v)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/viot/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memset(v, 0, sizeof(*v));
	v->len = fread(v->bytes, 1, sizeof(v->bytes), f);
	fclose(f);
	CU_ASSERT_FATAL(v->len >= 48);
}

static struct viommu_pci_addr pci(uint16_t seg, unsigned bus, unsigned dev, unsigned fn)
{
	return (struct viommu_pci_addr){ seg, VIOMMU_BDF(bus, dev, fn) };
}

/* q35 + -device virtio-iommu-pci,addr=02.0 (command line in the .cmdline file). */
static void test_qemu_q35_default(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;

	load_capture("q35-default.bin", &v);
	CU_ASSERT_EQUAL(v.len, 88);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->length, 88);
	CU_ASSERT_EQUAL(t->n_iommus, 1);
	CU_ASSERT_EQUAL(t->n_endpoints, 1);
	CU_ASSERT_EQUAL(t->n_warnings, 0);
	CU_ASSERT_EQUAL(t->iommus[0].offset, 48);
	CU_ASSERT_EQUAL(t->iommus[0].type, VIOMMU_NODE_VIRTIO_PCI_IOMMU);
	CU_ASSERT_EQUAL(t->iommus[0].pci.bdf, 0x0010);
	CU_ASSERT_EQUAL(t->endpoints[0].offset, 64);
	CU_ASSERT_EQUAL(t->endpoints[0].bdf_start, 0x0000);
	CU_ASSERT_EQUAL(t->endpoints[0].bdf_end, 0x00ff);
	CU_ASSERT_EQUAL(t->endpoints[0].iommu_offset, 48);

	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 3, 0), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x18);
	CU_ASSERT_EQUAL(ref.iommu_index, 0);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 2, 0), &ref), -ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 1, 0, 0), &ref), -ENOENT);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(1, 0, 3, 0), &ref), -ENOENT);
	viommu_topology_free(t);
}

/* Several host bridges (pxb-pcie): one range per bridge, all to one IOMMU. */
static void test_qemu_q35_pxb(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;

	load_capture("q35-pxb.bin", &v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_iommus, 1);
	CU_ASSERT_EQUAL(t->n_endpoints, 3);
	for (size_t i = 0; i < t->n_endpoints; i++) {
		const struct viommu_topo_endpoint *ep = &t->endpoints[i];

		CU_ASSERT_EQUAL(ep->type, VIOMMU_NODE_PCI_RANGE);
		CU_ASSERT_EQUAL(ep->iommu_index, 0);
		/* QEMU numbers endpoints by BDF: the first ID of a range is its first BDF. */
		CU_ASSERT_EQUAL(ep->endpoint_start, ep->bdf_start);
		CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, VIOMMU_BDF_BUS(ep->bdf_end), 0, 0),
							   &ref), 0);
		CU_ASSERT_EQUAL(ref.endpoint_id, (uint32_t)VIOMMU_BDF_BUS(ep->bdf_end) << 8);
	}
	viommu_topology_free(t);
}

static void test_qemu_iommu_elsewhere(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;

	load_capture("q35-iommu-not-at-02.bin", &v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_iommus, 1);
	CU_ASSERT_NOT_EQUAL(t->iommus[0].pci.bdf, 0x0010);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, t->iommus[0].pci, &ref), -ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 2, 0), &ref), 0);
	viommu_topology_free(t);
}

/*
 * bypass_iommu=on on a pxb-pcie (or default_bus_bypass_iommu=on for
 * pcie.0) leaves those buses out of every range: they are not endpoints.
 */
static void test_qemu_bypassed_buses(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;

	load_capture("q35-pxb-bypass.bin", &v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_endpoints, 2);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0x41, 0, 0), &ref), -ENOENT);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0x81, 0, 0), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x8100);
	viommu_topology_free(t);

	load_capture("q35-root-bypass.bin", &v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_endpoints, 1);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 3, 0), &ref), -ENOENT);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 2, 0), &ref), -ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0x41, 0, 0), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x4100);
	viommu_topology_free(t);

	/* Root ports on pcie.0: its range grows over the secondary buses. */
	load_capture("q35-root-ports.bin", &v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->endpoints[0].bdf_end, 0x02ff);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 2, 0, 0), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x0200);
	viommu_topology_free(t);
}

/* The arm64-style layout: a virtio-mmio IOMMU with MMIO and PCI endpoints. */
static void test_mmio_nodes(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;
	uint16_t mmio_iommu, pci_iommu;

	viot_image_begin(&v);
	mmio_iommu = viot_add_mmio_iommu(&v, 0xa000000ull);
	pci_iommu = viot_add_pci_iommu(&v, 0, VIOMMU_BDF(0, 1, 0));
	viot_add_mmio_endpoint(&v, 7, 0xa000200ull, mmio_iommu);
	viot_add_mmio_endpoint(&v, 8, 0x1000000000ull, mmio_iommu);
	viot_add_pci_range(&v, 0x100, 0, 0, 0x0000, 0x00ff, pci_iommu);
	viot_image_finish(&v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_iommus, 2);
	CU_ASSERT_EQUAL(t->n_endpoints, 3);
	CU_ASSERT_EQUAL(t->iommus[0].type, VIOMMU_NODE_VIRTIO_MMIO_IOMMU);
	CU_ASSERT_EQUAL(t->iommus[0].base, 0xa000000ull);
	CU_ASSERT_EQUAL(viommu_topology_lookup_mmio(t, 0x1000000000ull, &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 8);
	CU_ASSERT_EQUAL(ref.iommu_index, 0);
	CU_ASSERT_EQUAL(viommu_topology_lookup_mmio(t, 0xa000000ull, &ref), -ENODEV);
	CU_ASSERT_EQUAL(viommu_topology_lookup_mmio(t, 0xb000000ull, &ref), -ENOENT);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(0, 0, 5, 1), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x100 + VIOMMU_BDF(0, 5, 1));
	CU_ASSERT_EQUAL(ref.iommu_index, 1);
	viommu_topology_free(t);
}

/* A range over several segments: IDs of later segments are offset by 1 << 16. */
static void test_multi_segment_ids(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	struct viommu_endpoint_ref ref;
	uint16_t iommu;

	viot_image_begin(&v);
	viot_add_pci_range(&v, 0x40000, 2, 4, 0x0100, 0x01ff, 48 + 24); /* IOMMU comes after */
	iommu = viot_add_pci_iommu(&v, 0, 0x0008);
	CU_ASSERT_EQUAL(iommu, 48 + 24);
	viot_image_finish(&v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(3, 1, 0, 2), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x40000 + (1u << 16) + 2);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(4, 1, 31, 7), &ref), 0);
	CU_ASSERT_EQUAL(ref.endpoint_id, 0x40000 + (2u << 16) + 0xff);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(3, 2, 0, 0), &ref), -ENOENT);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(t, pci(5, 1, 0, 0), &ref), -ENOENT);
	viommu_topology_free(t);
}

static void test_unknown_node_skipped_with_warning(void)
{
	struct viot_image v;
	struct viommu_topology *t;
	uint16_t iommu;

	viot_image_begin(&v);
	iommu = viot_add_pci_iommu(&v, 0, 0x0010);
	viot_add_raw(&v, 0x7f, 12);
	viot_add_pci_range(&v, 0, 0, 0, 0, 0xff, iommu);
	viot_image_finish(&v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_endpoints, 1);
	CU_ASSERT_EQUAL(t->n_warnings, 1);
	CU_ASSERT_EQUAL(t->warnings[0].offset, 64);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->warnings[0].message, "unknown type 127"));
	viommu_topology_free(t);
}

static void test_no_nodes(void)
{
	struct viot_image v;
	struct viommu_topology *t;

	viot_image_begin(&v);
	viot_image_finish(&v);
	t = parse_ok(&v);
	CU_ASSERT_EQUAL(t->n_iommus + t->n_endpoints, 0);
	CU_ASSERT_EQUAL(t->n_warnings, 1);
	viommu_topology_free(t);
}

/* A valid one-IOMMU one-range table that each malformed case corrupts. */
static void good_table(struct viot_image *v)
{
	uint16_t iommu;

	viot_image_begin(v);
	iommu = viot_add_pci_iommu(v, 0, 0x0010);
	viot_add_pci_range(v, 0, 0, 0, 0x0000, 0x00ff, iommu);
	viot_image_finish(v);
}

static void test_bad_header(void)
{
	struct viot_image v;

	good_table(&v);
	expect_malformed(v.bytes, 0, "shorter than the 36-byte");
	expect_malformed(v.bytes, 35, "shorter than the 36-byte");
	v.bytes[0] = 'X';
	expect_malformed(v.bytes, v.len, "signature");

	good_table(&v);
	put_le32(v.bytes + 4, 40);
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "48-byte VIOT header");

	good_table(&v);
	expect_malformed(v.bytes, v.len - 1, "truncated");
	expect_malformed(v.bytes, 47, "truncated");

	good_table(&v);
	v.bytes[9] ^= 1;
	expect_malformed(v.bytes, v.len, "checksum");
}

static void test_bad_node_offset(void)
{
	struct viot_image v;

	good_table(&v);
	put_le16(v.bytes + 38, 40);
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "node offset 40");

	good_table(&v);
	put_le16(v.bytes + 38, (uint16_t)v.len);
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "node offset");
}

static void test_zero_length_node(void)
{
	struct viot_image v;

	viot_image_begin(&v);
	viot_add_raw(&v, 0x55, 0); /* would loop forever if walked by 0 */
	viot_image_finish(&v);
	expect_malformed(v.bytes, v.len, "length 0, below the minimum 4");

	good_table(&v);
	put_le16(v.bytes + 48 + 2, 0);
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "length 0, below the minimum 16");
}

static void test_short_typed_nodes(void)
{
	static const struct { uint8_t type; uint16_t min; } types[] = {
		{ 1, 24 }, { 2, 24 }, { 3, 16 }, { 4, 16 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct viot_image v;
		char needle[64];

		viot_image_begin(&v);
		viot_add_raw(&v, types[i].type, (uint16_t)(types[i].min - 1));
		viot_image_finish(&v);
		snprintf(needle, sizeof(needle), "below the minimum %u", types[i].min);
		expect_malformed(v.bytes, v.len, needle);
	}
}

static void test_node_past_end(void)
{
	struct viot_image v;

	good_table(&v);
	put_le16(v.bytes + 64 + 2, 200); /* range node claims 200 bytes */
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "runs past the end");

	good_table(&v);
	put_le16(v.bytes + 36, 3); /* a third node whose header is beyond the table */
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "node header at offset 88 runs past the end");
}

static void test_bad_output_node(void)
{
	static const uint16_t targets[] = { 64 /* the range itself */, 0, 50, 0xffff };

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct viot_image v;

		good_table(&v);
		put_le16(v.bytes + 64 + 16, targets[i]);
		viot_fix_checksum(&v);
		expect_malformed(v.bytes, v.len, "is not an IOMMU node");
	}
}

static void test_reversed_ranges(void)
{
	struct viot_image v;

	good_table(&v);
	put_le16(v.bytes + 64 + 8, 2); /* segment_start 2 > segment_end 0 */
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "segment start 0x2 is above segment end 0x0");

	good_table(&v);
	put_le16(v.bytes + 64 + 12, 0x0100); /* bdf_start > bdf_end 0x00ff */
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "BDF start 0x0100 is above BDF end 0x00ff");
}

static void test_endpoint_id_overflow(void)
{
	struct viot_image v;

	good_table(&v);
	put_le32(v.bytes + 64 + 4, 0xffffff80u); /* + 0xff overflows */
	viot_fix_checksum(&v);
	expect_malformed(v.bytes, v.len, "overflow 32 bits");
}

static void test_ambiguous_topology(void)
{
	struct viot_image v;
	uint16_t a, b;

	viot_image_begin(&v);
	a = viot_add_pci_iommu(&v, 0, 0x0010);
	b = viot_add_pci_iommu(&v, 0, 0x0018);
	viot_add_pci_range(&v, 0, 0, 0, 0x0000, 0x00ff, a);
	viot_add_pci_range(&v, 0, 0, 0, 0x0080, 0x0180, b);
	viot_image_finish(&v);
	expect_malformed(v.bytes, v.len, "overlaps");

	viot_image_begin(&v);
	viot_add_pci_iommu(&v, 0, 0x0010);
	viot_add_pci_iommu(&v, 0, 0x0010);
	viot_image_finish(&v);
	expect_malformed(v.bytes, v.len, "same device");

	viot_image_begin(&v);
	a = viot_add_mmio_iommu(&v, 0x1000);
	viot_add_mmio_endpoint(&v, 1, 0x2000, a);
	viot_add_mmio_endpoint(&v, 2, 0x2000, a);
	viot_image_finish(&v);
	expect_malformed(v.bytes, v.len, "overlaps");
}

/* Every truncation of a real table fails cleanly: no crash, no partial model. */
static void test_every_truncation(void)
{
	struct viot_image v;

	load_capture("q35-pxb.bin", &v);
	for (size_t len = 0; len < v.len; len++) {
		struct viommu_topology *t = SENTINEL;

		CU_ASSERT_EQUAL(viommu_topology_parse_viot(v.bytes, len, &t), -EINVAL);
		CU_ASSERT_PTR_EQUAL(t, SENTINEL);
	}
}

/*
 * Every single-byte change of a real table, with the checksum repaired so
 * that the node checks are reached: either a consistent model or -EINVAL.
 */
static void test_every_byte_flip(void)
{
	struct viot_image orig, v;
	unsigned accepted = 0, rejected = 0;

	load_capture("q35-pxb.bin", &orig);
	for (size_t i = 0; i < orig.len; i++) {
		if (i == 9)
			continue;
		for (unsigned bit = 0; bit < 8; bit++) {
			struct viommu_topology *t = SENTINEL;
			int rc;

			v = orig;
			v.bytes[i] ^= (uint8_t)(1u << bit);
			viot_fix_checksum(&v);
			rc = viommu_topology_parse_viot(v.bytes, v.len, &t);
			if (rc == 0) {
				accepted++;
				for (size_t e = 0; e < t->n_endpoints; e++)
					CU_ASSERT(t->endpoints[e].iommu_index < t->n_iommus);
				viommu_topology_free(t);
			} else {
				rejected++;
				CU_ASSERT_EQUAL(rc, -EINVAL);
				CU_ASSERT_PTR_EQUAL(t, SENTINEL);
			}
		}
	}
	CU_ASSERT(accepted > 0);
	CU_ASSERT(rejected > 0);
}

static void test_load_file_errors(void)
{
	struct viommu_topology *t = SENTINEL;

	CU_ASSERT_EQUAL(viommu_topology_load_viot("/nonexistent/VIOT", &t), -ENOENT);
	CU_ASSERT_PTR_EQUAL(t, SENTINEL);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "/nonexistent/VIOT"));
	CU_ASSERT_EQUAL(viommu_topology_parse_viot(NULL, 10, &t), -EINVAL);
	CU_ASSERT_EQUAL(viommu_topology_lookup_pci(NULL, pci(0, 0, 0, 0), NULL), -EINVAL);
}

static const struct test_case cases[] = {
	TEST_CASE(test_qemu_q35_default),
	TEST_CASE(test_qemu_q35_pxb),
	TEST_CASE(test_qemu_iommu_elsewhere),
	TEST_CASE(test_qemu_bypassed_buses),
	TEST_CASE(test_mmio_nodes),
	TEST_CASE(test_multi_segment_ids),
	TEST_CASE(test_unknown_node_skipped_with_warning),
	TEST_CASE(test_no_nodes),
	TEST_CASE(test_bad_header),
	TEST_CASE(test_bad_node_offset),
	TEST_CASE(test_zero_length_node),
	TEST_CASE(test_short_typed_nodes),
	TEST_CASE(test_node_past_end),
	TEST_CASE(test_bad_output_node),
	TEST_CASE(test_reversed_ranges),
	TEST_CASE(test_endpoint_id_overflow),
	TEST_CASE(test_ambiguous_topology),
	TEST_CASE(test_every_truncation),
	TEST_CASE(test_every_byte_flip),
	TEST_CASE(test_load_file_errors),
	TEST_END,
};

int main(void)
{
	return run_suite("viot", cases);
}
