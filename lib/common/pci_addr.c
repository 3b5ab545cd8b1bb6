/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uviommu/pci_addr.h>

#include "error_internal.h"

/* Parse exactly `digits` hex digits at *p, advancing it. */
static int parse_hex_field(const char **p, unsigned digits, unsigned *value)
{
	unsigned v = 0;

	for (unsigned i = 0; i < digits; i++) {
		char c = (*p)[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*p += digits;
	*value = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

int viommu_pci_addr_parse(const char *text, struct viommu_pci_addr *out)
{
	const char *p = text;
	unsigned seg = 0, bus, dev, fn;

	if (!text || !out)
		return uvi_fail(-EINVAL, "PCI address: NULL argument");
	/* "SSSS:" is optional, as in lspci's short form. */
	if (strlen(text) == 12 && (parse_hex_field(&p, 4, &seg) || expect_char(&p, ':')))
		goto bad;
	if (parse_hex_field(&p, 2, &bus) || expect_char(&p, ':') ||
	    parse_hex_field(&p, 2, &dev) || expect_char(&p, '.') ||
	    parse_hex_field(&p, 1, &fn) || *p != '\0')
		goto bad;
	if (dev > 31 || fn > 7)
		goto bad;
	out->segment = (uint16_t)seg;
	out->bdf = VIOMMU_BDF(bus, dev, fn);
	return 0;
bad:
	return uvi_fail(-EINVAL,
			   "PCI address '%s': expected SSSS:BB:DD.F or BB:DD.F (hex, device < 20, function < 8)",
			   text);
}

void viommu_pci_addr_format(struct viommu_pci_addr addr, char *buf, size_t size)
{
	snprintf(buf, size, "%04x:%02x:%02x.%x", addr.segment,
		 VIOMMU_BDF_BUS(addr.bdf), VIOMMU_BDF_DEV(addr.bdf),
		 VIOMMU_BDF_FN(addr.bdf));
}
