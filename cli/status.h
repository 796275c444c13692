/* SPDX-License-Identifier: MIT */
/*
 * status.h - the status endpoint of a serving process (`blk mount`, `net serve`) and what
 * `virtio-vfio status` reads from it.
 *
 * Each serving process listens on DIR/<pid>.sock (mode 0600, DIR mode 0700), DIR being
 * /run/virtio-vfio for root and $XDG_RUNTIME_DIR/virtio-vfio for anyone else. A client that
 * connects is sent one JSON document and the connection is closed: the server reads nothing,
 * so a client can make it hold nothing, and it writes with a deadline, from a thread of its
 * own that never takes a lock of the I/O path. The document:
 *
 *   { "version": 1, "pid": N, "uid": N, "command": "blk mount" | "net serve",
 *     "started": UNIX-TIME, "uptime_s": N, ...the command's members..., "devices": [...] }
 */
#ifndef VV_CLI_STATUS_H
#define VV_CLI_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

#define STATUS_SCHEMA	1 /* the "version" of every --json output: CLI_JSON_SCHEMA */
#define STATUS_MAX_DOC	(1u << 20) /* what a client reads of one answer, at most */
#define STATUS_IO_MS	1000	   /* a peer that is not done by then is dropped */
#define STATUS_DIR_ROOT "/run/virtio-vfio"
#define STATUS_DIR_USER "virtio-vfio" /* under $XDG_RUNTIME_DIR */

/* Writes the command's own members into the open document. On the status thread. */
typedef void (*status_render_fn)(struct json *j, void *ctx);

struct status_srv;

/*
 * Creates this process's socket and the thread that answers it. Returns 0 or -errno: no
 * runtime directory (-ENOENT), one that is not ours (-EPERM), ... The caller warns and
 * serves on without one.
 */
int status_srv_open(const char *command, status_render_fn render, void *ctx,
		    struct status_srv **ret_srv);
/* Stops the thread, closes and removes the socket. NULL is fine. */
void status_srv_close(struct status_srv *srv);

/* The directory of the sockets for @root (euid 0) or for this user: 0 or -ENOENT. */
int status_dir(bool root, char *buf, size_t len);

#define STATUS_MAX_DEVS 16

/* blk_status.c: `blk mount`'s endpoint, opened and closed by export_opts.serving. */
struct vv_blk;
struct export;
struct export_opts;
struct blk_status {
	struct status_srv *srv;
	struct export *ex;
	const struct export_opts *eo;
	unsigned n;
	struct vv_blk *const *blks;
	const char *const *names; /* the files' names under the mountpoint */
	char serial[STATUS_MAX_DEVS][21];
	char *mountpoint; /* absolute */
};
/* Before export_run(): what the document says that never changes (serials, the mountpoint). */
void blk_status_init(struct blk_status *bs, struct vv_blk *const *blks, const char *const *names,
		     unsigned n, const char *mountpoint, const struct export_opts *eo);
void blk_status_serving(struct export *ex, void *ctx);
void blk_status_fini(struct blk_status *bs);

/* net_status.c: `net serve`'s endpoint, open while netstack_run() runs. */
struct vv_net;
struct net_status {
	struct status_srv *srv;
	struct vv_net *net;
	const char *bdf, *cidr;
	unsigned poll_us;
};
void net_status_open(struct net_status *ns);
void net_status_close(struct net_status *ns);

#endif /* VV_CLI_STATUS_H */
