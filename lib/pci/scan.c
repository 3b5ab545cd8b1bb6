/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI discovery with libpci. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include <uviommu/pci.h>

#include "../common/error_internal.h"

/*
 * libpci reports fatal errors through a callback that must not return
 * (its default calls exit()). A library may not exit, so the callback
 * jumps back to the scan that is in progress in this thread.
 */
static _Thread_local jmp_buf *scan_escape;
static _Thread_local char scan_error[160];

__attribute__((noreturn)) static void scan_fatal(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(scan_error, sizeof(scan_error), msg, ap);
	va_end(ap);
	longjmp(*scan_escape, 1);
}

static void scan_quiet(char *msg, ...)
{
	(void)msg;
}

static int compare_funcs(const void *a, const void *b)
{
	const struct viommu_pci_func *x = a, *y = b;
	uint32_t kx = (uint32_t)x->addr.segment << 16 | x->addr.bdf;
	uint32_t ky = (uint32_t)y->addr.segment << 16 | y->addr.bdf;

	return (kx > ky) - (kx < ky);
}

static void fill_func(struct pci_dev *d, struct viommu_pci_func *f)
{
	const char *driver;

	pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_NUMA_NODE | PCI_FILL_DRIVER);
	*f = (struct viommu_pci_func){
		.addr = { .segment = (uint16_t)d->domain,
			  .bdf = VIOMMU_BDF(d->bus, d->dev, d->func) },
		.vendor_id = d->vendor_id,
		.device_id = d->device_id,
		.class_id = d->device_class,
		.numa_node = d->numa_node,
	};
	driver = pci_get_string_property(d, PCI_FILL_DRIVER);
	if (driver)
		snprintf(f->driver, sizeof(f->driver), "%s", driver);
}

static int collect(struct pci_access *pacc, struct viommu_pci_func **out, size_t *count)
{
	struct viommu_pci_func *funcs;
	size_t n = 0, i = 0;

	pci_scan_bus(pacc);
	for (struct pci_dev *d = pacc->devices; d; d = d->next)
		n++;
	funcs = calloc(n ? n : 1, sizeof(*funcs));
	if (!funcs)
		return uvi_fail(-ENOMEM, "PCI scan: out of memory");
	for (struct pci_dev *d = pacc->devices; d; d = d->next)
		fill_func(d, &funcs[i++]);
	qsort(funcs, n, sizeof(*funcs), compare_funcs);
	*out = funcs;
	*count = n;
	return 0;
}

int viommu_pci_scan(struct viommu_pci_func **out, size_t *count)
{
	jmp_buf escape;
	struct pci_access *volatile pacc = NULL;
	int rc;

	if (!out || !count)
		return uvi_fail(-EINVAL, "PCI scan: NULL argument");
	pacc = pci_alloc();
	if (!pacc)
		return uvi_fail(-ENOMEM, "PCI scan: out of memory");
	pacc->error = scan_fatal;
	pacc->warning = scan_quiet;
	pacc->debug = scan_quiet;
	scan_escape = &escape;
	if (setjmp(escape)) {
		pci_cleanup(pacc);
		return uvi_fail(-EIO, "PCI scan (libpci): %s", scan_error);
	}
	pci_init(pacc);
	rc = collect(pacc, out, count);
	pci_cleanup(pacc);
	scan_escape = NULL;
	return rc;
}

void viommu_pci_scan_free(struct viommu_pci_func *funcs)
{
	free(funcs);
}

int viommu_pci_is_virtio_iommu(const struct viommu_pci_func *f)
{
	return f->vendor_id == VIOMMU_PCI_VENDOR_VIRTIO &&
	       f->device_id == VIOMMU_PCI_DEVICE_VIRTIO_IOMMU;
}
