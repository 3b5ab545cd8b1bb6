/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device status, reset and feature negotiation over the common
 * configuration structure of the modern virtio-pci transport (virtio 1.2,
 * 4.1.4.3), following the initialization sequence of section 3.1.1.
 */
#include <errno.h>
#include <time.h>

#include "virtio_pci.h"
#include "virtio_pci_access.h"
#include "virtio_pci_regs.h"
#include "../common/error_internal.h"

uint8_t uvi_vpci_get_status(const struct uvi_vpci *v)
{
	return (uint8_t)vpci_read(&v->common, UVI_VCOMMON_STATUS, 1);
}

void uvi_vpci_set_status(const struct uvi_vpci *v, uint8_t status)
{
	vpci_write(&v->common, UVI_VCOMMON_STATUS, 1, status);
}

void uvi_vpci_add_status(const struct uvi_vpci *v, uint8_t bits)
{
	uvi_vpci_set_status(v, uvi_vpci_get_status(v) | bits);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * 4.1.4.3.2: after writing 0 to device_status the driver MUST wait for a
 * read of device_status to return 0 before reinitializing the device.
 * QEMU resets synchronously; a device that never finishes is given
 * reset_timeout_ms, polled with a growing pause (1 us up to 1 ms).
 */
int uvi_vpci_reset(struct uvi_vpci *v)
{
	uint64_t deadline = monotonic_ns() + (uint64_t)v->reset_timeout_ms * 1000000u;
	struct timespec pause = { 0, 1000 };
	char bdf[VIOMMU_PCI_ADDR_STRLEN];
	uint8_t status;

	uvi_vpci_set_status(v, 0);
	for (;;) {
		status = uvi_vpci_get_status(v);
		if (!status)
			return 0;
		if (monotonic_ns() >= deadline)
			break;
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 1000000)
			pause.tv_nsec *= 2;
	}
	viommu_pci_addr_format(v->pci->addr, bdf, sizeof(bdf));
	return uvi_fail(-ETIMEDOUT, "%s did not finish its reset: status 0x%02x %u ms after "
			"writing 0 (virtio 1.2, 4.1.4.3.2); try a function reset: "
			"echo 1 > /sys/bus/pci/devices/%s/reset", bdf, status,
			v->reset_timeout_ms, bdf);
}

static uint64_t read_feature_words(const struct uvi_vpci *v, unsigned select, unsigned value)
{
	uint64_t lo, hi;

	vpci_write(&v->common, select, 4, 0);
	lo = vpci_read(&v->common, value, 4);
	vpci_write(&v->common, select, 4, 1);
	hi = vpci_read(&v->common, value, 4);
	return hi << 32 | lo;
}

uint64_t uvi_vpci_get_device_features(const struct uvi_vpci *v)
{
	return read_feature_words(v, UVI_VCOMMON_DFSELECT, UVI_VCOMMON_DF);
}

void uvi_vpci_set_driver_features(const struct uvi_vpci *v, uint64_t features)
{
	vpci_write(&v->common, UVI_VCOMMON_GFSELECT, 4, 0);
	vpci_write(&v->common, UVI_VCOMMON_GF, 4, (uint32_t)features);
	vpci_write(&v->common, UVI_VCOMMON_GFSELECT, 4, 1);
	vpci_write(&v->common, UVI_VCOMMON_GF, 4, (uint32_t)(features >> 32));
}

/* 3.1.1 steps 5-6: set FEATURES_OK, then re-read it: cleared means refused. */
int uvi_vpci_features_ok(const struct uvi_vpci *v)
{
	uvi_vpci_add_status(v, UVI_VSTATUS_FEATURES_OK);
	if (uvi_vpci_get_status(v) & UVI_VSTATUS_FEATURES_OK)
		return 0;
	return uvi_fail(-ENOTSUP, "device refused driver features 0x%llx (offered 0x%llx): "
			"FEATURES_OK did not stick (virtio 1.2, 3.1.1)",
			(unsigned long long)read_feature_words(v, UVI_VCOMMON_GFSELECT,
							       UVI_VCOMMON_GF),
			(unsigned long long)uvi_vpci_get_device_features(v));
}

int uvi_vpci_negotiate(const struct uvi_vpci *v, uint64_t wanted, uint64_t *negotiated)
{
	const uint64_t version_1 = 1ull << UVI_VIRTIO_F_VERSION_1;
	uint64_t offered = uvi_vpci_get_device_features(v);
	uint64_t accepted;
	int rc;

	/* 6.1: a device that does not offer VERSION_1 is legacy-only. */
	if (!(offered & version_1))
		return uvi_fail(-ENOTSUP, "device offers features 0x%llx without "
				"VIRTIO_F_VERSION_1 (bit 32): legacy-only, not supported",
				(unsigned long long)offered);
	accepted = offered & (wanted | version_1);
	uvi_vpci_set_driver_features(v, accepted);
	rc = uvi_vpci_features_ok(v);
	if (rc)
		return rc;
	*negotiated = accepted;
	return 0;
}

uint16_t uvi_vpci_num_queues(const struct uvi_vpci *v)
{
	return (uint16_t)vpci_read(&v->common, UVI_VCOMMON_NUMQ, 2);
}

uint8_t uvi_vpci_isr(const struct uvi_vpci *v)
{
	return (uint8_t)vpci_read(&v->isr, 0, 1);
}
