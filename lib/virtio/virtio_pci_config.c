/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-specific configuration over the modern virtio-pci transport
 * (virtio 1.2, 4.1.4.6), read consistently with config_generation (2.5.1).
 */
#include <errno.h>
#include <string.h>

#include "virtio_pci.h"
#include "virtio_pci_access.h"
#include "virtio_pci_regs.h"
#include "../common/error_internal.h"

/* Longest range read at once: the bounce buffer keeps a failed read from touching buf. */
#define CONFIG_READ_MAX 256

static int check_range(const struct uvi_vpci *v, uint32_t off, size_t len)
{
	if (!v->device.len)
		return uvi_fail(-ENODEV, "the device has no device-specific configuration");
	if (!len || len > v->device.len || off > v->device.len - len)
		return uvi_fail(-EINVAL, "device configuration access [0x%x, +%zu) outside its %u "
				"bytes", off, len, v->device.len);
	return 0;
}

/*
 * 4.1.3.1: 8-bit fields with 8-bit accesses, 16-bit ones with aligned
 * 16-bit accesses, 32- and 64-bit ones with aligned 32-bit accesses. The
 * widest aligned access that fits the rest of the range does that, as
 * long as an 8- or 16-bit field is not read together with its neighbour.
 */
static unsigned access_width(uint32_t off, size_t left)
{
	if (!(off & 3) && left >= 4)
		return 4;
	if (!(off & 1) && left >= 2)
		return 2;
	return 1;
}

static void copy_in(const struct uvi_vpci *v, uint32_t off, uint8_t *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		unsigned w = access_width(off + (uint32_t)done, len - done);
		uint32_t val = vpci_read(&v->device, off + done, w);

		for (unsigned i = 0; i < w; i++)
			buf[done + i] = (uint8_t)(val >> (8 * i));
		done += w;
	}
}

uint8_t uvi_vpci_config_generation(const struct uvi_vpci *v)
{
	return (uint8_t)vpci_read(&v->common, UVI_VCOMMON_CFGGEN, 1);
}

/* 2.5.1: read until config_generation is the same before and after. */
int uvi_vpci_config_read(const struct uvi_vpci *v, uint32_t off, void *buf, size_t len)
{
	uint8_t bounce[CONFIG_READ_MAX];
	int rc = check_range(v, off, len);

	if (rc)
		return rc;
	if (len > sizeof(bounce))
		return uvi_fail(-EINVAL, "device configuration read of %zu bytes: at most %u at "
				"once", len, CONFIG_READ_MAX);
	for (unsigned i = 0; i < v->config_retries; i++) {
		uint8_t before = uvi_vpci_config_generation(v);

		copy_in(v, off, bounce, len);
		if (uvi_vpci_config_generation(v) == before) {
			memcpy(buf, bounce, len);
			return 0;
		}
	}
	return uvi_fail(-EIO, "device configuration keeps changing: config_generation differed "
			"across each of %u reads (virtio 1.2, 2.5.1); the device is misbehaving",
			v->config_retries);
}

int uvi_vpci_config_write(const struct uvi_vpci *v, uint32_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc = check_range(v, off, len);

	if (rc)
		return rc;
	for (size_t done = 0; done < len;) {
		unsigned w = access_width(off + (uint32_t)done, len - done);
		uint32_t val = 0;

		for (unsigned i = 0; i < w; i++)
			val |= (uint32_t)p[done + i] << (8 * i);
		vpci_write(&v->device, off + done, w, val);
		done += w;
	}
	return 0;
}
