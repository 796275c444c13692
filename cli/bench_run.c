// SPDX-License-Identifier: MIT
/* bench_run.c - the timed part of blk bench and net bench (see bench_run.h). */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "bench_run.h"
#include "cli.h"
#include "util/time.h"

static atomic_bool interrupted;

static void on_stop(int sig)
{
	(void)sig;
	atomic_store(&interrupted, true);
}

static void *job_at(const struct bench_run *r, unsigned i)
{
	return (char *)r->jobs + (size_t)i * r->job_size;
}

static pthread_t *tid_at(const struct bench_run *r, unsigned i)
{
	return (pthread_t *)(void *)((char *)job_at(r, i) + r->tid_off);
}

unsigned bench_run(const struct bench_run *r, double *seconds)
{
	bool tty = isatty(STDERR_FILENO), failed = false;
	unsigned started;
	uint64_t t0;

	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	t0 = now_ns();
	for (started = 0; started < r->threads; started++)
		if (pthread_create(tid_at(r, started), NULL, r->main, job_at(r, started))) {
			cli_err("cannot start a thread");
			failed = true;
			break;
		}
	for (unsigned s = 0; !failed && s < r->seconds * 10 && !atomic_load(&interrupted); s++) {
		struct timespec ts = {0, 100000000};

		nanosleep(&ts, NULL);
		if (!tty || s % 10 != 9)
			continue;
		fprintf(stderr, "\r%s: %u/%u s, %.0f %s so far ", r->name, (s + 1) / 10, r->seconds,
			(double)r->count(r->ctx) / ((double)(now_ns() - t0) / 1e9), r->unit);
	}
	atomic_store(r->stop, true);
	for (unsigned i = 0; i < started; i++)
		pthread_join(*tid_at(r, i), NULL);
	*seconds = (double)(now_ns() - t0) / 1e9;
	if (tty)
		fprintf(stderr, "\r%*s\r", 60, "");
	return started;
}
