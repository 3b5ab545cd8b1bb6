/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio_map_bench: the path a user has today, for comparison with
 * uviommu-bench map (tests/vm/check-map-bench): 4 KiB MAP+UNMAP pairs per
 * second through VFIO type1 (VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA) on
 * a guest kernel whose own virtio-iommu driver sends each of them to the
 * device and waits for it.
 *
 *   vfio_map_bench SSSS:BB:DD.F [--pairs N] [--runs R]
 *
 * The function (QEMU's edu in the harness) must be bound to vfio-pci and
 * sit in an IOMMU group (a kernel built with CONFIG_VIRTIO_IOMMU=y, with
 * vfio_iommu_type1.allow_unsafe_interrupts=1 on its command line: no
 * interrupt remapping behind a virtio-iommu on x86). Nothing does DMA.
 *
 * A pair maps one 4 KiB page of an anonymous buffer (populated up front)
 * at an IOVA, then unmaps it: two ioctls, each a request the kernel's
 * driver sends and waits for (type1 also pins the page at MAP and unpins
 * it at UNMAP). The IOVAs walk the 65536 pages of a 256 MiB window inside
 * one of the container's valid IOVA ranges in a scattered order (an odd
 * multiplier modulo a power of two visits every page once). Each run
 * times N pairs after a warm-up of N/10 on the first run.
 *
 * Output: one line per run, then
 *   VFIO_MAP_BENCH pairs=N runs=R median=X min=X max=X all=X,X,...
 * (pairs per second). Exit status: 0, 1 on failure, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#define PAGE 4096u
#define WINDOW ((uint64_t)256 << 20)
#define WINDOW_PAGES (WINDOW / PAGE)
#define WINDOW_ALIGN ((uint64_t)2 << 20)
#define SCATTER 2654435761u   /* odd: i * SCATTER mod 2^16 visits every page once */
#define BUF_PAGES 256u
#define DEFAULT_PAIRS 50000u
#define DEFAULT_RUNS 3u
#define MAX_RUNS 100u

struct kbench {
	const char *addr;
	uint64_t pairs;
	unsigned runs;
	int container, group;
	uint64_t window;
	uint8_t *buf;
	uint64_t next;          /* index of the next pair: its page and IOVA */
	double rate[MAX_RUNS];  /* pairs per second of each run */
};

static int usage(const char *why)
{
	fprintf(stderr, "vfio_map_bench: %s\nusage: vfio_map_bench SSSS:BB:DD.F [--pairs N] "
		"[--runs R]\n", why);
	return 2;
}

static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static int parse(struct kbench *k, int argc, char **argv)
{
	uint64_t v;

	k->pairs = DEFAULT_PAIRS;
	k->runs = DEFAULT_RUNS;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pairs") == 0 && parse_count(argv[i + 1], UINT32_MAX, &v))
			k->pairs = v, i++;
		else if (strcmp(argv[i], "--runs") == 0 && parse_count(argv[i + 1], MAX_RUNS, &v))
			k->runs = (unsigned)v, i++;
		else if (argv[i][0] != '-' && !k->addr)
			k->addr = argv[i];
		else
			return usage("bad argument (--pairs 1..4294967295, --runs 1..100)");
	}
	return k->addr ? 0 : usage("give the PCI address of a function bound to vfio-pci");
}

/* ---- the group and the container ---- */

/* The last path component of the link /sys/bus/pci/devices/ADDR/NAME, or false. */
static bool sysfs_link_name(const char *addr, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", addr, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return false;
	memcpy(out, base, strlen(base) + 1);
	return true;
}

static int check_function(const struct kbench *k, char *group, size_t len)
{
	char driver[64];

	if (!sysfs_link_name(k->addr, "driver", driver, sizeof(driver)) ||
	    strcmp(driver, "vfio-pci") != 0) {
		fprintf(stderr, "vfio_map_bench: %s is not bound to vfio-pci (uviommu-info bind %s "
			"--driver vfio)\n", k->addr, k->addr);
		return -ENODEV;
	}
	if (!sysfs_link_name(k->addr, "iommu_group", group, len)) {
		fprintf(stderr, "vfio_map_bench: %s has no IOMMU group: this kernel drives no IOMMU "
			"for it (boot the kernel of tests/vm/build-kernel viommu)\n", k->addr);
		return -ENODEV;
	}
	return 0;
}

static int open_container(struct kbench *k)
{
	k->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (k->container < 0) {
		fprintf(stderr, "vfio_map_bench: /dev/vfio/vfio: %s\n", strerror(errno));
		return -errno;
	}
	if (ioctl(k->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(k->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		fprintf(stderr, "vfio_map_bench: this kernel's VFIO has no type1 IOMMU "
			"(CONFIG_VFIO_IOMMU_TYPE1)\n");
		return -ENOTSUP;
	}
	return 0;
}

static int open_group(struct kbench *k, const char *group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	k->group = open(path, O_RDWR | O_CLOEXEC);
	if (k->group < 0 || ioctl(k->group, VFIO_GROUP_GET_STATUS, &status)) {
		fprintf(stderr, "vfio_map_bench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "vfio_map_bench: IOMMU group %s is not viable: bind every function "
			"of /sys/kernel/iommu_groups/%s/devices to vfio-pci\n", group, group);
		return -EBUSY;
	}
	if (ioctl(k->group, VFIO_GROUP_SET_CONTAINER, &k->container)) {
		fprintf(stderr, "vfio_map_bench: VFIO_GROUP_SET_CONTAINER: %s\n", strerror(errno));
		return -errno;
	}
	if (ioctl(k->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) {
		fprintf(stderr, "vfio_map_bench: VFIO_SET_IOMMU type1: %s%s\n", strerror(errno),
			errno == EPERM ? " (no interrupt remapping: boot with "
			"vfio_iommu_type1.allow_unsafe_interrupts=1)" : "");
		return -errno;
	}
	return 0;
}

/* ---- the IOVA window ---- */

/* The container's info with its capability chain, malloc'ed; NULL on failure. */
static struct vfio_iommu_type1_info *iommu_info(int container)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) }, *info;

	if (ioctl(container, VFIO_IOMMU_GET_INFO, &probe))
		return NULL;
	info = calloc(1, probe.argsz);
	if (!info)
		return NULL;
	info->argsz = probe.argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info)) {
		free(info);
		return NULL;
	}
	return info;
}

/* The IOVA-range capability, or NULL (then every IOVA is valid). */
static const struct vfio_iommu_type1_info_cap_iova_range *
find_iova_ranges(const struct vfio_iommu_type1_info *info)
{
	const struct vfio_info_cap_header *h;
	uint32_t off;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return NULL;
	for (off = info->cap_offset; off && off + sizeof(*h) <= info->argsz; off = h->next) {
		h = (const void *)((const char *)info + off);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			return (const void *)h;
		if (h->next <= off)
			break;
	}
	return NULL;
}

/* The lowest aligned window inside one valid range (reserved regions such as MSI lie outside). */
static bool window_in(const struct vfio_iommu_type1_info_cap_iova_range *r, uint64_t *out)
{
	if (!r) {
		*out = WINDOW_ALIGN;
		return true;
	}
	for (uint32_t i = 0; i < r->nr_iovas; i++) {
		uint64_t start = r->iova_ranges[i].start, end = r->iova_ranges[i].end;
		uint64_t base = (start + WINDOW_ALIGN - 1) & ~(WINDOW_ALIGN - 1);

		if (base < start || base > end || end - base < WINDOW - 1)
			continue;
		*out = base;
		return true;
	}
	return false;
}

static int choose_window(struct kbench *k)
{
	struct vfio_iommu_type1_info *info = iommu_info(k->container);
	bool ok;

	if (!info) {
		fprintf(stderr, "vfio_map_bench: VFIO_IOMMU_GET_INFO: %s\n", strerror(errno));
		return -EIO;
	}
	if (!(info->flags & VFIO_IOMMU_INFO_PGSIZES) || !(info->iova_pgsizes & PAGE)) {
		fprintf(stderr, "vfio_map_bench: the IOMMU cannot map 4 KiB pages (page sizes "
			"0x%llx)\n", (unsigned long long)info->iova_pgsizes);
		free(info);
		return -ENOTSUP;
	}
	ok = window_in(find_iova_ranges(info), &k->window);
	free(info);
	if (!ok) {
		fprintf(stderr, "vfio_map_bench: no valid IOVA range holds a 256 MiB window\n");
		return -ERANGE;
	}
	printf("IOVA window [0x%" PRIx64 ", 0x%" PRIx64 "]\n", k->window, k->window + WINDOW - 1);
	return 0;
}

/* ---- the pairs ---- */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int map_unmap(struct kbench *k)
{
	uint64_t i = k->next++;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)(k->buf + (i % BUF_PAGES) * PAGE),
		.iova = k->window + (uint64_t)((uint32_t)i * SCATTER % WINDOW_PAGES) * PAGE,
		.size = PAGE,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = map.iova, .size = PAGE,
	};

	if (ioctl(k->container, VFIO_IOMMU_MAP_DMA, &map)) {
		fprintf(stderr, "vfio_map_bench: MAP_DMA iova 0x%llx: %s\n",
			(unsigned long long)map.iova, strerror(errno));
		return -errno;
	}
	if (ioctl(k->container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
		fprintf(stderr, "vfio_map_bench: UNMAP_DMA iova 0x%llx: %s\n",
			(unsigned long long)map.iova, strerror(errno));
		return -errno;
	}
	if (unmap.size != PAGE) {
		fprintf(stderr, "vfio_map_bench: UNMAP_DMA iova 0x%llx unmapped %llu bytes, not "
			"%u\n", (unsigned long long)map.iova, (unsigned long long)unmap.size, PAGE);
		return -EIO;
	}
	return 0;
}

static int run_pairs(struct kbench *k, uint64_t n)
{
	int rc = 0;

	for (uint64_t i = 0; i < n && !rc; i++)
		rc = map_unmap(k);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const struct kbench *k)
{
	double sorted[MAX_RUNS];
	unsigned n = k->runs;

	memcpy(sorted, k->rate, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	printf("VFIO_MAP_BENCH pairs=%" PRIu64 " runs=%u median=%.0f min=%.0f max=%.0f all=",
	       k->pairs, n, n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
	       sorted[0], sorted[n - 1]);
	for (unsigned i = 0; i < n; i++)
		printf("%s%.0f", i ? "," : "", k->rate[i]);
	putchar('\n');
}

static int bench(struct kbench *k)
{
	int rc = run_pairs(k, k->pairs / 10);

	for (unsigned r = 0; r < k->runs && !rc; r++) {
		uint64_t t0 = now_ns(), t;

		rc = run_pairs(k, k->pairs);
		t = now_ns() - t0;
		k->rate[r] = (double)k->pairs * 1e9 / (double)(t ? t : 1);
		if (!rc)
			printf("run %u: %" PRIu64 " pairs in %.3f s: %.0f pairs/s\n", r + 1, k->pairs,
			       (double)t / 1e9, k->rate[r]);
	}
	if (!rc)
		report(k);
	return rc;
}

static int set_up(struct kbench *k)
{
	char group[32];
	int rc = check_function(k, group, sizeof(group));

	if (!rc)
		rc = open_container(k);
	if (!rc)
		rc = open_group(k, group);
	if (!rc)
		rc = choose_window(k);
	if (rc)
		return rc;
	k->buf = mmap(NULL, (size_t)BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (k->buf == MAP_FAILED) {
		fprintf(stderr, "vfio_map_bench: mmap: %s\n", strerror(errno));
		return -ENOMEM;
	}
	printf("%s in IOMMU group %s, VFIO type1; %" PRIu64 " pairs per run, %u runs\n", k->addr,
	       group, k->pairs, k->runs);
	return 0;
}

int main(int argc, char **argv)
{
	static struct kbench k = { .container = -1, .group = -1, .buf = MAP_FAILED };
	int rc = parse(&k, argc, argv);

	if (rc)
		return rc;
	rc = set_up(&k);
	if (!rc)
		rc = bench(&k);
	if (k.buf != MAP_FAILED)
		munmap(k.buf, (size_t)BUF_PAGES * PAGE);
	if (k.group >= 0)
		close(k.group);
	if (k.container >= 0)
		close(k.container);
	return rc ? 1 : 0;
}
