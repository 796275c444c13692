/* SPDX-License-Identifier: MIT */
/* escape.h - strings from outside the trust boundary, made safe to print. */
#ifndef VV_UTIL_ESCAPE_H
#define VV_UTIL_ESCAPE_H

#include <stddef.h>

void escape_bytes(const char *in, char *out, size_t len);

#endif /* VV_UTIL_ESCAPE_H */
