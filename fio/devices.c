// SPDX-License-Identifier: MIT
/*
 * devices.c - the devices this fio process has opened. A VFIO group serves one process, so
 * every fio job (a thread, thread=1) that names a device shares one vv_blk, opened with all
 * its queues; each job drives a queue of its own, because a queue must be driven by one
 * thread (blk.h). Reference-counted under one mutex: opening and closing are rare.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vvfio.h"

struct vvfio_dev {
	struct vvfio_dev *next;
	char bdf[VVFIO_BDF_LEN];
	struct vv_blk *blk;
	unsigned refs, nq;
	bool used[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vvfio_dev *devs;

/* A sysfs attribute of @bdf in hex, or -1. */
static long read_hex(const char *bdf, const char *attr)
{
	char path[PATH_MAX];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lx", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Whether sysfs shows a virtio-blk function at @bdf: checked before opening, so that a
 * device of another kind is refused without being touched. Returns 0 or -ENODEV with @why.
 */
static int check_type(const char *bdf, char *why, size_t len)
{
	long vendor = read_hex(bdf, "vendor"), device = read_hex(bdf, "device");
	long subsys = read_hex(bdf, "subsystem_device");
	int type;

	if (vendor < 0 || device < 0) {
		snprintf(why, len, "%s: no such PCI device (see 'virtio-vfio list')", bdf);
		return -ENODEV;
	}
	if (!vv_pci_is_virtio((uint16_t)vendor, (uint16_t)device)) {
		snprintf(why, len, "%s (%04lx:%04lx) is not a virtio device", bdf, vendor, device);
		return -ENODEV;
	}
	type = vv_pci_virtio_type((uint16_t)vendor, (uint16_t)device, (uint16_t)subsys);
	if (type != VV_VIRTIO_BLK) {
		snprintf(why, len, "%s is a virtio %s device, not blk: the engine drives disks",
			 bdf, vv_virtio_type_name(type));
		return -ENODEV;
	}
	return 0;
}

/* Why vv_blk_open() failed, in words that say what to do (device.h lists the errnos). */
static void explain(const char *bdf, int err, char *why, size_t len)
{
	switch (err) {
	case -ENOENT:
		snprintf(why, len, "%s is not bound to vfio-pci: run 'virtio-vfio attach %s' first",
			 bdf, bdf);
		break;
	case -EBUSY:
		snprintf(why, len,
			 "%s is in use by another process: a device serves one process at a time, "
			 "so run every job on it in this fio, as threads (thread=1)",
			 bdf);
		break;
	case -EACCES:
		snprintf(why, len, "%s: no permission for its VFIO group (/dev/vfio/N)", bdf);
		break;
	default:
		snprintf(why, len, "%s: cannot open as a virtio-blk device: %s", bdf,
			 strerror(-err));
	}
}

int vvfio_dev_get(const char *bdf, struct vvfio_dev **ret, char *why, size_t why_len)
{
	struct vvfio_dev *d;
	struct vv_blk *blk;
	unsigned nq;
	int err;

	pthread_mutex_lock(&lock);
	for (d = devs; d; d = d->next)
		if (!strcmp(d->bdf, bdf))
			break;
	if (d) {
		d->refs++;
		*ret = d;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	/* Under the lock: two jobs naming one device must not both open it (EBUSY). */
	err = check_type(bdf, why, why_len);
	if (err) {
		pthread_mutex_unlock(&lock);
		return err;
	}
	err = vv_blk_open(bdf, 0, &blk);
	if (err) {
		pthread_mutex_unlock(&lock);
		explain(bdf, err, why, why_len);
		return err;
	}
	nq = vv_blk_num_queues(blk);
	d = calloc(1, sizeof(*d) + nq * sizeof(d->used[0]));
	if (!d) {
		pthread_mutex_unlock(&lock);
		vv_blk_close(blk);
		snprintf(why, why_len, "%s: out of memory", bdf);
		return -ENOMEM;
	}
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->blk = blk;
	d->nq = nq;
	d->refs = 1;
	d->next = devs;
	devs = d;
	*ret = d;
	pthread_mutex_unlock(&lock);
	return 0;
}

void vvfio_dev_put(struct vvfio_dev *d)
{
	struct vvfio_dev **p;

	if (!d)
		return;
	pthread_mutex_lock(&lock);
	if (--d->refs) {
		pthread_mutex_unlock(&lock);
		return;
	}
	for (p = &devs; *p != d; p = &(*p)->next)
		;
	*p = d->next;
	pthread_mutex_unlock(&lock);
	vv_blk_close(d->blk);
	free(d);
}

struct vv_blk *vvfio_dev_blk(struct vvfio_dev *d)
{
	return d->blk;
}

const char *vvfio_dev_bdf(const struct vvfio_dev *d)
{
	return d->bdf;
}

int vvfio_queue_take(struct vvfio_dev *d, unsigned *ret_q)
{
	int err = -EBUSY;

	pthread_mutex_lock(&lock);
	for (unsigned q = 0; q < d->nq; q++) {
		if (!d->used[q]) {
			d->used[q] = true;
			*ret_q = q;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return err;
}

void vvfio_queue_give(struct vvfio_dev *d, unsigned q)
{
	pthread_mutex_lock(&lock);
	if (q < d->nq)
		d->used[q] = false;
	pthread_mutex_unlock(&lock);
}

unsigned vvfio_dev_num_queues(const struct vvfio_dev *d)
{
	return d->nq;
}
