/* SPDX-License-Identifier: MIT */
/*
 * json_parse.h - a small JSON reader for what `status` gets from the status sockets: a tree of
 * nodes, bounded in depth (JSON_MAX_DEPTH) and by the text it is given, and written back out
 * with the JSON writer. What a socket sends is untrusted: anything malformed is refused whole.
 */
#ifndef VV_CLI_JSON_PARSE_H
#define VV_CLI_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

enum jtype { JNULL, JBOOL, JNUM, JSTR, JARR, JOBJ };

struct jnode {
	enum jtype type;
	char *key;   /* the member's name, in an object; else NULL */
	char *str;   /* JSTR: NUL-terminated (a \u0000 in the text is refused) */
	bool b;	     /* JBOOL */
	bool is_int; /* JNUM: an integer that fits int64_t (in i); else only d */
	int64_t i;
	double d;
	struct jnode *child; /* JARR, JOBJ: the first element or member */
	struct jnode *next;  /* the next sibling */
};

/* Parses @len bytes (one value, whitespace around it). Returns 0, -EINVAL or -ENOMEM. */
int jnode_parse(const char *text, size_t len, struct jnode **ret_node);
void jnode_free(struct jnode *n);

/* An object's member by name, or NULL; NULL @obj, or not an object: NULL. */
const struct jnode *jnode_get(const struct jnode *obj, const char *key);
/* A member's value, or @def when it is missing or of another type. */
int64_t jnode_get_int(const struct jnode *obj, const char *key, int64_t def);
const char *jnode_get_str(const struct jnode *obj, const char *key, const char *def);
bool jnode_get_bool(const struct jnode *obj, const char *key, bool def);

/* Writes @n (its key too, in an object) with the JSON writer. */
void jnode_write(struct json *j, const struct jnode *n);

#endif /* VV_CLI_JSON_PARSE_H */
