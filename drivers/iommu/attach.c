/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attaching and detaching endpoints (virtio 1.2, 5.13.6.3 and 5.13.6.4).
 *
 * The device knows a domain from its first ATTACH to its last DETACH, and
 * an ATTACH of an endpoint attached elsewhere moves it (DETACH + ATTACH,
 * so the old domain dies on the device if that was its last endpoint).
 * The driver mirrors this: a domain's shadow is sent after its first
 * attach and kept after its last detach.
 *
 * Requests in flight are drained first: nothing orders an ATTACH or
 * DETACH against MAPs of the same domain on the device.
 */
#include <errno.h>
#include <inttypes.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"
#include "dma.h"

/* 5.13.6.8.1.1: the domain must not map what the endpoint reserves. */
static int check_resv(struct viommu_domain *dom, const struct uvi_ep *ep)
{
	for (unsigned i = 0; i < ep->n_resv; i++) {
		const struct viommu_resv_region *r = &ep->resv[i];
		struct uvi_shadow_entry *e = uvi_shadow_first_overlap(dom->shadow, r->start,
								      r->end);

		if (e)
			return uvi_fail(-EACCES, "endpoint %u reserves [0x%" PRIx64 ", 0x%" PRIx64
					"], which domain %u maps at [0x%" PRIx64 ", 0x%" PRIx64
					"]: unmap it first", ep->id, r->start, r->end, dom->id,
					e->start, e->end);
	}
	return 0;
}

static void move(struct uvi_ep *ep, struct viommu_domain *dom)
{
	if (ep->domain)
		ep->domain->n_endpoints--;
	ep->domain = dom;
	if (dom)
		dom->n_endpoints++;
}

/*
 * After the first attach the domain's mappings go to the device. If that
 * fails, the endpoint is detached again: better blocked than attached to
 * half a domain. A recovery meanwhile replayed everything itself.
 */
static int replay_first_attach(struct viommu_dev *dev, struct viommu_domain *dom,
			       struct uvi_ep *ep)
{
	int rc = uvi_replay_domain(dev, dom, NULL, 0);

	if (rc == -ECANCELED)
		return uvi_check_usable(dev);
	if (!rc)
		return 0;
	if (uvi_send_detach(dev, dom->id, ep->id) && !dev->need_recovery)
		dev->need_recovery = UVI_RECOVER_MANUAL; /* make the device match: reset it */
	move(ep, NULL);
	if (dev->need_recovery && !dev->recovering)
		uvi_recover(dev);
	return uvi_fail(rc, "attaching endpoint %u: replaying the mappings of domain %u "
			"failed, the endpoint is left detached (blocked)", ep->id, dom->id);
}

/*
 * What an attach checks before it sends anything: a usable device, a live
 * domain of it, a known endpoint (PROBEd now if it was not: its reserved
 * regions) and no mapping of the domain in those regions. *out: the
 * endpoint.
 */
static int check_locked(struct viommu_domain *dom, uint32_t endpoint, struct uvi_ep **out)
{
	struct viommu_dev *dev = dom->dev;
	int rc = uvi_check_usable(dev);

	if (!rc)
		rc = uvi_domain_check(dev, dom);
	if (!rc)
		rc = uvi_ep_get(dev, endpoint, out);
	if (rc || (*out)->domain == dom)
		return rc;
	if (!(*out)->probed)
		rc = uvi_probe_endpoint(dev, *out);
	return rc ? rc : check_resv(dom, *out);
}

static int attach_locked(struct viommu_domain *dom, uint32_t endpoint)
{
	struct viommu_dev *dev = dom->dev;
	struct uvi_ep *ep;
	int rc = check_locked(dom, endpoint, &ep);

	if (rc || ep->domain == dom)
		return rc;
	rc = uvi_drain(dev);
	if (!rc)
		rc = uvi_send_attach(dev, dom->id, endpoint);
	if (rc)
		return rc;
	move(ep, dom);
	if (dom->n_endpoints == 1)
		rc = replay_first_attach(dev, dom, ep);
	uvi_mark_dirty(dev);
	uvi_publish(dev, true);
	return rc;
}

static int detach_locked(struct viommu_domain *dom, uint32_t endpoint)
{
	struct viommu_dev *dev = dom->dev;
	struct uvi_ep *ep;
	int rc = uvi_check_usable(dev);

	if (!rc)
		rc = uvi_domain_check(dev, dom);
	if (rc)
		return rc;
	ep = uvi_ep_find(dev, endpoint);
	if (!ep || ep->domain != dom)
		return uvi_fail(-ENOENT, "endpoint %u is not attached to domain %u", endpoint,
				dom->id);
	rc = uvi_drain(dev);
	if (!rc)
		rc = uvi_send_detach(dev, dom->id, endpoint);
	if (rc)
		return rc;
	move(ep, NULL); /* the last DETACH: the device forgets the domain, the shadow stays */
	uvi_mark_dirty(dev);
	uvi_publish(dev, true);
	return 0;
}

/* At close: every endpoint detached; refusals do not matter, a reset follows. */
void uvi_detach_all(struct viommu_dev *dev)
{
	for (unsigned i = 0; i < dev->n_eps; i++) {
		struct uvi_ep *ep = dev->eps[i];

		if (!ep->domain)
			continue;
		if (!dev->failed)
			uvi_send_detach(dev, ep->domain->id, ep->id);
		move(ep, NULL);
	}
}

typedef int (*op_fn)(struct viommu_domain *dom, uint32_t endpoint);

static int locked(op_fn op, struct viommu_domain *dom, uint32_t endpoint)
{
	int rc;

	if (!dom)
		return uvi_fail(-EINVAL, "NULL domain");
	pthread_mutex_lock(&dom->dev->lock);
	rc = op(dom, endpoint);
	pthread_mutex_unlock(&dom->dev->lock);
	return rc;
}

static int by_address(op_fn op, struct viommu_domain *dom, struct viommu_pci_addr addr)
{
	uint32_t id;
	int rc;

	if (!dom)
		return uvi_fail(-EINVAL, "NULL domain");
	pthread_mutex_lock(&dom->dev->lock);
	rc = uvi_ep_id_of(dom->dev, addr, &id);
	if (!rc)
		rc = op(dom, id);
	pthread_mutex_unlock(&dom->dev->lock);
	return rc;
}

static int check_only_locked(struct viommu_domain *dom, uint32_t endpoint)
{
	struct uvi_ep *ep;

	return check_locked(dom, endpoint, &ep);
}

int uvi_attach_check(struct viommu_domain *dom, uint32_t endpoint_id)
{
	return locked(check_only_locked, dom, endpoint_id);
}

int viommu_attach_endpoint(struct viommu_domain *dom, uint32_t endpoint_id)
{
	return locked(attach_locked, dom, endpoint_id);
}

int viommu_detach_endpoint(struct viommu_domain *dom, uint32_t endpoint_id)
{
	return locked(detach_locked, dom, endpoint_id);
}

int viommu_attach(struct viommu_domain *dom, struct viommu_pci_addr addr)
{
	return by_address(attach_locked, dom, addr);
}

int viommu_detach(struct viommu_domain *dom, struct viommu_pci_addr addr)
{
	return by_address(detach_locked, dom, addr);
}
