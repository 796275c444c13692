// SPDX-License-Identifier: MIT
/*
 * reply.c - a read's answer, from the buffer its device filled. A small one goes in one
 * writev() on the channel. From REPLY_SPLICE_MIN bytes on it goes through pipes: the data
 * is vmspliced into the worker's own pipe, its pages referenced in one call, and handed to
 * libfuse as a file descriptor, which splices it into its pipe, behind the header, and on to
 * /dev/fuse. The kernel then copies from pages the pipe holds. A writev() makes it take each
 * of our pages on its own first, and in a TCG guest that cost more than the copy: a FUSE
 * file answered from memory read 1 MiB blocks at 885 MB/s by writev() and 1,461 MB/s
 * spliced, the guest's copy rate being 1,915 (docs/performance.md, bench/bounds.sh).
 *
 * libfuse only reads the header it writes itself; the data's pages are referenced, not read
 * by any parser, so the rule that nothing libfuse reads lies in device-writable memory holds.
 * Once the answer is sent the kernel has copied the data: the buffer may be reused.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "export_int.h"

/* Below this, the three extra system calls cost more than taking pages one by one saves. */
#define REPLY_SPLICE_MIN (64u << 10)

void reply_pipe_close(struct worker *w)
{
	for (int i = 0; i < 2; i++) {
		if (w->rpipe[i] >= 0)
			close(w->rpipe[i]);
		w->rpipe[i] = -1;
	}
}

/*
 * Room for a whole answer, which may start inside a page, so that a vmsplice() into the
 * empty pipe never waits. Beyond /proc/sys/fs/pipe-max-size that takes CAP_SYS_RESOURCE;
 * without it libfuse could not grow its own pipe either, and answers are written.
 */
void reply_pipe_open(struct worker *w)
{
	w->rpipe[0] = w->rpipe[1] = -1;
	if (!w->ex->splice)
		return;
	if (pipe2(w->rpipe, O_NONBLOCK | O_CLOEXEC)) {
		w->rpipe[0] = w->rpipe[1] = -1;
		return;
	}
	if (fcntl(w->rpipe[0], F_SETPIPE_SZ, (int)(MAX_IO + 2 * BUF_PAGE)) < 0)
		reply_pipe_close(w);
}

void reply_read(struct worker *w, fuse_req_t req, const uint8_t *data, size_t size)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
	struct iovec iov = {(void *)data, size};

	if (size < REPLY_SPLICE_MIN || w->rpipe[1] < 0) {
		fuse_reply_buf(req, (const char *)data, size);
		return;
	}
	while (iov.iov_len) {
		ssize_t n = vmsplice(w->rpipe[1], &iov, 1, 0);

		if (n <= 0) {
			/* The empty pipe has room for any answer: not seen. Write this one. */
			reply_pipe_close(w);
			reply_pipe_open(w);
			fuse_reply_buf(req, (const char *)data, size);
			return;
		}
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
	}
	bv.buf[0].flags = FUSE_BUF_IS_FD;
	bv.buf[0].fd = w->rpipe[0];
	/*
	 * libfuse takes exactly @size bytes from the pipe, spliced or read. After a failure
	 * (the caller gone, say) some may be left, and they would head the next answer.
	 */
	if (fuse_reply_data(req, &bv, 0)) {
		reply_pipe_close(w);
		reply_pipe_open(w);
	}
}
