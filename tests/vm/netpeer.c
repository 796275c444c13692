// SPDX-License-Identifier: MIT
/*
 * netpeer.c - the kernel's side of the VM net tests: raw test frames (netframe.h) through an
 * AF_PACKET socket on an interface the kernel's virtio-net drives.
 *
 *   vv-netpeer send IF DSTMAC COUNT SIZE         frames to DSTMAC, paced by the socket
 *   vv-netpeer recv IF COUNT TIMEOUT_S           receive and check COUNT frames
 *   vv-netpeer gen IF DSTMAC SECONDS SIZE WINDOW [MAX]   round trips through a reflector
 *   vv-netpeer reflect IF SECONDS                swap the MACs of what comes, send it back
 *   vv-netpeer blast IF DSTMAC SECONDS SIZE      send as fast as the socket takes
 *   vv-netpeer count IF SECONDS                  frames and bytes received, per second
 *   vv-netpeer tcpecho - PORT SECONDS            a TCP echo server on the kernel's stack
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netframe.h"
#include "packet.h"

#define MAXF 65536

static int sock;
static int ifindex;
static uint8_t mymac[6];
static uint8_t buf[MAXF];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void open_if(const char *ifname)
{
	const char *what;
	int big = 32 << 20;

	sock = packet_open(ifname, NF_ETHERTYPE, &ifindex, mymac, &what);
	if (sock < 0)
		die(what);
	/* Past rmem_max (root): a slow reader must not lose frames to a full socket. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
}

static int send_frame(const uint8_t *p, size_t len, bool block)
{
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};

	memcpy(sa.sll_addr, p, 6);
	for (;;) {
		ssize_t n = sendto(sock, p, len, block ? 0 : MSG_DONTWAIT, (struct sockaddr *)&sa,
				   sizeof(sa));

		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno == ENOBUFS && block) {
			usleep(100); /* the qdisc is full: the device is behind */
			continue;
		}
		return -errno;
	}
}

/* Receives one frame within @ms milliseconds; its length, 0 on timeout. */
static ssize_t recv_frame(int ms)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);

	for (;;) {
		ssize_t n = recvfrom(sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);

		if (n > 0 && from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (n >= 0)
			return n;
		if (errno != EAGAIN)
			die("recvfrom");
		if (poll(&p, 1, ms) <= 0)
			return 0;
	}
}

static int cmd_send(uint8_t dst[6], unsigned count, unsigned size)
{
	static uint8_t f[MAXF];

	for (unsigned seq = 0; seq < count; seq++) {
		nf_fill(f, size, dst, mymac, seq);
		if (send_frame(f, size, true))
			die("sendto");
	}
	printf("sent %u\n", count);
	return 0;
}

/* Checks frames against netframe.h: bytes, sequence order is not required. */
static int cmd_recv(unsigned count, unsigned timeout_s)
{
	unsigned frames = 0, bad = 0;
	unsigned long long bytes = 0;
	double end = nf_now() + timeout_s;

	while (frames < count && nf_now() < end) {
		ssize_t n = recv_frame(100);
		uint32_t seq;

		if (n < NF_HDR)
			continue;
		seq = nf_get32(buf + 14);
		if (nf_get32(buf + 18) != NF_MAGIC)
			continue;
		for (ssize_t i = NF_HDR; i < n; i++)
			if (buf[i] != nf_byte(seq, (size_t)i)) {
				bad++;
				break;
			}
		frames++;
		bytes += (unsigned long long)n;
	}
	printf("frames %u bytes %llu bad %u\n", frames, bytes, bad);
	return frames == count && !bad ? 0 : 1;
}

static int cmd_gen(uint8_t dst[6], unsigned secs, unsigned size, unsigned window,
		   unsigned long long max)
{
	static uint8_t f[MAXF];
	unsigned long long got = 0, bytes = 0, lost = 0;
	unsigned outstanding = 0, seq = 0;
	double start = nf_now(), end = start + secs, t;

	nf_fill(f, size, dst, mymac, 0);
	while ((t = nf_now()) < end && got < max) {
		ssize_t n;

		while (outstanding < window && seq < max + lost) {
			nf_put32(f + 14, seq++);
			if (send_frame(f, size, false))
				break;
			outstanding++;
		}
		n = recv_frame(100);
		if (n == 0) {
			lost += outstanding; /* nothing for 100 ms: what was out is gone */
			outstanding = 0;
			continue;
		}
		if (n < NF_HDR || memcmp(buf + 6, dst, 6))
			continue;
		got++;
		bytes += (unsigned long long)n;
		if (outstanding)
			outstanding--;
	}
	t = nf_now() - start;
	printf("fps %.0f mbps %.1f frames %llu lost %llu\n", got / t, bytes * 8 / t / 1e6, got,
	       lost);
	return 0;
}

static int cmd_reflect(unsigned secs)
{
	unsigned long long n_ref = 0;
	double end = nf_now() + secs;

	while (nf_now() < end) {
		ssize_t n = recv_frame(100);
		uint8_t tmp[6];

		if (n < NF_HDR)
			continue;
		memcpy(tmp, buf, 6);
		memcpy(buf, buf + 6, 6);
		memcpy(buf + 6, tmp, 6);
		if (!send_frame(buf, (size_t)n, true))
			n_ref++;
	}
	printf("reflected %llu\n", n_ref);
	return 0;
}

static int cmd_blast(uint8_t dst[6], unsigned secs, unsigned size)
{
	static uint8_t f[MAXF];
	unsigned long long sent = 0;
	double start = nf_now(), end = start + secs, t;

	nf_fill(f, size, dst, mymac, 0);
	while (nf_now() < end) {
		nf_put32(f + 14, (uint32_t)sent);
		if (!send_frame(f, size, true))
			sent++;
	}
	t = nf_now() - start;
	printf("sent %llu fps %.0f\n", sent, sent / t);
	return 0;
}

static int cmd_count(unsigned secs)
{
	unsigned long long frames = 0, bytes = 0;
	double start = 0, last = 0, end = nf_now() + secs;

	while (nf_now() < end) {
		ssize_t n = recv_frame(100);

		if (n < NF_HDR)
			continue;
		if (!frames)
			start = nf_now();
		last = nf_now();
		frames++;
		bytes += (unsigned long long)n;
	}
	/* The rate over the time frames actually came. */
	printf("frames %llu fps %.0f mbps %.1f\n", frames,
	       last > start ? (frames - 1) / (last - start) : 0.0,
	       last > start ? bytes * 8 / (last - start) / 1e6 : 0.0);
	return 0;
}

/* One connection at a time, echoed until it closes: the kernel's side of the TCP bench. */
static int cmd_tcpecho(unsigned port, unsigned secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	double end = nf_now() + secs;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		die("tcpecho listen");
	while (nf_now() < end) {
		struct pollfd p = {.fd = l, .events = POLLIN};
		int c;

		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept(l, NULL, NULL);
		for (ssize_t n; c >= 0 && (n = read(c, buf, sizeof(buf))) > 0;)
			for (ssize_t off = 0, w; off < n; off += w)
				if ((w = write(c, buf + off, (size_t)(n - off))) <= 0)
					break;
		if (c >= 0)
			close(c);
	}
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t dst[6];

	if (argc == 5 && !strcmp(argv[1], "tcpecho"))
		return cmd_tcpecho((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));

	if (argc < 3) {
		fprintf(stderr, "usage: see the comment at the top of netpeer.c\n");
		return 2;
	}
	open_if(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "send") && argc == 6 && nf_parse_mac(argv[3], dst))
		return cmd_send(dst, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
	if (!strcmp(argv[1], "recv") && argc == 5)
		return cmd_recv((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
	if (!strcmp(argv[1], "gen") && (argc == 7 || argc == 8) && nf_parse_mac(argv[3], dst))
		return cmd_gen(dst, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]),
			       (unsigned)atoi(argv[6]),
			       argc == 8 ? strtoull(argv[7], NULL, 10) : ~0ULL);
	if (!strcmp(argv[1], "reflect") && argc == 4)
		return cmd_reflect((unsigned)atoi(argv[3]));
	if (!strcmp(argv[1], "blast") && argc == 6 && nf_parse_mac(argv[3], dst))
		return cmd_blast(dst, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
	if (!strcmp(argv[1], "count") && argc == 4)
		return cmd_count((unsigned)atoi(argv[3]));
	fprintf(stderr, "vv-netpeer: bad arguments\n");
	return 2;
}
