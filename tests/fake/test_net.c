// SPDX-License-Identifier: MIT
/*
 * test_net.c - the virtio-net queue layer against the fake device: receive headers
 * (NEEDS_CSUM, DATA_VALID, GSO), merged buffers and num_buffers bounds, transmit headers in
 * the headroom or a header slot, checksum offload or software fill, invalid frames, the
 * control queue, and the pool's counters after long runs. A hostile device must give -EIO.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_net.h>

#include "devs/net_ctrl.h"
#include "devs/net_queue.h"
#include "fake_ring.h"

#define BUF_SIZE   2048
#define NBUFS	   128
#define MAX_SCRIPT 16

/* What the fake device writes into the next receive buffers, one entry per buffer. */
struct rx_script {
	struct {
		uint8_t bytes[BUF_SIZE];
		uint32_t len;
	} e[MAX_SCRIPT];
	unsigned n, next;
	unsigned served;
};

/* What the fake device saw on the transmit queue. */
struct tx_seen {
	uint8_t bytes[16384]; /* readable segments, concatenated */
	uint32_t len;
	unsigned segs, first_len, frames;
};

struct t {
	struct fake_mem mem;
	struct fake_ring rxdev, txdev, ctrldev;
	struct vv_vq *rxvq, *txvq, *ctrlvq;
	struct net_pool pool;
	struct net_qstats st;
	struct net_rxq rx;
	struct net_txq tx;
	unsigned mtu;
	struct rx_script script;
	struct tx_seen seen;
	uint8_t owner;
};

static void notify(void *ctx, unsigned idx)
{
	struct fake_ring *r = ctx;

	if (r)
		fake_ring_kick(r); /* threaded mode only; otherwise the test processes */
}

/* A driver ring and the fake device's view of it, in the shared fake memory. */
static struct vv_vq *make_ring(struct t *t, struct fake_ring *dev, unsigned index, unsigned num,
			       bool indirect, bool threaded)
{
	struct vq_config cfg = {
		.name = "fake-net",
		.index = index,
		.num = num,
		.event_idx = true,
		.indirect = indirect,
		.indirect_max = indirect ? 32 : 0,
		.weak_barriers = true,
		.notify = notify,
		.notify_ctx = threaded ? dev : NULL,
	};
	struct vq_dma dma;
	struct vv_vq *vq;

	dma.len = vq_split_mem_size(&cfg);
	dma.vaddr = fake_mem_alloc(&t->mem, dma.len, 4096, &dma.iova);
	assert_non_null(dma.vaddr);
	assert_int_equal(vq_split_create(&cfg, &dma, &vq), 0);
	fake_ring_init(dev, &t->mem, num, true, vq_desc_iova(vq), vq_avail_iova(vq),
		       vq_used_iova(vq));
	return vq;
}

static uint32_t rx_serve(void *ctx, struct fake_seg *s, int n)
{
	struct rx_script *sc = ctx;
	uint32_t len;

	assert_int_equal(n, 1);
	assert_true(s[0].write);
	sc->served++;
	if (sc->next < sc->n) {
		len = sc->e[sc->next].len;
		memcpy(s[0].p, sc->e[sc->next].bytes, len);
		sc->next++;
		return len;
	}
	/* Nothing scripted: a 60-byte frame of 0xee with a plain header. */
	memset(s[0].p, 0, NET_HDR_LEN);
	s[0].p[10] = 1; /* num_buffers = 1 */
	memset(s[0].p + NET_HDR_LEN, 0xee, 60);
	return NET_HDR_LEN + 60;
}

static uint32_t tx_serve(void *ctx, struct fake_seg *s, int n)
{
	struct tx_seen *seen = ctx;

	seen->len = 0;
	seen->segs = (unsigned)n;
	seen->first_len = s[0].len;
	seen->frames++;
	for (int i = 0; i < n; i++) {
		assert_false(s[i].write);
		assert_true(seen->len + s[i].len <= sizeof(seen->bytes));
		memcpy(seen->bytes + seen->len, s[i].p, s[i].len);
		seen->len += s[i].len;
	}
	return 0;
}

struct cfg {
	bool mrg, guest_csum, csum, indirect;
	unsigned fill, ring;
};

static struct t *setup_t(struct cfg c)
{
	struct t *t = calloc(1, sizeof(*t));
	uint64_t iova, hiova;
	void *mem, *hdrs;

	assert_non_null(t);
	assert_int_equal(fake_mem_create(&t->mem, 8u << 20), 0);
	if (!c.ring)
		c.ring = 32;
	t->rxvq = make_ring(t, &t->rxdev, 0, c.ring, c.indirect, false);
	t->txvq = make_ring(t, &t->txdev, 1, c.ring, c.indirect, false);
	t->rxdev.handler = rx_serve;
	t->rxdev.handler_ctx = &t->script;
	t->txdev.handler = tx_serve;
	t->txdev.handler_ctx = &t->seen;
	mem = fake_mem_alloc(&t->mem, (size_t)NBUFS * BUF_SIZE, 4096, &iova);
	hdrs = fake_mem_alloc(&t->mem, net_txq_hdr_mem(c.ring), 4096, &hiova);
	assert_non_null(mem);
	assert_non_null(hdrs);
	assert_int_equal(net_pool_init(&t->pool, mem, iova, NBUFS, BUF_SIZE, 8, &t->owner, "fake"),
			 0);
	t->mtu = 1500;
	assert_int_equal(net_rxq_init(&t->rx, t->rxvq, &t->pool, &t->st, c.mrg, c.guest_csum,
				      9000 + 18, c.fill ? c.fill : 8),
			 0);
	assert_int_equal(
		net_txq_init(&t->tx, t->txvq, &t->pool, &t->st, c.csum, &t->mtu, hdrs, hiova), 0);
	assert_int_equal(net_rxq_refill(&t->rx), 0);
	return t;
}

static void teardown_t(struct t *t)
{
	net_rxq_fini(&t->rx);
	net_txq_fini(&t->tx);
	net_pool_fini(&t->pool);
	vq_destroy(t->rxvq);
	vq_destroy(t->txvq);
	if (t->ctrlvq)
		vq_destroy(t->ctrlvq);
	fake_mem_destroy(&t->mem);
	free(t);
}

/* Scripts one receive buffer: a header (only if @hdr) and @len bytes of @data. */
static void script(struct t *t, const struct virtio_net_hdr_v1 *hdr, const uint8_t *data,
		   uint32_t len)
{
	struct rx_script *sc = &t->script;
	uint32_t off = 0;

	assert_true(sc->n < MAX_SCRIPT);
	if (hdr) {
		memcpy(sc->e[sc->n].bytes, hdr, NET_HDR_LEN);
		off = NET_HDR_LEN;
	}
	assert_true(off + len <= BUF_SIZE);
	memcpy(sc->e[sc->n].bytes + off, data, len);
	sc->e[sc->n].len = off + len;
	sc->n++;
}

static struct virtio_net_hdr_v1 hdr(uint8_t flags, uint16_t nbufs)
{
	struct virtio_net_hdr_v1 h = {.flags = flags, .num_buffers = htole16(nbufs)};

	return h;
}

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

/* Receives everything the device has; frees all frames except the first, returned. */
static struct vv_net_buf *rx_first(struct t *t, int *ret_n)
{
	struct vv_net_buf *f[64];
	int n;

	fake_ring_process(&t->rxdev);
	n = net_rxq_burst(&t->rx, f, 64);
	*ret_n = n;
	if (n <= 0)
		return NULL;
	for (int i = 1; i < n; i++)
		net_pool_put_chain((struct net_buf *)f[i]);
	return f[0];
}

static void assert_pool_idle(struct t *t)
{
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - t->rx.posted);
	assert_int_equal(t->st.tx_inflight, 0);
	assert_int_equal(t->st.rx_posted, t->rx.posted);
}

static void test_rx_plain(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 8});
	struct virtio_net_hdr_v1 h = hdr(0, 1);
	uint8_t data[100];
	struct vv_net_buf *f;
	int n;

	assert_int_equal(t->rx.posted, 8);
	pattern(data, sizeof(data), 1);
	script(t, &h, data, sizeof(data));
	f = rx_first(t, &n);
	assert_int_equal(n, 8); /* ours and 7 fillers */
	assert_non_null(f);
	assert_int_equal(f->len, 100);
	assert_int_equal(f->pkt_len, 100);
	assert_null(f->next);
	assert_memory_equal(f->data, data, 100);
	assert_int_equal(f->flags, 0);
	assert_non_null(f->priv);
	assert_int_equal(t->rx.posted, 8); /* refilled */
	net_pool_put_chain((struct net_buf *)f);
	assert_pool_idle(t);
	assert_int_equal(t->st.rx_packets, 8);
	assert_int_equal(t->st.rx_bytes, 100 + 7 * 60);
	teardown_t(t);
}

static void test_rx_merged(void **state)
{
	struct t *t = setup_t((struct cfg){.mrg = true, .fill = 8});
	struct virtio_net_hdr_v1 h = hdr(0, 3);
	static uint8_t data[5000];
	struct vv_net_buf *f;
	uint32_t first = BUF_SIZE - NET_HDR_LEN;
	int n;

	pattern(data, sizeof(data), 7);
	script(t, &h, data, first);
	script(t, NULL, data + first, BUF_SIZE);
	script(t, NULL, data + first + BUF_SIZE, 5000 - first - BUF_SIZE);
	f = rx_first(t, &n);
	assert_int_equal(n, 6); /* the merged frame and 5 fillers */
	assert_int_equal(f->pkt_len, 5000);
	assert_int_equal(f->len, first);
	assert_memory_equal(f->data, data, first);
	assert_non_null(f->next);
	assert_int_equal(f->next->len, BUF_SIZE);
	assert_memory_equal(f->next->data, data + first, BUF_SIZE);
	assert_non_null(f->next->next);
	assert_int_equal(f->next->next->len, 5000 - first - BUF_SIZE);
	assert_null(f->next->next->next);
	net_pool_put_chain((struct net_buf *)f);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_hostile_num_buffers(void **state)
{
	uint16_t bad[] = {0, 9, 0xffff};

	for (unsigned i = 0; i < 3; i++) {
		struct t *t = setup_t((struct cfg){.mrg = true, .fill = 8});
		struct virtio_net_hdr_v1 h = hdr(0, bad[i]);
		uint8_t data[64] = {0};
		struct vv_net_buf *f[8];

		/* 9 buffers claimed with 8 posted; 0 is never a valid count. */
		script(t, &h, data, sizeof(data));
		fake_ring_process(&t->rxdev);
		assert_int_equal(net_rxq_burst(&t->rx, f, 8), -EIO);
		assert_true(vv_vq_is_broken(t->rxvq));
		assert_int_equal(net_rxq_burst(&t->rx, f, 8), -EIO);
		teardown_t(t);
	}
}

static void test_rx_hostile_short(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 4});
	struct vv_net_buf *f[8];
	uint8_t five[5] = {0};

	script(t, NULL, five, 5); /* shorter than the header */
	fake_ring_process(&t->rxdev);
	assert_int_equal(net_rxq_burst(&t->rx, f, 8), -EIO);
	assert_true(vv_vq_is_broken(t->rxvq));
	teardown_t(t);

	/* A used length beyond the buffer: the ring layer catches it. */
	t = setup_t((struct cfg){.fill = 4});
	{
		struct virtio_net_hdr_v1 h = hdr(0, 1);
		static uint8_t full[BUF_SIZE];

		script(t, &h, full, BUF_SIZE - NET_HDR_LEN);
	}
	t->rxdev.hostile = FAKE_BAD_LEN;
	fake_ring_process(&t->rxdev);
	assert_int_equal(net_rxq_burst(&t->rx, f, 8), -EIO);
	teardown_t(t);
}

static void test_rx_mrg_ignored_without_feature(void **state)
{
	/* Without MRG_RXBUF num_buffers means nothing: a frame is one buffer. */
	struct t *t = setup_t((struct cfg){.fill = 4});
	struct virtio_net_hdr_v1 h = hdr(0, 7);
	uint8_t data[80];
	struct vv_net_buf *f;
	int n;

	pattern(data, sizeof(data), 3);
	script(t, &h, data, sizeof(data));
	f = rx_first(t, &n);
	assert_int_equal(n, 4);
	assert_int_equal(f->pkt_len, 80);
	assert_null(f->next);
	net_pool_put_chain((struct net_buf *)f);
	teardown_t(t);
}

/* An Ethernet + IPv4 + UDP frame with the UDP checksum field holding the pseudo sum. */
static uint32_t udp_frame(uint8_t *p, uint32_t payload, uint16_t *ret_pseudo)
{
	uint32_t udp_len = 8 + payload, sum = 0;

	memset(p, 0, 42 + payload);
	memset(p, 0xff, 6);
	p[6] = 2;
	p[12] = 0x08; /* IPv4 */
	p[14] = 0x45;
	p[16] = (uint8_t)((20 + udp_len) >> 8);
	p[17] = (uint8_t)(20 + udp_len);
	p[22] = 64;
	p[23] = 17; /* UDP */
	memcpy(p + 26, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
	p[34] = 0x12, p[35] = 0x34, p[36] = 0x00, p[37] = 0x07;
	p[38] = (uint8_t)(udp_len >> 8);
	p[39] = (uint8_t)udp_len;
	pattern(p + 42, payload, 9);
	/* pseudo header: addresses, protocol, UDP length */
	for (int i = 26; i < 34; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	sum += 17 + udp_len;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	*ret_pseudo = (uint16_t)sum;
	p[40] = (uint8_t)(sum >> 8);
	p[41] = (uint8_t)sum;
	return 42 + payload;
}

/* Independent check: the ones' complement sum over pseudo header and UDP is all ones. */
static bool udp_csum_ok(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0, udp_len = len - 34;

	for (int i = 26; i < 34; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	sum += 17 + udp_len;
	for (uint32_t i = 34; i < len; i++)
		sum += (i - 34) % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static void copy_frame(struct vv_net_buf *f, uint8_t *out)
{
	for (uint32_t off = 0; f; off += f->len, f = f->next)
		memcpy(out + off, f->data, f->len);
}

static void test_rx_needs_csum(void **state)
{
	struct t *t = setup_t((struct cfg){.guest_csum = true, .fill = 4});
	struct virtio_net_hdr_v1 h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 1);
	uint8_t frame[300], out[300];
	struct vv_net_buf *f;
	uint16_t pseudo;
	uint32_t len = udp_frame(frame, 201, &pseudo); /* odd length */
	int n;

	h.csum_start = htole16(34);
	h.csum_offset = htole16(6);
	assert_false(udp_csum_ok(frame, len));
	script(t, &h, frame, len);
	f = rx_first(t, &n);
	assert_int_equal(n, 4);
	assert_true(f->flags & VV_NET_BUF_F_CSUM_VALID);
	copy_frame(f, out);
	assert_true(udp_csum_ok(out, len));
	assert_int_equal(t->st.rx_csum_completed, 1);
	net_pool_put_chain((struct net_buf *)f);

	/* A checksum position outside the frame: dropped, counted, nothing written. */
	h.csum_start = htole16((uint16_t)(len - 1));
	h.csum_offset = htole16(6);
	script(t, &h, frame, len);
	f = rx_first(t, &n);
	assert_int_equal(n, 3); /* fillers only */
	assert_int_equal(f->pkt_len, 60);
	net_pool_put_chain((struct net_buf *)f);
	assert_int_equal(t->st.rx_dropped, 1);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_needs_csum_merged(void **state)
{
	/* The checksum field straddles two merged buffers. */
	struct t *t = setup_t((struct cfg){.mrg = true, .guest_csum = true, .fill = 4});
	struct virtio_net_hdr_v1 h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 2);
	static uint8_t frame[4000], out[4000];
	uint32_t first = 41; /* ends between the two checksum bytes (40, 41) */
	struct vv_net_buf *f;
	uint16_t pseudo;
	uint32_t len = udp_frame(frame, 1000, &pseudo);
	int n;

	h.csum_start = htole16(34);
	h.csum_offset = htole16(6);
	script(t, &h, frame, first);
	script(t, NULL, frame + first, len - first);
	f = rx_first(t, &n);
	assert_int_equal(f->pkt_len, len);
	copy_frame(f, out);
	assert_true(udp_csum_ok(out, len));
	net_pool_put_chain((struct net_buf *)f);
	teardown_t(t);
}

static void test_rx_flags_only_when_negotiated(void **state)
{
	struct t *t = setup_t((struct cfg){.guest_csum = true, .fill = 2});
	struct virtio_net_hdr_v1 h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 1);
	uint8_t frame[300], out[300];
	struct vv_net_buf *f;
	uint16_t pseudo;
	uint32_t len = udp_frame(frame, 100, &pseudo);
	int n;

	script(t, &h, frame, len);
	f = rx_first(t, &n);
	assert_true(f->flags & VV_NET_BUF_F_CSUM_VALID);
	assert_int_equal(t->st.rx_csum_valid, 1);
	net_pool_put_chain((struct net_buf *)f);
	teardown_t(t);

	/* Without GUEST_CSUM the device may not vouch for anything nor leave sums partial. */
	t = setup_t((struct cfg){.fill = 2});
	script(t, &h, frame, len);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = htole16(34);
	h.csum_offset = htole16(6);
	script(t, &h, frame, len);
	fake_ring_process(&t->rxdev);
	{
		struct vv_net_buf *fr[4];

		assert_int_equal(net_rxq_burst(&t->rx, fr, 4), 2);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(fr[i]->flags, 0);
			copy_frame(fr[i], out);
			assert_memory_equal(out, frame, len); /* untouched */
			net_pool_put_chain((struct net_buf *)fr[i]);
		}
	}
	assert_int_equal(t->st.rx_csum_valid + t->st.rx_csum_completed, 0);
	teardown_t(t);
}

static void test_rx_gso_and_runt_dropped(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 3});
	struct virtio_net_hdr_v1 h = hdr(0, 1);
	uint8_t data[100] = {0};
	struct vv_net_buf *f;
	int n;

	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	script(t, &h, data, 100);
	h.gso_type = 0;
	script(t, &h, data, 10); /* shorter than an Ethernet header */
	f = rx_first(t, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->pkt_len, 60);
	net_pool_put_chain((struct net_buf *)f);
	assert_int_equal(t->st.rx_dropped, 2);
	assert_pool_idle(t);
	teardown_t(t);
}

static int tx_one(struct t *t, struct vv_net_buf *f)
{
	return net_txq_burst(&t->tx, &f, 1);
}

static struct vv_net_buf *alloc_frame(struct t *t, uint32_t len, unsigned seed)
{
	struct net_buf *b;

	assert_int_equal(net_pool_get(&t->pool, &b, 1), 1);
	assert_true(b->pub.room >= len);
	pattern(b->pub.data, len, seed);
	b->pub.len = len;
	return &b->pub;
}

static void test_tx_plain(void **state)
{
	struct t *t = setup_t((struct cfg){.indirect = true});
	struct vv_net_buf *f = alloc_frame(t, 60, 5);
	uint8_t want[60];
	struct virtio_net_hdr_v1 h;

	pattern(want, 60, 5);
	assert_int_equal(tx_one(t, f), 1);
	assert_int_equal(t->st.tx_inflight, 1);
	assert_int_equal(fake_ring_process(&t->txdev), 1);
	/* One descriptor: header in the headroom, frame right after it. */
	assert_int_equal(t->seen.segs, 1);
	assert_int_equal(t->seen.len, NET_HDR_LEN + 60);
	memcpy(&h, t->seen.bytes, NET_HDR_LEN);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.gso_type, 0);
	assert_memory_equal(t->seen.bytes + NET_HDR_LEN, want, 60);
	assert_int_equal(net_txq_reclaim(&t->tx), 1);
	assert_int_equal(t->st.tx_packets, 1);
	assert_int_equal(t->st.tx_bytes, 60);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_tx_csum(void **state)
{
	for (int offload = 0; offload < 2; offload++) {
		struct t *t = setup_t((struct cfg){.csum = offload});
		struct net_buf *b;
		struct virtio_net_hdr_v1 h;
		uint16_t pseudo;
		uint32_t len;

		assert_int_equal(net_pool_get(&t->pool, &b, 1), 1);
		len = udp_frame(b->pub.data, 333, &pseudo);
		b->pub.len = len;
		b->pub.flags = VV_NET_BUF_F_CSUM_PARTIAL;
		b->pub.csum_start = 34;
		b->pub.csum_offset = 6;
		assert_int_equal(tx_one(t, &b->pub), 1);
		fake_ring_process(&t->txdev);
		memcpy(&h, t->seen.bytes, NET_HDR_LEN);
		if (offload) {
			/* The device completes it: header says where, data untouched. */
			assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
			assert_int_equal(le16toh(h.csum_start), 34);
			assert_int_equal(le16toh(h.csum_offset), 6);
			assert_false(udp_csum_ok(t->seen.bytes + NET_HDR_LEN, len));
			assert_int_equal(t->st.tx_csum_offload, 1);
		} else {
			/* No CSUM: the library filled it in, the header asks nothing. */
			assert_int_equal(h.flags, 0);
			assert_true(udp_csum_ok(t->seen.bytes + NET_HDR_LEN, len));
			assert_int_equal(t->st.tx_csum_sw, 1);
		}
		net_txq_reclaim(&t->tx);
		assert_pool_idle(t);
		teardown_t(t);
	}
}

static void test_tx_no_headroom_and_chain(void **state)
{
	struct t *t = setup_t((struct cfg){.indirect = true});
	struct vv_net_buf *a = alloc_frame(t, 100, 1), *b = alloc_frame(t, 700, 2);
	uint8_t want[800];

	/* The frame starts at the buffer's first byte: the header goes in a slot of the queue. */
	a->data -= NET_HDR_LEN;
	pattern(a->data, 100, 1);
	a->next = b;
	pattern(want, 100, 1);
	pattern(want + 100, 700, 2);
	assert_int_equal(tx_one(t, a), 1);
	fake_ring_process(&t->txdev);
	assert_int_equal(t->seen.segs, 3);
	assert_int_equal(t->seen.first_len, NET_HDR_LEN);
	assert_int_equal(t->seen.len, NET_HDR_LEN + 800);
	assert_memory_equal(t->seen.bytes + NET_HDR_LEN, want, 800);
	assert_int_equal(t->tx.nfree_slots, t->tx.nslots - 1);
	assert_int_equal(net_txq_reclaim(&t->tx), 1);
	assert_int_equal(t->tx.nfree_slots, t->tx.nslots);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_tx_invalid(void **state)
{
	struct t *t = setup_t((struct cfg){0});
	struct vv_net_buf *f = alloc_frame(t, 60, 1);
	struct net_pool other;
	struct net_buf *ob;
	uint8_t omem[BUF_SIZE * 2], oowner;

	f->len = 0;
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->len = 13; /* shorter than an Ethernet header */
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->len = 1500 + 18 + 1; /* longer than the MTU allows */
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->len = f->room + 1; /* past the buffer */
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->len = 60;
	f->data -= NET_HDR_LEN + 1; /* before the buffer */
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->data += NET_HDR_LEN + 1;
	f->flags = VV_NET_BUF_F_CSUM_PARTIAL;
	f->csum_start = 50;
	f->csum_offset = 9; /* 50 + 9 + 2 > 60 */
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->flags = 0;
	/* A buffer of another driver instance. */
	assert_int_equal(net_pool_init(&other, omem, 0x5000, 2, BUF_SIZE, 0, &oowner, "o"), 0);
	assert_int_equal(net_pool_get(&other, &ob, 1), 1);
	ob->pub.len = 60;
	assert_int_equal(tx_one(t, &ob->pub), -EINVAL);
	f->next = &ob->pub;
	assert_int_equal(tx_one(t, f), -EINVAL);
	f->next = NULL;
	net_pool_fini(&other);
	/* Sent once is the library's: sending it again is refused. */
	t->mtu = 9000;
	assert_int_equal(tx_one(t, f), 1);
	assert_int_equal(tx_one(t, f), -EINVAL);
	/* And so is freeing it: the pool does not get it twice. */
	net_pool_put_chain((struct net_buf *)f);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - t->rx.posted - 1);
	fake_ring_process(&t->txdev);
	assert_int_equal(net_txq_reclaim(&t->tx), 1);
	assert_pool_idle(t);
	/* Freeing a free buffer is refused too. */
	net_pool_put_chain((struct net_buf *)f);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - t->rx.posted);
	teardown_t(t);
}

static void test_tx_ring_full(void **state)
{
	struct t *t = setup_t((struct cfg){.ring = 8});
	struct vv_net_buf *f[12];

	for (int i = 0; i < 12; i++)
		f[i] = alloc_frame(t, 64, (unsigned)i);
	assert_int_equal(net_txq_burst(&t->tx, f, 12), 8);
	assert_int_equal(net_txq_burst(&t->tx, f + 8, 4), 0); /* full, nothing done */
	fake_ring_process(&t->txdev);
	/* The next burst reclaims first. */
	assert_int_equal(net_txq_burst(&t->tx, f + 8, 4), 4);
	fake_ring_process(&t->txdev);
	assert_int_equal(net_txq_reclaim(&t->tx), 4);
	assert_int_equal(t->st.tx_packets, 12);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_tx_hostile_completion(void **state)
{
	struct t *t = setup_t((struct cfg){0});
	struct vv_net_buf *f = alloc_frame(t, 64, 0);

	t->txdev.hostile = FAKE_BAD_ID;
	assert_int_equal(tx_one(t, f), 1);
	fake_ring_process(&t->txdev);
	assert_int_equal(net_txq_reclaim(&t->tx), -EIO);
	f = alloc_frame(t, 64, 0);
	assert_int_equal(tx_one(t, f), -EIO);
	net_pool_put_chain((struct net_buf *)f);
	teardown_t(t);
}

/* Many frames both ways with random sizes, merged buffers and bursts: no buffer is lost. */
static void test_long_run_no_leak(void **state)
{
	struct t *t = setup_t((struct cfg){.mrg = true, .indirect = true, .fill = 16});
	unsigned seed = 12345, rx_total = 0;

	for (int round = 0; round < 2000; round++) {
		struct vv_net_buf *f[32], *out[16];
		int n, m, k;

		/* The device delivers a frame spanning 1 or 2 buffers, fillers for the rest. */
		seed = seed * 1103515245 + 12345;
		{
			struct virtio_net_hdr_v1 h = hdr(0, (uint16_t)(1 + (seed >> 16) % 2));
			static uint8_t data[BUF_SIZE];

			script(t, &h, data, 200 + (seed >> 8) % 1200);
			if (le16toh(h.num_buffers) == 2)
				script(t, NULL, data, 100);
		}
		fake_ring_process(&t->rxdev);
		t->script.n = t->script.next = 0;
		n = net_rxq_burst(&t->rx, f, 32);
		assert_true(n > 0);
		rx_total += (unsigned)n;
		/* Echo some of them back, free the others. */
		m = n / 2;
		k = net_txq_burst(&t->tx, f, (unsigned)m);
		assert_true(k >= 0);
		for (int i = k; i < n; i++)
			net_pool_put_chain((struct net_buf *)f[i]);
		/* And send a few of our own. */
		m = (int)(seed % 4);
		m = (int)net_pool_get(&t->pool, (struct net_buf **)out, (unsigned)m);
		for (int i = 0; i < m; i++)
			out[i]->len = 60;
		k = net_txq_burst(&t->tx, out, (unsigned)m);
		assert_true(k >= 0);
		for (int i = k; i < m; i++)
			net_pool_put_chain((struct net_buf *)out[i]);
		if (round % 3 == 0)
			fake_ring_process(&t->txdev);
	}
	fake_ring_process(&t->txdev);
	net_txq_reclaim(&t->tx);
	assert_true(rx_total >= 2000);
	assert_int_equal(t->st.rx_packets, rx_total);
	assert_int_equal(t->rx.posted, 16);
	assert_pool_idle(t);
	assert_int_equal(t->st.rx_refill_empty, 0);
	teardown_t(t);
}

/* --- checksum routine against a straightforward reference, random splits -------------- */

static void test_csum_random_segments(void **state)
{
	struct t *t = setup_t((struct cfg){0});
	unsigned seed = 99;

	for (int iter = 0; iter < 200; iter++) {
		struct net_buf *b[3];
		uint8_t frame[1500], out[1500];
		uint16_t pseudo;
		uint32_t len, cut1, cut2;

		seed = seed * 1103515245 + 12345;
		len = udp_frame(frame, 1 + (seed >> 8) % 1400, &pseudo);
		cut1 = 1 + (seed >> 4) % (len - 2);
		cut2 = cut1 + 1 + (seed >> 12) % (len - cut1 - 1);
		assert_int_equal(net_pool_get(&t->pool, b, 3), 3);
		memcpy(b[0]->pub.data, frame, cut1);
		memcpy(b[1]->pub.data, frame + cut1, cut2 - cut1);
		memcpy(b[2]->pub.data, frame + cut2, len - cut2);
		b[0]->pub.len = cut1;
		b[1]->pub.len = cut2 - cut1;
		b[2]->pub.len = len - cut2;
		b[0]->pub.next = &b[1]->pub;
		b[1]->pub.next = &b[2]->pub;
		assert_int_equal(net_csum_complete(&b[0]->pub, len, 34, 6), 0);
		copy_frame(&b[0]->pub, out);
		assert_true(udp_csum_ok(out, len));
		assert_int_equal(net_csum_complete(&b[0]->pub, len, len - 1, 0), -EINVAL);
		assert_int_equal(net_csum_complete(&b[0]->pub, len, 0, len - 1), -EINVAL);
		assert_int_equal(net_csum_complete(&b[0]->pub, len, len + 1, 0), -EINVAL);
		net_pool_put_chain(b[0]);
	}
	teardown_t(t);
}

/* --- control queue ----------------------------------------------------------------- */

struct ctrl_dev {
	uint8_t cls, cmd, data[8];
	uint32_t len;
	unsigned commands;
	uint8_t answer;
};

static uint32_t ctrl_serve(void *ctx, struct fake_seg *s, int n)
{
	struct ctrl_dev *d = ctx;

	assert_int_equal(n, 3);
	assert_int_equal(s[0].len, 2);
	assert_false(s[1].write);
	assert_true(s[2].write);
	d->cls = s[0].p[0];
	d->cmd = s[0].p[1];
	d->len = s[1].len;
	memcpy(d->data, s[1].p, s[1].len < 8 ? s[1].len : 8);
	s[2].p[0] = d->answer;
	d->commands++;
	return 1;
}

static void test_ctrl(void **state)
{
	struct t *t = setup_t((struct cfg){0});
	struct ctrl_dev d = {.answer = VIRTIO_NET_OK};
	struct net_ctrl c;
	uint64_t iova;
	void *mem = fake_mem_alloc(&t->mem, NET_CTRL_MEM, 64, &iova);
	uint8_t on = 1, mac[6] = {2, 1, 2, 3, 4, 5};
	struct virtio_net_ctrl_mq mq = {.virtqueue_pairs = htole16(1)};

	t->ctrlvq = make_ring(t, &t->ctrldev, 2, 16, false, true);
	t->ctrldev.handler = ctrl_serve;
	t->ctrldev.handler_ctx = &d;
	assert_int_equal(net_ctrl_init(&c, t->ctrlvq, mem, iova, "fake"), 0);
	assert_int_equal(fake_ring_start(&t->ctrldev), 0);

	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 0);
	assert_int_equal(d.cls, VIRTIO_NET_CTRL_RX);
	assert_int_equal(d.cmd, VIRTIO_NET_CTRL_RX_PROMISC);
	assert_int_equal(d.len, 1);
	assert_int_equal(d.data[0], 1);
	assert_int_equal(
		net_ctrl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6), 0);
	assert_memory_equal(d.data, mac, 6);
	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &mq,
				      sizeof(mq)),
			 0);
	assert_int_equal(d.len, 2);
	assert_int_equal(d.data[0], 1);
	d.answer = VIRTIO_NET_ERR;
	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			 -EIO);
	d.answer = 0x42; /* neither OK nor ERR */
	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			 -EIO);
	assert_int_equal(d.commands, 5);
	fake_ring_stop(&t->ctrldev);

	/* Nobody answers: a timeout, and the queue is given up for good. */
	c.timeout_ms = 50;
	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 -ETIMEDOUT);
	assert_int_equal(net_ctrl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 -EIO);
	net_ctrl_fini(&c);
	teardown_t(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_plain),
		cmocka_unit_test(test_rx_merged),
		cmocka_unit_test(test_rx_hostile_num_buffers),
		cmocka_unit_test(test_rx_hostile_short),
		cmocka_unit_test(test_rx_mrg_ignored_without_feature),
		cmocka_unit_test(test_rx_needs_csum),
		cmocka_unit_test(test_rx_needs_csum_merged),
		cmocka_unit_test(test_rx_flags_only_when_negotiated),
		cmocka_unit_test(test_rx_gso_and_runt_dropped),
		cmocka_unit_test(test_tx_plain),
		cmocka_unit_test(test_tx_csum),
		cmocka_unit_test(test_tx_no_headroom_and_chain),
		cmocka_unit_test(test_tx_invalid),
		cmocka_unit_test(test_tx_ring_full),
		cmocka_unit_test(test_tx_hostile_completion),
		cmocka_unit_test(test_long_run_no_leak),
		cmocka_unit_test(test_csum_random_segments),
		cmocka_unit_test(test_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
