/* SPDX-License-Identifier: BSD-3-Clause */
/* The first-fit reference allocator of uviommu-bench iova (iova_firstfit.h). */
#include <errno.h>
#include <stdlib.h>

#include "iova_firstfit.h"

#define HOLE(n) uvi_rb_entry(n, struct ff_hole, rb)

static struct ff_hole *new_hole(struct ff *f, struct ff_hole *prev, uint64_t first,
				uint64_t last)
{
	struct ff_hole *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	h->rb.key = first;
	h->last = last;
	h->prev = prev;
	h->next = prev ? prev->next : f->head;
	if (h->next)
		h->next->prev = h;
	if (prev)
		prev->next = h;
	else
		f->head = h;
	uvi_rb_insert_after(&f->index, prev ? &prev->rb : NULL, &h->rb);
	return h;
}

static void drop_hole(struct ff *f, struct ff_hole *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		f->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	uvi_rb_erase(&f->index, &h->rb);
	free(h);
}

int ff_init(struct ff *f, uint64_t first, uint64_t last, uint64_t granule)
{
	*f = (struct ff){ .index = UVI_RB_TREE_INIT(NULL), .granule = granule };
	return new_hole(f, NULL, first, last) ? 0 : -ENOMEM;
}

void ff_fini(struct ff *f)
{
	struct ff_hole *h, *next;

	for (h = f->head; h; h = next) {
		next = h->next;
		free(h);
	}
	f->head = NULL;
}

int ff_alloc(struct ff *f, uint64_t size, uint64_t *iova)
{
	for (struct ff_hole *h = f->head; h; h = h->next) {
		f->steps++;
		if (h->last - h->rb.key < size - 1)
			continue;
		*iova = h->rb.key;
		if (h->last - h->rb.key == size - 1)
			drop_hole(f, h);
		else
			h->rb.key += size; /* still above the previous hole */
		return 0;
	}
	return -ENOSPC;
}

int ff_free(struct ff *f, uint64_t iova, uint64_t size)
{
	struct uvi_rb_node *pn = uvi_rb_last_le(&f->index, iova);
	struct ff_hole *prev = pn ? HOLE(pn) : NULL;
	struct ff_hole *next = prev ? prev->next : f->head;
	uint64_t last = iova + size - 1;

	if (prev && prev->last + 1 == iova) {
		prev->last = last;
		if (next && last + 1 == next->rb.key) {
			prev->last = next->last;
			drop_hole(f, next);
		}
		return 0;
	}
	if (next && last + 1 == next->rb.key) {
		next->rb.key = iova;
		return 0;
	}
	return new_hole(f, prev, iova, last) ? 0 : -ENOMEM;
}
