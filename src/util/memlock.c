// SPDX-License-Identifier: MIT
/*
 * memlock.c - the locked-memory budget VFIO type1 pins DMA memory against, read the way the
 * kernel will compare it, and a message that names the limit a process needs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/log.h"
#include "util/memlock.h"

/*
 * VFIO type1 charges every page it pins to the process's locked memory (VmLck in
 * /proc/self/status) and refuses a mapping that would take it past RLIMIT_MEMLOCK, unless the
 * process has CAP_IPC_LOCK (root has). Reads what the kernel will compare.
 */
int memlock_get(struct memlock *ret)
{
	struct memlock m = {.unlimited = true};
	unsigned long long kib, caps;
	char line[256];
	struct rlimit rl;
	bool have_lck = false, have_caps = false;
	FILE *f;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %llu kB", &kib) == 1) {
			m.locked = kib << 10;
			have_lck = true;
		} else if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			m.cap_ipc_lock = caps & (1ULL << 14); /* CAP_IPC_LOCK */
			have_caps = true;
		}
	}
	fclose(f);
	if (!have_lck || !have_caps)
		return -ENOENT;
	m.unlimited = m.cap_ipc_lock || rl.rlim_cur == RLIM_INFINITY;
	m.limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	*ret = m;
	return 0;
}

/* "N MiB" (to a tenth when not whole), or "N KiB" below a MiB. */
static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 20) && !(bytes & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)((bytes + 1023) >> 10));
	return buf;
}

int memlock_check(const char *bdf, uint64_t need)
{
	char lim[32], more[32], had[32];
	struct memlock m;
	uint64_t total, mib, page = (uint64_t)sysconf(_SC_PAGESIZE);

	/* Can't tell: let the kernel decide, and explain_map_failure() say why. */
	if (memlock_get(&m) || m.unlimited)
		return 0;
	total = m.locked + need;
	/* The kernel counts whole pages against the limit, rounded down to pages. */
	if (total <= m.limit / page * page)
		return 0;
	/* Rounded up to whole MiB: the value to set, not a near miss. */
	mib = (total + (1ULL << 20) - 1) >> 20;
	log_err("%s: RLIMIT_MEMLOCK is %s; this process needs at least %llu MiB locked to pin %s "
		"more for DMA (%s locked already; VFIO counts pinned pages against the limit "
		"without CAP_IPC_LOCK): ulimit -l %llu, or memlock in /etc/security/limits.conf",
		bdf, size_str(m.limit, lim, sizeof(lim)), (unsigned long long)mib,
		size_str(need, more, sizeof(more)), size_str(m.locked, had, sizeof(had)),
		(unsigned long long)mib << 10);
	return -ENOMEM;
}
