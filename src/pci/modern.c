// SPDX-License-Identifier: MIT
/*
 * modern.c - the virtio-pci modern registers (virtio 1.2 section 4.1.4): common config,
 * notify and device config over mapped BARs, and the transport's ops table.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "pci/vpci.h"
#include "util/log.h"
#include "util/mmio.h"
#include "util/time.h"

/* Pin the register layout we access by offset (section 4.1.4.3). */
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_status) == 20, "layout");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_select) == 22, "layout");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_notify_off) == 30, "layout");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_used_hi) == 52, "layout");

#define CC(field)	       offsetof(struct virtio_pci_common_cfg, field)
/*
 * virtio 1.2 4.1.4.3 continues the common config after queue_used_hi with queue_notify_data
 * and queue_reset (le16 each); Debian 12's UAPI header stops before them.
 */
#define CC_QUEUE_RESET	       58
#define CC_RESET_END	       60
#define QUEUE_RESET_TIMEOUT_NS (2 * NSEC_PER_SEC)

static uint8_t vpci_get_status(struct vv_transport *t)
{
	return mmio_read8(to_vpci(t)->common + CC(device_status));
}

static void vpci_set_status(struct vv_transport *t, uint8_t status)
{
	mmio_write8(to_vpci(t)->common + CC(device_status), status);
}

/* Features are read and written as two 32-bit windows chosen by the select registers. */
static uint64_t vpci_get_features(struct vv_transport *t)
{
	char *c = to_vpci(t)->common;
	uint64_t lo, hi;

	mmio_write32(c + CC(device_feature_select), 0);
	lo = mmio_read32(c + CC(device_feature));
	mmio_write32(c + CC(device_feature_select), 1);
	hi = mmio_read32(c + CC(device_feature));
	return hi << 32 | lo;
}

static void vpci_set_features(struct vv_transport *t, uint64_t features)
{
	char *c = to_vpci(t)->common;

	mmio_write32(c + CC(guest_feature_select), 0);
	mmio_write32(c + CC(guest_feature), (uint32_t)features);
	mmio_write32(c + CC(guest_feature_select), 1);
	mmio_write32(c + CC(guest_feature), (uint32_t)(features >> 32));
}

static uint8_t vpci_config_generation(struct vv_transport *t)
{
	return mmio_read8(to_vpci(t)->common + CC(config_generation));
}

/* Device config fields are read at their natural width (section 4.1.3.1). */
static void vpci_config_read(struct vv_transport *t, unsigned off, void *buf, size_t len)
{
	char *p = to_vpci(t)->device + off;
	uint8_t *out = buf;

	if (len == 2 && !(off & 1)) {
		uint16_t v = htole16(mmio_read16(p));

		memcpy(buf, &v, 2);
	} else if ((len == 4 || len == 8) && !(off & 3)) {
		for (size_t i = 0; i < len; i += 4) {
			uint32_t v = htole32(mmio_read32(p + i));

			memcpy(out + i, &v, 4);
		}
	} else {
		for (size_t i = 0; i < len; i++)
			out[i] = mmio_read8(p + i);
	}
}

static void vpci_config_write(struct vv_transport *t, unsigned off, const void *buf, size_t len)
{
	char *p = to_vpci(t)->device + off;
	const uint8_t *in = buf;

	if (len == 2 && !(off & 1)) {
		uint16_t v;

		memcpy(&v, buf, 2);
		mmio_write16(p, le16toh(v));
	} else if ((len == 4 || len == 8) && !(off & 3)) {
		for (size_t i = 0; i < len; i += 4) {
			uint32_t v;

			memcpy(&v, in + i, 4);
			mmio_write32(p + i, le32toh(v));
		}
	} else {
		for (size_t i = 0; i < len; i++)
			mmio_write8(p + i, in[i]);
	}
}

/*
 * Read live: the count may change with the features negotiated (QEMU's virtio-net adds the
 * queues of MQ only once a driver accepted MQ, and drops them when one does not), so the
 * doorbell table grows to what the device says now.
 */
static unsigned vpci_num_queues(struct vv_transport *t)
{
	struct vpci *v = to_vpci(t);
	unsigned n = mmio_read16(v->common + CC(num_queues));

	if (n > v->nq) {
		char **d = realloc(v->doorbell, n * sizeof(*d));

		if (!d)
			return v->nq;
		memset(d + v->nq, 0, (n - v->nq) * sizeof(*d));
		v->doorbell = d;
		v->nq = n;
	}
	return n;
}

static unsigned vpci_queue_max_size(struct vv_transport *t, unsigned idx)
{
	char *c = to_vpci(t)->common;

	if (idx >= to_vpci(t)->nq)
		return 0;
	mmio_write16(c + CC(queue_select), (uint16_t)idx);
	return mmio_read16(c + CC(queue_size));
}

/* Section 4.1.5.1.3: program one queue, then enable it. */
static int vpci_queue_setup(struct vv_transport *t, unsigned idx, unsigned size, uint64_t desc,
			    uint64_t avail, uint64_t used)
{
	struct vpci *v = to_vpci(t);
	uint16_t vector = vpci_queue_vector(v, idx);
	char *c = v->common;
	uint64_t off;

	if (idx >= v->nq) {
		log_err("%s: queue %u: the device has %u", t->name, idx, v->nq);
		return -EINVAL;
	}
	mmio_write16(c + CC(queue_select), (uint16_t)idx);
	if (mmio_read16(c + CC(queue_enable))) {
		log_err("%s: queue %u: enabled already: the device was not reset", t->name, idx);
		return -EBUSY;
	}
	mmio_write16(c + CC(queue_size), (uint16_t)size);
	mmio_write16(c + CC(queue_msix_vector), vector);
	/* The device reports a vector it cannot use by reading back NO_VECTOR (4.1.5.1.2). */
	if (mmio_read16(c + CC(queue_msix_vector)) != vector) {
		log_err("%s: queue %u: device refused MSI-X vector %u", t->name, idx, vector);
		return -EBUSY;
	}

	/* The doorbell must lie inside the notify region: the offset comes from the device. */
	off = (uint64_t)mmio_read16(c + CC(queue_notify_off)) * v->notify_mult;
	if (off + sizeof(uint16_t) > v->notify_len) {
		log_err("%s: queue %u doorbell at 0x%llx lies outside the notify region (0x%x)",
			t->name, idx, (unsigned long long)off, v->notify_len);
		return -EINVAL;
	}
	v->doorbell[idx] = v->notify + off;

	mmio_write64_split(c + CC(queue_desc_lo), c + CC(queue_desc_hi), desc);
	mmio_write64_split(c + CC(queue_avail_lo), c + CC(queue_avail_hi), avail);
	mmio_write64_split(c + CC(queue_used_lo), c + CC(queue_used_hi), used);
	mmio_write16(c + CC(queue_enable), 1);
	return 0;
}

/*
 * VIRTIO_F_RING_RESET: write 1 to queue_reset of the selected queue, then wait for the reset
 * to finish. Virtio 1.2's driver text says to wait for queue_reset to read back 1, its device
 * text that the device presents 1 while the reset is ongoing and 0 in both queue_reset and
 * queue_enable once it has completed; QEMU and Linux follow the latter (Linux
 * vp_modern_set_queue_reset() waits for both to read 0), and so do we: only then has the
 * device stopped using the old ring.
 */
static int vpci_queue_reset(struct vv_transport *t, unsigned idx)
{
	struct vpci *v = to_vpci(t);
	uint64_t deadline = now_ns() + QUEUE_RESET_TIMEOUT_NS;
	struct timespec pause = {0, 100000};
	char *c = v->common;

	if (idx >= v->nq || v->caps.common.length < CC_RESET_END)
		return -EOPNOTSUPP;
	mmio_write16(c + CC(queue_select), (uint16_t)idx);
	mmio_write16(c + CC_QUEUE_RESET, 1);
	while (mmio_read16(c + CC_QUEUE_RESET) || mmio_read16(c + CC(queue_enable))) {
		if (now_ns() > deadline) {
			log_err("%s: queue %u: reset not done within 2 s", t->name, idx);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

static void vpci_notify(struct vv_transport *t, unsigned idx)
{
	/* Without VIRTIO_F_NOTIFICATION_DATA the doorbell takes the queue index (4.1.5.2). */
	mmio_write16(to_vpci(t)->doorbell[idx], (uint16_t)idx);
}

int vpci_set_config_vector(struct vpci *v, uint16_t vector)
{
	mmio_write16(v->common + CC(msix_config), vector);
	return mmio_read16(v->common + CC(msix_config)) == vector ? 0 : -EBUSY;
}

const struct vv_transport_ops vpci_ops = {
	.get_status = vpci_get_status,
	.set_status = vpci_set_status,
	.get_features = vpci_get_features,
	.set_features = vpci_set_features,
	.config_generation = vpci_config_generation,
	.config_read = vpci_config_read,
	.config_write = vpci_config_write,
	.num_queues = vpci_num_queues,
	.queue_max_size = vpci_queue_max_size,
	.queue_setup = vpci_queue_setup,
	.queue_reset = vpci_queue_reset,
	.setup_irqs = vpci_setup_irqs,
	.notify = vpci_notify,
	.queue_eventfd = vpci_queue_eventfd,
	.config_eventfd = vpci_config_eventfd,
	.removal_eventfd = vpci_removal_eventfd,
	.dma_alloc = vpci_dma_alloc,
	.dma_map = vpci_dma_map,
	.dma_unmap = vpci_dma_unmap,
	.stop_dma = vpci_stop_dma,
	.pci_layout = vpci_pci_layout,
	.close = vpci_close,
};

static int map_region(struct vfio_dev *vdev, const struct vpci_region *r, char **ret)
{
	void *p;
	int err = vfio_bar_map(vdev, r->bar, r->offset, r->length, &p);

	if (!err)
		*ret = p;
	return err;
}

/*
 * Maps the register blocks the capability walk found. Every offset was checked against its
 * BAR's size by vpci_caps_parse(), so nothing here trusts the device's word.
 */
int vpci_map_registers(struct vpci *v)
{
	const struct vpci_caps *caps = &v->caps;
	unsigned n;
	int ret;

	v->notify_len = caps->notify.length;
	v->notify_mult = caps->notify_off_multiplier;
	/* The ISR is left alone: without INTx, interrupts come as MSI-X or are polled for. */
	ret = map_region(v->vdev, &caps->common, &v->common);
	if (!ret)
		ret = map_region(v->vdev, &caps->notify, &v->notify);
	if (!ret && caps->device.present)
		ret = map_region(v->vdev, &caps->device, &v->device);
	if (ret)
		return ret;
	/* Sizes the doorbell table; vpci_num_queues() grows it if the count grows later. */
	n = vpci_num_queues(&v->base);
	if (!v->doorbell)
		v->doorbell = calloc(1, sizeof(*v->doorbell));
	return v->doorbell && v->nq == n ? 0 : -ENOMEM;
}
