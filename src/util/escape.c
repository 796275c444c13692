// SPDX-License-Identifier: MIT
/* escape.c - strings from outside the trust boundary, made safe to print or checked fit for a file
 * name. */
#include <stdio.h>

#include "util/escape.h"

/*
 * Copies @in to @out (@len bytes with the NUL) with every byte that is not printable ASCII,
 * and the backslash, written as \xNN. For strings others chose: a command name (any bytes
 * through prctl(PR_SET_NAME)), a device's serial. They must not reach a root terminal as
 * escape sequences. What does not fit is cut at a whole character.
 */
void escape_bytes(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (; *in && o + 1 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			if (o + 5 > len)
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
}

/*
 * Whether @s, from outside (a disk's serial), can be a file name that every tool takes as
 * written: 1 to @max bytes of [A-Za-z0-9_+.-], not starting with a dot or a dash. No colon
 * (fio splits --filename there; tar, scp and rsync read host:path), no comma (QEMU's
 * -drive file=... options), no slash, space, quote, glob character or escape.
 */
bool escape_is_safe_name(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || s[0] == '.' || s[0] == '-')
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}
