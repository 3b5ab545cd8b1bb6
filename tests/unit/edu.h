/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_TEST_EDU_H
#define UVIOMMU_TEST_EDU_H

/*
 * QEMU's "edu" educational device (PCI 1234:11e8) as a DMA engine for
 * tests in a QEMU guest: it copies between its own 4 KiB buffer and a bus
 * address, and its accesses go through the virtio-iommu like any
 * endpoint's. Start QEMU with -device edu,dma_mask=0xffffffffffffffff
 * (the default mask of 28 bits would clamp IOVAs). Opened through the uio
 * or vfio backend of lib/pci, which enables bus mastering.
 *
 * Facts of QEMU 7.2's hw/misc/edu.c: BAR0 holds the DMA source (0x80),
 * destination (0x88), count (0x90) and command (0x98: bit 0 starts and
 * reads 1 until done, bit 1 set copies from the buffer to RAM); the buffer
 * sits at device address 0x40000; a transfer runs from a 100 ms timer of
 * the virtual clock; a range outside the buffer, a count of 0, or a range
 * that ends at the buffer's last byte (an off-by-one of 7.2) stops QEMU
 * (hw_error), so every call checks its range first: EDU_BUF_USABLE bytes
 * from the buffer's start can be used. The bus side moves in
 * 4-byte accesses, and QEMU's virtio-iommu reports one fault per refused
 * access.
 */

#include <stdbool.h>
#include <stdint.h>

#include <uviommu/pci_addr.h>

#define EDU_BUF_SIZE 4096u
#define EDU_BUF_USABLE (EDU_BUF_SIZE - 1) /* QEMU 7.2 refuses a range ending at the last byte */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

struct edu;

/* access: "uio" or "vfio" (the function must be bound to that driver). */
int edu_open(const char *access, struct viommu_pci_addr addr, struct edu **out);
void edu_close(struct edu *e);

/* Copy len bytes of edu's buffer from buf_off to bus address addr (the device writes RAM). */
int edu_to_ram(struct edu *e, uint32_t buf_off, uint64_t addr, uint32_t len);
/* Copy len bytes from bus address addr into edu's buffer at buf_off (the device reads RAM). */
int edu_from_ram(struct edu *e, uint64_t addr, uint32_t buf_off, uint32_t len);

#endif
