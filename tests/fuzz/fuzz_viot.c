/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: arbitrary bytes as a VIOT. Beyond "no crash, no leak"
 * (ASan/UBSan), it checks the model the parser hands out: every endpoint
 * links to an existing IOMMU, ranges are ordered, and lookups of every
 * range's corners agree with the range.
 *
 * A random mutation almost never keeps the checksum valid, which would
 * stop the fuzzer at the header; so each input is parsed as it is and
 * once more with its checksum repaired, to reach the node checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/topology.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void check_range(const struct viommu_topology *t, const struct viommu_topo_endpoint *ep)
{
	struct viommu_pci_addr corners[2] = {
		{ ep->segment_start, ep->bdf_start },
		{ ep->segment_end, ep->bdf_end },
	};

	CHECK(ep->segment_start <= ep->segment_end);
	CHECK(ep->bdf_start <= ep->bdf_end);
	for (int i = 0; i < 2; i++) {
		struct viommu_endpoint_ref ref;
		int rc = viommu_topology_lookup_pci(t, corners[i], &ref);

		/* A corner is either this range's endpoint or an IOMMU function. */
		CHECK(rc == 0 || rc == -ENODEV);
		if (rc == 0)
			CHECK(ref.node == ep && ref.iommu_index == ep->iommu_index);
	}
}

static void parse_and_check(const uint8_t *data, size_t size)
{
	struct viommu_topology *t = NULL;

	if (viommu_topology_parse_viot(data, size, &t) != 0) {
		CHECK(t == NULL);
		return;
	}
	CHECK(t->length <= size);
	for (size_t i = 0; i < t->n_endpoints; i++) {
		const struct viommu_topo_endpoint *ep = &t->endpoints[i];

		CHECK(ep->iommu_index < t->n_iommus);
		CHECK(t->iommus[ep->iommu_index].offset == ep->iommu_offset);
		if (ep->type == VIOMMU_NODE_PCI_RANGE)
			check_range(t, ep);
	}
	viommu_topology_free(t);
}

/* Copy with byte 9 set so that the first `length` bytes sum to zero. */
static uint8_t *with_checksum_fixed(const uint8_t *data, size_t size)
{
	uint32_t length;
	uint8_t *copy, sum = 0;

	if (size < 36)
		return NULL;
	length = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
		 (uint32_t)data[7] << 24;
	if (length > size)
		return NULL;
	copy = malloc(size);
	if (!copy)
		return NULL;
	memcpy(copy, data, size);
	copy[9] = 0;
	for (uint32_t i = 0; i < length; i++)
		sum = (uint8_t)(sum + copy[i]);
	copy[9] = (uint8_t)(0x100 - sum);
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = with_checksum_fixed(data, size);

	parse_and_check(data, size);
	if (fixed) {
		parse_and_check(fixed, size);
		free(fixed);
	}
	return 0;
}
