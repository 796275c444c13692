/* SPDX-License-Identifier: MIT */
/*
 * net_ctrl.h - the virtio-net control queue (virtio 1.2 section 5.1.6.5): one command at a
 * time, answered synchronously. Knows nothing of VFIO, so the fake device serves it in tests.
 */
#ifndef VV_DEVS_NET_CTRL_H
#define VV_DEVS_NET_CTRL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtio-vfio/vq.h>

#define NET_CTRL_MEM	  1024 /* bytes of DMA memory a control queue needs */
/* Bytes of command data: an RSS configuration of 128 entries and a 255-byte key fits. */
#define NET_CTRL_DATA_MAX 528

struct net_ctrl {
	struct vv_vq *vq;
	pthread_mutex_t lock; /* one command at a time */
	uint8_t *mem;	      /* class/command, data, ack */
	uint64_t iova;
	const char *name;
	unsigned timeout_ms;
	bool dead; /* a command never came back: its memory may still be written */
	bool lock_init;
};

int net_ctrl_init(struct net_ctrl *c, struct vv_vq *vq, void *mem, uint64_t iova, const char *name);
void net_ctrl_fini(struct net_ctrl *c);

/*
 * Sends one command and waits for the device's answer (at most timeout_ms, polling).
 * Returns 0 on VIRTIO_NET_OK; -EIO if the device answered VIRTIO_NET_ERR or anything else,
 * or broke the queue; -ETIMEDOUT if it never answered (the queue is then given up);
 * -EINVAL for data longer than NET_CTRL_DATA_MAX.
 */
int net_ctrl_cmd(struct net_ctrl *c, uint8_t cls, uint8_t cmd, const void *data, uint32_t len);

#endif /* VV_DEVS_NET_CTRL_H */
