// SPDX-License-Identifier: MIT
/*
 * guard.c - bounds on what network peers can make lwIP hold outside the services' own
 * connections. Debian's lwIP allocates everything with malloc (MEM_LIBC_MALLOC,
 * MEMP_MEM_MALLOC), so none of its pool limits apply, and it keeps out-of-order segments
 * without a limit (TCP_OOSEQ_MAX_* 0): we walk its connection lists ourselves, through its
 * private header. Every function runs under the core lock.
 */
#include <stdbool.h>
#include <stdio.h>

#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>
#include <lwip/timeouts.h>

#include "netstack.h"

/*
 * Connections without a service attached: handshakes in progress (SYN-RCVD) and those the
 * services closed that wait for the peer (FIN-WAIT, CLOSING, LAST-ACK). Each may hold up to
 * a send buffer (64 KiB) of unacknowledged data; the newest are kept.
 */
#define MAX_ORPHANS	64
/* TIME-WAIT holds no data, only the connection (about 200 bytes), for 2 MSL. */
#define MAX_TIME_WAIT	256
#define HOUSEKEEPING_MS 1000

static struct {
	unsigned long long orphans_aborted, time_wait_dropped;
	bool running;
} G;

static unsigned ooseq_len(const struct tcp_pcb *pcb, unsigned stop)
{
	unsigned n = 0;

	for (const struct tcp_seg *s = pcb->ooseq; s && n <= stop; s = s->next)
		n++;
	return n;
}

unsigned guard_trim_ooseq(unsigned max)
{
	unsigned dropped = 0;

	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->ooseq && ooseq_len(pcb, max) > max) {
			tcp_free_ooseq(pcb); /* the peer sends it again: we never acknowledged it */
			dropped++;
		}
	return dropped;
}

/*
 * Orphans beyond MAX_ORPHANS are aborted, oldest first (the list is newest first), and with
 * @idle_too those idle for NETSTACK_IDLE_S: lwIP itself gives up on FIN-WAIT-1 and CLOSING
 * only after 12 retransmissions, which takes many minutes.
 */
static void cap_orphans(bool idle_too)
{
	const u32_t idle_ticks = NETSTACK_IDLE_S * 1000 / TCP_SLOW_INTERVAL;
	unsigned n = 0;

	for (struct tcp_pcb *pcb = tcp_active_pcbs, *next; pcb; pcb = next) {
		next = pcb->next;
		/* Ours carry their connection; lwIP copies the listener's NULL into new ones. */
		if (pcb->callback_arg)
			continue;
		if (n == MAX_ORPHANS || (idle_too && (u32_t)(tcp_ticks - pcb->tmr) > idle_ticks)) {
			tcp_abort(pcb); /* RST; pcb is freed, next is still valid */
			G.orphans_aborted++;
		} else {
			n++;
		}
	}
}

/*
 * After each receive burst, outside lwIP's processing (a service closes a connection inside
 * a callback for that very connection, which must not be aborted under its feet). The walk
 * costs about what lwIP's own demultiplexing costs for one segment: it walks the same list.
 */
void guard_check(void)
{
	cap_orphans(false);
}

/* Once a second: orphans as above; TIME-WAIT beyond MAX_TIME_WAIT dropped, oldest first. */
static void housekeeping(void *arg)
{
	unsigned n = 0;

	(void)arg;
	cap_orphans(true);
	for (struct tcp_pcb *pcb = tcp_tw_pcbs, *next; pcb; pcb = next) {
		next = pcb->next;
		if (n == MAX_TIME_WAIT) {
			tcp_abort(pcb); /* in TIME-WAIT: just freed, no RST */
			G.time_wait_dropped++;
		} else {
			n++;
		}
	}
	sys_timeout(HOUSEKEEPING_MS, housekeeping, NULL);
}

void guard_start(void)
{
	G.running = true;
	sys_timeout(HOUSEKEEPING_MS, housekeeping, NULL);
}

void guard_stop(void)
{
	if (G.running)
		sys_untimeout(housekeeping, NULL);
	G.running = false;
}

size_t guard_status(char *buf, size_t len)
{
	unsigned active = 0, orphans = 0, tw = 0;
	int n;

	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
		active++;
		orphans += !pcb->callback_arg;
	}
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb; pcb = pcb->next)
		tw++;
	n = snprintf(buf, len,
		     "tcp_active %u\n"
		     "tcp_orphans %u\n"
		     "tcp_orphans_max %u\n"
		     "tcp_orphans_aborted %llu\n"
		     "tcp_time_wait %u\n"
		     "tcp_time_wait_max %u\n"
		     "tcp_time_wait_dropped %llu\n",
		     active, orphans, MAX_ORPHANS, G.orphans_aborted, tw, MAX_TIME_WAIT,
		     G.time_wait_dropped);
	return n < 0 || !len ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
