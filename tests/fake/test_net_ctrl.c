// SPDX-License-Identifier: MIT
/*
 * test_net_ctrl.c - the virtio-net control queue against a fake device on its own thread:
 * commands on the wire, ERR and garbage acks, and a device that never answers.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "devs/net_ctrl.h"
#include "net_fixture.h"

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
		cmocka_unit_test(test_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
