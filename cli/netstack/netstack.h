/* SPDX-License-Identifier: MIT */
/*
 * netstack.h - lwIP (Debian's liblwip, threaded with core locking) on a vv_net device: our
 * netif driver with its one driver thread, and the services of `virtio-vfio net serve`.
 *
 * Locking: lwIP's core lock serializes everything that touches lwIP and the device's
 * transmit queue; the driver thread alone touches the receive queue.
 */
#ifndef VV_CLI_NETSTACK_H
#define VV_CLI_NETSTACK_H

#include <stddef.h>
#include <stdint.h>

struct vv_net;

/* Bytes of private memory per buffer the stack needs (vv_net_opts.buf_priv_size). */
#define NETSTACK_BUF_PRIV 64

/*
 * Seconds a connection may do nothing (echo: no data in, none of ours acknowledged; HTTP:
 * the whole request; closed by us: the peer's part of the close) before it is aborted.
 */
#define NETSTACK_IDLE_S	  30

struct netstack_opts {
	uint32_t addr, mask, gw; /* IPv4, network byte order; gw 0 for none */
	unsigned poll_us;	 /* keep polling this long after the last frame, then sleep */
	unsigned queues;	 /* queue pairs the device receives on (0: 1), all polled */
	const char *name;	 /* the device, for the status page and messages */
};

/*
 * Brings the stack up on @net and drives it from the calling thread until @stop_fd (a
 * signalfd, or any fd) becomes readable; calls @ready once the interface is up. On return
 * the stack is frozen under its core lock, so @net may be closed. Returns 0 or -errno.
 */
int netstack_run(struct vv_net *net, const struct netstack_opts *o, int stop_fd,
		 void (*ready)(void *ctx), void *ctx);

/* The status page body ("key value" lines). Called under the core lock. */
size_t netstack_status(char *buf, size_t len);

/*
 * apps.c: TCP echo (port 7) and the HTTP status page (port 80), their connections counted
 * and timed out when idle. Under the core lock; apps_status() appends "key value" lines to
 * @buf and returns the bytes it added (at most @len - 1). The page's body comes from
 * @status, the netif's (netstack_status()): the apps know nothing of the layer below them.
 */
int apps_start(size_t (*status)(char *buf, size_t len));
void apps_stop(void);
size_t apps_status(char *buf, size_t len);

/*
 * guard.c: bounds on what peers can make lwIP hold beyond the services' own connections:
 * out-of-order queues, connections the services closed that the peer never finishes,
 * TIME-WAIT. Under the core lock.
 *
 * guard_trim_ooseq() drops the out-of-order queue of every connection that holds more than
 * @max segments (0: of every connection) and returns how many it dropped.
 */
void guard_start(void);
void guard_stop(void);
unsigned guard_trim_ooseq(unsigned max);
/* The driver thread, after each receive burst: orphans beyond the limit are aborted. */
void guard_check(void);
size_t guard_status(char *buf, size_t len);

#endif /* VV_CLI_NETSTACK_H */
