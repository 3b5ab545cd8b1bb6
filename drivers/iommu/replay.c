/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sending a domain's shadow to the device as MAP requests, many in
 * flight at once: after its first attach (the device did not know the
 * domain) and after a device reset (it knows nothing).
 *
 * Which entries: LIVE ones; UNMAP_PENDING ones whose UNMAP has not been
 * sent yet (it will be, and must find them); not MAP_PENDING ones, whose
 * MAP is still to be sent. During a recovery, requests that were in
 * flight when the device was reset (`groups`) count as done: their MAP
 * entries are replayed, their UNMAP entries are not.
 */
#include <errno.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

static bool in_groups(const struct uvi_group *g, unsigned n, const struct viommu_domain *dom,
		      uint8_t type, const struct uvi_shadow_entry *e)
{
	for (unsigned i = 0; i < n; i++) {
		const struct uvi_breq *first = &g[i].batch->reqs[g[i].first];
		const struct uvi_breq *last = &g[i].batch->reqs[g[i].first + g[i].n - 1];

		if (first->dom == dom && first->type == type &&
		    uvi_overlaps(e->start, e->end, first->start, last->end))
			return true;
	}
	return false;
}

static bool wanted(const struct viommu_domain *dom, const struct uvi_shadow_entry *e,
		   const struct uvi_group *groups, unsigned n_groups)
{
	switch (e->state) {
	case UVI_SHADOW_LIVE:
		return true;
	case UVI_SHADOW_UNMAP_PENDING:
		return !in_groups(groups, n_groups, dom, VIRTIO_IOMMU_T_UNMAP, e);
	default:
		return in_groups(groups, n_groups, dom, VIRTIO_IOMMU_T_MAP, e);
	}
}

/* Whether waiting must stop: a recovery ran (it replayed everything) or one is failing. */
static int interrupted(struct viommu_dev *dev, uint64_t generation)
{
	if (dev->stats.resets != generation)
		return -ECANCELED;
	return uvi_nested_trouble(dev);
}

static int replay_slot(struct viommu_dev *dev, uint64_t generation, struct uvi_slot **out)
{
	unsigned spins = 0;
	int rc;

	while (!(*out = uvi_slot_get(dev, UVI_SLOT_REPLAY))) {
		uvi_req_kick(dev);
		if (uvi_poll(dev))
			continue;
		rc = interrupted(dev, generation);
		if (rc)
			return rc;
		uvi_relax(&spins);
	}
	return interrupted(dev, generation);
}

static int send_entry(struct viommu_dev *dev, const struct viommu_domain *dom,
		      const struct uvi_shadow_entry *e, uint64_t generation)
{
	struct uvi_slot *slot;
	int rc = replay_slot(dev, generation, &slot);

	if (rc) {
		if (slot)
			uvi_slot_put(dev, slot);
		return rc;
	}
	uvi_req_fill_map(slot, dom->id, e->start, e->end, e->phys, e->flags);
	rc = uvi_req_queue(dev, slot);
	if (rc) {
		uvi_slot_put(dev, slot);
		return rc;
	}
	dev->replay.inflight++;
	return 0;
}

static int wait_replay(struct viommu_dev *dev, uint64_t generation)
{
	unsigned spins = 0;
	int rc;

	uvi_req_kick(dev);
	while (dev->replay.inflight) {
		if (uvi_poll(dev))
			continue;
		rc = interrupted(dev, generation);
		if (rc)
			return rc;
		uvi_relax(&spins);
	}
	return interrupted(dev, generation);
}

/*
 * Returns 0, the first error of a replayed MAP, or -ECANCELED if a device
 * recovery ran meanwhile (which replayed every attached domain itself).
 */
int uvi_replay_domain(struct viommu_dev *dev, struct viommu_domain *dom,
		      const struct uvi_group *groups, unsigned n_groups)
{
	uint64_t generation = dev->stats.resets;
	struct uvi_shadow_entry *e;
	int rc = 0;

	dev->replay.err = 0;
	for (e = uvi_shadow_first(dom->shadow); e; e = uvi_shadow_next(dom->shadow, e)) {
		rc = wanted(dom, e, groups, n_groups) ? send_entry(dev, dom, e, generation) : 0;
		if (rc)
			break;
	}
	if (rc == -ECANCELED)
		return rc; /* the shadow may have changed: leave the iterator alone */
	if (!rc)
		rc = wait_replay(dev, generation);
	return rc ? rc : dev->replay.err;
}
