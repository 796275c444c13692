// SPDX-License-Identifier: MIT
/*
 * nettap.c - our side of the VM case nettap, through the public vv_net API only: real IPv4
 * traffic from our address 198.18.0.1 through the run's tap (the gateway, 198.18.0.2, MAC
 * 02:76:76:00:00:02) to the far peer tests/vm/lib/tap-peer at 198.19.0.2, whose own stack
 * checks every checksum our NIC's frames arrive with (tests/vm/run, "nic tap").
 *
 *   vv-nettap [OPTS] BDF info          what was negotiated (caps by name, features)
 *   vv-nettap [OPTS] BDF udp COUNT     UDP echo: a thread and a flow per queue pair, COUNT
 *                                      datagrams each, all at once; every echo checked
 *   vv-nettap [OPTS] BDF tcp BYTES     TCP echo of BYTES over pair 0, by a minimal TCP of
 *                                      our own: sends in segmentation requests (with tso),
 *                                      receives coalesced frames (with rxtso), checks each byte
 *   vv-nettap [OPTS] BDF uso COUNT     USO (--offload csum,uso): COUNT requests of 8 datagrams
 *                                      of 1000 bytes each, every datagram's echo checked
 *   vv-nettap [OPTS] BDF rss FLOWS N   RSS (--offload rss,hash): FLOWS UDP flows sent on pair
 *                                      0, N datagrams each; each echo's hash and type checked
 *                                      against our own Toeplitz hash, its pair against the table
 *   vv-nettap BDF far [client|result]  the far peer's counters; or start its client (for
 *                                      net serve), or its client's result
 * OPTS: --pairs N; --offload LIST of csum,rxcsum,tso,uso,rxtso,rxuso,hash,rss; --segs N (MSS per
 * segmentation request, default 20).
 *
 * udp and tcp print "far_before ..." and "far_after ..." (the peer's counters), per-pair
 * counters ("pair Q tx_packets=... rx_packets=..."), the offload counters and a result line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#define BURST	  32
#define WINDOW	  32 /* UDP datagrams in flight per flow */
#define MAX_PAIRS 8
#define ETH_HLEN  14
#define IP_HLEN	  20
#define MY_IP	  0xc6120001u /* 198.18.0.1 */
#define FAR_IP	  0xc6130002u /* 198.19.0.2 */
#define UDP_BASE  5000
#define MAX_FRAME 65600

static const uint8_t gw_mac[6] = {0x02, 0x76, 0x76, 0x00, 0x00, 0x02};
static uint8_t my_mac[6];
static struct vv_net *net;
static unsigned pairs = 1, segs = 20;
static uint32_t offloads;

static _Noreturn void die(const char *what, int err)
{
	fprintf(stderr, "vv-nettap: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16), put16(p + 2, v);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

/* RFC 1071 sums: big-endian words, folded. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

/* Ethernet and IPv4 headers for @l4len bytes of @proto to the far peer. */
static void eth_ip(uint8_t *p, uint8_t proto, uint32_t l4len, uint16_t id)
{
	memcpy(p, gw_mac, 6);
	memcpy(p + 6, my_mac, 6);
	put16(p + 12, 0x0800);
	p += ETH_HLEN;
	memset(p, 0, IP_HLEN);
	p[0] = 0x45;
	put16(p + 2, IP_HLEN + l4len);
	put16(p + 4, id);
	put16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, MY_IP);
	put32(p + 16, FAR_IP);
	put16(p + 10, (uint16_t)~fold(sum16(p, IP_HLEN, 0)));
}

/* The frame's bytes in one piece (received frames may span buffers). */
static uint32_t linear(const struct vv_net_buf *f, uint8_t *out)
{
	uint32_t n = 0;

	for (; f && n < MAX_FRAME; f = f->next) {
		uint32_t k = f->len < MAX_FRAME - n ? f->len : MAX_FRAME - n;

		memcpy(out + n, f->data, k);
		n += k;
	}
	return n;
}

/* An IPv4 frame from the far peer: its L4 header offset and length, or 0. */
static uint32_t parse_ip(const uint8_t *p, uint32_t len, uint8_t proto, uint32_t *ret_l4len)
{
	uint32_t ihl, tot;

	if (len < ETH_HLEN + IP_HLEN || get16(p + 12) != 0x0800)
		return 0;
	ihl = (p[ETH_HLEN] & 15u) * 4;
	tot = get16(p + ETH_HLEN + 2);
	if ((p[ETH_HLEN] >> 4) != 4 || ihl < IP_HLEN || tot < ihl || ETH_HLEN + tot > len ||
	    p[ETH_HLEN + 9] != proto || get32(p + ETH_HLEN + 12) != FAR_IP ||
	    get32(p + ETH_HLEN + 16) != MY_IP)
		return 0;
	*ret_l4len = tot - ihl;
	return ETH_HLEN + ihl;
}

/* Whether the L4 checksum of a complete frame is right, computed here from scratch. */
static bool l4_csum_ok(const uint8_t *l4, uint32_t l4len, uint8_t proto)
{
	return fold(sum16(l4, l4len, pseudo(FAR_IP, MY_IP, proto, l4len))) == 0xffff;
}

static int open_net(const char *bdf)
{
	struct vv_net_opts o = {.max_queue_pairs = pairs, .offloads = offloads};
	int ret = vv_net_open(bdf, &o, &net);

	if (ret)
		die("vv_net_open", ret);
	vv_net_mac(net, my_mac);
	if (pairs > vv_net_get_info(net)->queue_pairs)
		die("fewer queue pairs than asked", EINVAL);
	ret = vv_net_set_queue_pairs(net, pairs);
	if (ret)
		die("vv_net_set_queue_pairs", ret);
	return 0;
}

/* --- the far peer's counters (UDP 9) ------------------------------------------------------ */

static int far_ask(const char *what, char *out, size_t size)
{
	static uint8_t lin[MAX_FRAME];

	for (int tries = 0; tries < 10; tries++) {
		struct vv_net_buf *b, *rx[BURST];
		double t0;

		if (vv_net_buf_alloc(net, 0, &b, 1) != 1)
			return -ENOBUFS;
		size_t wlen = strlen(what);

		eth_ip(b->data, 17, (uint32_t)(8 + wlen), 1);
		put16(b->data + 34, 9999);
		put16(b->data + 36, 9);
		put16(b->data + 38, (uint32_t)(8 + wlen));
		put16(b->data + 40, 0); /* no checksum (RFC 768) */
		memcpy(b->data + 42, what, wlen);
		b->len = (uint32_t)(42 + wlen);
		if (vv_net_tx_burst(net, 0, &b, 1) != 1) {
			vv_net_buf_free(b);
			usleep(10000);
			continue;
		}
		for (t0 = now(); now() - t0 < 1;) {
			int n = 0;

			/* The answer comes back on the pair the question left from, as a rule. */
			for (unsigned q = 0; q < pairs && !n; q++)
				n = vv_net_rx_burst(net, q, rx, BURST);
			if (n < 0)
				return n;
			for (int i = 0; i < n; i++) {
				uint32_t len = linear(rx[i], lin), l4len, l4;

				vv_net_buf_free(rx[i]);
				l4 = parse_ip(lin, len, 17, &l4len);
				if (!l4 || l4len < 8 || get16(lin + l4) != 9 ||
				    get16(lin + l4 + 2) != 9999)
					continue;
				snprintf(out, size, "%.*s", (int)(l4len - 8),
					 (const char *)lin + l4 + 8);
				out[strcspn(out, "\n")] = 0;
				return 0;
			}
			if (!n)
				usleep(1000);
		}
	}
	return -ETIMEDOUT;
}

static int cmd_far(const char *tag, const char *what)
{
	char line[512];
	int ret = far_ask(what, line, sizeof(line));

	if (ret)
		die("far peer's counters", ret);
	printf("%s %s\n", tag, line);
	fflush(stdout);
	return 0;
}

/* --- UDP echo, a flow per pair ---------------------------------------------------------- */

static unsigned udp_count;
static atomic_uint udp_echoed[MAX_PAIRS], udp_bad, udp_csum_flagged, udp_csum_sw;
static atomic_uint flows_done;
static double udp_deadline;

static uint32_t udp_len(uint32_t seq)
{
	return 16 + (seq * 37) % 1200;
}

static uint8_t udp_byte(unsigned flow, uint32_t seq, uint32_t i)
{
	return (uint8_t)(flow * 31 + seq * 7 + i);
}

static void udp_rx_one(struct vv_net_buf *f)
{
	static _Thread_local uint8_t lin[MAX_FRAME];
	uint32_t len = linear(f, lin), l4len, l4, plen, flow, seq;
	bool valid = f->flags & VV_NET_BUF_F_CSUM_VALID;

	vv_net_buf_free(f);
	l4 = parse_ip(lin, len, 17, &l4len);
	if (!l4 || l4len < 8 || get16(lin + l4) != 7)
		return; /* not an echo (IPv6 chatter of the tap's side, counters) */
	flow = get16(lin + l4 + 2) - UDP_BASE;
	plen = l4len - 8;
	if (flow >= pairs || plen < 8 || get16(lin + l4 + 4) != l4len) {
		atomic_fetch_add(&udp_bad, 1);
		return;
	}
	seq = get32(lin + l4 + 8);
	if (plen != udp_len(seq) || get32(lin + l4 + 12) != flow) {
		atomic_fetch_add(&udp_bad, 1);
		return;
	}
	for (uint32_t i = 8; i < plen; i++)
		if (lin[l4 + 8 + i] != udp_byte(flow, seq, i)) {
			atomic_fetch_add(&udp_bad, 1);
			return;
		}
	/* The checksum as it arrived, whatever the device said about it. */
	if (!l4_csum_ok(lin + l4, l4len, 17)) {
		atomic_fetch_add(&udp_bad, 1);
		return;
	}
	atomic_fetch_add(valid ? &udp_csum_flagged : &udp_csum_sw, 1);
	if (atomic_fetch_add(&udp_echoed[flow], 1) + 1 == udp_count)
		atomic_fetch_add(&flows_done, 1);
}

static struct vv_net_buf *udp_frame(unsigned q, uint32_t seq)
{
	struct vv_net_buf *b;
	uint32_t plen = udp_len(seq), l4len = 8 + plen;
	uint8_t *u;

	if (vv_net_buf_alloc(net, q, &b, 1) != 1)
		return NULL;
	eth_ip(b->data, 17, l4len, (uint16_t)seq);
	u = b->data + ETH_HLEN + IP_HLEN;
	put16(u, UDP_BASE + q);
	put16(u + 2, 7);
	put16(u + 4, l4len);
	put32(u + 8, seq);
	put32(u + 12, q);
	for (uint32_t i = 8; i < plen; i++)
		u[8 + i] = udp_byte(q, seq, i);
	/* Partial: the device (CSUM) or the library fills in the sum from here. */
	put16(u + 6, fold(pseudo(MY_IP, FAR_IP, 17, l4len)));
	b->flags = VV_NET_BUF_F_CSUM_PARTIAL;
	b->csum_start = ETH_HLEN + IP_HLEN;
	b->csum_offset = 6;
	b->len = ETH_HLEN + IP_HLEN + l4len;
	return b;
}

static void *udp_thread(void *arg)
{
	unsigned q = (unsigned)(uintptr_t)arg;
	uint32_t sent = 0;

	while (atomic_load(&flows_done) < pairs && now() < udp_deadline) {
		struct vv_net_buf *rx[BURST];
		bool idle = true;
		int n;

		while (sent < udp_count && sent - atomic_load(&udp_echoed[q]) < WINDOW) {
			struct vv_net_buf *b = udp_frame(q, sent);

			if (!b)
				break;
			n = vv_net_tx_burst(net, q, &b, 1);
			if (n != 1) {
				vv_net_buf_free(b);
				if (n < 0)
					die("vv_net_tx_burst", n);
				break;
			}
			sent++;
			idle = false;
		}
		n = vv_net_rx_burst(net, q, rx, BURST);
		if (n < 0)
			die("vv_net_rx_burst", n);
		for (int i = 0; i < n; i++)
			udp_rx_one(rx[i]);
		if (n)
			idle = false;
		vv_net_tx_reclaim(net, q);
		if (idle)
			usleep(200);
	}
	return NULL;
}

static void print_pairs(void)
{
	struct vv_net_offload_stats o;

	for (unsigned q = 0; q < pairs; q++) {
		struct vv_net_stats s;

		vv_net_get_stats(net, q, &s);
		printf("pair %u tx_packets=%llu rx_packets=%llu tx_csum_offload=%llu tx_csum_sw=%llu "
		       "rx_csum_valid=%llu rx_csum_completed=%llu rx_dropped=%llu\n",
		       q, (unsigned long long)s.tx_packets, (unsigned long long)s.rx_packets,
		       (unsigned long long)s.tx_csum_offload, (unsigned long long)s.tx_csum_sw,
		       (unsigned long long)s.rx_csum_valid, (unsigned long long)s.rx_csum_completed,
		       (unsigned long long)s.rx_dropped);
	}
	vv_net_get_offload_stats(net, VV_NET_ALL_PAIRS, &o);
	printf("offload tx_gso=%llu tx_gso_segs=%llu rx_gso=%llu rx_gso_segs=%llu rx_bad_hdr=%llu\n",
	       (unsigned long long)o.tx_gso, (unsigned long long)o.tx_gso_segs,
	       (unsigned long long)o.rx_gso, (unsigned long long)o.rx_gso_segs,
	       (unsigned long long)o.rx_bad_hdr);
}

static int cmd_udp(unsigned count)
{
	pthread_t th[MAX_PAIRS];
	unsigned echoed = 0;

	cmd_far("far_before", "far?");
	udp_count = count;
	udp_deadline = now() + 240;
	for (unsigned q = 0; q < pairs; q++)
		if (pthread_create(&th[q], NULL, udp_thread, (void *)(uintptr_t)q))
			die("pthread_create", errno);
	for (unsigned q = 0; q < pairs; q++)
		pthread_join(th[q], NULL);
	for (unsigned q = 0; q < pairs; q++) {
		printf("flow %u echoed=%u\n", q, atomic_load(&udp_echoed[q]));
		echoed += atomic_load(&udp_echoed[q]);
	}
	print_pairs();
	cmd_far("far_after", "far?");
	printf("udp sent %u echoed %u bad %u csum_flagged %u csum_checked_here %u\n", count * pairs,
	       echoed, atomic_load(&udp_bad), atomic_load(&udp_csum_flagged),
	       atomic_load(&udp_csum_sw));
	return echoed == count * pairs && !atomic_load(&udp_bad) ? 0 : 1;
}

/* --- UDP segmentation (USO): one request, several datagrams --------------------------------- */

#define USO_SEG	  1000 /* payload bytes per datagram */
#define USO_CHUNK 8    /* datagrams per request */

/*
 * Sends @count requests of USO_CHUNK datagrams' payload each on pair 0, for the device to cut
 * into datagrams of USO_SEG bytes; each datagram carries its own sequence number, so each
 * echo names the piece of which request it is. Every echo is checked as in cmd_udp().
 */
static int cmd_uso(unsigned count)
{
	static uint8_t lin[MAX_FRAME];
	unsigned sent = 0, echoed = 0, bad = 0, total = count * USO_CHUNK;
	uint32_t l4len = 8 + USO_SEG * USO_CHUNK;
	double deadline = now() + 120;

	if (!(vv_net_get_info(net)->caps & VV_NET_CAP_TX_USO))
		die("the device did not agree to USO", EOPNOTSUPP);
	cmd_far("far_before", "far?");
	while (echoed < total && now() < deadline) {
		struct vv_net_buf *rx[BURST], *b[8];
		int n;

		if (sent < count && sent * USO_CHUNK - echoed < 4 * USO_CHUNK &&
		    vv_net_buf_alloc(net, 0, b, 5) == 5) {
			/* Headers and 8000 bytes of payload in as many chained buffers as it takes.
			 */
			uint32_t pos = 0, len = ETH_HLEN + IP_HLEN + l4len;
			unsigned nb = 0;

			while (pos < len && nb < 5) {
				uint32_t take = len - pos < b[nb]->room ? len - pos : b[nb]->room;

				b[nb]->len = take;
				b[nb]->next = NULL;
				if (nb)
					b[nb - 1]->next = b[nb];
				pos += take;
				nb++;
			}
			if (pos != len)
				die("USO request does not fit 5 buffers", E2BIG);
			for (unsigned i = nb; i < 5; i++)
				vv_net_buf_free(b[i]);
			/* Written through a flat copy, then spread over the buffers. */
			eth_ip(lin, 17, l4len, (uint16_t)sent);
			put16(lin + 34, UDP_BASE);
			put16(lin + 36, 7);
			put16(lin + 38, l4len);
			for (unsigned k = 0; k < USO_CHUNK; k++) {
				uint8_t *d = lin + 42 + k * USO_SEG;
				uint32_t seq = sent * USO_CHUNK + k;

				put32(d, seq);
				put32(d + 4, 0);
				for (uint32_t i = 8; i < USO_SEG; i++)
					d[i] = udp_byte(0, seq, i);
			}
			/* The pseudo-header sum over the whole request, as for TSO. */
			put16(lin + 40, fold(pseudo(MY_IP, FAR_IP, 17, l4len)));
			pos = 0;
			for (unsigned i = 0; i < nb; i++) {
				memcpy(b[i]->data, lin + pos, b[i]->len);
				pos += b[i]->len;
			}
			b[0]->flags = VV_NET_BUF_F_CSUM_PARTIAL;
			b[0]->csum_start = ETH_HLEN + IP_HLEN;
			b[0]->csum_offset = 6;
			b[0]->gso_type = VV_NET_GSO_UDP_L4;
			b[0]->gso_size = USO_SEG;
			b[0]->hdr_len = 0;
			n = vv_net_tx_burst(net, 0, b, 1);
			if (n != 1) {
				vv_net_buf_free(b[0]);
				if (n < 0)
					die("vv_net_tx_burst (uso)", n);
			} else {
				sent++;
			}
		}
		vv_net_tx_reclaim(net, 0);
		n = vv_net_rx_burst(net, 0, rx, BURST);
		if (n < 0)
			die("vv_net_rx_burst", n);
		for (int i = 0; i < n; i++) {
			uint32_t len = linear(rx[i], lin), l4, ll, seq;

			vv_net_buf_free(rx[i]);
			l4 = parse_ip(lin, len, 17, &ll);
			if (!l4 || ll < 8 || get16(lin + l4) != 7 ||
			    get16(lin + l4 + 2) != UDP_BASE)
				continue;
			seq = ll == 8 + USO_SEG ? get32(lin + l4 + 8) : ~0u;
			if (seq >= total || !l4_csum_ok(lin + l4, ll, 17)) {
				bad++;
				continue;
			}
			for (uint32_t k = 8; k < USO_SEG; k++)
				if (lin[l4 + 8 + k] != udp_byte(0, seq, k)) {
					bad++;
					seq = ~0u;
					break;
				}
			echoed += seq != ~0u;
		}
		if (!n)
			usleep(200);
	}
	print_pairs();
	cmd_far("far_after", "far?");
	printf("uso requests %u datagrams %u echoed %u bad %u\n", sent, total, echoed, bad);
	return echoed == total && !bad ? 0 : 1;
}

/* --- a minimal TCP: one connection, go-back-N, in-order receive only ---------------------- */

struct tcb {
	uint32_t iss, snd_una, snd_nxt, snd_wnd, irs, rcv_nxt;
	uint16_t sport, mss;
	uint16_t ip_id;
	bool established;
};

static uint8_t stream_byte(uint32_t off)
{
	return (uint8_t)((off * 2654435761u) >> 24);
}

/*
 * Sends a TCP segment with @plen bytes of the stream from offset @off; with more than one
 * MSS, a segmentation request (the caller checked that the device takes it).
 */
static int tcp_send(struct tcb *c, uint8_t flags, uint32_t seq, uint32_t off, uint32_t plen,
		    bool syn_opt)
{
	struct vv_net_buf *b[40];
	uint32_t thl = syn_opt ? 24 : 20, hdr = ETH_HLEN + IP_HLEN + thl, total = hdr + plen;
	uint32_t room, k, pos = 0;
	int n, got;
	uint8_t *t;

	/* Buffers: the first holds the headers; each holds what its room allows. */
	if (vv_net_buf_alloc(net, 0, b, 1) != 1)
		die("no buffer", ENOBUFS);
	room = b[0]->room;
	k = total <= room ? 1 : 1 + (total - room + room - 1) / room;
	if (k > 34)
		die("segment too large", E2BIG);
	got = k > 1 ? vv_net_buf_alloc(net, 0, b + 1, k - 1) : 0;
	if ((unsigned)got != k - 1) {
		for (int i = 0; i <= got; i++)
			vv_net_buf_free(b[i]);
		return 0;
	}
	eth_ip(b[0]->data, 6, thl + plen, c->ip_id++);
	t = b[0]->data + ETH_HLEN + IP_HLEN;
	memset(t, 0, thl);
	put16(t, c->sport);
	put16(t + 2, 7);
	put32(t + 4, seq);
	put32(t + 8, c->rcv_nxt);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	put16(t + 14, 65535);
	if (syn_opt) {
		t[20] = 2, t[21] = 4;
		put16(t + 22, 1460);
	}
	put16(t + 16, fold(pseudo(MY_IP, FAR_IP, 6, thl + plen)));
	for (unsigned i = 0; i < k; i++) {
		uint32_t start = i ? 0 : hdr, cap = i ? b[i]->room : room - hdr;
		uint32_t take = plen - pos < cap ? plen - pos : cap;

		for (uint32_t j = 0; j < take; j++)
			b[i]->data[start + j] = stream_byte(off + pos + j);
		b[i]->len = start + take;
		pos += take;
		b[i]->next = i + 1 < k ? b[i + 1] : NULL;
	}
	b[0]->flags = VV_NET_BUF_F_CSUM_PARTIAL;
	b[0]->csum_start = ETH_HLEN + IP_HLEN;
	b[0]->csum_offset = 16;
	if (plen > c->mss) {
		b[0]->gso_type = VV_NET_GSO_TCPV4;
		b[0]->gso_size = c->mss;
		b[0]->hdr_len = 0; /* the library reads it from the TCP header */
	}
	for (int tries = 0; tries < 100; tries++) {
		n = vv_net_tx_burst(net, 0, b, 1);
		if (n)
			break;
		vv_net_tx_reclaim(net, 0);
		usleep(100);
	}
	if (n != 1) {
		vv_net_buf_free(b[0]);
		if (n < 0)
			die("vv_net_tx_burst (tcp)", n);
	}
	return n;
}

static unsigned tcp_rx_gso, tcp_rx_frames, tcp_rx_bad, tcp_rx_flagged;
static uint32_t tcp_rx_max, tcp_rx_gso_size;

/* One frame of the connection: acknowledgements, window, in-order data. */
static int tcp_input(struct tcb *c, struct vv_net_buf *f, bool *need_ack)
{
	static uint8_t lin[MAX_FRAME];
	uint32_t len = linear(f, lin), l4len, l4, thl, seq, ack, plen;
	uint8_t flags;
	bool gso = f->gso_type != VV_NET_GSO_NONE, valid = f->flags & VV_NET_BUF_F_CSUM_VALID;
	uint16_t gso_size = f->gso_size;

	vv_net_buf_free(f);
	l4 = parse_ip(lin, len, 6, &l4len);
	if (!l4 || l4len < 20 || get16(lin + l4) != 7 || get16(lin + l4 + 2) != c->sport)
		return 0;
	thl = (lin[l4 + 12] >> 4) * 4u;
	if (thl < 20 || thl > l4len) {
		tcp_rx_bad++;
		return 0;
	}
	/* A coalesced frame carries the pseudo-header sum, any other one its checksum. */
	if (!gso && !l4_csum_ok(lin + l4, l4len, 6)) {
		tcp_rx_bad++;
		return 0;
	}
	tcp_rx_frames++;
	tcp_rx_flagged += valid;
	if (gso) {
		tcp_rx_gso++;
		tcp_rx_gso_size = gso_size;
	}
	if (len > tcp_rx_max)
		tcp_rx_max = len;
	flags = lin[l4 + 13];
	seq = get32(lin + l4 + 4);
	ack = get32(lin + l4 + 8);
	plen = l4len - thl;
	if (flags & 0x04)
		return -ECONNRESET;
	if (!c->established) {
		if ((flags & 0x12) != 0x12 || ack != c->iss + 1)
			return 0;
		c->irs = seq;
		c->rcv_nxt = seq + 1;
		c->snd_una = ack;
		c->snd_wnd = get16(lin + l4 + 14);
		for (uint32_t o = 20; o + 4 <= thl;) {
			uint8_t kind = lin[l4 + o];

			if (kind == 0)
				break;
			if (kind == 1) {
				o++;
				continue;
			}
			if (kind == 2 && lin[l4 + o + 1] == 4)
				c->mss = (uint16_t)(get16(lin + l4 + o + 2) < c->mss
							    ? get16(lin + l4 + o + 2)
							    : c->mss);
			if (lin[l4 + o + 1] < 2)
				break;
			o += lin[l4 + o + 1];
		}
		c->established = true;
		*need_ack = true;
		return 0;
	}
	if ((flags & 0x10) && (int32_t)(ack - c->snd_una) > 0 && (int32_t)(ack - c->snd_nxt) <= 0)
		c->snd_una = ack;
	if (flags & 0x10)
		c->snd_wnd = get16(lin + l4 + 14);
	if (!plen)
		return 0;
	*need_ack = true;
	if ((int32_t)(seq - c->rcv_nxt) <= 0 && (int32_t)(seq + plen - c->rcv_nxt) > 0) {
		uint32_t skip = c->rcv_nxt - seq, off = c->rcv_nxt - c->irs - 1;

		for (uint32_t i = skip; i < plen; i++)
			if (lin[l4 + thl + i] != stream_byte(off + i - skip)) {
				fprintf(stderr, "vv-nettap: byte %u of the echo differs\n",
					off + i - skip);
				return -EBADMSG;
			}
		c->rcv_nxt = seq + plen;
	}
	return 0;
}

static int cmd_tcp(uint32_t bytes)
{
	struct tcb c = {.iss = 0x1000000u + (uint32_t)getpid() * 7919u, .mss = 1460};
	uint32_t base;
	unsigned retrans = 0, frames_sent = 0;
	double t0, progress;
	bool tso = vv_net_get_info(net)->caps & VV_NET_CAP_TX_TSO4;
	int ret = 0;

	cmd_far("far_before", "far?");
	c.sport = (uint16_t)(20000 + getpid() % 20000);
	c.snd_nxt = c.iss + 1;
	for (int tries = 0; !c.established && tries < 10; tries++) {
		struct vv_net_buf *rx[BURST];

		tcp_send(&c, 0x02, c.iss, 0, 0, true);
		for (t0 = now(); !c.established && now() - t0 < 1;) {
			int n = vv_net_rx_burst(net, 0, rx, BURST);
			bool need_ack = false;

			for (int i = 0; i < n; i++)
				if (tcp_input(&c, rx[i], &need_ack) < 0)
					die("connect", ECONNRESET);
			if (n <= 0)
				usleep(1000);
		}
	}
	if (!c.established)
		die("connect to 198.19.0.2:7", ETIMEDOUT);
	base = c.snd_una;
	c.snd_nxt = base;
	tcp_send(&c, 0x10, c.snd_nxt, 0, 0, false);
	printf("tcp connected: mss %u window %u, segmentation %s\n", c.mss, c.snd_wnd,
	       tso ? "by the device" : "none");
	t0 = progress = now();
	while (c.rcv_nxt - c.irs - 1 < bytes || c.snd_una - base < bytes) {
		struct vv_net_buf *rx[BURST];
		bool need_ack = false;
		uint32_t una = c.snd_una;
		int n;

		/* Send what the window allows, in requests of up to segs MSS. */
		for (;;) {
			uint32_t off = c.snd_nxt - base, inflight = c.snd_nxt - c.snd_una;
			uint32_t wnd = c.snd_wnd < 65535 ? c.snd_wnd : 65535;
			uint32_t len = bytes - off, max = tso ? segs * c.mss : c.mss;

			if (off >= bytes || inflight >= wnd)
				break;
			len = len < max ? len : max;
			len = len < wnd - inflight ? len : wnd - inflight;
			if (len < c.mss && off + len < bytes && inflight)
				break; /* no silly windows */
			if (tcp_send(&c, 0x18, c.snd_nxt, off, len, false) != 1)
				break;
			c.snd_nxt += len;
			frames_sent++;
		}
		n = vv_net_rx_burst(net, 0, rx, BURST);
		if (n < 0)
			die("vv_net_rx_burst", n);
		for (int i = 0; i < n; i++) {
			int r = tcp_input(&c, rx[i], &need_ack);

			if (r < 0 && !ret)
				ret = r;
		}
		if (ret)
			break;
		if (need_ack)
			tcp_send(&c, 0x10, c.snd_nxt, 0, 0, false);
		if (c.snd_una != una || need_ack)
			progress = now();
		else if (c.snd_una != c.snd_nxt && now() - progress > 1) {
			c.snd_nxt = c.snd_una; /* go back N */
			retrans++;
			progress = now();
		}
		if (now() - t0 > 300) {
			ret = -ETIMEDOUT;
			break;
		}
		if (!n)
			usleep(100);
		vv_net_tx_reclaim(net, 0);
	}
	tcp_send(&c, 0x14, c.snd_nxt, 0, 0, false); /* RST|ACK: done */
	print_pairs();
	cmd_far("far_after", "far?");
	printf("tcp sent %u echoed %u frames_sent %u retrans %u rx_frames %u rx_coalesced %u "
	       "rx_max_frame %u rx_gso_size %u rx_csum_flagged %u rx_bad %u %s\n",
	       c.snd_una - base, c.rcv_nxt - c.irs - 1, frames_sent, retrans, tcp_rx_frames,
	       tcp_rx_gso, tcp_rx_max, tcp_rx_gso_size, tcp_rx_flagged, tcp_rx_bad,
	       ret ? strerror(-ret) : "ok");
	return ret || tcp_rx_bad ? 1 : 0;
}

/* --- receive-side scaling: the device's hash and steering, checked against our own ------- */

/* Microsoft's Toeplitz key, the usual default (Linux's netdev_rss_key is random). */
static const uint8_t rss_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
				    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
				    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
				    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

static uint32_t toeplitz(const uint8_t *in, size_t n)
{
	uint32_t hash = 0, v = get32(rss_key);

	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 8; b++) {
			if (in[i] & (0x80u >> b))
				hash ^= v;
			v = v << 1 | ((rss_key[i + 4] >> (7 - b)) & 1u);
		}
	return hash;
}

/* The UDPv4 hash input of a frame from @src:@sport to @dst:@dport. */
static uint32_t udp4_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint8_t in[12];

	put32(in, src);
	put32(in + 4, dst);
	put16(in + 8, sport);
	put16(in + 10, dport);
	return toeplitz(in, sizeof(in));
}

static int cmd_rss(unsigned flows, unsigned count)
{
	uint16_t table[128];
	struct vv_net_rss r = {
		.hash_types = VV_NET_RSS_HASH_IPV4 | VV_NET_RSS_HASH_TCPV4 | VV_NET_RSS_HASH_UDPV4,
		.key = rss_key,
		.key_len = sizeof(rss_key),
		.table = table,
		.table_len = 128,
	};
	static uint8_t lin[MAX_FRAME];
	unsigned echoed = 0, sent = 0, ok = 0, bad_hash = 0, bad_type = 0, bad_queue = 0;
	unsigned per_q[MAX_PAIRS] = {0}, used = 0;
	uint8_t check[12];
	double deadline = now() + 120;
	int ret;

	/* Microsoft's verification vector: 66.9.149.187:2794 -> 161.142.100.80:1766. */
	put32(check, 0x420995bbu), put32(check + 4, 0xa18e6450u);
	put16(check + 8, 2794), put16(check + 10, 1766);
	if (toeplitz(check, 8) != 0x323e8fc2u || toeplitz(check, 12) != 0x51ccc178u)
		die("our Toeplitz hash is wrong", EINVAL);
	/* A table that is no identity: pair (3i + 1) mod pairs. */
	for (unsigned i = 0; i < 128; i++)
		table[i] = (uint16_t)((3 * i + 1) % pairs);
	ret = vv_net_set_rss(net, &r);
	if (ret)
		die("vv_net_set_rss", ret);
	printf("rss: %u-entry table over %u pairs, hash types 0x%x of 0x%x\n", r.table_len, pairs,
	       r.hash_types, vv_net_get_info(net)->rss_hash_types);
	/* Every flow leaves on pair 0; the device alone decides where the echoes arrive. */
	while (echoed < flows * count && now() < deadline) {
		struct vv_net_buf *rx[BURST];

		while (sent < flows * count && sent - echoed < WINDOW) {
			unsigned flow = sent % flows;
			struct vv_net_buf *b = udp_frame(0, sent);

			if (!b)
				break;
			/* udp_frame() made it for flow 0: give it this flow's source port. */
			put16(b->data + ETH_HLEN + IP_HLEN, 6000 + flow);
			put32(b->data + ETH_HLEN + IP_HLEN + 12, flow);
			if (vv_net_tx_burst(net, 0, &b, 1) != 1) {
				vv_net_buf_free(b);
				break;
			}
			sent++;
		}
		vv_net_tx_reclaim(net, 0);
		for (unsigned q = 0; q < pairs; q++) {
			int n = vv_net_rx_burst(net, q, rx, BURST);

			if (n < 0)
				die("vv_net_rx_burst", n);
			for (int i = 0; i < n; i++) {
				uint32_t len = linear(rx[i], lin), l4len, l4, hash = rx[i]->hash,
					 want;
				uint8_t type = rx[i]->hash_type;
				uint16_t dport;

				vv_net_buf_free(rx[i]);
				l4 = parse_ip(lin, len, 17, &l4len);
				if (!l4 || l4len < 8 || get16(lin + l4) != 7)
					continue;
				dport = (uint16_t)get16(lin + l4 + 2);
				if (dport < 6000 || dport >= 6000 + flows)
					continue;
				echoed++;
				want = udp4_hash(FAR_IP, MY_IP, 7, dport);
				if (type != VV_NET_HASH_UDPV4)
					bad_type++;
				else if (hash != want)
					bad_hash++;
				else if (q != table[hash & 127])
					bad_queue++;
				else
					ok++;
				if (!per_q[q]++)
					used++;
			}
		}
	}
	for (unsigned q = 0; q < pairs; q++)
		printf("rss pair %u received %u\n", q, per_q[q]);
	printf("rss sent %u echoed %u ok %u bad_hash %u bad_type %u bad_queue %u pairs_used %u\n",
	       sent, echoed, ok, bad_hash, bad_type, bad_queue, used);
	return echoed == flows * count && ok == echoed ? 0 : 1;
}

/* --- info --------------------------------------------------------------------------------- */

static int cmd_info(void)
{
	static const char *caps[] = {"link_status", "mtu",     "ctrl",	  "promisc", "allmulti",
				     "set_mac",	    "mq",      "tx_csum", "rx_csum", "mrg_rxbuf",
				     "tx_tso4",	    "tx_tso6", "tx_uso",  "rx_tso4", "rx_tso6",
				     "rx_uso",	    "rx_hash", "rss"};
	const struct vv_net_info *i = vv_net_get_info(net);

	printf("max_pairs=%u\npairs=%u\nactive_pairs=%u\ncaps=", i->max_queue_pairs, i->queue_pairs,
	       vv_net_queue_pairs(net));
	for (unsigned b = 0; b < sizeof(caps) / sizeof(caps[0]); b++)
		if (i->caps & (1u << b))
			printf("%s,", caps[b]);
	printf("\nfeatures=0x%llx\n", (unsigned long long)i->features);
	return 0;
}

static uint32_t parse_offloads(char *s)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} names[] = {{"csum", VV_NET_OFFLOAD_TX_CSUM}, {"rxcsum", VV_NET_OFFLOAD_RX_CSUM},
		     {"tso", VV_NET_OFFLOAD_TX_TSO},   {"uso", VV_NET_OFFLOAD_TX_USO},
		     {"rxtso", VV_NET_OFFLOAD_RX_TSO}, {"rxuso", VV_NET_OFFLOAD_RX_USO},
		     {"hash", VV_NET_OFFLOAD_RX_HASH}, {"rss", VV_NET_OFFLOAD_RSS}};
	uint32_t o = 0;

	for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
		unsigned k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(t, names[k].name))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			die(t, EINVAL);
		o |= names[k].bit;
	}
	return o;
}

int main(int argc, char **argv)
{
	int a = 1, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
		if (!strcmp(argv[a], "--pairs"))
			pairs = (unsigned)atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--offload"))
			offloads = parse_offloads(argv[a + 1]);
		else if (!strcmp(argv[a], "--segs"))
			segs = (unsigned)atoi(argv[a + 1]);
		else
			break;
	}
	if (argc - a < 2 || !pairs || pairs > MAX_PAIRS || !segs || segs > 44) {
		fprintf(stderr, "usage: vv-nettap [--pairs N] [--offload LIST] [--segs N] BDF "
				"info|udp COUNT|tcp BYTES|uso COUNT|rss FLOWS N|far [WORD]\n");
		return 2;
	}
	open_net(argv[a]);
	if (!strcmp(argv[a + 1], "info"))
		ret = cmd_info();
	else if (!strcmp(argv[a + 1], "far") && argc - a <= 3)
		ret = cmd_far("far", argc - a == 3 ? argv[a + 2] : "far?");
	else if (!strcmp(argv[a + 1], "udp") && argc - a == 3)
		ret = cmd_udp((unsigned)atoi(argv[a + 2]));
	else if (!strcmp(argv[a + 1], "uso") && argc - a == 3)
		ret = cmd_uso((unsigned)atoi(argv[a + 2]));
	else if (!strcmp(argv[a + 1], "rss") && argc - a == 4)
		ret = cmd_rss((unsigned)atoi(argv[a + 2]), (unsigned)atoi(argv[a + 3]));
	else if (!strcmp(argv[a + 1], "tcp") && argc - a == 3)
		ret = cmd_tcp((uint32_t)strtoul(argv[a + 2], NULL, 0));
	else {
		fprintf(stderr, "vv-nettap: unknown command\n");
		ret = 2;
	}
	vv_net_close(net);
	return ret;
}
