/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: arbitrary bytes as a text topology file. */
#include <stdint.h>
#include <stdlib.h>

#include <uviommu/topology.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct viommu_topology *t = NULL;

	if (viommu_topology_parse_text((const char *)data, size, &t) != 0) {
		CHECK(t == NULL);
		return 0;
	}
	CHECK(t->n_iommus > 0);
	for (size_t i = 0; i < t->n_endpoints; i++)
		CHECK(t->endpoints[i].iommu_index < t->n_iommus);
	viommu_topology_free(t);
	return 0;
}
