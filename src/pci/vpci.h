/* SPDX-License-Identifier: MIT */
/*
 * vpci.h - the virtio-pci modern transport over a VFIO device, shared by its two halves:
 * vpci.c (opening the function, the interrupt plan, DMA, removal; like Linux's
 * virtio_pci_common.c) and modern.c (the register blocks and the ops table; like
 * virtio_pci_modern_dev.c). Callers above see only struct vv_transport.
 */
#ifndef VV_PCI_VPCI_H
#define VV_PCI_VPCI_H

#include "core/transport.h"
#include "pci/caps.h"
#include "pci/pci_transport.h"
#include "util/compiler.h"
#include "vfio/vfio.h"

struct vpci {
	struct vv_transport base;
	char bdf[PCI_BDF_LEN];
	struct vfio_dev *vdev;
	struct vpci_caps caps;

	/* modern.c: the register blocks, mapped from the BARs */
	char *common;
	char *device;
	char *notify;
	uint32_t notify_len;
	uint32_t notify_mult;
	unsigned nq;
	char **doorbell; /* per queue, set by queue_setup */

	/* vpci.c: the interrupt plan */
	enum vv_irq_mode irq_mode;
};

static inline struct vpci *to_vpci(struct vv_transport *t)
{
	return container_of(t, struct vpci, base);
}

/* vpci.c (and vpci_open() in pci_transport.h) */
int vpci_setup_irqs(struct vv_transport *t, unsigned nq, enum vv_irq_mode *ret_mode);
uint16_t vpci_queue_vector(const struct vpci *v, unsigned idx);
int vpci_queue_eventfd(struct vv_transport *t, unsigned idx);
int vpci_config_eventfd(struct vv_transport *t);
int vpci_removal_eventfd(struct vv_transport *t);
int vpci_dma_alloc(struct vv_transport *t, size_t len, unsigned access, void **ret_vaddr,
		   uint64_t *ret_iova);
int vpci_dma_map(struct vv_transport *t, void *vaddr, size_t len, unsigned access,
		 uint64_t *ret_iova);
void vpci_dma_unmap(struct vv_transport *t, void *vaddr);
void vpci_stop_dma(struct vv_transport *t);
int vpci_pci_layout(struct vv_transport *t, struct vv_pci_layout *ret_layout);
void vpci_close(struct vv_transport *t);

/* modern.c */
extern const struct vv_transport_ops vpci_ops;
int vpci_map_registers(struct vpci *v);
/* Routes configuration changes to MSI-X @vector; -EBUSY if the device refused it. */
int vpci_set_config_vector(struct vpci *v, uint16_t vector);

#endif /* VV_PCI_VPCI_H */
