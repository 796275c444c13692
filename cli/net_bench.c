// SPDX-License-Identifier: MIT
/*
 * net_bench.c - `virtio-vfio net bench`: drives an attached virtio-net function through the
 * public frame API alone (vv_net_buf_alloc, vv_net_tx_burst, vv_net_rx_burst), one polling
 * thread per queue pair, and counts frames the way DPDK's testpmd does: frames accepted by
 * the transmit burst, frames returned by the receive burst. Rates are frames/s and Gbit/s
 * of frame bytes (destination MAC through payload: no FCS, preamble or inter-frame gap,
 * as testpmd's byte counters).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#include "bench_run.h"
#include "cli.h"
#include "hist.h"
#include "json.h"
#include "util/time.h"

#define MIN_SIZE      64
#define MAX_SIZE      9000
#define MAX_BURST     512
#define MAX_PAIRS     16
#define MAX_SEGS      16	   /* the library's limit on the segments of one frame */
#define RTT_TIMEOUT   100000000ULL /* ns: a round trip not back by then is lost */
#define BENCH_TYPE    0x88b5	   /* IEEE local experimental EtherType, as the VM tests use */
#define BENCH_MAGIC   0x76766e62u  /* "vvnb" */
#define OFF_SEQ	      14
#define OFF_MAGIC     18
#define OFF_T0	      22
#define ETH_HLEN      14
#define ETH_VLAN_HLEN 18

enum mode { M_TXONLY, M_RXONLY, M_FWD, M_RTT };
static const char *const mode_names[] = {"txonly", "rxonly", "fwd", "rtt"};

struct opts {
	enum mode mode;
	unsigned size, burst, seconds, pairs;
	uint8_t dst[VV_NET_ETH_ALEN];
	bool dst_set, json;
};

struct job {
	struct bench *b;
	unsigned q;
	pthread_t thread;
	uint64_t seq;
	_Atomic uint64_t tx, rx; /* frames; read by the progress line */
	uint64_t tx_bytes, rx_bytes, lost;
	/*
	 * What bounds the rate: frames offered to the transmit burst and those the ring had no
	 * room for (the device is the slower side); receive bursts, and those that found nothing
	 * (the supply is).
	 */
	uint64_t offered, refused, polls, empty;
	struct hist h; /* rtt */
	int err;
};

struct bench {
	const struct opts *o;
	struct vv_net *net;
	uint8_t src[VV_NET_ETH_ALEN];
	uint32_t seg_room; /* frame bytes one buffer holds */
	atomic_bool stop;
	struct job *jobs;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool stopping(struct bench *b)
{
	return atomic_load_explicit(&b->stop, memory_order_relaxed);
}

static void count_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/*
 * Makes one frame of --size bytes of the @nseg buffers at @seg (a chain when a buffer holds
 * less). Writes the headers only (addresses, EtherType, sequence, magic, send time), as
 * testpmd's txonly writes its headers only; the payload is what prepare() left there.
 */
static struct vv_net_buf *fill(struct bench *b, struct vv_net_buf **seg, unsigned nseg,
			       uint64_t seq)
{
	unsigned size = b->o->size;
	uint8_t *p;

	for (unsigned i = 0; i < nseg; i++) {
		seg[i]->len = i + 1 < nseg ? b->seg_room : size - (nseg - 1) * b->seg_room;
		seg[i]->next = i + 1 < nseg ? seg[i + 1] : NULL;
	}
	p = seg[0]->data;
	memcpy(p, b->o->dst, VV_NET_ETH_ALEN);
	memcpy(p + 6, b->src, VV_NET_ETH_ALEN);
	p[12] = BENCH_TYPE >> 8;
	p[13] = BENCH_TYPE & 0xff;
	put32(p + OFF_SEQ, (uint32_t)seq);
	put32(p + OFF_MAGIC, BENCH_MAGIC);
	if (b->o->mode == M_RTT) {
		uint64_t t0 = now_ns();

		memcpy(p + OFF_T0, &t0, sizeof(t0));
	}
	return seg[0];
}

#define BUILD_SEGS 256 /* buffers taken from the pool per call */

/*
 * Builds up to @want frames into @f, numbered from *@seq on, taking their buffers from pair
 * @q's pool a batch per call, as testpmd's txonly takes a burst's mbufs with one
 * rte_mempool_get_bulk(). Returns how many; fewer when the pool runs dry.
 */
static unsigned build(struct bench *b, unsigned q, struct vv_net_buf **f, unsigned want,
		      uint64_t *seq)
{
	struct vv_net_buf *seg[BUILD_SEGS];
	unsigned nseg = (b->o->size + b->seg_room - 1) / b->seg_room, built = 0;

	while (built < want) {
		unsigned frames =
			want - built < BUILD_SEGS / nseg ? want - built : BUILD_SEGS / nseg;
		int got = vv_net_buf_alloc(b->net, q, seg, frames * nseg);
		unsigned whole = got > 0 ? (unsigned)got / nseg : 0;

		for (unsigned i = 0; i < whole; i++)
			f[built++] = fill(b, seg + i * nseg, nseg, (*seq)++);
		/* A frame the pool could not complete gives its buffers (unchained) back. */
		if (got > 0)
			vv_net_buf_free_bulk(seg + whole * nseg, (unsigned)got - whole * nseg);
		if (whole < frames)
			break;
	}
	return built;
}

/* Receives up to @max frames into @f, counting the polls that found none. */
static int recv_burst(struct job *j, struct vv_net_buf **f, unsigned max)
{
	int got = vv_net_rx_burst(j->b->net, j->q, f, max);

	j->polls++;
	j->empty += got == 0;
	return got;
}

/* Sends @n frames from @f; keeps the ones the ring did not take at the front of @f. */
static int send_burst(struct job *j, struct vv_net_buf **f, unsigned *n)
{
	int sent = vv_net_tx_burst(j->b->net, j->q, f, *n);

	if (sent < 0)
		return sent;
	j->offered += *n;
	j->refused += *n - (unsigned)sent;
	count_add(&j->tx, (uint64_t)sent);
	j->tx_bytes += (uint64_t)sent * j->b->o->size;
	memmove(f, f + sent, (*n - (unsigned)sent) * sizeof(*f));
	*n -= (unsigned)sent;
	return 0;
}

static int run_txonly(struct job *j)
{
	struct bench *b = j->b;
	struct vv_net_buf *f[MAX_BURST];
	unsigned n = 0;
	int ret = 0;

	while (!ret && !stopping(b)) {
		/* Frames the ring refused last time go first: they are built already. */
		n += build(b, j->q, f + n, b->o->burst - n, &j->seq);
		if (!n) {
			/* All buffers in flight: take back what the device has sent. */
			ret = vv_net_tx_reclaim(b->net, j->q);
			ret = ret < 0 ? ret : 0;
			continue;
		}
		ret = send_burst(j, f, &n);
	}
	for (unsigned i = 0; i < n; i++)
		vv_net_buf_free(f[i]);
	return ret;
}

static int run_rxonly(struct job *j)
{
	struct bench *b = j->b;
	struct vv_net_buf *f[MAX_BURST];
	int got = 0;

	while (!stopping(b)) {
		got = recv_burst(j, f, b->o->burst);
		if (got < 0)
			return got;
		count_add(&j->rx, (uint64_t)got);
		for (int i = 0; i < got; i++)
			j->rx_bytes += f[i]->pkt_len;
		/* One call per burst, as testpmd's rxonly frees with rte_pktmbuf_free_bulk(). */
		vv_net_buf_free_bulk(f, (unsigned)got);
	}
	return 0;
}

/* Swaps the addresses of each frame received and sends it back (testpmd's macswap). */
static int run_fwd(struct job *j)
{
	struct bench *b = j->b;
	struct vv_net_buf *f[MAX_BURST];
	uint32_t len[MAX_BURST]; /* a frame sent is the library's: its length is kept here */
	unsigned n = 0;
	int sent = 0;

	while (!stopping(b)) {
		int got = recv_burst(j, f + n, b->o->burst - n);

		if (got < 0)
			return got;
		count_add(&j->rx, (uint64_t)got);
		for (unsigned i = n; i < n + (unsigned)got; i++) {
			uint8_t tmp[VV_NET_ETH_ALEN], *p = f[i]->data;

			len[i] = f[i]->pkt_len;
			j->rx_bytes += len[i];
			memcpy(tmp, p, VV_NET_ETH_ALEN);
			memcpy(p, p + 6, VV_NET_ETH_ALEN);
			memcpy(p + 6, tmp, VV_NET_ETH_ALEN);
		}
		n += (unsigned)got;
		if (!n)
			continue;
		sent = vv_net_tx_burst(b->net, j->q, f, n);
		if (sent == -EINVAL) {
			/* A frame the library refuses (longer than our MTU): dropped, not retried.
			 */
			vv_net_buf_free(f[0]);
			sent = 1;
		} else if (sent < 0) {
			break; /* the queue is broken; vv_net_close() takes the frames back */
		} else {
			j->offered += n;
			j->refused += n - (unsigned)sent;
			count_add(&j->tx, (uint64_t)sent);
			for (int i = 0; i < sent; i++)
				j->tx_bytes += len[i];
		}
		memmove(f, f + sent, (n - (unsigned)sent) * sizeof(*f));
		memmove(len, len + sent, (n - (unsigned)sent) * sizeof(*len));
		n -= (unsigned)sent;
	}
	for (unsigned i = 0; i < n; i++)
		vv_net_buf_free(f[i]);
	return sent < 0 ? sent : 0;
}

/*
 * One frame in flight: sent to the reflector (--dst), which sends it back with the
 * addresses swapped; the time from before the send until its return is one sample.
 */
static int run_rtt(struct job *j)
{
	struct bench *b = j->b;
	struct vv_net_buf *f[MAX_BURST];

	while (!stopping(b)) {
		uint64_t seq = j->seq;
		struct vv_net_buf *out;
		unsigned n = build(b, j->q, &out, 1, &j->seq);
		uint64_t t0 = now_ns();
		bool back = false;
		int ret;

		if (!n) {
			ret = vv_net_tx_reclaim(b->net, j->q);
			if (ret < 0)
				return ret;
			continue;
		}
		while (n) {
			ret = stopping(b) ? -EINTR : send_burst(j, &out, &n);
			if (ret == -EINTR) {
				vv_net_buf_free(out);
				return 0;
			}
			if (ret < 0) {
				vv_net_buf_free(out);
				return ret;
			}
		}
		while (!back && now_ns() - t0 < RTT_TIMEOUT && !stopping(b)) {
			int got = vv_net_rx_burst(b->net, j->q, f, b->o->burst);

			if (got < 0)
				return got;
			for (int i = 0; i < got; i++) {
				const uint8_t *p = f[i]->data;

				/* Only our own frame, returned: anything else is not a sample. */
				if (f[i]->len >= OFF_T0 + 8 &&
				    get32(p + OFF_MAGIC) == BENCH_MAGIC &&
				    get32(p + OFF_SEQ) == (uint32_t)seq &&
				    !memcmp(p, b->src, VV_NET_ETH_ALEN)) {
					uint64_t sent_at;

					memcpy(&sent_at, p + OFF_T0, sizeof(sent_at));
					hist_add(&j->h, now_ns() - sent_at);
					count_add(&j->rx, 1);
					j->rx_bytes += f[i]->pkt_len;
					back = true;
				}
			}
			vv_net_buf_free_bulk(f, (unsigned)got);
		}
		if (!back && !stopping(b))
			j->lost++;
	}
	return 0;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	static int (*const run[])(struct job *) = {run_txonly, run_rxonly, run_fwd, run_rtt};

	j->err = run[j->b->o->mode](j);
	return NULL;
}

/*
 * Writes a known pattern into every buffer of each pool once, so that frames sent from
 * them (whose payload txonly does not write) carry no leftovers of earlier frames.
 */
static void prepare(struct bench *b)
{
	const struct vv_net_info *info = vv_net_get_info(b->net);
	struct vv_net_buf **all = calloc(info->bufs_per_pair, sizeof(*all));

	if (!all)
		return;
	for (unsigned q = 0; q < b->o->pairs; q++) {
		int got = vv_net_buf_alloc(b->net, q, all, info->bufs_per_pair);

		for (int i = 0; i < got; i++) {
			for (uint32_t k = 0; k < all[i]->room; k++)
				all[i]->data[k] = (uint8_t)k;
			vv_net_buf_free(all[i]);
		}
	}
	free(all);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s net bench [OPTIONS] DEVICE\n"
		"\n"
		"Drive an attached virtio-net function through libvirtio-vfio's frame API alone,\n"
		"one polling thread per queue pair, and report frames/s and Gbit/s counted at our\n"
		"side as DPDK's testpmd counts them: frames accepted by the transmit burst, frames\n"
		"returned by the receive burst. Bits are those of the frame (destination MAC through\n"
		"payload), without FCS, preamble or inter-frame gap.\n"
		"\n"
		"Options:\n"
		"  --mode M           txonly (default): send frames to --dst as fast as the ring\n"
		"                     takes them; rxonly: receive and free; fwd: receive, swap the\n"
		"                     addresses, send back; rtt: one frame at a time to a reflector\n"
		"                     at --dst, round-trip latency percentiles\n"
		"  --size N           frame bytes, %d to %d (default 64); above 1518 the device must\n"
		"                     allow the MTU (QEMU: host_mtu=)\n"
		"  --burst N          frames per burst call (default 32, at most %d)\n"
		"  --time S           seconds to run (default 10)\n"
		"  --queue-pairs N    queue pairs, one thread each (default 1)\n"
		"  --dst MAC          destination of the frames sent (default 02:00:00:00:00:01, an\n"
		"                     address no one has, which the peer's NIC filters out); rtt\n"
		"                     needs the reflector's\n"
		"  --json             machine-readable result on stdout\n"
		"  -v, --verbose      log what the library does\n"
		"  -h, --help         show this help\n"
		"\n"
		"Frames carry EtherType 0x88b5 (local experimental). The reflector rtt needs swaps\n"
		"the addresses of what it receives and sends it back; another 'net bench --mode fwd'\n"
		"is one.\n",
		prog, MIN_SIZE, MAX_SIZE, MAX_BURST);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[VV_NET_ETH_ALEN])
{
	unsigned m[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

static int pick(const char *s)
{
	for (unsigned i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i]))
			return (int)i;
	return -1;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"mode", required_argument, NULL, 'm'},
		{"size", required_argument, NULL, 's'},
		{"burst", required_argument, NULL, 'b'},
		{"time", required_argument, NULL, 't'},
		{"queue-pairs", required_argument, NULL, 'Q'},
		{"dst", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, v;

	*o = (struct opts){.size = 64,
			   .burst = 32,
			   .seconds = 10,
			   .pairs = 1,
			   .dst = {0x02, 0, 0, 0, 0, 0x01}};
	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_verbose();
			break;
		case 'm':
			if ((v = pick(optarg)) < 0)
				goto bad;
			o->mode = (enum mode)v;
			break;
		case 's':
			if (parse_uint(optarg, MIN_SIZE, MAX_SIZE, &o->size))
				goto bad;
			break;
		case 'b':
			if (parse_uint(optarg, 1, MAX_BURST, &o->burst))
				goto bad;
			break;
		case 't':
			if (parse_uint(optarg, 1, 86400, &o->seconds))
				goto bad;
			break;
		case 'Q':
			if (parse_uint(optarg, 1, MAX_PAIRS, &o->pairs))
				goto bad;
			break;
		case 'd':
			if (parse_mac(optarg, o->dst) || (o->dst[0] & 1))
				goto bad;
			o->dst_set = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_err("net bench: give one DEVICE");
		return EXIT_USAGE;
	}
	if (o->mode == M_RTT && !o->dst_set) {
		cli_err("net bench: --mode rtt needs --dst MAC, the reflector's address");
		return EXIT_USAGE;
	}
	return 0;
bad:
	cli_err("net bench: bad value '%s' (see --help)", optarg);
	return EXIT_USAGE;
}

static void report(const struct bench *b, const char *bdf, double secs)
{
	const struct opts *o = b->o;
	struct hist *h = calloc(1, sizeof(*h));
	uint64_t tx = 0, rx = 0, txb = 0, rxb = 0, lost = 0, offered = 0, refused = 0;
	uint64_t polls = 0, empty = 0;
	double pps, bps, full, idle;
	bool rx_side = o->mode == M_RXONLY || o->mode == M_RTT;

	if (!h)
		return;
	for (unsigned i = 0; i < o->pairs; i++) {
		const struct job *j = &b->jobs[i];

		hist_merge(h, &j->h);
		tx += atomic_load(&j->tx);
		rx += atomic_load(&j->rx);
		txb += j->tx_bytes;
		rxb += j->rx_bytes;
		lost += j->lost;
		offered += j->offered;
		refused += j->refused;
		polls += j->polls;
		empty += j->empty;
	}
	full = offered ? (double)refused / (double)offered : 0;
	idle = polls ? (double)empty / (double)polls : 0;
	/* The mode's figure: what it sends, or what it receives for rxonly and rtt. */
	pps = (double)(rx_side ? rx : tx) / secs;
	bps = (double)(rx_side ? rxb : txb) / secs;
	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_int(&j, "version", CLI_JSON_SCHEMA);
		json_kv_str(&j, "device", bdf);
		json_kv_str(&j, "mode", mode_names[o->mode]);
		json_kv_int(&j, "size", o->size);
		json_kv_int(&j, "burst", o->burst);
		json_kv_int(&j, "queue_pairs", o->pairs);
		json_kv_num(&j, "seconds", secs);
		json_kv_int(&j, "tx_frames", (int64_t)tx);
		json_kv_int(&j, "rx_frames", (int64_t)rx);
		json_kv_int(&j, "tx_bytes", (int64_t)txb);
		json_kv_int(&j, "rx_bytes", (int64_t)rxb);
		json_kv_num(&j, "tx_pps", (double)tx / secs);
		json_kv_num(&j, "rx_pps", (double)rx / secs);
		json_kv_num(&j, "pps", pps);
		json_kv_num(&j, "bytes_per_s", bps);
		json_kv_num(&j, "gbps", bps * 8 / 1e9);
		json_kv_int(&j, "tx_offered", (int64_t)offered);
		json_kv_int(&j, "tx_refused", (int64_t)refused);
		json_kv_num(&j, "tx_refused_share", full);
		json_kv_int(&j, "rx_polls", (int64_t)polls);
		json_kv_int(&j, "rx_empty_polls", (int64_t)empty);
		json_kv_num(&j, "rx_empty_share", idle);
		if (o->mode == M_RTT) {
			json_kv_int(&j, "lost", (int64_t)lost);
			json_key(&j, "rtt_us");
			json_obj_begin(&j);
			json_kv_num(&j, "avg",
				    h->count ? (double)h->sum / (double)h->count / 1e3 : 0);
			json_kv_num(&j, "p50", hist_pct(h, 50) / 1e3);
			json_kv_num(&j, "p99", hist_pct(h, 99) / 1e3);
			json_kv_num(&j, "p99.9", hist_pct(h, 99.9) / 1e3);
			json_kv_num(&j, "max", (double)h->max / 1e3);
			json_obj_end(&j);
		}
		json_obj_end(&j);
		putchar('\n');
	} else {
		printf("%s: %s size=%u burst=%u queue-pairs=%u, %.1f s\n", bdf, mode_names[o->mode],
		       o->size, o->burst, o->pairs, secs);
		printf("  %.0f frames/s, %.3f Gbit/s (frame bytes, no FCS)\n", pps, bps * 8 / 1e9);
		printf("  sent %" PRIu64 " frames, received %" PRIu64 "\n", tx, rx);
		if (offered)
			printf("  the ring had no room for %.1f%% of the frames offered\n",
			       100 * full);
		if (polls)
			printf("  %.1f%% of receive polls found nothing\n", 100 * idle);
		if (o->mode == M_RTT)
			printf("  round trip (us): avg %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f, max "
			       "%.1f; %" PRIu64 " lost\n",
			       h->count ? (double)h->sum / (double)h->count / 1e3 : 0,
			       hist_pct(h, 50) / 1e3, hist_pct(h, 99) / 1e3,
			       hist_pct(h, 99.9) / 1e3, (double)h->max / 1e3, lost);
	}
	free(h);
}

/* What the jobs did so far, for bench_run()'s progress line. */
static uint64_t count_of(void *ctx)
{
	struct bench *b = ctx;
	uint64_t n = 0;

	for (unsigned i = 0; i < b->o->pairs; i++)
		n += atomic_load_explicit(b->o->mode == M_RXONLY || b->o->mode == M_RTT
						  ? &b->jobs[i].rx
						  : &b->jobs[i].tx,
					  memory_order_relaxed);
	return n;
}

int net_bench(int argc, char **argv)
{
	struct opts o;
	struct bench b = {.o = &o};
	struct vv_net_opts no = {0};
	const struct vv_net_info *info;
	char bdf[PCI_BDF_LEN];
	unsigned started = 0, segs;
	double secs = 0;
	int ret, err = 0;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = cli_attached_device(argv[optind], VV_VIRTIO_NET, "'net bench' needs a network device",
				  NULL, bdf);
	if (ret)
		return ret;
	no.max_queue_pairs = o.pairs;
	/* Room for a full ring of the largest frames in flight, and a burst being built. */
	segs = (o.size + 2047) / 2048;
	no.extra_bufs = 256 + o.burst * segs * 2;
	ret = vv_net_open(bdf, &no, &b.net);
	if (ret) {
		cli_err("%s: cannot open as a virtio-net device: %s%s", bdf, strerror(-ret),
			ret == -EBUSY
				? " (its IOMMU group is not viable, or another process opened it "
				  "first: the error above says which)"
				: "");
		return EXIT_FAIL;
	}
	info = vv_net_get_info(b.net);
	vv_net_mac(b.net, b.src);
	b.seg_room = info->buf_size;
	if (info->queue_pairs < o.pairs) {
		cli_err("%s: has %u queue pair(s), %u asked", bdf, info->queue_pairs, o.pairs);
		goto fail;
	}
	if (o.pairs > 1 && (ret = vv_net_set_queue_pairs(b.net, o.pairs))) {
		cli_err("%s: cannot use %u queue pairs: %s", bdf, o.pairs, strerror(-ret));
		goto fail;
	}
	if ((o.size + b.seg_room - 1) / b.seg_room > MAX_SEGS) {
		cli_err("%s: a %u-byte frame needs more than %u buffers of %u bytes", bdf, o.size,
			MAX_SEGS, b.seg_room);
		goto fail;
	}
	/* The library sends frames up to MTU + 18 (Ethernet header and a VLAN tag). */
	if (o.size > vv_net_mtu(b.net) + ETH_VLAN_HLEN &&
	    (ret = vv_net_set_mtu(b.net, o.size - ETH_VLAN_HLEN))) {
		cli_err("%s: %u-byte frames need an MTU of %u; the device allows %u%s", bdf, o.size,
			o.size - ETH_VLAN_HLEN, info->max_mtu,
			ret == -EOPNOTSUPP ? " (it gives no maximum: VIRTIO_NET_F_MTU, QEMU's "
					     "host_mtu=)"
					   : "");
		goto fail;
	}
	prepare(&b);
	b.jobs = calloc(o.pairs, sizeof(*b.jobs));
	if (!b.jobs)
		goto fail;
	for (unsigned i = 0; i < o.pairs; i++)
		b.jobs[i] = (struct job){.b = &b, .q = i};

	started = bench_run(&(struct bench_run){.threads = o.pairs,
						.seconds = o.seconds,
						.main = job_main,
						.jobs = b.jobs,
						.job_size = sizeof(*b.jobs),
						.tid_off = offsetof(struct job, thread),
						.count = count_of,
						.ctx = &b,
						.stop = &b.stop,
						.name = bdf,
						.unit = "frames/s"},
			    &secs);
	err = started < o.pairs;
	for (unsigned i = 0; i < started; i++)
		if (b.jobs[i].err) {
			cli_err("%s: queue pair %u: %s", bdf, i, strerror(-b.jobs[i].err));
			err = 1;
		}
	if (!err)
		report(&b, bdf, secs);
	goto out;
fail:
	err = 1;
out:
	free(b.jobs);
	vv_net_close(b.net);
	return err ? EXIT_FAIL : EXIT_OK;
}
