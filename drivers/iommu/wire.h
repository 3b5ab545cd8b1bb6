/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_WIRE_H
#define UVIOMMU_WIRE_H

/*
 * virtio-iommu wire format (virtio 1.2, section 5.13). Everything is
 * little-endian. This header is the only thing the driver
 * (drivers/iommu) and the software device (drivers/sim) share.
 */

#include <assert.h>
#include <stdint.h>

/* The structures below are the wire layout only on a little-endian CPU. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio-iommu wire format is little-endian");

#define VIRTIO_ID_IOMMU 23

/* Feature bits (5.13.3; transport-independent ones from section 6). */
#define VIRTIO_IOMMU_F_INPUT_RANGE 0
#define VIRTIO_IOMMU_F_DOMAIN_RANGE 1
#define VIRTIO_IOMMU_F_MAP_UNMAP 2
#define VIRTIO_IOMMU_F_BYPASS 3
#define VIRTIO_IOMMU_F_PROBE 4
#define VIRTIO_IOMMU_F_MMIO 5
#define VIRTIO_IOMMU_F_BYPASS_CONFIG 6
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

#define VIRTIO_IOMMU_QUEUE_REQUEST 0
#define VIRTIO_IOMMU_QUEUE_EVENT 1

/* Device configuration layout (5.13.4). */
struct virtio_iommu_config {
	uint64_t page_size_mask;
	uint64_t input_range_start;
	uint64_t input_range_end; /* inclusive */
	uint32_t domain_range_start;
	uint32_t domain_range_end; /* inclusive */
	uint32_t probe_size;
	uint8_t bypass; /* driver-writable, 0 or 1, only with BYPASS_CONFIG */
	uint8_t reserved[3];
};
static_assert(sizeof(struct virtio_iommu_config) == 40, "config is 40 bytes");

/* Request types (5.13.6). */
enum {
	VIRTIO_IOMMU_T_ATTACH = 1,
	VIRTIO_IOMMU_T_DETACH = 2,
	VIRTIO_IOMMU_T_MAP = 3,
	VIRTIO_IOMMU_T_UNMAP = 4,
	VIRTIO_IOMMU_T_PROBE = 5,
};

/* Status values written by the device into the request tail (5.13.6). */
enum {
	VIRTIO_IOMMU_S_OK = 0,
	VIRTIO_IOMMU_S_IOERR = 1,
	VIRTIO_IOMMU_S_UNSUPP = 2,
	VIRTIO_IOMMU_S_DEVERR = 3,
	VIRTIO_IOMMU_S_INVAL = 4,
	VIRTIO_IOMMU_S_RANGE = 5,
	VIRTIO_IOMMU_S_NOENT = 6,
	VIRTIO_IOMMU_S_FAULT = 7,
	VIRTIO_IOMMU_S_NOMEM = 8,
};

struct virtio_iommu_req_head {
	uint8_t type;
	uint8_t reserved[3];
};

/* The device-writable part, in its own descriptor. */
struct virtio_iommu_req_tail {
	uint8_t status;
	uint8_t reserved[3];
};

#define VIRTIO_IOMMU_ATTACH_F_BYPASS 1u

struct virtio_iommu_req_attach {
	struct virtio_iommu_req_head head;
	uint32_t domain;
	uint32_t endpoint;
	uint32_t flags;
	uint8_t reserved[4];
	struct virtio_iommu_req_tail tail;
};
static_assert(sizeof(struct virtio_iommu_req_attach) == 24, "ATTACH is 24 bytes");

struct virtio_iommu_req_detach {
	struct virtio_iommu_req_head head;
	uint32_t domain;
	uint32_t endpoint;
	uint8_t reserved[8];
	struct virtio_iommu_req_tail tail;
};
static_assert(sizeof(struct virtio_iommu_req_detach) == 24, "DETACH is 24 bytes");

#define VIRTIO_IOMMU_MAP_F_READ 1u
#define VIRTIO_IOMMU_MAP_F_WRITE 2u
#define VIRTIO_IOMMU_MAP_F_MMIO 4u

struct virtio_iommu_req_map {
	struct virtio_iommu_req_head head;
	uint32_t domain;
	uint64_t virt_start;
	uint64_t virt_end; /* inclusive */
	uint64_t phys_start;
	uint32_t flags;
	struct virtio_iommu_req_tail tail;
} __attribute__((packed));
static_assert(sizeof(struct virtio_iommu_req_map) == 40, "MAP is 40 bytes");

struct virtio_iommu_req_unmap {
	struct virtio_iommu_req_head head;
	uint32_t domain;
	uint64_t virt_start;
	uint64_t virt_end; /* inclusive */
	uint8_t reserved[4];
	struct virtio_iommu_req_tail tail;
} __attribute__((packed));
static_assert(sizeof(struct virtio_iommu_req_unmap) == 32, "UNMAP is 32 bytes");

/* PROBE: head, endpoint, reserved[64], then probe_size bytes of
 * device-writable properties, then the tail. */
struct virtio_iommu_req_probe {
	struct virtio_iommu_req_head head;
	uint32_t endpoint;
	uint8_t reserved[64];
};
static_assert(sizeof(struct virtio_iommu_req_probe) == 72, "PROBE head is 72 bytes");

/* Probe properties (5.13.6.8). */
#define VIRTIO_IOMMU_PROBE_T_NONE 0
#define VIRTIO_IOMMU_PROBE_T_RESV_MEM 1
#define VIRTIO_IOMMU_PROBE_T_MASK 0xfffu

struct virtio_iommu_probe_property {
	uint16_t type; /* low 12 bits */
	uint16_t length; /* of what follows this 4-byte header */
};

#define VIRTIO_IOMMU_RESV_MEM_T_RESERVED 0
#define VIRTIO_IOMMU_RESV_MEM_T_MSI 1

struct virtio_iommu_probe_resv_mem {
	struct virtio_iommu_probe_property head;
	uint8_t subtype;
	uint8_t reserved[3];
	uint64_t start;
	uint64_t end; /* inclusive */
};
static_assert(sizeof(struct virtio_iommu_probe_resv_mem) == 24, "RESV_MEM is 24 bytes");

/* Fault reports on the event queue (5.13.6.9). */
enum {
	VIRTIO_IOMMU_FAULT_R_UNKNOWN = 0,
	VIRTIO_IOMMU_FAULT_R_DOMAIN = 1,
	VIRTIO_IOMMU_FAULT_R_MAPPING = 2,
};
#define VIRTIO_IOMMU_FAULT_F_READ 1u
#define VIRTIO_IOMMU_FAULT_F_WRITE 2u
#define VIRTIO_IOMMU_FAULT_F_EXEC 4u
#define VIRTIO_IOMMU_FAULT_F_ADDRESS 0x100u

struct virtio_iommu_fault {
	uint8_t reason;
	uint8_t reserved[3];
	uint32_t flags;
	uint32_t endpoint;
	uint8_t reserved2[4];
	uint64_t address;
};
static_assert(sizeof(struct virtio_iommu_fault) == 24, "fault record is 24 bytes");

#endif
