/* SPDX-License-Identifier: MIT */
/*
 * export.h - exports virtio-blk devices over FUSE: MOUNTPOINT/<NAME> is a regular file whose
 * size is the device's capacity; reads and writes become virtio-blk requests.
 */
#ifndef VV_FUSE_EXPORT_H
#define VV_FUSE_EXPORT_H

#include <stdbool.h>

struct vv_blk;

struct export_opts {
	bool read_only;
	bool allow_other;
	unsigned queues;	  /* per device; 0: all */
	unsigned stop_timeout_ms; /* after stop, how long I/O in flight may take; 0: 30 s */
	int channel_fd;		  /* with no mountpoint: a FUSE channel to serve (tests) */
};

/*
 * Mounts @n already opened devices (@bdfs their PCI addresses, for messages) on @mountpoint as
 * files named @files (NULL: by their BDFs), and serves requests until
 * it is unmounted or SIGTERM/SIGINT arrives; then lets in-flight I/O finish (a device that
 * does not answer within opts->stop_timeout_ms is aborted), flushes and returns.
 * With @mountpoint NULL it serves opts->channel_fd instead, as if it were /dev/fuse: a
 * peer that speaks the kernel's side of the protocol, one message per read and write.
 * @ready is called once the mount is usable (to release a waiting parent).
 * Returns 0, or a negative errno after printing why.
 */
int export_run(struct vv_blk **blks, const char *const *bdfs, const char *const *files, unsigned n,
	       const char *mountpoint, const struct export_opts *opts, void (*ready)(void *ctx),
	       void *ready_ctx);

#endif /* VV_FUSE_EXPORT_H */
