/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info bind SSSS:BB:DD.F --driver uio|vfio: hand a function to userspace. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "info.h"

static int parse_bind_opts(int argc, char **argv, const char **addr, const char **driver)
{
	static const struct option longopts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*addr = NULL;
	*driver = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'd')
			return info_usage_error("bind: unknown option or missing argument '%s'",
						argv[optind - 1]);
		*driver = optarg;
	}
	if (optind == argc)
		return info_usage_error("bind: give the function's address (SSSS:BB:DD.F)");
	if (optind + 1 < argc)
		return info_usage_error("bind: unexpected argument '%s'", argv[optind + 1]);
	*addr = argv[optind];
	if (!*driver)
		return info_usage_error("bind: give --driver uio or --driver vfio");
	if (strcmp(*driver, "uio") != 0 && strcmp(*driver, "vfio") != 0)
		return info_usage_error("bind: unknown driver '%s' (uio or vfio)", *driver);
	return 0;
}

int cmd_bind(int argc, char **argv)
{
	struct viommu_pci_addr addr;
	const char *text, *driver;
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int rc;

	rc = parse_bind_opts(argc, argv, &text, &driver);
	if (rc)
		return rc;
	if (viommu_pci_addr_parse(text, &addr))
		return info_usage_error("bind: %s", viommu_last_error());
	viommu_pci_addr_format(addr, name, sizeof(name));
	if (viommu_pci_bind(addr, driver)) {
		fprintf(stderr, "uviommu-info: bind: %s\n", viommu_last_error());
		return INFO_EXIT_FAILED;
	}
	printf("%s: bound to %s\n", name,
	       strcmp(driver, "uio") == 0 ? "uio_pci_generic" : "vfio-pci");
	return INFO_EXIT_OK;
}
