// SPDX-License-Identifier: MIT
/*
 * blk_bench.c - `virtio-vfio blk bench`: drives an attached virtio-blk disk through the
 * library alone, one thread per queue, and reports IOPS, throughput and latency percentiles.
 * The request loop allocates nothing and reads the clock once per batch of completions.
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

#define MAX_QD	   1024
#define MAX_QUEUES 64

enum rw { RW_RANDREAD, RW_RANDWRITE, RW_READ, RW_WRITE, RW_RANDRW };
static const char *const rw_names[] = {"randread", "randwrite", "read", "write", "randrw"};
static const char *const mode_names[] = {"irq", "poll", "hybrid"};

struct opts {
	enum rw rw;
	uint32_t bs;
	unsigned qd, queues, seconds, spin_us;
	unsigned rwmixread;    /* randrw: percent of requests that read */
	uint64_t offset, size; /* the range, in bytes; size 0: to the end of the disk */
	unsigned queue_size;   /* ring entries; 0: the device's maximum */
	enum vv_blk_mode mode;
	bool json, verify, allow_write;
};

struct job;

struct req {
	struct job *j;
	unsigned idx;
	bool write, write_seen; /* write_seen: the block was written when the read began */
	bool timed;		/* t0 is set: its latency goes into the histogram */
	uint64_t block, t0;
};

struct job {
	struct bench *b;
	unsigned q;
	pthread_t thread;
	struct vv_dma_buf buf;
	uint64_t rng, next_seq;
	struct req reqs[MAX_QD];
	unsigned done[MAX_QD], ndone, inflight;
	unsigned untimed;	     /* requests to submit before the next timed one */
	_Atomic uint64_t ios, bytes; /* read by the progress line */
	struct hist h;
	int err;
};

struct bench {
	const struct opts *o;
	struct vv_blk *blk;
	uint64_t first;	 /* first sector of the range */
	uint64_t blocks; /* of bs bytes in the range */
	uint64_t seed;	 /* --verify: this run's, so that data of an earlier run does not pass */
	_Atomic uint64_t *written;   /* --verify: a bit per block this run wrote */
	_Atomic uint64_t bad_sector; /* --verify: first mismatch + 1; 0: none */
	atomic_bool stop;
	unsigned timed_every; /* one request in this many is timed (timed_every()) */
	struct job *jobs;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * --verify: every 512-byte sector a write carries names its own LBA and this run's seed, and
 * the rest of it follows from those two. All writes of a block in one run carry the same
 * data, so racing writes to one block leave a valid block whichever lands last, while a lost
 * write (data from before the run) or a misdirected one (another sector's data) shows.
 */
#define VERIFY_MAGIC 0x7676766572696679ULL /* "vvverify" */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pattern_fill(uint64_t *w, uint64_t lba, uint64_t seed)
{
	w[0] = VERIFY_MAGIC;
	w[1] = lba;
	w[2] = seed;
	for (unsigned i = 3; i < 512 / 8; i++)
		w[i] = mix64(seed ^ (lba * 64 + i));
}

/* 0 if the sector at @w holds what this run wrote to @lba. */
static int pattern_check(const uint64_t *w, uint64_t lba, uint64_t seed)
{
	if (w[0] != VERIFY_MAGIC || w[1] != lba || w[2] != seed)
		return -1;
	for (unsigned i = 3; i < 512 / 8; i++)
		if (w[i] != mix64(seed ^ (lba * 64 + i)))
			return -1;
	return 0;
}

static bool block_written(const struct bench *b, uint64_t block)
{
	return atomic_load_explicit(&b->written[block / 64], memory_order_acquire) &
	       (1ULL << (block % 64));
}

/* Checks a block read back; returns 0 or -EILSEQ (and records the first bad sector). */
static int block_check(struct bench *b, uint64_t block, const void *data)
{
	uint64_t lba = b->first + block * (b->o->bs / 512), zero = 0;

	for (unsigned s = 0; s < b->o->bs / 512; s++)
		if (pattern_check((const uint64_t *)data + s * 64, lba + s, b->seed)) {
			atomic_compare_exchange_strong(&b->bad_sector, &zero, lba + s + 1);
			return -EILSEQ;
		}
	return 0;
}

static void on_done(void *opaque, int result)
{
	struct req *r = opaque;
	struct job *j = r->j;

	atomic_store_explicit(&j->ios, atomic_load_explicit(&j->ios, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&j->bytes,
			      atomic_load_explicit(&j->bytes, memory_order_relaxed) + j->b->o->bs,
			      memory_order_relaxed);
	if (!result && j->b->written) {
		struct bench *b = j->b;
		uint8_t *data = (uint8_t *)j->buf.vaddr + (size_t)r->idx * b->o->bs;

		/* A read of a block written before it was submitted must return that data. */
		if (r->write)
			atomic_fetch_or_explicit(&b->written[r->block / 64],
						 1ULL << (r->block % 64), memory_order_release);
		else if (r->write_seen)
			result = block_check(b, r->block, data);
	}
	if (result && !j->err)
		j->err = result;
	j->inflight--;
	j->done[j->ndone++] = r->idx;
}

/*
 * One request in how many has its latency measured. Where the clock is read in user space
 * (the vDSO, on a TSC) every one. Where each read is a system call that reads an emulated
 * device register (a TCG guest, whose kernel distrusts the TSC and runs on the HPET), one in
 * 64. There a read takes about 1 us alone, yet reading it once a request, with the ring
 * polled, cost a third of a request's time at QD1 on a file-backed disk (docs/performance.md),
 * so the run measured the clock more than the library. The histogram is then a sample: 1 s
 * at 10k IOPS still times 156 requests.
 */
static unsigned timed_every(void)
{
	uint64_t t0 = now_ns(), t1;

	for (int i = 0; i < 7; i++)
		(void)now_ns();
	t1 = now_ns();
	/* The vDSO reads a TSC in tens of ns; a system call alone takes longer than this. */
	return (t1 - t0) / 8 > 250 ? 64 : 1;
}

/* Reads the clock into *@now unless this batch already did (*@now not 0). */
static uint64_t stamp(uint64_t *now)
{
	if (!*now)
		*now = now_ns();
	return *now;
}

/* @now: the batch's time stamp, read at most once for the whole batch (stamp()). */
static int submit(struct job *j, unsigned idx, uint64_t *now)
{
	struct bench *b = j->b;
	const struct opts *o = b->o;
	struct req *r = &j->reqs[idx];
	bool write = o->rw == RW_RANDWRITE || o->rw == RW_WRITE ||
		     (o->rw == RW_RANDRW && xorshift(&j->rng) % 100 >= o->rwmixread);
	uint64_t block;
	struct vv_sg sg = {j->buf.iova + (uint64_t)idx * o->bs, o->bs};
	int ret;

	if (o->rw == RW_READ || o->rw == RW_WRITE)
		block = j->next_seq++ % b->blocks;
	else
		block = xorshift(&j->rng) % b->blocks;
	r->write = write;
	r->block = block;
	if (b->written) {
		uint64_t lba = b->first + block * (o->bs / 512);
		uint8_t *data = (uint8_t *)j->buf.vaddr + (size_t)idx * o->bs;

		if (write)
			for (unsigned s = 0; s < o->bs / 512; s++)
				pattern_fill((uint64_t *)(void *)(data + s * 512), lba + s,
					     b->seed);
		else
			r->write_seen = block_written(b, block);
	}
	r->timed = !j->untimed;
	if (r->timed) {
		r->t0 = stamp(now);
		j->untimed = b->timed_every;
	}
	j->untimed--;
	ret = vv_blk_submit_rw(b->blk, j->q, write, b->first + block * (o->bs / 512), &sg, 1,
			       on_done, r);
	if (!ret)
		j->inflight++;
	return ret;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct bench *b = j->b;
	uint64_t now = 0;
	int ret = vv_blk_set_mode(b->blk, j->q, b->o->mode, b->o->spin_us);

	for (unsigned i = 0; !ret && i < b->o->qd; i++)
		ret = submit(j, i, &now);
	if (!ret)
		ret = vv_blk_kick(b->blk, j->q);
	while (!ret && !j->err && !atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		ret = vv_blk_wait(b->blk, j->q, 100);
		if (ret < 0)
			break;
		ret = 0;
		/*
		 * At most one clock read per batch ends the timed requests that completed and
		 * stamps the timed ones among their successors: where the kernel distrusts the TSC
		 * (a TCG guest) every read is a system call and an emulated HPET read.
		 */
		now = 0;
		for (unsigned i = 0; i < j->ndone; i++)
			if (j->reqs[j->done[i]].timed)
				hist_add(&j->h, stamp(&now) - j->reqs[j->done[i]].t0);
		/* Everything that completed goes back in, behind one doorbell. */
		for (unsigned i = 0; !ret && i < j->ndone; i++)
			ret = submit(j, j->done[i], &now);
		j->ndone = 0;
		if (!ret)
			ret = vv_blk_kick(b->blk, j->q);
	}
	while (j->inflight && vv_blk_wait(b->blk, j->q, 1000) >= 0)
		;
	if (ret && !j->err)
		j->err = ret;
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s blk bench [OPTIONS] DEVICE\n"
		"\n"
		"Drive an attached virtio-blk function through libvirtio-vfio alone and report\n"
		"IOPS, MB/s (10^6 bytes) and latency (average, p50, p99, p99.9).\n"
		"\n"
		"Options:\n"
		"  --rw RW          randread (default), randwrite, read, write, randrw\n"
		"  --rwmixread N    randrw: percent of requests that read (default 50)\n"
		"  --bs N           request size in bytes, k/m suffixes (default 4k)\n"
		"  --offset N       start of the range, in bytes, k/m/g suffixes (default 0)\n"
		"  --size N         length of the range (default: to the end of the disk)\n"
		"  --qd N           requests in flight per queue (default 32, at most %d)\n"
		"  --queues N       queues, one thread each (default 1)\n"
		"  --queue-size N   ring entries per queue, a power of 2 (default: the device's\n"
		"                   maximum)\n"
		"  --time S         seconds to run (default 10)\n"
		"  --mode M         irq (default), poll, hybrid: how completions are awaited\n"
		"  --spin-us N      hybrid: microseconds to poll before sleeping (default 50)\n"
		"  --allow-write    let a write workload overwrite the range's data\n"
		"  --verify         write self-checking data; check every read of a block this run\n"
		"                   wrote, then read back every such block at the end\n"
		"  --json           machine-readable result on stdout\n"
		"  -v, --verbose    log what the library does\n"
		"  -h, --help       show this help\n"
		"\n"
		"Write workloads (randwrite, write, randrw) destroy the data in the range: they\n"
		"run only with --allow-write.\n",
		prog, MAX_QD);
}

/* A size in bytes with an optional k/m/g/t suffix (powers of 1024), at most @max. */
static int parse_bytes(const char *s, uint64_t max, uint64_t *ret)
{
	static const char sfx[] = "kmgt";
	char *end;
	unsigned long long v;
	const char *p;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end && (p = strchr(sfx, *end | 0x20))) {
		unsigned shift = 10 * (unsigned)(p - sfx + 1);

		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
		end++;
	}
	if (*end || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_size(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_bytes(s, 16u << 20, &v) || !v)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

static int pick(const char *s, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"rw", required_argument, NULL, 'r'},
		{"bs", required_argument, NULL, 'b'},
		{"qd", required_argument, NULL, 'q'},
		{"queues", required_argument, NULL, 'Q'},
		{"queue-size", required_argument, NULL, 'Z'},
		{"time", required_argument, NULL, 't'},
		{"mode", required_argument, NULL, 'm'},
		{"spin-us", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"rwmixread", required_argument, NULL, 'M'},
		{"offset", required_argument, NULL, 'o'},
		{"size", required_argument, NULL, 'S'},
		{"verify", no_argument, NULL, 'V'},
		{"allow-write", no_argument, NULL, 'W'},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, v;

	*o = (struct opts){
		.bs = 4096, .qd = 32, .queues = 1, .seconds = 10, .spin_us = 50, .rwmixread = 50};
	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_verbose();
			break;
		case 'r':
			if ((v = pick(optarg, rw_names, 5)) < 0)
				goto bad;
			o->rw = (enum rw)v;
			break;
		case 'b':
			if (parse_size(optarg, &o->bs) || o->bs % 512)
				goto bad;
			break;
		case 'q':
			o->qd = (unsigned)atoi(optarg);
			if (!o->qd || o->qd > MAX_QD)
				goto bad;
			break;
		case 'Q':
			o->queues = (unsigned)atoi(optarg);
			if (!o->queues || o->queues > MAX_QUEUES)
				goto bad;
			break;
		case 'Z':
			o->queue_size = (unsigned)atoi(optarg);
			if (!o->queue_size || o->queue_size > 32768 ||
			    (o->queue_size & (o->queue_size - 1)))
				goto bad;
			break;
		case 't':
			o->seconds = (unsigned)atoi(optarg);
			if (!o->seconds)
				goto bad;
			break;
		case 'm':
			if ((v = pick(optarg, mode_names, 3)) < 0)
				goto bad;
			o->mode = (enum vv_blk_mode)v;
			break;
		case 's':
			o->spin_us = (unsigned)atoi(optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'M':
			v = atoi(optarg);
			if (v < 0 || v > 100 || !strchr("0123456789", *optarg))
				goto bad;
			o->rwmixread = (unsigned)v;
			break;
		case 'o':
			if (parse_bytes(optarg, UINT64_MAX, &o->offset))
				goto bad;
			break;
		case 'S':
			if (parse_bytes(optarg, UINT64_MAX, &o->size) || !o->size)
				goto bad;
			break;
		case 'V':
			o->verify = true;
			break;
		case 'W':
			o->allow_write = true;
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
		cli_err("blk bench: give one DEVICE");
		return EXIT_USAGE;
	}
	if (o->rw != RW_RANDREAD && o->rw != RW_READ && !o->allow_write) {
		cli_err("blk bench: --rw %s overwrites the data in the range; add --allow-write",
			rw_names[o->rw]);
		return EXIT_USAGE;
	}
	if (o->verify && (o->rw == RW_RANDREAD || o->rw == RW_READ)) {
		cli_err("blk bench: --verify checks what the run writes: use a write workload");
		return EXIT_USAGE;
	}
	if (o->offset % 512 || o->size % 512) {
		cli_err("blk bench: --offset and --size must be multiples of 512");
		return EXIT_USAGE;
	}
	return 0;
bad:
	cli_err("blk bench: bad value '%s' (see --help)", optarg);
	return EXIT_USAGE;
}

/*
 * After the run: reads back, a MiB at a time, every block the run wrote, and checks it.
 * Returns 0, -EILSEQ on a mismatch, or the read's error.
 */
static int verify_all(struct bench *b, uint64_t *ret_checked)
{
	const uint32_t bs = b->o->bs;
	const uint64_t per = bs >= (1u << 20) ? 1 : (1u << 20) / bs;
	uint8_t *buf = aligned_alloc(4096, (size_t)per * bs);
	int ret = 0;

	*ret_checked = 0;
	if (!buf)
		return -ENOMEM;
	for (uint64_t blk = 0; !ret && blk < b->blocks; blk += per) {
		uint64_t n = b->blocks - blk < per ? b->blocks - blk : per, k;

		for (k = 0; k < n && !block_written(b, blk + k); k++)
			;
		if (k == n)
			continue;
		ret = vv_blk_read(b->blk, b->first + blk * (bs / 512), buf, (size_t)n * bs);
		for (; !ret && k < n; k++)
			if (block_written(b, blk + k)) {
				ret = block_check(b, blk + k, buf + (size_t)k * bs);
				++*ret_checked;
			}
	}
	free(buf);
	return ret;
}

static void report(const struct bench *b, const char *bdf, double secs, uint64_t checked)
{
	const struct opts *o = b->o;
	struct hist *h = calloc(1, sizeof(*h));
	uint64_t ios = 0, bytes = 0;
	double iops, mbs, avg_us;

	if (!h)
		return;
	for (unsigned i = 0; i < o->queues; i++) {
		const struct job *j = &b->jobs[i];

		hist_merge(h, &j->h);
		ios += atomic_load(&j->ios);
		bytes += atomic_load(&j->bytes);
	}
	iops = (double)ios / secs;
	mbs = (double)bytes / secs / 1e6;
	avg_us = h->count ? (double)h->sum / (double)h->count / 1e3 : 0;
	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_int(&j, "version", CLI_JSON_SCHEMA);
		json_kv_str(&j, "device", bdf);
		json_kv_str(&j, "rw", rw_names[o->rw]);
		json_kv_int(&j, "bs", o->bs);
		json_kv_int(&j, "qd", o->qd);
		json_kv_int(&j, "queues", o->queues);
		json_kv_str(&j, "mode", mode_names[o->mode]);
		json_kv_int(&j, "offset", (int64_t)(b->first * 512));
		json_kv_int(&j, "size", (int64_t)(b->blocks * o->bs));
		if (o->rw == RW_RANDRW)
			json_kv_int(&j, "rwmixread", o->rwmixread);
		if (b->written)
			json_kv_int(&j, "verified_blocks", (int64_t)checked);
		json_kv_num(&j, "seconds", secs);
		json_kv_int(&j, "ios", (int64_t)ios);
		json_kv_num(&j, "iops", iops);
		json_kv_num(&j, "mb_per_s", mbs); /* 10^6 bytes */
		json_kv_num(&j, "bytes_per_s", (double)bytes / secs);
		json_key(&j, "lat_us");
		json_obj_begin(&j);
		json_kv_num(&j, "avg", avg_us);
		json_kv_num(&j, "p50", hist_pct(h, 50) / 1e3);
		json_kv_num(&j, "p99", hist_pct(h, 99) / 1e3);
		json_kv_num(&j, "p99.9", hist_pct(h, 99.9) / 1e3);
		json_kv_num(&j, "max", (double)h->max / 1e3);
		json_kv_int(&j, "timed_every", b->timed_every);
		json_obj_end(&j);
		json_obj_end(&j);
		putchar('\n');
	} else {
		printf("%s: %s bs=%u qd=%u queues=%u mode=%s, %.1f s\n", bdf, rw_names[o->rw],
		       o->bs, o->qd, o->queues, mode_names[o->mode], secs);
		printf("  %.0f IOPS, %.1f MB/s\n", iops, mbs);
		printf("  latency (us): avg %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f, max %.1f\n",
		       avg_us, hist_pct(h, 50) / 1e3, hist_pct(h, 99) / 1e3,
		       hist_pct(h, 99.9) / 1e3, (double)h->max / 1e3);
		if (b->timed_every > 1)
			printf("  (of one request in %u: reading the clock is a system call here)\n",
			       b->timed_every);
		if (b->written)
			printf("  verify: %" PRIu64 " blocks read back and checked, all good\n",
			       checked);
	}
	free(h);
}

/* What the jobs did so far, for bench_run()'s progress line. */
static uint64_t count_of(void *ctx)
{
	struct bench *b = ctx;
	uint64_t n = 0;

	for (unsigned i = 0; i < b->o->queues; i++)
		n += atomic_load_explicit(&b->jobs[i].ios, memory_order_relaxed);
	return n;
}

int blk_bench(int argc, char **argv)
{
	struct opts o;
	struct bench b = {.o = &o};
	char bdf[PCI_BDF_LEN];
	const struct vv_blk_info *info;
	double secs = 0;
	unsigned started = 0;
	uint64_t checked = 0;
	int ret, err = 0;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	ret = cli_blk_device(argv[optind], NULL, bdf);
	if (ret)
		return ret;
	ret = vv_blk_open_opts(
		bdf, &(struct vv_blk_opts){.num_queues = o.queues, .queue_size = o.queue_size},
		&b.blk);
	if (ret) {
		cli_err("%s: cannot open as a virtio-blk device: %s%s", bdf, strerror(-ret),
			ret == -EBUSY
				? " (its IOMMU group is not viable, or another process opened it "
				  "first: the error above says which)"
				: "");
		return EXIT_FAIL;
	}
	info = vv_blk_get_info(b.blk);
	if (vv_blk_num_queues(b.blk) < o.queues) {
		cli_err("%s: has %u queue(s), %u asked", bdf, vv_blk_num_queues(b.blk), o.queues);
		goto fail;
	}
	if (o.rw != RW_RANDREAD && o.rw != RW_READ && info->read_only) {
		cli_err("%s: read-only device: only read workloads", bdf);
		goto fail;
	}
	if (o.bs % info->blk_size) {
		cli_err("%s: --bs must be a multiple of the block size, %u", bdf, info->blk_size);
		goto fail;
	}
	if (o.offset % info->blk_size || o.size % info->blk_size) {
		cli_err("%s: --offset and --size must be multiples of the block size, %u", bdf,
			info->blk_size);
		goto fail;
	}
	if (o.offset / 512 >= info->capacity ||
	    (o.size && o.size / 512 > info->capacity - o.offset / 512)) {
		cli_err("%s: the range %" PRIu64 "+%" PRIu64 " ends past the disk's %" PRIu64
			" bytes",
			bdf, o.offset, o.size, info->capacity * 512);
		goto fail;
	}
	b.first = o.offset / 512;
	b.blocks = (o.size ? o.size / 512 : info->capacity - b.first) / (o.bs / 512);
	if (!b.blocks) {
		cli_err("%s: the range is smaller than one request", bdf);
		goto fail;
	}
	if (o.verify) {
		/* A bit per block: 128 MiB of bitmap at most. */
		if (b.blocks > (1ULL << 30)) {
			cli_err("%s: --verify: at most 2^30 blocks; use a larger --bs or a --size",
				bdf);
			goto fail;
		}
		b.written = calloc((size_t)(b.blocks + 63) / 64, sizeof(*b.written));
		if (!b.written)
			goto fail;
		b.seed = mix64(now_ns() ^ ((uint64_t)getpid() << 32));
	}
	b.timed_every = timed_every();
	b.jobs = calloc(o.queues, sizeof(*b.jobs));
	if (!b.jobs)
		goto fail;
	for (unsigned i = 0; i < o.queues; i++) {
		struct job *j = &b.jobs[i];

		/*
		 * Sampling, the first request timed is the last of the first run of timed_every:
		 * the very first meets cold caches and IOMMU, and among few samples would skew
		 * them.
		 */
		*j = (struct job){.b = &b,
				  .q = i,
				  .rng = 0x9e3779b97f4a7c15ULL * (i + 1),
				  .untimed = b.timed_every - 1};
		j->next_seq = b.blocks / o.queues * i;
		for (unsigned k = 0; k < o.qd; k++)
			j->reqs[k] = (struct req){.j = j, .idx = k};
		ret = vv_dma_alloc(vv_blk_device(b.blk), (size_t)o.qd * o.bs, &j->buf);
		if (ret) {
			cli_err("%s: cannot allocate %zu bytes of DMA memory: %s", bdf,
				(size_t)o.qd * o.bs, strerror(-ret));
			goto fail;
		}
	}

	started = bench_run(&(struct bench_run){.threads = o.queues,
						.seconds = o.seconds,
						.main = job_main,
						.jobs = b.jobs,
						.job_size = sizeof(*b.jobs),
						.tid_off = offsetof(struct job, thread),
						.count = count_of,
						.ctx = &b,
						.stop = &b.stop,
						.name = bdf,
						.unit = "IOPS"},
			    &secs);
	err = started < o.queues;
	for (unsigned i = 0; i < started; i++)
		if (b.jobs[i].err == -EILSEQ) {
			cli_err("%s: --verify: sector %" PRIu64
				" did not read back what was written",
				bdf, atomic_load(&b.bad_sector) - 1);
			err = 1;
		} else if (b.jobs[i].err) {
			cli_err("%s: queue %u: I/O failed: %s", bdf, i, strerror(-b.jobs[i].err));
			err = 1;
		}
	if (!err && b.written) {
		ret = verify_all(&b, &checked);
		if (ret == -EILSEQ)
			cli_err("%s: --verify: sector %" PRIu64
				" did not read back what was written",
				bdf, atomic_load(&b.bad_sector) - 1);
		else if (ret)
			cli_err("%s: --verify: reading back failed: %s", bdf, strerror(-ret));
		err = ret != 0;
	}
	if (!err)
		report(&b, bdf, secs, checked);
	goto out;
fail:
	err = 1;
out:
	for (unsigned i = 0; b.jobs && i < o.queues; i++)
		vv_dma_free(vv_blk_device(b.blk), &b.jobs[i].buf);
	free(b.jobs);
	free(b.written);
	vv_blk_close(b.blk);
	return err ? EXIT_FAIL : EXIT_OK;
}
