/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bypass_ctl IOMMU ACCESS 0|1: write the virtio-iommu's bypass field and
 * leave the device reset. tests/vm/check-dpdk uses it for its "plain"
 * benchmark runs: once a driver wrote bypass = 0, QEMU 7.2 keeps it across
 * device resets until the machine resets, so unattached NICs stay blocked;
 * 1 lets them reach all memory again, as at boot. Not for a device in use.
 *
 * Sequence (virtio 1.2, 3.1.1 and 5.13.4): reset, ACKNOWLEDGE | DRIVER,
 * negotiate VERSION_1 | BYPASS_CONFIG (bypass is driver-writable only with
 * it), FEATURES_OK, write bypass, read it back, reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/uviommu.h>

#include "pci/pci_dev.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_pci_regs.h"

#define BYPASS_OFF 36u        /* struct virtio_iommu_config.bypass, 5.13.4 */
#define F_BYPASS_CONFIG 6     /* VIRTIO_IOMMU_F_BYPASS_CONFIG */
#define STATUS_ACK_DRIVER 3u  /* ACKNOWLEDGE | DRIVER */

static int set_bypass(struct uvi_vpci *v, uint8_t want)
{
	uint64_t negotiated;
	uint8_t got = 0xff;
	int rc = uvi_vpci_reset(v);

	if (!rc) {
		uvi_vpci_add_status(v, STATUS_ACK_DRIVER);
		rc = uvi_vpci_negotiate(v, 1ull << UVI_VIRTIO_F_VERSION_1 | 1ull << F_BYPASS_CONFIG,
					&negotiated);
	}
	if (!rc && !(negotiated & 1ull << F_BYPASS_CONFIG))
		rc = -1;
	if (!rc)
		rc = uvi_vpci_config_write(v, BYPASS_OFF, &want, 1);
	if (!rc)
		rc = uvi_vpci_config_read(v, BYPASS_OFF, &got, 1);
	uvi_vpci_reset(v);
	printf("BYPASS %u\n", got);
	return rc || got != want ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct uvi_pci_backend *backend;
	struct viommu_pci_addr addr;
	struct uvi_pci_dev *pci;
	struct uvi_vpci v;
	int rc;

	if (argc != 4 || (strcmp(argv[3], "0") && strcmp(argv[3], "1"))) {
		fprintf(stderr, "usage: bypass_ctl SSSS:BB:DD.F uio|vfio 0|1\n");
		return 2;
	}
	backend = uvi_pci_backend_by_name(argv[2]);
	if (!backend || viommu_pci_addr_parse(argv[1], &addr) ||
	    uvi_pci_open(backend, NULL, addr, &pci)) {
		fprintf(stderr, "bypass_ctl: %s\n", viommu_last_error());
		return 1;
	}
	rc = uvi_vpci_init(&v, pci);
	rc = rc ? 1 : set_bypass(&v, (uint8_t)atoi(argv[3]));
	if (rc)
		fprintf(stderr, "bypass_ctl: %s\n", viommu_last_error());
	uvi_pci_close(pci);
	return rc;
}
