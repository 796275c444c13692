// SPDX-License-Identifier: MIT
/* virtio.c - reset, status sequence, feature negotiation and config generations (virtio 1.2 ch. 3).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "core/virtio.h"
#include "util/log.h"
#include "util/time.h"

/* How long a device may take to come out of reset before we call it dead. */
#define RESET_TIMEOUT_NS (2 * NSEC_PER_SEC)
/* Config generation retries before the device is deemed to change its config forever. */
#define CONFIG_RETRIES	 64

/*
 * Section 4.1.4.3.2: write 0 to device_status, then wait until it reads back 0: only then
 * has the device stopped using the old rings and may memory be reused.
 */
int virtio_reset(struct vv_transport *t)
{
	uint64_t deadline = now_ns() + RESET_TIMEOUT_NS;
	struct timespec pause = {0, 100000};

	t->ops->set_status(t, 0);
	while (t->ops->get_status(t) != 0) {
		if (now_ns() > deadline) {
			log_err("%s: device did not complete reset within 2 s", t->name);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

void virtio_add_status(struct vv_transport *t, uint8_t bits)
{
	t->ops->set_status(t, t->ops->get_status(t) | bits);
}

/* Section 3.1.1: tell the device we gave up on it. */
void virtio_fail(struct vv_transport *t)
{
	virtio_add_status(t, VIRTIO_CONFIG_S_FAILED);
}

bool virtio_needs_reset(struct vv_transport *t)
{
	return t->ops->get_status(t) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/*
 * Section 3.1.1 steps 4-6: accept the offered features we know, write them, set FEATURES_OK
 * and read it back: a device that clears it rejected the combination.
 * @driver_features: bits the driver understands; VIRTIO_REQUIRED_FEATURES are always asked for.
 * Returns 0; -EOPNOTSUPP when the device lacks a required feature (legacy-only, or a device
 * that bypasses the IOMMU); -EIO when the device refused FEATURES_OK.
 */
/* What the public header spells in numbers, checked against the kernel's names. */
_Static_assert(VV_RING_FEATURES ==
		       ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			(1ULL << VIRTIO_F_RING_PACKED) | (1ULL << VIRTIO_F_IN_ORDER) |
			(1ULL << VIRTIO_F_RING_RESET)),
	       "VV_RING_FEATURES");

int virtio_negotiate(struct vv_transport *t, uint64_t driver_features, uint64_t *ret_features)
{
	uint64_t offered = t->ops->get_features(t);
	uint64_t wanted = driver_features | VIRTIO_REQUIRED_FEATURES;
	uint64_t features = offered & wanted;

	if (!(offered & (1ULL << VIRTIO_F_VERSION_1))) {
		log_err("%s: device does not offer VIRTIO_F_VERSION_1 (legacy-only device)",
			t->name);
		return -EOPNOTSUPP;
	}
	if (!(offered & (1ULL << VIRTIO_F_ACCESS_PLATFORM))) {
		/* Without it the device DMAs to physical addresses and ignores our IOVAs. */
		log_err("%s: device does not offer VIRTIO_F_ACCESS_PLATFORM, so it would bypass the "
			"IOMMU (QEMU: iommu_platform=on)",
			t->name);
		return -EOPNOTSUPP;
	}
	t->ops->set_features(t, features);
	virtio_add_status(t, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(t->ops->get_status(t) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		log_err("%s: device rejected features 0x%llx", t->name,
			(unsigned long long)features);
		return -EIO;
	}
	log_debug("%s: features offered 0x%llx, negotiated 0x%llx", t->name,
		  (unsigned long long)offered, (unsigned long long)features);
	*ret_features = features;
	return 0;
}

/*
 * Section 2.5.1: a config read that spans more than one access is consistent only if
 * config_generation is the same before and after it.
 * Returns 0; -EINVAL if [off, off + len) is outside the device's config; -EIO if the
 * generation never settles.
 */
int virtio_config_read(struct vv_transport *t, unsigned off, void *buf, size_t len)
{
	if (off > t->config_len || len > t->config_len - off)
		return -EINVAL;
	for (int i = 0; i < CONFIG_RETRIES; i++) {
		uint8_t gen = t->ops->config_generation(t);

		t->ops->config_read(t, off, buf, len);
		if (t->ops->config_generation(t) == gen)
			return 0;
	}
	log_err("%s: device config keeps changing (generation never settles)", t->name);
	return -EIO;
}
