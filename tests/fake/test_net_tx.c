// SPDX-License-Identifier: MIT
/*
 * test_net_tx.c - virtio-net transmit against the fake device: the header in the headroom
 * or a header slot, chained frames, checksum offloaded or filled in by the library, invalid
 * and foreign frames refused, double send and double free refused, a full ring, IN_ORDER with
 * batched completions, and a hostile completion that gives -EIO.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "net_fixture.h"

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

/*
 * VIRTIO_F_IN_ORDER with a device that writes one used entry per three sends: the ring holds
 * one descriptor fewer (7 of 8), a chain of three (a header slot and two buffers) and single
 * frames share it in ring order, lapping it, and every frame, header slot and buffer comes
 * back from the batched entries.
 */
static void test_tx_in_order(void **state)
{
	struct t *t = setup_t((struct cfg){.ring = 8, .in_order = 3});

	for (unsigned round = 0; round < 3; round++) {
		struct vv_net_buf *f[6];

		f[0] = alloc_frame(t, 100, round);
		f[0]->data -= NET_HDR_LEN; /* no headroom: the header goes in a slot */
		f[0]->next = alloc_frame(t, 700, round + 1);
		for (unsigned i = 1; i < 6; i++)
			f[i] = alloc_frame(t, 64, round + i);
		/* 3 + 4 descriptors fill the 7: the last single frame waits. */
		assert_int_equal(net_txq_burst(&t->tx, f, 6), 5);
		assert_int_equal(t->tx.nfree_slots, t->tx.nslots - 1);
		assert_int_equal(fake_ring_process(&t->txdev), 5);
		assert_int_equal(net_txq_reclaim(&t->tx), 5);
		assert_int_equal(t->tx.nfree_slots, t->tx.nslots);
		net_pool_put_chain(net_buf_of(f[5]));
		assert_pool_idle(t);
	}
	assert_int_equal(t->st.tx_packets, 15);
	assert_false(vv_vq_is_broken(t->txvq));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_plain),
		cmocka_unit_test(test_tx_csum),
		cmocka_unit_test(test_tx_no_headroom_and_chain),
		cmocka_unit_test(test_tx_invalid),
		cmocka_unit_test(test_tx_ring_full),
		cmocka_unit_test(test_tx_in_order),
		cmocka_unit_test(test_tx_hostile_completion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
