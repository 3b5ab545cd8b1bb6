/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Built outside the tree against an installed libuviommu (pkg-config
 * uviommu) by tests/install/check: the headers are self-contained and the
 * exported API links. Prints the endpoint ID of argv[2] in VIOT file argv[1].
 */
#include <stdio.h>

#include <uviommu/uviommu.h>

int main(int argc, char **argv)
{
	struct viommu_topology *topo;
	struct viommu_pci_addr addr;
	struct viommu_endpoint_ref ref;

	if (argc != 3) {
		fprintf(stderr, "usage: consumer VIOT-FILE SSSS:BB:DD.F\n");
		return 2;
	}
	if (viommu_pci_addr_parse(argv[2], &addr) || viommu_topology_load_viot(argv[1], &topo)) {
		fprintf(stderr, "consumer: %s\n", viommu_last_error());
		return 1;
	}
	if (viommu_topology_lookup_pci(topo, addr, &ref) == 0)
		printf("%u\n", ref.endpoint_id);
	else
		printf("none\n");
	viommu_topology_free(topo);
	return 0;
}
