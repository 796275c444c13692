// SPDX-License-Identifier: MIT
/*
 * logfwd.c - a daemon's stderr, line by line, to syslog. The daemon and the library keep
 * writing to stderr as in the foreground; a thread turns each line into a syslog record,
 * so why a mount went away (a device lost, an I/O error) is in the journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "logfwd.h"

static pthread_t thread;
static bool running;

static void *forward(void *arg)
{
	FILE *in = arg;
	char line[1024];

	while (fgets(line, sizeof(line), in)) {
		const char *msg = line;
		int prio;

		line[strcspn(line, "\n")] = '\0';
		/* "<N>": the level the line was written at (cli_log_levels); else a guess by text.
		 */
		if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
			prio = line[1] - '0';
			msg = line + 3;
		} else {
			prio = strstr(line, "error") ? LOG_ERR : LOG_NOTICE;
		}
		if (*msg)
			syslog(prio, "%s", msg);
	}
	fclose(in);
	return NULL;
}

int logfwd_start(const char *ident)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), p[2] = {-1, -1}, ret = 0;
	sigset_t all, old;
	FILE *in = NULL;

	if (null < 0)
		return -errno;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	if (pipe2(p, O_CLOEXEC) || !(in = fdopen(p[0], "r"))) {
		ret = -errno;
		goto fail;
	}
	openlog(ident, LOG_PID, LOG_DAEMON);
	/* Signals are the daemon's business, not this thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&thread, NULL, forward, in);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto fail;
	running = true;
	cli_log_levels = true;
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	close(null);
	setvbuf(stderr, NULL, _IOLBF, 0);
	return 0;
fail:
	if (in)
		fclose(in);
	else if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	dup2(null, STDERR_FILENO);
	close(null);
	return ret;
}

void logfwd_stop(void)
{
	if (!running)
		return;
	fflush(stderr);
	/* The pipe's last writer goes: the thread reads to the end and quits. */
	close(STDERR_FILENO);
	pthread_join(thread, NULL);
	/* Whatever writes to stderr at exit must not land in a file opened meanwhile. */
	int null = open("/dev/null", O_WRONLY);

	if (null >= 0 && null != STDERR_FILENO) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	running = false;
	cli_log_levels = false;
	closelog();
}
