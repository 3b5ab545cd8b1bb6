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
	rc = uvi_shadow_create(&dom->shadow);
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
	while (dom->pending_head)
		uvi_breq_finish(dev, dom->pending_head, uvi_fail(-ENOENT, "domain %u was "
								 "destroyed", dom->id));
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

/* Shadow changes go through these two, which keep the byte count. */
int uvi_dom_insert(struct viommu_domain *dom, const struct uvi_shadow_entry *e)
{
	int rc = uvi_shadow_insert(dom->shadow, e);

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
	r->next = NULL;
	r->prev = dom->pending_tail;
	if (dom->pending_tail)
		dom->pending_tail->next = r;
	else
		dom->pending_head = r;
	dom->pending_tail = r;
	dom->n_pending++;
	if (r->type != VIRTIO_IOMMU_T_UNMAP)
		return;
	if (!dom->n_pending_unmaps++) {
		dom->unmap_lo = r->start;
		dom->unmap_hi = r->end;
	} else {
		dom->unmap_lo = uvi_min_u64(dom->unmap_lo, r->start);
		dom->unmap_hi = r->end > dom->unmap_hi ? r->end : dom->unmap_hi;
	}
}

void uvi_domain_pending_del(struct viommu_domain *dom, struct uvi_breq *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		dom->pending_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		dom->pending_tail = r->prev;
	r->prev = r->next = NULL;
	dom->n_pending--;
	if (r->type == VIRTIO_IOMMU_T_UNMAP)
		dom->n_pending_unmaps--;
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
