/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PROBE (virtio 1.2, 5.13.6.7) and its properties (5.13.6.8): each
 * endpoint is probed once, at its first attach, and its RESV_MEM regions
 * are kept. The properties are written by the device and parsed as
 * hostile input: no property may reach past the probe_size bytes offered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

#define PROP_HEADER sizeof(struct virtio_iommu_probe_property)
#define RESV_MEM_VALUE (sizeof(struct virtio_iommu_probe_resv_mem) - PROP_HEADER)

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v)); /* wire.h: the CPU is little-endian */
	return v;
}

static int parse_resv_mem(const uint8_t *prop, uint16_t len, size_t off,
			  struct viommu_resv_region *r)
{
	uint8_t subtype;

	if (len < RESV_MEM_VALUE)
		return uvi_fail(-EPROTO, "PROBE: RESV_MEM property at offset %zu has %u bytes, "
				"its fields need %zu", off, len, RESV_MEM_VALUE);
	subtype = prop[offsetof(struct virtio_iommu_probe_resv_mem, subtype)];
	r->start = le64_at(prop + offsetof(struct virtio_iommu_probe_resv_mem, start));
	r->end = le64_at(prop + offsetof(struct virtio_iommu_probe_resv_mem, end));
	/* 5.13.6.8.1.1: an unknown subtype is treated as RESERVED. */
	r->subtype = subtype == VIRTIO_IOMMU_RESV_MEM_T_MSI ? VIOMMU_RESV_MSI :
							       VIOMMU_RESV_RESERVED;
	if (r->start > r->end)
		return uvi_fail(-EPROTO, "PROBE: RESV_MEM property at offset %zu ends (0x%llx) "
				"before it starts (0x%llx)", off, (unsigned long long)r->end,
				(unsigned long long)r->start);
	return 0;
}

/*
 * Walk the properties (5.13.6.7): each is a 4-byte header and `length`
 * bytes; the list ends at a property of type 0 or at the end of the
 * buffer. Properties with reserved header bits set are ignored (a MUST),
 * as are unknown types (a SHOULD). Returns the RESV_MEM regions in a new
 * array (NULL when there are none).
 */
int uvi_probe_parse(const uint8_t *props, size_t size, struct viommu_resv_region **out,
		    unsigned *n_out)
{
	struct viommu_resv_region *r = calloc(size / sizeof(struct virtio_iommu_probe_resv_mem)
					      + 1, sizeof(*r));
	size_t off = 0;
	unsigned n = 0;
	int rc = 0;

	if (!r)
		return uvi_fail(-ENOMEM, "PROBE: out of memory");
	while (!rc && size - off >= PROP_HEADER) {
		uint16_t type = le16_at(props + off), len = le16_at(props + off + 2);

		if ((type & VIRTIO_IOMMU_PROBE_T_MASK) == VIRTIO_IOMMU_PROBE_T_NONE)
			break;
		if (len > size - off - PROP_HEADER)
			rc = uvi_fail(-EPROTO, "PROBE: property at offset %zu claims %u bytes, "
				      "only %zu remain of %zu", off, len,
				      size - off - PROP_HEADER, size);
		else if (type == VIRTIO_IOMMU_PROBE_T_RESV_MEM) /* reserved bits clear */
			rc = parse_resv_mem(props + off, len, off, &r[n++]);
		off += PROP_HEADER + len;
	}
	if (rc || !n) {
		free(r);
		r = NULL;
		n = rc ? 0 : n;
	}
	*out = r;
	*n_out = n;
	return rc;
}

struct probe_arg {
	const struct viommu_dev *dev;
	uint32_t endpoint;
};

static void fill_probe(struct uvi_slot *slot, const void *arg)
{
	struct virtio_iommu_req_probe *p = (struct virtio_iommu_req_probe *)slot->buf;
	const struct viommu_dev *dev = ((const struct probe_arg *)arg)->dev;

	*p = (struct virtio_iommu_req_probe){
		.head.type = VIRTIO_IOMMU_T_PROBE,
		.endpoint = ((const struct probe_arg *)arg)->endpoint,
	};
	memset(dev->probe_buf, 0, dev->cfg.probe_size);
	slot->type = VIRTIO_IOMMU_T_PROBE;
}

/* 5.13.5: with PROBE negotiated, probe each endpoint before attaching it. */
int uvi_probe_endpoint(struct viommu_dev *dev, struct uvi_ep *ep)
{
	const struct probe_arg arg = { dev, ep->id };
	struct viommu_resv_region *resv;
	unsigned n;
	int rc;

	if (!dev->cfg.probe_size) { /* no PROBE negotiated (or nothing to say) */
		ep->probed = true;
		return 0;
	}
	rc = uvi_sync_request(dev, fill_probe, &arg);
	if (rc)
		return uvi_fail(rc, "PROBE of endpoint %u failed: %s", ep->id, strerror(-rc));
	rc = uvi_probe_parse(dev->probe_buf, dev->cfg.probe_size, &resv, &n);
	if (rc)
		return rc;
	free(ep->resv);
	ep->resv = resv;
	ep->n_resv = n;
	ep->probed = true;
	return 0;
}
