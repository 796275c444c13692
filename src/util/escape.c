// SPDX-License-Identifier: MIT
/* escape.c - strings from outside the trust boundary, made safe to print. */
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
