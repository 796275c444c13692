// SPDX-License-Identifier: MIT
/*
 * pktmmap.c - the kernel's fastest raw frame path, for `scripts/bench net`: AF_PACKET with
 * memory-mapped rings (PACKET_MMAP, TPACKET_V2), sends with PACKET_QDISC_BYPASS, so that
 * frames go from the ring to the driver's xmit with no copy through a socket buffer call
 * per frame and no qdisc.
 *
 *   vv-pktmmap tx IF DSTMAC SIZE SECONDS      keep the TX ring full, flush it with send()
 *   vv-pktmmap rx IF SECONDS                  frames that reach the RX ring
 *
 * Counted the way testpmd counts on its side: tx reports the frames the driver took (the
 * interface's tx_packets over the run; a frame the driver refuses, its ring being full, is
 * dropped by the bypass path and not counted), rx the frames the ring handed us. Each prints
 * one line: "frames N bytes N seconds S pps P" (bytes: frame bytes, no FCS).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netframe.h"
#include "packet.h"

#define FRAME_SIZE 16384 /* a ring slot: a 9000-byte frame and the tpacket header */
#define NFRAMES	   512

static int sock, ifindex;
static uint8_t mymac[6];
static const char *ifname;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t if_stat(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &v) != 1)
		die(path);
	fclose(f);
	return v;
}

static uint8_t *map_ring(int opt)
{
	int v = TPACKET_V2;
	struct tpacket_req req = {.tp_block_size = FRAME_SIZE,
				  .tp_block_nr = NFRAMES,
				  .tp_frame_size = FRAME_SIZE,
				  .tp_frame_nr = NFRAMES};
	void *ring;

	if (setsockopt(sock, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)))
		die("PACKET_VERSION");
	if (setsockopt(sock, SOL_PACKET, opt, &req, sizeof(req)))
		die(opt == PACKET_TX_RING ? "PACKET_TX_RING" : "PACKET_RX_RING");
	ring = mmap(NULL, (size_t)FRAME_SIZE * NFRAMES, PROT_READ | PROT_WRITE, MAP_SHARED, sock,
		    0);
	if (ring == MAP_FAILED)
		die("mmap");
	return ring;
}

static void report(uint64_t frames, uint64_t bytes, double secs)
{
	printf("frames %" PRIu64 " bytes %" PRIu64 " seconds %.3f pps %.0f\n", frames, bytes, secs,
	       (double)frames / secs);
}

static int cmd_tx(const uint8_t dst[6], unsigned size, unsigned secs)
{
	int one = 1;
	uint8_t *ring;
	unsigned next = 0;
	uint64_t p0, b0, queued = 0;
	double start, end;
	/* Where the frame goes in a TPACKET_V2 slot: after the header, as the kernel expects. */
	const size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);

	/* Straight to the driver (dev_queue_xmit's qdisc skipped): the kernel's fastest path. */
	if (setsockopt(sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("PACKET_QDISC_BYPASS");
	ring = map_ring(PACKET_TX_RING);
	for (unsigned i = 0; i < NFRAMES; i++)
		nf_fill(ring + (size_t)i * FRAME_SIZE + off, size, dst, mymac, i);
	p0 = if_stat("tx_packets");
	b0 = if_stat("tx_bytes");
	start = nf_now();
	end = start + secs;
	while (nf_now() < end) {
		unsigned added = 0;

		/* Every slot the kernel is done with goes back in, then one send() flushes all. */
		for (unsigned k = 0; k < NFRAMES; k++) {
			struct tpacket2_hdr *h = (void *)(ring + (size_t)next * FRAME_SIZE);

			if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
				break;
			h->tp_len = size;
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			next = (next + 1) % NFRAMES;
			added++;
		}
		queued += added;
		/*
		 * MSG_DONTWAIT: hand the frames to the driver and return, never waiting for their
		 * completions (virtio-net reports them late, with TX interrupts suppressed). A
		 * frame the driver cannot take now (its ring full: ENOBUFS) stays queued in our
		 * ring and goes with the next send(), as a polling driver would retry it.
		 */
		if (send(sock, NULL, 0, MSG_DONTWAIT) < 0 && errno != ENOBUFS && errno != EAGAIN)
			die("send");
	}
	/* What the driver took: its counter, which counts completions; wait for the last. */
	usleep(200000);
	report(if_stat("tx_packets") - p0, if_stat("tx_bytes") - b0, nf_now() - start - 0.2);
	fprintf(stderr, "vv-pktmmap: %" PRIu64 " frames given to the ring\n", queued);
	return 0;
}

static int cmd_rx(unsigned secs)
{
	uint8_t *ring = map_ring(PACKET_RX_RING);
	uint64_t frames = 0, bytes = 0;
	unsigned next = 0;
	double start = nf_now(), end = start + secs;
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);

	while (nf_now() < end) {
		struct tpacket2_hdr *h = (void *)(ring + (size_t)next * FRAME_SIZE);
		struct pollfd p = {.fd = sock, .events = POLLIN};

		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
			poll(&p, 1, 100);
			continue;
		}
		frames++;
		bytes += h->tp_len;
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		next = (next + 1) % NFRAMES;
	}
	report(frames, bytes, nf_now() - start);
	if (!getsockopt(sock, SOL_PACKET, PACKET_STATISTICS, &st, &sl))
		fprintf(stderr, "vv-pktmmap: ring full, %u frames dropped\n", st.tp_drops);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t dst[6];
	const char *what;

	if (argc < 3) {
		fprintf(stderr, "usage: see the comment at the top of pktmmap.c\n");
		return 2;
	}
	ifname = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	sock = packet_open(ifname, NF_ETHERTYPE, &ifindex, mymac, &what);
	if (sock < 0)
		die(what);
	if (!strcmp(argv[1], "tx") && argc == 6 && nf_parse_mac(argv[3], dst) &&
	    atoi(argv[4]) >= 60 && atoi(argv[4]) <= 9018)
		return cmd_tx(dst, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
	if (!strcmp(argv[1], "rx") && argc == 4)
		return cmd_rx((unsigned)atoi(argv[3]));
	fprintf(stderr, "vv-pktmmap: bad arguments\n");
	return 2;
}
