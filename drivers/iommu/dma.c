/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA mapper of a domain: its IOVA space (the device's input range and
 * granule, without IOVA 0's granule, which many drivers read as "no
 * address"), the endpoints it serves (their reserved regions and DMA
 * address limits shape the space), registered DMA memory, a pool of
 * batches (no allocation per call once warm) and the counters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/common/error_internal.h"
#include "../../lib/mem/mem_internal.h"
#include "../../lib/iova/iova_internal.h"
#include "dma.h"

#define KNOWN_FLAGS (VIOMMU_DMA_LAZY | VIOMMU_DMA_LAZY_NO_THREAD)

/* The space's bounds: whole granules of the input range (or of the caller's window). */
static int space_bounds(const struct viommu_dev_info *info, const struct viommu_dma_opts *o,
			struct viommu_iova_opts *so)
{
	uint64_t g = info->granule, first = o->iova_first, last = o->iova_last;

	if (!first && !last) {
		first = info->input_start > g ? info->input_start : g;
		last = info->input_end;
	} else if (first > last || first < info->input_start || last > info->input_end) {
		return uvi_fail(-EINVAL, "dma_create: IOVA window 0x%" PRIx64 "-0x%" PRIx64 " is "
				"not inside the device's input range 0x%" PRIx64 "-0x%" PRIx64,
				first, last, info->input_start, info->input_end);
	}
	if ((first & (g - 1)) && first <= UINT64_MAX - (g - 1))
		first = (first | (g - 1)) + 1;
	if ((last & (g - 1)) != g - 1 && last >= g)
		last = (last & ~(g - 1)) - 1;
	if (first > last || (first & (g - 1)) || (last & (g - 1)) != g - 1)
		return uvi_fail(-EINVAL, "dma_create: no whole granule of 0x%" PRIx64 " in the "
				"IOVA window", g);
	*so = (struct viommu_iova_opts){ .first = first, .last = last, .granule = g,
					 .numa_node = -1 };
	return 0;
}

static int check_opts(const struct viommu_dma_opts *o)
{
	if (o->flags & ~KNOWN_FLAGS)
		return uvi_fail(-EINVAL, "dma_create: unknown flags 0x%x", o->flags & ~KNOWN_FLAGS);
	if (o->addressing > VIOMMU_DMA_ADDR_VIRTUAL)
		return uvi_fail(-EINVAL, "dma_create: unknown addressing %d", (int)o->addressing);
	return 0;
}

static enum viommu_addressing addressing(const struct viommu_dev_info *info,
					 enum viommu_dma_addressing a)
{
	if (a == VIOMMU_DMA_ADDR_AUTO)
		return strcmp(info->access, "sim") == 0 ? VIOMMU_ADDR_VIRTUAL :
							  VIOMMU_ADDR_PHYSICAL;
	return a == VIOMMU_DMA_ADDR_VIRTUAL ? VIOMMU_ADDR_VIRTUAL : VIOMMU_ADDR_PHYSICAL;
}

static int setup(struct viommu_dma *dma, const struct viommu_dev_info *info,
		 const struct viommu_dma_opts *o)
{
	struct viommu_iova_opts so;
	int rc = space_bounds(info, o, &so);

	if (rc)
		return rc;
	rc = viommu_iova_space_create(&so, &dma->space);
	if (rc)
		return rc;
	if (pthread_mutex_init(&dma->lock, NULL)) {
		viommu_iova_space_destroy(dma->space);
		return uvi_fail(-ENOMEM, "dma_create: cannot create a lock");
	}
	rc = uvi_dma_lazy_init(dma, o);
	if (rc) {
		pthread_mutex_destroy(&dma->lock);
		viommu_iova_space_destroy(dma->space);
	}
	return rc;
}

int viommu_dma_create(struct viommu_dev *dev, struct viommu_domain *dom,
		      const struct viommu_dma_opts *opts, struct viommu_dma **out)
{
	struct viommu_dma_opts o = opts ? *opts : (struct viommu_dma_opts){ 0 };
	struct viommu_dev_info info;
	struct viommu_dma *dma;
	int rc;

	if (!dev || !dom || !out)
		return uvi_fail(-EINVAL, "dma_create: NULL argument");
	rc = check_opts(&o);
	if (!rc)
		rc = uvi_domain_check_live(dev, dom); /* else every map would fail later */
	if (!rc)
		rc = viommu_get_info(dev, &info);
	if (rc)
		return rc;
	dma = calloc(1, sizeof(*dma));
	if (!dma)
		return uvi_fail(-ENOMEM, "dma_create: out of memory");
	dma->dev = dev;
	dma->dom = dom;
	dma->granule = info.granule;
	dma->addressing = addressing(&info, o.addressing);
	dma->pagemap_fd = -1;
	dma->mappings = (struct uvi_rb_tree)UVI_RB_TREE_INIT(NULL);
	rc = setup(dma, &info, &o);
	if (rc) {
		free(dma);
		return rc;
	}
	*out = dma;
	return 0;
}

void viommu_dma_destroy(struct viommu_dma *dma)
{
	if (!dma)
		return;
	uvi_dma_lazy_stop(dma);
	uvi_dma_mappings_free(dma); /* through the queue, flushed */
	uvi_dma_lazy_fini(dma);
	pthread_mutex_destroy(&dma->lock);
	for (unsigned i = 0; i < dma->n_pool; i++)
		viommu_batch_destroy(dma->pool[i]);
	free(dma->pool);
	free(dma->mems);
	if (dma->pagemap_fd >= 0)
		close(dma->pagemap_fd);
	viommu_iova_space_destroy(dma->space);
	free(dma);
}

struct viommu_iova_space *viommu_dma_iova_space(struct viommu_dma *dma)
{
	return dma ? dma->space : NULL;
}

/* The endpoint's reserved regions, as the IOVA space takes them. */
static int endpoint_regions(struct viommu_dma *dma, uint32_t ep, struct uvi_iova_resv **out,
			    unsigned *n_out)
{
	struct viommu_resv_region *r;
	int n = viommu_probe_endpoint(dma->dev, ep), max = n;

	*out = NULL;
	*n_out = 0;
	if (n <= 0)
		return n;
	r = calloc((size_t)n, sizeof(*r));
	*out = calloc((size_t)n, sizeof(**out));
	if (!r || !*out) {
		free(r);
		free(*out);
		return uvi_fail(-ENOMEM, "dma_attach: out of memory");
	}
	n = viommu_get_resv_regions(dma->dev, ep, r, (unsigned)max);
	if (n > max)
		n = max; /* copied up to max */
	for (int i = 0; i < n; i++)
		(*out)[i] = (struct uvi_iova_resv){ r[i].start, r[i].end };
	free(r);
	*n_out = n > 0 ? (unsigned)n : 0;
	return n < 0 ? n : 0;
}

/* The top address an endpoint of dma_bits can drive, down to a granule's end. */
static int dma_limit(struct viommu_dma *dma, unsigned dma_bits, uint64_t *limit)
{
	struct viommu_iova_stats st;
	uint64_t top = dma_bits >= 64 ? UINT64_MAX : (1ull << dma_bits) - 1;
	uint64_t mask = dma->granule - 1;

	if (dma_bits > 64)
		return uvi_fail(-EINVAL, "dma_attach: %u address bits (at most 64)", dma_bits);
	if ((top & mask) != mask)
		top = top < mask ? 0 : (top & ~mask) - 1;
	viommu_iova_get_stats(dma->space, &st);
	if (top < st.first)
		return uvi_fail(-ERANGE, "dma_attach: an endpoint of %u address bits reaches "
				"nothing of the IOVA space (it starts at 0x%" PRIx64 ")", dma_bits,
				st.first);
	*limit = top;
	return 0;
}

int viommu_dma_attach(struct viommu_dma *dma, uint32_t endpoint_id, unsigned dma_bits)
{
	struct uvi_iova_resv *resv;
	uint64_t limit = UINT64_MAX;
	unsigned n;
	int rc;

	if (!dma)
		return uvi_fail(-EINVAL, "dma_attach: NULL argument");
	rc = dma_limit(dma, dma_bits ? dma_bits : 64, &limit);
	/* Whatever would refuse the attach refuses it before the space changes. */
	if (!rc)
		rc = uvi_attach_check(dma->dom, endpoint_id);
	if (rc)
		return rc;
	rc = endpoint_regions(dma, endpoint_id, &resv, &n);
	if (!rc)
		rc = uvi_iova_restrict(dma->space, resv, n, limit);
	free(resv);
	if (rc)
		return rc;
	return viommu_attach_endpoint(dma->dom, endpoint_id);
}

static const char *addressing_name(enum viommu_addressing a)
{
	return a == VIOMMU_ADDR_VIRTUAL ? "virtual" : "physical";
}

int viommu_dma_register_mem(struct viommu_dma *dma, const struct viommu_mem *mem)
{
	int rc = 0;

	if (!dma || !mem)
		return uvi_fail(-EINVAL, "dma_register_mem: NULL argument");
	/* Its table holds bus addresses of its own kind: another kind would map the wrong memory. */
	if (mem->addressing != dma->addressing)
		return uvi_fail(-EINVAL, "dma_register_mem: the memory has %s addresses, the "
				"mapper needs %s ones", addressing_name(mem->addressing),
				addressing_name(dma->addressing));
	pthread_mutex_lock(&dma->lock);
	if (dma->n_mems == dma->cap_mems) {
		unsigned cap = dma->cap_mems ? 2 * dma->cap_mems : 4;
		const struct viommu_mem **m = realloc(dma->mems, cap * sizeof(*m));

		if (m) {
			dma->mems = m;
			dma->cap_mems = cap;
		} else {
			rc = uvi_fail(-ENOMEM, "dma_register_mem: out of memory");
		}
	}
	if (!rc)
		dma->mems[dma->n_mems++] = mem;
	pthread_mutex_unlock(&dma->lock);
	return rc;
}

/* ---- the batch pool ---- */

int uvi_dma_batch_get(struct viommu_dma *dma, struct viommu_batch **out)
{
	pthread_mutex_lock(&dma->lock);
	*out = dma->n_pool ? dma->pool[--dma->n_pool] : NULL;
	pthread_mutex_unlock(&dma->lock);
	if (*out)
		return 0;
	return viommu_batch_create(dma->dev, UVI_DMA_BATCH, VIOMMU_BATCH_COALESCE_UNMAP, out);
}

/* b's requests are all complete (viommu_batch_run() returned). */
void uvi_dma_batch_put(struct viommu_dma *dma, struct viommu_batch *b)
{
	bool kept = false;

	viommu_batch_reset(b);
	pthread_mutex_lock(&dma->lock);
	if (dma->n_pool == dma->cap_pool) {
		unsigned cap = dma->cap_pool ? 2 * dma->cap_pool : 4;
		struct viommu_batch **p = realloc(dma->pool, cap * sizeof(*p));

		if (p) {
			dma->pool = p;
			dma->cap_pool = cap;
		}
	}
	if (dma->n_pool < dma->cap_pool) {
		dma->pool[dma->n_pool++] = b;
		kept = true;
	}
	pthread_mutex_unlock(&dma->lock);
	if (!kept)
		viommu_batch_destroy(b);
}

/* ---- counters ---- */

void uvi_dma_count(struct viommu_dma *dma, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&dma->lock);
	*counter += n;
	pthread_mutex_unlock(&dma->lock);
}

int viommu_dma_get_stats(struct viommu_dma *dma, struct viommu_dma_stats *stats)
{
	if (!dma || !stats)
		return uvi_fail(-EINVAL, "dma_get_stats: NULL argument");
	pthread_mutex_lock(&dma->lock);
	*stats = dma->stats;
	pthread_mutex_unlock(&dma->lock);
	stats->queued = uvi_dma_queued(dma);
	return 0;
}
