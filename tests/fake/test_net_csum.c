// SPDX-License-Identifier: MIT
/*
 * test_net_csum.c - the checksum routine against a straightforward reference, on frames
 * split at random into three buffers, and its refusal of positions outside the frame.
 */
#include <errno.h>
#include <string.h>

#include "net_fixture.h"

static void test_csum_random_segments(void **state)
{
	struct t *t = setup_t((struct cfg){0});
	unsigned seed = 99;

	for (int iter = 0; iter < 200; iter++) {
		struct net_buf *b[3];
		uint8_t frame[1500], out[1500];
		uint16_t pseudo;
		uint32_t len, cut1, cut2;

		seed = seed * 1103515245 + 12345;
		len = udp_frame(frame, 1 + (seed >> 8) % 1400, &pseudo);
		cut1 = 1 + (seed >> 4) % (len - 2);
		cut2 = cut1 + 1 + (seed >> 12) % (len - cut1 - 1);
		assert_int_equal(net_pool_get(&t->pool, b, 3), 3);
		memcpy(b[0]->pub.data, frame, cut1);
		memcpy(b[1]->pub.data, frame + cut1, cut2 - cut1);
		memcpy(b[2]->pub.data, frame + cut2, len - cut2);
		b[0]->pub.len = cut1;
		b[1]->pub.len = cut2 - cut1;
		b[2]->pub.len = len - cut2;
		b[0]->pub.next = &b[1]->pub;
		b[1]->pub.next = &b[2]->pub;
		assert_int_equal(net_csum_complete(&b[0]->pub, len, 34, 6), 0);
		copy_frame(&b[0]->pub, out);
		assert_true(udp_csum_ok(out, len));
		assert_int_equal(net_csum_complete(&b[0]->pub, len, len - 1, 0), -EINVAL);
		assert_int_equal(net_csum_complete(&b[0]->pub, len, 0, len - 1), -EINVAL);
		assert_int_equal(net_csum_complete(&b[0]->pub, len, len + 1, 0), -EINVAL);
		net_pool_put_chain(b[0]);
	}
	teardown_t(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_random_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
