// SPDX-License-Identifier: MIT
/* info.c - VFIO's variable-size info replies: fetching them whole, and walking their capabilities.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vfio/vfio.h"

/*
 * Issues a VFIO *_GET_INFO @request whose argument starts with the u32 argsz: @query
 * (@query_len bytes, argsz filled in here) is the fixed part. When the kernel needs more room
 * for capabilities it says so in argsz; ask again with that much. Returns a malloc'd reply
 * whose argsz is its usable length, or NULL with *@ret_err set.
 */
void *vfio_info_get(int fd, unsigned long request, const void *query, uint32_t query_len,
		    int *ret_err)
{
	uint32_t argsz = query_len;

	for (int tries = 0; tries < 4; tries++) {
		uint8_t *buf = calloc(1, argsz);
		uint32_t need;

		if (!buf) {
			*ret_err = -ENOMEM;
			return NULL;
		}
		memcpy(buf, query, query_len);
		memcpy(buf, &argsz, sizeof(argsz));
		if (ioctl(fd, request, buf)) {
			*ret_err = -errno;
			free(buf);
			return NULL;
		}
		memcpy(&need, buf, sizeof(need));
		if (need <= argsz)
			return buf;
		argsz = need; /* capabilities did not fit */
		free(buf);
	}
	*ret_err = -EOVERFLOW;
	return NULL;
}

/*
 * Finds capability @id in the chain of an info reply (@info, @argsz bytes, first capability
 * at @first). Returns its offset, or 0 when absent. The kernel does not align capabilities
 * to their fields' sizes, so everything is read with memcpy, never through a struct pointer.
 */
uint32_t vfio_info_cap_find(const void *info, uint32_t argsz, uint32_t first, uint16_t id)
{
	struct vfio_info_cap_header h;
	unsigned hops = 0;

	for (uint32_t off = first; off && off + sizeof(h) <= argsz && hops++ < 64; off = h.next) {
		memcpy(&h, (const char *)info + off, sizeof(h));
		if (h.id == id)
			return off;
	}
	return 0;
}
