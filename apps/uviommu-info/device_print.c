/* SPDX-License-Identifier: BSD-3-Clause */
/* uviommu-info device: the report as text (like lspci -vv) and as JSON. */
#include <inttypes.h>
#include <stdio.h>

#include "device.h"
#include "../common/json.h"

/* Feature bits by name: the device's (virtio 1.2, 5.13.3), then the transport's (6). */
static const char *const feature_names[64] = {
	[0] = "INPUT_RANGE",
	[1] = "DOMAIN_RANGE",
	[2] = "MAP_UNMAP",
	[3] = "BYPASS",
	[4] = "PROBE",
	[5] = "MMIO",
	[6] = "BYPASS_CONFIG",
	[28] = "INDIRECT_DESC",
	[29] = "EVENT_IDX",
	[32] = "VERSION_1",
	[33] = "ACCESS_PLATFORM",
	[34] = "RING_PACKED",
	[35] = "IN_ORDER",
	[36] = "ORDER_PLATFORM",
	[37] = "SR_IOV",
	[38] = "NOTIFICATION_DATA",
	[39] = "NOTIF_CONFIG_DATA",
	[40] = "RING_RESET",
};

/* The name of bit, or "bit<N>" in buf for one the spec does not name. */
static const char *feature_name(unsigned bit, char *buf, size_t size)
{
	if (feature_names[bit])
		return feature_names[bit];
	snprintf(buf, size, "bit%u", bit);
	return buf;
}

static void features_text(const char *label, uint64_t features)
{
	char buf[8];

	printf("\t%s:", label);
	for (unsigned bit = 0; bit < 64; bit++)
		if (features & (UINT64_C(1) << bit))
			printf(" %s", feature_name(bit, buf, sizeof(buf)));
	printf("%s\n", features ? "" : " (none)");
}

static const char *resv_type(const struct viommu_resv_region *region)
{
	return region->subtype == VIOMMU_RESV_MSI ? "msi" : "reserved";
}

static const char *bypass_meaning(uint8_t bypass)
{
	return bypass ? "unattached endpoints access memory untranslated" :
			"unattached endpoints are blocked";
}

static void endpoint_text(const struct device_report *r, const struct device_endpoint *ep)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	viommu_pci_addr_format(ep->addr, name, sizeof(name));
	printf("\t\t%s endpoint %" PRIu32 ":", name, ep->id);
	if (ep->n_resv < 0)
		printf(" reserved regions not probed%s\n",
		       r->owned ? " (the device is owned: this tool sends it nothing)" : "");
	else if (!ep->n_resv)
		printf(" no reserved region\n");
	else
		putchar('\n');
	for (int i = 0; i < ep->n_resv; i++)
		printf("\t\t\t%-8s 0x%" PRIx64 "-0x%" PRIx64 "\n", resv_type(&ep->resv[i]),
		       ep->resv[i].start, ep->resv[i].end);
}

static void endpoints_text(const struct device_report *r)
{
	printf("\tEndpoints:%s\n", r->n_eps ? "" :
	       r->topo ? " none present" : " unknown (no topology: give --file or --topology)");
	for (size_t i = 0; i < r->n_eps; i++)
		endpoint_text(r, &r->eps[i]);
}

static void domain_text(const struct device_report *r, const struct uvi_owner_domain *d)
{
	uint32_t listed = d->n_endpoints < UVI_OWNER_MAX_ENDPOINTS ? d->n_endpoints :
								    UVI_OWNER_MAX_ENDPOINTS;
	char name[VIOMMU_PCI_ADDR_STRLEN];

	printf("\t\tdomain %" PRIu32 ": %" PRIu64 " mappings, %" PRIu64 " bytes; ", d->id,
	       d->mappings, d->mapped_bytes);
	printf("%s", d->n_endpoints ? "endpoints" : "no endpoint attached");
	for (uint32_t i = 0; i < listed; i++) {
		struct viommu_pci_addr addr;
		bool known = device_endpoint_address(r, d->endpoints[i], &addr);

		if (known)
			viommu_pci_addr_format(addr, name, sizeof(name));
		printf("%s %" PRIu32 " (%s)", i ? "," : "", d->endpoints[i],
		       known ? name : "not in the topology");
	}
	if (d->n_endpoints > listed)
		printf(" and %" PRIu32 " more", d->n_endpoints - listed);
	putchar('\n');
}

static void domains_text(const struct device_report *r)
{
	uint32_t listed = r->owner.n_domains < UVI_OWNER_MAX_DOMAINS ? r->owner.n_domains :
								      UVI_OWNER_MAX_DOMAINS;

	printf("\tDomains: %" PRIu32 "%s\n", r->owner.n_domains,
	       r->owner.n_domains > listed ? " (the first 64 listed)" : "");
	for (uint32_t i = 0; i < listed; i++)
		domain_text(r, &r->owner.domains[i]);
}

static void counters_text(const struct device_counters *c)
{
	printf("\tCounters: %" PRIu64 " requests (%" PRIu64 " failed), %" PRIu64 " notifies, "
	       "%" PRIu64 " faults (%" PRIu64 " malformed, dropped), %" PRIu64 " resets\n",
	       c->requests, c->request_errors, c->notifies, c->faults,
	       c->faults_dropped_malformed, c->resets);
}

static void config_text(const struct viommu_dev_info *info)
{
	printf("\tPage sizes: 0x%" PRIx64 " (granule %" PRIu64 " bytes)\n", info->page_size_mask,
	       info->granule);
	printf("\tInput range: 0x%" PRIx64 "-0x%" PRIx64 "\n", info->input_start, info->input_end);
	printf("\tDomain range: %" PRIu32 "-%" PRIu32 "\n", info->domain_start, info->domain_end);
	printf("\tProbe size: %" PRIu32 " bytes\n", info->probe_size);
}

void device_print_text(const struct device_report *r)
{
	if (r->owned)
		printf("%s virtio-iommu: owned by pid %" PRId32 " (%s)\n", r->device, r->owner.pid,
		       r->owner.command);
	else
		printf("%s virtio-iommu: not owned (opened through %s for this report: reset, "
		       "probed, reset again)\n", r->device, r->access);
	printf("\tAccess: %s, %s ring\n", r->access, r->ring);
	if (!r->owned)
		features_text("Features offered", r->info.features_offered);
	features_text("Features negotiated", r->features_negotiated);
	if (!r->owned)
		config_text(&r->info);
	printf("\tBypass: %u (%s)\n", r->bypass, bypass_meaning(r->bypass));
	if (r->owned)
		domains_text(r);
	endpoints_text(r);
	counters_text(&r->counters);
}

static void features_json(struct json *j, const char *key, uint64_t features)
{
	char buf[8];

	json_array_begin(j, key);
	for (unsigned bit = 0; bit < 64; bit++)
		if (features & (UINT64_C(1) << bit))
			json_string(j, NULL, feature_name(bit, buf, sizeof(buf)));
	json_array_end(j);
}

static void owner_json(struct json *j, const struct device_report *r)
{
	if (!r->owned) {
		json_null(j, "owner");
		return;
	}
	json_object_begin(j, "owner");
	json_uint(j, "pid", (uint64_t)r->owner.pid);
	json_string(j, "command", r->owner.command);
	json_object_end(j);
}

static void config_json(struct json *j, const struct device_report *r)
{
	const struct viommu_dev_info *info = &r->info;

	json_object_begin(j, "config");
	if (!r->owned) {
		json_hex(j, "page_size_mask", info->page_size_mask);
		json_uint(j, "granule", info->granule);
		json_hex(j, "input_start", info->input_start);
		json_hex(j, "input_end", info->input_end);
		json_uint(j, "domain_start", info->domain_start);
		json_uint(j, "domain_end", info->domain_end);
		json_uint(j, "probe_size", info->probe_size);
	}
	json_uint(j, "bypass", r->bypass);
	json_object_end(j);
}

static void endpoint_ref_json(struct json *j, const struct device_report *r, uint32_t id)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];
	struct viommu_pci_addr addr;

	json_object_begin(j, NULL);
	if (device_endpoint_address(r, id, &addr)) {
		viommu_pci_addr_format(addr, name, sizeof(name));
		json_string(j, "device", name);
	} else {
		json_null(j, "device");
	}
	json_uint(j, "endpoint_id", id);
	json_object_end(j);
}

static void endpoint_json(struct json *j, const struct device_endpoint *ep)
{
	char name[VIOMMU_PCI_ADDR_STRLEN];

	json_object_begin(j, NULL);
	viommu_pci_addr_format(ep->addr, name, sizeof(name));
	json_string(j, "device", name);
	json_uint(j, "endpoint_id", ep->id);
	if (ep->n_resv < 0) {
		json_null(j, "reserved");
	} else {
		json_array_begin(j, "reserved");
		for (int i = 0; i < ep->n_resv; i++) {
			json_object_begin(j, NULL);
			json_hex(j, "start", ep->resv[i].start);
			json_hex(j, "end", ep->resv[i].end);
			json_string(j, "type", resv_type(&ep->resv[i]));
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_object_end(j);
}

static void domains_json(struct json *j, const struct device_report *r)
{
	uint32_t n = r->owned ? r->owner.n_domains : 0;

	json_array_begin(j, "domains");
	for (uint32_t i = 0; i < n && i < UVI_OWNER_MAX_DOMAINS; i++) {
		const struct uvi_owner_domain *d = &r->owner.domains[i];

		json_object_begin(j, NULL);
		json_uint(j, "id", d->id);
		json_array_begin(j, "endpoints");
		for (uint32_t e = 0; e < d->n_endpoints && e < UVI_OWNER_MAX_ENDPOINTS; e++)
			endpoint_ref_json(j, r, d->endpoints[e]);
		json_array_end(j);
		json_uint(j, "mappings", d->mappings);
		json_uint(j, "mapped_bytes", d->mapped_bytes);
		json_object_end(j);
	}
	json_array_end(j);
}

static void counters_json(struct json *j, const struct device_counters *c)
{
	json_object_begin(j, "counters");
	json_uint(j, "requests", c->requests);
	json_uint(j, "request_errors", c->request_errors);
	json_uint(j, "notifies", c->notifies);
	json_uint(j, "faults", c->faults);
	json_uint(j, "faults_dropped_malformed", c->faults_dropped_malformed);
	json_uint(j, "resets", c->resets);
	json_object_end(j);
}

void device_print_json(const struct device_report *r)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", r->device);
	json_string(&j, "access", r->access);
	json_string(&j, "ring", r->ring);
	owner_json(&j, r);
	if (r->owned)
		json_null(&j, "features_offered");
	else
		features_json(&j, "features_offered", r->info.features_offered);
	features_json(&j, "features_negotiated", r->features_negotiated);
	config_json(&j, r);
	json_array_begin(&j, "endpoints");
	for (size_t i = 0; i < r->n_eps; i++)
		endpoint_json(&j, &r->eps[i]);
	json_array_end(&j);
	domains_json(&j, r);
	counters_json(&j, &r->counters);
	json_object_end(&j);
	json_finish(&j);
}
