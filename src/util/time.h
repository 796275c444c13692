/* SPDX-License-Identifier: MIT */
/* time.h - the one clock everything here measures with: monotonic, in nanoseconds. */
#ifndef VV_UTIL_TIME_H
#define VV_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL

/*
 * CLOCK_MONOTONIC. Served by the vDSO only where the clocksource can be read from user space
 * (the TSC): a guest whose kernel distrusts its TSC (any TCG guest, which runs on the HPET)
 * makes a system call that reads an emulated device register, tens of microseconds each. So
 * keep it off per-spin and per-request paths; ms timeouts take now_coarse_ns().
 */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * CLOCK_MONOTONIC_COARSE: the time of the last tick, always from the vDSO's data page, never
 * a system call or a device read; it moves in steps of one tick (1-10 ms). For timeouts
 * counted in milliseconds.
 */
static inline uint64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif /* VV_UTIL_TIME_H */
