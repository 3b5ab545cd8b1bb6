/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The modern virtio-pci transport against the software device: capability
 * discovery, reset, feature negotiation, queue setup, device configuration;
 * and hostile devices (looping capability lists, windows outside their BAR,
 * doorbells outside the notify structure, a configuration that never
 * settles, a reset that never completes): each a clear error, no hang.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <uviommu/error.h>

#include "cunit_main.h"
#include "../../drivers/sim/sim.h"
#include "../../lib/virtio/virtio_pci.h"
#include "../../lib/virtio/virtio_pci_regs.h"

#define F(bit) (1ull << (bit))

struct fixture {
	struct sim_device *sim;
	struct uvi_pci_dev *pci;
	struct uvi_vpci v;
};

static const struct viommu_pci_addr sim_addr = { 0, VIOMMU_BDF(0, 2, 0) };

static void expect_message(const char *needle)
{
	if (!strstr(viommu_last_error(), needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", viommu_last_error(), needle);
		CU_FAIL("error message does not name the problem");
	}
}

/* Create a sim (cfg NULL: defaults), let `tweak` corrupt it, open it over PCI. */
static void open_sim(struct fixture *f, const struct sim_config *cfg,
		     void (*tweak)(struct sim_device *))
{
	memset(f, 0, sizeof(*f));
	CU_ASSERT_EQUAL_FATAL(sim_device_create(cfg, &f->sim), 0);
	if (tweak)
		tweak(f->sim);
	CU_ASSERT_EQUAL_FATAL(uvi_pci_open(&uvi_sim_backend, f->sim, sim_addr, &f->pci), 0);
}

static void open_vpci(struct fixture *f, const struct sim_config *cfg)
{
	int rc;

	open_sim(f, cfg, NULL);
	rc = uvi_vpci_init(&f->v, f->pci);
	if (rc)
		fprintf(stderr, "init: %s\n", viommu_last_error());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void close_sim(struct fixture *f)
{
	uvi_pci_close(f->pci);
	sim_device_destroy(f->sim);
}

/* uvi_vpci_init fails with err, names the problem and leaves *v as it was. */
static void expect_init_error(void (*tweak)(struct sim_device *), int err, const char *needle)
{
	struct fixture f;
	struct uvi_vpci before;

	open_sim(&f, NULL, tweak);
	memset(&f.v, 0xa5, sizeof(f.v));
	before = f.v;
	CU_ASSERT_EQUAL(uvi_vpci_init(&f.v, f.pci), err);
	expect_message(needle);
	CU_ASSERT_EQUAL(memcmp(&before, &f.v, sizeof(before)), 0);
	close_sim(&f);
}

static void test_capability_discovery(void)
{
	struct fixture f;

	open_vpci(&f, NULL);
	CU_ASSERT_EQUAL(f.v.common.bar_index, 4);
	CU_ASSERT_EQUAL(f.v.common.off, 0);
	CU_ASSERT_EQUAL(f.v.common.len, 0x1000);
	CU_ASSERT_EQUAL(f.v.isr.off, 0x1000);
	CU_ASSERT_EQUAL(f.v.device.off, 0x2000);
	CU_ASSERT_EQUAL(f.v.device.len, 0x1000);
	CU_ASSERT_EQUAL(f.v.notify.off, 0x3000);
	CU_ASSERT_EQUAL(f.v.notify_off_multiplier, 4);
	CU_ASSERT_NOT_EQUAL(f.v.pci_cfg_cap, 0);
	CU_ASSERT_PTR_EQUAL(f.v.common.bar, &f.pci->bars[4]);
	CU_ASSERT_EQUAL(uvi_vpci_num_queues(&f.v), 2);
	close_sim(&f);
}

static void test_reset(void)
{
	struct fixture f;

	open_vpci(&f, NULL);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_DRIVER);
	CU_ASSERT_EQUAL(uvi_vpci_get_status(&f.v), UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	CU_ASSERT_EQUAL(uvi_vpci_get_status(&f.v), 0);
	close_sim(&f);
}

static void test_reset_timeout(void)
{
	struct fixture f;

	open_vpci(&f, NULL);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE);
	sim_device_test_set_stuck_reset(f.sim, true);
	f.v.reset_timeout_ms = 20;
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), -ETIMEDOUT);
	expect_message("did not finish its reset");
	sim_device_test_set_stuck_reset(f.sim, false);
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	close_sim(&f);
}

static void test_feature_negotiation(void)
{
	const uint64_t wanted = F(VIRTIO_IOMMU_F_MAP_UNMAP) | F(VIRTIO_IOMMU_F_BYPASS_CONFIG) |
				F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_F_RING_PACKED) | F(50);
	struct fixture f;
	uint64_t got = 0;

	open_vpci(&f, NULL);
	CU_ASSERT_EQUAL(uvi_vpci_get_device_features(&f.v), SIM_FEATURES_DEFAULT);
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	CU_ASSERT_EQUAL(uvi_vpci_negotiate(&f.v, wanted, &got), 0);
	/* Offered and wanted, plus VERSION_1; not RING_PACKED (not offered) nor bit 50. */
	CU_ASSERT_EQUAL(got, F(VIRTIO_F_VERSION_1) | F(VIRTIO_IOMMU_F_MAP_UNMAP) |
			     F(VIRTIO_IOMMU_F_BYPASS_CONFIG) | F(VIRTIO_F_EVENT_IDX));
	CU_ASSERT(uvi_vpci_get_status(&f.v) & UVI_VSTATUS_FEATURES_OK);
	close_sim(&f);
}

/* FEATURES_OK does not stick for an unoffered feature, nor without VERSION_1. */
static void test_features_ok_refused(void)
{
	struct fixture f;

	open_vpci(&f, NULL);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	uvi_vpci_set_driver_features(&f.v, F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_RING_PACKED));
	CU_ASSERT_EQUAL(uvi_vpci_features_ok(&f.v), -ENOTSUP);
	expect_message("refused driver features 0x500000000");
	CU_ASSERT_FALSE(uvi_vpci_get_status(&f.v) & UVI_VSTATUS_FEATURES_OK);

	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	uvi_vpci_set_driver_features(&f.v, F(VIRTIO_IOMMU_F_MAP_UNMAP));
	CU_ASSERT_EQUAL(uvi_vpci_features_ok(&f.v), -ENOTSUP);

	/* The same device accepts a proper subset after a reset. */
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	uvi_vpci_add_status(&f.v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	uvi_vpci_set_driver_features(&f.v, F(VIRTIO_F_VERSION_1) | F(VIRTIO_IOMMU_F_MAP_UNMAP));
	CU_ASSERT_EQUAL(uvi_vpci_features_ok(&f.v), 0);
	close_sim(&f);
}

static void test_legacy_only_device(void)
{
	struct sim_config cfg;
	struct fixture f;
	uint64_t got = 0x1234;

	sim_config_default(&cfg);
	cfg.features &= ~F(VIRTIO_F_VERSION_1);
	open_vpci(&f, &cfg);
	CU_ASSERT_EQUAL(uvi_vpci_negotiate(&f.v, ~0ull, &got), -ENOTSUP);
	expect_message("VIRTIO_F_VERSION_1");
	CU_ASSERT_EQUAL(got, 0x1234);
	close_sim(&f);
}

static void negotiate_default(struct fixture *f, uint64_t wanted)
{
	uint64_t got;

	CU_ASSERT_EQUAL_FATAL(uvi_vpci_reset(&f->v), 0);
	uvi_vpci_add_status(&f->v, UVI_VSTATUS_ACKNOWLEDGE | UVI_VSTATUS_DRIVER);
	CU_ASSERT_EQUAL_FATAL(uvi_vpci_negotiate(&f->v, wanted, &got), 0);
}

/* Read a common-cfg queue register of `queue` back through the BAR. */
static uint64_t queue_reg(struct fixture *f, uint16_t queue, unsigned off, unsigned width)
{
	uvi_bar_write(f->v.common.bar, f->v.common.off + UVI_VCOMMON_Q_SELECT, 2, queue);
	return uvi_bar_read(f->v.common.bar, f->v.common.off + off, width);
}

static void test_queue_setup(void)
{
	const struct uvi_vq_addrs a[2] = {
		{ 0x1111222233334000ull, 0x1111222233335000ull, 0x1111222233336000ull },
		{ 0x7000, 0x8000, 0x9000 },
	};
	struct uvi_vpci_notifier n;
	struct fixture f;
	uint16_t max;

	open_vpci(&f, NULL);
	negotiate_default(&f, 0);
	for (uint16_t q = 0; q < 2; q++) {
		CU_ASSERT_EQUAL(uvi_vpci_queue_max_size(&f.v, q, &max), 0);
		CU_ASSERT_EQUAL(max, 256);
		CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, q, 64, &a[q], &n), 0);
		CU_ASSERT_EQUAL(n.queue, q);
		CU_ASSERT_PTR_EQUAL(n.bar, f.v.notify.bar);
		CU_ASSERT_EQUAL(n.off, 0x3000 + 4u * q);
		CU_ASSERT_EQUAL(queue_reg(&f, q, UVI_VCOMMON_Q_SIZE, 2), 64);
		CU_ASSERT_EQUAL(queue_reg(&f, q, UVI_VCOMMON_Q_DESC, 8), a[q].desc);
		CU_ASSERT_EQUAL(queue_reg(&f, q, UVI_VCOMMON_Q_DRIVER, 8), a[q].driver);
		CU_ASSERT_EQUAL(queue_reg(&f, q, UVI_VCOMMON_Q_DEVICE, 8), a[q].device);
		CU_ASSERT_EQUAL(uvi_vpci_queue_enable(&f.v, q), 0);
		CU_ASSERT_EQUAL(queue_reg(&f, q, UVI_VCOMMON_Q_ENABLE, 2), 1);
		/* An enabled queue is not set up again without a reset. */
		CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, q, 64, &a[q], &n), -EBUSY);
	}
	CU_ASSERT_EQUAL(uvi_vpci_queue_max_size(&f.v, 2, &max), -ENOENT);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 2, 64, &a[0], &n), -ENOENT);
	/* A reset disables the queues; then a too-large or empty size is refused. */
	CU_ASSERT_EQUAL(uvi_vpci_reset(&f.v), 0);
	CU_ASSERT_EQUAL(queue_reg(&f, 0, UVI_VCOMMON_Q_ENABLE, 2), 0);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 0, 512, &a[0], &n), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 0, 0, &a[0], &n), -EINVAL);
	close_sim(&f);
}

static void test_notify_rings_doorbell(void)
{
	const struct uvi_vq_addrs a = { 0x1000, 0x2000, 0x3000 };
	struct uvi_vpci_notifier n[2];
	struct sim_device_stats st;
	struct fixture f;

	open_vpci(&f, NULL);
	negotiate_default(&f, 0);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 0, 256, &a, &n[0]), 0);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 1, 256, &a, &n[1]), 0);
	uvi_vpci_notify(&n[0]);
	uvi_vpci_notify(&n[1]);
	uvi_vpci_notify(&n[1]);
	sim_device_get_stats(f.sim, &st);
	CU_ASSERT_EQUAL(st.notifies, 3);
	close_sim(&f);
}

static void test_device_config_read(void)
{
	struct virtio_iommu_config c;
	struct fixture f;
	uint8_t big[300];

	open_vpci(&f, NULL);
	memset(&c, 0xee, sizeof(c));
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0, &c, 36), 0);
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 36, &c.bypass, 1), 0);
	CU_ASSERT_EQUAL(c.page_size_mask, ~0xfffull);
	CU_ASSERT_EQUAL(c.input_range_start, 0);
	CU_ASSERT_EQUAL(c.input_range_end, UINT64_MAX);
	CU_ASSERT_EQUAL(c.domain_range_start, 0);
	CU_ASSERT_EQUAL(c.domain_range_end, UINT32_MAX);
	CU_ASSERT_EQUAL(c.probe_size, 512);
	CU_ASSERT_EQUAL(c.bypass, 1);
	/* Out of the structure, or too long at once: refused, nothing read. */
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0xfff, &c, 2), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0, big, sizeof(big)), -EINVAL);
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0, &c, 0), -EINVAL);
	close_sim(&f);
}

/* A generation that moves a few times is retried; one that never settles is an error. */
static void test_config_generation(void)
{
	struct fixture f;
	uint64_t mask = 0, untouched = 0x0123456789abcdefull;

	open_vpci(&f, NULL);
	sim_device_test_set_unstable_generation(f.sim, 5);
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0, &mask, sizeof(mask)), 0);
	CU_ASSERT_EQUAL(mask, ~0xfffull);
	sim_device_test_set_unstable_generation(f.sim, UINT_MAX);
	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f.v, 0, &untouched, sizeof(untouched)), -EIO);
	expect_message("config_generation");
	CU_ASSERT_EQUAL(untouched, 0x0123456789abcdefull);
	close_sim(&f);
}

static uint8_t read_bypass(struct fixture *f)
{
	uint8_t b = 0xff;

	CU_ASSERT_EQUAL(uvi_vpci_config_read(&f->v, 36, &b, 1), 0);
	return b;
}

static void write_bypass(struct fixture *f, uint8_t value)
{
	CU_ASSERT_EQUAL(uvi_vpci_config_write(&f->v, 36, &value, 1), 0);
}

static void test_bypass_write(void)
{
	struct fixture f;

	open_vpci(&f, NULL);
	/* Without BYPASS_CONFIG negotiated the device keeps its value. */
	negotiate_default(&f, F(VIRTIO_IOMMU_F_MAP_UNMAP));
	write_bypass(&f, 0);
	CU_ASSERT_EQUAL(read_bypass(&f), 1);
	negotiate_default(&f, F(VIRTIO_IOMMU_F_BYPASS_CONFIG));
	write_bypass(&f, 0);
	CU_ASSERT_EQUAL(read_bypass(&f), 0);
	write_bypass(&f, 2); /* only 0 and 1 exist (5.13.4.1) */
	CU_ASSERT_EQUAL(read_bypass(&f), 0);
	write_bypass(&f, 1);
	CU_ASSERT_EQUAL(read_bypass(&f), 1);
	close_sim(&f);
}

/* Hostile configuration spaces. Capabilities: 0x40 common, 0x50 ISR, 0x60 device,
 * 0x70 notify (multiplier at 0x80), 0x84 PCI cfg access. */
static void cap_loop(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x84 + 1] = 0x50;
}

static void cap_self_loop(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x40 + 1] = 0x40;
}

static void cap_ptr_unaligned(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x34] = 0x42;
}

static void cap_ptr_in_header(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x50 + 1] = 0x20;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void devcfg_past_bar(struct sim_device *s)
{
	put32(sim_device_test_config_space(s) + 0x60 + 12, 0x2001); /* 0x2000 + 0x2001 > 0x4000 */
}

static void common_offset_wraps(struct sim_device *s)
{
	put32(sim_device_test_config_space(s) + 0x40 + 8, 0xfffff000);
}

static void no_cap_list(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x06] = 0;
}

static void common_cap_reserved_type(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x40 + 3] = 0x0a;
}

static void notify_mult_odd(struct sim_device *s)
{
	put32(sim_device_test_config_space(s) + 0x80, 3);
}

static void notify_cap_short(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x70 + 2] = 16; /* no room for the multiplier */
}

static void isr_in_missing_bar(struct sim_device *s)
{
	sim_device_test_config_space(s)[0x50 + 4] = 2;
}

static void not_virtio(struct sim_device *s)
{
	sim_device_test_config_space(s)[0] = 0x86;
}

/* 48 power-management capabilities, one per dword, no virtio: walked, then refused. */
static void cap_list_full(struct sim_device *s)
{
	uint8_t *cfg = sim_device_test_config_space(s);

	for (unsigned p = 0x40; p < 0x100; p += 4) {
		cfg[p] = 0x01;
		cfg[p + 1] = p + 4 < 0x100 ? (uint8_t)(p + 4) : 0;
	}
}

static void test_hostile_capabilities(void)
{
	expect_init_error(cap_loop, -EPROTO, "loops");
	expect_init_error(cap_self_loop, -EPROTO, "leads back to 0x40");
	expect_init_error(cap_ptr_unaligned, -EPROTO, "not 4-byte aligned");
	expect_init_error(cap_ptr_in_header, -EPROTO, "inside the 64-byte header");
	expect_init_error(devcfg_past_bar, -EPROTO, "outside BAR4");
	expect_init_error(common_offset_wraps, -EPROTO, "outside BAR4");
	expect_init_error(no_cap_list, -ENODEV, "no PCI capability list");
	expect_init_error(common_cap_reserved_type, -ENODEV, "common configuration");
	expect_init_error(notify_mult_odd, -EPROTO, "notify_off_multiplier 3");
	expect_init_error(notify_cap_short, -EPROTO, "has length 16");
	expect_init_error(isr_in_missing_bar, -ENODEV, "BAR2");
	expect_init_error(not_virtio, -ENODEV, "vendor ID");
	expect_init_error(cap_list_full, -ENODEV, "no usable virtio common");
}

/* A queue_notify_off whose doorbell lies past the notify structure (and the BAR). */
static void test_notify_offset_outside(void)
{
	const struct uvi_vq_addrs a = { 0x1000, 0x2000, 0x3000 };
	struct uvi_vpci_notifier n = { .queue = 77 };
	struct fixture f;

	open_vpci(&f, NULL);
	negotiate_default(&f, 0);
	sim_device_test_set_notify_off(f.sim, 0, 0x400); /* 0x400 * 4 = the structure's length */
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 0, 64, &a, &n), -EPROTO);
	expect_message("doorbell lies outside");
	CU_ASSERT_EQUAL(n.queue, 77);
	sim_device_test_set_notify_off(f.sim, 1, 0xffff);
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 1, 64, &a, &n), -EPROTO);
	sim_device_test_set_notify_off(f.sim, 0, 0x3ff); /* the last doorbell that fits */
	CU_ASSERT_EQUAL(uvi_vpci_queue_setup(&f.v, 0, 64, &a, &n), 0);
	CU_ASSERT_EQUAL(n.off, 0x3000 + 0x3ffu * 4);
	close_sim(&f);
}

/* The PCI configuration access window (4.1.4.9) reaches the same registers. */
static void test_pci_cfg_window(void)
{
	struct fixture f;
	uint8_t cap, bar = 4;
	uint32_t off = UVI_VCOMMON_NUMQ, len = 2, data = 0;

	open_vpci(&f, NULL);
	cap = f.v.pci_cfg_cap;
	CU_ASSERT_EQUAL(uvi_pci_cfg_write(f.pci, cap + 4, &bar, 1), 0);
	CU_ASSERT_EQUAL(uvi_pci_cfg_write(f.pci, cap + 8, &off, 4), 0);
	CU_ASSERT_EQUAL(uvi_pci_cfg_write(f.pci, cap + 12, &len, 4), 0);
	CU_ASSERT_EQUAL(uvi_pci_cfg_read(f.pci, cap + 16, &data, 4), 0);
	CU_ASSERT_EQUAL(data, 2);
	close_sim(&f);
}

static const struct test_case cases[] = {
	TEST_CASE(test_capability_discovery),
	TEST_CASE(test_reset),
	TEST_CASE(test_reset_timeout),
	TEST_CASE(test_feature_negotiation),
	TEST_CASE(test_features_ok_refused),
	TEST_CASE(test_legacy_only_device),
	TEST_CASE(test_queue_setup),
	TEST_CASE(test_notify_rings_doorbell),
	TEST_CASE(test_device_config_read),
	TEST_CASE(test_config_generation),
	TEST_CASE(test_bypass_write),
	TEST_CASE(test_hostile_capabilities),
	TEST_CASE(test_notify_offset_outside),
	TEST_CASE(test_pci_cfg_window),
	TEST_END,
};

int main(void)
{
	return run_suite("virtio-pci", cases);
}
