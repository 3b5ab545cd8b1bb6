/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-info device [SSSS:BB:DD.F] [--access auto|vfio|uio|sim] [--json]
 *                     [--file PATH | --topology PATH] [--endpoint SSSS:BB:DD.F]...
 *
 * One virtio-iommu in detail. If a process owns it, its published snapshot
 * (drivers/iommu/owner.h) is shown and the device is not touched. If
 * nobody does, the device is opened for a moment (which resets it: there
 * is no other way to read its features), keeping its bypass setting; each
 * endpoint is PROBEd for its reserved regions without being attached, and
 * the device is closed (reset again).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "info.h"

struct device_opts {
	const char *device; /* NULL: the only virtio-iommu on the bus */
	const char *access; /* auto, vfio, uio, sim */
	struct topology_source src;
	int json;
	struct viommu_pci_addr named[DEVICE_MAX_NAMED];
	size_t n_named;
};

static bool valid_access(const char *a)
{
	return !strcmp(a, "auto") || !strcmp(a, "vfio") || !strcmp(a, "uio") || !strcmp(a, "sim");
}

static int add_named(struct device_opts *o, const char *text)
{
	if (o->n_named == DEVICE_MAX_NAMED)
		return info_usage_error("device: at most %d --endpoint options", DEVICE_MAX_NAMED);
	if (viommu_pci_addr_parse(text, &o->named[o->n_named]))
		return info_usage_error("device: --endpoint: %s", viommu_last_error());
	o->n_named++;
	return 0;
}

static int parse_option(struct device_opts *o, int c, char **argv)
{
	switch (c) {
	case 'a':
		if (!valid_access(optarg))
			return info_usage_error("device: unknown access '%s' (auto, vfio, uio or "
						"sim)", optarg);
		o->access = optarg;
		return 0;
	case 'f': o->src.viot_path = optarg; return 0;
	case 't': o->src.text_path = optarg; return 0;
	case 'j': o->json = 1; return 0;
	case 'e': return add_named(o, optarg);
	default:
		return info_usage_error("device: unknown option or missing argument '%s'",
					argv[optind - 1]);
	}
}

static int parse_device_opts(int argc, char **argv, struct device_opts *o)
{
	static const struct option longopts[] = {
		{ "access", required_argument, NULL, 'a' },
		{ "file", required_argument, NULL, 'f' },
		{ "topology", required_argument, NULL, 't' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->access = "auto";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if ((rc = parse_option(o, c, argv)))
			return rc;
	if (optind + 1 < argc)
		return info_usage_error("device: unexpected argument '%s'", argv[optind + 1]);
	o->device = optind < argc ? argv[optind] : NULL;
	if (o->src.viot_path && o->src.text_path)
		return info_usage_error("device: give --file or --topology, not both");
	return 0;
}

static bool is_sim(const struct device_opts *o)
{
	return strcmp(o->access, "sim") == 0;
}

/* The address to look at: the one given, the software device's, or the only one on the bus. */
static int choose_address(const struct device_opts *o, struct viommu_pci_addr *out)
{
	struct viommu_pci_func *funcs;
	size_t n, found = 0;

	if (o->device && viommu_pci_addr_parse(o->device, out))
		return info_usage_error("device: %s", viommu_last_error());
	if (o->device)
		return 0;
	if (is_sim(o)) { /* where the driver puts the software device */
		*out = (struct viommu_pci_addr){ 0, VIOMMU_BDF(0, 2, 0) };
		return 0;
	}
	if (viommu_pci_scan(&funcs, &n)) {
		fprintf(stderr, "uviommu-info: %s\n", viommu_last_error());
		return INFO_EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		if (viommu_pci_is_virtio_iommu(&funcs[i]) && !found++)
			*out = funcs[i].addr;
	viommu_pci_scan_free(funcs);
	if (found == 1)
		return 0;
	fprintf(stderr, "uviommu-info: device: %s virtio-iommu on this machine's PCI bus%s\n",
		found ? "more than one" : "no", found ? ": give its address ('uviommu-info "
		"devices' lists them)" : "");
	return INFO_EXIT_FAILED;
}

/* Like 'devices': a topology if one was given or the firmware has one (never for sim). */
static int load_topology(const struct device_opts *o, struct viommu_topology **out)
{
	*out = NULL;
	if (o->src.viot_path || o->src.text_path)
		return info_load_topology(&o->src, out);
	if (is_sim(o) || access(VIOMMU_VIOT_SYSFS_PATH, R_OK) != 0)
		return 0;
	return info_load_topology(&o->src, out);
}

/* The snapshot is another process's memory: its strings are shown only printable. */
static void make_printable(char *s, size_t size)
{
	s[size - 1] = '\0';
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

static void from_owner(struct device_report *r)
{
	struct uvi_owner_state *st = &r->owner;

	make_printable(st->command, sizeof(st->command));
	make_printable(st->access, sizeof(st->access));
	make_printable(st->ring, sizeof(st->ring));
	r->owned = true;
	snprintf(r->access, sizeof(r->access), "%s", st->access);
	snprintf(r->ring, sizeof(r->ring), "%s", st->ring);
	r->features_negotiated = st->features_negotiated;
	r->bypass = st->bypass;
	r->counters = (struct device_counters){
		.requests = st->requests, .request_errors = st->request_errors,
		.notifies = st->notifies, .faults = st->faults,
		.faults_dropped_malformed = st->faults_dropped_malformed, .resets = st->resets,
	};
}

/* 0 and the snapshot, -ENOENT when nobody owns the device, or INFO_EXIT_FAILED. */
static int read_owner(struct viommu_pci_addr addr, struct device_report *r)
{
	int rc = uvi_owner_read(addr, &r->owner);

	if (rc == -ENOENT)
		return rc;
	if (rc) {
		fprintf(stderr, "uviommu-info: device: %s\n", viommu_last_error());
		return INFO_EXIT_FAILED;
	}
	from_owner(r);
	return 0;
}

static int probe_one(struct viommu_dev *dev, struct device_endpoint *ep)
{
	int n = viommu_probe_endpoint(dev, ep->id);

	if (n < 0)
		return n;
	ep->resv = calloc((size_t)n + 1, sizeof(*ep->resv));
	if (!ep->resv) {
		fprintf(stderr, "uviommu-info: out of memory\n");
		return -ENOMEM;
	}
	n = viommu_get_resv_regions(dev, ep->id, ep->resv, (unsigned)n);
	if (n >= 0)
		ep->n_resv = n;
	return n < 0 ? n : 0;
}

/* Every endpoint's reserved regions; a PROBE that fails is reported and shown unprobed. */
static int probe_all(struct viommu_dev *dev, struct device_report *r)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int status = 0;

	for (size_t i = 0; i < r->n_eps; i++) {
		if (!probe_one(dev, &r->eps[i]))
			continue;
		viommu_pci_addr_format(r->eps[i].addr, name, sizeof(name));
		fprintf(stderr, "uviommu-info: device: PROBE of %s (endpoint %u): %s\n", name,
			r->eps[i].id, viommu_last_error());
		status = INFO_EXIT_FAILED;
	}
	return status;
}

static void from_open(struct viommu_dev *dev, struct device_report *r)
{
	struct viommu_stats s;

	viommu_get_info(dev, &r->info);
	viommu_get_stats(dev, &s);
	snprintf(r->access, sizeof(r->access), "%s", r->info.access);
	snprintf(r->ring, sizeof(r->ring), "%s", r->info.ring);
	r->features_negotiated = r->info.features_negotiated;
	r->bypass = r->info.bypass;
	r->counters = (struct device_counters){
		.requests = s.requests, .request_errors = s.request_errors,
		.notifies = s.notifies, .faults = s.faults,
		.faults_dropped_malformed = s.faults_dropped_malformed, .resets = s.resets,
	};
}

/*
 * Nobody owns the device: open it (bypass kept as it is), probe, close.
 * An owner that appeared meanwhile makes the open fail with -EBUSY: its
 * snapshot is shown instead.
 */
static int open_and_probe(const struct device_opts *o, struct viommu_pci_addr addr,
			  struct device_report *r)
{
	struct viommu_open_opts oo = {
		.device = r->device,
		.access = o->access,
		.viot_path = o->src.viot_path,
		.topology_path = o->src.text_path,
		.flags = VIOMMU_OPEN_KEEP_BYPASS,
	};
	struct viommu_dev *dev;
	int rc = viommu_open(&oo, &dev), status;

	if (rc == -EBUSY && !is_sim(o) && read_owner(addr, r) == 0)
		return 0;
	if (rc) {
		fprintf(stderr, "uviommu-info: device: %s\n", viommu_last_error());
		return INFO_EXIT_FAILED;
	}
	status = probe_all(dev, r);
	from_open(dev, r); /* after the PROBEs, so that the counters include them */
	viommu_close(dev);
	return status;
}

static int gather(const struct device_opts *o, struct viommu_pci_addr addr,
		  struct device_report *r)
{
	int rc = is_sim(o) ? -ENOENT : read_owner(addr, r); /* the software device has no owner */

	if (rc != -ENOENT)
		return rc;
	return open_and_probe(o, addr, r);
}

int cmd_device(int argc, char **argv)
{
	struct viommu_topology *topo = NULL;
	struct device_report r = { .iommu_index = SIZE_MAX };
	struct viommu_pci_addr addr;
	struct device_opts o;
	int rc = parse_device_opts(argc, argv, &o), index;

	if (!rc)
		rc = choose_address(&o, &addr);
	if (rc)
		return rc;
	if (load_topology(&o, &topo))
		return INFO_EXIT_FAILED;
	if (topo)
		info_print_warnings(topo);
	viommu_pci_addr_format(addr, r.device, sizeof(r.device));
	index = topo ? viommu_topology_find_pci_iommu(topo, addr) : -ENOENT;
	r.topo = topo;
	r.iommu_index = index < 0 ? SIZE_MAX : (size_t)index;
	rc = device_endpoints_find(&r, !is_sim(&o), o.named, o.n_named) ? INFO_EXIT_FAILED : 0;
	if (!rc)
		rc = gather(&o, addr, &r);
	if (r.access[0]) { /* a report, even when a PROBE failed */
		if (o.json)
			device_print_json(&r);
		else
			device_print_text(&r);
	}
	device_endpoints_free(&r);
	viommu_topology_free(topo);
	return rc;
}
