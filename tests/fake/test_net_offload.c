// SPDX-License-Identifier: MIT
/*
 * test_net_offload.c - segmentation offloads against the fake device: a TSO request leaves
 * with its header (type, gso_size, hdr_len found in the frame), requests the device did not
 * agree to or that do not fit are refused before anything is queued; a coalesced frame
 * arrives with its gso fields and past the MTU's limit, and every way a device's header can
 * lie about one (type, ECN, no NEEDS_CSUM, gso_size, checksum position, TCP header length)
 * drops the frame, counted, without breaking the queue. HASH_REPORT's longer header both ways,
 * the hash handed over, an unknown report type dropped.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "net_fixture.h"

#define HDRS 54 /* Ethernet, IPv4, TCP without options */

/* An Ethernet + IPv4 + TCP frame of @len bytes, the TCP checksum field left as is. */
static void tcp_frame(uint8_t *p, uint32_t len, uint8_t doff)
{
	memset(p, 0, HDRS);
	pattern(p + HDRS, len - HDRS, 3);
	memset(p, 0xaa, 12);
	p[12] = 0x08;
	p[14] = 0x45;
	p[16] = (uint8_t)((len - 14) >> 8);
	p[17] = (uint8_t)(len - 14);
	p[23] = 6;
	p[34 + 12] = (uint8_t)(doff << 4);
}

/* A TSO request of @len bytes in chained buffers of the pool. */
static struct vv_net_buf *tso_frame(struct t *t, uint32_t len, uint16_t gso_size)
{
	static uint8_t frame[16384];
	struct vv_net_buf *head = NULL, *tail = NULL;

	tcp_frame(frame, len, 5);
	for (uint32_t off = 0; off < len;) {
		struct net_buf *b;
		uint32_t take;

		assert_int_equal(net_pool_get(&t->pool, &b, 1), 1);
		take = len - off < b->pub.room ? len - off : b->pub.room;
		memcpy(b->pub.data, frame + off, take);
		b->pub.len = take;
		if (tail)
			tail->next = &b->pub;
		else
			head = &b->pub;
		tail = &b->pub;
		off += take;
	}
	head->flags = VV_NET_BUF_F_CSUM_PARTIAL;
	head->csum_start = 34;
	head->csum_offset = 16;
	head->gso_type = VV_NET_GSO_TCPV4;
	head->gso_size = gso_size;
	return head;
}

static void test_tx_tso(void **state)
{
	struct t *t = setup_t((struct cfg){.csum = true, .indirect = true});
	struct vv_net_buf *f;
	struct virtio_net_hdr_v1 h;

	t->tx.gso_ok = NET_GSO_BIT(VV_NET_GSO_TCPV4);
	f = tso_frame(t, 5000, 1448);
	assert_int_equal(net_txq_burst(&t->tx, &f, 1), 1);
	fake_ring_process(&t->txdev);
	memcpy(&h, t->seen.bytes, NET_HDR_LEN);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16toh(h.gso_size), 1448);
	assert_int_equal(le16toh(h.hdr_len), HDRS); /* read from the TCP header */
	assert_int_equal(le16toh(h.csum_start), 34);
	assert_int_equal(le16toh(h.csum_offset), 16);
	assert_int_equal(t->seen.len, NET_HDR_LEN + 5000);
	assert_int_equal(t->st.tx_gso, 1);
	assert_int_equal(t->st.tx_gso_segs, 4); /* 4946 bytes of payload in 1448s */
	assert_int_equal(net_txq_reclaim(&t->tx), 1);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_tx_tso_refused(void **state)
{
	enum {
		NOT_AGREED,
		NO_PARTIAL,
		SIZE0,
		SEG_OVER_MTU,
		UDP_OFFSET,
		HDR_PAST,
		BAD_DOFF,
		TYPE,
		PLAIN_OVER_MTU,
		N
	};
	static const int want[N] = {-EOPNOTSUPP, -EINVAL, -EINVAL, -EINVAL, -EINVAL,
				    -EINVAL,	 -EINVAL, -EINVAL, -EINVAL};

	for (int i = 0; i < N; i++) {
		struct t *t = setup_t((struct cfg){.csum = true, .indirect = true});
		struct vv_net_buf *f = tso_frame(t, 5000, 1448);

		t->tx.gso_ok = i == NOT_AGREED ? NET_GSO_BIT(VV_NET_GSO_TCPV6)
					       : NET_GSO_BIT(VV_NET_GSO_TCPV4);
		switch (i) {
		case NO_PARTIAL:
			f->flags = 0;
			break;
		case SIZE0:
			f->gso_size = 0;
			break;
		case SEG_OVER_MTU:
			f->gso_size = 1500 + 18 - HDRS + 1; /* one segment would be too long */
			break;
		case UDP_OFFSET:
			f->csum_offset = 6;
			break;
		case HDR_PAST:
			f->hdr_len = 5000; /* no payload left */
			break;
		case BAD_DOFF:
			f->data[34 + 12] = 4 << 4; /* a TCP header of 16 bytes */
			break;
		case TYPE:
			f->gso_type = 9;
			break;
		case PLAIN_OVER_MTU:
			f->gso_type = VV_NET_GSO_NONE;
			break;
		}
		assert_int_equal(net_txq_burst(&t->tx, &f, 1), want[i]);
		assert_int_equal(t->st.tx_packets, 0);
		net_pool_put_chain(net_buf_of(f));
		assert_pool_idle(t);
		teardown_t(t);
	}
}

/* Scripts a frame over as many receive buffers as it needs, @h on the first. */
static void script_frame(struct t *t, struct virtio_net_hdr_v1 h, const uint8_t *frame,
			 uint32_t len)
{
	uint32_t first = BUF_SIZE - NET_HDR_LEN, nbufs = 1;

	if (len > first)
		nbufs += (len - first + BUF_SIZE - 1) / BUF_SIZE;
	h.num_buffers = htole16((uint16_t)nbufs);
	script(t, &h, frame, len < first ? len : first);
	for (uint32_t off = first; off < len; off += BUF_SIZE)
		script(t, NULL, frame + off, len - off < BUF_SIZE ? len - off : BUF_SIZE);
}

static struct virtio_net_hdr_v1 gso_hdr(void)
{
	struct virtio_net_hdr_v1 h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = htole16(HDRS),
		.gso_size = htole16(1448),
		.csum_start = htole16(34),
		.csum_offset = htole16(16),
	};

	return h;
}

static void test_rx_coalesced(void **state)
{
	struct t *t = setup_t((struct cfg){.mrg = true, .guest_csum = true, .fill = 16});
	static uint8_t frame[12000], out[12000];
	struct vv_net_buf *f;
	int n;

	t->rx.gso_ok = NET_GSO_BIT(VV_NET_GSO_TCPV4);
	tcp_frame(frame, sizeof(frame), 5);
	frame[34 + 16] = 0x12, frame[34 + 17] = 0x34;	  /* the pseudo-header sum: left alone */
	script_frame(t, gso_hdr(), frame, sizeof(frame)); /* beyond the 9018 of the MTU */
	f = rx_first(t, &n);
	assert_int_equal(n, 16 - 6 + 1);
	assert_int_equal(f->pkt_len, sizeof(frame));
	assert_int_equal(f->flags, VV_NET_BUF_F_CSUM_VALID | VV_NET_BUF_F_CSUM_PARTIAL);
	assert_int_equal(f->gso_type, VV_NET_GSO_TCPV4);
	assert_int_equal(f->gso_size, 1448);
	assert_int_equal(f->hdr_len, HDRS);
	assert_int_equal(f->csum_start, 34);
	assert_int_equal(f->csum_offset, 16);
	copy_frame(f, out);
	assert_memory_equal(out, frame, sizeof(frame));
	net_pool_put_chain(net_buf_of(f));
	assert_int_equal(t->st.rx_gso, 1);
	assert_int_equal(t->st.rx_gso_segs, 9); /* 11946 bytes of payload in 1448s */
	assert_int_equal(t->st.rx_csum_completed, 0);
	assert_int_equal(t->st.rx_dropped, 0);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_coalesced_lies(void **state)
{
	enum {
		TYPE_NOT_AGREED,
		UFO,
		ECN,
		NO_NEEDS_CSUM,
		SIZE0,
		CSUM_PAST,
		UDP_OFFSET,
		START_LOW,
		DOFF_SHORT,
		DOFF_PAST,
		N
	};

	for (int i = 0; i < N; i++) {
		struct t *t = setup_t((struct cfg){.mrg = true, .guest_csum = true, .fill = 16});
		struct virtio_net_hdr_v1 h = gso_hdr();
		static uint8_t frame[4000];
		uint32_t len = i == DOFF_PAST ? 60 : sizeof(frame);
		struct vv_net_buf *f;
		int n;

		t->rx.gso_ok = NET_GSO_BIT(VV_NET_GSO_TCPV4) | NET_GSO_BIT(VV_NET_GSO_UDP_L4);
		tcp_frame(frame, len, 5);
		switch (i) {
		case TYPE_NOT_AGREED:
			h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
			break;
		case UFO:
			h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
			break;
		case ECN:
			h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
			break;
		case NO_NEEDS_CSUM:
			h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
			break;
		case SIZE0:
			h.gso_size = 0;
			break;
		case CSUM_PAST:
			h.csum_start = htole16(3990);
			break;
		case UDP_OFFSET:
			h.csum_offset = htole16(6);
			break;
		case START_LOW:
			h.csum_start = htole16(4);
			break;
		case DOFF_SHORT:
			frame[34 + 12] = 2 << 4;
			break;
		case DOFF_PAST:
			frame[34 + 12] = 15 << 4; /* 60 bytes of TCP header in a 60-byte frame */
			break;
		}
		script_frame(t, h, frame, len);
		f = rx_first(t, &n);
		/* Dropped: what comes is the device's filler frames in the other buffers. */
		assert_int_equal(n, 16 - (len > BUF_SIZE - NET_HDR_LEN ? 2 : 1));
		assert_int_equal(f->pkt_len, 60);
		assert_int_equal(f->gso_type, VV_NET_GSO_NONE);
		net_pool_put_chain(net_buf_of(f));
		assert_int_equal(t->st.rx_dropped, 1);
		assert_int_equal(t->st.rx_bad_hdr, 1);
		assert_false(vv_vq_is_broken(t->rxvq));
		assert_pool_idle(t);
		teardown_t(t);
	}
}

/* HASH_REPORT: a 20-byte header each way (5.1.6), the hash handed over, nonsense dropped. */
static void test_hash_report(void **state)
{
	struct t *t = setup_t((struct cfg){.indirect = true, .fill = 8});
	struct virtio_net_hdr_v1_hash hh = {.hdr.num_buffers = htole16(1)};
	uint8_t raw[NET_HDR_HASH + 100];
	struct vv_net_buf *f;
	struct virtio_net_hdr_v1_hash seen;
	int n;

	t->pool.headroom = NET_HDR_HASH;
	t->rx.hdr_len = t->tx.hdr_len = NET_HDR_HASH;
	t->rx.hash_report = true;
	hh.hash_value = htole32(0xdeadbeef);
	hh.hash_report = htole16(VIRTIO_NET_HASH_REPORT_UDPv4);
	memcpy(raw, &hh, sizeof(hh));
	pattern(raw + NET_HDR_HASH, 100, 4);
	script(t, NULL, raw, sizeof(raw));
	hh.hash_report = htole16(10); /* no such report type */
	memcpy(raw, &hh, sizeof(hh));
	script(t, NULL, raw, sizeof(raw));
	f = rx_first(t, &n);
	/* Ours only: the second's type does not exist, nor do the 6 fillers' (the fake device
	 * writes a 12-byte header, so their "report" is frame bytes 0xeeee). */
	assert_int_equal(n, 1);
	assert_int_equal(f->len, 100);
	assert_memory_equal(f->data, raw + NET_HDR_HASH, 100);
	assert_int_equal(f->hash, 0xdeadbeef);
	assert_int_equal(f->hash_type, VV_NET_HASH_UDPV4);
	assert_int_equal(t->st.rx_dropped, 7);
	assert_int_equal(t->st.rx_bad_hdr, 7);
	/* Sent back: the header is 20 bytes, its hash fields zero, the frame after it. */
	f->hash_type = 0;
	assert_int_equal(net_txq_burst(&t->tx, &f, 1), 1);
	fake_ring_process(&t->txdev);
	assert_int_equal(t->seen.len, NET_HDR_HASH + 100);
	memcpy(&seen, t->seen.bytes, sizeof(seen));
	assert_int_equal(seen.hash_value, 0);
	assert_int_equal(seen.hash_report, 0);
	assert_memory_equal(t->seen.bytes + NET_HDR_HASH, raw + NET_HDR_HASH, 100);
	assert_int_equal(net_txq_reclaim(&t->tx), 1);
	/* A new buffer leaves room for the longer header. */
	{
		struct net_buf *b;

		assert_int_equal(net_pool_get(&t->pool, &b, 1), 1);
		assert_ptr_equal(b->pub.data, b->base + NET_HDR_HASH);
		assert_int_equal(b->pub.room, BUF_SIZE - NET_HDR_HASH);
		net_pool_put_chain(b);
	}
	assert_pool_idle(t);
	teardown_t(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_tso),	       cmocka_unit_test(test_rx_coalesced),
		cmocka_unit_test(test_tx_tso_refused), cmocka_unit_test(test_rx_coalesced_lies),
		cmocka_unit_test(test_hash_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
