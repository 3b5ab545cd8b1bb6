/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Domains live in the driver: an ID from the device's domain_range, a
 * shadow of its mappings, and the list of batch requests on it that are
 * not complete (what fences and the cross-batch check look at). The
 * device knows a domain only while an endpoint is attached to it.
 *
 * A destroyed domain's handle stays valid, marked dead, until the device
 * is closed, so that a late use of it fails with -ENOENT instead of
 * touching freed memory; its ID is free for a new domain at once.
 */
#include <errno.h>
#include <stdlib.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"
#include "dma.h"

int uvi_domain_check(const struct viommu_dev *dev, const struct viommu_domain *dom)
{
	if (!dom)
		return uvi_fail(-EINVAL, "NULL domain");
	if (dom->dev != dev)
		return uvi_fail(-ENOENT, "domain %u belongs to another device", dom->id);
	if (dom->dead)
		return uvi_fail(-ENOENT, "domain %u was destroyed", dom->id);
	return 0;
}

int uvi_domain_check_live(struct viommu_dev *dev, struct viommu_domain *dom)
{
	int rc;

	pthread_mutex_lock(&dev->lock);
	rc = uvi_domain_check(dev, dom);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

static bool id_in_use(const struct viommu_dev *dev, uint32_t id)
{
	for (unsigned i = 0; i < dev->n_domains; i++)
		if (dev->domains[i]->id == id)
			return true;
	return false;
}

/* The next free ID of domain_range, round robin (5.13.4: IDs outside it are refused). */
static int alloc_id(struct viommu_dev *dev, uint32_t *out)
{
	uint32_t lo = dev->cfg.domain_range_start, hi = dev->cfg.domain_range_end;
	uint32_t id = dev->next_domain_id;

	for (unsigned tries = 0; tries <= dev->n_domains; tries++) {
		if (id < lo || id > hi)
			id = lo;
		if (!id_in_use(dev, id)) {
			*out = id;
			dev->next_domain_id = id == hi ? lo : id + 1;
			return 0;
		}
		id++;
	}
	return uvi_fail(-ENOSPC, "no free domain ID: the device supports IDs %u-%u and %u "
			"domains exist", lo, hi, dev->n_domains);
}

static int add_to_device(struct viommu_dev *dev, struct viommu_domain *dom)
{
	unsigned cap = dev->cap_domains ? 2 * dev->cap_domains : 8;
	struct viommu_domain **d;

	if (dev->n_domains == dev->cap_domains) {
		d = realloc(dev->domains, cap * sizeof(*d));
		if (!d)
			return uvi_fail(-ENOMEM, "out of memory for domains");
		dev->domains = d;
		dev->cap_domains = cap;
	}
	dev->domains[dev->n_domains++] = dom;
	return 0;
}

static struct uvi_breq *breq_of(const struct uvi_rb_node *n)
{
	return uvi_rb_entry(n, struct uvi_breq, unmap_node);
}

/* max_end of an UNMAP node of pending_unmaps, from its children's (rbtree.h). */
static void unmap_augment(struct uvi_rb_node *n)
{
	struct uvi_breq *r = breq_of(n);

	r->max_end = r->end;
	if (n->left && breq_of(n->left)->max_end > r->max_end)
		r->max_end = breq_of(n->left)->max_end;
	if (n->right && breq_of(n->right)->max_end > r->max_end)
		r->max_end = breq_of(n->right)->max_end;
}

static int create_locked(struct viommu_dev *dev, struct viommu_domain **out)
{
	struct viommu_domain *dom;
	uint32_t id = 0;
	int rc = uvi_check_usable(dev);

	if (!rc)
		rc = alloc_id(dev, &id);
	if (rc)
		return rc;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return uvi_fail(-ENOMEM, "out of memory for a domain");
	dom->dev = dev;
	dom->id = id;
	dom->pending_unmaps = (struct uvi_rb_tree)UVI_RB_TREE_INIT(unmap_augment);
	rc = uvi_shadow_create((unsigned)__builtin_ctzll(dev->granule), &dom->shadow);
	if (!rc)
		rc = add_to_device(dev, dom);
	if (rc) {
		uvi_shadow_destroy(dom->shadow);
		free(dom);
		return rc;
	}
	uvi_mark_dirty(dev);
	*out = dom;
	return 0;
}

int viommu_domain_create(struct viommu_dev *dev, struct viommu_domain **out)
{
	int rc;

	if (!dev || !out)
		return uvi_fail(-EINVAL, "domain_create: NULL argument");
	pthread_mutex_lock(&dev->lock);
	rc = create_locked(dev, out);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

uint32_t viommu_domain_id(const struct viommu_domain *dom)
{
	return dom ? dom->id : 0;
}

/* Detach every endpoint of dom; a DETACH the device refused is made true by a reset. */
static void detach_endpoints(struct viommu_dev *dev, struct viommu_domain *dom)
{
	bool refused = false;

	for (unsigned i = 0; i < dev->n_eps; i++) {
		struct uvi_ep *ep = dev->eps[i];

		if (ep->domain != dom)
			continue;
		if (!dev->failed && uvi_send_detach(dev, dom->id, ep->id))
			refused = true;
		ep->domain = NULL;
	}
	dom->n_endpoints = 0;
	if (refused && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_MANUAL;
}

static void unlink_from_device(struct viommu_dev *dev, struct viommu_domain *dom)
{
	for (unsigned i = 0; i < dev->n_domains; i++) {
		if (dev->domains[i] == dom) {
			dev->domains[i] = dev->domains[--dev->n_domains];
			break;
		}
	}
	dom->next_dead = dev->dead_domains;
	dev->dead_domains = dom;
}

static void destroy_locked(struct viommu_dev *dev, struct viommu_domain *dom)
{
	uvi_drain(dev);
	detach_endpoints(dev, dom);
	while (dom->pending.first)
		uvi_breq_finish(dev, uvi_list_entry(dom->pending.first, struct uvi_breq, pending),
				uvi_fail(-ENOENT, "domain %u was destroyed", dom->id));
	uvi_shadow_destroy(dom->shadow);
	dom->shadow = NULL;
	dom->mapped_bytes = 0;
	dom->dead = true;
	unlink_from_device(dev, dom);
	uvi_mark_dirty(dev);
	if (dev->need_recovery && !dev->recovering)
		uvi_recover(dev);
	uvi_publish(dev, true);
}

void viommu_domain_destroy(struct viommu_domain *dom)
{
	struct viommu_dev *dev;

	if (!dom || dom->dead)
		return;
	dev = dom->dev;
	pthread_mutex_lock(&dev->lock);
	destroy_locked(dev, dom);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * Shadow changes go through these two, which keep the byte count. The
 * entry inserted has passed uvi_validate_map(), which looked for overlaps.
 */
int uvi_dom_insert(struct viommu_domain *dom, const struct uvi_shadow_entry *e,
		   struct uvi_shadow_entry **out)
{
	int rc = uvi_shadow_add_checked(dom->shadow, e, out);

	if (!rc)
		dom->mapped_bytes += e->end - e->start + 1;
	return rc;
}

void uvi_dom_remove(struct viommu_domain *dom, struct uvi_shadow_entry *e)
{
	dom->mapped_bytes -= e->end - e->start + 1;
	uvi_shadow_remove(dom->shadow, e);
}

void uvi_domain_pending_add(struct viommu_domain *dom, struct uvi_breq *r)
{
	uvi_list_append(&dom->pending, &r->pending);
	dom->n_pending++;
	/* A gapless UNMAP is found through the entries it marked. */
	r->in_tree = r->type == VIRTIO_IOMMU_T_UNMAP && !(r->marked && r->gapless);
	if (!r->in_tree)
		return;
	dom->n_pending_unmaps++;
	r->unmap_node.key = r->start;
	r->max_end = r->end;
	uvi_rb_insert(&dom->pending_unmaps, &r->unmap_node);
}

void uvi_domain_pending_del(struct viommu_domain *dom, struct uvi_breq *r)
{
	uvi_list_remove(&dom->pending, &r->pending);
	dom->n_pending--;
	if (!r->in_tree)
		return;
	r->in_tree = false;
	dom->n_pending_unmaps--;
	uvi_rb_erase(&dom->pending_unmaps, &r->unmap_node);
}

static void note_overlap(const struct uvi_breq *q, const struct uvi_breq *r,
			 struct uvi_overlap *out)
{
	if (q == r)
		return;
	if (q->batch != r->batch)
		out->other_batch = true;
	else if (q->index < r->index)
		out->earlier = true;
}

/* The pending UNMAPs in n's subtree that overlap r (depth: the tree's height). */
static void unmap_overlaps(const struct uvi_rb_node *n, const struct uvi_breq *r,
			   struct uvi_overlap *out)
{
	while (n && breq_of(n)->max_end >= r->start) {
		unmap_overlaps(n->left, r, out);
		if (n->key > r->end)
			return; /* so does every start on the right */
		if (breq_of(n)->end >= r->start)
			note_overlap(breq_of(n), r, out);
		n = n->right;
	}
}

/*
 * Which pending requests of dom overlap r. The UNMAPs that may have gaps
 * are in an interval tree; every other pending request is named by the
 * shadow entries it covers (a MAP by its MAP_PENDING entry, a gapless
 * UNMAP by the UNMAP_PENDING entries it marked), so their overlaps are
 * found by walking r's range in the shadow. A MAP never needs that walk:
 * validation already refused any overlap with an entry, in-flight ones
 * included. When the caller knows the entry that is exactly r's range
 * (`exact`, from validation), that entry is the whole walk. O(log n)
 * when nothing overlaps, O(log n) per overlap found.
 */
void uvi_domain_pending_overlap(struct viommu_domain *dom, const struct uvi_breq *r,
				const struct uvi_shadow_entry *exact, struct uvi_overlap *out)
{
	struct uvi_shadow_entry *e;

	*out = (struct uvi_overlap){ 0 };
	if (dom->n_pending_unmaps)
		unmap_overlaps(dom->pending_unmaps.root, r, out);
	if (r->type != VIRTIO_IOMMU_T_UNMAP || dom->n_pending == dom->n_pending_unmaps)
		return;
	if (exact) {
		if (exact->req)
			note_overlap(exact->req, r, out);
		return;
	}
	e = uvi_shadow_first_overlap(dom->shadow, r->start, r->end);
	for (; e && e->start <= r->end; e = uvi_shadow_next_upto(dom->shadow, e, r->end))
		if (e->req)
			note_overlap(e->req, r, out);
}

static void free_domain(struct viommu_domain *dom)
{
	uvi_shadow_destroy(dom->shadow);
	free(dom);
}

void uvi_domain_free_all(struct viommu_dev *dev)
{
	struct viommu_domain *dead;

	for (unsigned i = 0; i < dev->n_domains; i++)
		free_domain(dev->domains[i]);
	free(dev->domains);
	dev->domains = NULL;
	dev->n_domains = dev->cap_domains = 0;
	while ((dead = dev->dead_domains)) {
		dev->dead_domains = dead->next_dead;
		free_domain(dead);
	}
}
