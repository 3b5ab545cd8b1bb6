/* SPDX-License-Identifier: BSD-3-Clause */
/* Domains of the software device and the endpoints attached to them. */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "sim_iommu_priv.h"
#include "../../lib/common/error_internal.h"

static int cmp_domain_id(const void *a, const void *b)
{
	const struct sim_domain *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static struct sim_domain *search(const struct sim_iommu *s, uint32_t id)
{
	const struct sim_domain key = { .id = id };
	struct sim_domain *const *node = tfind(&key, &s->domains, cmp_domain_id);

	return node ? *node : NULL;
}

struct sim_domain *sim_domain_find(const struct sim_iommu *s, uint32_t id)
{
	if (s->last_domain && s->last_domain->id == id)
		return s->last_domain;
	return search(s, id);
}

struct sim_domain *sim_domain_lookup(struct sim_iommu *s, uint32_t id)
{
	struct sim_domain *d = sim_domain_find(s, id);

	if (d)
		s->last_domain = d;
	return d;
}

int sim_domain_create(struct sim_iommu *s, uint32_t id, bool bypass, struct sim_domain **out)
{
	struct sim_domain *d = malloc(sizeof(*d));

	if (!d)
		return uvi_fail(-ENOMEM, "sim: out of memory for domain %u", id);
	*d = (struct sim_domain){ .id = id, .bypass = bypass };
	if (sim_mappings_init(&d->maps, (unsigned)__builtin_ctzll(s->granule))) {
		free(d);
		return uvi_fail(-ENOMEM, "sim: out of memory for domain %u", id);
	}
	/* The caller made sure that id is new, so tsearch() inserts d. */
	if (!tsearch(d, &s->domains, cmp_domain_id)) {
		sim_mappings_destroy(&d->maps);
		free(d);
		return uvi_fail(-ENOMEM, "sim: out of memory for domain %u", id);
	}
	s->stats.domains++;
	*out = d;
	return 0;
}

static void free_domain(void *p)
{
	struct sim_domain *d = p;

	sim_mappings_destroy(&d->maps);
	free(d);
}

static void destroy_domain(struct sim_iommu *s, struct sim_domain *d)
{
	s->stats.mappings -= d->maps.count;
	s->stats.domains--;
	if (s->last_domain == d)
		s->last_domain = NULL;
	tdelete(d, &s->domains, cmp_domain_id);
	free_domain(d);
}

void sim_domain_attach(struct sim_iommu *s, struct sim_domain *d, uint32_t ep)
{
	s->ep_domain[ep] = d;
	d->n_endpoints++;
}

/* virtio 1.2, 5.13.6.4: after the last endpoint is detached, the domain ceases to exist. */
void sim_domain_detach(struct sim_iommu *s, struct sim_domain *d, uint32_t ep)
{
	s->ep_domain[ep] = NULL;
	if (--d->n_endpoints == 0)
		destroy_domain(s, d);
}

void sim_domain_destroy_all(struct sim_iommu *s)
{
	tdestroy(s->domains, free_domain);
	s->domains = NULL;
	s->last_domain = NULL;
	memset(s->ep_domain, 0, s->cfg.n_endpoints * sizeof(*s->ep_domain));
	s->stats.domains = 0;
	s->stats.mappings = 0;
}
