/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_INFO_H
#define UVIOMMU_INFO_H

#include <uviommu/uviommu.h>

/* Exit statuses of uviommu-info. */
enum {
	INFO_EXIT_OK = 0,
	INFO_EXIT_FAILED = 1, /* malformed input or an operation that failed */
	INFO_EXIT_USAGE = 2,
};

/* Where the topology comes from: --file (a VIOT), --topology (text), or sysfs. */
struct topology_source {
	const char *viot_path;
	const char *text_path;
};

struct info_opts {
	struct topology_source src;
	int json;
	const char *endpoint; /* viot --endpoint */
};

/*
 * Parse a command's options (argv[0] is the command name). Returns 0, or
 * INFO_EXIT_USAGE after printing why.
 */
int info_parse_opts(int argc, char **argv, int allow_endpoint, struct info_opts *o);

int info_load_topology(const struct topology_source *src, struct viommu_topology **out);
void info_print_warnings(const struct viommu_topology *topo);
int info_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_viot(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_device(int argc, char **argv);

/* Rendering of a topology (topology_print.c). */
void print_topology_text(const struct viommu_topology *topo);
void print_topology_json(const struct viommu_topology *topo);

#endif
