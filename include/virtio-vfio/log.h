/* SPDX-License-Identifier: MIT */
/*
 * log.h - where libvirtio-vfio's diagnostics go.
 *
 * The library never prints on its own. By default it is silent; a program installs a
 * callback with vv_set_log_fn(), or the user sets VV_LOG=err|warn|info|debug in the
 * environment to get messages on stderr without any code change.
 *
 * Thread safety: vv_set_log_fn() is meant to be called once at start-up, before other
 * threads use the library. The callback itself may be called from any thread that calls
 * into the library, so it must be thread-safe.
 */
#ifndef VIRTIO_VFIO_LOG_H
#define VIRTIO_VFIO_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Severity levels; the values match syslog(3) so a callback can pass them through. */
enum vv_log_level {
	VV_LOG_ERR = 3,
	VV_LOG_WARN = 4,
	VV_LOG_INFO = 6,
	VV_LOG_DEBUG = 7,
};

/**
 * typedef vv_log_fn - receives one diagnostic message.
 * @opaque: the pointer given to vv_set_log_fn().
 * @level: severity of the message.
 * @msg: the message, one line without a trailing newline. Valid only during the call.
 */
typedef void (*vv_log_fn)(void *opaque, enum vv_log_level level, const char *msg);

/**
 * vv_set_log_fn() - route library messages to @fn.
 * @fn: callback, or NULL to silence the library again.
 * @opaque: passed to @fn unchanged.
 * @max_level: messages less severe than this (numerically greater) are dropped
 *	before they are formatted.
 *
 * Overrides what VV_LOG selected.
 *
 * Context: call before other threads use the library.
 */
void vv_set_log_fn(vv_log_fn fn, void *opaque, enum vv_log_level max_level);

/**
 * vv_log_level_parse() - parse a level name as VV_LOG accepts it.
 * @name: "err", "error", "warn", "warning", "info" or "debug" (case-insensitive).
 * @ret_level: set to the level on success.
 *
 * Context: any.
 * Return: 0 on success, -EINVAL if @name is not a level name.
 */
int vv_log_level_parse(const char *name, enum vv_log_level *ret_level);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_LOG_H */
