/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_VIOT_IMAGE_H
#define UVIOMMU_TEST_VIOT_IMAGE_H

/*
 * Builds VIOT tables in memory for tests: a valid header, nodes appended
 * in order, then length, node count and checksum filled in by
 * viot_image_finish(). Tests corrupt the result afterwards to make
 * malformed tables.
 */

#include <stddef.h>
#include <stdint.h>

#define VIOT_IMAGE_MAX 4096

struct viot_image {
	uint8_t bytes[VIOT_IMAGE_MAX];
	size_t len;
	uint16_t count;
};

void viot_image_begin(struct viot_image *v);
uint16_t viot_add_pci_iommu(struct viot_image *v, uint16_t segment, uint16_t bdf);
uint16_t viot_add_mmio_iommu(struct viot_image *v, uint64_t base);
uint16_t viot_add_pci_range(struct viot_image *v, uint32_t endpoint_start, uint16_t seg_start,
			    uint16_t seg_end, uint16_t bdf_start, uint16_t bdf_end,
			    uint16_t output_node);
uint16_t viot_add_mmio_endpoint(struct viot_image *v, uint32_t endpoint, uint64_t base,
				uint16_t output_node);
/* A node of any type and length, zero-filled after its header. */
uint16_t viot_add_raw(struct viot_image *v, uint8_t type, uint16_t length);
void viot_image_finish(struct viot_image *v);
void viot_fix_checksum(struct viot_image *v);

void put_le16(uint8_t *p, uint16_t v);
void put_le32(uint8_t *p, uint32_t v);
void put_le64(uint8_t *p, uint64_t v);

#endif
