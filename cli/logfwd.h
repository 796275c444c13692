/* SPDX-License-Identifier: MIT */
/* logfwd.h - a daemon's stderr, line by line, to syslog. */
#ifndef VV_CLI_LOGFWD_H
#define VV_CLI_LOGFWD_H

/*
 * From now on nobody reads our terminal: stdin and stdout become /dev/null, and every line
 * written to stderr (ours, the library's, a sanitizer's) goes to syslog as @ident: at the
 * level its "<N>" prefix names (cli_log_levels is set meanwhile), else at LOG_ERR when it
 * says "error" and LOG_NOTICE otherwise. Returns 0 or -errno; on error stderr is /dev/null.
 */
int logfwd_start(const char *ident);

/* Closes stderr and waits until every line written to it has reached syslog. */
void logfwd_stop(void);

#endif /* VV_CLI_LOGFWD_H */
