/* SPDX-License-Identifier: MIT */
/*
 * ublk_int.h - the ublk export's own structures: the control channel (ctrl.c), the
 * parameters taken from the device (params.c), the queues and their threads (queue.c) and
 * the export that owns them (export.c).
 */
#ifndef VV_UBLK_INT_H
#define VV_UBLK_INT_H

#include <linux/ublk_cmd.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <virtio-vfio/virtio-vfio.h>

#include "ublk.h"

/*
 * The ioctl-encoded opcodes (UBLK_F_CMD_IOCTL_ENCODE, Linux 6.3+; the header of Debian 12's
 * linux-libc-dev predates them). Kernels built without CONFIG_BLKDEV_UBLK_LEGACY_OPCODES
 * accept only these; every kernel since 6.3 takes them, and ublk_drv decodes _IOC_NR().
 */
#define UBLK_IOC_CTRL(nr)	_IOWR('u', nr, struct ublksrv_ctrl_cmd)
#define UBLK_IOC_IO(nr)		_IOWR('u', nr, struct ublksrv_io_cmd)
/* Linux 6.16+: a started device's new size, data[0] in sectors. 6.12 answers -EOPNOTSUPP. */
#define UBLK_CMD_UPDATE_SIZE_NR 0x15

/* ublksrv_flags is kept by the driver for the server: ours names the PCI function. */
#define UBLK_VV_MAGIC		0x7676000000000000ull /* "vv" */
#define UBLK_VV_MAGIC_MASK	0xffff000000000000ull

#define SECTOR			512u
#define UBLK_MAX_IO_DEFAULT	(512u << 10) /* ublksrv's default buffer size too */

/* The control channel: /dev/ublk-control and a small ring with 128-byte SQEs. */
struct ublk_ctrl {
	int fd;
	struct io_uring ring;
	bool ring_ok;
};

int ublk_ctrl_open(struct ublk_ctrl *c);
void ublk_ctrl_close(struct ublk_ctrl *c);
/* Sends one command and waits for it (@timeout_ms < 0: forever). Returns its result. */
int ublk_ctrl_cmd(struct ublk_ctrl *c, unsigned op, uint32_t dev_id, void *buf, uint16_t len,
		  uint64_t data0, int timeout_ms);
/* Queues one command without waiting; ublk_ctrl_wait() collects its result. */
int ublk_ctrl_start(struct ublk_ctrl *c, unsigned op, uint32_t dev_id, void *buf, uint16_t len,
		    uint64_t data0);
/* Returns the result, or -ETIME after @timeout_ms (the command stays queued). */
int ublk_ctrl_wait(struct ublk_ctrl *c, int timeout_ms);
int ublk_ctrl_get_info(struct ublk_ctrl *c, uint32_t id, struct ublksrv_ctrl_dev_info *ret);
uint64_t ublk_bdf_tag(const char *bdf);

/*
 * The ublk parameters of a virtio-blk device (params.c, a pure function). @max_io is the
 * per-tag buffer size. Returns 0, or -EOPNOTSUPP when ublk cannot express the device (a
 * logical block larger than a page), with the reason in @why.
 */
int ublk_params_from_info(const struct vv_blk_info *info, uint32_t max_io, long page_size,
			  struct ublk_params *ret, char *why, size_t len);
/* The largest request worth sending in one piece: the buffer, within the device's limits. */
uint32_t ublk_max_io(const struct vv_blk_info *info);

struct ublk_export;

/* Per-queue counters, written by the queue's thread alone (relaxed), read by anyone. */
struct ublk_qstats {
	_Atomic uint64_t reads, writes, flushes, discards, write_zeroes;
	_Atomic uint64_t bytes_read, bytes_written, errors;
	_Atomic uint64_t taken; /* requests the kernel handed us */
};

/* One tag: a request the kernel handed us, in one of the stages of its life. */
struct ublk_tag {
	struct ublk_queue *uq;
	uint16_t tag;
	uint8_t op;
	bool fua;      /* write with FUA: a flush follows before the answer */
	bool flushing; /* that flush is the part in flight */
	bool waiting;  /* on the pending list: the ring had no room */
	bool closed;   /* the kernel aborted it (stop): never handed out again */
	uint32_t bytes;
	uint64_t sector;
	uint32_t nsectors;
	uint32_t flags;
};

struct ublk_queue {
	struct ublk_export *ex;
	unsigned q;
	struct io_uring ring;
	bool ring_ok;
	const struct ublksrv_io_desc *descs; /* the kernel's, read-only mapping */
	size_t descs_len;
	struct vv_dma_buf bufs; /* depth buffers of max_io bytes, one per tag */
	struct ublk_tag *tags;
	uint16_t *pending; /* tags waiting for room on the virtqueue, FIFO */
	unsigned npending, pending_head;
	unsigned dev_inflight; /* requests on the device */
	unsigned closed;       /* tags the kernel aborted */
	int irq_fd;	       /* the virtqueue's eventfd, -1: polled */
	int config_fd;	       /* queue 0: the configuration eventfd, when not irq_fd */
	int wake_fd;
	bool stopping;
	int error; /* setup failed */
	pthread_t thread;
	bool started;
	struct ublk_qstats stats;
};

struct ublk_export {
	struct vv_blk *blk;
	const struct vv_blk_info *info;
	const char *name;
	const struct ublk_opts *opts;
	struct ublk_ctrl ctrl;
	struct ublksrv_ctrl_dev_info dinfo;
	int id;
	int cdev;
	unsigned nq, depth;
	uint32_t max_io;
	int event_fd;		/* the threads tell the main thread: ready, left */
	_Atomic unsigned ready; /* queues whose tags are all fetched */
	_Atomic unsigned left;	/* queue threads that ended */
	_Atomic bool lost;
	_Atomic bool stopping;
	_Atomic uint64_t resized; /* a new capacity (sectors) for the main thread, or 0 */
	uint64_t size;		  /* what /dev/ublkbN has, in sectors */
	struct ublk_queue *queues;
};

/* queue.c */
int ublk_queue_setup(struct ublk_export *ex, struct ublk_queue *uq, unsigned q);
int ublk_queue_start(struct ublk_queue *uq);
void ublk_queue_stop(struct ublk_queue *uq);
void ublk_queue_free(struct ublk_queue *uq);

#endif /* VV_UBLK_INT_H */
