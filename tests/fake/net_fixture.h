/* SPDX-License-Identifier: MIT */
/*
 * net_fixture.h - what the virtio-net queue tests share: a receive and a transmit queue on
 * fake device rings, a buffer pool, the device's scripted receive side and recorded transmit
 * side, and frame helpers with an independent checksum check.
 */
#ifndef VV_TESTS_NET_FIXTURE_H
#define VV_TESTS_NET_FIXTURE_H

/* cmocka wants these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_net.h>

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

/* One test's virtio-net queues, their fake device rings and what the device saw. */
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
	unsigned in_order; /* VIRTIO_F_IN_ORDER: the device's used entries per batch; 0: off */
};

/* What setup_t() builds: the features negotiated; a fill or ring size of 0 means 8 or 32. */
struct cfg {
	bool mrg, guest_csum, csum, indirect;
	unsigned fill, ring;
	unsigned in_order; /* > 0: IN_ORDER, a device writing one used entry per that many */
};

/* A net device's rx and tx queues on fake rings, with the pool filled and rx refilled. */
struct t *setup_t(struct cfg c);
void teardown_t(struct t *t);
/* A driver ring and the fake device's view of it, in the shared fake memory. */
struct vv_vq *make_ring(struct t *t, struct fake_ring *dev, unsigned index, unsigned num,
			bool indirect, bool threaded);

/* Scripts one receive buffer: a header (only if @hdr) and @len bytes of @data. */
void script(struct t *t, const struct virtio_net_hdr_v1 *hdr, const uint8_t *data, uint32_t len);
struct virtio_net_hdr_v1 hdr(uint8_t flags, uint16_t nbufs);
void pattern(uint8_t *p, size_t len, unsigned seed);
/* Receives everything the device has; frees all frames except the first, returned. */
struct vv_net_buf *rx_first(struct t *t, int *ret_n);
/* Every buffer is free or posted for receive; nothing is in flight on transmit. */
void assert_pool_idle(struct t *t);

/* An Ethernet + IPv4 + UDP frame with the UDP checksum field holding the pseudo sum. */
uint32_t udp_frame(uint8_t *p, uint32_t payload, uint16_t *ret_pseudo);
/* Independent check: the ones' complement sum over pseudo header and UDP is all ones. */
bool udp_csum_ok(const uint8_t *p, uint32_t len);
void copy_frame(struct vv_net_buf *f, uint8_t *out);

#endif /* VV_TESTS_NET_FIXTURE_H */
