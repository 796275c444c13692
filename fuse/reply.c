// SPDX-License-Identifier: MIT
/*
 * reply.c - a large read's answer, sent by the worker's replier thread. The answer's copy
 * is most of a large read's cost: in a TCG guest a worker answering 1 MiB reads spent most
 * of its time in the kernel's copy, and while it copied, the requests that came meanwhile
 * waited on the channel and the device stood idle (bench/fuse-profile.sh: half the vCPU
 * time idle). So from REPLY_LATER_MIN bytes on, the worker hands the answer to its replier
 * and goes on receiving and queueing; the replier gives the op back when it is sent, and
 * the worker lets go of it at its next round (settle()). The worker is woken for it only
 * when it needs it: each wake-up is a thread on another vCPU, which under TCG is dear.
 *
 * On /dev/fuse the replier splices: the data is vmspliced into its pipe, its pages
 * referenced in one call, and handed to libfuse as a file descriptor, which splices it
 * behind the header and on to /dev/fuse. The kernel then copies from pages the pipe holds;
 * a writev() makes it take each of our pages on its own first, which under TCG cost about
 * as much as the copy (a server answering 1 MiB from memory: 885 MB/s written, 1,461
 * spliced; docs/performance.md). libfuse reads only the header it writes itself, so nothing
 * it parses lies in memory a device can write. When the answer is sent the kernel has
 * copied the data, and the buffer may be reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "export_int.h"

/*
 * Smaller answers are written by the worker: a hand-off may cost a thread wake-up, and the
 * copy it moves off the worker shrinks with the answer. In a TCG guest, sequential reads at
 * QD4 made 1.25x (0.90-1.34) with 1 MiB answers handed off, but 0.87x (0.65-0.95) with
 * 256 KiB ones (docs/performance.md): only the largest answers, MAX_IO, are.
 */
#define REPLY_LATER_MIN MAX_IO

struct replier {
	struct worker *w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct op *todo, *todo_tail; /* to answer, in order */
	struct op *done;	     /* answered: back to the worker */
	bool wake;		     /* the worker sleeps until done is not empty */
	bool stop;
	int pipe[2]; /* -1: answers are written, not spliced */
};

static void close_pipe(struct replier *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->pipe[i] >= 0)
			close(r->pipe[i]);
		r->pipe[i] = -1;
	}
}

/*
 * Room for a whole answer, which may start inside a page, so that a vmsplice() into the
 * empty pipe never waits. Beyond /proc/sys/fs/pipe-max-size that takes CAP_SYS_RESOURCE;
 * without it libfuse could not grow its own pipe either, and answers are written.
 */
static void open_pipe(struct replier *r)
{
	r->pipe[0] = r->pipe[1] = -1;
	if (!r->w->ex->splice)
		return;
	if (pipe2(r->pipe, O_NONBLOCK | O_CLOEXEC)) {
		r->pipe[0] = r->pipe[1] = -1;
		return;
	}
	if (fcntl(r->pipe[0], F_SETPIPE_SZ, (int)(MAX_IO + 2 * BUF_PAGE)) < 0)
		close_pipe(r);
}

/* Data left in the pipe would head the next answer: a new pipe. */
static void reset_pipe(struct replier *r)
{
	close_pipe(r);
	open_pipe(r);
}

static void send_answer(struct replier *r, const struct op *op)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(op->size);
	struct iovec iov = {(void *)op->data, op->size};

	if (r->pipe[1] < 0) {
		fuse_reply_buf(op->req, (const char *)op->data, op->size);
		return;
	}
	while (iov.iov_len) {
		ssize_t n = vmsplice(r->pipe[1], &iov, 1, 0);

		if (n <= 0) {
			/* The empty pipe has room for any answer: not seen. Write this one. */
			reset_pipe(r);
			fuse_reply_buf(op->req, (const char *)op->data, op->size);
			return;
		}
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
	}
	bv.buf[0].flags = FUSE_BUF_IS_FD;
	bv.buf[0].fd = r->pipe[0];
	/* libfuse takes exactly op->size bytes, spliced or read; after a failure some may be left.
	 */
	if (fuse_reply_data(op->req, &bv, 0))
		reset_pipe(r);
}

static void *replier_main(void *arg)
{
	struct replier *r = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct op *todo, *last = NULL;

		while (!r->todo && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (!r->todo)
			break;
		todo = r->todo;
		r->todo = r->todo_tail = NULL;
		pthread_mutex_unlock(&r->lock);
		for (struct op *op = todo; op; op = op->rnext) {
			send_answer(r, op);
			last = op;
		}
		pthread_mutex_lock(&r->lock);
		last->rnext = r->done;
		r->done = todo;
		/* A full counter is a wake-up too. */
		if (r->wake && write(r->w->wake_fd, &one, sizeof(one)) != sizeof(one))
			(void)0;
		r->wake = false;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int replier_start(struct worker *w)
{
	struct replier *r = calloc(1, sizeof(*r));
	sigset_t block, old;
	int ret;

	if (!r)
		return -ENOMEM;
	r->w = w;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	open_pipe(r);
	/* Signals are worker 0's. */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ret = -pthread_create(&r->thread, NULL, replier_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		close_pipe(r);
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return ret;
	}
	w->rep = r;
	return 0;
}

/* Once the worker's loop is over: every op it handed over came back (replying was 0). */
void replier_stop(struct worker *w)
{
	struct replier *r = w->rep;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	close_pipe(r);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	w->rep = NULL;
}

bool reply_read(struct worker *w, struct op *op, const uint8_t *data)
{
	struct replier *r = w->rep;

	op->data = data;
	if (!r || op->size < REPLY_LATER_MIN) {
		fuse_reply_buf(op->req, (const char *)data, op->size);
		return false;
	}
	op->rnext = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->todo_tail)
		r->todo_tail->rnext = op;
	else
		r->todo = op;
	r->todo_tail = op;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return true;
}

struct op *replier_collect(struct worker *w, bool wake)
{
	struct replier *r = w->rep;
	struct op *done;

	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	done = r->done;
	r->done = NULL;
	r->wake = wake && !done;
	pthread_mutex_unlock(&r->lock);
	return done;
}
