/* SPDX-License-Identifier: MIT */
/*
 * bench_run.h - the timed part of blk bench and net bench: one thread per queue, a progress
 * line each second on a terminal, and a stop on time, SIGINT or SIGTERM.
 */
#ifndef VV_CLI_BENCH_RUN_H
#define VV_CLI_BENCH_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct bench_run {
	unsigned threads, seconds;
	void *(*main)(void *job);
	void *jobs;		      /* an array: thread i runs main(&jobs[i]) */
	size_t job_size, tid_off;     /* its elements' size; where in one its pthread_t is */
	uint64_t (*count)(void *ctx); /* what all threads did so far */
	void *ctx;
	atomic_bool *stop; /* set when the threads must end */
	const char *name;  /* the progress line's subject: the device */
	const char *unit;  /* the progress line's rate: "IOPS", "frames/s" */
};

/*
 * Starts the threads, waits @r->seconds (or for SIGINT/SIGTERM: the caller reports what ran),
 * stops and joins them. Returns how many threads ran, fewer than asked when one could not
 * start (said on stderr; the others were stopped), and their run time in *@seconds.
 */
unsigned bench_run(const struct bench_run *r, double *seconds);

#endif /* VV_CLI_BENCH_RUN_H */
