// SPDX-License-Identifier: MIT
/*
 * net-echo.c - the smallest useful program on libvirtio-vfio's virtio-net API: it answers ARP
 * and ping for one IPv4 address on an attached virtio-net function.
 *
 * It shows the whole embedding model: vv_net_open(), an epoll loop on the receive eventfd
 * (armed with vv_net_rx_enable_notify() before each sleep), vv_net_rx_burst() to take
 * frames in their DMA buffers, and vv_net_tx_burst() to send a reply built in the very
 * buffer the request arrived in (no copy, no allocation). Everything else is freed back to
 * the pool with vv_net_buf_free().
 *
 * Build (see examples/Makefile):
 *   cc -o net-echo net-echo.c $(pkg-config --cflags --libs libvirtio-vfio)
 * Run, after `virtio-vfio attach 0000:02:00.0`:
 *   ./net-echo 0000:02:00.0 198.18.0.1        (Ctrl-C or SIGTERM to stop)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#define BURST 32

static uint8_t mac[6];
static uint32_t my_ip; /* network byte order */

/* RFC 1071 checksum over @len bytes. */
static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Turns the Ethernet header around: back to the sender, from us. */
static void reply_eth(uint8_t *f)
{
	memcpy(f, f + 6, 6);
	memcpy(f + 6, mac, 6);
}

/* An ARP request for our address becomes the reply, in place. Returns true to send it. */
static bool arp(uint8_t *f, uint32_t len)
{
	uint8_t *a = f + 14;

	if (len < 42 || memcmp(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8) ||
	    memcmp(a + 24, &my_ip, 4))
		return false;
	reply_eth(f);
	a[7] = 2;		   /* reply */
	memcpy(a + 18, a + 8, 10); /* target = the asker */
	memcpy(a + 8, mac, 6);	   /* sender = us */
	memcpy(a + 14, &my_ip, 4);
	return true;
}

/* An ICMP echo request to us becomes the echo reply, in place. */
static bool ping(uint8_t *f, uint32_t len)
{
	uint8_t *ip = f + 14, *icmp;
	uint32_t ihl, tot;
	uint16_t c;

	if (len < 14 + 20 + 8 || (ip[0] >> 4) != 4 || ip[9] != 1 || memcmp(ip + 16, &my_ip, 4))
		return false;
	ihl = (ip[0] & 15) * 4u;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	if (ihl < 20 || tot < ihl + 8 || 14 + tot > len)
		return false;
	icmp = ip + ihl;
	if (icmp[0] != 8 || csum(icmp, tot - ihl) != 0)
		return false;
	reply_eth(f);
	memcpy(ip + 16, ip + 12, 4); /* destination = the sender */
	memcpy(ip + 12, &my_ip, 4);
	ip[8] = 64;
	ip[10] = ip[11] = 0;
	c = csum(ip, ihl);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	icmp[0] = 0; /* echo reply */
	icmp[2] = icmp[3] = 0;
	c = csum(icmp, tot - ihl);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	return true;
}

/* Answers what deserves an answer, frees the rest; returns frames sent. */
static int serve(struct vv_net *net)
{
	struct vv_net_buf *in[BURST], *out[BURST];
	int n = vv_net_rx_burst(net, 0, in, BURST), nout = 0, sent = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct vv_net_buf *f = in[i];
		bool answer = false;

		if (!f->next && f->len >= 14) { /* one segment: frames this small always are */
			uint16_t type = (uint16_t)(f->data[12] << 8 | f->data[13]);

			answer = type == 0x0806 ? arp(f->data, f->len)
						: type == 0x0800 && ping(f->data, f->len);
		}
		if (answer)
			out[nout++] = f; /* the request's buffer carries the reply */
		else
			vv_net_buf_free(f);
	}
	if (nout) {
		sent = vv_net_tx_burst(net, 0, out, (unsigned)nout);
		if (sent < 0)
			sent = 0;
		for (int i = sent; i < nout; i++)
			vv_net_buf_free(out[i]); /* the ring was full: drop, the peer retries */
	}
	return sent;
}

int main(int argc, char **argv)
{
	struct vv_net *net;
	struct epoll_event ev = {.events = EPOLLIN};
	struct in_addr a;
	unsigned long replies = 0;
	sigset_t sigs;
	int ret, ep, sfd, rx_fd, cfg_fd;

	if (argc != 3 || inet_pton(AF_INET, argv[2], &a) != 1) {
		fprintf(stderr, "usage: %s BDF IPV4-ADDRESS\n", argv[0]);
		return 2;
	}
	my_ip = a.s_addr;
	ret = vv_net_open(argv[1], NULL, &net);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(-ret));
		return 1;
	}
	vv_net_mac(net, mac);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	rx_fd = vv_net_rx_eventfd(net, 0);
	cfg_fd = vv_net_config_eventfd(net);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (rx_fd >= 0) {
		ev.data.fd = rx_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, rx_fd, &ev);
	}
	if (cfg_fd >= 0 && cfg_fd != rx_fd) {
		ev.data.fd = cfg_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, cfg_fd, &ev);
	}
	printf("%s: answering ARP and ping for %s as %02x:%02x:%02x:%02x:%02x:%02x\n", argv[1],
	       argv[2], mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	fflush(stdout);

	for (;;) {
		struct epoll_event got[4];
		int n = serve(net);

		if (n < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], strerror(-n));
			break;
		}
		replies += (unsigned long)n;
		/* Sleep only if nothing arrived since the last look (else serve again). */
		if (rx_fd >= 0 && !vv_net_rx_enable_notify(net, 0))
			continue;
		n = epoll_wait(ep, got, 4, rx_fd >= 0 ? -1 : 1); /* no MSI-X: poll each ms */
		vv_net_rx_disable_notify(net, 0);
		for (int i = 0; i < n; i++) {
			uint64_t v;

			if (got[i].data.fd == sfd)
				goto out;
			if (read(got[i].data.fd, &v, sizeof(v)) < 0)
				continue;
			if (got[i].data.fd == cfg_fd) {
				bool changed;

				if (!vv_net_link_update(net, &changed) && changed)
					printf("link %s\n", vv_net_link_up(net) ? "up" : "down");
			}
		}
	}
out:
	printf("%lu replies\n", replies);
	vv_net_close(net);
	return 0;
}
