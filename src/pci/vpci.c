// SPDX-License-Identifier: MIT
/*
 * vpci.c - the virtio-pci transport over VFIO: opens the function, checks what it is, finds
 * and maps its registers, and gives the core what the platform provides: the MSI-X vector
 * plan, DMA memory, the removal notice and a way to stop the device's DMA.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include <virtio-vfio/ids.h>
#include <virtio-vfio/mem.h>

#include "util/sysfs.h"
#include "pci/vpci.h"
#include "util/log.h"

/* Identity from config space: a virtio function, and which type. */
static int read_identity(struct vpci *v)
{
	uint16_t id[2], subsys;
	int ret = vfio_cfg_read(v->vdev, PCI_VENDOR_ID, id, sizeof(id));

	if (!ret)
		ret = vfio_cfg_read(v->vdev, PCI_SUBSYSTEM_ID, &subsys, sizeof(subsys));
	if (ret)
		return ret;
	v->base.type = vv_pci_virtio_type(le16toh(id[0]), le16toh(id[1]), le16toh(subsys));
	if (v->base.type <= 0) {
		log_err("%s: %04x:%04x is not a virtio device", v->bdf, le16toh(id[0]),
			le16toh(id[1]));
		return -ENODEV;
	}
	return 0;
}

/* Config space through VFIO, then the capability walk: nothing is mapped before it. */
static int find_caps(struct vpci *v)
{
	uint64_t bar_size[PCI_NUM_BARS];
	uint8_t cfg[256];
	char err[256];
	int ret = vfio_cfg_read(v->vdev, 0, cfg, sizeof(cfg));

	if (ret) {
		log_err("%s: cannot read config space: %s", v->bdf, strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		bar_size[i] = v->vdev->bar[i].present ? v->vdev->bar[i].size : 0;
	ret = vpci_caps_parse(cfg, sizeof(cfg), bar_size, &v->caps, err, sizeof(err));
	if (ret)
		log_err("%s: %s", v->bdf, err);
	return ret;
}

int vpci_open(const char *bdf, struct vv_transport **ret_t)
{
	struct vpci *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	/* Strictly: it ends up in sysfs paths. */
	if (pci_bdf_parse(bdf, v->bdf)) {
		log_err("'%s' is not a PCI address (expected 0000:00:05.0 or 00:05.0)", bdf);
		free(v);
		return -EINVAL;
	}
	if (pci_sysfs_exists(NULL, v->bdf)) {
		log_err("%s: no such PCI device", v->bdf);
		free(v);
		return -ENODEV;
	}
	v->base.ops = &vpci_ops;
	v->base.name = v->bdf;
	ret = vfio_dev_open(v->bdf, &v->vdev);
	if (!ret)
		ret = read_identity(v);
	if (ret)
		goto err;
	/* Root-bus devices have no FLR; the virtio reset the core does is the one that counts. */
	if (vfio_dev_reset(v->vdev) == 0)
		log_debug("%s: function reset", v->bdf);
	/* vfio-pci clears Bus Master on open; without it the device cannot reach our rings. */
	ret = vfio_set_bus_master(v->vdev, true);
	if (!ret)
		ret = find_caps(v);
	if (!ret)
		ret = vpci_map_registers(v);
	if (ret)
		goto err;
	v->base.config_len = v->caps.device.present ? v->caps.device.length : 0;
	*ret_t = &v->base;
	return 0;
err:
	vpci_close(&v->base);
	return ret;
}

void vpci_close(struct vv_transport *t)
{
	struct vpci *v = to_vpci(t);

	if (!t)
		return;
	if (v->vdev)
		vfio_set_bus_master(v->vdev, false);
	/* Closes the device fd before the IOMMU: vfio-pci stops the device, then DMA goes. */
	vfio_dev_close(v->vdev);
	free(v->doorbell);
	free(v);
}

/*
 * The vector plan: vector 0 for config changes and one per queue when the device has
 * @nq + 1; otherwise vector 0 for config and vector 1 shared by all queues (or vector 0 for
 * everything when there is only one); with no MSI-X, polling. All vectors are enabled in one
 * call before the device is told about any (VFIO's MSI-X is NORESIZE; 4.1.5.1.2).
 */
int vpci_setup_irqs(struct vv_transport *t, unsigned nq, enum vv_irq_mode *ret_mode)
{
	struct vpci *v = to_vpci(t);
	unsigned max = v->vdev->msix_max;
	unsigned want = max >= nq + 1 ? nq + 1 : max >= 2 ? 2 : max;
	int ret;

	v->irq_mode = max >= nq + 1 ? VV_IRQ_PER_QUEUE : max ? VV_IRQ_SHARED : VV_IRQ_POLL;
	*ret_mode = v->irq_mode;
	if (v->irq_mode == VV_IRQ_POLL) {
		log_info("%s: no MSI-X vectors: completions must be polled", v->bdf);
		return 0;
	}
	if (v->irq_mode == VV_IRQ_SHARED)
		log_info("%s: %u MSI-X vectors for %u queues: queues share one", v->bdf, max, nq);
	ret = vfio_msix_enable(v->vdev, want);
	if (ret)
		return ret;
	ret = vpci_set_config_vector(v, 0);
	if (ret)
		log_err("%s: device refused MSI-X vector 0 for config changes", v->bdf);
	return ret;
}

uint16_t vpci_queue_vector(const struct vpci *v, unsigned idx)
{
	switch (v->irq_mode) {
	case VV_IRQ_PER_QUEUE:
		return (uint16_t)(idx + 1);
	case VV_IRQ_SHARED:
		return v->vdev->msix_count > 1 ? 1 : 0;
	case VV_IRQ_POLL:
		break;
	}
	return VIRTIO_MSI_NO_VECTOR;
}

int vpci_queue_eventfd(struct vv_transport *t, unsigned idx)
{
	struct vpci *v = to_vpci(t);
	uint16_t vector = vpci_queue_vector(v, idx);

	return vector < v->vdev->msix_count ? v->vdev->msix_fds[vector] : -1;
}

int vpci_config_eventfd(struct vv_transport *t)
{
	struct vpci *v = to_vpci(t);

	return v->vdev->msix_count ? v->vdev->msix_fds[0] : -1;
}

int vpci_removal_eventfd(struct vv_transport *t)
{
	return to_vpci(t)->vdev->req_fd;
}

int vpci_dma_alloc(struct vv_transport *t, size_t len, unsigned access, void **ret_vaddr,
		   uint64_t *ret_iova)
{
	return vfio_dma_alloc(to_vpci(t)->vdev->iommu, len, access, ret_vaddr, ret_iova);
}

int vpci_dma_map(struct vv_transport *t, void *vaddr, size_t len, unsigned access,
		 uint64_t *ret_iova)
{
	return vfio_dma_register(to_vpci(t)->vdev->iommu, vaddr, len, access, ret_iova);
}

void vpci_dma_unmap(struct vv_transport *t, void *vaddr)
{
	vfio_dma_free(to_vpci(t)->vdev->iommu, vaddr);
}

/* Bus Master off: the function can no longer read or write memory, whatever it wants. */
void vpci_stop_dma(struct vv_transport *t)
{
	vfio_set_bus_master(to_vpci(t)->vdev, false);
}

static struct vv_pci_region pub_region(const struct vpci_region *r)
{
	return (struct vv_pci_region){r->present, r->bar, r->offset, r->length};
}

int vpci_pci_layout(struct vv_transport *t, struct vv_pci_layout *ret_layout)
{
	const struct vpci_caps *c = &to_vpci(t)->caps;

	*ret_layout = (struct vv_pci_layout){
		.common = pub_region(&c->common),
		.notify = pub_region(&c->notify),
		.isr = pub_region(&c->isr),
		.device = pub_region(&c->device),
		.notify_off_multiplier = c->notify_off_multiplier,
	};
	if (c->msix.present) {
		ret_layout->msix_vectors = c->msix.table_size;
		ret_layout->msix_table = (struct vv_pci_region){
			true, c->msix.table_bar, c->msix.table_offset, c->msix.table_size * 16u};
		ret_layout->msix_pba =
			(struct vv_pci_region){true, c->msix.pba_bar, c->msix.pba_offset,
					       (c->msix.table_size + 63u) / 64 * 8};
	}
	return 0;
}
