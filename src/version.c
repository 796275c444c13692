// SPDX-License-Identifier: MIT
/* version.c - the library's version (version.h), for programs that check what they loaded. */
#include <virtio-vfio/virtio-vfio.h>

#include "util/compiler.h"

VV_EXPORT const char *vv_version(void)
{
	return VV_VERSION;
}
