/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_LIST_H
#define UVIOMMU_LIST_H

/*
 * An intrusive doubly linked list: the node lives in the element
 * (uvi_list_entry() gets the element back) and nothing is allocated.
 * Both ends are NULL-terminated; the list knows its first and last
 * nodes. Every operation is O(1). Not thread-safe.
 */

#include <stddef.h>

struct uvi_list_node {
	struct uvi_list_node *prev, *next;
};

struct uvi_list {
	struct uvi_list_node *first, *last;
};

#define UVI_LIST_INIT { NULL, NULL }

#define uvi_list_entry(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))

/* Link n after pos, or at the front when pos is NULL. */
static inline void uvi_list_insert_after(struct uvi_list *l, struct uvi_list_node *pos,
					 struct uvi_list_node *n)
{
	n->prev = pos;
	n->next = pos ? pos->next : l->first;
	if (n->next)
		n->next->prev = n;
	else
		l->last = n;
	if (pos)
		pos->next = n;
	else
		l->first = n;
}

static inline void uvi_list_append(struct uvi_list *l, struct uvi_list_node *n)
{
	uvi_list_insert_after(l, l->last, n);
}

/* Unlink n; its links are NULL afterwards. */
static inline void uvi_list_remove(struct uvi_list *l, struct uvi_list_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->last = n->prev;
	n->prev = n->next = NULL;
}

#endif
