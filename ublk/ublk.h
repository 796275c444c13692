/* SPDX-License-Identifier: MIT */
/*
 * ublk.h - exports a virtio-blk device as a Linux block device, /dev/ublkbN, through the
 * kernel's ublk driver (io_uring URING_CMD on /dev/ublk-control and /dev/ublkcN): the kernel
 * hands each block request to this process, which sends it to the device through the library.
 */
#ifndef VV_UBLK_H
#define VV_UBLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vv_blk;

#define UBLK_CONTROL_PATH  "/dev/ublk-control"
#define UBLK_DEPTH_DEFAULT 64
#define UBLK_DEPTH_MAX	   1024 /* each tag pins a buffer of the largest request */

struct ublk_export;

struct ublk_opts {
	unsigned queues;	  /* ublk queues, one per virtio queue; 0: all the device has */
	unsigned depth;		  /* tags per queue; 0: UBLK_DEPTH_DEFAULT */
	int recover_id;		  /* -1: a new device; else the ublk device to pick up */
	unsigned stop_timeout_ms; /* how long STOP_DEV may wait on the device; 0: 30 s */
	/*
	 * Called with the export once it serves (for a status endpoint: ublk_export_stats()
	 * from any thread), and with NULL before its counters go away. Optional.
	 */
	void (*serving)(struct ublk_export *ex, void *ctx);
	void *serving_ctx;
};

/* The export's counters, summed over its queues (each written by its thread alone). */
struct ublk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes; /* requests answered */
	uint64_t bytes_read, bytes_written;			 /* of those without error */
	uint64_t errors;					 /* answered with an error */
	uint64_t in_flight;					 /* taken, not yet answered */
	int id;							 /* N of /dev/ublkbN */
	unsigned queues, depth;
	bool lost, stopping;
};

/* Any thread, between opts->serving(ex) and opts->serving(NULL). */
void ublk_export_stats(const struct ublk_export *ex, struct ublk_stats *ret);

/* What a recoverable or running ublk device of ours says about itself. */
struct ublk_found {
	int id;		   /* N of /dev/ublkbN */
	unsigned queues;   /* nr_hw_queues */
	unsigned depth;	   /* queue_depth */
	unsigned state;	   /* UBLK_S_DEV_* */
	int pid;	   /* its server's pid as the kernel recorded it */
	bool server_alive; /* that pid exists */
	bool recoverable;  /* created with UBLK_F_USER_RECOVERY */
};

/*
 * Whether this kernel has ublk: 0, or -ENOENT (no /dev/ublk-control: no ublk_drv) or
 * -EACCES, with what to do in @why.
 */
int ublk_available(char *why, size_t len);

/*
 * Looks for the ublk device that serves (or served) @bdf: 1 and @ret filled when there is
 * one, 0 when there is none, or -errno.
 */
int ublk_find(const char *bdf, struct ublk_found *ret);

/* Called once /dev/ublkb@id is there and served. */
typedef void (*ublk_ready_fn)(void *ctx, int id, unsigned queues, unsigned depth);

/*
 * Creates /dev/ublkbN for @blk (opened with at least @opts->queues queues; @name its PCI
 * address, for messages) with the device's parameters, or picks up an existing one
 * (@opts->recover_id), and serves it until SIGTERM or SIGINT (then the block device is
 * removed), or the device is lost (removed, broken: I/O in flight fails with EIO and the
 * block device goes away). Prints why it fails. Returns 0, -ENODEV when the device was lost,
 * or another negative errno.
 */
int ublk_export_run(struct vv_blk *blk, const char *name, const struct ublk_opts *opts,
		    ublk_ready_fn ready, void *ready_ctx);

#endif /* VV_UBLK_H */
