/* SPDX-License-Identifier: MIT */
/*
 * export_int.h - the FUSE block export's internals, shared by its setup (export.c), its
 * workers (worker.c), its FUSE operations (ops.c), its request engine (io.c) and the
 * replier that sends large read answers (reply.c). Calls go one way: export.c -> worker.c
 * -> ops.c (through libfuse) -> io.c -> reply.c. The engine never calls a worker: it leaves
 * notes in the worker's data (buffers freed, others to wake).
 *
 * Threads: one worker per device queue in use, each with its own libevent loop, its own
 * receive buffers and its own queue on every exported device; all workers read the one FUSE
 * channel. The only state they share is per device: the writes in flight (for overlap
 * checks, under dev->lock) and the size. Each worker has a replier thread, which shares
 * with it only the lists of answers to send and sent (under the replier's lock).
 */
#ifndef VV_FUSE_EXPORT_INT_H
#define VV_FUSE_EXPORT_INT_H

#define FUSE_USE_VERSION 34

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include <virtio-vfio/virtio-vfio.h>

#include "export.h"

#define SECTOR	   512ULL
#define MAX_IO	   (1u << 20)	   /* max_write, and the largest read served at once */
#define RECV_SIZE  (MAX_IO + 4096) /* what libfuse reads per request: payload + header */
#define EDGE_MAX   4096u	   /* the largest logical block the export handles */
#define NBUFS	   32		   /* per worker: FUSE requests it keeps in flight */
#define ZERO_SIZE  (1u << 20)	   /* zeroes for fallocate without WRITE_ZEROES */

/*
 * A receive buffer, and what the device may reach of it:
 *
 *   | header page: never mapped |  data: RECV_SIZE  | edge 0 | edge 1 |
 *                  ^ RECV_AT     ^ BUF_PAGE: mapped for one device, read/write
 *
 * A request is received at RECV_AT, so that a WRITE's fuse_in_header and fuse_write_in (80
 * bytes) end exactly at the page boundary: libfuse parses them where the device cannot
 * write, and the payload starts page-aligned in mapped memory, where the device reads it in
 * place. Any other request is copied to private memory before libfuse sees it. A read's
 * data lands at the start of the data area and is answered from there.
 */
#define BUF_PAGE   4096u
#define HDR_ROOM   (sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in))
#define RECV_AT	   (BUF_PAGE - HDR_ROOM)
#define BUF_MAPPED (RECV_SIZE + 2 * EDGE_MAX)
#define BUF_SIZE   (BUF_PAGE + BUF_MAPPED)
#define ZERO_SEGS  16 /* ... up to this many times per device request */
#define MAX_STEPS  3
#define ROOT_INO   FUSE_ROOT_ID
#define DEV_INO(i) ((fuse_ino_t)(i) + 2)

struct export;
struct worker;
struct irq_ctx;

/*
 * A receive buffer. With one device its data part is mapped for that device for good, and a
 * read's data or a write's payload stays where the request arrived (zero copy). With
 * several, a request may be meant for any of them, so receive buffers are mapped for none:
 * an op takes a data buffer from its device's own pool (struct dpool), and a write's payload
 * is copied there. No device ever reaches another's I/O, nor a request before it is its own.
 */
struct rbuf {
	uint8_t *mem;	       /* BUF_SIZE bytes in the worker's pool */
	struct vv_dma_buf map; /* one device: mem + BUF_PAGE, BUF_MAPPED bytes, as it sees them */
};

/* One device's data buffers on one worker, with several devices: NBUFS of BUF_MAPPED bytes. */
struct dpool {
	uint8_t *mem;
	struct vv_dma_buf map; /* all of it, for this device alone */
	unsigned free[NBUFS];
	unsigned nfree;
};

enum op_kind { OP_READ, OP_WRITE, OP_FSYNC, OP_FALLOC };

/* One device request an op still has to queue. */
struct step {
	enum { STEP_READ, STEP_WRITE, STEP_FLUSH, STEP_ZEROES } kind;
	uint64_t sector;
	uint64_t nsect; /* STEP_ZEROES */
	unsigned nsg;
	struct vv_sg sg[ZERO_SEGS];
};

/*
 * A FUSE request being served. Reads and writes keep the buffer their request arrived in
 * until they are answered: the device writes a read's data there and reads a write's payload
 * in place. A write not aligned to the block size reads its edge blocks first (PH_EDGES),
 * patches them, then writes edges and payload as one scatter list (PH_MAIN).
 */
struct op {
	fuse_req_t req;
	struct dev *d;
	struct worker *w;
	enum op_kind kind;
	enum { PH_EDGES, PH_MAIN } phase;
	uint64_t off; /* bytes, as the caller asked */
	size_t size;
	uint64_t first, nsect; /* the blocks covered, in sectors */
	const uint8_t *data;   /* a write's payload, in the buffer; NULL: zeroes (fallocate);
				* a read's answer, once its data is in */
	int buf;	       /* the receive buffer held, -1: none */
	int dbuf;	       /* with several devices: the data buffer held, -1: none */
	bool punch;	       /* fallocate: the device may unmap */
	bool registered;       /* on d->writes */
	bool waiting;	       /* deferred behind an overlapping write (counted in d->waiters) */
	bool started;	       /* claimed its blocks and planned its first phase */
	bool queuing;	       /* inside queue_steps() */
	uint64_t zero_next, zero_end; /* fallocate: the aligned middle still to zero, sectors */
	struct step steps[MAX_STEPS];
	unsigned nsteps, next_step, pending;
	int err;
	struct op *next;  /* the worker's deferred list */
	struct op *rnext; /* the replier's lists (reply.c) */
	struct op *wnext; /* d->writes */
};

struct dev {
	struct export *ex;
	struct vv_blk *blk;
	const struct vv_blk_info *info;
	char name[16]; /* the BDF: what messages and the hidden alias use */
	char file[32]; /* the file's name in the directory: the serial, or vvblkN */
	_Atomic uint64_t bytes;
	pthread_mutex_t lock;
	struct op *writes; /* writes and fallocates on the device, from every worker */
	unsigned waiters;  /* ops deferred behind one of them */
	void *zero;	   /* ZERO_SIZE bytes the device may only read */
	struct vv_dma_buf zero_map;
	atomic_uint inflight; /* device requests queued and not completed, all workers */
	struct event *config; /* config-change vector, when it has its own (worker 0) */
	int config_fd;
	struct event *removal; /* the kernel wants the device back (worker 0) */
	atomic_bool lost;      /* aborted: removed, needs a reset, or broke the rules */
};

/*
 * A worker's counters for one device: written by that worker alone (relaxed atomic stores,
 * STAT_ADD), read by anyone (export_stats()). Each worker's array is cache-line aligned, so
 * the workers never write the same line.
 */
struct wstats {
	uint64_t taken; /* FUSE requests taken: in flight is taken - answered */
	uint64_t reads, writes, flushes, fallocates;
	uint64_t bytes_read, bytes_written, errors;
};

#define STAT_ADD(field, n)                                                            \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

struct worker {
	struct export *ex;
	unsigned idx;
	pthread_t thread;
	struct event_base *base;
	struct event *fuse_ev, *wake_ev, *poll_timer;
	struct event *gone_check; /* while not reading: has the channel gone away? */
	int wake_fd;
	atomic_bool can_read;	 /* a buffer is free and not stopping: it can take the turn */
	unsigned *q;		 /* per device: the queue this worker drives */
	struct event **irq;	 /* per device: its completion eventfd */
	struct irq_ctx *irq_ctx; /* per device: the argument of its callback */
	bool *kick;		 /* per device: requests queued since the last doorbell */
	uint8_t *pool;		 /* NBUFS * BUF_SIZE bytes */
	struct rbuf bufs[NBUFS];
	struct dpool *dpools; /* per device, with several devices */
	struct wstats *stats; /* per device */
	uint8_t *priv;	      /* RECV_SIZE bytes no device reaches: requests other than WRITE */
	unsigned free_bufs[NBUFS];
	unsigned nfree;
	int cur;	/* the buffer the next request is received into; -1: none free */
	bool cur_taken; /* the request just processed kept it */
	struct fuse_buf fbuf;
	struct op *deferred, *deferred_tail;
	bool wake_others;    /* the engine released blocks others may wait for */
	unsigned inflight;   /* FUSE requests taken and not answered */
	unsigned replying;   /* answered by the replier and not yet taken back */
	unsigned nreq;	     /* device requests queued and not completed */
	bool reading;	     /* fuse_ev is in the loop: its turn (ex->watcher), and a buffer free */
	struct replier *rep; /* sends large read answers (reply.c); NULL: none */
};

struct export
{
	struct fuse_session *se;
	struct dev *devs;
	unsigned n;
	struct worker *workers;
	unsigned nworkers;
	atomic_bool stopping;
	atomic_bool lost;	  /* a device was lost: the export ends, and with an error */
	atomic_uint running;	  /* workers still in their loop; worker 0 leaves last */
	atomic_uint watcher;	  /* the worker whose turn it is to watch the channel */
	struct event *stop_timer; /* worker 0: in-flight I/O gets this long after stop */
	struct event *sigterm, *sigint;
	uid_t uid;
	gid_t gid;
	time_t mounted; /* the files' times: we keep no others */
	const struct export_opts *opts;
	bool splice; /* on /dev/fuse, not a caller's channel: answers may be spliced (reply.c) */
};

/* The worker running the FUSE handler now. */
extern _Thread_local struct worker *io_worker;

/* worker.c */
int workers_setup(struct export *ex);
/* Runs worker 0 here and the others on threads until all have left; @ready once started. */
int workers_run(struct export *ex, void (*ready)(void *ctx), void *ready_ctx);
void workers_free(struct export *ex);
void export_stop(struct export *ex);
unsigned export_stop_timeout_ms(const struct export *ex);

/* io.c: the request engine, on the worker that runs it (io_worker) */
struct op *io_new(fuse_req_t req, struct dev *d, enum op_kind kind);
void io_submit(struct op *op);
void io_run_deferred(struct worker *w);
void io_kick(struct worker *w);
/* Lets go of an answered op: its buffers back to the worker, and the op freed. */
void io_release(struct op *op);

/* reply.c: a read's answer; a large one is sent by the worker's replier thread */
int replier_start(struct worker *w);
void replier_stop(struct worker *w);
/* Answers @op's read from @data: true when the replier took it (io_release() it later). */
bool reply_read(struct worker *w, struct op *op, const uint8_t *data);
/*
 * The ops the replier answered since the last call, linked by rnext. With @wake, the
 * worker needs them to go on (out of buffers, or stopping) and is about to sleep: the
 * replier wakes it (wake_fd) when it sends the next. Otherwise they wait for the worker's
 * next round, which a reader's next request starts anyway.
 */
struct op *replier_collect(struct worker *w, bool wake);

/* ops.c */
extern const struct fuse_lowlevel_ops export_ops;
struct dev *export_dev(struct export *ex, fuse_ino_t ino);

#endif /* VV_FUSE_EXPORT_INT_H */
