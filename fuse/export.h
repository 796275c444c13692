/* SPDX-License-Identifier: MIT */
/*
 * export.h - exports virtio-blk devices over FUSE: MOUNTPOINT/<NAME> is a regular file whose
 * size is the device's capacity; reads and writes become virtio-blk requests.
 */
#ifndef VV_FUSE_EXPORT_H
#define VV_FUSE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

struct vv_blk;
struct export;

struct export_opts {
	bool read_only;
	bool allow_other;
	const char *fsname;	  /* the mount's source in /proc/mounts; NULL: "virtio-vfio" */
	unsigned queues;	  /* per device; 0: all */
	unsigned stop_timeout_ms; /* after stop, how long I/O in flight may take; 0: 30 s */
	int channel_fd;		  /* with no mountpoint: a FUSE channel to serve (tests) */
	/*
	 * Called with the export once its counters exist and before it serves (for a status
	 * endpoint: export_stats() from any thread), and with NULL after its last request
	 * was answered, before they go away. Optional.
	 */
	void (*serving)(struct export *ex, void *ctx);
	void *serving_ctx;
};

/*
 * One device's counters, summed over the workers. Each worker writes its own (relaxed
 * stores, no lock), so a sum taken while I/O runs may be a few requests apart from itself.
 */
struct export_dev_stats {
	uint64_t reads, writes, flushes, fallocates; /* FUSE requests answered, by kind */
	uint64_t bytes_read, bytes_written;	     /* of those answered without error */
	uint64_t errors;			     /* answered with an error */
	uint64_t in_flight;			     /* FUSE requests taken, not yet answered */
	uint64_t dev_in_flight;			     /* device requests queued, not completed */
	uint64_t size_bytes;
	bool lost; /* aborted: removed, needing a reset, broke the rules, or no answer after stop */
};

/* Any thread, between opts->serving(ex) and opts->serving(NULL). */
unsigned export_workers(const struct export *ex);
bool export_stopping(const struct export *ex);
void export_stats(const struct export *ex, unsigned dev, struct export_dev_stats *ret);

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
