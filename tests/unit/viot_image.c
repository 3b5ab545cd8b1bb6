/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "viot_image.h"

void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

void viot_image_begin(struct viot_image *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->bytes, "VIOT", 4);
	memcpy(v->bytes + 10, "UVTEST", 6);
	memcpy(v->bytes + 16, "UVTABLE1", 8);
	put_le16(v->bytes + 38, 48); /* node_offset */
	v->len = 48;
}

uint16_t viot_add_raw(struct viot_image *v, uint8_t type, uint16_t length)
{
	uint16_t off = (uint16_t)v->len;

	v->bytes[off] = type;
	put_le16(v->bytes + off + 2, length);
	v->len += length < 4 ? 4 : length;
	v->count++;
	return off;
}

uint16_t viot_add_pci_iommu(struct viot_image *v, uint16_t segment, uint16_t bdf)
{
	uint16_t off = viot_add_raw(v, 3, 16);

	put_le16(v->bytes + off + 4, segment);
	put_le16(v->bytes + off + 6, bdf);
	return off;
}

uint16_t viot_add_mmio_iommu(struct viot_image *v, uint64_t base)
{
	uint16_t off = viot_add_raw(v, 4, 16);

	put_le64(v->bytes + off + 8, base);
	return off;
}

uint16_t viot_add_pci_range(struct viot_image *v, uint32_t endpoint_start, uint16_t seg_start,
			    uint16_t seg_end, uint16_t bdf_start, uint16_t bdf_end,
			    uint16_t output_node)
{
	uint16_t off = viot_add_raw(v, 1, 24);
	uint8_t *n = v->bytes + off;

	put_le32(n + 4, endpoint_start);
	put_le16(n + 8, seg_start);
	put_le16(n + 10, seg_end);
	put_le16(n + 12, bdf_start);
	put_le16(n + 14, bdf_end);
	put_le16(n + 16, output_node);
	return off;
}

uint16_t viot_add_mmio_endpoint(struct viot_image *v, uint32_t endpoint, uint64_t base,
				uint16_t output_node)
{
	uint16_t off = viot_add_raw(v, 2, 24);
	uint8_t *n = v->bytes + off;

	put_le32(n + 4, endpoint);
	put_le64(n + 8, base);
	put_le16(n + 16, output_node);
	return off;
}

void viot_fix_checksum(struct viot_image *v)
{
	uint8_t sum = 0;
	uint32_t len = (uint32_t)v->bytes[4] | (uint32_t)v->bytes[5] << 8 |
		       (uint32_t)v->bytes[6] << 16 | (uint32_t)v->bytes[7] << 24;

	if (len > VIOT_IMAGE_MAX)
		len = VIOT_IMAGE_MAX;
	v->bytes[9] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + v->bytes[i]);
	v->bytes[9] = (uint8_t)(0x100 - sum);
}

void viot_image_finish(struct viot_image *v)
{
	put_le32(v->bytes + 4, (uint32_t)v->len);
	put_le16(v->bytes + 36, v->count);
	viot_fix_checksum(v);
}
