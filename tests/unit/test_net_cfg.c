// SPDX-License-Identifier: MIT
/*
 * test_net_cfg.c - the virtio-net driver's pure decisions: which offered features to accept
 * given the device's config, parsing that config, the MAC address, the queue layout, and
 * the queue-pair and MTU rules.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/virtio_config.h>

#include <virtio-vfio/device.h>
#include <virtio-vfio/net.h>

#include "devs/net_cfg.h"
#include "devs/net_ctrl.h"

#define F(b) NET_F(b)
#define FULL sizeof(struct virtio_net_config)

static struct virtio_net_config cfg(uint16_t pairs, uint16_t mtu)
{
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, "\x52\x54\x00\x12\x34\x56", 6);
	c.status = htole16(VIRTIO_NET_S_LINK_UP);
	c.max_virtqueue_pairs = htole16(pairs);
	c.mtu = htole16(mtu);
	return c;
}

static void test_wanted(void **state)
{
	uint64_t f = net_wanted_features(0);

	assert_true(f & F(VIRTIO_NET_F_MAC));
	assert_true(f & F(VIRTIO_NET_F_STATUS));
	assert_true(f & F(VIRTIO_NET_F_MTU));
	assert_true(f & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(f & F(VIRTIO_NET_F_CTRL_VQ));
	assert_true(f & F(VIRTIO_NET_F_CTRL_RX));
	assert_true(f & F(VIRTIO_NET_F_CTRL_MAC_ADDR));
	assert_true(f & F(VIRTIO_NET_F_MQ));
	/* The ring features but IN_ORDER (QEMU 10.0.2 stalls in-order receive, net_cfg.c). */
	assert_true((f & VV_RING_FEATURES) == (VV_RING_FEATURES & ~(1ULL << VIRTIO_F_IN_ORDER)));
	/* Offloads only on request; never segmentation offloads (no GSO handling). */
	assert_false(f & F(VIRTIO_NET_F_CSUM));
	assert_false(f & F(VIRTIO_NET_F_GUEST_CSUM));
	f = net_wanted_features(VV_NET_OFFLOAD_TX_CSUM | VV_NET_OFFLOAD_RX_CSUM);
	assert_true(f & F(VIRTIO_NET_F_CSUM));
	assert_true(f & F(VIRTIO_NET_F_GUEST_CSUM));
	for (unsigned b = VIRTIO_NET_F_GUEST_TSO4; b <= VIRTIO_NET_F_HOST_UFO; b++)
		assert_false(f & F(b));
	assert_false(f & F(VIRTIO_NET_F_GUEST_ANNOUNCE));
}

static void test_sanitize(void **state)
{
	uint64_t all = net_wanted_features(0), ctrl = F(VIRTIO_NET_F_CTRL_VQ);
	struct virtio_net_config c = cfg(4, 9000);
	uint64_t f;

	/* Everything consistent: everything offered is kept. */
	f = net_sanitize_features(all, all, &c, FULL, 9);
	assert_int_equal(f, all);
	/* Offered but not wanted, or wanted but not offered: dropped. */
	f = net_sanitize_features(all | F(VIRTIO_NET_F_GUEST_TSO4), all & ~F(VIRTIO_NET_F_MTU), &c,
				  FULL, 9);
	assert_false(f & F(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(f & F(VIRTIO_NET_F_MTU));
	/* MQ, CTRL_RX, CTRL_MAC_ADDR need the control queue (5.1.3.1). */
	f = net_sanitize_features(all & ~ctrl, all, &c, FULL, 9);
	assert_false(
		f & (F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR)));
	/* MQ with a nonsensical or too large pair count, or too few queues: one pair. */
	c = cfg(0, 1500);
	assert_false(net_sanitize_features(all, all, &c, FULL, 9) & F(VIRTIO_NET_F_MQ));
	c = cfg(NET_MAX_PAIRS + 1, 1500);
	assert_false(net_sanitize_features(all, all, &c, FULL, 1000) & F(VIRTIO_NET_F_MQ));
	c = cfg(4, 1500);
	f = net_sanitize_features(all, all, &c, FULL, 8); /* needs 2*4+1 */
	assert_false(f & F(VIRTIO_NET_F_MQ));
	assert_true(f & ctrl);
	/* Without MQ the control queue is the third: a device with two queues has none. */
	f = net_sanitize_features(all, all, &c, FULL, 2);
	assert_false(f & (ctrl | F(VIRTIO_NET_F_CTRL_RX)));
	/* An MTU below 68 is ignored, as Linux does. */
	c = cfg(1, 67);
	assert_false(net_sanitize_features(all, all, &c, FULL, 3) & F(VIRTIO_NET_F_MTU));
	/* Fields beyond the device's config size do not exist. */
	c = cfg(1, 1500);
	f = net_sanitize_features(all, all, &c, 6, 3);
	assert_true(f & F(VIRTIO_NET_F_MAC));
	assert_false(f & (F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_MTU)));
	f = net_sanitize_features(all, all, &c, 3, 3);
	assert_false(f & F(VIRTIO_NET_F_MAC));
}

static void test_rss(void **state)
{
	const uint64_t rss = F(VIRTIO_NET_F_RSS), hash = F(VIRTIO_NET_F_HASH_REPORT);
	uint64_t w = net_wanted_features(VV_NET_OFFLOAD_RSS | VV_NET_OFFLOAD_RX_HASH), f;
	struct virtio_net_config c = cfg(4, 1500);
	struct net_cfgvals v;
	static const uint8_t key[40] = {0x6d, 0x5a};
	uint16_t table[8] = {0, 1, 2, 3, 3, 2, 1, 0};
	struct vv_net_rss r = {.hash_types = VIRTIO_NET_RSS_HASH_TYPE_UDPv4,
			       .key = key,
			       .key_len = 40,
			       .table = table,
			       .table_len = 8};
	uint8_t out[NET_CTRL_DATA_MAX];

	assert_false(net_wanted_features(0) & (rss | hash));
	assert_int_equal(w & (rss | hash), rss | hash);
	c.rss_max_key_size = 40;
	c.rss_max_indirection_table_length = htole16(128);
	c.supported_hash_types = htole32(0x1ff);
	f = net_sanitize_features(w, w, &c, FULL, 9);
	assert_int_equal(f & (rss | hash), rss | hash);
	assert_int_equal(net_caps(f) & (VV_NET_CAP_RSS | VV_NET_CAP_RX_HASH),
			 VV_NET_CAP_RSS | VV_NET_CAP_RX_HASH);
	assert_int_equal(net_hdr_len(f), NET_HDR_HASH);
	assert_int_equal(net_hdr_len(f & ~hash), NET_HDR_LEN);
	assert_int_equal(net_parse_config(f, &c, FULL, &v), 0);
	assert_int_equal(v.rss_key_max, 40);
	assert_int_equal(v.rss_table_max, 128);
	assert_int_equal(v.rss_hash_types, 0x1ff);
	/* Limits that make no sense decline the feature; RSS needs MQ. */
	c.rss_max_indirection_table_length = htole16(100);
	f = net_sanitize_features(w, w, &c, FULL, 9);
	assert_false(f & rss);
	assert_true(f & hash);
	c.rss_max_indirection_table_length = htole16(128);
	c.rss_max_key_size = 39;
	assert_false(net_sanitize_features(w, w, &c, FULL, 9) & (rss | hash));
	c.rss_max_key_size = 40;
	assert_false(net_sanitize_features(w, w, &c, FULL - 4, 9) & (rss | hash));
	assert_false(net_sanitize_features(w & ~F(VIRTIO_NET_F_MQ), w, &c, FULL, 9) & rss);
	/* RSS_CONFIG: hash types, mask, unclassified pair, the table, max_tx_vq, key. */
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, sizeof(out)),
			 4 + 2 + 2 + 16 + 2 + 1 + 40);
	assert_int_equal(out[0], VIRTIO_NET_RSS_HASH_TYPE_UDPv4);
	assert_int_equal(out[4], 7);
	assert_int_equal(out[6], 0);
	assert_int_equal(out[8 + 2 * 5], 2);
	assert_int_equal(out[8 + 16], 4);
	assert_int_equal(out[8 + 18], 40);
	assert_memory_equal(out + 8 + 19, key, 40);
	/* HASH_CONFIG: hash types, 8 reserved bytes, key. */
	assert_int_equal(net_rss_config(&r, &v, 4, false, out, sizeof(out)), 4 + 8 + 1 + 40);
	assert_int_equal(out[12], 40);
	/* Refused: an entry past the active pairs, a table not a power of 2 or too long, a key
	 * too long, a hash type not supported, no room. */
	assert_int_equal(net_rss_config(&r, &v, 3, true, out, sizeof(out)), -EINVAL);
	r.table_len = 6;
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, sizeof(out)), -EINVAL);
	r.table_len = 256;
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, sizeof(out)), -EINVAL);
	r.table_len = 8;
	r.key_len = 41;
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, sizeof(out)), -EINVAL);
	r.key_len = 40;
	v.rss_hash_types = VIRTIO_NET_RSS_HASH_TYPE_IPv4;
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, sizeof(out)), -EINVAL);
	v.rss_hash_types = 0x1ff;
	assert_int_equal(net_rss_config(&r, &v, 4, true, out, 20), -ENOSPC);
}

static void test_segmentation(void **state)
{
	const uint32_t seg = VV_NET_OFFLOAD_TX_TSO | VV_NET_OFFLOAD_TX_USO | VV_NET_OFFLOAD_RX_TSO |
			     VV_NET_OFFLOAD_RX_USO;
	const uint64_t host = F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
			      F(VIRTIO_NET_F_HOST_USO),
		       guest = F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
			       F(VIRTIO_NET_F_GUEST_USO4) | F(VIRTIO_NET_F_GUEST_USO6);
	uint64_t w = net_wanted_features(seg), f;
	struct virtio_net_config c = cfg(1, 1500);

	/* Asked for, they bring the checksum offloads they rest on (5.1.3.1). */
	assert_int_equal(w & (host | guest), host | guest);
	assert_true(w & F(VIRTIO_NET_F_CSUM));
	assert_true(w & F(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(w & (F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_GUEST_UFO) |
			  F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_GUEST_ECN)));
	f = net_sanitize_features(w, w, &c, FULL, 3);
	assert_int_equal(f & (host | guest), host | guest);
	assert_int_equal(net_caps(f) & 0xfc00u, VV_NET_CAP_TX_TSO4 | VV_NET_CAP_TX_TSO6 |
							VV_NET_CAP_TX_USO | VV_NET_CAP_RX_TSO4 |
							VV_NET_CAP_RX_TSO6 | VV_NET_CAP_RX_USO);
	/* A device offering segmentation without the checksum offload under it: declined. */
	f = net_sanitize_features(w & ~F(VIRTIO_NET_F_CSUM), w, &c, FULL, 3);
	assert_false(f & host);
	f = net_sanitize_features(w & ~F(VIRTIO_NET_F_GUEST_CSUM), w, &c, FULL, 3);
	assert_false(f & guest);
	/* Coalesced frames need merged buffers here (2 KiB pool buffers). */
	f = net_sanitize_features(w & ~F(VIRTIO_NET_F_MRG_RXBUF), w, &c, FULL, 3);
	assert_false(f & guest);
	assert_true(f & host);
}

static void test_parse(void **state)
{
	struct virtio_net_config c = cfg(4, 9000);
	struct net_cfgvals v;
	uint64_t f = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MQ) |
		     F(VIRTIO_NET_F_MTU);

	assert_int_equal(net_parse_config(f, &c, FULL, &v), 0);
	assert_memory_equal(v.mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_true(v.link_up);
	assert_int_equal(v.max_pairs, 4);
	assert_int_equal(v.mtu, 9000);
	/* Without the features: link up, one pair, 1500, whatever the config says. */
	c.status = 0;
	assert_int_equal(net_parse_config(0, &c, FULL, &v), 0);
	assert_true(v.link_up);
	assert_int_equal(v.max_pairs, 1);
	assert_int_equal(v.mtu, 1500);
	assert_int_equal(net_parse_config(F(VIRTIO_NET_F_STATUS), &c, FULL, &v), 0);
	assert_false(v.link_up);
	/* The device changed its mind after negotiation: -EIO. */
	c = cfg(0, 9000);
	assert_int_equal(net_parse_config(f, &c, FULL, &v), -EIO);
	c = cfg(4, 10);
	assert_int_equal(net_parse_config(f, &c, FULL, &v), -EIO);
	c = cfg(4, 9000);
	assert_int_equal(net_parse_config(f, &c, 8, &v), -EIO);
}

static void test_mac(void **state)
{
	const uint8_t dev[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
	const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6] = {0};
	const uint8_t rnd[6] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa};
	uint8_t out[6];

	assert_true(net_pick_mac(F(VIRTIO_NET_F_MAC), dev, rnd, out));
	assert_memory_equal(out, dev, 6);
	/* Not negotiated: random, locally administered (bit 1), unicast (bit 0 clear). */
	assert_false(net_pick_mac(0, dev, rnd, out));
	assert_int_equal(out[0], 0xfe);
	assert_memory_equal(out + 1, rnd + 1, 5);
	assert_true(net_mac_valid(out));
	/* A device address that is no unicast address is not used. */
	assert_false(net_pick_mac(F(VIRTIO_NET_F_MAC), mcast, rnd, out));
	assert_int_equal(out[0] & 3, 2);
	assert_false(net_pick_mac(F(VIRTIO_NET_F_MAC), zero, zero, out));
	assert_int_equal(out[0], 2);
	assert_true(net_mac_valid(out));
	assert_false(net_mac_valid(mcast));
	assert_false(net_mac_valid(zero));
}

static void test_layout(void **state)
{
	uint64_t mq = F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ);

	/* receiveq1..N, transmitq1..N interleaved, control queue last (5.1.2). */
	assert_int_equal(net_total_queues(mq, 4), 9);
	assert_int_equal(net_ctrl_index(mq, 4), 8);
	assert_int_equal(net_total_queues(mq, 1), 3);
	assert_int_equal(net_ctrl_index(mq, 1), 2);
	assert_int_equal(net_total_queues(F(VIRTIO_NET_F_CTRL_VQ), 1), 3);
	assert_int_equal(net_ctrl_index(F(VIRTIO_NET_F_CTRL_VQ), 1), 2);
	assert_int_equal(net_total_queues(0, 1), 2);
}

static void test_pairs(void **state)
{
	uint64_t mq = F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ);

	/* One pair is always fine; more needs MQ; never 0 nor beyond what was prepared. */
	assert_int_equal(net_check_pairs(0, 1, 1), 0);
	assert_int_equal(net_check_pairs(0, 2, 1), -EOPNOTSUPP);
	assert_int_equal(net_check_pairs(0, 0, 1), -EINVAL);
	assert_int_equal(net_check_pairs(mq, 0, 4), -EINVAL);
	assert_int_equal(net_check_pairs(mq, 4, 4), 0);
	assert_int_equal(net_check_pairs(mq, 5, 4), -EINVAL);
	assert_int_equal(net_check_pairs(mq, 2, 1), -EINVAL);
}

static void test_mtu(void **state)
{
	assert_int_equal(net_check_mtu(0, 1500, 1500), 0);
	assert_int_equal(net_check_mtu(0, 576, 1500), 0);
	assert_int_equal(net_check_mtu(0, 9000, 1500), -EOPNOTSUPP);
	assert_int_equal(net_check_mtu(0, 67, 1500), -EINVAL);
	assert_int_equal(net_check_mtu(F(VIRTIO_NET_F_MTU), 9000, 9000), 0);
	assert_int_equal(net_check_mtu(F(VIRTIO_NET_F_MTU), 9001, 9000), -EINVAL);
	assert_int_equal(net_check_mtu(F(VIRTIO_NET_F_MTU), 1400, 1400), 0);
	assert_int_equal(net_check_mtu(F(VIRTIO_NET_F_MTU), 1500, 1400), -EINVAL);
}

static void test_caps_and_buffers(void **state)
{
	uint32_t c = net_caps(F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
			      F(VIRTIO_NET_F_STATUS));

	assert_int_equal(c, VV_NET_CAP_CTRL | VV_NET_CAP_PROMISC | VV_NET_CAP_ALLMULTI |
				    VV_NET_CAP_LINK_STATUS);
	assert_int_equal(net_caps(0), 0);
	/* Section 5.1.6.3.1: a buffer holds a whole frame unless buffers may be merged. */
	assert_int_equal(net_buf_size(true, 9000), 2048);
	assert_int_equal(net_buf_size(false, 1500), 2048);
	assert_true(net_buf_size(false, 9000) >= NET_HDR_LEN + 14 + 4 + 9000);
	assert_true(net_buf_size(false, 65535) >= NET_HDR_LEN + 14 + 4 + 65535);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),	     cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_segmentation), cmocka_unit_test(test_rss),
		cmocka_unit_test(test_parse),	     cmocka_unit_test(test_mac),
		cmocka_unit_test(test_layout),	     cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_mtu),	     cmocka_unit_test(test_caps_and_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
