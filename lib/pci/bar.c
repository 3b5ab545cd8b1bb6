/* SPDX-License-Identifier: BSD-3-Clause */
/* BAR facts from sysfs "resource" (one line per resource: start end flags). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/error_internal.h"
#include "../common/file_internal.h"
#include "bar.h"
#include "sysfs.h"

/* Resource type flags as the kernel prints them (include/linux/ioport.h). */
#define RESOURCE_IO 0x100
#define RESOURCE_MEM 0x200

#define RESOURCE_FILE_MAX 4096

/* Line index of text (lines separated by '\n') parsed as three hex numbers. */
static int parse_line(const char *text, unsigned index, struct uvi_bar_resource *r)
{
	unsigned long long start, end, flags;

	for (unsigned i = 0; i < index; i++) {
		text = strchr(text, '\n');
		if (!text)
			return -1;
		text++;
	}
	if (sscanf(text, "%llx %llx %llx", &start, &end, &flags) != 3)
		return -1;
	r->start = start;
	r->flags = flags;
	r->len = (start || end) && end >= start ? end - start + 1 : 0;
	return 0;
}

static int read_resource_line(const char *path, unsigned index, struct uvi_bar_resource *r)
{
	void *data;
	size_t size;
	char *text;
	int rc;

	rc = uvi_read_file(path, "PCI resource list", RESOURCE_FILE_MAX, &data, &size);
	if (rc)
		return rc;
	text = realloc(data, size + 1);
	if (!text) {
		free(data);
		return uvi_fail(-ENOMEM, "%s: out of memory", path);
	}
	text[size] = '\0';
	rc = parse_line(text, index, r);
	free(text);
	if (rc)
		return uvi_fail(-EIO, "%s: no readable line for BAR %u", path, index);
	return 0;
}

int uvi_bar_resource_read(struct viommu_pci_addr addr, unsigned index,
			  struct uvi_bar_resource *out)
{
	char path[UVI_PATH_MAX], name[VIOMMU_PCI_ADDR_STRLEN];
	struct uvi_bar_resource r;
	int rc;

	uvi_pci_sysfs_path(addr, "resource", path, sizeof(path));
	rc = read_resource_line(path, index, &r);
	if (rc)
		return rc;
	viommu_pci_addr_format(addr, name, sizeof(name));
	if (r.len == 0)
		return uvi_fail(-ENOENT, "BAR %u of %s is not implemented (or is the upper half "
				"of a 64-bit BAR): check 'lspci -v -s %s'", index, name, name);
	if (r.flags & RESOURCE_IO)
		return uvi_fail(-ENOTSUP, "BAR %u of %s is an I/O port BAR; only memory BARs can "
				"be mapped", index, name);
	if (!(r.flags & RESOURCE_MEM))
		return uvi_fail(-ENOTSUP, "BAR %u of %s is not a memory BAR (resource flags "
				"0x%" PRIx64 ")", index, name, r.flags);
	*out = r;
	return 0;
}

void uvi_bars_unmap(struct uvi_pci_dev *dev)
{
	for (unsigned i = 0; i < UVI_PCI_BARS; i++) {
		if (dev->bars[i].base)
			munmap((void *)dev->bars[i].base, dev->bars[i].len);
		dev->bars[i] = (struct uvi_bar){ 0 };
	}
}
