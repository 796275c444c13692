/* SPDX-License-Identifier: MIT */
/* logfwd.h - a daemon's stderr, line by line, to syslog. */
#ifndef VV_CLI_LOGFWD_H
#define VV_CLI_LOGFWD_H

/*
 * From now on nobody reads our terminal: stdin and stdout become /dev/null, and every line
 * written to stderr (ours, the library's, a sanitizer's) goes to syslog as @ident, at LOG_ERR
 * when it says "error", else LOG_NOTICE. Returns 0 or -errno; on error stderr is /dev/null.
 */
int logfwd_start(const char *ident);

/* Closes stderr and waits until every line written to it has reached syslog. */
void logfwd_stop(void);

#endif /* VV_CLI_LOGFWD_H */
