/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA memory: 4 KiB and virtual addressing anywhere; physical addresses
 * from pagemap where this process may read them (CAP_SYS_ADMIN), and the
 * refusal where it may not (checked in a child that drops root when the
 * suite runs as root); 2 MiB hugepages, which must be reserved beforehand
 * (tests/run-all does it): without them the hugepage test fails.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uviommu/error.h>
#include <uviommu/mem.h>

#include "cunit_main.h"

#define KIB 1024UL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define CAP_SYS_ADMIN_BIT 21
#define NOBODY 65534
#define HUGEPAGES_2M "/sys/kernel/mm/hugepages/hugepages-2048kB"

/*
 * What mlock() adds to VmLck: nothing under a sanitizer, whose runtime
 * replaces mlock() with a call that does nothing (ASan, TSan, with gcc and
 * with clang, which names them through __has_feature).
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#endif
#ifdef UNDER_SANITIZER
#define LOCKED_KB(bytes) 0L
#else
#define LOCKED_KB(bytes) ((long)((bytes) / KIB))
#endif

static const struct viommu_mem_opts virtual_4k = {
	VIOMMU_PAGES_4K, VIOMMU_ADDR_VIRTUAL, -1
};
static const struct viommu_mem_opts physical_4k = {
	VIOMMU_PAGES_4K, VIOMMU_ADDR_PHYSICAL, -1
};

/* A "Name:   N kB" line of /proc/self/status, -1 if absent. */
static long status_kb(const char *name)
{
	char line[256];
	long value = -1;
	size_t len = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			value = strtol(line + len + 1, NULL, 10);
	}
	fclose(f);
	return value;
}

/* Whether this process may read PFNs from pagemap: CAP_SYS_ADMIN in CapEff. */
static int may_read_pfns(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f))
		sscanf(line, "CapEff: %llx", &caps);
	fclose(f);
	return (int)(caps >> CAP_SYS_ADMIN_BIT & 1);
}

static long read_long(const char *path)
{
	long value = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/* KernelPageSize (kB) of the mapping that holds va, from /proc/self/smaps. */
static long kernel_page_kb(const void *va)
{
	unsigned long lo, hi, addr = (unsigned long)va;
	char line[512];
	long kb = -1;
	int inside = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's header line */
			inside = addr >= lo && addr < hi;
		else if (inside && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Memory a leaked allocation would still hold: locked 4 KiB pages and hugepages. */
struct held {
	long locked_kb;
	long hugetlb_kb;
};

static struct held held_now(void)
{
	return (struct held){ status_kb("VmLck"), status_kb("HugetlbPages") };
}

static void assert_nothing_held_beyond(struct held before)
{
	struct held now = held_now();

	CU_ASSERT_EQUAL(now.locked_kb, before.locked_kb);
	CU_ASSERT_EQUAL(now.hugetlb_kb, before.hugetlb_kb);
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_virtual_4k(void)
{
	struct held before = held_now();
	struct viommu_mem *mem = NULL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), contig;
	const size_t offs[] = { 0, 1, page + 17, 4 * page - 1 };
	uint8_t *va;
	uint64_t iova;

	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(3 * page + 1, &virtual_4k, &mem), 0);
	va = viommu_mem_va(mem);
	CU_ASSERT_EQUAL(viommu_mem_len(mem), 4 * page);
	CU_ASSERT_EQUAL(viommu_mem_page_size(mem), page);
	CU_ASSERT_EQUAL((uintptr_t)va % page, 0);
	CU_ASSERT(all_zero(va, 4 * page));
	CU_ASSERT_EQUAL(status_kb("VmLck"), before.locked_kb + LOCKED_KB(4 * page));
	memset(va, 0xa5, 4 * page);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + offs[i], &iova, &contig), 0);
		CU_ASSERT_EQUAL(iova, (uintptr_t)(va + offs[i]));
		CU_ASSERT_EQUAL(contig, 4 * page - offs[i]);
	}
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + 5, &iova, NULL), 0);
	CU_ASSERT_EQUAL(iova, (uintptr_t)(va + 5));
	viommu_mem_free(mem);
	assert_nothing_held_beyond(before);
	viommu_mem_free(NULL);
}

static void test_iova_outside_allocation(void)
{
	struct viommu_mem *mem = NULL;
	uint64_t iova = 42;
	uint8_t *va;

	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(100, &virtual_4k, &mem), 0);
	va = viommu_mem_va(mem);
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va - 1, &iova, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "outside the allocation"));
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + viommu_mem_len(mem), &iova, NULL), -EINVAL);
	CU_ASSERT_EQUAL(viommu_mem_iova(NULL, va, &iova, NULL), -EINVAL);
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iova, 42);
	viommu_mem_free(mem);
}

static void expect_einval(size_t len, const struct viommu_mem_opts *o, const char *needle)
{
	struct viommu_mem *sentinel = (struct viommu_mem *)&sentinel, *mem = sentinel;

	CU_ASSERT_EQUAL(viommu_mem_alloc(len, o, &mem), -EINVAL);
	CU_ASSERT_PTR_EQUAL(mem, sentinel);
	if (!strstr(viommu_last_error(), needle)) {
		printf("\n    message \"%s\" lacks \"%s\"\n", viommu_last_error(), needle);
		CU_FAIL("error message");
	}
}

static void test_bad_arguments(void)
{
	struct held before = held_now();
	struct viommu_mem_opts o = virtual_4k;

	expect_einval(0, &o, "length 0");
	expect_einval(4096, NULL, "NULL");
	CU_ASSERT_EQUAL(viommu_mem_alloc(4096, &o, NULL), -EINVAL);
	expect_einval(SIZE_MAX, &o, "too large");
	o.pages = (enum viommu_page_kind)7;
	expect_einval(4096, &o, "unknown page kind 7");
	o = virtual_4k;
	o.addressing = (enum viommu_addressing)9;
	expect_einval(4096, &o, "unknown addressing mode 9");
	o = virtual_4k;
	o.numa_node = -2;
	expect_einval(4096, &o, "NUMA node -2");
	o.numa_node = 100000;
	expect_einval(4096, &o, "NUMA node 100000");
	assert_nothing_held_beyond(before);
}

static void check_physical_pages(struct viommu_mem *mem)
{
	size_t page = viommu_mem_page_size(mem), n = viommu_mem_len(mem) / page, contig;
	uint8_t *va = viommu_mem_va(mem);
	uint64_t pa, pa_again, iova;

	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(viommu_virt_to_phys(va + i * page, &pa), 0);
		CU_ASSERT_EQUAL(viommu_virt_to_phys(va + i * page, &pa_again), 0);
		CU_ASSERT_EQUAL(pa, pa_again);
		CU_ASSERT(pa != 0 && pa % page == 0);
		CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + i * page + 100, &iova, &contig), 0);
		CU_ASSERT_EQUAL(iova, pa + 100);
		CU_ASSERT(contig >= page - 100 && contig <= (n - i) * page - 100);
		/* contiguous_len stops exactly where the physical run does */
		if (i + 1 < n && viommu_virt_to_phys(va + (i + 1) * page, &pa_again) == 0)
			CU_ASSERT_EQUAL(pa + page == pa_again, contig > page - 100);
	}
}

/* In a child without CAP_SYS_ADMIN: physical addressing is refused, nothing kept. */
static int refusal_in_this_process(void)
{
	struct held before = held_now();
	struct viommu_mem *mem = NULL;

	if (viommu_mem_alloc(4096, &physical_4k, &mem) != -EPERM || mem)
		return 1;
	if (!strstr(viommu_last_error(), "run as root"))
		return 2;
	if (held_now().locked_kb != before.locked_kb)
		return 3;
	return 0;
}

static void test_physical_refused_without_cap_sys_admin(void)
{
	int status;
	pid_t pid;

	if (!may_read_pfns()) {
		CU_ASSERT_EQUAL(refusal_in_this_process(), 0);
		return;
	}
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* an ordinary user's process: changing uid made this one non-dumpable */
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY) ||
		    prctl(PR_SET_DUMPABLE, 1))
			_exit(10);
		_exit(may_read_pfns() ? 11 : refusal_in_this_process());
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	if (WEXITSTATUS(status))
		printf("\n    child without root: check %d failed\n", WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static void test_physical_4k(void)
{
	struct viommu_mem *mem = NULL;

	if (!may_read_pfns()) {
		CU_FAIL("physical addresses need CAP_SYS_ADMIN: run the suite as root "
			"(the refusal itself is checked by test_physical_refused_...)");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(8 * 4096, &physical_4k, &mem), 0);
	check_physical_pages(mem);
	viommu_mem_free(mem);
}

static void test_virt_to_phys_errors(void)
{
	uint64_t pa = 7;
	void *untouched = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(untouched != MAP_FAILED);
	CU_ASSERT_EQUAL(viommu_virt_to_phys(untouched, &pa), -EFAULT);
	CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "not in memory"));
	CU_ASSERT_EQUAL(viommu_virt_to_phys(NULL, &pa), -EINVAL);
	CU_ASSERT_EQUAL(viommu_virt_to_phys(&pa, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pa, 7);
	munmap(untouched, 4096);
}

static void require_free_2m_hugepages(long need)
{
	long free_pages = read_long(HUGEPAGES_2M "/free_hugepages");

	if (free_pages >= need)
		return;
	printf("\n    %ld free 2 MiB hugepages, this test needs %ld: reserve them with\n"
	       "    'echo 64 > " HUGEPAGES_2M "/nr_hugepages' (tests/run-all does)\n",
	       free_pages, need);
	CU_FAIL_FATAL("no 2 MiB hugepages reserved");
}

static void test_hugepages_2m_virtual(void)
{
	struct held before = held_now();
	struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_VIRTUAL, -1 };
	struct viommu_mem *mem = NULL;
	uint64_t iova;
	size_t contig;
	uint8_t *va;

	require_free_2m_hugepages(2);
	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(2 * MIB + 1, &o, &mem), 0);
	va = viommu_mem_va(mem);
	CU_ASSERT_EQUAL(viommu_mem_page_size(mem), 2 * MIB);
	CU_ASSERT_EQUAL(viommu_mem_len(mem), 4 * MIB);
	CU_ASSERT_EQUAL((uintptr_t)va % (2 * MIB), 0);
	CU_ASSERT_EQUAL(kernel_page_kb(va), 2048);
	CU_ASSERT_EQUAL(status_kb("HugetlbPages"), before.hugetlb_kb + 4096);
	CU_ASSERT(all_zero(va, 4 * MIB));
	memset(va, 0x5a, 4 * MIB);
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + 3 * MIB, &iova, &contig), 0);
	CU_ASSERT_EQUAL(iova, (uintptr_t)(va + 3 * MIB));
	CU_ASSERT_EQUAL(contig, MIB);
	viommu_mem_free(mem);
	assert_nothing_held_beyond(before);
}

static void test_hugepages_2m_physical(void)
{
	struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_2M, VIOMMU_ADDR_PHYSICAL, 0 };
	const size_t subpages[] = { 1, 2, 100, 511 };
	struct viommu_mem *mem = NULL;
	uint64_t pa0, pa, iova;
	size_t contig;
	uint8_t *va;

	require_free_2m_hugepages(2);
	CU_ASSERT_FATAL(may_read_pfns());
	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(4 * MIB, &o, &mem), 0);
	va = viommu_mem_va(mem);
	check_physical_pages(mem);
	/* the 4 KiB pages of one hugepage are physically contiguous */
	CU_ASSERT_EQUAL_FATAL(viommu_virt_to_phys(va, &pa0), 0);
	for (size_t i = 0; i < sizeof(subpages) / sizeof(subpages[0]); i++) {
		CU_ASSERT_EQUAL(viommu_virt_to_phys(va + subpages[i] * 4096 + 8, &pa), 0);
		CU_ASSERT_EQUAL(pa, pa0 + subpages[i] * 4096 + 8);
	}
	CU_ASSERT_EQUAL(viommu_mem_iova(mem, va + 4096, &iova, &contig), 0);
	CU_ASSERT_EQUAL(iova, pa0 + 4096);
	CU_ASSERT(contig >= 2 * MIB - 4096);
	viommu_mem_free(mem);
}

/* 1 GiB pages: refused with the reservation command when none are free. */
static void test_hugepages_1g(void)
{
	struct held before = held_now();
	struct viommu_mem_opts o = { VIOMMU_PAGES_HUGE_1G, VIOMMU_ADDR_VIRTUAL, -1 };
	struct viommu_mem *mem = NULL;
	long free_1g = read_long("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages");
	int rc = viommu_mem_alloc(GIB, &o, &mem);

	if (free_1g > 0) {
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(kernel_page_kb(viommu_mem_va(mem)), 1024 * 1024);
		viommu_mem_free(mem);
	} else if (free_1g == 0) {
		CU_ASSERT_EQUAL(rc, -ENOMEM);
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "not enough 1 GiB hugepages"));
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(),
					      "hugepages-1048576kB/nr_hugepages"));
	} else {
		CU_ASSERT_EQUAL(rc, -ENOTSUP);
		CU_ASSERT_PTR_NOT_NULL(strstr(viommu_last_error(), "no 1 GiB hugepages"));
	}
	assert_nothing_held_beyond(before);
}

static void test_numa_node_0(void)
{
	struct viommu_mem_opts o = { VIOMMU_PAGES_4K, VIOMMU_ADDR_VIRTUAL, 0 };
	struct viommu_mem *mem = NULL;
	int node = -1;

	CU_ASSERT_EQUAL_FATAL(viommu_mem_alloc(4 * 4096, &o, &mem), 0);
	if (numa_available() >= 0) {
		CU_ASSERT_EQUAL(get_mempolicy(&node, NULL, 0, viommu_mem_va(mem),
					      MPOL_F_NODE | MPOL_F_ADDR), 0);
		CU_ASSERT_EQUAL(node, 0);
	}
	viommu_mem_free(mem);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_virtual_4k),
		TEST_CASE(test_iova_outside_allocation),
		TEST_CASE(test_bad_arguments),
		TEST_CASE(test_physical_refused_without_cap_sys_admin),
		TEST_CASE(test_physical_4k),
		TEST_CASE(test_virt_to_phys_errors),
		TEST_CASE(test_hugepages_2m_virtual),
		TEST_CASE(test_hugepages_2m_physical),
		TEST_CASE(test_hugepages_1g),
		TEST_CASE(test_numa_node_0),
		TEST_END,
	};

	return run_suite("mem", cases);
}
