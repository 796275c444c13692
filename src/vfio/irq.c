// SPDX-License-Identifier: MIT
/* irq.c - MSI-X vectors delivered on eventfds through VFIO_DEVICE_SET_IRQS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "util/log.h"
#include "vfio/vfio.h"

/*
 * Enables @count vectors, each signalling its own eventfd (dev->msix_fds[i]).
 * VFIO's MSI-X is NORESIZE: the first enable fixes the vector count, so all vectors go in one
 * call, and this must happen before the device is told which vector to use (virtio 1.2
 * section 4.1.5.1.2: the device refuses a vector while MSI-X is off).
 */
int vfio_msix_enable(struct vfio_dev *dev, unsigned count)
{
	struct vfio_irq_set *set;
	size_t sz = sizeof(*set) + count * sizeof(int32_t);
	int ret = 0;

	if (!count || count > dev->msix_max)
		return -EINVAL;
	if (dev->msix_count)
		return -EBUSY;
	dev->msix_fds = calloc(count, sizeof(int));
	set = calloc(1, sz);
	if (!dev->msix_fds || !set) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < count; i++)
		dev->msix_fds[i] = -1;
	for (unsigned i = 0; i < count; i++) {
		dev->msix_fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dev->msix_fds[i] < 0) {
			ret = -errno;
			goto out;
		}
		memcpy(set->data + i * sizeof(int32_t), &dev->msix_fds[i], sizeof(int32_t));
	}
	*set = (struct vfio_irq_set){
		.argsz = (uint32_t)sz,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.start = 0,
		.count = count,
	};
	if (ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set)) {
		ret = -errno;
		log_err("%s: enabling %u MSI-X vectors failed: %s", dev->bdf, count,
			strerror(-ret));
		goto out;
	}
	dev->msix_count = count;
out:
	free(set);
	if (ret && dev->msix_fds) {
		for (unsigned i = 0; i < count; i++)
			if (dev->msix_fds[i] >= 0)
				close(dev->msix_fds[i]);
		free(dev->msix_fds);
		dev->msix_fds = NULL;
	}
	return ret;
}

void vfio_msix_disable(struct vfio_dev *dev)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.count = 0,
	};

	if (!dev->msix_count)
		return;
	ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, &set);
	for (unsigned i = 0; i < dev->msix_count; i++)
		close(dev->msix_fds[i]);
	free(dev->msix_fds);
	dev->msix_fds = NULL;
	dev->msix_count = 0;
}
