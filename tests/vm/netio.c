// SPDX-License-Identifier: MIT
/*
 * netio.c - our side of the VM net tests, through the public vv_net API only.
 *
 *   vv-netio [--pairs N] BDF info                  what vv_net_get_info() says
 *   vv-netio [--pairs N] BDF ctrl                  control requests and their answers
 *   vv-netio BDF filter MODE SECONDS               set MODE, then count test frames by kind
 *          MODE: default | nopromisc | promisc | allmulti | mac=XX:XX:XX:XX:XX:XX
 *   vv-netio BDF recv COUNT TIMEOUT_S              receive and check COUNT test frames
 *   vv-netio BDF send DSTMAC COUNT SIZE            send test frames (chained above buf_size)
 *   vv-netio BDF reflect SECONDS [POLL_US]         swap MACs and send back, in place
 *   vv-netio BDF blast DSTMAC SECONDS SIZE         send as fast as the ring takes
 *   vv-netio BDF count SECONDS                     frames received, per second (hybrid)
 *
 * Every command but info and ctrl ends with a line "pool total= free= rx_posted=
 * tx_inflight= app=" once everything sent has been reclaimed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#include "netframe.h"

#define BURST 32

static struct vv_net *net;
static uint8_t mymac[6];

static void die(const char *what, int err)
{
	fprintf(stderr, "vv-netio: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* Waits up to @ms for the receive eventfd (or just sleeps when the device is polled). */
static void wait_rx(int ms)
{
	int fd = vv_net_rx_eventfd(net, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (fd < 0) {
		usleep(1000);
		return;
	}
	if (!vv_net_rx_enable_notify(net, 0)) {
		vv_net_rx_disable_notify(net, 0);
		return;
	}
	if (poll(&p, 1, ms) > 0 && read(fd, &v, sizeof(v)) < 0)
		perror("read");
	vv_net_rx_disable_notify(net, 0);
}

static void drain_tx(void)
{
	struct vv_net_stats s;

	for (int i = 0; i < 2000; i++) {
		vv_net_tx_reclaim(net, 0);
		vv_net_get_stats(net, VV_NET_ALL_PAIRS, &s);
		if (!s.bufs_tx_inflight)
			return;
		usleep(1000);
	}
}

static void print_pool(void)
{
	struct vv_net_stats s;

	drain_tx();
	vv_net_get_stats(net, VV_NET_ALL_PAIRS, &s);
	printf("stats rx_packets=%llu rx_dropped=%llu tx_packets=%llu refill_empty=%llu\n",
	       (unsigned long long)s.rx_packets, (unsigned long long)s.rx_dropped,
	       (unsigned long long)s.tx_packets, (unsigned long long)s.rx_refill_empty);
	printf("pool total=%u free=%u rx_posted=%u tx_inflight=%u app=%u\n", s.bufs_total,
	       s.bufs_free, s.bufs_rx_posted, s.bufs_tx_inflight, s.bufs_app);
}

static const char *err_name(int ret)
{
	static char other[32];

	switch (ret) {
	case 0:
		return "ok";
	case -EOPNOTSUPP:
		return "EOPNOTSUPP";
	case -EINVAL:
		return "EINVAL";
	case -EIO:
		return "EIO";
	case -ETIMEDOUT:
		return "ETIMEDOUT";
	}
	snprintf(other, sizeof(other), "%d", ret);
	return other;
}

static int cmd_info(void)
{
	const struct vv_net_info *i = vv_net_get_info(net);
	static const char *caps[] = {"link_status", "mtu", "ctrl",    "promisc", "allmulti",
				     "set_mac",	    "mq",  "tx_csum", "rx_csum", "mrg_rxbuf"};
	static const char *irq[] = {"per-queue", "shared", "poll"};

	printf("mac=%02x:%02x:%02x:%02x:%02x:%02x\n", i->mac[0], i->mac[1], i->mac[2], i->mac[3],
	       i->mac[4], i->mac[5]);
	printf("mac_from_device=%d\nmtu=%u\nmax_mtu=%u\nmax_pairs=%u\npairs=%u\nactive_pairs=%u\n",
	       i->mac_from_device, vv_net_mtu(net), i->max_mtu, i->max_queue_pairs, i->queue_pairs,
	       vv_net_queue_pairs(net));
	printf("rx_ring=%u\ntx_ring=%u\nbuf_size=%u\nbufs_per_pair=%u\nlink=%s\n", i->rx_ring_size,
	       i->tx_ring_size, i->buf_size, i->bufs_per_pair, vv_net_link_up(net) ? "up" : "down");
	printf("irq=%s\ncaps=", irq[vv_device_irq_mode(vv_net_device(net))]);
	for (unsigned b = 0; b < 10; b++)
		if (i->caps & (1u << b))
			printf("%s,", caps[b]);
	printf("\nfeatures=0x%llx\n", (unsigned long long)i->features);
	return 0;
}

static int cmd_ctrl(void)
{
	const struct vv_net_info *i = vv_net_get_info(net);
	const uint8_t mcast[6] = {1, 0, 0x5e, 0, 0, 1},
		      other[6] = {2, 0x11, 0x22, 0x33, 0x44, 0x55};

	printf("pairs0=%s\n", err_name(vv_net_set_queue_pairs(net, 0)));
	printf("pairs1=%s\n", err_name(vv_net_set_queue_pairs(net, 1)));
	printf("pairs_max=%s\n", err_name(vv_net_set_queue_pairs(net, i->queue_pairs)));
	printf("pairs_over=%s\n", err_name(vv_net_set_queue_pairs(net, i->queue_pairs + 1u)));
	printf("active_pairs=%u\n", vv_net_queue_pairs(net));
	printf("mtu9000=%s\n", err_name(vv_net_set_mtu(net, 9000)));
	printf("mtu1400=%s\n", err_name(vv_net_set_mtu(net, 1400)));
	printf("mtu67=%s\n", err_name(vv_net_set_mtu(net, 67)));
	printf("mtu_over=%s\n", err_name(vv_net_set_mtu(net, i->max_mtu + 1u)));
	printf("promisc_on=%s\n", err_name(vv_net_set_promisc(net, true)));
	printf("promisc_off=%s\n", err_name(vv_net_set_promisc(net, false)));
	printf("allmulti_on=%s\n", err_name(vv_net_set_allmulti(net, true)));
	printf("allmulti_off=%s\n", err_name(vv_net_set_allmulti(net, false)));
	printf("mac_mcast=%s\n", err_name(vv_net_set_mac(net, mcast)));
	printf("mac_set=%s\n", err_name(vv_net_set_mac(net, other)));
	printf("mac_back=%s\n", err_name(vv_net_set_mac(net, i->mac)));
	return 0;
}

/* Counts test frames for @secs after applying @mode, by destination kind. */
static int cmd_filter(const char *mode, unsigned secs)
{
	unsigned long to_us = 0, unicast = 0, multicast = 0, broadcast = 0;
	uint8_t mac[6];
	double end;
	int ret = 0;

	if (!strcmp(mode, "nopromisc"))
		ret = vv_net_set_promisc(net, false);
	else if (!strcmp(mode, "promisc"))
		ret = vv_net_set_promisc(net, true);
	else if (!strcmp(mode, "allmulti")) {
		ret = vv_net_set_promisc(net, false);
		if (!ret)
			ret = vv_net_set_allmulti(net, true);
	} else if (!strncmp(mode, "mac=", 4) && nf_parse_mac(mode + 4, mac)) {
		ret = vv_net_set_promisc(net, false);
		if (!ret)
			ret = vv_net_set_mac(net, mac);
	} else if (strcmp(mode, "default")) {
		fprintf(stderr, "vv-netio: unknown filter mode %s\n", mode);
		return 2;
	}
	if (ret)
		die(mode, ret);
	vv_net_mac(net, mac);
	printf("ready\n");
	fflush(stdout);
	end = nf_now() + secs;
	while (nf_now() < end) {
		struct vv_net_buf *f[BURST];
		int n = vv_net_rx_burst(net, 0, f, BURST);

		if (n < 0)
			die("rx", n);
		for (int i = 0; i < n; i++) {
			const uint8_t *d = f[i]->data;

			if (f[i]->len >= NF_HDR && d[12] == NF_ETHERTYPE >> 8 &&
			    d[13] == (NF_ETHERTYPE & 0xff)) {
				if (!memcmp(d, mac, 6))
					to_us++;
				else if (!memcmp(d, "\xff\xff\xff\xff\xff\xff", 6))
					broadcast++;
				else if (d[0] & 1)
					multicast++;
				else
					unicast++;
			}
			vv_net_buf_free(f[i]);
		}
		if (!n)
			wait_rx(50);
	}
	printf("to_us %lu other_unicast %lu multicast %lu broadcast %lu\n", to_us, unicast,
	       multicast, broadcast);
	print_pool();
	return 0;
}

/*
 * Receives test frames 0..@count-1. When some are missing, says which, and what else came
 * (another frame type, or a test frame garbled in its first bytes, by type and length): a
 * frame lost on the way from one that arrived damaged.
 */
static int cmd_recv(unsigned count, unsigned timeout)
{
	unsigned frames = 0, bad = 0, maxsegs = 0, others = 0;
	unsigned long long bytes = 0;
	double end = nf_now() + timeout;
	bool *seen = calloc(count ? count : 1, sizeof(*seen));
	char other[4][32];

	if (!seen)
		die("calloc", -ENOMEM);
	/* Open, buffers posted: a frame sent before this could meet a NIC being reset. */
	printf("ready\n");
	fflush(stdout);

	while (frames < count && nf_now() < end) {
		struct vv_net_buf *f[BURST];
		int n = vv_net_rx_burst(net, 0, f, BURST);

		if (n < 0)
			die("rx", n);
		for (int i = 0; i < n; i++) {
			uint8_t hdr[NF_HDR];
			unsigned segs = 0, got = 0;
			uint32_t seq;
			bool ok = true;

			/* The header may itself span segments; gather it first. */
			for (struct vv_net_buf *s = f[i]; s && got < NF_HDR; s = s->next)
				for (uint32_t k = 0; k < s->len && got < NF_HDR; k++)
					hdr[got++] = s->data[k];
			if (got < NF_HDR || nf_get32(hdr + 18) != NF_MAGIC ||
			    hdr[12] != NF_ETHERTYPE >> 8) {
				if (others < 4)
					snprintf(other[others], sizeof(other[0]), "0x%02x%02x/%u",
						 got > 13 ? hdr[12] : 0, got > 13 ? hdr[13] : 0,
						 f[i]->pkt_len);
				others++;
				vv_net_buf_free(f[i]);
				continue;
			}
			seq = nf_get32(hdr + 14);
			if (seq < count)
				seen[seq] = true;
			size_t at = 0;
			for (struct vv_net_buf *s = f[i]; s; s = s->next, segs++)
				for (uint32_t k = 0; k < s->len; k++, at++)
					if (at >= NF_HDR && s->data[k] != nf_byte(seq, at))
						ok = false;
			if (at != f[i]->pkt_len)
				ok = false;
			bad += !ok;
			maxsegs = segs > maxsegs ? segs : maxsegs;
			frames++;
			bytes += f[i]->pkt_len;
			vv_net_buf_free(f[i]);
		}
		if (!n)
			wait_rx(50);
	}
	printf("frames %u bytes %llu bad %u maxsegs %u\n", frames, bytes, bad, maxsegs);
	if (frames < count) {
		unsigned shown = 0;

		printf("missing");
		for (unsigned k = 0; k < count && shown < 8; k++) {
			if (seen[k])
				continue;
			printf(" %u", k);
			shown++;
		}
		printf("%s; other frames %u:", shown == 8 ? " ..." : "", others);
		for (unsigned k = 0; k < others && k < 4; k++)
			printf(" %s", other[k]);
		printf("\n");
	}
	free(seen);
	print_pool();
	return frames == count && !bad ? 0 : 1;
}

/* A frame of @size bytes in as many chained buffers as it takes. */
static struct vv_net_buf *build(const uint8_t dst[6], uint32_t seq, unsigned size)
{
	struct vv_net_buf *head = NULL, *tail = NULL;
	size_t at = 0;

	while (at < size) {
		struct vv_net_buf *b;

		if (vv_net_buf_alloc(net, 0, &b, 1) != 1) {
			vv_net_tx_reclaim(net, 0);
			usleep(100);
			continue;
		}
		b->len = (uint32_t)(size - at < b->room ? size - at : b->room);
		for (uint32_t k = 0; k < b->len; k++)
			b->data[k] = nf_frame_byte(dst, mymac, seq, at + k);
		at += b->len;
		if (tail)
			tail->next = b;
		else
			head = b;
		tail = b;
	}
	return head;
}

static int cmd_send(const uint8_t dst[6], unsigned count, unsigned size)
{
	unsigned sent = 0;

	while (sent < count) {
		struct vv_net_buf *f = build(dst, sent, size);
		int n;

		while ((n = vv_net_tx_burst(net, 0, &f, 1)) == 0)
			usleep(50); /* the ring is full: the device is behind */
		if (n < 0)
			die("tx", n);
		sent++;
	}
	printf("sent %u\n", sent);
	print_pool();
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Turns every frame around in its own buffer: no copy, no allocation. */
static int cmd_reflect(unsigned secs, unsigned poll_us)
{
	unsigned long long reflected = 0, dropped = 0, sleeps = 0;
	double end = nf_now() + secs, last = nf_now();

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop && nf_now() < end) {
		struct vv_net_buf *f[BURST];
		int n = vv_net_rx_burst(net, 0, f, BURST), k;

		if (n < 0)
			die("rx", n);
		for (int i = 0; i < n; i++) {
			uint8_t tmp[6];

			memcpy(tmp, f[i]->data, 6);
			memcpy(f[i]->data, f[i]->data + 6, 6);
			memcpy(f[i]->data + 6, tmp, 6);
		}
		k = n ? vv_net_tx_burst(net, 0, f, (unsigned)n) : 0;
		if (k < 0)
			die("tx", k);
		for (int i = k; i < n; i++)
			vv_net_buf_free(f[i]);
		reflected += (unsigned long long)k;
		dropped += (unsigned long long)(n - k);
		if (n) {
			last = nf_now();
			continue;
		}
		vv_net_tx_reclaim(net, 0);
		if ((nf_now() - last) * 1e6 >= poll_us) {
			sleeps++;
			wait_rx(100);
			last = nf_now();
		}
	}
	printf("reflected %llu dropped %llu sleeps %llu\n", reflected, dropped, sleeps);
	print_pool();
	return 0;
}

static int cmd_blast(const uint8_t dst[6], unsigned secs, unsigned size)
{
	unsigned long long sent = 0;
	double start = nf_now(), end = start + secs, t;

	while (nf_now() < end) {
		struct vv_net_buf *f[BURST];
		int n = vv_net_buf_alloc(net, 0, f, BURST), k;

		for (int i = 0; i < n; i++) {
			nf_fill(f[i]->data, size, dst, mymac, (uint32_t)(sent + (unsigned)i));
			f[i]->len = size;
		}
		k = n > 0 ? vv_net_tx_burst(net, 0, f, (unsigned)n) : 0;
		if (k < 0)
			die("tx", k);
		for (int i = k; i < n; i++)
			vv_net_buf_free(f[i]);
		sent += (unsigned long long)k;
		if (k < n || n <= 0)
			vv_net_tx_reclaim(net, 0);
	}
	t = nf_now() - start;
	printf("sent %llu fps %.0f\n", sent, sent / t);
	print_pool();
	return 0;
}

/* Counts what arrives; polls 50 us after the last frame, then sleeps (as `net serve`). */
static int cmd_count(unsigned secs)
{
	unsigned long long frames = 0, bytes = 0;
	double start = 0, last = 0, end = nf_now() + secs, seen = nf_now();

	while (nf_now() < end) {
		struct vv_net_buf *f[BURST];
		int n = vv_net_rx_burst(net, 0, f, BURST);

		if (n < 0)
			die("rx", n);
		for (int i = 0; i < n; i++) {
			if (!frames)
				start = nf_now();
			frames++;
			bytes += f[i]->pkt_len;
			vv_net_buf_free(f[i]);
		}
		if (n)
			last = seen = nf_now();
		else if (nf_now() - seen > 50e-6) {
			wait_rx(100);
			seen = nf_now();
		}
	}
	printf("frames %llu fps %.0f mbps %.1f\n", frames,
	       last > start ? (frames - 1) / (last - start) : 0.0,
	       last > start ? bytes * 8 / (last - start) / 1e6 : 0.0);
	print_pool();
	return 0;
}

static void log_stderr(void *opaque, enum vv_log_level level, const char *msg)
{
	fprintf(stderr, "vv-netio: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct vv_net_opts o = {0};
	const char *cmd;
	uint8_t dst[6];
	int ret, a = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("VV_LOG") == NULL)
		vv_set_log_fn(log_stderr, NULL, VV_LOG_WARN);
	while (a + 1 < argc && !strcmp(argv[a], "--pairs")) {
		o.max_queue_pairs = (unsigned)atoi(argv[a + 1]);
		a += 2;
	}
	if (argc - a < 2) {
		fprintf(stderr, "usage: see the comment at the top of netio.c\n");
		return 2;
	}
	ret = vv_net_open(argv[a], &o, &net);
	if (ret)
		die(argv[a], ret);
	vv_net_mac(net, mymac);
	cmd = argv[a + 1];
	argv += a + 2;
	argc -= a + 2;
	if (!strcmp(cmd, "info"))
		ret = cmd_info();
	else if (!strcmp(cmd, "ctrl"))
		ret = cmd_ctrl();
	else if (!strcmp(cmd, "filter") && argc == 2)
		ret = cmd_filter(argv[0], (unsigned)atoi(argv[1]));
	else if (!strcmp(cmd, "recv") && argc == 2)
		ret = cmd_recv((unsigned)atoi(argv[0]), (unsigned)atoi(argv[1]));
	else if (!strcmp(cmd, "send") && argc == 3 && nf_parse_mac(argv[0], dst))
		ret = cmd_send(dst, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]));
	else if (!strcmp(cmd, "reflect") && (argc == 1 || argc == 2))
		ret = cmd_reflect((unsigned)atoi(argv[0]),
				  argc == 2 ? (unsigned)atoi(argv[1]) : 50);
	else if (!strcmp(cmd, "blast") && argc == 3 && nf_parse_mac(argv[0], dst))
		ret = cmd_blast(dst, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]));
	else if (!strcmp(cmd, "count") && argc == 1)
		ret = cmd_count((unsigned)atoi(argv[0]));
	else {
		fprintf(stderr, "vv-netio: bad command or arguments\n");
		ret = 2;
	}
	vv_net_close(net);
	return ret;
}
