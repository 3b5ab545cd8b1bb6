/* SPDX-License-Identifier: BSD-3-Clause */
/* What both ring layouts share: geometry, creation, the caller's chain checks, dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error_internal.h"
#include "vq_internal.h"

static bool config_valid(const struct uvi_vq_config *cfg)
{
	if (!cfg || cfg->size == 0 || cfg->size > VRING_MAX_SIZE)
		return false;
	if (cfg->layout == UVI_VQ_SPLIT)
		return (cfg->size & (cfg->size - 1)) == 0; /* 2.7: a power of 2 */
	return cfg->layout == UVI_VQ_PACKED;
}

static void layout_offsets(const struct uvi_vq_config *cfg, struct uvi_vq_layout_offsets *o)
{
	if (cfg->layout == UVI_VQ_SPLIT)
		uvi_vq_split_offsets(cfg->size, o);
	else
		uvi_vq_packed_offsets(cfg->size, o);
}

size_t uvi_vq_ring_bytes(const struct uvi_vq_config *cfg)
{
	struct uvi_vq_layout_offsets o;

	if (!config_valid(cfg))
		return 0;
	layout_offsets(cfg, &o);
	return o.total;
}

size_t uvi_vq_ring_align(const struct uvi_vq_config *cfg)
{
	(void)cfg;
	return UVI_VQ_RING_ALIGN;
}

static int check_create_args(const struct uvi_vq_config *cfg, const void *ring_va,
			     uint64_t ring_iova, struct uvi_vq **out)
{
	if (!out || !ring_va)
		return uvi_fail(-EINVAL, "virtqueue: no ring memory or no place for the queue");
	if (!config_valid(cfg))
		return uvi_fail(-EINVAL, "virtqueue: size %u is not valid for the %s layout "
				"(split: a power of two up to 32768; packed: 1 to 32768)",
				cfg ? cfg->size : 0,
				cfg && cfg->layout == UVI_VQ_PACKED ? "packed" : "split");
	/* Every area must meet the spec's alignment (2.7, 2.8.10.1); the descriptors need 16. */
	if ((ring_iova & (VRING_SPLIT_DESC_ALIGN - 1)) ||
	    ((uintptr_t)ring_va & (VRING_SPLIT_DESC_ALIGN - 1)))
		return uvi_fail(-EINVAL, "virtqueue: ring memory at bus address 0x%llx (va %p) is "
				"not 16-byte aligned; allocate it with uvi_vq_ring_align()",
				(unsigned long long)ring_iova, ring_va);
	return 0;
}

static void init_state(struct uvi_vq *vq)
{
	memset(vq->ring, 0, vq->ring_bytes);
	memset(vq->ids, 0, sizeof(vq->ids[0]) * vq->size);
	vq->broken = false;
	vq->num_free = vq->size;
	vq->in_flight = 0;
	vq->pending = 0;
	vq->added = 0;
	vq->published = 0;
	if (vq->layout == UVI_VQ_SPLIT)
		uvi_vq_split_init(vq);
	else
		uvi_vq_packed_init(vq);
}

int uvi_vq_create(const struct uvi_vq_config *cfg, void *ring_va, uint64_t ring_iova,
		  struct uvi_vq **out)
{
	struct uvi_vq_layout_offsets o;
	struct uvi_vq *vq;
	int rc = check_create_args(cfg, ring_va, ring_iova, out);

	if (rc)
		return rc;
	vq = calloc(1, sizeof(*vq) + sizeof(vq->ids[0]) * cfg->size);
	if (!vq)
		return uvi_fail(-ENOMEM, "virtqueue: out of memory for a %u-entry queue",
				cfg->size);
	layout_offsets(cfg, &o);
	vq->layout = cfg->layout;
	vq->event_idx = cfg->event_idx;
	vq->size = cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	vq->ring = ring_va;
	vq->ring_bytes = o.total;
	vq->addrs = (struct uvi_vq_addrs){ .desc = ring_iova, .driver = ring_iova + o.driver,
					   .device = ring_iova + o.device };
	vq->driver_area = (char *)ring_va + o.driver;
	vq->device_area = (char *)ring_va + o.device;
	init_state(vq);
	*out = vq;
	return 0;
}

void uvi_vq_destroy(struct uvi_vq *vq)
{
	free(vq);
}

void uvi_vq_reset(struct uvi_vq *vq)
{
	init_state(vq);
}

void uvi_vq_get_addrs(const struct uvi_vq *vq, struct uvi_vq_addrs *out)
{
	*out = vq->addrs;
}

uint16_t uvi_vq_size(const struct uvi_vq *vq)
{
	return vq->size;
}

unsigned uvi_vq_num_free(const struct uvi_vq *vq)
{
	return vq->num_free;
}

bool uvi_vq_broken(const struct uvi_vq *vq)
{
	return vq->broken;
}

int uvi_vq_fail_protocol(struct uvi_vq *vq, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vq->broken = true;
	return uvi_fail(-EPROTO, "virtqueue: %s; the queue is now broken: reset the device and "
			"the queue (uvi_vq_reset) before using it again", what);
}

static int broken_error(void)
{
	return uvi_fail(-EIO, "virtqueue: broken by an earlier device protocol error; reset the "
			"device and the queue (uvi_vq_reset) before using it again");
}

/*
 * The caller's chain: at least one buffer, readable ones before writable
 * ones (2.7.4, 2.8.17), at most the queue size (2.7.5.3, 2.8.17) and
 * at most 4 GiB - 1 in all (2.7.5.2 allows 4 GiB; one byte less keeps
 * every length a u32, like the used length it bounds).
 */
static int check_chain(const struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n,
		       const void *token, uint32_t *writable_len)
{
	uint64_t total = 0, writable = 0;
	bool seen_writable = false;

	if (!token || !bufs || n == 0)
		return uvi_fail(-EINVAL, "virtqueue: a chain needs a token and at least one "
				"buffer");
	if (n > vq->size)
		return uvi_fail(-EINVAL, "virtqueue: a chain of %u buffers never fits a queue "
				"of %u", n, vq->size);
	for (unsigned i = 0; i < n; i++) {
		total += bufs[i].len;
		if (bufs[i].device_writable) {
			writable += bufs[i].len;
			seen_writable = true;
		} else if (seen_writable) {
			return uvi_fail(-EINVAL, "virtqueue: buffer %u is device-readable but "
					"comes after a device-writable one", i);
		}
	}
	if (total > UINT32_MAX)
		return uvi_fail(-EINVAL, "virtqueue: a chain of %llu bytes exceeds 4 GiB - 1",
				(unsigned long long)total);
	*writable_len = (uint32_t)writable;
	return 0;
}

static void count_added(struct uvi_vq *vq, unsigned ndesc)
{
	vq->num_free -= ndesc;
	vq->pending++;
	vq->added++;
}

int uvi_vq_add(struct uvi_vq *vq, const struct uvi_vq_buf *bufs, unsigned n, void *token)
{
	uint32_t writable_len = 0;
	int rc;

	if (vq->broken)
		return broken_error();
	rc = check_chain(vq, bufs, n, token, &writable_len);
	if (rc)
		return rc;
	if (n > vq->num_free)
		return uvi_fail(-ENOSPC, "virtqueue: %u descriptors needed, %u free; take "
				"completions with uvi_vq_get_used() first", n, vq->num_free);
	if (vq->layout == UVI_VQ_SPLIT)
		uvi_vq_split_add(vq, bufs, n, token, writable_len);
	else
		uvi_vq_packed_add(vq, bufs, n, token, writable_len);
	count_added(vq, n);
	return 0;
}

int uvi_vq_add_pair(struct uvi_vq *vq, const struct uvi_vq_buf *readable,
		    const struct uvi_vq_buf *writable, void *token)
{
	/* Anything unusual takes the general path, which says what is wrong with it. */
	if (vq->broken || !token || readable->device_writable || !writable->device_writable ||
	    vq->num_free < 2 || (uint64_t)readable->len + writable->len > UINT32_MAX)
		return uvi_vq_add(vq, (const struct uvi_vq_buf[2]){ *readable, *writable }, 2,
				  token);
	if (vq->layout == UVI_VQ_SPLIT)
		uvi_vq_split_add_pair(vq, readable, writable, token);
	else
		uvi_vq_packed_add(vq, (const struct uvi_vq_buf[2]){ *readable, *writable }, 2,
				  token, writable->len);
	count_added(vq, 2);
	return 0;
}

bool uvi_vq_publish(struct uvi_vq *vq)
{
	bool notify;

	if (vq->broken || vq->pending == 0)
		return false;
	if (vq->layout == UVI_VQ_SPLIT)
		notify = uvi_vq_split_publish(vq);
	else
		notify = uvi_vq_packed_publish(vq);
	vq->published = vq->added;
	vq->in_flight += vq->pending;
	vq->pending = 0;
	return notify;
}

int uvi_vq_get_used(struct uvi_vq *vq, void **token, uint32_t *used_len)
{
	if (vq->broken)
		return broken_error();
	if (vq->layout == UVI_VQ_SPLIT)
		return uvi_vq_split_get_used(vq, token, used_len);
	return uvi_vq_packed_get_used(vq, token, used_len);
}

unsigned uvi_vq_used_ready(const struct uvi_vq *vq)
{
	if (vq->broken)
		return 0;
	if (vq->layout == UVI_VQ_SPLIT)
		return uvi_vq_split_used_ready(vq);
	return uvi_vq_packed_used_ready(vq);
}
