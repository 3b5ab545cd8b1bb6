/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters, and the owner's snapshot for other tools (uviommu-info
 * device): published at most every 10 ms after a change, and at once
 * after an attach, a detach, a recovery or a domain's destruction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

uint64_t uvi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The clock of the tick (a few ms fine): enough for rate limits, and
 * cheap whatever the clock source. Under TCG a guest may fall back to the
 * emulated HPET, where every CLOCK_MONOTONIC read costs microseconds
 * (doc/bench-kernel.md), and the snapshot's rate limit looks at the clock
 * on every call that changed something.
 */
uint64_t uvi_coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t total_mappings(const struct viommu_dev *dev)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dev->n_domains; i++)
		n += uvi_shadow_count(dev->domains[i]->shadow);
	return n;
}

static uint32_t attached_endpoints(const struct viommu_dev *dev)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < dev->n_eps; i++)
		n += dev->eps[i]->domain != NULL;
	return n;
}

int viommu_get_stats(struct viommu_dev *dev, struct viommu_stats *stats)
{
	if (!dev || !stats)
		return uvi_fail(-EINVAL, "get_stats: NULL argument");
	pthread_mutex_lock(&dev->lock);
	*stats = dev->stats;
	stats->domains = dev->n_domains;
	stats->endpoints_attached = attached_endpoints(dev);
	stats->mappings = total_mappings(dev);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static void fill_domain(const struct viommu_dev *dev, const struct viommu_domain *dom,
			struct uvi_owner_domain *out)
{
	*out = (struct uvi_owner_domain){
		.id = dom->id,
		.mappings = uvi_shadow_count(dom->shadow),
		.mapped_bytes = dom->mapped_bytes,
	};
	for (unsigned i = 0; i < dev->n_eps; i++) {
		if (dev->eps[i]->domain != dom)
			continue;
		if (out->n_endpoints < UVI_OWNER_MAX_ENDPOINTS)
			out->endpoints[out->n_endpoints] = dev->eps[i]->id;
		out->n_endpoints++;
	}
}

/* What the owner publishes (pid and command are the owner module's). */
void uvi_snapshot(const struct viommu_dev *dev, struct uvi_owner_state *st)
{
	unsigned listed = dev->n_domains < UVI_OWNER_MAX_DOMAINS ? dev->n_domains :
								   UVI_OWNER_MAX_DOMAINS;

	memset(st, 0, sizeof(*st));
	snprintf(st->access, sizeof(st->access), "%s", dev->backend->name);
	snprintf(st->ring, sizeof(st->ring), "%s",
		 uvi_has(dev, VIRTIO_F_RING_PACKED) ? "packed" : "split");
	st->features_negotiated = dev->negotiated;
	st->bypass = dev->bypass;
	st->requests = dev->stats.requests;
	st->request_errors = dev->stats.request_errors;
	st->notifies = dev->stats.notifies;
	st->faults = dev->stats.faults;
	st->faults_dropped_malformed = dev->stats.faults_dropped_malformed;
	st->resets = dev->stats.resets;
	st->n_domains = dev->n_domains;
	for (unsigned i = 0; i < listed; i++)
		fill_domain(dev, dev->domains[i], &st->domains[i]);
}

/* Rate-limited unless forced; the software device has no owner and no snapshot. */
void uvi_publish(struct viommu_dev *dev, bool force)
{
	struct uvi_owner_state st;
	uint64_t now;

	if (!dev->owner || (!force && !dev->publish_dirty))
		return;
	now = uvi_coarse_now_ns();
	if (!force && now - dev->publish_ns < UVI_PUBLISH_NS)
		return;
	uvi_snapshot(dev, &st);
	uvi_owner_publish(dev->owner, &st);
	dev->publish_dirty = false;
	dev->publish_ns = now;
}
