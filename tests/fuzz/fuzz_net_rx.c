// SPDX-License-Identifier: MIT
/*
 * fuzz_net_rx.c - libFuzzer target: a virtio-net device that completes receive buffers with
 * arbitrary used entries, lengths and virtio-net headers (num_buffers, flags, GSO type,
 * checksum position, hash report), and frames whose first bytes the input chooses, so that the
 * offload checks (a coalesced TCP or UDP frame's headers, read from the frame) see anything.
 * The driver must hand out only frames made of buffers it posted, each
 * segment inside its buffer, pkt_len the sum of the segments; every buffer must be
 * accounted for (free, posted or handed out) at every step; and a protocol violation must
 * break the queue. Never crash, never loop.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "devs/net_queue.h"
#include "virtqueue/vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NUM	  8
#define NBUFS	  24
#define BUF	  2048
#define RING_IOVA 0x100000ULL
#define POOL_IOVA 0x800000ULL
#define FRAME	  64 /* bytes of frame the input gives, after each buffer's header */
#define STEP	  32 /* bytes of input per device step */

static void no_notify(void *ctx, unsigned index)
{
}

/* The buffer of pool @p at device address @iova, or NULL. */
static uint8_t *buf_at(struct net_pool *p, uint8_t *pool_mem, uint64_t iova)
{
	if (iova < POOL_IOVA || iova - POOL_IOVA >= (uint64_t)p->count * BUF)
		return NULL;
	return pool_mem + (iova - POOL_IOVA);
}

static void check_frame(struct net_pool *p, struct vv_net_buf *f)
{
	uint64_t total = 0;
	unsigned n = 0;

	for (struct vv_net_buf *s = f; s; s = s->next) {
		struct net_buf *b = (struct net_buf *)s;

		if (b < p->bufs || b >= p->bufs + p->count || b->state != NB_APP ||
		    s->data < b->base || s->len > s->room || s->data + s->len > b->base + BUF ||
		    ++n > NUM)
			__builtin_trap();
		total += s->len;
	}
	if (total != f->pkt_len || total < 14)
		__builtin_trap();
	/* What the offloads report lies inside the frame and was negotiated. */
	if ((f->flags & VV_NET_BUF_F_CSUM_PARTIAL) &&
	    (uint64_t)f->csum_start + f->csum_offset + 2 > total)
		__builtin_trap();
	if (f->gso_type && (!f->gso_size || !f->hdr_len || f->hdr_len >= total ||
			    !(f->flags & VV_NET_BUF_F_CSUM_PARTIAL)))
		__builtin_trap();
	if (f->hash_type > VV_NET_HASH_UDPV6_EX)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ring[4 * 4096] __attribute__((aligned(4096)));
	static uint8_t pool_mem[NBUFS * BUF] __attribute__((aligned(4096)));
	struct vq_config cfg = {.name = "fuzz", .num = NUM, .notify = no_notify};
	struct vq_dma dma = {.vaddr = ring, .iova = RING_IOVA, .len = sizeof(ring)};
	struct net_qstats st = {0};
	struct net_pool pool;
	struct net_rxq rx;
	struct vring_desc *desc;
	struct vring_used *used;
	struct vv_vq *vq;
	uint8_t owner;
	int ret;

	/*
	 * data[0]: EVENT_IDX, MRG_RXBUF, GUEST_CSUM, the largest frame; data[1]: GUEST_TSO4/6 and
	 * GUEST_USO (every coalesced kind), HASH_REPORT; then the frame's first bytes.
	 */
	if (size < 2 + FRAME)
		return 0;
	cfg.event_idx = data[0] & 1;
	memset(ring, 0, sizeof(ring));
	if (vq_split_create(&cfg, &dma, &vq))
		__builtin_trap();
	if (net_pool_init(&pool, pool_mem, POOL_IOVA, NBUFS, BUF, 0, &owner, "fuzz") ||
	    net_rxq_init(&rx, vq, &pool, &st, data[0] & 2, data[0] & 4, 1518 + (data[0] >> 4) * 600,
			 NUM))
		__builtin_trap();
	if (data[1] & 1)
		rx.gso_ok = NET_GSO_BIT(VV_NET_GSO_TCPV4) | NET_GSO_BIT(VV_NET_GSO_TCPV6) |
			    NET_GSO_BIT(VV_NET_GSO_UDP_L4);
	if (data[1] & 2) {
		/* As net.c: the header grows by the hash, the buffers' headroom with it. */
		rx.hash_report = true;
		rx.hdr_len = pool.headroom = sizeof(struct virtio_net_hdr_v1_hash);
	}
	if (net_rxq_refill(&rx))
		__builtin_trap();
	desc = (void *)ring;
	used = (void *)(ring + (vq_used_iova(vq) - RING_IOVA)); /* 4-aligned (2.7) */

	/*
	 * Each step plays the device: a used entry (slot, id, len) and index, and a virtio-net
	 * header written into the buffer the id's descriptor points to; then a receive burst.
	 */
	for (size_t pos = 2 + FRAME; pos + STEP <= size; pos += STEP) {
		const uint8_t *s = data + pos;
		struct vv_net_buf *out[NUM];
		uint16_t slot, idx;
		uint32_t id, len;
		uint8_t *b;

		memcpy(&slot, s, 2);
		memcpy(&id, s + 2, 4);
		memcpy(&len, s + 6, 4);
		memcpy(&idx, s + 10, 2);
		len %= BUF + 16; /* mostly plausible lengths, some just past the buffer */
		used->ring[slot % NUM].id = id;
		used->ring[slot % NUM].len = len;
		used->idx = idx;
		b = buf_at(&pool, pool_mem, desc[id % NUM].addr);
		if (b) {
			/* header: flags, gso, csum, num_buffers (and the hash); the frame */
			memcpy(b, s + 12, rx.hdr_len);
			memcpy(b + rx.hdr_len, data + 2, FRAME);
		}
		ret = net_rxq_burst(&rx, out, NUM);
		if (ret < 0 && !vv_vq_is_broken(vq))
			__builtin_trap();
		for (int i = 0; i < ret; i++)
			check_frame(&pool, out[i]);
		/* Every buffer is somewhere: free, on the ring, handed out or in assembly. */
		{
			unsigned held = 0, asm_n = 0;

			for (int i = 0; i < ret; i++)
				for (struct vv_net_buf *x = out[i]; x; x = x->next)
					held++;
			for (struct net_buf *x = rx.head; x; x = (struct net_buf *)x->pub.next)
				asm_n++;
			if (net_pool_nfree(&pool) + rx.posted + held + asm_n != NBUFS)
				__builtin_trap();
		}
		for (int i = 0; i < ret; i++)
			net_pool_put_chain((struct net_buf *)out[i]);
		if (vv_vq_is_broken(vq))
			break;
	}
	net_rxq_fini(&rx);
	net_pool_fini(&pool);
	vq_destroy(vq);
	return 0;
}
