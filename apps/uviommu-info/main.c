/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info: what the virtio-iommu sees, in the spirit of lspci. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "info.h"

static void usage(FILE *out)
{
	fputs("usage: uviommu-info COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  viot [--file PATH | --topology PATH] [--endpoint SSSS:BB:DD.F] [--json]\n"
	      "        decode the ACPI VIOT (default " VIOMMU_VIOT_SYSFS_PATH ")\n"
	      "        or a text topology file; with --endpoint, tell which IOMMU\n"
	      "        and endpoint ID a PCI function has\n"
	      "  devices [--file PATH | --topology PATH] [--json]\n"
	      "        the virtio-iommu functions on the PCI bus, their kernel\n"
	      "        driver, and the endpoints behind each\n"
	      "  bind SSSS:BB:DD.F --driver uio|vfio\n"
	      "        hand a PCI function to uio_pci_generic or vfio-pci (no-IOMMU\n"
	      "        mode) for userspace drivers; loads the module (needs root)\n"
	      "  device [SSSS:BB:DD.F] [--access auto|vfio|uio|sim] [--json]\n"
	      "         [--file PATH | --topology PATH] [--endpoint SSSS:BB:DD.F]...\n"
	      "        one virtio-iommu in detail: its owner's domains, mappings and\n"
	      "        counters; or, when nobody owns it, its features, configuration\n"
	      "        and the reserved regions of its endpoints (opens and resets it)\n"
	      "\n"
	      "exit status: 0 success, 1 malformed input or failure, 2 usage error\n",
	      out);
}

int info_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("uviommu-info: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(run 'uviommu-info --help' for usage)\n", stderr);
	return INFO_EXIT_USAGE;
}

int info_load_topology(const struct topology_source *src, struct viommu_topology **out)
{
	int rc;

	if (src->text_path)
		rc = viommu_topology_load_text(src->text_path, out);
	else
		rc = viommu_topology_load_viot(src->viot_path, out);
	if (rc)
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
	return rc;
}

void info_print_warnings(const struct viommu_topology *topo)
{
	const char *where = topo->source == VIOMMU_TOPOLOGY_TEXT ? "line" : "offset";

	for (size_t i = 0; i < topo->n_warnings; i++)
		fprintf(stderr, "uviommu-info: warning: %s %u: %s\n", where,
			topo->warnings[i].offset, topo->warnings[i].message);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), INFO_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout), INFO_EXIT_OK;
	if (strcmp(argv[1], "viot") == 0)
		return cmd_viot(argc - 1, argv + 1);
	if (strcmp(argv[1], "devices") == 0)
		return cmd_devices(argc - 1, argv + 1);
	if (strcmp(argv[1], "bind") == 0)
		return cmd_bind(argc - 1, argv + 1);
	if (strcmp(argv[1], "device") == 0)
		return cmd_device(argc - 1, argv + 1);
	return info_usage_error("unknown command '%s'", argv[1]);
}
