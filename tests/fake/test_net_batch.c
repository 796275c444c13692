// SPDX-License-Identifier: MIT
/*
 * test_net_batch.c - the batched virtio-net paths against the fake device, at their edges:
 * a partial burst when the ring is nearly full (header slots of the frames left out given
 * back), bursts longer than one ring call, an invalid frame in the middle of a batch, a
 * reclaim of more completions than one call takes, one frame twice in a burst, a receive burst
 * shorter than what is ready, a merged frame taken one buffer at a time, a hostile buffer in the
 * middle of a batch (the good frames before it returned, the buffers after it back in the pool),
 * and freeing frames in bulk (NULL entries, a double free in the same call).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "net_fixture.h"

/* A frame of @len bytes starting @off bytes into its buffer (below NET_HDR_LEN: no room for
 * the header, which then goes into a header slot of the queue). */
static struct vv_net_buf *frame_at(struct t *t, uint32_t off, uint32_t len, unsigned seed)
{
	struct net_buf *b;

	assert_int_equal(net_pool_get(&t->pool, &b, 1), 1);
	net_buf_reset(b, off);
	pattern(b->pub.data, len, seed);
	b->pub.len = len;
	return &b->pub;
}

static void test_partial_burst_nearly_full(void **state)
{
	for (uint32_t off = 0; off <= NET_HDR_LEN; off += NET_HDR_LEN) {
		/* Indirect: a frame with a header slot still takes one ring entry. */
		struct t *t = setup_t((struct cfg){.ring = 8, .indirect = true});
		struct vv_net_buf *f[12];
		unsigned slots = t->tx.nfree_slots;

		for (unsigned i = 0; i < 12; i++)
			f[i] = frame_at(t, off, 64, i);
		assert_int_equal(net_txq_burst(&t->tx, f, 5), 5);
		/* Three slots left and nothing to reclaim: three of six go. */
		assert_int_equal(net_txq_burst(&t->tx, f + 5, 6), 3);
		assert_int_equal(t->st.tx_packets, 8);
		assert_int_equal(t->st.tx_inflight, 8);
		/* The three refused are still the application's, their header slots free. */
		for (unsigned i = 8; i < 11; i++)
			assert_int_equal(net_buf_of(f[i])->state, NB_APP);
		assert_int_equal(t->tx.nfree_slots, off ? slots : slots - 8);
		assert_int_equal(fake_ring_process(&t->txdev), 8);
		assert_int_equal(net_txq_burst(&t->tx, f + 8, 4), 4);
		assert_int_equal(fake_ring_process(&t->txdev), 4);
		assert_int_equal(net_txq_reclaim(&t->tx), 4);
		assert_int_equal(t->seen.frames, 12);
		assert_int_equal(t->tx.nfree_slots, slots);
		assert_pool_idle(t);
		teardown_t(t);
	}
}

static void test_long_burst_and_reclaim(void **state)
{
	struct t *t = setup_t((struct cfg){.ring = 64, .fill = 8});
	struct vv_net_buf *f[70];

	/* 70 frames on a 64-entry ring: three ring calls, 64 taken. */
	for (unsigned i = 0; i < 70; i++)
		f[i] = frame_at(t, NET_HDR_LEN, 60, i);
	assert_int_equal(net_txq_burst(&t->tx, f, 70), 64);
	assert_int_equal(t->st.tx_bytes, 64 * 60);
	assert_int_equal(fake_ring_process(&t->txdev), 64);
	/* 64 completions: more than one call of the reclaim takes. */
	assert_int_equal(net_txq_reclaim(&t->tx), 64);
	assert_int_equal(net_txq_burst(&t->tx, f + 64, 6), 6);
	fake_ring_process(&t->txdev);
	assert_int_equal(net_txq_reclaim(&t->tx), 6);
	assert_int_equal(t->seen.frames, 70);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_invalid_mid_batch(void **state)
{
	struct t *t = setup_t((struct cfg){.ring = 16});
	struct vv_net_buf *f[6];

	for (unsigned i = 0; i < 6; i++)
		f[i] = frame_at(t, i % 2 ? 0 : NET_HDR_LEN, 60, i);
	f[3]->len = 13; /* shorter than an Ethernet header */
	assert_int_equal(net_txq_burst(&t->tx, f, 6), 3);
	assert_int_equal(t->st.tx_packets, 3);
	assert_int_equal(net_buf_of(f[3])->state, NB_APP);
	/* An invalid first frame: the error itself. */
	assert_int_equal(net_txq_burst(&t->tx, f + 3, 3), -EINVAL);
	f[3]->len = 60;
	assert_int_equal(net_txq_burst(&t->tx, f + 3, 3), 3);
	assert_int_equal(fake_ring_process(&t->txdev), 6);
	assert_int_equal(net_txq_reclaim(&t->tx), 6);
	assert_int_equal(t->tx.nfree_slots, t->tx.nslots);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_same_frame_twice(void **state)
{
	struct t *t = setup_t((struct cfg){.ring = 16});
	struct vv_net_buf *f[4], *a = frame_at(t, NET_HDR_LEN, 60, 1),
				 *b = frame_at(t, NET_HDR_LEN, 60, 2);

	/* One burst naming a frame twice: it goes out once, the call stops at the repeat. */
	f[0] = a, f[1] = b, f[2] = a;
	assert_int_equal(net_txq_burst(&t->tx, f, 3), 2);
	/* A chain holding a buffer sent earlier in the same burst is refused too. */
	f[0] = frame_at(t, NET_HDR_LEN, 60, 3);
	f[1] = frame_at(t, NET_HDR_LEN, 60, 4);
	f[1]->next = f[0];
	assert_int_equal(net_txq_burst(&t->tx, f, 2), 1);
	assert_int_equal(net_buf_of(f[1])->state, NB_APP);
	f[1]->next = NULL;
	net_pool_put_frames(&f[1], 1);
	assert_int_equal(fake_ring_process(&t->txdev), 3);
	assert_int_equal(net_txq_reclaim(&t->tx), 3);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_short_burst(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 8});
	struct vv_net_buf *f[8];

	assert_int_equal(fake_ring_process(&t->rxdev), 8);
	/* Three of the eight ready: the other five stay on the ring for the next call. */
	assert_int_equal(net_rxq_burst(&t->rx, f, 3), 3);
	assert_int_equal(t->rx.posted, 8); /* refilled behind them */
	net_pool_put_frames(f, 3);
	assert_int_equal(net_rxq_burst(&t->rx, f, 8), 5);
	net_pool_put_frames(f, 5);
	assert_int_equal(t->st.rx_packets, 8);
	assert_int_equal(t->st.rx_bytes, 8 * 60);
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_merged_one_at_a_time(void **state)
{
	struct t *t = setup_t((struct cfg){.mrg = true, .fill = 8});
	struct virtio_net_hdr_v1 h = hdr(0, 3);
	static uint8_t data[5000], got[5000];
	uint32_t first = BUF_SIZE - NET_HDR_LEN;
	struct vv_net_buf *f;

	pattern(data, sizeof(data), 3);
	script(t, &h, data, first);
	script(t, NULL, data + first, BUF_SIZE);
	script(t, NULL, data + first + BUF_SIZE, 5000 - first - BUF_SIZE);
	fake_ring_process(&t->rxdev);
	/* Room for one frame: three buffers taken one by one until it is whole. */
	assert_int_equal(net_rxq_burst(&t->rx, &f, 1), 1);
	assert_int_equal(f->pkt_len, 5000);
	copy_frame(f, got);
	assert_memory_equal(got, data, 5000);
	net_pool_put_frames(&f, 1);
	/* The five fillers are next. */
	{
		struct vv_net_buf *g[8];

		assert_int_equal(net_rxq_burst(&t->rx, g, 8), 5);
		net_pool_put_frames(g, 5);
	}
	assert_pool_idle(t);
	teardown_t(t);
}

static void test_rx_hostile_mid_batch(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 8});
	struct virtio_net_hdr_v1 h = hdr(0, 1);
	uint8_t data[64] = {1}, five[5] = {0};
	struct vv_net_buf *f[8];

	script(t, &h, data, sizeof(data));
	script(t, &h, data, sizeof(data));
	script(t, NULL, five, 5); /* shorter than the header */
	assert_int_equal(fake_ring_process(&t->rxdev), 8);
	/* The two good frames before it come back; the queue is broken. */
	assert_int_equal(net_rxq_burst(&t->rx, f, 8), 2);
	assert_true(vv_vq_is_broken(t->rxvq));
	assert_int_equal(net_rxq_burst(&t->rx, f + 2, 6), -EIO);
	/* The buffers taken after the bad one are back in the pool, none lost. */
	assert_int_equal(t->rx.posted, 0);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS - 2);
	net_pool_put_frames(f, 2);
	assert_int_equal(net_pool_nfree(&t->pool), NBUFS);
	teardown_t(t);
}

static void test_free_bulk(void **state)
{
	struct t *t = setup_t((struct cfg){.fill = 8});
	unsigned before = net_pool_nfree(&t->pool);
	struct vv_net_buf *f[5];

	for (unsigned i = 0; i < 4; i++)
		f[i] = frame_at(t, NET_HDR_LEN, 60, i);
	f[1]->next = f[2]; /* a chain of two */
	f[2] = NULL;
	f[4] = f[0]; /* freed twice in one call: the second is refused */
	assert_int_equal(net_pool_nfree(&t->pool), before - 4);
	net_pool_put_frames(f, 5);
	assert_int_equal(net_pool_nfree(&t->pool), before);
	assert_pool_idle(t);
	teardown_t(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_burst_nearly_full),
		cmocka_unit_test(test_long_burst_and_reclaim),
		cmocka_unit_test(test_invalid_mid_batch),
		cmocka_unit_test(test_same_frame_twice),
		cmocka_unit_test(test_rx_short_burst),
		cmocka_unit_test(test_rx_merged_one_at_a_time),
		cmocka_unit_test(test_rx_hostile_mid_batch),
		cmocka_unit_test(test_free_bulk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
