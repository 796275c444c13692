// SPDX-License-Identifier: MIT
/*
 * net_fixture.c - the virtio-net queue tests' shared setup, fake device handlers and frame
 * helpers (see net_fixture.h).
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "net_fixture.h"
#include "virtqueue/vq.h"

static void notify(void *ctx, unsigned idx)
{
	struct fake_ring *r = ctx;

	if (r)
		fake_ring_kick(r); /* threaded mode only; otherwise the test processes */
}

struct vv_vq *make_ring(struct t *t, struct fake_ring *dev, unsigned index, unsigned num,
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
		.in_order = t->in_order > 0,
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
	dev->in_order_batch = t->in_order;
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

struct t *setup_t(struct cfg c)
{
	struct t *t = calloc(1, sizeof(*t));
	uint64_t iova, hiova;
	void *mem, *hdrs;

	assert_non_null(t);
	assert_int_equal(fake_mem_create(&t->mem, 8u << 20), 0);
	if (!c.ring)
		c.ring = 32;
	t->in_order = c.in_order;
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

void teardown_t(struct t *t)
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

void script(struct t *t, const struct virtio_net_hdr_v1 *hdr, const uint8_t *data, uint32_t len)
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

struct virtio_net_hdr_v1 hdr(uint8_t flags, uint16_t nbufs)
{
	struct virtio_net_hdr_v1 h = {.flags = flags, .num_buffers = htole16(nbufs)};

	return h;
}

void pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

struct vv_net_buf *rx_first(struct t *t, int *ret_n)
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

void assert_pool_idle(struct t *t)
{
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - t->rx.posted);
	assert_int_equal(t->st.tx_inflight, 0);
	assert_int_equal(t->st.rx_posted, t->rx.posted);
}

uint32_t udp_frame(uint8_t *p, uint32_t payload, uint16_t *ret_pseudo)
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

bool udp_csum_ok(const uint8_t *p, uint32_t len)
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

void copy_frame(struct vv_net_buf *f, uint8_t *out)
{
	for (uint32_t off = 0; f; off += f->len, f = f->next)
		memcpy(out + off, f->data, f->len);
}
