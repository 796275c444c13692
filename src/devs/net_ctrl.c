// SPDX-License-Identifier: MIT
/* net_ctrl.c - commands on the virtio-net control queue, one at a time, waited for by polling. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_net.h>

#include "devs/net_ctrl.h"
#include "util/log.h"
#include "util/time.h"

/* Where the parts of a command live in its DMA memory. */
#define CTRL_HDR	0 /* struct virtio_net_ctrl_hdr: class, command */
#define CTRL_DATA	8 /* command-specific data */
#define CTRL_ACK	(CTRL_DATA + NET_CTRL_DATA_MAX) /* virtio_net_ctrl_ack, device-written */

#define CTRL_TIMEOUT_MS 2000

int net_ctrl_init(struct net_ctrl *c, struct vv_vq *vq, void *mem, uint64_t iova, const char *name)
{
	memset(c, 0, sizeof(*c));
	if (pthread_mutex_init(&c->lock, NULL))
		return -ENOMEM;
	c->lock_init = true;
	c->vq = vq;
	c->mem = mem;
	c->iova = iova;
	c->name = name;
	c->timeout_ms = CTRL_TIMEOUT_MS;
	/* Answers are polled for: no interrupts needed (the kernel's driver does the same). */
	vv_vq_disable_cb(vq);
	return 0;
}

void net_ctrl_fini(struct net_ctrl *c)
{
	if (c->lock_init)
		pthread_mutex_destroy(&c->lock);
	c->lock_init = false;
}

static int wait_answer(struct net_ctrl *c)
{
	int64_t deadline = (int64_t)(now_ns() / NSEC_PER_MSEC) + c->timeout_ms;
	struct timespec pause = {0, 20000};

	for (;;) {
		void *token;
		uint32_t len;
		int ret = vv_vq_get(c->vq, &token, &len);

		if (ret < 0)
			return -EIO;
		if (ret > 0)
			return 0; /* the only command in flight: token is c */
		if ((int64_t)(now_ns() / NSEC_PER_MSEC) > deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

int net_ctrl_cmd(struct net_ctrl *c, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	struct vv_sg sg[3];
	uint8_t ack;
	int ret;

	if (len > NET_CTRL_DATA_MAX || !len)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		ret = -EIO;
		goto out;
	}
	c->mem[CTRL_HDR] = cls;
	c->mem[CTRL_HDR + 1] = cmd;
	memcpy(c->mem + CTRL_DATA, data, len);
	c->mem[CTRL_ACK] = 0xff; /* neither VIRTIO_NET_OK nor VIRTIO_NET_ERR */
	sg[0] = (struct vv_sg){c->iova + CTRL_HDR, sizeof(struct virtio_net_ctrl_hdr)};
	sg[1] = (struct vv_sg){c->iova + CTRL_DATA, len};
	sg[2] = (struct vv_sg){c->iova + CTRL_ACK, sizeof(virtio_net_ctrl_ack)};
	ret = vv_vq_add(c->vq, sg, 2, 1, c);
	if (!ret)
		ret = vv_vq_kick(c->vq);
	if (!ret)
		ret = wait_answer(c);
	if (ret == -ETIMEDOUT) {
		/* The device may still write the ack later: never reuse the memory. */
		c->dead = true;
		log_err("%s: control command %u.%u never answered: control queue given up", c->name,
			cls, cmd);
		goto out;
	}
	if (ret)
		goto out;
	ack = __atomic_load_n(&c->mem[CTRL_ACK], __ATOMIC_RELAXED);
	if (ack != VIRTIO_NET_OK) {
		log_warn("%s: device refused control command %u.%u (ack %u)", c->name, cls, cmd,
			 ack);
		ret = -EIO;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}
