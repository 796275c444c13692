// SPDX-License-Identifier: MIT
/* test_virtio.c - status sequence, feature negotiation and config generations on a model transport.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "core/virtio.h"

/* A register-level model of a device: enough to drive virtio.c's logic. */
struct model {
	struct vv_transport t;
	uint8_t status;
	uint64_t offered, accepted;
	bool reject_features; /* clears FEATURES_OK like a device refusing the set */
	int reset_delay;      /* reads of status that still return non-zero after reset */
	int gen_changes;      /* config reads during which the generation moves */
	uint8_t generation;
	uint8_t config[16];
	unsigned config_reads;
};

static struct model *M(struct vv_transport *t)
{
	return (struct model *)t;
}

static uint8_t get_status(struct vv_transport *t)
{
	if (M(t)->reset_delay > 0) {
		M(t)->reset_delay--;
		return VIRTIO_CONFIG_S_DRIVER;
	}
	return M(t)->status;
}

static void set_status(struct vv_transport *t, uint8_t s)
{
	if ((s & VIRTIO_CONFIG_S_FEATURES_OK) && M(t)->reject_features)
		s &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	M(t)->status = s;
}

static uint64_t get_features(struct vv_transport *t)
{
	return M(t)->offered;
}

static void set_features(struct vv_transport *t, uint64_t f)
{
	M(t)->accepted = f;
}

static uint8_t config_generation(struct vv_transport *t)
{
	return M(t)->generation;
}

static void config_read(struct vv_transport *t, unsigned off, void *buf, size_t len)
{
	memcpy(buf, M(t)->config + off, len);
	M(t)->config_reads++;
	if (M(t)->gen_changes) {
		if (M(t)->gen_changes > 0)
			M(t)->gen_changes--;
		M(t)->generation++;
	}
}

static const struct vv_transport_ops ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_features = get_features,
	.set_features = set_features,
	.config_generation = config_generation,
	.config_read = config_read,
};

#define F(bit)	 (1ULL << (bit))
#define REQUIRED (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM))

static struct model m;

static int setup(void **state)
{
	memset(&m, 0, sizeof(m));
	m.t.ops = &ops;
	m.t.name = "model";
	m.t.config_len = sizeof(m.config);
	m.offered = REQUIRED | F(VIRTIO_RING_F_EVENT_IDX) | F(5) | F(40);
	for (unsigned i = 0; i < sizeof(m.config); i++)
		m.config[i] = (uint8_t)i;
	return 0;
}

static void test_negotiate_intersection(void **state)
{
	uint64_t f = 0;

	/* The driver knows EVENT_IDX and bit 6; the device offers EVENT_IDX, 5 and 40. */
	assert_int_equal(virtio_negotiate(&m.t, F(VIRTIO_RING_F_EVENT_IDX) | F(6), &f), 0);
	assert_int_equal(f, REQUIRED | F(VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(m.accepted, f);
	assert_true(m.status & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_requires_version_1(void **state)
{
	uint64_t f = 0xdead;

	m.offered &= ~F(VIRTIO_F_VERSION_1);
	assert_int_equal(virtio_negotiate(&m.t, 0, &f), -EOPNOTSUPP);
	assert_int_equal(f, 0xdead); /* untouched on failure */
	assert_false(m.status & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_requires_access_platform(void **state)
{
	uint64_t f;

	m.offered &= ~F(VIRTIO_F_ACCESS_PLATFORM);
	assert_int_equal(virtio_negotiate(&m.t, 0, &f), -EOPNOTSUPP);
}

static void test_features_ok_must_stick(void **state)
{
	uint64_t f;

	m.reject_features = true;
	assert_int_equal(virtio_negotiate(&m.t, 0, &f), -EIO);
}

static void test_reset_waits(void **state)
{
	m.status = VIRTIO_CONFIG_S_DRIVER_OK;
	m.reset_delay = 5;
	assert_int_equal(virtio_reset(&m.t), 0);
	assert_int_equal(m.reset_delay, 0);
	assert_int_equal(m.status, 0);
}

static void test_status_accumulates(void **state)
{
	virtio_add_status(&m.t, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_add_status(&m.t, VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(m.status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_fail(&m.t);
	assert_true(m.status & VIRTIO_CONFIG_S_FAILED);
	assert_false(virtio_needs_reset(&m.t));
	m.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	assert_true(virtio_needs_reset(&m.t));
}

static void test_config_generation_retry(void **state)
{
	uint8_t buf[8];

	m.gen_changes = 3; /* three torn reads, then stable */
	assert_int_equal(virtio_config_read(&m.t, 4, buf, sizeof(buf)), 0);
	assert_int_equal(m.config_reads, 4);
	assert_int_equal(buf[0], 4);
	assert_int_equal(buf[7], 11);
}

static void test_config_generation_forever(void **state)
{
	uint8_t buf[4];

	m.gen_changes = -1; /* a hostile device changes its config on every read */
	assert_int_equal(virtio_config_read(&m.t, 0, buf, sizeof(buf)), -EIO);
}

static void test_config_bounds(void **state)
{
	uint8_t buf[32];

	assert_int_equal(virtio_config_read(&m.t, 0, buf, 16), 0);
	assert_int_equal(virtio_config_read(&m.t, 12, buf, 8), -EINVAL);
	assert_int_equal(virtio_config_read(&m.t, 17, buf, 0), -EINVAL);
	assert_int_equal(virtio_config_read(&m.t, 0xffffffffu, buf, 2), -EINVAL);
	m.t.config_len = 0; /* a device without device config (rng) */
	assert_int_equal(virtio_config_read(&m.t, 0, buf, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_negotiate_intersection, setup),
		cmocka_unit_test_setup(test_requires_version_1, setup),
		cmocka_unit_test_setup(test_requires_access_platform, setup),
		cmocka_unit_test_setup(test_features_ok_must_stick, setup),
		cmocka_unit_test_setup(test_reset_waits, setup),
		cmocka_unit_test_setup(test_status_accumulates, setup),
		cmocka_unit_test_setup(test_config_generation_retry, setup),
		cmocka_unit_test_setup(test_config_generation_forever, setup),
		cmocka_unit_test_setup(test_config_bounds, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
