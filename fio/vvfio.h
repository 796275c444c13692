/* SPDX-License-Identifier: MIT */
/*
 * vvfio.h - what the fio engine's files share: the process-wide table of opened devices
 * (one vv_blk per device, shared by every fio thread that names it, one queue per job) and
 * the device-name resolver. No fio header here: devices.c and resolve.c know nothing of fio.
 */
#ifndef VVFIO_H
#define VVFIO_H

#include <stdbool.h>
#include <stddef.h>

#include <virtio-vfio/virtio-vfio.h>

#define VVFIO_BDF_LEN 13 /* "0000:00:05.0" and its NUL */

struct vvfio_dev;

/*
 * Resolves a --filename (after fio's `\:` unescaping) to a PCI address in the kernel's
 * spelling. The one place that knows which device names the engine accepts.
 * Returns 0, or -EINVAL after writing why into @why.
 */
int vvfio_resolve(const char *name, char bdf[VVFIO_BDF_LEN], char *why, size_t why_len);

/*
 * Takes a reference on the device at @bdf, opening it with all its queues the first time.
 * On failure writes a sentence for the user into @why. Returns 0 or -errno.
 */
int vvfio_dev_get(const char *bdf, struct vvfio_dev **ret, char *why, size_t why_len);
/* Drops a reference; the last one closes the device. */
void vvfio_dev_put(struct vvfio_dev *d);
struct vv_blk *vvfio_dev_blk(struct vvfio_dev *d);
const char *vvfio_dev_bdf(const struct vvfio_dev *d);
/* Reserves a queue no other job drives; -EBUSY when all are taken. */
int vvfio_queue_take(struct vvfio_dev *d, unsigned *ret_q);
void vvfio_queue_give(struct vvfio_dev *d, unsigned q);
unsigned vvfio_dev_num_queues(const struct vvfio_dev *d);

#endif /* VVFIO_H */
