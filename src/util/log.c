// SPDX-License-Identifier: MIT
/* log.c - routes library diagnostics to the user's callback, or to stderr when VV_LOG says so. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "util/log.h"

static struct {
	vv_log_fn fn;
	void *opaque;
	enum vv_log_level max;
} logger = {.fn = NULL, .max = VV_LOG_ERR};

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
/* Set once vv_set_log_fn() ran, so a late first read of VV_LOG cannot undo it. */
static bool explicit_fn;

static void log_stderr(void *opaque, enum vv_log_level level, const char *msg)
{
	static const char *const tag[] = {
		[VV_LOG_ERR] = "error",
		[VV_LOG_WARN] = "warning",
		[VV_LOG_INFO] = "info",
		[VV_LOG_DEBUG] = "debug",
	};
	const char *t = (unsigned)level < ARRAY_SIZE(tag) && tag[level] ? tag[level] : "log";

	fprintf(stderr, "libvirtio-vfio: %s: %s\n", t, msg);
}

static void log_init_from_env(void)
{
	const char *v = getenv("VV_LOG");
	enum vv_log_level level;

	if (explicit_fn || !v || !*v)
		return;
	if (vv_log_level_parse(v, &level) < 0)
		level = VV_LOG_DEBUG; /* VV_LOG=1 and friends: the user wants to see everything */
	logger.fn = log_stderr;
	logger.opaque = NULL;
	logger.max = level;
}

VV_EXPORT int vv_log_level_parse(const char *name, enum vv_log_level *ret_level)
{
	static const struct {
		const char *name;
		enum vv_log_level level;
	} names[] = {
		{"err", VV_LOG_ERR},	  {"error", VV_LOG_ERR}, {"warn", VV_LOG_WARN},
		{"warning", VV_LOG_WARN}, {"info", VV_LOG_INFO}, {"debug", VV_LOG_DEBUG},
	};

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*ret_level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

VV_EXPORT void vv_set_log_fn(vv_log_fn fn, void *opaque, enum vv_log_level max_level)
{
	explicit_fn = true;
	logger.fn = fn;
	logger.opaque = opaque;
	logger.max = max_level;
}

bool vv_log_enabled(enum vv_log_level level)
{
	pthread_once(&env_once, log_init_from_env);
	return logger.fn && level <= logger.max;
}

void vv_log(enum vv_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int saved_errno = errno; /* logging must not disturb a caller that reads errno next */

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logger.fn(logger.opaque, level, msg);
	errno = saved_errno;
}
