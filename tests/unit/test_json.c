// SPDX-License-Identifier: MIT
/* test_json.c - the CLI's JSON writer: nesting, commas, empty containers, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
