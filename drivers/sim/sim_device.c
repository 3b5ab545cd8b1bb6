/* SPDX-License-Identifier: BSD-3-Clause */
/* The software device's lifetime, its test-facing knobs and simulated DMA. */
#include <errno.h>
#include <stdlib.h>

#include "../../lib/common/error_internal.h"
#include "sim_internal.h"

#define QUEUE_SIZE_LIMIT 32768 /* virtio 1.2, 2.7 and 2.8 */
#define BOUNCE_BASE 4096       /* plus probe_size: the longest answer is a PROBE */
#define IOMMU_FEATURE_BITS 0x7full
#define QEMU_MSI_START 0xfee00000ull
#define QEMU_MSI_END 0xfeefffffull

void sim_config_default(struct sim_config *cfg)
{
	*cfg = (struct sim_config){
		.iommu = {
			.page_size_mask = ~0xfffull,
			.input_start = 0,
			.input_end = UINT64_MAX,
			.domain_start = 0,
			.domain_end = UINT32_MAX,
			.probe_size = 512,
			.bypass_default = true, /* QEMU's boot-bypass=on */
			.resv = { { QEMU_MSI_START, QEMU_MSI_END, VIRTIO_IOMMU_RESV_MEM_T_MSI } },
			.n_resv = 1,
			.n_endpoints = 1u << 16, /* one PCI segment */
		},
		.features = SIM_FEATURES_DEFAULT,
		.queue_size_max = SIM_QUEUE_SIZE_DEFAULT,
	};
}

/* Bus addresses are process virtual addresses (VIOMMU_ADDR_VIRTUAL). */
static void *phys_to_host(void *arg, uint64_t phys, uint64_t len)
{
	(void)arg;
	if (!phys || phys + len < phys)
		return NULL;
	return (void *)(uintptr_t)phys;
}

static void on_fault(void *arg, const struct virtio_iommu_fault *f)
{
	sim_deliver_fault(arg, f);
}

static int check_config(const struct sim_config *cfg)
{
	if (!cfg->queue_size_max || cfg->queue_size_max > QUEUE_SIZE_LIMIT)
		return uvi_fail(-EINVAL, "sim config: queue_size_max %u is not within 1-%u",
				cfg->queue_size_max, QUEUE_SIZE_LIMIT);
	return 0;
}

static int create_iommu(struct sim_device *d)
{
	struct sim_iommu_config icfg = d->cfg.iommu;
	const struct sim_iommu_host host = { phys_to_host, on_fault, d };
	int rc;

	icfg.features = d->cfg.features & IOMMU_FEATURE_BITS;
	rc = sim_iommu_create(&icfg, &d->iommu);
	if (!rc)
		sim_iommu_set_host(d->iommu, &host);
	return rc;
}

int sim_device_create(const struct sim_config *cfg, struct sim_device **out)
{
	struct sim_config defaults;
	struct sim_device *d;
	int rc;

	if (!cfg) {
		sim_config_default(&defaults);
		cfg = &defaults;
	}
	rc = check_config(cfg);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return uvi_fail(-ENOMEM, "sim device: out of memory");
	d->cfg = *cfg;
	d->bounce_len = BOUNCE_BASE + cfg->iommu.probe_size;
	d->bounce_in = malloc(d->bounce_len);
	d->bounce_out = malloc(d->bounce_len);
	rc = !d->bounce_in || !d->bounce_out ?
	     uvi_fail(-ENOMEM, "sim device: out of memory") : create_iommu(d);
	if (rc) {
		free(d->bounce_in);
		free(d->bounce_out);
		free(d);
		return rc;
	}
	pthread_mutex_init(&d->regs_lock, NULL);
	pthread_mutex_init(&d->dev_lock, NULL);
	d->emul = (struct uvi_mmio_emul){ sim_bar_read, sim_bar_write, d };
	for (unsigned q = 0; q < SIM_NUM_QUEUES; q++)
		atomic_init(&d->notify_off[q], (unsigned short)q);
	pthread_mutex_lock(&d->regs_lock);
	sim_reset_locked(d);
	sim_build_config_space(d);
	pthread_mutex_unlock(&d->regs_lock);
	*out = d;
	return 0;
}

void sim_device_destroy(struct sim_device *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->regs_lock);
	sim_thread_stop(d);
	pthread_mutex_unlock(&d->regs_lock);
	sim_iommu_destroy(d->iommu);
	pthread_mutex_destroy(&d->regs_lock);
	pthread_mutex_destroy(&d->dev_lock);
	free(d->bounce_in);
	free(d->bounce_out);
	free(d);
}

int sim_device_dma(struct sim_device *d, uint32_t endpoint, uint64_t iova, void *buf,
		   size_t len, enum sim_dma_dir dir)
{
	int rc;

	pthread_mutex_lock(&d->dev_lock);
	rc = sim_iommu_dma(d->iommu, endpoint, iova, buf, len, dir);
	pthread_mutex_unlock(&d->dev_lock);
	return rc;
}

void sim_device_get_stats(struct sim_device *d, struct sim_device_stats *out)
{
	*out = (struct sim_device_stats){
		.notifies = atomic_load(&d->stats.notifies),
		.chains = atomic_load(&d->stats.chains),
		.events = atomic_load(&d->stats.events),
		.events_dropped = atomic_load(&d->stats.events_dropped),
		.bad_chains = atomic_load(&d->stats.bad_chains),
		.starts = atomic_load(&d->stats.starts),
		.held = atomic_load(&d->stats.held),
	};
}

void sim_device_get_iommu_stats(struct sim_device *d, struct sim_iommu_stats *out)
{
	pthread_mutex_lock(&d->dev_lock);
	sim_iommu_get_stats(d->iommu, out);
	pthread_mutex_unlock(&d->dev_lock);
}

static void update_inject(struct sim_device *d, const uint32_t *zero_len, uint32_t status_count,
			  uint8_t status)
{
	struct sim_iommu_inject inj;

	pthread_mutex_lock(&d->dev_lock);
	sim_iommu_get_inject(d->iommu, &inj);
	if (zero_len) {
		inj.zero_len_count = *zero_len;
	} else {
		inj.status_count = status_count;
		inj.status = status;
	}
	sim_iommu_set_inject(d->iommu, &inj);
	pthread_mutex_unlock(&d->dev_lock);
}

void sim_device_inject_zero_len(struct sim_device *d, uint32_t count)
{
	update_inject(d, &count, 0, 0);
}

void sim_device_inject_status(struct sim_device *d, uint32_t count, uint8_t status)
{
	update_inject(d, NULL, count, status);
}

void sim_device_set_reorder(struct sim_device *d, bool on)
{
	atomic_store(&d->reorder, on);
}

void sim_device_set_delay(struct sim_device *d, unsigned polls)
{
	atomic_store(&d->delay_polls, polls);
}

void sim_device_set_needs_reset(struct sim_device *d)
{
	sim_raise_needs_reset(d);
}

void sim_device_set_eventq_full(struct sim_device *d, bool full)
{
	atomic_store(&d->eventq_full, full);
}

uint8_t *sim_device_test_config_space(struct sim_device *d)
{
	return d->config_space;
}

void sim_device_test_set_notify_off(struct sim_device *d, uint16_t queue, uint16_t off)
{
	if (queue < SIM_NUM_QUEUES)
		atomic_store(&d->notify_off[queue], off);
}

void sim_device_test_set_unstable_generation(struct sim_device *d, unsigned reads)
{
	pthread_mutex_lock(&d->regs_lock);
	d->unstable_reads = reads;
	pthread_mutex_unlock(&d->regs_lock);
}

void sim_device_test_set_stuck_reset(struct sim_device *d, bool on)
{
	atomic_store(&d->stuck_reset, on);
}
