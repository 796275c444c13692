// SPDX-License-Identifier: MIT
/*
 * test_net_rx.c - virtio-net receive against the fake device: plain and merged buffers,
 * NEEDS_CSUM completed (across two buffers too), DATA_VALID and NEEDS_CSUM honoured only with
 * GUEST_CSUM, GSO and runt frames dropped; IN_ORDER (batched used entries, the ring one
 * buffer short of full); hostile headers (num_buffers 0 or beyond the buffers posted, shorter
 * than the header, a used length past the buffer) give -EIO.
 */
#include <endian.h>
#include <errno.h>

#include "net_fixture.h"

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

/*
 * VIRTIO_F_IN_ORDER with a device that writes one used entry per three buffers: the buffers
 * of a batch other than its last have no length of their own and count as full (2.7.9: used
 * completely). Exactly right for a merged frame's buffers but its last; a frame that ends in
 * a skipped buffer arrives at the full buffer length (QEMU writes every used entry, so it
 * never does this).
 */
static void test_rx_in_order_batched(void **state)
{
	struct t *t = setup_t((struct cfg){.mrg = true, .fill = 8, .in_order = 3});
	struct virtio_net_hdr_v1 h = hdr(0, 3);
	static uint8_t data[5000];
	struct vv_net_buf *f;
	uint32_t first = BUF_SIZE - NET_HDR_LEN;
	int n;

	pattern(data, sizeof(data), 9);
	script(t, &h, data, first);
	script(t, NULL, data + first, BUF_SIZE);
	script(t, NULL, data + first + BUF_SIZE, 5000 - first - BUF_SIZE);
	f = rx_first(t, &n);
	assert_int_equal(n, 6); /* the merged frame (one batch) and 5 fillers (3 + 2) */
	assert_int_equal(f->pkt_len, 5000);
	assert_memory_equal(f->data, data, first);
	assert_memory_equal(f->next->data, data + first, BUF_SIZE);
	assert_int_equal(f->next->next->len, 5000 - first - BUF_SIZE);
	/* Fillers of 60 bytes: the two and the one a batch skipped count as full buffers. */
	assert_int_equal(t->st.rx_bytes, 5000 + 3 * (BUF_SIZE - NET_HDR_LEN) + 2 * 60);
	net_pool_put_chain((struct net_buf *)f);
	assert_pool_idle(t);
	assert_false(vv_vq_is_broken(t->rxvq));
	teardown_t(t);
}

/*
 * IN_ORDER with a fill of the whole ring, as vv_net_open() asks: one descriptor stays free
 * (vq_max_free()), so the queue keeps one buffer fewer posted, and a refill after frames
 * came in posts exactly what they freed.
 */
static void test_rx_in_order_fill(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 32, .ring = 32, .in_order = 1});
	struct virtio_net_hdr_v1 h = hdr(0, 1);
	uint8_t data[100];
	struct vv_net_buf *f;
	int n;

	assert_int_equal(t->rx.fill, 31);
	assert_int_equal(t->rx.posted, 31);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - 31);
	pattern(data, sizeof(data), 5);
	script(t, &h, data, sizeof(data));
	f = rx_first(t, &n);
	assert_int_equal(n, 31); /* ours and 30 fillers, one used entry each */
	assert_int_equal(f->len, 100);
	assert_memory_equal(f->data, data, 100);
	assert_int_equal(t->rx.posted, 31);
	assert_int_equal(t->st.rx_posted, 31);
	assert_int_equal(t->st.rx_refill_empty, 0);
	net_pool_put_chain((struct net_buf *)f);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - 31);
	assert_pool_idle(t);
	assert_false(vv_vq_is_broken(t->rxvq));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_plain),
		cmocka_unit_test(test_rx_merged),
		cmocka_unit_test(test_rx_in_order_batched),
		cmocka_unit_test(test_rx_in_order_fill),
		cmocka_unit_test(test_rx_hostile_num_buffers),
		cmocka_unit_test(test_rx_hostile_short),
		cmocka_unit_test(test_rx_mrg_ignored_without_feature),
		cmocka_unit_test(test_rx_needs_csum),
		cmocka_unit_test(test_rx_needs_csum_merged),
		cmocka_unit_test(test_rx_flags_only_when_negotiated),
		cmocka_unit_test(test_rx_gso_and_runt_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
