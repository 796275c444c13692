// SPDX-License-Identifier: MIT
/* fake_blk.c - a RAM disk behind the fake device side: header, data, status last (5.2.6). */
#include <endian.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "fake_blk.h"

/* Whether [off, off + len) lies on the disk, without overflowing. */
static bool on_disk(uint64_t off, uint64_t len)
{
	return off <= sizeof(((struct fake_disk *)0)->data) &&
	       len <= sizeof(((struct fake_disk *)0)->data) - off;
}

uint32_t fake_disk_serve(void *ctx, struct fake_seg *s, int n)
{
	struct fake_disk *d = ctx;
	struct virtio_blk_outhdr h;
	uint8_t *status;
	uint64_t off;
	uint32_t written = 1;
	int data = n - 2;

	if (n < 2 || s[0].len < sizeof(h) || !s[n - 1].write || !s[n - 1].len)
		return 0; /* no header or no status byte: nothing to answer in */
	status = s[n - 1].p;
	d->requests++;
	memcpy(&h, s[0].p, sizeof(h));
	if (le32toh(h.type) == VIRTIO_BLK_T_IN || le32toh(h.type) == VIRTIO_BLK_T_OUT) {
		uint64_t bytes = 0;

		for (int i = 1; i < n - 1; i++)
			bytes += s[i].len;
		if (bytes > d->max_data_bytes)
			d->max_data_bytes = bytes;
	}
	off = le64toh(h.sector) * 512;
	if ((unsigned)data > d->max_data_segs)
		d->max_data_segs = (unsigned)data;
	*status = VIRTIO_BLK_S_OK;
	switch (le32toh(h.type)) {
	case VIRTIO_BLK_T_IN:
		for (int i = 1; i < n - 1; i++) {
			if (le64toh(h.sector) > UINT64_MAX / 512 || !on_disk(off, s[i].len) ||
			    !s[i].write) {
				*status = VIRTIO_BLK_S_IOERR;
				return 1;
			}
			memcpy(s[i].p, d->data + off, s[i].len);
			off += s[i].len;
			written += s[i].len;
		}
		break;
	case VIRTIO_BLK_T_OUT:
		for (int i = 1; i < n - 1; i++) {
			if (le64toh(h.sector) > UINT64_MAX / 512 || !on_disk(off, s[i].len)) {
				*status = VIRTIO_BLK_S_IOERR;
				return 1;
			}
			memcpy(d->data + off, s[i].p, s[i].len);
			off += s[i].len;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (n < 3 || s[1].len < 20 || !s[1].write) {
			*status = VIRTIO_BLK_S_IOERR;
			return 1;
		}
		memcpy(s[1].p, "fake-serial-0123", 16);
		memset(s[1].p + 16, 0, 4);
		written += 20;
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
	case VIRTIO_BLK_T_DISCARD: {
		struct virtio_blk_discard_write_zeroes r;
		uint64_t at, len;

		if (n < 3 || s[1].len < sizeof(r)) {
			*status = VIRTIO_BLK_S_IOERR;
			return 1;
		}
		memcpy(&r, s[1].p, sizeof(r));
		d->last_wz_flags = le32toh(r.flags);
		at = le64toh(r.sector);
		len = le32toh(r.num_sectors) * 512ull;
		if (at > UINT64_MAX / 512 || !on_disk(at * 512, len)) {
			*status = VIRTIO_BLK_S_IOERR;
			return 1;
		}
		if (le32toh(h.type) == VIRTIO_BLK_T_WRITE_ZEROES)
			memset(d->data + at * 512, 0, len);
		break;
	}
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
	}
	if (d->force_status)
		*status = d->force_status;
	return written;
}
