/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device thread of the software virtio-iommu: from DRIVER_OK to reset
 * it watches the doorbells, serves the request queue (pop a chain, let
 * sim_iommu handle it, push the used length) and applies the ring-level
 * fault injection (reordered and delayed completions). Faults from
 * simulated DMA go to the event queue as they happen (sim_deliver_fault).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/common/error_internal.h"
#include "sim_internal.h"

#define SPIN_POLLS 256        /* idle polls (each a sched_yield) before sleeping */
#define IDLE_SLEEP_NS 50000   /* between idle polls after that */
#define REPOLL_EVERY 64       /* idle polls between two looks at the rings without a doorbell */
#define SIM_PUBLISH_EVERY 16  /* chains served between two updates of the used index */

static void *buf_ptr(const struct uvi_vq_buf *b)
{
	return (void *)(uintptr_t)b->addr; /* VIOMMU_ADDR_VIRTUAL: bus address = VA */
}

static void gather(const struct uvi_vq_buf *bufs, unsigned n, uint8_t *dst)
{
	for (unsigned i = 0; i < n; i++) {
		memcpy(dst, buf_ptr(&bufs[i]), bufs[i].len);
		dst += bufs[i].len;
	}
}

static void scatter(const struct uvi_vq_buf *bufs, unsigned n, const uint8_t *src, size_t len)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t part = bufs[i].len < len ? bufs[i].len : len;

		memcpy(buf_ptr(&bufs[i]), src, part);
		src += part;
		len -= part;
	}
}

/*
 * One request: the readable buffers are the request, the writable ones
 * its answer (sim_vq has checked the order). One buffer each way is used
 * in place; more are gathered into and scattered from bounce buffers, and
 * a chain too long for those is answered with used length 0.
 */
static uint32_t serve_chain(struct sim_device *d, const struct sim_vq_chain *c)
{
	unsigned nr = c->n_in, nw = c->n - c->n_in;
	const void *in;
	void *out;
	uint32_t used;

	if ((nr > 1 && c->in_len > d->bounce_len) || (nw > 1 && c->out_len > d->bounce_len))
		return 0;
	in = nr == 1 ? buf_ptr(&c->bufs[0]) : d->bounce_in;
	out = nw == 1 ? buf_ptr(&c->bufs[nr]) : d->bounce_out;
	if (nr > 1)
		gather(c->bufs, nr, d->bounce_in);
	used = sim_iommu_handle(d->iommu, in, c->in_len, out, c->out_len);
	if (nw > 1)
		scatter(c->bufs + nr, nw, d->bounce_out, used);
	return used;
}

static void hold(struct sim_device *d, const struct sim_vq_chain *c, uint32_t used_len)
{
	struct sim_held *h = &d->held[d->n_held++];

	h->chain = *c;
	h->used_len = used_len;
	h->due = d->polls + atomic_load(&d->delay_polls);
	atomic_fetch_add(&d->stats.held, 1);
}

/* Push the held completions that are due (a prefix: due times only grow). */
static unsigned release_held(struct sim_device *d, struct sim_vq *vq)
{
	bool reverse = atomic_load(&d->reorder);
	unsigned k = 0;

	while (k < d->n_held && d->held[k].due <= d->polls)
		k++;
	for (unsigned i = 0; i < k; i++) {
		const struct sim_held *h = &d->held[reverse ? k - 1 - i : i];

		sim_vq_push(vq, &h->chain, h->used_len);
	}
	d->n_held -= k;
	memmove(d->held, d->held + k, d->n_held * sizeof(*d->held));
	atomic_fetch_sub(&d->stats.held, k);
	return k;
}

/* Make pushed completions visible; the ISR bit records a wanted interrupt (4.1.4.5). */
static void publish(struct sim_device *d, struct sim_vq *vq)
{
	if (sim_vq_flush(vq))
		atomic_fetch_or(&d->isr, SIM_ISR_QUEUE);
}

/*
 * Pop and serve chains until the ring is empty or *served reaches budget.
 * Completions are made visible every SIM_PUBLISH_EVERY chains, not only
 * at the end of the pass, so that the driver can take the first ones
 * while the rest are served (QEMU's device publishes each completion as
 * it finishes the request).
 */
static int drain(struct sim_device *d, struct sim_vq *vq, unsigned budget, unsigned *served)
{
	bool holding = atomic_load(&d->reorder) || atomic_load(&d->delay_polls);
	struct sim_vq_chain chain;
	unsigned n = *served;
	int rc = 0;

	while (n < budget && (rc = sim_vq_pop(vq, &chain)) == 1) {
		uint32_t used = serve_chain(d, &chain);

		/* At most held_max chains are outstanding; a faulty ring cannot overrun held[]. */
		if (holding && d->n_held < d->held_max)
			hold(d, &chain, used);
		else
			sim_vq_push(vq, &chain, used);
		if (++n % SIM_PUBLISH_EVERY == 0)
			publish(d, vq);
	}
	*served = n;
	return rc < 0 ? rc : 0;
}

/*
 * One pass over the request queue, at most a queue's worth of chains
 * (dev_lock held). Once the ring is empty, kicks are re-armed for the
 * next entry (avail_event with EVENT_IDX, 2.7.10) and the ring is read
 * once more, so that a chain published before the re-arm took effect
 * does not wait for the next re-poll.
 */
static int serve_requests(struct sim_device *d, struct sim_vq *vq, unsigned budget)
{
	unsigned served = 0, pushed;
	int rc = drain(d, vq, budget, &served);

	if (!rc && served && served < budget) {
		sim_vq_kick_enable(vq, true);
		rc = drain(d, vq, budget, &served);
	}
	pushed = release_held(d, vq);
	if (served || pushed)
		publish(d, vq);
	atomic_fetch_add(&d->stats.chains, served);
	return rc < 0 ? rc : (int)(served + pushed);
}

static int device_pass(struct sim_device *d)
{
	struct sim_vq *vq = d->vqs[VIRTIO_IOMMU_QUEUE_REQUEST];
	bool broken;
	int rc;

	if (!vq || atomic_load(&d->needs_reset))
		return 0;
	pthread_mutex_lock(&d->dev_lock);
	rc = serve_requests(d, vq, d->cfg.queue_size_max);
	broken = sim_iommu_needs_reset(d->iommu);
	pthread_mutex_unlock(&d->dev_lock);
	if (rc < 0)
		atomic_fetch_add(&d->stats.bad_chains, 1);
	if (rc < 0 || broken)
		sim_raise_needs_reset(d); /* as QEMU does on a malformed request */
	return rc;
}

static bool take_doorbells(struct sim_device *d)
{
	bool rung = false;

	for (unsigned q = 0; q < SIM_NUM_QUEUES; q++)
		rung |= atomic_exchange_explicit(&d->doorbell[q], 0, memory_order_acquire) != 0;
	return rung;
}

static void idle_wait(unsigned idle)
{
	static const struct timespec pause = { 0, IDLE_SLEEP_NS };

	if (idle > SPIN_POLLS)
		nanosleep(&pause, NULL);
	else
		sched_yield();
}

/*
 * A doorbell makes the thread look at the rings at once; without one it
 * still looks every REPOLL_EVERY idle polls, as a polling device would,
 * and on every poll while it holds completions back.
 */
static void *device_main(void *arg)
{
	struct sim_device *d = arg;
	unsigned idle = 0;

	while (!atomic_load_explicit(&d->stop, memory_order_acquire)) {
		bool rung = take_doorbells(d);
		int work = 0;

		d->polls++;
		if (rung || d->n_held || idle % REPOLL_EVERY == 0)
			work = device_pass(d);
		idle = rung || work > 0 ? 0 : idle + 1;
		if (idle)
			idle_wait(idle);
	}
	return NULL;
}

static void destroy_rings(struct sim_device *d)
{
	pthread_mutex_lock(&d->dev_lock);
	for (unsigned q = 0; q < SIM_NUM_QUEUES; q++) {
		if (d->vqs[q])
			sim_vq_destroy(d->vqs[q]);
		d->vqs[q] = NULL;
	}
	pthread_mutex_unlock(&d->dev_lock);
	free(d->held);
	d->held = NULL;
	atomic_fetch_sub(&d->stats.held, d->n_held);
	d->n_held = 0;
}

/* The rings the driver described in the queue registers, for the negotiated layout. */
static int create_rings(struct sim_device *d, uint64_t features)
{
	struct uvi_vq_config c = {
		.layout = features & 1ull << VIRTIO_F_RING_PACKED ? UVI_VQ_PACKED : UVI_VQ_SPLIT,
		.event_idx = features & 1ull << VIRTIO_F_EVENT_IDX,
	};
	int rc = 0;

	pthread_mutex_lock(&d->dev_lock);
	for (unsigned q = 0; q < SIM_NUM_QUEUES && !rc; q++) {
		const struct sim_queue_regs *r = &d->queues[q];
		struct uvi_vq_addrs a = { r->desc, r->driver, r->device };

		if (!r->enabled)
			continue;
		c.size = r->size;
		rc = sim_vq_create(&c, &a, &d->vqs[q]);
	}
	pthread_mutex_unlock(&d->dev_lock);
	d->held_max = d->queues[VIRTIO_IOMMU_QUEUE_REQUEST].size;
	d->held = calloc(d->held_max, sizeof(*d->held));
	if (!rc && !d->held)
		rc = uvi_fail(-ENOMEM, "sim device: out of memory for held completions");
	if (rc)
		destroy_rings(d);
	return rc;
}

int sim_thread_start(struct sim_device *d, uint64_t features)
{
	int rc = create_rings(d, features);

	if (rc)
		return rc;
	atomic_store(&d->stop, false);
	d->polls = 0;
	rc = pthread_create(&d->thread, NULL, device_main, d);
	if (rc) {
		destroy_rings(d);
		return uvi_fail(-rc, "sim device: cannot start its thread");
	}
	d->running = true;
	atomic_fetch_add(&d->stats.starts, 1);
	return 0;
}

void sim_thread_stop(struct sim_device *d)
{
	if (!d->running)
		return;
	atomic_store_explicit(&d->stop, true, memory_order_release);
	pthread_join(d->thread, NULL);
	d->running = false;
	destroy_rings(d);
}

/* Write a fault record across the writable buffers of an event chain. */
static bool write_record(const struct sim_vq_chain *c, const struct virtio_iommu_fault *f)
{
	if (c->out_len < sizeof(*f))
		return false;
	scatter(c->bufs + c->n_in, c->n - c->n_in, (const uint8_t *)f, sizeof(*f));
	return true;
}

/*
 * 5.13.6.9: a fault goes into the next buffer the driver made available
 * on the event queue, taken when the fault happens (as QEMU takes it); no
 * buffer means the record is lost, and counted.
 */
void sim_deliver_fault(struct sim_device *d, const struct virtio_iommu_fault *f)
{
	struct sim_vq *evq = d->vqs[VIRTIO_IOMMU_QUEUE_EVENT];
	struct sim_vq_chain c;
	bool written;
	int rc;

	if (!evq || atomic_load(&d->eventq_full) || atomic_load(&d->needs_reset)) {
		atomic_fetch_add(&d->stats.events_dropped, 1);
		return;
	}
	rc = sim_vq_pop(evq, &c);
	if (rc <= 0) {
		atomic_fetch_add(&d->stats.events_dropped, 1);
		if (rc < 0) {
			atomic_fetch_add(&d->stats.bad_chains, 1);
			sim_raise_needs_reset(d);
		}
		return;
	}
	written = write_record(&c, f);
	sim_vq_push(evq, &c, written ? sizeof(*f) : 0);
	publish(d, evq);
	atomic_fetch_add(written ? &d->stats.events : &d->stats.events_dropped, 1);
}
