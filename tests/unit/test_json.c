// SPDX-License-Identifier: MIT
/*
 * test_json.c - the CLI's JSON writer (nesting, commas, empty containers, escaping), its reader
 * (what `status` reads from sockets: round trips, and malformed text refused whole), and a
 * status socket answering one document.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "json_parse.h"
#include "status.h"

static char *render(void (*fn)(struct json *j))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	assert_non_null(f);
	json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void doc_nested(struct json *j)
{
	json_obj_begin(j);
	json_kv_int(j, "version", 1);
	json_key(j, "devices");
	json_arr_begin(j);
	json_obj_begin(j);
	json_kv_str(j, "bdf", "0000:00:05.0");
	json_kv_str(j, "driver", NULL);
	json_kv_bool(j, "in_use", true);
	json_key(j, "names");
	json_arr_begin(j);
	json_arr_end(j);
	json_obj_end(j);
	json_arr_end(j);
	json_obj_end(j);
}

static void test_nested(void **state)
{
	char *s = render(doc_nested);

	assert_string_equal(s, "{\n"
			       "  \"version\": 1,\n"
			       "  \"devices\": [\n"
			       "    {\n"
			       "      \"bdf\": \"0000:00:05.0\",\n"
			       "      \"driver\": null,\n"
			       "      \"in_use\": true,\n"
			       "      \"names\": []\n"
			       "    }\n"
			       "  ]\n"
			       "}\n");
	free(s);
}

static void doc_escapes(struct json *j)
{
	json_arr_begin(j);
	json_str(j, "a\"b\\c\n\t\x01/é");
	json_int(j, -42);
	json_arr_end(j);
}

static void test_escapes(void **state)
{
	char *s = render(doc_escapes);

	assert_string_equal(s, "[\n  \"a\\\"b\\\\c\\n\\t\\u0001/é\",\n  -42\n]\n");
	free(s);
}

static const struct jnode *parsed;

static void doc_parsed(struct json *j)
{
	jnode_write(j, parsed);
}

/* Parsed and written again, a document the writer made reads the same. */
static void test_parse_round_trip(void **state)
{
	char *a = render(doc_nested), *b;
	struct jnode *n;

	assert_int_equal(jnode_parse(a, strlen(a), &n), 0);
	parsed = n;
	b = render(doc_parsed);
	assert_string_equal(a, b);
	assert_int_equal(jnode_get_int(n, "version", -1), 1);
	assert_int_equal(jnode_get_int(n, "missing", -1), -1);
	assert_null(jnode_get_str(n, "version", NULL)); /* not a string */
	jnode_free(n);
	free(a);
	free(b);
}

static void test_parse_values(void **state)
{
	static const char text[] =
		" {\"s\": \"a\\\"\\u00e9\\ud83d\\ude00\\n\", \"i\": -9007199254740993,"
		" \"big\": 18446744073709551616, \"d\": 1.5e3, \"t\": true,"
		" \"f\": false, \"z\": null, \"a\": [1, [], {}]} ";
	struct jnode *n;
	const struct jnode *a;

	assert_int_equal(jnode_parse(text, strlen(text), &n), 0);
	assert_string_equal(jnode_get_str(n, "s", NULL), "a\"\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(jnode_get_int(n, "i", 0), -9007199254740993LL);
	assert_false(jnode_get(n, "big")->is_int); /* does not fit: a double only */
	assert_true(jnode_get(n, "d")->d == 1500.0);
	assert_true(jnode_get_bool(n, "t", false));
	assert_false(jnode_get_bool(n, "f", true));
	assert_int_equal(jnode_get(n, "z")->type, JNULL);
	a = jnode_get(n, "a");
	assert_int_equal(a->type, JARR);
	assert_int_equal(a->child->i, 1);
	assert_int_equal(a->child->next->type, JARR);
	assert_int_equal(a->child->next->next->type, JOBJ);
	assert_null(a->child->next->next->next);
	jnode_free(n);
}

/* What a broken or hostile peer may send: refused, nothing leaked (ASan), nothing read past. */
static void test_parse_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[1,]",
		"{\"a\" 1}",
		"{\"a\":}",
		"{1: 2}",
		"[1 2]",
		"\"abc",
		"\"a\\\"",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u0000\"",
		"\"\\udc00\"",
		"\"\\ud800x\"",
		"\"a\nb\"",
		"tru",
		"nul",
		"01",
		"-",
		"1.",
		"1e",
		"+1",
		"[1] [2]",
		"{\"a\": [}",
		"\"\\",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jnode *n = (struct jnode *)&n;

		if (jnode_parse(bad[i], strlen(bad[i]), &n) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_ptr_equal(n, (struct jnode *)&n); /* untouched on failure */
	}
	/* The length given bounds the read: the text after it is not looked at. */
	{
		struct jnode *n;

		assert_int_equal(jnode_parse("[1]garbage", 3, &n), 0);
		jnode_free(n);
	}
}

static void render_test(struct json *j, void *ctx)
{
	json_kv_int(j, "answer", *(int *)ctx);
}

/* A status socket answers one document with the common members and the command's own. */
static void test_status_socket(void **state)
{
	char dir[] = "/tmp/vv-status-test.XXXXXX", path[100], buf[4096];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct status_srv *srv;
	struct jnode *n;
	struct stat st;
	size_t len = 0;
	ssize_t got;
	int fd, answer = 42;

	assert_non_null(mkdtemp(dir));
	chmod(dir, 0700);
	setenv("VV_STATUS_DIR", dir, 1);
	assert_int_equal(status_srv_open("test", render_test, &answer, &srv), 0);
	snprintf(path, sizeof(path), "%s/%d.sock", dir, (int)getpid());
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (int round = 0; round < 2; round++) {
		len = 0;
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		while ((got = read(fd, buf + len, sizeof(buf) - len)) > 0)
			len += (size_t)got;
		close(fd);
		assert_int_equal(jnode_parse(buf, len, &n), 0);
		assert_int_equal(jnode_get_int(n, "version", 0), STATUS_SCHEMA);
		assert_int_equal(jnode_get_int(n, "pid", 0), getpid());
		assert_string_equal(jnode_get_str(n, "command", ""), "test");
		assert_int_equal(jnode_get_int(n, "answer", 0), 42);
		assert_true(jnode_get_int(n, "uptime_s", -1) >= 0);
		jnode_free(n);
	}
	status_srv_close(srv);
	assert_int_not_equal(stat(path, &st), 0); /* removed */
	unsetenv("VV_STATUS_DIR");
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),		 cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_parse_round_trip), cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_refused),	 cmocka_unit_test(test_status_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
