// SPDX-License-Identifier: MIT
/*
 * resolve.c - which device a fio --filename names: any name the CLI takes (host/names.h): a
 * PCI address, the kernel's name it had (vda), serial:SERIAL, a MAC. fio splits --filename at
 * ':' unless it is escaped, so users write `--filename=0000\:00\:05.0` or
 * `--filename=serial\:vvdisk0`; fio has removed the backslashes before we see the name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/names.h"
#include "util/sysfs.h"
#include "vvfio.h"

_Static_assert(VVFIO_BDF_LEN >= PCI_BDF_LEN, "a BDF fits");

int vvfio_resolve(const char *name, char bdf[VVFIO_BDF_LEN], char *why, size_t why_len)
{
	char msg[320];
	int ret = pci_name_resolve(NULL, name, bdf, msg, sizeof(msg));

	if (ret == -EINVAL)
		/* Most often a name fio cut at an unescaped colon. */
		snprintf(why, why_len,
			 "%s (fio splits file names at ':': escape each, as in "
			 "--filename=0000\\:00\\:05.0 or --filename=serial\\:SERIAL)",
			 msg);
	else if (ret)
		snprintf(why, why_len, "%s", msg);
	return ret;
}
