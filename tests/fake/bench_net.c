// SPDX-License-Identifier: MIT
/*
 * bench_net.c - the virtio-net queue layer's cost per frame, for callgrind
 * (bench/net-instructions.sh): bursts of 64-byte frames taken from the pool, sent and
 * reclaimed (tx), or received, refilled and given back (rx), against the fake device run
 * synchronously between bursts. These are the calls vv_net_buf_alloc(), vv_net_tx_burst(),
 * vv_net_rx_burst() and vv_net_buf_free()/vv_net_buf_free_bulk() make; the device's work
 * happens outside them, so collecting only inside them counts the driver alone. Checks that
 * every frame comes back and the pool ends where it started.
 *
 * Usage: vv-bench-net tx|rx [BURST [ITERATIONS [one|bulk]]]
 * "bulk" frees received frames with one call per burst instead of one per frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_fixture.h"

#define MAX_BURST 64

/* What the application does: named, so that callgrind can count inside it alone. */
__attribute__((noinline)) static unsigned app_alloc(struct t *t, struct vv_net_buf **f, unsigned n)
{
	struct net_buf *b[MAX_BURST];
	unsigned got = net_pool_get(&t->pool, b, n);

	for (unsigned i = 0; i < got; i++) {
		f[i] = &b[i]->pub;
		f[i]->len = 64;
	}
	return got;
}

__attribute__((noinline)) static void app_free(struct vv_net_buf **f, unsigned n, bool bulk)
{
	if (bulk) {
		net_pool_put_frames(f, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		net_pool_put_chain(net_buf_of(f[i]));
}

int main(int argc, char **argv)
{
	bool tx = argc > 1 && !strcmp(argv[1], "tx");
	unsigned burst = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
	unsigned iters = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
	bool bulk = argc > 4 && !strcmp(argv[4], "bulk");
	struct vv_net_buf *f[MAX_BURST];
	unsigned long frames = 0;
	struct t *t;

	if (argc < 2 || (!tx && strcmp(argv[1], "rx")) || !burst || burst > MAX_BURST) {
		fprintf(stderr, "usage: vv-bench-net tx|rx [BURST<=%d [ITERATIONS [one|bulk]]]\n",
			MAX_BURST);
		return 2;
	}
	/* Rings of 2 bursts, a burst of receive buffers posted: the device never waits. */
	t = setup_t((struct cfg){.ring = 2 * burst, .fill = burst});
	/* Poll mode, as net bench runs: no notifications asked for. */
	vv_vq_disable_cb(t->rxvq);
	for (unsigned it = 0; it < iters; it++) {
		int n;

		if (tx) {
			unsigned got = app_alloc(t, f, burst);

			n = net_txq_burst(&t->tx, f, got);
			if (n != (int)got) {
				fprintf(stderr, "tx burst: %d of %u\n", n, got);
				return 1;
			}
			fake_ring_process(&t->txdev);
		} else {
			fake_ring_process(&t->rxdev);
			n = net_rxq_burst(&t->rx, f, burst);
			if (n != (int)burst) {
				fprintf(stderr, "rx burst: %d of %u\n", n, burst);
				return 1;
			}
			app_free(f, (unsigned)n, bulk);
		}
		frames += (unsigned long)n;
	}
	if (tx) {
		net_txq_reclaim(&t->tx);
		if (t->seen.frames != frames) {
			fprintf(stderr, "the device saw %u frames of %lu\n", t->seen.frames,
				frames);
			return 1;
		}
	}
	if (net_pool_nfree(&t->pool) != NBUFS - t->rx.posted || t->st.tx_inflight) {
		fprintf(stderr, "pool not back: %u free, %u posted, %u in flight\n",
			net_pool_nfree(&t->pool), t->rx.posted, t->st.tx_inflight);
		return 1;
	}
	printf("%s: %lu frames in bursts of %u\n", argv[1], frames, burst);
	teardown_t(t);
	return 0;
}
