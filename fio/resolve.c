// SPDX-License-Identifier: MIT
/*
 * resolve.c - which device a fio --filename names. Today: a PCI address, "0000:00:05.0" or
 * "00:05.0", as the CLI accepts. fio splits --filename at ':' unless it is escaped, so users
 * write `--filename=0000\:00\:05.0`; fio has removed the backslashes before we see the name.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vvfio.h"

int vvfio_resolve(const char *name, char bdf[VVFIO_BDF_LEN], char *why, size_t why_len)
{
	unsigned dom = 0, bus, dev, fn;
	size_t len = strlen(name);
	int n = -1;

	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)name[i]) && name[i] != ':' && name[i] != '.')
			goto bad;
	if (len == 12)
		sscanf(name, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n);
	else if (len == 7)
		sscanf(name, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n);
	if (n < 0 || (size_t)n != len || dev > 0x1f || fn > 7)
		goto bad;
	snprintf(bdf, VVFIO_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	snprintf(why, why_len,
		 "'%s' is not a PCI address (expected 0000:00:05.0 or 00:05.0; fio needs its "
		 "colons escaped: --filename=0000\\:00\\:05.0)",
		 name);
	return -EINVAL;
}
