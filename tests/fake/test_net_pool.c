// SPDX-License-Identifier: MIT
/*
 * test_net_pool.c - the virtio-net buffer pool under long random traffic both ways (merged
 * receive buffers, echoes, own sends, bursts): every buffer accounted for at the end.
 */
#include <endian.h>

#include "net_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_run_no_leak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
