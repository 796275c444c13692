// SPDX-License-Identifier: MIT
/*
 * json_parse.c - a recursive-descent JSON reader (RFC 8259) into a tree of nodes. Depth is
 * bounded, every read is bounded by the length given, and the tree is as big as the text at
 * most a small factor over: the caller bounds the text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_parse.h"

struct parser {
	const char *p, *end;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool eat(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static int hex4(struct parser *ps, unsigned *ret)
{
	unsigned v = 0;

	if (ps->end - ps->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* UTF-8 of @cp into @out (room for 4); returns the bytes written. */
static size_t utf8(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string, the opening quote next; unescaped into a new NUL-terminated copy. */
static int parse_string(struct parser *ps, char **ret)
{
	const char *start, *end = ps->end, *quote;
	char *out, *o;
	unsigned cp, lo;

	if (ps->p >= ps->end || *ps->p != '"')
		return -EINVAL;
	start = ++ps->p;
	/* Unescaped text is never longer than its escaped form (\uXXXX: 6 -> at most 4 bytes). */
	while (ps->p < ps->end && *ps->p != '"')
		ps->p += *ps->p == '\\' && ps->end - ps->p > 1 ? 2 : 1;
	if (ps->p >= ps->end)
		return -EINVAL;
	out = o = malloc((size_t)(ps->p - start) + 1);
	if (!out)
		return -ENOMEM;
	quote = ps->p;
	ps->end = quote; /* for now: reads stop at the closing quote */
	ps->p = start;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		switch (*ps->p++) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (hex4(ps, &cp) || !cp)
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00) {
				/* A high surrogate takes the low one after it. */
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
					goto bad;
				ps->p += 2;
				if (hex4(ps, &lo) || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto bad;
			}
			o += utf8(cp, o);
			break;
		default:
			goto bad;
		}
	}
	*o = 0;
	ps->end = end;
	ps->p = quote + 1;
	*ret = out;
	return 0;
bad:
	ps->end = end;
	free(out);
	return -EINVAL;
}

static int parse_number(struct parser *ps, struct jnode *n)
{
	const char *s = ps->p;
	char buf[64], *end;
	size_t len;
	bool integral = true;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return -EINVAL;
	if (*ps->p == '0')
		ps->p++;
	else
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		integral = false;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -EINVAL;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integral = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -EINVAL;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	len = (size_t)(ps->p - s);
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	n->type = JNUM;
	n->d = strtod(buf, NULL);
	if (integral) {
		errno = 0;
		n->i = strtoll(buf, &end, 10);
		n->is_int = !errno;
	}
	return 0;
}

static int parse_value(struct parser *ps, struct jnode **ret);

/* The members of an object or the elements of an array, after the opening bracket. */
static int parse_container(struct parser *ps, struct jnode *n, char close)
{
	struct jnode **tail = &n->child;
	char *key = NULL;
	int ret;

	if (++ps->depth >= JSON_MAX_DEPTH)
		return -EINVAL;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (close == '}') {
			ret = parse_string(ps, &key);
			if (ret)
				return ret;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return -EINVAL;
			}
			ps->p++;
		}
		ret = parse_value(ps, tail);
		if (ret) {
			free(key);
			return ret;
		}
		(*tail)->key = key;
		key = NULL;
		tail = &(*tail)->next;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EINVAL;
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		if (*ps->p++ != ',')
			return -EINVAL;
	}
}

static int parse_value(struct parser *ps, struct jnode **ret)
{
	struct jnode *n = calloc(1, sizeof(*n));
	int err = 0;

	if (!n)
		return -ENOMEM;
	*ret = n; /* the caller frees it with its parent, parsed whole or not */
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EINVAL;
	switch (*ps->p) {
	case '{':
		ps->p++;
		n->type = JOBJ;
		err = parse_container(ps, n, '}');
		break;
	case '[':
		ps->p++;
		n->type = JARR;
		err = parse_container(ps, n, ']');
		break;
	case '"':
		n->type = JSTR;
		err = parse_string(ps, &n->str);
		break;
	case 't':
		n->type = JBOOL;
		n->b = true;
		err = eat(ps, "true") ? 0 : -EINVAL;
		break;
	case 'f':
		n->type = JBOOL;
		err = eat(ps, "false") ? 0 : -EINVAL;
		break;
	case 'n':
		err = eat(ps, "null") ? 0 : -EINVAL;
		break;
	default:
		err = parse_number(ps, n);
	}
	return err;
}

int jnode_parse(const char *text, size_t len, struct jnode **ret_node)
{
	struct parser ps = {.p = text, .end = text + len};
	struct jnode *n = NULL;
	int ret = parse_value(&ps, &n);

	skip_ws(&ps);
	if (!ret && ps.p != ps.end)
		ret = -EINVAL;
	if (ret) {
		jnode_free(n);
		return ret;
	}
	*ret_node = n;
	return 0;
}

void jnode_free(struct jnode *n)
{
	while (n) {
		struct jnode *next = n->next;

		jnode_free(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

const struct jnode *jnode_get(const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != JOBJ)
		return NULL;
	for (const struct jnode *c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

int64_t jnode_get_int(const struct jnode *obj, const char *key, int64_t def)
{
	const struct jnode *n = jnode_get(obj, key);

	return n && n->type == JNUM && n->is_int ? n->i : def;
}

const char *jnode_get_str(const struct jnode *obj, const char *key, const char *def)
{
	const struct jnode *n = jnode_get(obj, key);

	return n && n->type == JSTR ? n->str : def;
}

bool jnode_get_bool(const struct jnode *obj, const char *key, bool def)
{
	const struct jnode *n = jnode_get(obj, key);

	return n && n->type == JBOOL ? n->b : def;
}

void jnode_write(struct json *j, const struct jnode *n)
{
	if (n->key)
		json_key(j, n->key);
	switch (n->type) {
	case JNULL:
		json_null(j);
		break;
	case JBOOL:
		json_bool(j, n->b);
		break;
	case JNUM:
		if (n->is_int)
			json_int(j, n->i);
		else
			json_num(j, n->d);
		break;
	case JSTR:
		json_str(j, n->str);
		break;
	case JARR:
	case JOBJ:
		if (n->type == JARR)
			json_arr_begin(j);
		else
			json_obj_begin(j);
		for (const struct jnode *c = n->child; c; c = c->next)
			jnode_write(j, c);
		if (n->type == JARR)
			json_arr_end(j);
		else
			json_obj_end(j);
		break;
	}
}
