/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_smoke: run inside the QEMU guests of tests/vm/check-* against real
 * devices, through the uio backend (default) or the vfio backend.
 *
 *   pci_smoke virtio-iommu SSSS:BB:DD.F [uio|vfio]   config space, virtio capabilities,
 *                                                    a register in a BAR
 *   pci_smoke e1000e SSSS:BB:DD.F [uio|vfio]         open, BAR0 register, I/O BAR refused
 *   pci_smoke hugepage                               2 MiB of DMA memory with a physical
 *                                                    address
 *
 * Prints one "CHECK ok|FAIL <what>[: detail]" line per check; exits 1 if
 * any failed.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <uviommu/error.h>
#include <uviommu/mem.h>

#include "pci/pci_dev.h"

#include "check.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_IOMMU_DEVICE 0x1057
#define INTEL_VENDOR 0x8086
#define E1000E_DEVICE 0x10d3
#define E1000E_STATUS 0x8  /* device status register in BAR0 */
#define E1000E_IO_BAR 2    /* QEMU's e1000e: BAR2 is its I/O port BAR */
#define MAX_CAPS 48        /* 192 bytes of capabilities hold at most 48 */

/* virtio 1.2, 4.1.4: virtio_pci_cap and its cfg_type values. */
#define VIRTIO_CAP_CFG_TYPE 3
#define VIRTIO_CAP_BAR 4
#define VIRTIO_CAP_OFFSET 8
#define VIRTIO_CAP_LENGTH 12
#define VIRTIO_CAP_SIZE 16
enum { CFG_COMMON = 1, CFG_NOTIFY = 2, CFG_ISR = 3, CFG_DEVICE = 4, CFG_TYPES = 5 };
/* virtio 1.2, 4.1.4.3: num_queues in struct virtio_pci_common_cfg. */
#define COMMON_NUM_QUEUES 0x12
#define IOMMU_QUEUES 2 /* virtio 1.2, 5.13.2: requestq and eventq */

static const char *backend = "uio", *other_backend = "vfio";

struct virtio_cap {
	int found;
	unsigned bar;
	uint32_t offset, length;
};

static uint8_t cfg8(struct uvi_pci_dev *dev, unsigned off)
{
	uint8_t v = 0xff;

	uvi_pci_cfg_read(dev, off, &v, 1);
	return v;
}

static uint16_t cfg16(struct uvi_pci_dev *dev, unsigned off)
{
	uint16_t v = 0xffff;

	uvi_pci_cfg_read(dev, off, &v, 2);
	return le16toh(v);
}

static uint32_t cfg32(struct uvi_pci_dev *dev, unsigned off)
{
	uint32_t v = 0xffffffff;

	uvi_pci_cfg_read(dev, off, &v, 4);
	return le32toh(v);
}

static struct uvi_pci_dev *open_dev(const char *text, uint16_t vendor, uint16_t device)
{
	struct viommu_pci_addr addr;
	struct uvi_pci_dev *dev = NULL;
	uint16_t cmd, want = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	int rc;

	if (viommu_pci_addr_parse(text, &addr)) {
		check(0, "address", "%s", viommu_last_error());
		return NULL;
	}
	rc = uvi_pci_open(uvi_pci_backend_by_name(backend), NULL, addr, &dev);
	printf("  backend %s\n", backend);
	check(rc == 0, "open through the backend", "%s", viommu_last_error());
	if (rc)
		return NULL;
	check(cfg16(dev, PCI_VENDOR_ID) == vendor && cfg16(dev, PCI_DEVICE_ID) == device,
	      "vendor:device from config space", "%04x:%04x, want %04x:%04x",
	      cfg16(dev, PCI_VENDOR_ID), cfg16(dev, PCI_DEVICE_ID), vendor, device);
	cmd = cfg16(dev, PCI_COMMAND);
	check((cmd & want) == want, "command register: memory space + bus master on",
	      "command 0x%04x", cmd);
	return dev;
}

static void note_virtio_cap(struct uvi_pci_dev *dev, unsigned pos, struct virtio_cap *caps)
{
	uint8_t type = cfg8(dev, pos + VIRTIO_CAP_CFG_TYPE);

	if (type >= CFG_TYPES || caps[type].found)
		return; /* virtio 1.2, 4.1.4.1: the first capability of a type is the one */
	caps[type] = (struct virtio_cap){
		.found = 1,
		.bar = cfg8(dev, pos + VIRTIO_CAP_BAR),
		.offset = cfg32(dev, pos + VIRTIO_CAP_OFFSET),
		.length = cfg32(dev, pos + VIRTIO_CAP_LENGTH),
	};
}

/* Walk the capability list (bounded); return how many vendor capabilities it had. */
static unsigned walk_caps(struct uvi_pci_dev *dev, struct virtio_cap *caps, unsigned *total)
{
	unsigned pos = cfg8(dev, PCI_CAPABILITY_LIST) & 0xfc, vendor = 0;

	*total = 0;
	while (pos >= PCI_STD_HEADER_SIZEOF && pos <= UVI_PCI_CFG_SIZE - VIRTIO_CAP_SIZE &&
	       *total < MAX_CAPS) {
		if (cfg8(dev, pos + PCI_CAP_LIST_ID) == PCI_CAP_ID_VNDR) {
			vendor++;
			note_virtio_cap(dev, pos, caps);
		}
		(*total)++;
		pos = cfg8(dev, pos + PCI_CAP_LIST_NEXT) & 0xfc;
	}
	return vendor;
}

static void check_common_cfg(struct uvi_pci_dev *dev, const struct virtio_cap *common)
{
	struct uvi_bar *bar = NULL;
	uint16_t queues;
	int rc;

	rc = uvi_pci_bar_map(dev, common->bar, &bar);
	check(rc == 0, "map the BAR of the common config", "BAR %u: %s", common->bar,
	      viommu_last_error());
	if (rc)
		return;
	printf("  common config: BAR %u (%llu bytes) offset 0x%x length %u\n", common->bar,
	       (unsigned long long)bar->len, common->offset, common->length);
	rc = (uint64_t)common->offset + common->length <= bar->len &&
	     common->length > COMMON_NUM_QUEUES + 1;
	check(rc, "common config lies inside its BAR", "offset 0x%x length %u, BAR %llu bytes",
	      common->offset, common->length, (unsigned long long)bar->len);
	if (!rc)
		return;
	queues = (uint16_t)uvi_bar_read(bar, common->offset + COMMON_NUM_QUEUES, 2);
	check(le16toh(queues) == IOMMU_QUEUES, "num_queues read from the BAR is 2", "got %u",
	      le16toh(queues));
}

static void check_other_backend_refuses(struct viommu_pci_addr addr)
{
	struct uvi_pci_dev *dev = NULL;
	int rc = uvi_pci_open(uvi_pci_backend_by_name(other_backend), NULL, addr, &dev);
	char fix[32];

	snprintf(fix, sizeof(fix), "--driver %s", other_backend);
	check(rc == -ENODEV && strstr(viommu_last_error(), fix),
	      "the other backend refuses the function, naming the fix", "rc %d: %s", rc,
	      viommu_last_error());
	if (!rc)
		uvi_pci_close(dev);
}

/* After close, straight from sysfs: bus mastering must be off. */
static void check_master_off_after_close(const char *text)
{
	char path[128];
	uint16_t cmd = 0xffff;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", text);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &cmd, 2, PCI_COMMAND) != 2)
			cmd = 0xffff;
		close(fd);
	}
	check(!(le16toh(cmd) & PCI_COMMAND_MASTER), "bus mastering off after close",
	      "command 0x%04x", le16toh(cmd));
}

static void smoke_virtio_iommu(const char *text)
{
	struct virtio_cap caps[CFG_TYPES] = { 0 };
	struct uvi_pci_dev *dev = open_dev(text, VIRTIO_VENDOR, VIRTIO_IOMMU_DEVICE);
	struct viommu_pci_addr addr;
	unsigned total, vendor;

	if (!dev)
		return;
	addr = dev->addr;
	check(cfg16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST, "status register: capability list",
	      "status 0x%04x", cfg16(dev, PCI_STATUS));
	vendor = walk_caps(dev, caps, &total);
	printf("  %u capabilities, %u of them vendor-specific (0x09)\n", total, vendor);
	check(caps[CFG_COMMON].found && caps[CFG_NOTIFY].found && caps[CFG_ISR].found &&
	      caps[CFG_DEVICE].found, "virtio capabilities: common, notify, ISR, device config",
	      "common %d notify %d isr %d device %d", caps[CFG_COMMON].found,
	      caps[CFG_NOTIFY].found, caps[CFG_ISR].found, caps[CFG_DEVICE].found);
	if (caps[CFG_COMMON].found)
		check_common_cfg(dev, &caps[CFG_COMMON]);
	check_other_backend_refuses(addr);
	uvi_pci_close(dev);
	check_master_off_after_close(text);
}

static void smoke_e1000e(const char *text)
{
	struct uvi_pci_dev *dev = open_dev(text, INTEL_VENDOR, E1000E_DEVICE);
	struct uvi_bar *bar = NULL;
	uint32_t status;
	int rc;

	if (!dev)
		return;
	rc = uvi_pci_bar_map(dev, 0, &bar);
	check(rc == 0, "map BAR0", "%s", viommu_last_error());
	if (rc == 0) {
		status = (uint32_t)uvi_bar_read(bar, E1000E_STATUS, 4);
		check(status != 0xffffffff, "STATUS register read from BAR0",
		      "read 0x%08x (no device behind the mapping)", status);
		printf("  e1000e BAR0 %llu bytes, STATUS 0x%08x\n", (unsigned long long)bar->len,
		       status);
	}
	rc = uvi_pci_bar_map(dev, E1000E_IO_BAR, &bar);
	check(rc == -ENOTSUP && strstr(viommu_last_error(), "I/O port"),
	      "the I/O port BAR is refused", "rc %d: %s", rc, viommu_last_error());
	uvi_pci_close(dev);
}

static void smoke_hugepage(void)
{
	struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_PHYSICAL, -1 };
	struct viommu_mem *mem = NULL;
	uint64_t iova = 0, pa = 0;
	size_t contig = 0;
	int rc;

	rc = viommu_mem_alloc(2 << 20, &o, &mem);
	check(rc == 0, "2 MiB hugepage of DMA memory", "%s", viommu_last_error());
	if (rc)
		return;
	viommu_mem_iova(mem, viommu_mem_va(mem), &iova, &contig);
	viommu_virt_to_phys(viommu_mem_va(mem), &pa);
	printf("  hugepage at va %p, physical 0x%llx\n", viommu_mem_va(mem),
	       (unsigned long long)iova);
	check(iova != 0 && iova % (2 << 20) == 0 && iova == pa,
	      "nonzero, 2 MiB-aligned physical address from pagemap", "iova 0x%llx pa 0x%llx",
	      (unsigned long long)iova, (unsigned long long)pa);
	check(contig == 2 << 20, "the whole hugepage is contiguous", "%zu bytes", contig);
	viommu_mem_free(mem);
}

static int usage(void)
{
	fputs("usage: pci_smoke virtio-iommu|e1000e SSSS:BB:DD.F [uio|vfio]\n"
	      "       pci_smoke hugepage\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	char name[64];

	if (argc == 4 && strcmp(argv[3], "vfio") == 0) {
		backend = "vfio";
		other_backend = "uio";
	} else if (argc == 4 && strcmp(argv[3], "uio") != 0) {
		return usage();
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "virtio-iommu") == 0)
		smoke_virtio_iommu(argv[2]);
	else if ((argc == 3 || argc == 4) && strcmp(argv[1], "e1000e") == 0)
		smoke_e1000e(argv[2]);
	else if (argc == 2 && strcmp(argv[1], "hugepage") == 0)
		smoke_hugepage();
	else
		return usage();
	snprintf(name, sizeof(name), "pci_smoke %s", argv[1]);
	return check_summary(name);
}
