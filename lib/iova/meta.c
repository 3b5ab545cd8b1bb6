/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Metadata memory of the allocator, placed with libnuma: the range tree's
 * nodes on the space's node, each thread's cache on the node the thread
 * runs on (lib/mem binds the pages before their first touch). Tree nodes
 * come from chunks that double in size (64 KiB to 2 MiB) and are recycled
 * through a free list; chunks go back to the system with the space.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <numa.h>

#include "../mem/mem_internal.h"
#include "iova_internal.h"

#define CHUNK_BYTES_FIRST (64u * 1024)
#define HUGE (2u * 1024 * 1024)
#define CHUNK_BYTES_MAX HUGE

struct uvi_iova_chunk {
	struct uvi_iova_chunk *next;
	size_t bytes;
	struct uvi_iova_range nodes[];
};

/* len bytes (a multiple of HUGE) at a HUGE boundary, backed by transparent hugepages if it may. */
static void *map_huge(size_t len)
{
	uint8_t *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (HUGE - (uintptr_t)p % HUGE) % HUGE;
	if (head)
		munmap(p, head);
	munmap(p + head + len, HUGE - head);
	p += head;
	madvise(p, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages if refused */
	return p;
}

/*
 * Tree nodes are read at random: with 4 KiB pages a large tree misses the
 * TLB on most nodes, a page walk that costs more than the node in a VM.
 */
void *uvi_iova_meta_alloc(size_t len, int numa_node)
{
	void *p;

	if (len % HUGE == 0)
		p = map_huge(len);
	else
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || !p)
		return NULL;
	if (uvi_mem_place(p, len, numa_node)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

void uvi_iova_meta_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int uvi_iova_local_node(void)
{
	int cpu;

	if (numa_available() < 0)
		return -1;
	cpu = sched_getcpu();
	return cpu < 0 ? -1 : numa_node_of_cpu(cpu);
}

void uvi_iova_pool_init(struct uvi_iova_pool *p, int numa_node)
{
	p->free = NULL;
	p->chunks = NULL;
	p->next_chunk_bytes = CHUNK_BYTES_FIRST;
	p->numa_node = numa_node;
}

void uvi_iova_pool_fini(struct uvi_iova_pool *p)
{
	struct uvi_iova_chunk *c, *next;

	for (c = p->chunks; c; c = next) {
		next = c->next;
		uvi_iova_meta_free(c, c->bytes);
	}
	p->chunks = NULL;
	p->free = NULL;
}

static bool grow(struct uvi_iova_pool *p)
{
	size_t bytes = p->next_chunk_bytes;
	size_t n = (bytes - sizeof(struct uvi_iova_chunk)) / sizeof(struct uvi_iova_range);
	struct uvi_iova_chunk *c = uvi_iova_meta_alloc(bytes, p->numa_node);

	if (!c)
		return false;
	c->bytes = bytes;
	c->next = p->chunks;
	p->chunks = c;
	for (size_t i = n; i-- > 0;)
		uvi_iova_pool_put(p, &c->nodes[i]);
	if (bytes < CHUNK_BYTES_MAX)
		p->next_chunk_bytes = 2 * bytes;
	return true;
}

struct uvi_iova_range *uvi_iova_pool_get(struct uvi_iova_pool *p)
{
	struct uvi_iova_range *r;

	if (!p->free && !grow(p))
		return NULL;
	r = p->free;
	p->free = r->rb.left ? UVI_IOVA_RANGE(r->rb.left) : NULL;
	return r;
}

void uvi_iova_pool_put(struct uvi_iova_pool *p, struct uvi_iova_range *r)
{
	r->rb.left = p->free ? &p->free->rb : NULL;
	p->free = r;
}
