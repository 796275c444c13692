// SPDX-License-Identifier: MIT
/*
 * worker.c - a worker of the FUSE block export: a thread running a libevent loop over the
 * FUSE channel, its queue's completion eventfd on every device and a wake-up eventfd. It
 * owns its receive buffers (which one the next request lands in, when intake pauses), its
 * wake-ups, the stop and its deadline, and what happens when a device is lost. Worker 0
 * also takes signals, configuration changes and removals, and leaves last. It drives the
 * request engine (io.c) one way: the engine only leaves notes in the worker's data.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/event.h>

#include "export_int.h"

/* The buffer to receive the next request into; -1 when none is free. */
static int next_buf(struct worker *w)
{
	return w->nfree ? (int)w->free_bufs[--w->nfree] : -1;
}

static void wake(struct worker *w);

/* Whether a request waits on the channel now. */
static bool channel_ready(const struct worker *w)
{
	struct pollfd p = {.fd = fuse_session_fd(w->ex->se), .events = POLLIN};

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/*
 * Which worker reads a request. Every worker can read the one FUSE channel, but only one at a
 * time watches it: the one whose turn it is (ex->watcher). Were they all waiting on it, each
 * request would wake every sleeping worker for one to win. Woken one at a time instead (the
 * design before this one: each worker's own epoll fd, registered EPOLLEXCLUSIVE, out of it
 * while reading), a second worker was woken for requests that arrived while the first was
 * busy, a wake-up on the application's CPU where the first would have read them in its next
 * batch: two workers made 0.34x of one worker's 4 KiB QD32 rate (docs/performance.md). So
 * the watcher keeps the turn while it can read, and hands it on only when it cannot take a
 * request that waits: out of buffers. A watcher that cannot read and finds no other that
 * can keeps the turn: what waits is read once one of its own requests is answered, as with
 * one worker.
 *
 * Hands the turn to the next worker that can read, and wakes it: its settle() starts
 * watching.
 */
static void pass_turn(struct worker *w)
{
	struct export *ex = w->ex;

	for (unsigned k = 1; k < ex->nworkers; k++) {
		struct worker *v = &ex->workers[(w->idx + k) % ex->nworkers];

		if (atomic_load(&v->can_read)) {
			atomic_store(&ex->watcher, v->idx);
			wake(v);
			return;
		}
	}
}

/*
 * Reads the channel in its turn while a buffer is free. Otherwise a look every second
 * whether the channel went away (umount aborted the connection): requests a stuck device
 * holds must not hide that, or nothing would ever end them.
 */
static void update_reading(struct worker *w)
{
	struct export *ex = w->ex;
	bool able = !atomic_load(&ex->stopping) && w->cur >= 0;
	struct timeval second = {1, 0};
	bool want;

	if (ex->nworkers > 1) {
		/* For a watcher that cannot read, looking for one that can (pass_turn()). */
		atomic_store(&w->can_read, able);
		if (!able && atomic_load(&ex->watcher) == w->idx && channel_ready(w))
			pass_turn(w);
	}
	want = able && atomic_load(&ex->watcher) == w->idx;
	if (want != w->reading) {
		w->reading = want;
		if (want) {
			event_del(w->gone_check);
			event_add(w->fuse_ev, NULL);
		} else {
			event_del(w->fuse_ev);
			if (!atomic_load(&ex->stopping))
				event_add(w->gone_check, &second);
		}
	}
}

/*
 * A worker leaves once stop was asked and its requests are answered; worker 0 only once
 * every other worker has left, since it watches for removals and the stop deadline, and
 * another worker's requests may still need either.
 */
static void maybe_finish(struct worker *w)
{
	if (!atomic_load(&w->ex->stopping) || w->inflight || w->replying || w->deferred)
		return;
	if (w->idx == 0 && atomic_load(&w->ex->running) > 1)
		return;
	event_base_loopbreak(w->base);
}

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, 8) != 8)
		(void)0; /* the counter is full: a wake-up is pending anyway */
}

static void wake_all(struct export *ex, const struct worker *except)
{
	for (unsigned i = 0; i < ex->nworkers; i++)
		if (&ex->workers[i] != except)
			wake(&ex->workers[i]);
}

/*
 * Lets go of the ops the replier answered (reply.c). With @need, the worker cannot go on
 * without them, and the replier wakes it for the next if none is back yet. Returns whether
 * any was. With none out, it does not take the replier's lock.
 */
static bool take_back(struct worker *w, bool need)
{
	struct op *op = w->replying ? replier_collect(w, need) : NULL, *next;
	bool any = op;

	for (; op; op = next) {
		next = op->rnext;
		w->replying--;
		io_release(op);
	}
	return any;
}

/*
 * After the engine ran on this worker: ring the doorbells of what it queued, wake the
 * workers it asked for, take a freed buffer up if intake paused for want of one, and leave
 * if stop was asked and everything is answered.
 */
static void settle(struct worker *w)
{
	take_back(w, false);
	io_kick(w);
	if (w->wake_others) {
		w->wake_others = false;
		wake_all(w->ex, w);
	}
	if (w->cur < 0)
		w->cur = next_buf(w);
	/* Out of buffers, or stopping with answers still out: sleep only with a wake-up asked. */
	while ((w->cur < 0 || atomic_load(&w->ex->stopping)) && take_back(w, true))
		if (w->cur < 0)
			w->cur = next_buf(w);
	update_reading(w);
	maybe_finish(w);
}

/*
 * A device we lost (removed, needing a reset, breaking the ring's rules) failed what was in
 * flight; it will complete nothing more, so the export ends rather than answer EIO forever.
 * Whichever worker sees it first says so.
 */
static void lost(struct export *ex, struct dev *d)
{
	if (atomic_exchange(&d->lost, true))
		return;
	fprintf(stderr, "virtio-vfio: %s: device lost: I/O in flight failed with EIO; unmounting\n",
		d->name);
	atomic_store(&ex->lost, true);
	export_stop(ex);
}

/* This worker's queue on device @di. */
static struct vv_vq *queue_of(const struct worker *w, unsigned di)
{
	return vv_device_queue(vv_blk_device(w->ex->devs[di].blk), w->q[di]);
}

/* Completes what device @di finished on this worker's queue, then retries what waits. */
static void drain(struct worker *w, unsigned di)
{
	struct dev *d = &w->ex->devs[di];
	struct vv_device *dev = vv_blk_device(d->blk);
	struct vv_vq *vq = queue_of(w, di);

	do {
		while (vv_blk_poll(d->blk, w->q[di], 256) > 0)
			;
		/* A completion raced the re-arm: look again. A broken queue has nothing more. */
	} while (!vv_vq_enable_cb(vq) && !vv_vq_is_broken(vq));
	if (vv_device_aborted(dev))
		lost(w->ex, d);
	io_run_deferred(w);
	settle(w);
}

/*
 * The hybrid window. At a low queue depth a request's time is mostly the wait for its
 * device, and sleeping on the interrupt adds to it: an eventfd wake-up behind an MSI (in a
 * TCG guest, emulated and remapped: a 4 KiB read took 143 us that way, 60 us polled;
 * docs/performance.md). So once requests are queued the worker looks at its used rings,
 * notifications off, until a request completes or about SPIN_NS pass, then hands over to
 * drain(), which turns them back on and sleeps as before. The precise clock is read only
 * every 1024 empty looks, as in vv_blk_wait(): in a TCG guest each read is a system call.
 * Only with one request in flight, the caller waiting for it: at a higher depth completions
 * come often anyway, and a spinning worker takes a CPU from the submitter and the device's
 * emulation. Spinning at any depth cost 0.69x of the 4 KiB QD32 rate (docs/performance.md).
 * Returns whether it spun and the lone request is answered: then await_channel() may follow.
 */
#define SPIN_NS 100000

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static bool spin(struct worker *w)
{
	struct export *ex = w->ex;
	uint64_t start = 0;
	unsigned looks = 0;
	bool done = false;

	if (w->inflight != 1 || atomic_load(&ex->stopping))
		return false;
	for (unsigned i = 0; i < ex->n; i++)
		vv_vq_disable_cb(queue_of(w, i));
	while (!done) {
		for (unsigned i = 0; i < ex->n && !done; i++)
			done = vv_blk_poll(ex->devs[i].blk, w->q[i], 256) != 0 || !w->inflight;
		if (done || ++looks % 1024)
			continue;
		if (!start)
			start = mono_ns();
		else if (mono_ns() - start >= SPIN_NS)
			break;
	}
	for (unsigned i = 0; i < ex->n; i++)
		drain(w, i);
	return done && !w->inflight;
}

/*
 * The same window on the other side. A lone request was just answered: its caller is
 * likely to send the next one at once (a synchronous reader at QD1). A worker asleep in
 * its event loop has to be woken for it, and in a TCG guest waking a thread on an idle vCPU
 * is dear (docs/performance.md: a FUSE request that does no I/O at all took 152 us). So the
 * worker looks at the channel until a request is there or SPIN_NS pass. Returns whether one
 * is.
 */
static bool await_channel(struct worker *w)
{
	uint64_t start = mono_ns();

	while (!atomic_load(&w->ex->stopping) && w->reading) {
		for (unsigned k = 0; k < 8; k++)
			if (channel_ready(w))
				return true;
		if (mono_ns() - start >= SPIN_NS)
			break;
	}
	return false;
}

/* What a completion eventfd's callback needs to know. */
struct irq_ctx {
	struct worker *w;
	unsigned di;
};

unsigned export_stop_timeout_ms(const struct export *ex)
{
	return ex->opts->stop_timeout_ms ? ex->opts->stop_timeout_ms : 30000;
}

void export_stop(struct export *ex)
{
	atomic_store(&ex->stopping, true);
	wake_all(ex, NULL);
}

/*
 * Only a WRITE is parsed where it arrived: its two headers fill the end of the buffer's
 * unmapped page exactly (HDR_ROOM), so nothing libfuse reads is in memory a device can
 * write, and the payload stays in place for the device. Any other request may reach into
 * the mapped part (a name, an xattr): it is copied to memory no device reaches first. libfuse
 * reads the opcode twice, so a copy is not a courtesy.
 */
static const struct fuse_buf *private_request(struct worker *w, size_t len)
{
	const uint8_t *at = w->fbuf.mem;
	struct fuse_in_header in;

	memcpy(&in, at, sizeof(in));
	if (in.opcode == FUSE_WRITE && len >= HDR_ROOM)
		return &w->fbuf;
	memcpy(w->priv, at, len);
	w->fbuf = (struct fuse_buf){.mem = w->priv, .size = len};
	return &w->fbuf;
}

static void on_fuse(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct export *ex = w->ex;

	io_worker = w;
	do {
		/* A bounded batch, so completions and other workers' wake-ups are not starved. */
		for (int i = 0; i < 32 && w->reading; i++) {
			int res;

			w->fbuf = (struct fuse_buf){.mem = w->bufs[w->cur].mem + RECV_AT,
						    .size = RECV_SIZE};
			res = fuse_session_receive_buf(ex->se, &w->fbuf);
			if (res == -EINTR || res == -EAGAIN)
				break;
			if (res <= 0) {
				/* -ENODEV: unmounted. Finish what is in flight, then leave. */
				export_stop(ex);
				break;
			}
			w->cur_taken = false;
			fuse_session_process_buf(ex->se, private_request(w, (size_t)res));
			if (w->cur_taken) {
				w->cur = next_buf(w);
				update_reading(w); /* none free: stop reading until one is */
			}
		}
		settle(w);
	} while (spin(w) && await_channel(w));
}

static void on_gone_check(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct pollfd p = {.fd = fuse_session_fd(w->ex->se)};

	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP))) {
		io_worker = w;
		export_stop(w->ex);
		update_reading(w);
	}
}

/* A configuration change: a resized disk becomes a file of the new size. Worker 0 only. */
static void refresh(struct dev *d)
{
	bool changed = false;

	if (vv_blk_refresh(d->blk, &changed) || !changed)
		return;
	atomic_store(&d->bytes, vv_blk_capacity(d->blk) * SECTOR);
	/*
	 * Attributes only (offset -1): the kernel learns the new size on its next getattr and
	 * truncates its own cache when the disk shrank. Invalidating pages from here would wait
	 * on page locks held by reads that this very thread has to answer: a deadlock no
	 * signal ends.
	 */
	fuse_lowlevel_notify_inval_inode(d->ex->se, DEV_INO(d - d->ex->devs), -1, 0);
}

static void on_config(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	refresh(arg);
}

/*
 * The kernel wants the device back (hot-unplug) and waits until we close it: give up on it.
 * The abort wakes every worker on its queues, they fail what is in flight and drain()
 * ends the export. The kernel repeats the request until then; reading it keeps the loop calm.
 */
static void on_removal(evutil_socket_t fd, short what, void *arg)
{
	struct dev *d = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (!vv_device_aborted(vv_blk_device(d->blk)))
		fprintf(stderr, "virtio-vfio: %s: the device is being removed\n", d->name);
	vv_device_abort(vv_blk_device(d->blk));
}

static void on_irq(evutil_socket_t fd, short what, void *arg)
{
	struct irq_ctx *c = arg;
	struct dev *d = &c->w->ex->devs[c->di];
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	io_worker = c->w;
	if (fd == d->config_fd)
		refresh(d); /* one vector for everything */
	drain(c->w, c->di);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	io_worker = w;
	for (unsigned i = 0; i < w->ex->n; i++)
		if (!w->irq[i])
			drain(w, i);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval grace;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	io_worker = w;
	/* Stop was asked: from now on, I/O in flight has a bounded time to finish. */
	if (w->idx == 0 && atomic_load(&w->ex->stopping) && w->ex->stop_timer &&
	    !evtimer_pending(w->ex->stop_timer, NULL)) {
		grace = (struct timeval){export_stop_timeout_ms(w->ex) / 1000,
					 export_stop_timeout_ms(w->ex) % 1000 * 1000};
		evtimer_add(w->ex->stop_timer, &grace);
	}
	io_run_deferred(w);
	settle(w);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	export_stop(arg);
}

/*
 * The grace period after stop ran out and requests are still on a device: it stopped
 * answering. Abort it, so they fail with EIO and the export can end: nothing else would,
 * since the kernel's FUSE has no timeout in 6.1 and umount waits for us.
 */
static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct export *ex = arg;

	for (unsigned i = 0; i < ex->n; i++) {
		struct dev *d = &ex->devs[i];

		unsigned n = atomic_load(&d->inflight);

		if (n && !vv_device_aborted(vv_blk_device(d->blk))) {
			fprintf(stderr,
				"virtio-vfio: %s: no answer %g s after stop, %u request%s in flight: "
				"giving up on the device\n",
				d->name, export_stop_timeout_ms(ex) / 1000.0, n, n == 1 ? "" : "s");
			vv_device_abort(vv_blk_device(d->blk));
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	io_worker = w;
	event_base_dispatch(w->base);
	/* Worker 0 leaves last (maybe_finish()): tell it one more is gone. */
	if (atomic_fetch_sub(&w->ex->running, 1) > 1 && w->idx)
		wake(&w->ex->workers[0]);
	return NULL;
}

/*
 * How many workers: queues=N asks for N (each device was opened with N queues); the default
 * is one. A second worker takes requests only when the first has no buffer for them
 * (pass_turn()): on a 2-vCPU guest the workers compete with the application for the
 * CPUs (docs/performance.md). Queues that share an interrupt vector get one worker: an
 * eventfd cannot reliably wake two readers.
 */
static unsigned count_workers(struct export *ex)
{
	unsigned n = ex->opts->queues ? ex->opts->queues : 1;

	for (unsigned i = 0; i < ex->n; i++) {
		struct vv_blk *blk = ex->devs[i].blk;
		unsigned nq = vv_blk_num_queues(blk);

		if (nq < n)
			n = nq;
		for (unsigned q = 1; q < nq; q++)
			if (vv_blk_queue_eventfd(blk, q) >= 0 &&
			    vv_blk_queue_eventfd(blk, q) == vv_blk_queue_eventfd(blk, 0))
				return 1;
	}
	return n ? n : 1;
}

static int map_or_say(struct dev *d, void *mem, size_t len, struct vv_dma_buf *ret_map)
{
	int ret = vv_dma_map(vv_blk_device(d->blk), mem, len, VV_DMA_DEVICE_RW, ret_map);

	if (ret)
		fprintf(stderr, "virtio-vfio: %s: cannot map I/O buffers: %s\n", d->name,
			strerror(-ret));
	return ret;
}

/*
 * One device: the data part of every receive buffer is mapped for it, each on its own (the
 * header page before it stays out). Several devices: receive buffers are mapped for none, and
 * each device gets a pool of data buffers, mapped for it alone, in one piece.
 */
static int setup_buffers(struct export *ex, struct worker *w)
{
	size_t dpool_len = (size_t)NBUFS * BUF_MAPPED;
	int ret = 0;

	for (unsigned b = 0; b < NBUFS; b++)
		w->bufs[b].mem = w->pool + (size_t)b * BUF_SIZE;
	if (ex->n == 1) {
		for (unsigned b = 0; b < NBUFS && !ret; b++)
			ret = map_or_say(&ex->devs[0], w->bufs[b].mem + BUF_PAGE, BUF_MAPPED,
					 &w->bufs[b].map);
		return ret;
	}
	w->dpools = calloc(ex->n, sizeof(*w->dpools));
	if (!w->dpools)
		return -ENOMEM;
	for (unsigned i = 0; i < ex->n && !ret; i++) {
		struct dpool *p = &w->dpools[i];

		p->mem = mmap(NULL, dpool_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		if (p->mem == MAP_FAILED) {
			p->mem = NULL;
			return -ENOMEM;
		}
		ret = map_or_say(&ex->devs[i], p->mem, dpool_len, &p->map);
		for (unsigned b = NBUFS; b-- > 0;)
			p->free[p->nfree++] = b;
	}
	return ret;
}

static int setup_worker(struct export *ex, struct worker *w, unsigned idx)
{
	size_t pool_len = (size_t)NBUFS * BUF_SIZE;
	bool polled = false;
	int ret;

	w->ex = ex;
	w->idx = idx;
	w->cur = -1;
	w->base = event_base_new();
	w->q = calloc(ex->n, sizeof(*w->q));
	w->irq = calloc(ex->n, sizeof(*w->irq));
	w->kick = calloc(ex->n, sizeof(*w->kick));
	w->irq_ctx = calloc(ex->n, sizeof(*w->irq_ctx));
	w->priv = malloc(RECV_SIZE);
	/* Its own cache lines: the status reader sums them while the workers write theirs. */
	w->stats = aligned_alloc(64, (ex->n * sizeof(*w->stats) + 63) / 64 * 64);
	if (!w->base || !w->q || !w->irq || !w->kick || !w->irq_ctx || !w->priv || !w->stats)
		return -ENOMEM;
	memset(w->stats, 0, ex->n * sizeof(*w->stats));
	w->pool = mmap(NULL, pool_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->pool == MAP_FAILED) {
		w->pool = NULL;
		return -ENOMEM;
	}
	ret = setup_buffers(ex, w);
	if (ret)
		return ret;
	for (unsigned b = NBUFS; b-- > 0;)
		w->free_bufs[w->nfree++] = b;
	w->cur = next_buf(w);

	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return -errno;
	ret = replier_start(w);
	if (ret)
		return ret;
	w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
	w->fuse_ev = event_new(w->base, fuse_session_fd(ex->se), EV_READ | EV_PERSIST, on_fuse, w);
	w->gone_check = event_new(w->base, -1, EV_PERSIST, on_gone_check, w);
	if (!w->wake_ev || !w->fuse_ev || !w->gone_check)
		return -ENOMEM;
	event_add(w->wake_ev, NULL);
	for (unsigned i = 0; i < ex->n; i++) {
		struct dev *d = &ex->devs[i];
		int efd;

		w->q[i] = idx;
		efd = vv_blk_queue_eventfd(d->blk, idx);
		if (efd < 0) {
			polled = true;
			continue;
		}
		w->irq_ctx[i] = (struct irq_ctx){w, i};
		w->irq[i] = event_new(w->base, efd, EV_READ | EV_PERSIST, on_irq, &w->irq_ctx[i]);
		if (!w->irq[i])
			return -ENOMEM;
		event_add(w->irq[i], NULL);
	}
	if (polled) {
		struct timeval tv = {0, 200};

		w->poll_timer = event_new(w->base, -1, EV_PERSIST, on_poll_timer, w);
		if (!w->poll_timer)
			return -ENOMEM;
		event_add(w->poll_timer, &tv);
	}
	update_reading(w);
	return 0;
}

static void free_worker(struct export *ex, struct worker *w)
{
	replier_stop(w); /* idle: every op it took came back before the loop ended */
	for (unsigned i = 0; w->irq && i < ex->n; i++)
		if (w->irq[i])
			event_free(w->irq[i]);
	/* Every request completed: no device reads or writes the buffers any more. */
	for (unsigned b = 0; ex->n == 1 && b < NBUFS; b++)
		vv_dma_free(vv_blk_device(ex->devs[0].blk), &w->bufs[b].map);
	for (unsigned i = 0; w->dpools && i < ex->n; i++) {
		vv_dma_free(vv_blk_device(ex->devs[i].blk), &w->dpools[i].map);
		if (w->dpools[i].mem)
			munmap(w->dpools[i].mem, (size_t)NBUFS * BUF_MAPPED);
	}
	free(w->dpools);
	if (w->fuse_ev)
		event_free(w->fuse_ev);
	if (w->gone_check)
		event_free(w->gone_check);
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->poll_timer)
		event_free(w->poll_timer);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->pool)
		munmap(w->pool, (size_t)NBUFS * BUF_SIZE);
	if (w->base)
		event_base_free(w->base);
	free(w->q);
	free(w->irq);
	free(w->kick);
	free(w->irq_ctx);
	free(w->priv);
	free(w->stats);
}

/* Worker 0 takes signals, configuration changes (vv_blk_refresh() wants queue 0), removals. */
static int watch(struct export *ex)
{
	struct event_base *base = ex->workers[0].base;

	for (unsigned i = 0; i < ex->n; i++) {
		struct dev *d = &ex->devs[i];
		int fd = vv_device_removal_eventfd(vv_blk_device(d->blk));

		d->config_fd = vv_device_config_eventfd(vv_blk_device(d->blk));
		if (d->config_fd >= 0 && d->config_fd != vv_blk_queue_eventfd(d->blk, 0)) {
			d->config =
				event_new(base, d->config_fd, EV_READ | EV_PERSIST, on_config, d);
			if (!d->config || event_add(d->config, NULL))
				return -ENOMEM;
		}
		if (fd >= 0) {
			d->removal = event_new(base, fd, EV_READ | EV_PERSIST, on_removal, d);
			if (!d->removal || event_add(d->removal, NULL))
				return -ENOMEM;
		}
	}
	ex->stop_timer = evtimer_new(base, on_stop_timeout, ex);
	ex->sigterm = evsignal_new(base, SIGTERM, on_signal, ex);
	ex->sigint = evsignal_new(base, SIGINT, on_signal, ex);
	if (!ex->stop_timer || !ex->sigterm || !ex->sigint || event_add(ex->sigterm, NULL) ||
	    event_add(ex->sigint, NULL))
		return -ENOMEM;
	return 0;
}

int workers_setup(struct export *ex)
{
	int ret = 0;

	ex->nworkers = count_workers(ex);
	/* Ask for all of it before mapping any, so that a limit too low is named whole. */
	ret = vv_dma_check_memlock(vv_blk_device(ex->devs[0].blk),
				   (size_t)ex->nworkers * ex->n * NBUFS * BUF_MAPPED);
	if (ret)
		return ret;
	ex->workers = calloc(ex->nworkers, sizeof(*ex->workers));
	if (!ex->workers)
		return -ENOMEM;
	/* What free_worker() must not close. */
	for (unsigned i = 0; i < ex->nworkers; i++)
		ex->workers[i].wake_fd = -1;
	for (unsigned i = 0; i < ex->nworkers && !ret; i++)
		ret = setup_worker(ex, &ex->workers[i], i);
	return ret ? ret : watch(ex);
}

int workers_run(struct export *ex, void (*ready)(void *ctx), void *ready_ctx)
{
	unsigned started;
	sigset_t block, old;
	int ret = 0;

	/* The other workers never take signals: the handler is worker 0's. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	atomic_store(&ex->running, 1);
	for (started = 1; started < ex->nworkers; started++) {
		atomic_fetch_add(&ex->running, 1);
		ret = -pthread_create(&ex->workers[started].thread, NULL, worker_main,
				      &ex->workers[started]);
		if (ret) {
			atomic_fetch_sub(&ex->running, 1);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		fprintf(stderr, "virtio-vfio: cannot start a worker thread: %s\n", strerror(-ret));
		export_stop(ex);
	} else if (ready) {
		ready(ready_ctx);
	}
	worker_main(&ex->workers[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(ex->workers[i].thread, NULL);
	return ret;
}

void workers_free(struct export *ex)
{
	if (ex->stop_timer)
		event_free(ex->stop_timer);
	if (ex->sigterm)
		event_free(ex->sigterm);
	if (ex->sigint)
		event_free(ex->sigint);
	for (unsigned i = 0; i < ex->n; i++) {
		if (ex->devs[i].config)
			event_free(ex->devs[i].config);
		if (ex->devs[i].removal)
			event_free(ex->devs[i].removal);
	}
	for (unsigned i = 0; ex->workers && i < ex->nworkers; i++)
		free_worker(ex, &ex->workers[i]);
	free(ex->workers);
}
