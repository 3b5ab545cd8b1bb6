/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Finding the virtio structures of a modern virtio-pci function: the PCI
 * capability list, the virtio vendor capabilities in it (virtio 1.2,
 * 4.1.4) and the BAR windows they describe.
 *
 * The device is not trusted. The list is walked on one snapshot of the
 * configuration space, every pointer is range- and alignment-checked, a
 * list that comes back on itself is reported as a loop, and every window
 * must lie inside the BAR it names, as that BAR really is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_pci.h"
#include "virtio_pci_regs.h"
#include "../common/error_internal.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VCAP_TYPES 6 /* cfg_type 1..5 are used here; index 0 is unused */

/* One virtio vendor capability of a type we use, as found in the list. */
struct vcap {
	uint8_t pos;
	uint8_t type;
	uint8_t bar;
	uint32_t off;
	uint32_t len;
	uint32_t notify_mult;
};

struct vcap_list {
	struct vcap caps[UVI_PCI_CAP_MAX];
	unsigned n;
};

static const char *const vcap_names[VCAP_TYPES] = {
	[UVI_VCAP_COMMON] = "common configuration",
	[UVI_VCAP_NOTIFY] = "notification",
	[UVI_VCAP_ISR] = "ISR status",
	[UVI_VCAP_DEVICE] = "device configuration",
	[UVI_VCAP_PCI_CFG] = "PCI configuration access",
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *pci_name(const struct uvi_pci_dev *pci, char *buf)
{
	viommu_pci_addr_format(pci->addr, buf, VIOMMU_PCI_ADDR_STRLEN);
	return buf;
}

/*
 * Record a virtio vendor capability at pos. Reserved cfg_type values and
 * reserved BAR numbers are skipped, as 4.1.4 requires of the driver; a
 * capability of a known type that does not fit its own length is an error.
 */
static int parse_vendor_cap(const uint8_t *cfg, uint8_t pos, struct vcap_list *out)
{
	uint8_t len = cfg[pos + 2], type = cfg[pos + UVI_VCAP_CFG_TYPE];
	unsigned need = type == UVI_VCAP_NOTIFY || type == UVI_VCAP_PCI_CFG ?
			UVI_VCAP_NOTIFY_SIZE : UVI_VCAP_SIZE;
	struct vcap *c;

	if (type == 0 || type >= VCAP_TYPES)
		return 0;
	if (len < need || pos + len > UVI_PCI_CFG_SIZE)
		return uvi_fail(-EPROTO, "virtio %s capability at config offset 0x%02x has "
				"length %u: it needs %u, within the 256-byte config space",
				vcap_names[type], pos, len, need);
	if (cfg[pos + UVI_VCAP_BAR] >= UVI_PCI_BARS)
		return 0;
	c = &out->caps[out->n++];
	*c = (struct vcap){
		.pos = pos,
		.type = type,
		.bar = cfg[pos + UVI_VCAP_BAR],
		.off = get32(cfg + pos + UVI_VCAP_OFFSET),
		.len = get32(cfg + pos + UVI_VCAP_LENGTH),
	};
	if (type == UVI_VCAP_NOTIFY)
		c->notify_mult = get32(cfg + pos + UVI_VCAP_NOTIFY_MULT);
	return 0;
}

/*
 * Walk the capability list (PCI 3.0, 6.7). Pointers must be dword-aligned
 * and past the 64-byte header; a pointer seen before is a loop. The 48
 * dwords after the header bound the walk at 48 capabilities.
 */
static int walk_caps(const uint8_t *cfg, struct vcap_list *out)
{
	uint64_t seen = 0;
	uint8_t ptr = cfg[UVI_PCI_CFG_CAP_PTR];
	unsigned where = UVI_PCI_CFG_CAP_PTR, n;
	int rc;

	if (!(get16(cfg + UVI_PCI_CFG_STATUS) & UVI_PCI_STATUS_CAP_LIST))
		return uvi_fail(-ENODEV, "no PCI capability list (status register bit 4 clear): "
				"not a modern virtio device");
	for (n = 0; ptr && n < UVI_PCI_CAP_MAX; n++) {
		if (ptr < UVI_PCI_CAP_FIRST || ptr & 3)
			return uvi_fail(-EPROTO, "capability pointer 0x%02x (at config offset "
					"0x%02x) is %s", ptr, where,
					ptr & 3 ? "not 4-byte aligned" : "inside the 64-byte header");
		if (seen & 1ull << (ptr / 4))
			return uvi_fail(-EPROTO, "PCI capability list loops: the pointer at config "
					"offset 0x%02x leads back to 0x%02x", where, ptr);
		seen |= 1ull << (ptr / 4);
		if (cfg[ptr] == UVI_PCI_CAP_ID_VENDOR) {
			rc = parse_vendor_cap(cfg, ptr, out);
			if (rc)
				return rc;
		}
		where = ptr + 1u;
		ptr = cfg[ptr + 1];
	}
	if (ptr)
		return uvi_fail(-EPROTO, "PCI capability list longer than %u entries",
				UVI_PCI_CAP_MAX);
	return 0;
}

/* Spec minimum length and offset alignment of each structure (4.1.4.3-4.1.4.6). */
static int check_window(const struct vcap *c, const struct uvi_bar *bar)
{
	static const uint32_t min_len[VCAP_TYPES] = {
		[UVI_VCAP_COMMON] = UVI_VCOMMON_MIN_LEN, [UVI_VCAP_NOTIFY] = 2,
		[UVI_VCAP_ISR] = 1,
	};
	static const uint32_t align[VCAP_TYPES] = {
		[UVI_VCAP_COMMON] = 4, [UVI_VCAP_NOTIFY] = 2, [UVI_VCAP_ISR] = 1,
		[UVI_VCAP_DEVICE] = 4,
	};
	const char *name = vcap_names[c->type];

	if ((uint64_t)c->off + c->len > bar->len)
		return uvi_fail(-EPROTO, "virtio %s capability at config offset 0x%02x points "
				"outside BAR%u: offset 0x%x + length 0x%x > BAR length 0x%llx",
				name, c->pos, c->bar, c->off, c->len,
				(unsigned long long)bar->len);
	if (c->len < min_len[c->type])
		return uvi_fail(-EPROTO, "virtio %s structure (capability at 0x%02x) is %u bytes, "
				"less than the %u the spec defines", name, c->pos, c->len,
				min_len[c->type]);
	if (c->off % align[c->type])
		return uvi_fail(-EPROTO, "virtio %s structure (capability at 0x%02x) at BAR "
				"offset 0x%x is not %u-byte aligned (virtio 1.2, 4.1.4)", name,
				c->pos, c->off, align[c->type]);
	/* 4.1.4.4: "an even power of 2, or 0", so that doorbells stay 16-bit aligned. */
	if (c->type == UVI_VCAP_NOTIFY && c->notify_mult &&
	    (c->notify_mult & (c->notify_mult - 1) || c->notify_mult & 1))
		return uvi_fail(-EPROTO, "notify_off_multiplier %u (capability at 0x%02x) is "
				"neither 0 nor an even power of 2 (virtio 1.2, 4.1.4.4)",
				c->notify_mult, c->pos);
	return 0;
}

static int map_window(struct uvi_pci_dev *pci, const struct vcap *c, struct uvi_vpci_region *r)
{
	struct uvi_bar *bar;
	char reason[160];
	int rc = uvi_pci_bar_map(pci, c->bar, &bar);

	if (rc) {
		snprintf(reason, sizeof(reason), "%s", viommu_last_error());
		return uvi_fail(rc, "virtio %s capability at 0x%02x: BAR%u: %s",
				vcap_names[c->type], c->pos, c->bar, reason);
	}
	rc = check_window(c, bar);
	if (rc)
		return rc;
	*r = (struct uvi_vpci_region){
		.bar = bar, .off = c->off, .len = c->len, .bar_index = c->bar, .cap = c->pos,
	};
	return 0;
}

/*
 * The first capability of `type` that can be used (4.1.4: the list order
 * is the device's preference). -ENOENT if there is none at all; the error
 * of the last unusable one otherwise.
 */
static int pick(struct uvi_pci_dev *pci, const struct vcap_list *l, uint8_t type,
		struct uvi_vpci_region *r, uint32_t *notify_mult)
{
	int rc = -ENOENT;

	for (unsigned i = 0; i < l->n; i++) {
		if (l->caps[i].type != type)
			continue;
		rc = map_window(pci, &l->caps[i], r);
		if (!rc) {
			*notify_mult = l->caps[i].notify_mult;
			return 0;
		}
	}
	return rc;
}

static int pick_required(struct uvi_pci_dev *pci, const struct vcap_list *l, uint8_t type,
			 struct uvi_vpci_region *r, uint32_t *notify_mult)
{
	int rc = pick(pci, l, type, r, notify_mult);

	if (rc == -ENOENT)
		return uvi_fail(-ENODEV, "no usable virtio %s capability: not a modern "
				"(virtio 1.0+) device", vcap_names[type]);
	return rc;
}

static uint8_t find_pci_cfg_cap(const struct vcap_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->caps[i].type == UVI_VCAP_PCI_CFG)
			return l->caps[i].pos;
	return 0;
}

static int find_regions(struct uvi_pci_dev *pci, const struct vcap_list *l, struct uvi_vpci *v)
{
	uint32_t mult = 0, unused;
	int rc;

	rc = pick_required(pci, l, UVI_VCAP_COMMON, &v->common, &unused);
	if (!rc)
		rc = pick_required(pci, l, UVI_VCAP_NOTIFY, &v->notify, &mult);
	if (!rc)
		rc = pick_required(pci, l, UVI_VCAP_ISR, &v->isr, &unused);
	if (!rc) {
		rc = pick(pci, l, UVI_VCAP_DEVICE, &v->device, &unused);
		if (rc == -ENOENT)
			rc = 0;
	}
	v->notify_off_multiplier = mult;
	v->pci_cfg_cap = find_pci_cfg_cap(l);
	return rc;
}

int uvi_vpci_init(struct uvi_vpci *v, struct uvi_pci_dev *pci)
{
	uint8_t cfg[UVI_PCI_CFG_SIZE];
	struct vcap_list caps = { .n = 0 };
	struct uvi_vpci nv = {
		.pci = pci,
		.reset_timeout_ms = UVI_VPCI_RESET_TIMEOUT_MS,
		.config_retries = UVI_VPCI_CONFIG_RETRIES,
	};
	char name[VIOMMU_PCI_ADDR_STRLEN];
	int rc;

	rc = uvi_pci_cfg_read(pci, 0, cfg, sizeof(cfg));
	if (rc)
		return rc;
	if (get16(cfg) != VIRTIO_PCI_VENDOR)
		return uvi_fail(-ENODEV, "PCI function %s has vendor ID 0x%04x, not a virtio "
				"device (0x1af4)", pci_name(pci, name), get16(cfg));
	rc = walk_caps(cfg, &caps);
	if (!rc)
		rc = find_regions(pci, &caps, &nv);
	if (rc) {
		/* Prefix the device, keep the reason: "0000:00:02.0: <reason>". */
		char reason[200];

		snprintf(reason, sizeof(reason), "%s", viommu_last_error());
		return uvi_fail(rc, "%s: %s", pci_name(pci, name), reason);
	}
	*v = nv;
	return 0;
}
