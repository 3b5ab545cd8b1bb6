/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The UVIOMMU environment variable: key=value pairs separated by commas
 * (DPDK's kvargs syntax; a list is written in brackets). The one channel
 * that reaches a plugin of an unmodified application (doc/dpdk.md).
 *
 *   iommu=SSSS:BB:DD.F        the virtio-iommu (default: the only one of the VIOT)
 *   access=auto|uio|vfio|sim  how to reach it (default auto)
 *   viot=PATH, topology=PATH  topology from a file instead of the firmware's VIOT
 *   devices=auto|[A,B,...]    the NICs (default auto: every function behind the IOMMU
 *                             bound to uio_pci_generic, vfio-pci or igb_uio that EAL's
 *                             allow/block lists let DPDK use)
 *   domain=per-nic|shared     one domain per NIC (default) or one for all
 *   mode=strict|permissive    stop at start-up when isolation fails (default), or go on
 *                             with what failed blocked
 *   allow_unprotected=0|1     run without isolation when the IOMMU cannot be opened
 *   map=dpdk|identity         DPDK's memory (default), or one identity mapping of all
 *                             RAM (a benchmark bound: no isolation between processes)
 *   poll_us=N                 fault polling interval (default 1000)
 *   fault_log_rate=N          fault lines logged per second at most (default 10)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_kvargs.h>

#include "dpdk_internal.h"

#define DEFAULT_POLL_US 1000u
#define DEFAULT_FAULT_LOG_RATE 10u

typedef int (*opt_fn)(const char *value, struct uvi_dpdk_opts *o, char *err, size_t errlen);

static int copy_string(const char *value, char *dst, size_t size, const char *key, char *err,
		       size_t errlen)
{
	if (strlen(value) >= size) {
		snprintf(err, errlen, "%s: '%s' is too long (%zu characters at most)", key, value,
			 size - 1);
		return -EINVAL;
	}
	strcpy(dst, value);
	return 0;
}

static int choose(const char *value, const char *const names[], unsigned n, const char *key,
		  char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcmp(value, names[i]) == 0)
			return (int)i;
	snprintf(err, errlen, "%s: '%s' is not one of", key, value);
	for (i = 0; i < n; i++)
		snprintf(err + strlen(err), errlen - strlen(err), " %s", names[i]);
	return -EINVAL;
}

static int parse_uint(const char *value, unsigned min, unsigned max, unsigned *out,
		      const char *key, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max) {
		snprintf(err, errlen, "%s: '%s' is not a number from %u to %u", key, value, min,
			 max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int opt_iommu(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	struct viommu_pci_addr a;

	if (viommu_pci_addr_parse(v, &a)) {
		snprintf(err, errlen, "iommu: '%s' is not a PCI address (SSSS:BB:DD.F)", v);
		return -EINVAL;
	}
	viommu_pci_addr_format(a, o->iommu, sizeof(o->iommu));
	return 0;
}

static int opt_access(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	static const char *const names[] = { "auto", "uio", "vfio", "sim" };
	int i = choose(v, names, 4, "access", err, errlen);

	if (i < 0)
		return i;
	strcpy(o->access, names[i]);
	return 0;
}

static int opt_viot(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	return copy_string(v, o->viot, sizeof(o->viot), "viot", err, errlen);
}

static int opt_topology(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	return copy_string(v, o->topology, sizeof(o->topology), "topology", err, errlen);
}

/* "auto", one address, or "[A,B,...]". */
static int opt_devices(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	char list[UVI_DPDK_MAX_NICS * (VIOMMU_PCI_ADDR_STRLEN + 1) + 2], *tok, *save;
	size_t len = strlen(v);

	if (strcmp(v, "auto") == 0) {
		o->devices_auto = true;
		return 0;
	}
	if (copy_string(v, list, sizeof(list), "devices", err, errlen))
		return -EINVAL;
	if (list[0] == '[') {
		if (len < 2 || list[len - 1] != ']') {
			snprintf(err, errlen, "devices: '%s' has no closing ']'", v);
			return -EINVAL;
		}
		list[len - 1] = '\0';
		memmove(list, list + 1, len - 1);
	}
	o->devices_auto = false;
	o->n_devices = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_devices == UVI_DPDK_MAX_NICS) {
			snprintf(err, errlen, "devices: more than %d", UVI_DPDK_MAX_NICS);
			return -EINVAL;
		}
		if (viommu_pci_addr_parse(tok, &o->devices[o->n_devices])) {
			snprintf(err, errlen, "devices: '%s' is not a PCI address (SSSS:BB:DD.F)",
				 tok);
			return -EINVAL;
		}
		o->n_devices++;
	}
	if (o->n_devices == 0) {
		snprintf(err, errlen, "devices: empty list (give 'auto' or addresses)");
		return -EINVAL;
	}
	return 0;
}

static int opt_domain(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	static const char *const names[] = { "per-nic", "shared" };
	int i = choose(v, names, 2, "domain", err, errlen);

	if (i < 0)
		return i;
	o->shared_domain = i == 1;
	return 0;
}

static int opt_mode(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	static const char *const names[] = { "strict", "permissive" };
	int i = choose(v, names, 2, "mode", err, errlen);

	if (i < 0)
		return i;
	o->mode = i == 0 ? UVI_DPDK_STRICT : UVI_DPDK_PERMISSIVE;
	return 0;
}

static int opt_map(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	static const char *const names[] = { "dpdk", "identity" };
	int i = choose(v, names, 2, "map", err, errlen);

	if (i < 0)
		return i;
	o->map = i == 0 ? UVI_DPDK_MAP_DPDK : UVI_DPDK_MAP_IDENTITY;
	return 0;
}

static int opt_unprotected(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	static const char *const names[] = { "0", "1" };
	int i = choose(v, names, 2, "allow_unprotected", err, errlen);

	if (i < 0)
		return i;
	o->allow_unprotected = i == 1;
	return 0;
}

static int opt_poll_us(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	return parse_uint(v, 10, 1000000, &o->poll_us, "poll_us", err, errlen);
}

static int opt_fault_log_rate(const char *v, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	return parse_uint(v, 0, 100000, &o->fault_log_rate, "fault_log_rate", err, errlen);
}

static const struct {
	const char *key;
	opt_fn fn;
} keys[] = {
	{ "iommu", opt_iommu },
	{ "access", opt_access },
	{ "viot", opt_viot },
	{ "topology", opt_topology },
	{ "devices", opt_devices },
	{ "domain", opt_domain },
	{ "mode", opt_mode },
	{ "map", opt_map },
	{ "allow_unprotected", opt_unprotected },
	{ "poll_us", opt_poll_us },
	{ "fault_log_rate", opt_fault_log_rate },
};

static int apply(const char *key, const char *value, struct uvi_dpdk_opts *o, char *err,
		 size_t errlen)
{
	unsigned i;

	for (i = 0; i < RTE_DIM(keys); i++)
		if (strcmp(key, keys[i].key) == 0)
			return keys[i].fn(value ? value : "", o, err, errlen);
	snprintf(err, errlen, "unknown key '%s' (keys: iommu access viot topology devices "
		 "domain mode map allow_unprotected poll_us fault_log_rate; doc/dpdk.md)", key);
	return -EINVAL;
}

int uvi_dpdk_parse_options(const char *text, struct uvi_dpdk_opts *o, char *err, size_t errlen)
{
	struct uvi_dpdk_opts parsed = {
		.access = "auto",
		.devices_auto = true,
		.poll_us = DEFAULT_POLL_US,
		.fault_log_rate = DEFAULT_FAULT_LOG_RATE,
	};
	struct rte_kvargs *kv;
	unsigned i;
	int rc = 0;

	if (text[0]) {
		kv = rte_kvargs_parse(text, NULL);
		if (!kv) {
			snprintf(err, errlen, "'%s' is not a list of key=value pairs separated by "
				 "commas", text);
			*o = parsed;
			return -EINVAL;
		}
		for (i = 0; i < kv->count && !rc; i++)
			rc = apply(kv->pairs[i].key, kv->pairs[i].value, &parsed, err, errlen);
		rte_kvargs_free(kv);
	}
	*o = parsed;
	return rc;
}
