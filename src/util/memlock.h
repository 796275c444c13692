/* SPDX-License-Identifier: MIT */
/* memlock.h - RLIMIT_MEMLOCK as VFIO type1 applies it to pinned DMA memory. */
#ifndef VV_UTIL_MEMLOCK_H
#define VV_UTIL_MEMLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* The locked-memory budget VFIO type1 pins DMA memory against. */
struct memlock {
	bool cap_ipc_lock; /* the kernel does not count: no limit */
	bool unlimited;	   /* CAP_IPC_LOCK or RLIMIT_MEMLOCK infinity */
	uint64_t limit;	   /* RLIMIT_MEMLOCK soft limit, bytes (UINT64_MAX for infinity) */
	uint64_t locked;   /* VmLck: what the process has locked or pinned already, bytes */
};

int memlock_get(struct memlock *ret);
/*
 * Whether @need more bytes can be pinned under RLIMIT_MEMLOCK; if not, logs the limit the
 * process needs and returns -ENOMEM. 0 when it fits, or when /proc cannot tell.
 */
int memlock_check(const char *bdf, uint64_t need);

#endif /* VV_UTIL_MEMLOCK_H */
