/* SPDX-License-Identifier: MIT */
/* escape.h - strings from outside the trust boundary, made safe to print or checked fit for a file
 * name. */
#ifndef VV_UTIL_ESCAPE_H
#define VV_UTIL_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

void escape_bytes(const char *in, char *out, size_t len);
bool escape_is_safe_name(const char *s, size_t max);

#endif /* VV_UTIL_ESCAPE_H */
