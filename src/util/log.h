/* SPDX-License-Identifier: MIT */
/*
 * log.h - the library's one logger, behind vv_set_log_fn().
 *
 * The layer that decides an operation failed logs it, once; callers up the stack only pass
 * the errno on. Messages name the object they are about (BDF, queue) so that a log of
 * several devices stays readable.
 */
#ifndef VV_UTIL_LOG_H
#define VV_UTIL_LOG_H

#include <stdbool.h>

#include <virtio-vfio/log.h>

#include "util/compiler.h"

bool vv_log_enabled(enum vv_log_level level);
void vv_log(enum vv_log_level level, const char *fmt, ...) VV_PRINTF(2, 3);

/* The level check comes first so that disabled messages cost no formatting. */
#define vv_log_at(level, ...)                        \
	do {                                         \
		if (unlikely(vv_log_enabled(level))) \
			vv_log(level, __VA_ARGS__);  \
	} while (0)

#define log_err(...)   vv_log_at(VV_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  vv_log_at(VV_LOG_WARN, __VA_ARGS__)
#define log_info(...)  vv_log_at(VV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vv_log_at(VV_LOG_DEBUG, __VA_ARGS__)

#endif /* VV_UTIL_LOG_H */
