/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * owner_smoke: device ownership on QEMU's virtio-iommu, in the guests of
 * tests/vm/check-owner, through the uio or the vfio backend (ACCESS).
 *
 *   owner_smoke hold IOMMU ACCESS NIC EDU FILE
 *       Own the device: viommu_open, a domain, NIC and EDU attached, the
 *       first 4 KiB pages of FILE (a 2 MiB hugetlbfs file, created) mapped
 *       at IOVA 0x100000..0x103fff, page 0 filled with 0xa5 and page 1 with
 *       0x5a, the event thread running. Prints "READY pid=N domain=D",
 *       then waits for SIGTERM or SIGINT, closes the device and prints
 *       "CLOSED".
 *   owner_smoke second IOMMU ACCESS PID
 *       A second viommu_open fails with -EBUSY and names PID.
 *   owner_smoke status IOMMU ACCESS
 *       The device as the last owner left it, before anyone resets it: the
 *       command register (from sysfs, before this program opens anything),
 *       then through the access backend the device status, queue 0's
 *       enable bit and ring address, and bypass. It writes only
 *       queue_select (to read queue 0) and the command register (the
 *       backend turns memory space and bus mastering on at open, off at
 *       close); it never resets the device.
 *   owner_smoke dma EDU ACCESS FILE
 *       Without any IOMMU driver running: edu copies 64 bytes from IOVA
 *       0x100000 (page 0 of FILE in the holder's domain) to IOVA 0x101000
 *       (page 1, set to 0x5a first). Prints "DMA landed" if page 1 then
 *       holds page 0's bytes (the mappings still translate), else
 *       "DMA blocked".
 *   owner_smoke reopen IOMMU ACCESS EDU FILE
 *       A new owner: viommu_open succeeds; while it owns the device, the
 *       same edu copy is refused (its reset ended the old mappings, and
 *       edu is attached nowhere); faults reported are noted.
 *
 * Prints one "CHECK ok|FAIL <what>[: detail]" line per check, notes
 * indented by two spaces; exits 1 if any check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <uviommu/uviommu.h>

#include "pci/pci_dev.h"

#include "check.h"
#include "../../unit/edu.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_pci_regs.h"

#define PAGE 4096u
#define FILE_BYTES (2u << 20) /* one 2 MiB hugepage */
#define N_PAGES 4u
#define IOVA_BASE 0x100000ull /* below edu's 28-bit DMA mask */
#define FILL_SRC 0xa5
#define FILL_DST 0x5a
#define COPY_BYTES 64u
#define BYPASS_OFF 36u        /* virtio 1.2, 5.13.4: struct virtio_iommu_config.bypass */
#define HOLD_ALARM_S 600      /* a holder nobody stops ends by itself */
#define EVENT_INTERVAL_US 10000


static int fail_errno(const char *what, int rc)
{
	check(false, what, "%s (%s)", viommu_last_error(), strerror(-rc));
	return check_summary("owner_smoke");
}

static bool parse_addr(const char *text, struct viommu_pci_addr *out)
{
	return check(viommu_pci_addr_parse(text, out) == 0, "address parses", "%s: %s", text,
		     viommu_last_error());
}

/* The hugetlbfs file: shared, so that a later process sees the same physical page. */
static uint8_t *map_file(const char *path, bool create)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
	void *va;

	if (fd < 0 || (create && ftruncate(fd, FILE_BYTES) != 0)) {
		check(false, "hugetlbfs file", "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	va = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (va == MAP_FAILED) {
		check(false, "hugetlbfs file mapped", "%s: %s", path, strerror(errno));
		return NULL;
	}
	return va;
}

/* ---- hold ---- */

static int map_pages(struct viommu_domain *dom, uint8_t *file)
{
	uint64_t phys;
	int rc;

	memset(file, 0, N_PAGES * PAGE);
	memset(file, FILL_SRC, PAGE);
	memset(file + PAGE, FILL_DST, PAGE);
	rc = viommu_virt_to_phys(file, &phys);
	for (unsigned i = 0; !rc && i < N_PAGES; i++)
		rc = viommu_map(dom, IOVA_BASE + i * PAGE, phys + i * PAGE, PAGE,
				VIOMMU_MAP_READ | VIOMMU_MAP_WRITE);
	return rc;
}

static int attach(struct viommu_domain *dom, const char *text)
{
	struct viommu_pci_addr addr;
	int rc = viommu_pci_addr_parse(text, &addr);

	return rc ? rc : viommu_attach(dom, addr);
}

static int wait_for_stop(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -errno;
	alarm(HOLD_ALARM_S);
	return sigwait(&set, &sig) ? -EINTR : 0;
}

static int hold(char **argv)
{
	struct viommu_open_opts o = { .device = argv[0], .access = argv[1] };
	uint8_t *file = map_file(argv[4], true);
	struct viommu_domain *dom;
	struct viommu_dev *dev;
	int rc;

	if (!file)
		return check_summary("owner_smoke");
	rc = viommu_open(&o, &dev);
	if (rc)
		return fail_errno("viommu_open", rc);
	rc = viommu_domain_create(dev, &dom);
	if (!rc)
		rc = attach(dom, argv[2]);
	if (!rc)
		rc = attach(dom, argv[3]);
	if (!rc)
		rc = map_pages(dom, file);
	if (rc) {
		viommu_close(dev);
		return fail_errno("domain, attach and map", rc);
	}
	/* As an application would: faults polled, and so the snapshot kept up to date. */
	rc = viommu_start_event_thread(dev, EVENT_INTERVAL_US);
	if (rc) {
		viommu_close(dev);
		return fail_errno("event thread", rc);
	}
	printf("READY pid=%d domain=%u\n", (int)getpid(), viommu_domain_id(dom));
	rc = wait_for_stop();
	viommu_close(dev);
	printf("CLOSED\n");
	return rc ? 1 : 0;
}

/* ---- second ---- */

static int second(char **argv)
{
	struct viommu_open_opts o = { .device = argv[0], .access = argv[1] };
	struct viommu_dev *dev;
	char pid_text[32];
	int rc = viommu_open(&o, &dev);

	if (rc == 0)
		viommu_close(dev);
	printf("  second open: %s\n", rc ? viommu_last_error() : "succeeded");
	check(rc == -EBUSY, "a second viommu_open fails with -EBUSY", "got %d", rc);
	snprintf(pid_text, sizeof(pid_text), "pid %s ", argv[2]);
	check(rc && strstr(viommu_last_error(), pid_text), "the message names the owner's pid",
	      "'%s' not in it", pid_text);
	return check_summary("owner_smoke");
}

/* ---- status ---- */

static int sysfs_command(const char *addr, uint16_t *cmd)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, cmd, sizeof(*cmd), PCI_COMMAND);
	close(fd);
	return n == sizeof(*cmd) ? 0 : -EIO;
}

static void print_queue0(const struct uvi_vpci *v)
{
	const struct uvi_bar *b = v->common.bar;
	uint64_t base = v->common.off;

	uvi_bar_write(b, base + UVI_VCOMMON_Q_SELECT, 2, 0);
	printf("STATUS queue0_enable=%u queue0_desc=0x%" PRIx64 "\n",
	       (unsigned)uvi_bar_read(b, base + UVI_VCOMMON_Q_ENABLE, 2),
	       uvi_bar_read(b, base + UVI_VCOMMON_Q_DESC, 4) |
		       uvi_bar_read(b, base + UVI_VCOMMON_Q_DESC + 4, 4) << 32);
}

static int status(char **argv)
{
	const struct uvi_pci_backend *backend = uvi_pci_backend_by_name(argv[1]);
	struct viommu_pci_addr addr;
	struct uvi_pci_dev *pci;
	struct uvi_vpci v;
	uint16_t cmd;
	uint8_t bypass = 0xff;
	int rc;

	if (!parse_addr(argv[0], &addr) || !check(backend != NULL, "backend", "%s", argv[1]))
		return check_summary("owner_smoke");
	rc = sysfs_command(argv[0], &cmd);
	if (!check(rc == 0, "command register read from sysfs", "%s", strerror(-rc)))
		return check_summary("owner_smoke");
	printf("STATUS command=0x%04x bus_master=%u\n", cmd, !!(cmd & PCI_COMMAND_MASTER));
	rc = uvi_pci_open(backend, NULL, addr, &pci);
	if (rc)
		return fail_errno("open through the backend", rc);
	rc = uvi_vpci_init(&v, pci);
	if (!rc) {
		printf("STATUS device_status=0x%02x\n", uvi_vpci_get_status(&v));
		print_queue0(&v);
		rc = uvi_vpci_config_read(&v, BYPASS_OFF, &bypass, 1);
		printf("STATUS bypass=%u\n", bypass);
	}
	uvi_pci_close(pci);
	check(rc == 0, "device status read without a reset", "%s", viommu_last_error());
	return check_summary("owner_smoke");
}

/* ---- edu DMA ---- */

static int open_edu(const char *text, const char *access, struct edu **e)
{
	struct viommu_pci_addr addr;
	int rc = viommu_pci_addr_parse(text, &addr);

	return rc ? rc : edu_open(access, addr, e);
}

/* Page 0 -> edu's buffer -> page 1, through the IOVAs; true if page 1 got page 0's bytes. */
static int edu_copy(struct edu *e, uint8_t *file, bool *landed)
{
	int rc;

	memset(file + PAGE, FILL_DST, PAGE);
	rc = edu_from_ram(e, IOVA_BASE, 0, COPY_BYTES);
	if (!rc)
		rc = edu_to_ram(e, 0, IOVA_BASE + PAGE, COPY_BYTES);
	*landed = true;
	for (unsigned i = 0; i < COPY_BYTES; i++)
		*landed &= file[PAGE + i] == FILL_SRC;
	printf("  page 1 after the copy: 0x%02x (0x%02x: copied, 0x%02x: untouched)\n",
	       file[PAGE], FILL_SRC, FILL_DST);
	return rc;
}

static int dma(char **argv)
{
	uint8_t *file = map_file(argv[2], false);
	struct edu *e;
	bool landed;
	int rc;

	if (!file)
		return check_summary("owner_smoke");
	rc = open_edu(argv[0], argv[1], &e);
	if (rc)
		return fail_errno("edu opened", rc);
	rc = edu_copy(e, file, &landed);
	edu_close(e);
	if (check(rc == 0, "edu's transfers completed", "%s", strerror(-rc)))
		printf("DMA %s\n", landed ? "landed" : "blocked");
	return check_summary("owner_smoke");
}

/* ---- reopen ---- */

static void count_fault(const struct viommu_fault *f, void *arg)
{
	if (!(*(unsigned *)arg)++)
		printf("  first fault: reason %u, flags 0x%x, endpoint %u, address 0x%" PRIx64 "\n",
		       f->reason, f->flags, f->endpoint_id, f->address);
}

static void copy_as_new_owner(struct viommu_dev *dev, const char *edu, const char *access,
			      uint8_t *file)
{
	unsigned faults = 0;
	struct edu *e;
	bool landed = true;
	int rc = open_edu(edu, access, &e);

	if (!check(rc == 0, "edu opened", "%s", viommu_last_error()))
		return;
	viommu_set_default_fault_handler(dev, count_fault, &faults);
	rc = edu_copy(e, file, &landed);
	edu_close(e);
	check(rc == 0, "edu's transfers completed", "%s", strerror(-rc));
	check(!landed, "after the new owner's reset, edu's DMA through the old IOVAs is blocked",
	      "page 1 was written");
	rc = viommu_poll_events(dev, 0);
	printf("  faults reported to the new owner: %d polled, %u delivered\n", rc, faults);
}

static int reopen(char **argv)
{
	struct viommu_open_opts o = { .device = argv[0], .access = argv[1] };
	uint8_t *file = map_file(argv[3], false);
	struct viommu_dev *dev;
	int rc;

	if (!file)
		return check_summary("owner_smoke");
	rc = viommu_open(&o, &dev);
	if (!check(rc == 0, "a new viommu_open succeeds (the lock is free)", "%s",
		   viommu_last_error()))
		return check_summary("owner_smoke");
	copy_as_new_owner(dev, argv[2], argv[1], file);
	viommu_close(dev);
	return check_summary("owner_smoke");
}

static int usage(void)
{
	fputs("usage: owner_smoke hold IOMMU ACCESS NIC EDU FILE | second IOMMU ACCESS PID |\n"
	      "       status IOMMU ACCESS | dma EDU ACCESS FILE | reopen IOMMU ACCESS EDU FILE\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int args;
		int (*fn)(char **argv);
	} modes[] = {
		{ "hold", 5, hold },     { "second", 3, second }, { "status", 2, status },
		{ "dma", 3, dma },       { "reopen", 4, reopen },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return argc == modes[i].args + 2 ? modes[i].fn(argv + 2) : usage();
	return usage();
}
