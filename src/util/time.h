/* SPDX-License-Identifier: MIT */
/* time.h - the one clock everything here measures with: monotonic, in nanoseconds. */
#ifndef VV_UTIL_TIME_H
#define VV_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL

/* CLOCK_MONOTONIC through the vDSO: no system call, fine on hot paths. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif /* VV_UTIL_TIME_H */
