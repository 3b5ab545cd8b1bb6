/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uviommu-bench iova: the IOVA allocator (lib/iova) and the DMA mapping
 * built on it (doc/iova.md has the method and the numbers).
 *
 *  - cached alloc+free pair: viommu_iova_alloc() + viommu_iova_free() of
 *    one granule, CACHED_PAIRS times in a loop on one thread, then on two
 *    threads at once (pinned to CPUs 0 and 1), each with its own count;
 *    the two-thread figure is wall time per pair per thread, so one thread
 *    over it times two is the throughput ratio; each thread's CPU time per
 *    pair is shown too (on a shared machine, wall time also counts the
 *    time other processes take the CPUs);
 *  - uncached allocation with 1,000,000 live ranges and the fragmentation
 *    run (bench_iova_tree.c), each also through the first-fit reference;
 *  - without --json, strict and lazy unmapping against the software device
 *    (bench_iova_lazy.c).
 * Each cached figure is the median of --reps repetitions.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/error.h>
#include <uviommu/iova.h>

#include "../common/json.h"
#include "bench.h"
#include "bench_iova.h"

#define G BENCH_IOVA_G
#define CACHED_PAIRS 40000000u
#define WARMUP_PAIRS 100000u
#define REPS_DEFAULT 5u
#define REPS_MAX 99u

struct iova_opts {
	bool json;
	unsigned reps;
};

uint64_t bench_iova_rng(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int bench_iova_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_iova_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- cached pairs ---- */

static bool pairs(struct viommu_iova_space *sp, unsigned n)
{
	uint64_t iova;

	for (unsigned i = 0; i < n; i++)
		if (viommu_iova_alloc(sp, G, 0, &iova) || viommu_iova_free(sp, iova, G))
			return false;
	return true;
}

struct pair_thread {
	struct viommu_iova_space *sp;
	atomic_bool *go;
	int cpu;
	bool ok;
	uint64_t end_ns, cpu_ns;
};

static void *pair_main(void *arg)
{
	struct pair_thread *t = arg;

	bench_pin_self(t->cpu);
	t->ok = pairs(t->sp, WARMUP_PAIRS);
	while (!atomic_load_explicit(t->go, memory_order_acquire))
		;
	t->cpu_ns = bench_thread_cpu_ns();
	t->ok = t->ok && pairs(t->sp, CACHED_PAIRS);
	t->end_ns = bench_wall_ns();
	t->cpu_ns = bench_thread_cpu_ns() - t->cpu_ns;
	return NULL;
}

/*
 * Wall ns per pair per thread with n_threads running at once; *cpu gets
 * the threads' own CPU time per pair (what they cost, whatever else runs).
 */
static double run_threads(struct viommu_iova_space *sp, unsigned n_threads, double *cpu)
{
	struct pair_thread t[2];
	pthread_t tid[2];
	atomic_bool go;
	uint64_t start, end = 0;
	bool ok = true;

	atomic_init(&go, false);
	*cpu = 0;
	for (unsigned i = 0; i < n_threads; i++) {
		t[i] = (struct pair_thread){ sp, &go, (int)i, false, 0, 0 };
		if (pthread_create(&tid[i], NULL, pair_main, &t[i]))
			return -1;
	}
	start = bench_wall_ns();
	atomic_store_explicit(&go, true, memory_order_release);
	for (unsigned i = 0; i < n_threads; i++) {
		pthread_join(tid[i], NULL);
		ok &= t[i].ok;
		end = t[i].end_ns > end ? t[i].end_ns : end;
		*cpu += (double)t[i].cpu_ns / CACHED_PAIRS / n_threads;
	}
	return ok ? (double)(end - start) / CACHED_PAIRS : -1;
}

struct results {
	double pair_ns, pair_ns_2threads;
	double pair_cpu_ns, pair_cpu_ns_2threads;
	struct iova_tree_result tree;
};

static bool cached(unsigned reps, struct results *res)
{
	struct viommu_iova_opts o = { .first = G, .last = (1ull << 40) - 1, .granule = G,
				      .numa_node = -1 };
	double v1[REPS_MAX], v2[REPS_MAX], c1[REPS_MAX], c2[REPS_MAX];
	struct viommu_iova_space *sp;

	if (viommu_iova_space_create(&o, &sp)) {
		fprintf(stderr, "uviommu-bench iova: %s\n", viommu_last_error());
		return false;
	}
	for (unsigned r = 0; r < reps; r++) {
		v1[r] = run_threads(sp, 1, &c1[r]);
		v2[r] = run_threads(sp, 2, &c2[r]);
		if (v1[r] < 0 || v2[r] < 0) {
			fprintf(stderr, "uviommu-bench iova: a cached pair failed: %s\n",
				viommu_last_error());
			viommu_iova_space_destroy(sp);
			return false;
		}
		fprintf(stderr, "  cached pairs, repetition %u: %.2f ns (1 thread), %.2f ns "
			"(2 threads); CPU %.2f and %.2f ns\n", r + 1, v1[r], v2[r], c1[r], c2[r]);
	}
	viommu_iova_space_destroy(sp);
	res->pair_ns = median(v1, reps);
	res->pair_ns_2threads = median(v2, reps);
	res->pair_cpu_ns = median(c1, reps);
	res->pair_cpu_ns_2threads = median(c2, reps);
	return true;
}

/* ---- output ---- */

static void print_json(const struct results *r)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_double(&j, "cached_pair_ns", r->pair_ns);
	json_double(&j, "cached_pair_ns_2threads", r->pair_ns_2threads);
	json_double(&j, "uncached_alloc_ns_1m_live", r->tree.alloc_ns);
	json_double(&j, "uncached_alloc_ns_1m_live_p99", r->tree.alloc_p99_ns);
	json_double(&j, "reference_uncached_alloc_ns_1m_live", r->tree.ref_alloc_ns);
	json_uint(&j, "fragmentation_failures", r->tree.frag_failures);
	json_object_end(&j);
	json_finish(&j);
}

static void print_table(const struct results *r, unsigned reps)
{
	const struct iova_tree_result *t = &r->tree;

	printf("IOVA allocator (lib/iova), granule 4 KiB; cached figures: medians of %u\n\n", reps);
	printf("cached alloc+free pair, 1 thread        %8.2f ns          (target <= 15 ns)\n",
	       r->pair_ns);
	printf("cached alloc+free pair, 2 threads       %8.2f ns/thread   2 threads = %.2fx one "
	       "(target >= 1.8x)\n", r->pair_ns_2threads, 2 * r->pair_ns / r->pair_ns_2threads);
	printf("  the same in each thread's CPU time    %8.2f / %.2f ns   2 threads = %.2fx one "
	       "(other processes left out)\n", r->pair_cpu_ns, r->pair_cpu_ns_2threads,
	       2 * r->pair_cpu_ns / r->pair_cpu_ns_2threads);
	printf("uncached alloc, 1,000,000 live ranges   %8.1f ns mean     p50 %.0f, p99 %.0f ns "
	       "(target p99 <= 300 ns); %llu free ranges\n", t->alloc_ns, t->alloc_p50_ns,
	       t->alloc_p99_ns, (unsigned long long)t->free_ranges);
	printf("  the same freed in FIFO order (a ring) %8s             p99 %.0f ns\n", "",
	       t->fifo_p99_ns);
	printf("first-fit reference, first 10,000 rounds%8.1f ns mean     p99 %.0f ns; %.0f holes "
	       "walked per allocation\n", t->ref_alloc_ns, t->ref_alloc_p99_ns, t->ref_steps);
	printf("reference / lib/iova, those rounds      %8.1fx            (lib/iova: %.1f ns); "
	       "same placements: %s\n", t->ref_alloc_ns / t->alloc_ns_ref_rounds,
	       t->alloc_ns_ref_rounds, t->same_placements ? "yes" : "NO");
	printf("fragmentation run: %llu allocations; failures with enough room free: %llu "
	       "(without caches: %llu; reference: %llu)\n\n", (unsigned long long)t->frag_allocs,
	       (unsigned long long)t->frag_failures,
	       (unsigned long long)t->frag_failures_uncached,
	       (unsigned long long)t->ref_frag_failures);
}

static int parse(int argc, char **argv, struct iova_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*o = (struct iova_opts){ .reps = REPS_DEFAULT };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'r':
			if (!bench_parse_uint(optarg, 1, REPS_MAX, &v))
				return bench_usage_error("iova: --reps takes 1-%u", REPS_MAX);
			o->reps = (unsigned)v;
			break;
		default:
			return bench_usage_error("iova: usage: iova [--json] [--reps N]");
		}
	}
	if (optind != argc)
		return bench_usage_error("iova: unexpected argument '%s'", argv[optind]);
	return 0;
}

int bench_iova(int argc, char **argv)
{
	struct results r = { 0 };
	struct iova_opts o;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc;
	if (!cached(o.reps, &r) || !bench_iova_live(&r.tree) || !bench_iova_fifo(&r.tree) ||
	    !bench_iova_fragmentation(&r.tree))
		return BENCH_EXIT_FAILED;
	if (o.json) {
		print_json(&r);
		return BENCH_EXIT_OK;
	}
	print_table(&r, o.reps);
	return bench_iova_lazy() ? BENCH_EXIT_OK : BENCH_EXIT_FAILED;
}
