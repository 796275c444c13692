/* SPDX-License-Identifier: MIT */
/*
 * netframe.h - the test frames both VM net tools exchange: EtherType 0x88b5 (IEEE local
 * experimental), a sequence number, a magic word and a payload derived from both, so that
 * either side can check every byte it receives.
 */
#ifndef VV_TESTS_NETFRAME_H
#define VV_TESTS_NETFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NF_ETHERTYPE 0x88b5
#define NF_MAGIC     0x76766e66u /* "vvnf" */
#define NF_HDR	     22		 /* Ethernet header, seq, magic */

static inline uint8_t nf_byte(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 7 + i);
}

static inline void nf_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t nf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Byte @i of frame @seq from @src to @dst, @len bytes long. */
static inline uint8_t nf_frame_byte(const uint8_t dst[6], const uint8_t src[6], uint32_t seq,
				    size_t i)
{
	uint8_t h[NF_HDR];

	if (i >= NF_HDR)
		return nf_byte(seq, i);
	memcpy(h, dst, 6);
	memcpy(h + 6, src, 6);
	h[12] = NF_ETHERTYPE >> 8;
	h[13] = NF_ETHERTYPE & 0xff;
	nf_put32(h + 14, seq);
	nf_put32(h + 18, NF_MAGIC);
	return h[i];
}

static inline void nf_fill(uint8_t *p, size_t len, const uint8_t dst[6], const uint8_t src[6],
			   uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = nf_frame_byte(dst, src, seq, i);
}

static inline bool nf_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return true;
}

static inline double nf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* VV_TESTS_NETFRAME_H */
