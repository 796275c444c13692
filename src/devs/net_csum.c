// SPDX-License-Identifier: MIT
/*
 * net_csum.c - completing a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM semantics) over a
 * frame held in a chain of segments, for received frames and for sends the device does not
 * offload.
 */
#include <errno.h>
#include <stdint.h>

#include "devs/net_queue.h"

/* Byte @at of the frame, across segments; NULL past the end. */
static uint8_t *frame_byte(struct vv_net_buf *b, uint32_t at)
{
	for (; b; b = b->next) {
		if (at < b->len)
			return b->data + at;
		at -= b->len;
	}
	return NULL;
}

/*
 * RFC 1071 ones' complement sum of bytes [start, total). Big-endian 16-bit words of the
 * frame, which may break anywhere between segments: @odd tracks whether the next byte is the
 * low half of a word.
 */
static uint32_t sum_frame(struct vv_net_buf *b, uint32_t start, uint32_t total)
{
	uint64_t sum = 0;
	uint32_t pos = 0;
	bool odd = false;

	for (; b && pos < total; pos += b->len, b = b->next) {
		uint32_t from = start > pos ? start - pos : 0;
		uint32_t to = b->len < total - pos ? b->len : total - pos;

		for (uint32_t i = from; i < to; i++) {
			sum += odd ? b->data[i] : (uint32_t)b->data[i] << 8;
			odd = !odd;
		}
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

int net_csum_complete(struct vv_net_buf *head, uint32_t total, uint32_t start, uint32_t offset)
{
	uint8_t *hi, *lo;
	uint16_t csum;

	if (start > total || offset > total - start || total - start - offset < 2)
		return -EINVAL;
	hi = frame_byte(head, start + offset);
	lo = frame_byte(head, start + offset + 1);
	if (!hi || !lo)
		return -EINVAL;
	csum = (uint16_t)~sum_frame(head, start, total);
	/* 0 and 0xffff are the same in ones' complement; UDP reserves 0 for "none" (RFC 768). */
	if (!csum)
		csum = 0xffff;
	*hi = (uint8_t)(csum >> 8);
	*lo = (uint8_t)csum;
	return 0;
}
