/* SPDX-License-Identifier: MIT */
/* json.h - a small streaming JSON writer for the CLI's --json output. */
#ifndef VV_CLI_JSON_H
#define VV_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_int(struct json *j, int64_t v);
void json_num(struct json *j, double v); /* three decimals */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value in one call, for the common case. A NULL string is written as null. */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_num(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, bool v);

#endif /* VV_CLI_JSON_H */
