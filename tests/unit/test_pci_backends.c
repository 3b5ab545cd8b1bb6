/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI access backends and binding without a device: lookups, and every
 * refusal with the fix in its message, against the real sysfs (an address
 * that exists nowhere) and against a fake sysfs tree in a temporary
 * directory (uvi_sysfs_root / uvi_dev_root point there). The fake tree
 * also carries a uio-bound function whose config space and BAR are plain
 * files, which lets the uio backend run end to end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uviommu/error.h>
#include <uviommu/pci.h>

#include "cunit_main.h"
#include "pci/pci_dev.h"
#include "pci/sysfs.h"

#define ABSENT "0000:ff:1f.7"
#define UIO_FN "0000:00:05.0"    /* bound to uio_pci_generic, /dev/uio3 */
#define E1000E_FN "0000:00:06.0" /* bound to e1000e */
#define LONE_FN "0000:00:07.0"   /* bound to nothing */
#define VFIO_FN "0000:00:08.0"   /* bound to vfio-pci, no IOMMU group */
#define GROUP_FN "0000:00:09.0"  /* bound to vfio-pci, IOMMU group 5 */
#define BAR0_LEN 4096

static char root[64];
static char path_buf[512];

static const char *at(const char *fmt, ...)
{
	char rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path_buf, sizeof(path_buf), "%s/%s", root, rel);
	return path_buf;
}

static void mkdirs(const char *rel)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", at("%s", rel));
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

static void put(const char *rel, const void *data, size_t len)
{
	FILE *f = fopen(at("%s", rel), "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_text(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void read_text(const char *rel, char *buf, size_t size)
{
	FILE *f = fopen(at("%s", rel), "r");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Symlink rel_link -> the absolute path of rel_target in the tree. */
static void link_in_tree(const char *rel_target, const char *rel_link)
{
	char target[512];

	snprintf(target, sizeof(target), "%s", at("%s", rel_target));
	CU_ASSERT_EQUAL_FATAL(symlink(target, at("%s", rel_link)), 0);
}

static void link_driver(const char *fn, const char *driver)
{
	char dev[128], drv[128];

	snprintf(dev, sizeof(dev), "sys/bus/pci/devices/%s/driver", fn);
	snprintf(drv, sizeof(drv), "sys/bus/pci/drivers/%s", driver);
	link_in_tree(drv, dev);
}

static void make_function(const char *fn, const char *driver)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "sys/bus/pci/devices/%s", fn);
	mkdirs(dir);
	if (driver)
		link_driver(fn, driver);
}

/* Config space of a virtio-iommu with everything off in the command register. */
static void make_uio_function(void)
{
	uint8_t cfg[UVI_PCI_CFG_SIZE] = { 0xf4, 0x1a, 0x57, 0x10 };
	uint8_t bar[BAR0_LEN];

	for (size_t i = 0; i < sizeof(bar); i++)
		bar[i] = (uint8_t)(i * 7);
	make_function(UIO_FN, "uio_pci_generic");
	put("sys/bus/pci/devices/" UIO_FN "/config", cfg, sizeof(cfg));
	put("sys/bus/pci/devices/" UIO_FN "/resource0", bar, sizeof(bar));
	put_text("sys/bus/pci/devices/" UIO_FN "/resource",
		 "0x00000000fe000000 0x00000000fe000fff 0x0000000000040200\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	put_text("sys/bus/pci/devices/" UIO_FN "/numa_node", "0\n");
	mkdirs("sys/bus/pci/devices/" UIO_FN "/uio/uio3");
	put_text("dev/uio3", "");
}

static void make_tree(void)
{
	char sys[128], dev[128];

	snprintf(root, sizeof(root), "/tmp/uviommu-pci-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	mkdirs("sys/bus/pci/drivers/uio_pci_generic");
	mkdirs("sys/bus/pci/drivers/e1000e");
	mkdirs("sys/bus/pci/drivers/vfio-pci");
	mkdirs("dev/vfio");
	make_uio_function();
	make_function(E1000E_FN, "e1000e");
	make_function(LONE_FN, NULL);
	put_text("sys/bus/pci/devices/" LONE_FN "/driver_override", "");
	put_text("sys/bus/pci/drivers_probe", "");
	make_function(VFIO_FN, "vfio-pci");
	make_function(GROUP_FN, "vfio-pci");
	mkdirs("sys/kernel/iommu_groups/5");
	link_in_tree("sys/kernel/iommu_groups/5", "sys/bus/pci/devices/" GROUP_FN "/iommu_group");
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	uvi_sysfs_root = strdup(sys);
	uvi_dev_root = strdup(dev);
}

static void remove_tree(void)
{
	char cmd[128];

	free((char *)uvi_sysfs_root);
	free((char *)uvi_dev_root);
	uvi_sysfs_root = "/sys";
	uvi_dev_root = "/dev";
	uvi_modprobe_path = "/sbin/modprobe";
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static struct viommu_pci_addr addr_of(const char *text)
{
	struct viommu_pci_addr a;

	CU_ASSERT_EQUAL_FATAL(viommu_pci_addr_parse(text, &a), 0);
	return a;
}

static int has(const char *needle)
{
	const char *msg = viommu_last_error();

	if (strstr(msg, needle))
		return 1;
	printf("\n    message \"%s\"\n    lacks   \"%s\"\n", msg, needle);
	return 0;
}

static int open_with(const char *backend, const char *fn, struct uvi_pci_dev **dev)
{
	return uvi_pci_open(uvi_pci_backend_by_name(backend), NULL, addr_of(fn), dev);
}

static void test_backend_lookup(void)
{
	const struct uvi_pci_backend *vfio = uvi_pci_backend_by_name("vfio");
	const struct uvi_pci_backend *uio = uvi_pci_backend_by_name("uio");

	CU_ASSERT_PTR_NOT_NULL_FATAL(vfio);
	CU_ASSERT_PTR_NOT_NULL_FATAL(uio);
	CU_ASSERT_STRING_EQUAL(vfio->name, "vfio");
	CU_ASSERT_STRING_EQUAL(uio->name, "uio");
	CU_ASSERT_EQUAL(vfio->dma_addressing, VIOMMU_ADDR_PHYSICAL);
	CU_ASSERT_EQUAL(uio->dma_addressing, VIOMMU_ADDR_PHYSICAL);
	CU_ASSERT_PTR_NULL(uvi_pci_backend_by_name("auto"));
	CU_ASSERT(has("unknown PCI access backend 'auto'") && has("vfio, uio"));
	CU_ASSERT_PTR_NULL(uvi_pci_backend_by_name("sim"));
	CU_ASSERT_PTR_NULL(uvi_pci_backend_by_name(""));
	CU_ASSERT_PTR_NULL(uvi_pci_backend_by_name(NULL));
}

static void test_open_null_arguments(void)
{
	struct uvi_pci_dev *dev = NULL;

	CU_ASSERT_EQUAL(uvi_pci_open(NULL, NULL, addr_of(ABSENT), &dev), -EINVAL);
	CU_ASSERT_EQUAL(uvi_pci_open(&uvi_pci_backend_uio, NULL, addr_of(ABSENT), NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(dev);
}

/* The real sysfs: an address no machine has. */
static void test_absent_device(void)
{
	struct uvi_pci_dev *dev = NULL;

	CU_ASSERT_EQUAL(open_with("uio", ABSENT, &dev), -ENODEV);
	CU_ASSERT(has("PCI function " ABSENT " does not exist") && has("lspci -D"));
	CU_ASSERT_EQUAL(open_with("vfio", ABSENT, &dev), -ENODEV);
	CU_ASSERT(has(ABSENT " does not exist"));
	CU_ASSERT_PTR_NULL(dev);
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(ABSENT), "uio"), -ENODEV);
	CU_ASSERT(has(ABSENT " does not exist"));
}

static void test_uio_refuses_unbound_and_foreign(void)
{
	struct uvi_pci_dev *dev = NULL;

	make_tree();
	CU_ASSERT_EQUAL(open_with("uio", LONE_FN, &dev), -ENODEV);
	CU_ASSERT(has(LONE_FN " is not bound to any driver") &&
		  has("uviommu-info bind " LONE_FN " --driver uio"));
	CU_ASSERT_EQUAL(open_with("uio", E1000E_FN, &dev), -ENODEV);
	CU_ASSERT(has("bound to e1000e, not uio_pci_generic") &&
		  has("uviommu-info bind " E1000E_FN " --driver uio"));
	CU_ASSERT_EQUAL(rmdir(at("sys/bus/pci/drivers/uio_pci_generic")), 0);
	CU_ASSERT_EQUAL(open_with("uio", E1000E_FN, &dev), -ENODEV);
	CU_ASSERT(has("modprobe uio_pci_generic") && has("--driver uio"));
	CU_ASSERT_PTR_NULL(dev);
	remove_tree();
}

static void test_uio_missing_uio_device(void)
{
	struct uvi_pci_dev *dev = NULL;

	make_tree();
	CU_ASSERT_EQUAL(unlink(at("dev/uio3")), 0);
	CU_ASSERT_EQUAL(open_with("uio", UIO_FN, &dev), -ENOENT);
	CU_ASSERT(has("/dev/uio3") && has("uio device"));
	CU_ASSERT_EQUAL(rmdir(at("sys/bus/pci/devices/" UIO_FN "/uio/uio3")), 0);
	CU_ASSERT_EQUAL(open_with("uio", UIO_FN, &dev), -ENOENT);
	CU_ASSERT(has("holds no uioN entry"));
	CU_ASSERT_PTR_NULL(dev);
	remove_tree();
}

static uint16_t fake_command_register(void)
{
	uint8_t cfg[8];
	int fd = open(at("sys/bus/pci/devices/" UIO_FN "/config"), O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, cfg, sizeof(cfg), 0), (ssize_t)sizeof(cfg));
	close(fd);
	return (uint16_t)(cfg[4] | cfg[5] << 8);
}

static void check_uio_bars(struct uvi_pci_dev *dev)
{
	struct uvi_bar *bar = NULL, *again = NULL;

	CU_ASSERT_EQUAL_FATAL(uvi_pci_bar_map(dev, 0, &bar), 0);
	CU_ASSERT_EQUAL(bar->len, BAR0_LEN);
	CU_ASSERT_EQUAL(uvi_bar_read(bar, 0x10, 1), (uint8_t)(0x10 * 7));
	CU_ASSERT_EQUAL(uvi_bar_read(bar, 0x20, 4),
			(uint32_t)(0x20 * 7) | (uint32_t)(0x21 * 7) << 8 |
			(uint32_t)(0x22 * 7) << 16 | (uint32_t)(0x23 * 7) << 24);
	CU_ASSERT_EQUAL(uvi_pci_bar_map(dev, 0, &again), 0);
	CU_ASSERT_PTR_EQUAL(again, bar);
	CU_ASSERT_EQUAL(uvi_pci_bar_map(dev, 1, &bar), -ENOENT);
	CU_ASSERT(has("BAR 1 of " UIO_FN " is not implemented"));
	CU_ASSERT_EQUAL(uvi_pci_bar_map(dev, 2, &bar), -ENOTSUP);
	CU_ASSERT(has("BAR 2 of " UIO_FN " is an I/O port BAR"));
	CU_ASSERT_EQUAL(uvi_pci_bar_map(dev, 6, &bar), -EINVAL);
	CU_ASSERT_PTR_NULL(dev->bars[2].base);
}

static void test_uio_open_on_fake_function(void)
{
	struct uvi_pci_dev *dev = NULL;
	uint8_t ids[4], byte = 0;

	make_tree();
	CU_ASSERT_EQUAL_FATAL(open_with("uio", UIO_FN, &dev), 0);
	CU_ASSERT_EQUAL(dev->numa_node, 0);
	CU_ASSERT_EQUAL(fake_command_register(), 0x0006); /* memory space + bus master */
	CU_ASSERT_EQUAL(uvi_pci_cfg_read(dev, 0, ids, sizeof(ids)), 0);
	CU_ASSERT(ids[0] == 0xf4 && ids[1] == 0x1a && ids[2] == 0x57 && ids[3] == 0x10);
	CU_ASSERT_EQUAL(uvi_pci_cfg_read(dev, UVI_PCI_CFG_SIZE - 1, ids, 2), -EINVAL);
	CU_ASSERT(has("outside"));
	CU_ASSERT_EQUAL(uvi_pci_cfg_write(dev, UVI_PCI_CFG_SIZE, &byte, 1), -EINVAL);
	CU_ASSERT_EQUAL(uvi_pci_cfg_read(dev, 0, ids, 0), -EINVAL);
	check_uio_bars(dev);
	uvi_pci_close(dev);
	CU_ASSERT_EQUAL(fake_command_register(), 0x0002); /* bus mastering off again */
	remove_tree();
}

static void test_vfio_refusals(void)
{
	struct uvi_pci_dev *dev = NULL;

	make_tree();
	CU_ASSERT_EQUAL(open_with("vfio", UIO_FN, &dev), -ENODEV);
	CU_ASSERT(has("bound to uio_pci_generic, not vfio-pci") &&
		  has("uviommu-info bind " UIO_FN " --driver vfio"));
	CU_ASSERT_EQUAL(open_with("vfio", VFIO_FN, &dev), -ENODEV);
	CU_ASSERT(has(VFIO_FN " has no IOMMU group") && has("enable_unsafe_noiommu_mode"));
	CU_ASSERT_EQUAL(open_with("vfio", GROUP_FN, &dev), -ENOENT);
	CU_ASSERT(has("noiommu-5") && has("echo 1 > /sys/module/vfio/parameters/"
					   "enable_unsafe_noiommu_mode"));
	put_text("dev/vfio/5", "");
	CU_ASSERT_EQUAL(open_with("vfio", GROUP_FN, &dev), -ENOTSUP);
	CU_ASSERT(has("sits behind an IOMMU the kernel drives"));
	CU_ASSERT_PTR_NULL(dev);
	remove_tree();
}

static void test_bind_arguments(void)
{
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(ABSENT), "igb_uio"), -EINVAL);
	CU_ASSERT(has("'igb_uio'") && has("uio or vfio"));
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(ABSENT), NULL), -EINVAL);
}

static void test_bind_already_bound_writes_nothing(void)
{
	make_tree();
	/* No driver_override or drivers_probe file for UIO_FN: a write would fail. */
	CU_ASSERT_EQUAL(unlink(at("sys/bus/pci/drivers_probe")), 0);
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(UIO_FN), "uio"), 0);
	remove_tree();
}

/* Nothing takes the function in a fake tree: the whole sequence runs, then the undo. */
static void test_bind_refused_restores_override(void)
{
	char text[64];

	make_tree();
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "uio"), -EIO);
	CU_ASSERT(has("uio_pci_generic did not take " LONE_FN) && has("dmesg"));
	read_text("sys/bus/pci/drivers_probe", text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, LONE_FN);
	read_text("sys/bus/pci/devices/" LONE_FN "/driver_override", text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "\n");
	remove_tree();
}

static void test_bind_vfio_needs_noiommu(void)
{
	make_tree();
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "vfio"), -ENOTSUP);
	CU_ASSERT(has("CONFIG_VFIO_NOIOMMU") && has("--driver uio"));
	mkdirs("sys/module/vfio/parameters");
	put_text("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "vfio"), -ENOTSUP);
	CU_ASSERT(has("no-IOMMU mode is off") &&
		  has("echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode"));
	remove_tree();
}

static void test_bind_loads_module(void)
{
	char missing[128];

	make_tree();
	CU_ASSERT_EQUAL(rmdir(at("sys/bus/pci/drivers/uio_pci_generic")), 0);
	snprintf(missing, sizeof(missing), "%s/no-modprobe-here", root);
	uvi_modprobe_path = missing;
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "uio"), -ENOENT);
	CU_ASSERT(has("uio_pci_generic is not loaded") && has("is not available"));
	uvi_modprobe_path = "/bin/false";
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "uio"), -EIO);
	CU_ASSERT(has("'modprobe uio_pci_generic' failed (exit status 1)"));
	uvi_modprobe_path = "/bin/true";
	CU_ASSERT_EQUAL(viommu_pci_bind(addr_of(LONE_FN), "uio"), -ENODEV);
	CU_ASSERT(has("succeeded but") && has("drivers/uio_pci_generic does not exist"));
	remove_tree();
}

/* uviommu-info bind: exit status and the first line of what it printed. */
static int run_info(const char *args, char *out, size_t size)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", INFO_BIN, args);
	p = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

static void test_cli_bind(void)
{
	char out[1024];

	CU_ASSERT_EQUAL(run_info("bind " ABSENT, out, sizeof(out)), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--driver uio or --driver vfio"));
	CU_ASSERT_EQUAL(run_info("bind --driver uio", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_info("bind " ABSENT " --driver foo", out, sizeof(out)), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown driver 'foo'"));
	CU_ASSERT_EQUAL(run_info("bind 0000:00:20.0 --driver uio", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_info("bind " ABSENT " --driver uio", out, sizeof(out)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ABSENT " does not exist"));
	CU_ASSERT_EQUAL(run_info("--help", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bind SSSS:BB:DD.F --driver uio|vfio"));
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_backend_lookup),
		TEST_CASE(test_open_null_arguments),
		TEST_CASE(test_absent_device),
		TEST_CASE(test_uio_refuses_unbound_and_foreign),
		TEST_CASE(test_uio_missing_uio_device),
		TEST_CASE(test_uio_open_on_fake_function),
		TEST_CASE(test_vfio_refusals),
		TEST_CASE(test_bind_arguments),
		TEST_CASE(test_bind_already_bound_writes_nothing),
		TEST_CASE(test_bind_refused_restores_override),
		TEST_CASE(test_bind_vfio_needs_noiommu),
		TEST_CASE(test_bind_loads_module),
		TEST_CASE(test_cli_bind),
		TEST_END,
	};

	return run_suite("pci-backends", cases);
}
