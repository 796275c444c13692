// SPDX-License-Identifier: MIT
/* test_log.c - the logger: silent by default, level filter, errno left alone, level names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/log.h"

static int calls;
static enum vv_log_level last_level;
static char last_msg[512];

static void capture(void *opaque, enum vv_log_level level, const char *msg)
{
	assert_ptr_equal(opaque, &calls);
	calls++;
	last_level = level;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static void test_silent_by_default(void **state)
{
	/* VV_LOG is unset by main() before any log call, so nothing is enabled. */
	assert_false(vv_log_enabled(VV_LOG_ERR));
	log_err("nobody hears this %d", 1);
}

static void test_filter(void **state)
{
	vv_set_log_fn(capture, &calls, VV_LOG_WARN);
	calls = 0;
	log_debug("dropped");
	log_info("dropped");
	assert_int_equal(calls, 0);
	log_warn("queue %u of %s broken", 3u, "0000:00:05.0");
	assert_int_equal(calls, 1);
	assert_int_equal(last_level, VV_LOG_WARN);
	assert_string_equal(last_msg, "queue 3 of 0000:00:05.0 broken");
	log_err("e");
	assert_int_equal(calls, 2);
	vv_set_log_fn(NULL, NULL, VV_LOG_DEBUG);
	assert_false(vv_log_enabled(VV_LOG_ERR));
}

static void test_errno_preserved(void **state)
{
	vv_set_log_fn(capture, &calls, VV_LOG_DEBUG);
	errno = EBUSY;
	log_err("%s", strerror(ENOENT));
	assert_int_equal(errno, EBUSY);
	vv_set_log_fn(NULL, NULL, VV_LOG_DEBUG);
}

static void test_long_message_truncated(void **state)
{
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vv_set_log_fn(capture, &calls, VV_LOG_DEBUG);
	log_info("%s", big);
	assert_int_equal(strlen(last_msg), 511);
	vv_set_log_fn(NULL, NULL, VV_LOG_DEBUG);
}

static void test_level_parse(void **state)
{
	enum vv_log_level l = VV_LOG_ERR;

	assert_int_equal(vv_log_level_parse("debug", &l), 0);
	assert_int_equal(l, VV_LOG_DEBUG);
	assert_int_equal(vv_log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, VV_LOG_WARN);
	assert_int_equal(vv_log_level_parse("loud", &l), -EINVAL);
	assert_int_equal(l, VV_LOG_WARN); /* untouched on failure */
	assert_int_equal(vv_log_level_parse(NULL, &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_by_default),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_errno_preserved),
		cmocka_unit_test(test_long_message_truncated),
		cmocka_unit_test(test_level_parse),
	};

	unsetenv("VV_LOG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
