// SPDX-License-Identifier: MIT
/*
 * test_export.c - the FUSE block export against a hostile device. The test plays the kernel
 * on a socket that speaks FUSE, and the fake device serves a RAM disk while a thread
 * rewrites every byte the device may write, as fast as it can. Whatever the device does,
 * every request gets one answer, to itself, of the right size, and nothing crashes. A device
 * that stops answering is given up on a bounded time after stop.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/fuse.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include <virtio-vfio/virtio-vfio.h>

#include "core/device.h"
#include "devs/blk_dev.h"
#include "export.h"
#include "fake_blk.h"
#include "fake_dev.h"

#define F(bit)	   (1ULL << (bit))
#define DEV_INO	   2  /* the first device's file */
#define MAX_OUT	   48 /* requests the fake kernel keeps outstanding */
#define MAX_WRITE  (256u << 10)
#define MAX_READ   (1u << 20) /* answers this large the replier thread sends (reply.c) */
#define DISK_BYTES (FAKE_DISK_SECTORS * 512ull)

struct pending {
	uint64_t unique;
	uint32_t opcode;
	uint32_t size; /* READ, WRITE: bytes asked */
};

struct t {
	struct fake_dev fd[2];
	struct fake_disk disk[2];
	struct vv_blk *blk[2];
	unsigned ndev;
	unsigned rnd_devs; /* the devices random requests go to: the first ones */
	int sk[2];	   /* [0]: the kernel's end, [1]: the export's channel */
	pthread_t thread;
	int result;
	struct export_opts opts;
	struct pending out[MAX_OUT];
	unsigned nout;
	uint64_t next_unique;
	unsigned answered, errors;
	uint8_t *msg;
	struct export *ex;		 /* between the two calls of opts.serving */
	struct export_dev_stats last[2]; /* the counters as the export ended */
	unsigned serving_calls;
};

static bool recv_reply(struct t *t, int timeout_ms);

/* export_opts.serving: the counters are readable from here on, until the call with NULL. */
static void on_serving(struct export *ex, void *ctx)
{
	struct t *t = ctx;

	if (!ex)
		for (unsigned i = 0; i < t->ndev; i++)
			export_stats(t->ex, i, &t->last[i]);
	__atomic_store_n(&t->ex, ex, __ATOMIC_RELEASE);
	t->serving_calls++;
}

static void *run_export(void *arg)
{
	struct t *t = arg;
	const char *names[] = {"fake0", "fake1"};

	t->result = export_run(t->blk, names, NULL, t->ndev, NULL, &t->opts, NULL, NULL);
	return NULL;
}

/* Sends one request: header, then @arg and @data as the argument. */
static void send_req(struct t *t, uint32_t opcode, uint64_t nodeid, const void *arg, size_t alen,
		     const void *data, size_t dlen, uint32_t size)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + alen + dlen),
		.opcode = opcode,
		.unique = ++t->next_unique,
		.nodeid = nodeid,
		.uid = getuid(),
		.gid = getgid(),
		.pid = (uint32_t)getpid(),
	};
	struct iovec iov[3] = {{&h, sizeof(h)}, {(void *)arg, alen}, {(void *)data, dlen}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
	ssize_t n;

	/* The export cannot answer while we do not read: take an answer, then try again. */
	while ((n = sendmsg(t->sk[0], &m, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 && errno == EAGAIN)
		recv_reply(t, 100);
	assert_int_equal(n, (ssize_t)h.len);
	if (opcode == FUSE_FORGET)
		return; /* never answered */
	assert_true(t->nout < MAX_OUT);
	t->out[t->nout++] = (struct pending){h.unique, opcode, size};
}

/*
 * Takes one answer and checks it against what is outstanding: a known request, answered
 * once, with a legal error or a body of the right size. Returns false at end of channel.
 */
static bool recv_reply(struct t *t, int timeout_ms)
{
	struct pollfd p = {.fd = t->sk[0], .events = POLLIN};
	struct fuse_out_header o;
	ssize_t n;
	unsigned i;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	n = recv(t->sk[0], t->msg, sizeof(o) + (2u << 20), 0);
	if (n <= 0)
		return false;
	assert_true((size_t)n >= sizeof(o));
	memcpy(&o, t->msg, sizeof(o));
	assert_int_equal(o.len, n);
	for (i = 0; i < t->nout && t->out[i].unique != o.unique; i++)
		;
	if (i == t->nout)
		fail_msg("an answer to request %llu, which is not outstanding",
			 (unsigned long long)o.unique);
	t->answered++;
	if (o.error) {
		/* What a lying device may cause: the errors its statuses map to, nothing else. */
		if (o.error != -EIO && o.error != -EOPNOTSUPP)
			fail_msg("opcode %u answered %d", t->out[i].opcode, o.error);
		t->errors++;
	} else if (t->out[i].opcode == FUSE_READ) {
		assert_int_equal(n - (ssize_t)sizeof(o), t->out[i].size);
	} else if (t->out[i].opcode == FUSE_WRITE) {
		struct fuse_write_out w;

		assert_int_equal(n, sizeof(o) + sizeof(w));
		memcpy(&w, t->msg + sizeof(o), sizeof(w));
		assert_int_equal(w.size, t->out[i].size);
	}
	t->out[i] = t->out[--t->nout];
	return true;
}

static void init_session(struct t *t)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 128 << 10,
		.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES,
	};
	struct fuse_open_in open = {.flags = 2 /* O_RDWR */};

	send_req(t, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, 0);
	assert_true(recv_reply(t, 5000));
	send_req(t, FUSE_OPEN, DEV_INO, &open, sizeof(open), NULL, 0, 0);
	assert_true(recv_reply(t, 5000));
}

/* @nq queues per device (VIRTIO_BLK_F_MQ above one), and as many workers. */
static struct t *start_q(bool irqs, uint64_t extra, unsigned stop_timeout_ms, unsigned ndev,
			 unsigned nq)
{
	struct t *t = calloc(1, sizeof(*t));
	struct virtio_blk_config c = {.capacity = htole64(FAKE_DISK_SECTORS),
				      .seg_max = htole32(126),
				      .size_max = htole32(1u << 20),
				      .num_queues = htole16((uint16_t)nq)};
	struct vv_device *dev;

	assert_non_null(t);
	t->msg = malloc(2u << 20);
	assert_non_null(t->msg);
	t->ndev = t->rnd_devs = ndev;
	for (unsigned i = 0; i < ndev; i++) {
		assert_int_equal(fake_dev_init(&t->fd[i], VV_VIRTIO_BLK,
					       F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_SEG_MAX) |
						       F(VIRTIO_BLK_F_SIZE_MAX) |
						       F(VIRTIO_RING_F_EVENT_IDX) |
						       F(VIRTIO_RING_F_INDIRECT_DESC) |
						       (nq > 1 ? F(VIRTIO_BLK_F_MQ) : 0) | extra,
					       &c, sizeof(c), nq, 128, irqs),
				 0);
		t->fd[i].handler = fake_disk_serve;
		t->fd[i].handler_ctx = &t->disk[i];
		assert_int_equal(device_open_transport(&t->fd[i].t, &dev), 0);
		assert_int_equal(blk_open_device(dev, 0, &t->blk[i]), 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t->sk), 0);
	/* Room for the largest message: a write request or a read's answer. */
	for (int i = 0; i < 2; i++) {
		int sz = 4 << 20;

		if (setsockopt(t->sk[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(t->sk[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	t->opts = (struct export_opts){.channel_fd = t->sk[1],
				       .queues = nq,
				       .stop_timeout_ms = stop_timeout_ms,
				       .serving = on_serving,
				       .serving_ctx = t};
	assert_int_equal(pthread_create(&t->thread, NULL, run_export, t), 0);
	init_session(t);
	return t;
}

static struct t *start(bool irqs, uint64_t extra, unsigned stop_timeout_ms, unsigned ndev)
{
	return start_q(irqs, extra, stop_timeout_ms, ndev, 1);
}

/* Ends the channel as an unmount does and waits for the export; returns its result. */
static int stop(struct t *t)
{
	shutdown(t->sk[0], SHUT_WR);
	/* What is outstanding gets 10 s to be answered; then a short look for strays. */
	while (recv_reply(t, t->nout ? 10000 : 100))
		;
	pthread_join(t->thread, NULL);
	return t->result;
}

static void finish(struct t *t)
{
	for (unsigned i = 0; i < t->ndev; i++) {
		vv_blk_close(t->blk[i]);
		fake_dev_fini(&t->fd[i]);
	}
	close(t->sk[0]); /* sk[1] went with the session */
	free(t->msg);
	free(t);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* One request of a random kind: reads, writes (aligned or not), and the small ones. */
static void send_random(struct t *t, uint64_t *x, const uint8_t *payload)
{
	uint64_t r = rnd(x);
	uint32_t size = (uint32_t)(rnd(x) % MAX_WRITE) + 1;
	uint64_t off = rnd(x) % (DISK_BYTES - size);
	uint64_t ino = DEV_INO + rnd(x) % t->rnd_devs;

	if (r % 8 < 3) {
		struct fuse_read_in in = {.offset = off, .size = size};

		if (r & 128) { /* large; the largest are answered by the replier */
			in.size = size = r & 256 ? MAX_READ : (uint32_t)(rnd(x) % MAX_READ) + 1;
			in.offset = off = rnd(x) % (DISK_BYTES - size);
		}
		send_req(t, FUSE_READ, ino, &in, sizeof(in), NULL, 0, size);
	} else if (r % 8 < 6) {
		struct fuse_write_in in = {.offset = off, .size = size};

		if (r & 64) /* aligned: the zero-copy path */
			in.offset &= ~4095ull, in.size = size = (size + 4095) & ~4095u;
		send_req(t, FUSE_WRITE, ino, &in, sizeof(in), payload, in.size, in.size);
	} else if (r % 8 == 6) {
		struct fuse_getattr_in in = {0};

		send_req(t, FUSE_GETATTR, r & 8 ? ino : FUSE_ROOT_ID, &in, sizeof(in), NULL, 0, 0);
	} else if (r & 8) {
		send_req(t, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "fake0", 6, 0);
	} else {
		struct fuse_fsync_in in = {0};

		send_req(t, FUSE_FSYNC, ino, &in, sizeof(in), NULL, 0, 0);
	}
}

static void run_requests_at(struct t *t, unsigned n, uint64_t seed, unsigned depth)
{
	uint8_t *payload = malloc(MAX_WRITE + 4096);
	uint64_t x = seed;

	assert_non_null(payload);
	for (unsigned i = 0; i < MAX_WRITE + 4096; i++)
		payload[i] = (uint8_t)rnd(&x);
	for (unsigned sent = 0; sent < n;) {
		while (t->nout < depth && sent < n) {
			send_random(t, &x, payload);
			sent++;
		}
		if (!recv_reply(t, 10000))
			fail_msg("no answer in 10 s, %u outstanding", t->nout);
	}
	while (t->nout)
		if (!recv_reply(t, 10000))
			fail_msg("no answer in 10 s, %u outstanding", t->nout);
	free(payload);
}

static void run_requests(struct t *t, unsigned n, uint64_t seed)
{
	run_requests_at(t, n, seed, MAX_OUT);
}

/* An honest device first: the harness itself, data end to end. */
static void test_honest(void **state)
{
	struct t *t = start(true, 0, 0, 1);
	uint8_t data[4096];
	struct fuse_write_in w = {.offset = 8192, .size = sizeof(data)};
	struct fuse_read_in r = {.offset = 8192, .size = sizeof(data)};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	send_req(t, FUSE_WRITE, DEV_INO, &w, sizeof(w), data, sizeof(data), sizeof(data));
	assert_true(recv_reply(t, 5000));
	assert_memory_equal(t->disk[0].data + 8192, data, sizeof(data));
	send_req(t, FUSE_READ, DEV_INO, &r, sizeof(r), NULL, 0, sizeof(data));
	assert_true(recv_reply(t, 5000));
	assert_memory_equal(t->msg + sizeof(struct fuse_out_header), data, sizeof(data));
	/* A large answer, which the replier thread sends, from inside a block. */
	for (size_t i = 0; i < MAX_READ; i++)
		t->disk[0].data[(1u << 20) + 100 + i] = (uint8_t)(i * 7 + i / 4096);
	r = (struct fuse_read_in){.offset = (1u << 20) + 100, .size = MAX_READ};
	send_req(t, FUSE_READ, DEV_INO, &r, sizeof(r), NULL, 0, MAX_READ);
	assert_true(recv_reply(t, 5000));
	assert_memory_equal(t->msg + sizeof(struct fuse_out_header),
			    t->disk[0].data + (1u << 20) + 100, MAX_READ);
	run_requests(t, 500, 1);
	assert_int_equal(t->errors, 0);
	assert_int_equal(stop(t), 0);
	finish(t);
}

/*
 * Two workers on one channel, taking turns to watch it (worker.c). With at most 8 requests
 * out, the first never runs out of buffers: it keeps the turn and serves them all, the
 * second is never woken for one. With 48 out, more than one worker's 32 buffers, the turn
 * passes: every request is answered, none is left on the channel by a worker that could
 * not read it, and both workers' queues carry requests.
 */
static void test_two_workers(void **state)
{
	struct t *t = start_q(true, 0, 0, 1, 2);

	run_requests_at(t, 500, 5, 8);
	assert_int_equal(t->errors, 0);
	if (t->fd[0].rings[1].used_idx)
		fail_msg("the second worker served %u requests below the first's buffers",
			 (unsigned)t->fd[0].rings[1].used_idx);
	run_requests(t, 2000, 7);
	assert_int_equal(t->errors, 0);
	assert_int_equal(stop(t), 0);
	for (unsigned q = 0; q < 2; q++)
		if (!t->fd[0].rings[q].used_idx)
			fail_msg("queue %u served no request: one worker took them all", q);
	finish(t);
}

/*
 * Every byte the device may write is rewritten all the time, on split and packed rings:
 * thousands of requests are parsed and answered, each to itself. The rings are spared here,
 * so that the device stays usable and the export keeps going.
 */
static void test_hostile_buffers(void **state)
{
	for (int packed = 0; packed < 2; packed++) {
		struct t *t = start(true, packed ? F(VIRTIO_F_RING_PACKED) : 0, 0, 1);

		assert_int_equal(fake_dev_scribble_start(&t->fd[0], false), 0);
		run_requests(t, 3000, 7 + packed);
		fake_dev_scribble_stop(&t->fd[0]);
		assert_true(t->fd[0].scribbled > 0);
		print_message("# packed=%d: %u answers, %u EIO, %llu MiB rewritten by the device\n",
			      packed, t->answered, t->errors,
			      (unsigned long long)(t->fd[0].scribbled >> 20));
		/* Whatever it rewrote, the device could not reach the headers: all answered. */
		assert_int_equal(stop(t), 0);
		finish(t);
	}
}

/* Whether some memory is mapped for both devices now: what must never be. */
static bool shared_mapping(struct fake_dev *a, struct fake_dev *b)
{
	bool shared = false;

	pthread_mutex_lock(&a->iommu.lock);
	pthread_mutex_lock(&b->iommu.lock);
	for (unsigned i = 0; i < a->iommu.nmaps && !shared; i++)
		for (unsigned j = 0; j < b->iommu.nmaps && !shared; j++)
			shared = a->iommu.maps[i].vaddr <
					 b->iommu.maps[j].vaddr + b->iommu.maps[j].len &&
				 b->iommu.maps[j].vaddr <
					 a->iommu.maps[i].vaddr + a->iommu.maps[i].len;
	pthread_mutex_unlock(&b->iommu.lock);
	pthread_mutex_unlock(&a->iommu.lock);
	return shared;
}

struct watch {
	struct t *t;
	volatile bool stop;
	unsigned looks, shared;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;

	while (!w->stop) {
		w->shared += shared_mapping(&w->t->fd[0], &w->t->fd[1]);
		w->looks++;
		usleep(200);
	}
	return NULL;
}

/*
 * Two devices in one export, both hostile, requests for either in any order: at no moment is
 * any memory mapped for both (each has its own data buffers; the buffers requests land in
 * are no device's), so neither can read or alter the other's I/O. And no IOMMU operation
 * per request: the mappings are made once.
 */
static void test_two_devices_apart(void **state)
{
	struct t *t = start(true, 0, 0, 2);
	struct watch w = {.t = t};
	pthread_t th;
	unsigned maps0 = t->fd[0].iommu.added + t->fd[1].iommu.added;

	assert_int_equal(fake_dev_scribble_start(&t->fd[0], false), 0);
	assert_int_equal(fake_dev_scribble_start(&t->fd[1], false), 0);
	assert_int_equal(pthread_create(&th, NULL, watch_main, &w), 0);
	run_requests(t, 2000, 11);
	w.stop = true;
	pthread_join(th, NULL);
	fake_dev_scribble_stop(&t->fd[0]);
	fake_dev_scribble_stop(&t->fd[1]);
	print_message("# %u looks at both IOMMUs\n", w.looks);
	assert_true(w.looks > 100);
	assert_int_equal(w.shared, 0);
	assert_int_equal(t->fd[0].iommu.added + t->fd[1].iommu.added, maps0);
	assert_true(t->disk[0].requests > 100 && t->disk[1].requests > 100);
	assert_int_equal(stop(t), 0);
	finish(t);
}

/*
 * A hostile device next to an honest one in the same export: what is written to the honest
 * one arrives as written. A buffer is mapped only while it serves a request, so the hostile
 * device never sees, let alone changes, a request meant for the other.
 */
static void test_hostile_neighbour(void **state)
{
	struct t *t = start(true, 0, 0, 2);
	uint8_t *payload = malloc(MAX_WRITE + 4096), *slot = malloc(65536);
	unsigned slots = (unsigned)(DISK_BYTES / 65536);
	uint64_t x = 5;

	assert_non_null(payload);
	assert_non_null(slot);
	t->rnd_devs = 1; /* random requests for the hostile device only */
	assert_int_equal(fake_dev_scribble_start(&t->fd[0], false), 0);
	for (unsigned i = 0; i < MAX_WRITE + 4096; i++)
		payload[i] = (uint8_t)rnd(&x);
	for (unsigned n = 0; n < slots; n++) {
		struct fuse_write_in w = {.offset = n * 65536ull, .size = 65536};

		/* Requests for the hostile device around each write to the honest one. */
		for (int k = 0; k < 4; k++) {
			while (t->nout >= MAX_OUT)
				if (!recv_reply(t, 10000))
					fail_msg("no answer in 10 s");
			if (k < 3) {
				send_random(t, &x, payload);
				continue;
			}
			for (unsigned i = 0; i < 65536; i++)
				slot[i] = (uint8_t)(n * 31 + i);
			send_req(t, FUSE_WRITE, DEV_INO + 1, &w, sizeof(w), slot, 65536, 65536);
		}
	}
	while (t->nout)
		if (!recv_reply(t, 10000))
			fail_msg("no answer in 10 s, %u outstanding", t->nout);
	fake_dev_scribble_stop(&t->fd[0]);
	for (unsigned n = 0; n < slots; n++)
		for (unsigned i = 0; i < 65536; i++)
			if (t->disk[1].data[n * 65536ull + i] != (uint8_t)(n * 31 + i))
				fail_msg("the honest disk's byte %llu is 0x%02x, written 0x%02x",
					 n * 65536ull + i, t->disk[1].data[n * 65536ull + i],
					 (uint8_t)(n * 31 + i));
	assert_int_equal(stop(t), 0);
	free(payload);
	free(slot);
	finish(t);
}

/* The rings too: the device breaks them, the export gives up on it and ends, cleanly. */
static void test_hostile_rings(void **state)
{
	struct t *t = start(true, 0, 1000, 1);
	uint8_t *payload = calloc(1, MAX_WRITE + 4096);
	uint64_t x = 3;
	int result;

	assert_non_null(payload);
	assert_int_equal(fake_dev_scribble_start(&t->fd[0], true), 0);
	/* Requests until the export stops taking them: it read EOF or lost the device. */
	for (unsigned i = 0; i < 20000; i++) {
		while (t->nout < MAX_OUT)
			send_random(t, &x, payload);
		if (!recv_reply(t, 2000))
			break;
	}
	fake_dev_scribble_stop(&t->fd[0]);
	/*
	 * The kernel gives up on the connection (umount): every buffer may be held by a
	 * request the broken device will never answer, and the export must notice anyway.
	 */
	shutdown(t->sk[0], SHUT_RDWR);
	pthread_join(t->thread, NULL);
	result = t->result;
	assert_true(result == -ENODEV || result == 0);
	assert_true(vv_device_aborted(vv_blk_device(t->blk[0])) || result == 0);
	free(payload);
	finish(t);
}

/*
 * A device that stops answering: after stop, the requests on it get the grace period, then
 * the device is aborted, they fail with EIO, and the export ends.
 */
static void test_stuck_device(void **state)
{
	struct t *t = start(true, 0, 300, 1);
	struct fuse_read_in r = {.offset = 0, .size = 4096};
	struct timespec a, b;

	t->fd[0].rings[0].stalled = true;
	send_req(t, FUSE_READ, DEV_INO, &r, sizeof(r), NULL, 0, 4096);
	send_req(t, FUSE_READ, DEV_INO, &r, sizeof(r), NULL, 0, 4096);
	assert_false(recv_reply(t, 200));
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(stop(t), -ENODEV);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(t->nout, 0);
	assert_int_equal(t->errors, 2);
	assert_true(vv_device_aborted(vv_blk_device(t->blk[0])));
	assert_true(b.tv_sec - a.tv_sec < 5);
	/* The status counters saw it: two reads, both failed, the device given up on. */
	assert_int_equal(t->last[0].reads, 2);
	assert_int_equal(t->last[0].errors, 2);
	assert_int_equal(t->last[0].bytes_read, 0);
	assert_int_equal(t->last[0].in_flight, 0);
	assert_true(t->last[0].lost);
	finish(t);
}

/*
 * The counters `virtio-vfio status` shows: each FUSE request counted once by kind, bytes as
 * asked (an unaligned write counts its own bytes, not the blocks it patched), requests the
 * export answers without the device (a read past the end) not at all; in flight while a
 * device holds requests, and back to zero.
 */
static void test_counters(void **state)
{
	struct t *t = start(true, 0, 0, 2);
	static uint8_t data[8192];
	struct export_dev_stats s;
	struct fuse_write_in w = {.size = 4096};
	struct fuse_read_in r = {.size = 8192};
	struct fuse_write_in uw = {.offset = 10, .size = 100};
	struct fuse_read_in eof = {.offset = DISK_BYTES, .size = 4096};
	struct fuse_fsync_in f = {0};

	assert_int_equal(t->serving_calls, 1);
	assert_non_null(t->ex);
	for (unsigned i = 0; i < 10; i++) {
		w.offset = i * 4096ull;
		send_req(t, FUSE_WRITE, DEV_INO, &w, sizeof(w), data, 4096, 4096);
	}
	for (unsigned i = 0; i < 7; i++) {
		r.offset = i * 8192ull;
		send_req(t, FUSE_READ, DEV_INO + 1, &r, sizeof(r), NULL, 0, 8192);
	}
	send_req(t, FUSE_WRITE, DEV_INO, &uw, sizeof(uw), data, 100, 100);
	send_req(t, FUSE_FSYNC, DEV_INO, &f, sizeof(f), NULL, 0, 0);
	send_req(t, FUSE_READ, DEV_INO, &eof, sizeof(eof), NULL, 0, 0);
	while (t->nout)
		assert_true(recv_reply(t, 5000));

	export_stats(t->ex, 0, &s);
	assert_int_equal(s.writes, 11);
	assert_int_equal(s.bytes_written, 10 * 4096 + 100);
	assert_int_equal(s.reads, 0);
	assert_int_equal(s.flushes, 1);
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.in_flight, 0);
	assert_int_equal(s.dev_in_flight, 0);
	assert_int_equal(s.size_bytes, DISK_BYTES);
	assert_false(s.lost);
	export_stats(t->ex, 1, &s);
	assert_int_equal(s.reads, 7);
	assert_int_equal(s.bytes_read, 7 * 8192);
	assert_int_equal(s.writes, 0);

	/* A device that holds its requests: they are in flight, on the device too. */
	t->fd[1].rings[0].stalled = true;
	r.offset = 0;
	send_req(t, FUSE_READ, DEV_INO + 1, &r, sizeof(r), NULL, 0, 8192);
	send_req(t, FUSE_READ, DEV_INO + 1, &r, sizeof(r), NULL, 0, 8192);
	for (int i = 0; i < 200; i++) {
		export_stats(t->ex, 1, &s);
		if (s.in_flight == 2 && s.dev_in_flight == 2)
			break;
		usleep(10000);
	}
	assert_int_equal(s.in_flight, 2);
	assert_int_equal(s.dev_in_flight, 2);
	assert_int_equal(s.reads, 7);
	/* Answering again: the next doorbell has it serve all three. */
	t->fd[1].rings[0].stalled = false;
	send_req(t, FUSE_READ, DEV_INO + 1, &r, sizeof(r), NULL, 0, 8192);
	while (t->nout)
		assert_true(recv_reply(t, 5000));
	export_stats(t->ex, 1, &s);
	assert_int_equal(s.reads, 10);
	assert_int_equal(s.bytes_read, 10 * 8192);
	assert_int_equal(s.in_flight, 0);

	assert_int_equal(stop(t), 0);
	assert_int_equal(t->serving_calls, 2);
	assert_null(t->ex);
	assert_int_equal(t->last[0].writes, 11);
	assert_int_equal(t->last[1].reads, 10);
	finish(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_honest),
		cmocka_unit_test(test_two_workers),
		cmocka_unit_test(test_hostile_buffers),
		cmocka_unit_test(test_two_devices_apart),
		cmocka_unit_test(test_hostile_neighbour),
		cmocka_unit_test(test_hostile_rings),
		cmocka_unit_test(test_stuck_device),
		cmocka_unit_test(test_counters),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
