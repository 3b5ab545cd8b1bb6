/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: arbitrary bytes as the properties a device wrote into
 * a PROBE's buffer (virtio 1.2, 5.13.6.8), through uvi_probe_parse().
 * Beyond "no crash, no out-of-bounds read, no leak" (ASan/UBSan), it
 * checks what the parser hands out: on success, either nothing or regions
 * that each fit a RESV_MEM property of the buffer, start <= end, of a
 * known subtype; on failure, nothing at all.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../drivers/iommu/dev.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct viommu_resv_region *r = (struct viommu_resv_region *)1; /* must be overwritten */
	unsigned n = ~0u;
	int rc = uvi_probe_parse(data, size, &r, &n);

	if (rc) {
		CHECK(rc < 0 && r == NULL && n == 0);
		return 0;
	}
	CHECK((n == 0) == (r == NULL));
	CHECK(n <= size / sizeof(struct virtio_iommu_probe_resv_mem));
	for (unsigned i = 0; i < n; i++) {
		CHECK(r[i].start <= r[i].end);
		CHECK(r[i].subtype == VIOMMU_RESV_MSI || r[i].subtype == VIOMMU_RESV_RESERVED);
	}
	free(r);
	return 0;
}
