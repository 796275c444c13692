// SPDX-License-Identifier: MIT
/*
 * netif.c - our lwIP netif over vv_net and its one driver thread: small received frames are
 * copied and their DMA buffer goes back at once, larger ones reach lwIP with their headers
 * copied and their payload in its DMA buffers (custom pbufs that return to the pool when lwIP
 * frees them), sent frames are copied once into a DMA buffer, and the thread polls while
 * traffic flows and sleeps on the queue eventfd when it stops.
 */
#include <errno.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <lwip/etharp.h>
#include <lwip/ip4_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcpip.h>
#include <netif/ethernet.h>

#include <virtio-vfio/device.h>
#include <virtio-vfio/net.h>

#include "netstack.h"
#include "util/time.h"

#define BURST		32
#define TX_WAIT_NS	10000 /* a full transmit ring: pause between retries */
#define TX_WAIT_TRIES	1000  /* ... for at most 10 ms, then drop */
#define LOOK_US		10000 /* while busy, look at the other events this often */
#define LINK_POLL_US	500000
#define POLL_MODE_SLEEP 1 /* ms: a device without MSI-X is polled this often when idle */
#define MAX_QUEUES	8

/*
 * Copy-break: a frame of up to this many bytes is copied into private memory and its DMA
 * buffer goes straight back to the pool; of a longer frame, these first bytes are copied and
 * the rest stays in its buffers. Linux's virtio-net copies 128 bytes (GOOD_COPY_LEN); 256
 * covers every header lwIP parses (Ethernet 14, IPv4 up to 60, TCP up to 60: 134), a bare
 * TCP segment with options, ARP and a default ping, so what a flood of tiny segments can pin
 * is private memory, never the pool; and 256 bytes cost about what the allocation costs.
 */
#define COPY_BREAK	256
_Static_assert(COPY_BREAK >= 14 + 60 + 60, "the headers lwIP parses must be in the copy");

/*
 * Private memory that copies of received frames lwIP holds may take (out-of-order TCP
 * segments: everything else it frees or hands to the services at once). Past it the
 * out-of-order queues are dropped (the peers retransmit), and a frame that still finds no
 * room is dropped.
 */
#define RX_COPY_MAX_BYTES (4u << 20)

/* A connection holding more out-of-order segments than a window of full-sized ones. */
#define OOSEQ_MAX_SEGS	  64
/* Received segments (buffers and copies) lwIP may hold over all connections. */
#define RX_HELD_MAX	  1024

/* What lwIP sees of a received segment; lives in the buffer's private area. */
struct rx_pbuf {
	struct pbuf_custom pc;
	struct vv_net_buf *buf;
};

/* A received frame, or its headers, copied: pbuf and bytes in one allocation. */
struct rx_copy {
	struct pbuf_custom pc;
	size_t size; /* bytes allocated, for the accounting */
	uint8_t data[];
};

_Static_assert(sizeof(struct rx_pbuf) <= NETSTACK_BUF_PRIV, "NETSTACK_BUF_PRIV too small");

/* Counters the driver thread keeps; read by the status page (relaxed atomics). */
struct counters {
	uint64_t batches;    /* receive bursts that returned frames */
	uint64_t busy_polls; /* empty polls inside the busy-poll window */
	uint64_t sleeps;     /* times the thread slept on the eventfds */
	uint64_t tx_dropped; /* frames lwIP sent that did not fit or found no room */
	uint64_t tx_kicks;   /* transmit bursts */
};

/* Received frames on their way into lwIP; under the core lock. */
struct rx_counters {
	uint64_t copied;       /* frames copied whole */
	uint64_t copied_share; /* ... of them long ones, because lwIP held zc_max buffers */
	uint64_t split;	       /* frames whose headers were copied, payload left in the buffers */
	uint64_t nomem;	       /* frames dropped: no room for a copy */
	uint64_t other;	       /* frames dropped: neither IPv4 nor ARP */
	uint64_t ooseq_trims;  /* out-of-order queues dropped to bound what lwIP holds */
};

static struct {
	struct vv_net *net;
	struct netif nif;
	struct netstack_opts o;
	uint32_t room; /* bytes of frame one buffer holds */
	/* Frames lwIP sent while a receive batch runs: one notification for all of them. */
	struct vv_net_buf *txq[BURST];
	unsigned ntx;
	bool batching;
	/*
	 * Queue pairs: each received on; a batch's replies leave on its pair (so a tap's flow
	 * steering, which follows where a flow was last sent from, keeps each flow on one
	 * pair), everything else (lwIP's timers) on pair 0. All under the core lock.
	 */
	unsigned pairs, tx_q;
	unsigned rx_unhanded; /* frames of the current batch not yet given to lwIP */
	/* What lwIP holds of received frames (all under the core lock). */
	unsigned rx_dma;      /* DMA buffers */
	unsigned zc_max;      /* ... at most: half the buffers beyond the two rings */
	unsigned rx_copies;   /* copies */
	size_t rx_copy_bytes; /* ... and their size */
	struct rx_counters rc;
	struct counters c;
	time_t started;
} S;

#define cnt_add(field, n)                                                                 \
	__atomic_store_n(&S.c.field, __atomic_load_n(&S.c.field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define cnt_get(field) __atomic_load_n(&S.c.field, __ATOMIC_RELAXED)

/* --- transmit: lwIP's linkoutput, under the core lock ------------------------------- */

/* Sends the queued frames; a ring that stays full drops the rest (lwIP retransmits). */
static void flush_tx(void)
{
	struct timespec pause = {0, TX_WAIT_NS};
	unsigned done = 0, tries = 0;

	while (done < S.ntx) {
		int n = vv_net_tx_burst(S.net, S.tx_q, S.txq + done, S.ntx - done);

		if (n < 0)
			break;
		done += (unsigned)n;
		if (done < S.ntx) {
			if (++tries > TX_WAIT_TRIES)
				break;
			nanosleep(&pause, NULL);
		}
	}
	if (done)
		cnt_add(tx_kicks, 1);
	for (unsigned i = done; i < S.ntx; i++)
		vv_net_buf_free(S.txq[i]);
	if (done < S.ntx)
		cnt_add(tx_dropped, S.ntx - done);
	S.ntx = 0;
}

static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
	struct vv_net_buf *b;

	if (p->tot_len > S.room) {
		cnt_add(tx_dropped, 1);
		return ERR_BUF;
	}
	if (vv_net_buf_alloc(S.net, S.tx_q, &b, 1) != 1) {
		/* Frames the device finished are the pool's again once reclaimed. */
		if (S.ntx)
			flush_tx();
		vv_net_tx_reclaim(S.net, S.tx_q);
		if (vv_net_buf_alloc(S.net, S.tx_q, &b, 1) != 1) {
			cnt_add(tx_dropped, 1);
			return ERR_MEM;
		}
	}
	/* lwIP computed every checksum: the frame leaves as it is (no CSUM offload). */
	pbuf_copy_partial(p, b->data, p->tot_len, 0);
	b->len = p->tot_len;
	S.txq[S.ntx++] = b;
	if (!S.batching || S.ntx == BURST)
		flush_tx();
	return ERR_OK;
}

/* --- receive: headers copied, payload zero-copy while the pool can spare it ---------- */

static void rx_pbuf_free(struct pbuf *p)
{
	struct rx_pbuf *r = (struct rx_pbuf *)p;

	S.rx_dma--;
	vv_net_buf_free(r->buf);
}

static void rx_copy_free(struct pbuf *p)
{
	struct rx_copy *c = (struct rx_copy *)p;

	S.rx_copies--;
	S.rx_copy_bytes -= c->size;
	free(c);
}

/* Received segments lwIP holds now: buffers and copies. */
static unsigned rx_held(void)
{
	return S.rx_dma + S.rx_copies;
}

/*
 * A pbuf of @len bytes of private memory, or NULL when the copies lwIP holds would pass
 * RX_COPY_MAX_BYTES even after every out-of-order queue is dropped, or malloc fails.
 */
static struct pbuf *copy_alloc(size_t len)
{
	size_t size = sizeof(struct rx_copy) + len;
	struct rx_copy *c;

	if (S.rx_copy_bytes + size > RX_COPY_MAX_BYTES) {
		S.rc.ooseq_trims += guard_trim_ooseq(0);
		if (S.rx_copy_bytes + size > RX_COPY_MAX_BYTES)
			return NULL;
	}
	c = malloc(size);
	if (!c)
		return NULL;
	c->size = size;
	c->pc.custom_free_function = rx_copy_free;
	S.rx_copies++;
	S.rx_copy_bytes += size;
	/* PBUF_REF: lwIP never grows it to the front, so it stays within the allocation. */
	return pbuf_alloced_custom(PBUF_RAW, (u16_t)len, PBUF_REF, &c->pc, c->data, (u16_t)len);
}

/* @off bytes into segment @s onwards, as a custom pbuf that gives @s back when freed. */
static struct pbuf *wrap_seg(struct vv_net_buf *s, uint32_t off)
{
	struct rx_pbuf *r = s->priv;
	uint32_t room = s->room - off;

	r->buf = s;
	r->pc.custom_free_function = rx_pbuf_free;
	S.rx_dma++;
	return pbuf_alloced_custom(PBUF_RAW, (u16_t)(s->len - off), PBUF_REF, &r->pc, s->data + off,
				   (u16_t)(room > 0xffff ? 0xffff : room));
}

/*
 * Frame @f (its segments chained by next) as a pbuf chain for lwIP, or NULL if it was
 * dropped. The first COPY_BREAK bytes (all of a short frame) are copied into private memory,
 * so every header lwIP parses is out of the device's reach: the device may DMA into any
 * buffer of the pool, not only into those we posted. The rest stays in its DMA buffers while
 * lwIP holds fewer than zc_max of them, and is copied too once it holds that many, so that
 * the receive ring can always be refilled; lwIP only checksums and copies those bytes.
 */
static struct pbuf *wrap(struct vv_net_buf *f)
{
	uint32_t total = 0, done = 0, head;
	unsigned nsegs = 0;
	struct pbuf *p;

	for (struct vv_net_buf *s = f; s; s = s->next) {
		total += s->len;
		nsegs++;
	}
	if (total > 0xffff) { /* cannot happen: the device's MTU is at most 65535 */
		S.rc.nomem++;
		goto drop;
	}
	head = total <= COPY_BREAK || S.rx_dma + nsegs > S.zc_max ? total : COPY_BREAK;
	p = copy_alloc(head);
	if (!p) {
		S.rc.nomem++;
		goto drop;
	}
	for (struct vv_net_buf *s = f; s && done < head; s = s->next) {
		uint32_t n = s->len < head - done ? s->len : head - done;

		memcpy((uint8_t *)p->payload + done, s->data, n);
		done += n;
	}
	/* The EtherType, read from the copy: net serve speaks IPv4 and ARP only. */
	if (head < 14 || (memcmp((uint8_t *)p->payload + 12, "\x08\x00", 2) &&
			  memcmp((uint8_t *)p->payload + 12, "\x08\x06", 2))) {
		S.rc.other++;
		pbuf_free(p);
		goto drop;
	}
	if (head == total) {
		S.rc.copied++;
		S.rc.copied_share += total > COPY_BREAK;
		vv_net_buf_free(f);
		return p;
	}
	/* Segments wholly inside the copy go back now; the rest are chained after it. */
	S.rc.split++;
	done = 0;
	for (struct vv_net_buf *s = f, *next; s; s = next) {
		next = s->next;
		s->next = NULL;
		if (done + s->len <= head) {
			done += s->len;
			vv_net_buf_free(s);
			continue;
		}
		pbuf_cat(p, wrap_seg(s, done < head ? head - done : 0));
		done = head;
	}
	return p;
drop:
	vv_net_buf_free(f);
	return NULL;
}

/*
 * Bounds what out-of-order queues hold (lwIP 2.1.3 as packaged has no limit, and walks a
 * queue for every segment it inserts): a connection holding more than OOSEQ_MAX_SEGS loses
 * its queue, and past RX_HELD_MAX for all of them every queue goes. While lwIP holds no
 * more than OOSEQ_MAX_SEGS in all, no connection can, and nothing is walked.
 */
static void bound_ooseq(void)
{
	if (rx_held() > OOSEQ_MAX_SEGS)
		S.rc.ooseq_trims += guard_trim_ooseq(OOSEQ_MAX_SEGS);
	if (rx_held() > RX_HELD_MAX)
		S.rc.ooseq_trims += guard_trim_ooseq(0);
}

/*
 * One receive burst of pair @q into lwIP, replies sent together on @q; returns frames
 * received or -EIO.
 */
static int rx_batch(unsigned q)
{
	struct vv_net_buf *f[BURST];
	int n;

	LOCK_TCPIP_CORE();
	n = vv_net_rx_burst(S.net, q, f, BURST);
	S.tx_q = q;
	S.batching = true;
	for (int i = 0; i < n; i++) {
		struct pbuf *p = wrap(f[i]);

		S.rx_unhanded = (unsigned)(n - i - 1);
		if (p && S.nif.input(p, &S.nif) != ERR_OK)
			pbuf_free(p);
	}
	S.rx_unhanded = 0;
	if (n > 0) {
		bound_ooseq();
		guard_check();
	}
	S.batching = false;
	if (S.ntx)
		flush_tx();
	vv_net_tx_reclaim(S.net, q);
	S.tx_q = 0;
	UNLOCK_TCPIP_CORE();
	if (n > 0)
		cnt_add(batches, 1);
	return n;
}

/* --- link state ------------------------------------------------------------------- */

static void link_check(void)
{
	bool changed, up;

	if (vv_net_link_update(S.net, &changed) || !changed)
		return;
	up = vv_net_link_up(S.net);
	LOCK_TCPIP_CORE();
	if (up)
		netif_set_link_up(&S.nif); /* sends a gratuitous ARP */
	else
		netif_set_link_down(&S.nif);
	UNLOCK_TCPIP_CORE();
	printf("%s: link %s\n", S.o.name, up ? "up" : "down");
	fflush(stdout);
}

/* --- the driver thread ------------------------------------------------------------ */

enum { EV_STOP = 1, EV_CONFIG, EV_REMOVE, EV_RX }; /* EV_RX + pair */

static void drain_eventfd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("eventfd read");
}

static int add_fd(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	/* Pairs that share a vector share its eventfd: once in the set is enough. */
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) && errno != EEXIST ? -errno : 0;
}

/* Asks for receive interrupts on every pair: false when frames arrived meanwhile. */
static bool rx_enable_notify(void)
{
	for (unsigned q = 0; q < S.pairs; q++)
		if (!vv_net_rx_enable_notify(S.net, q)) {
			for (unsigned k = 0; k <= q; k++)
				vv_net_rx_disable_notify(S.net, k);
			return false;
		}
	return true;
}

static void rx_disable_notify(void)
{
	for (unsigned q = 0; q < S.pairs; q++)
		vv_net_rx_disable_notify(S.net, q);
}

/*
 * Waits up to @ms (0: just looks) for the eventfds and the stop fd, and handles what came.
 * Returns 1 to stop, 0 to go on, -errno.
 */
static int wait_events(int ep, int ms, int cfg_fd)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, ms), stop = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		switch (ev[i].data.u32) {
		case EV_STOP:
			stop = 1;
			break;
		case EV_CONFIG:
			drain_eventfd(cfg_fd);
			link_check();
			break;
		case EV_REMOVE:
			/* The kernel waits for us to close the device before it can remove it. */
			fprintf(stderr, "%s: the device is being removed\n", S.o.name);
			vv_device_abort(vv_net_device(S.net));
			return -ENODEV;
		default: { /* EV_RX + pair */
			int fd = vv_net_rx_eventfd(S.net, ev[i].data.u32 - EV_RX);

			drain_eventfd(fd);
			if (cfg_fd == fd)
				link_check();
			break;
		}
		}
	}
	return stop;
}

/*
 * Hybrid polling: while frames flow, poll without sleeping (and look at the other events
 * every few milliseconds); after poll_us without a frame, ask the device for an interrupt,
 * check once more (a frame may have raced the request), and sleep on the eventfds. lwIP's
 * timers run in its own tcpip thread.
 */
static int drive(int stop_fd)
{
	int rx_fd = vv_net_rx_eventfd(S.net, 0), cfg_fd = vv_net_config_eventfd(S.net);
	bool irq = rx_fd >= 0;
	uint64_t last = now_ns() / NSEC_PER_USEC, last_look = last, last_link = last;
	int ep = epoll_create1(EPOLL_CLOEXEC), ret = 0;

	if (ep < 0)
		return -errno;
	ret = add_fd(ep, stop_fd, EV_STOP);
	for (unsigned q = 0; !ret && irq && q < S.pairs; q++)
		ret = add_fd(ep, vv_net_rx_eventfd(S.net, q), EV_RX + q);
	/* With a single vector the config eventfd is the queue's: EV_RX also checks the link. */
	if (!ret && cfg_fd >= 0 && cfg_fd != rx_fd)
		ret = add_fd(ep, cfg_fd, EV_CONFIG);
	if (!ret && vv_device_removal_eventfd(vv_net_device(S.net)) >= 0)
		ret = add_fd(ep, vv_device_removal_eventfd(vv_net_device(S.net)), EV_REMOVE);
	if (irq)
		rx_disable_notify();
	while (!ret) {
		uint64_t t;
		int n = 0;

		for (unsigned q = 0; q < S.pairs && n >= 0; q++) {
			int k = rx_batch(q);

			n = k < 0 ? k : n + k;
		}

		if (n < 0) {
			fprintf(stderr, "%s: receive queue broken: %s\n", S.o.name, strerror(-n));
			ret = n;
			break;
		}
		t = now_ns() / NSEC_PER_USEC;
		if (t - last_look > LOOK_US) {
			/* Busy: a stop or a link change must not wait for the traffic to end. */
			last_look = t;
			ret = wait_events(ep, 0, cfg_fd);
			if (ret)
				break;
		}
		if (cfg_fd < 0 && t - last_link > LINK_POLL_US) {
			last_link = t;
			link_check();
		}
		if (n > 0) {
			last = t;
			continue;
		}
		if (t - last < S.o.poll_us) {
			cnt_add(busy_polls, 1);
			continue;
		}
		if (irq && !rx_enable_notify())
			continue;
		cnt_add(sleeps, 1);
		ret = wait_events(ep, irq ? -1 : POLL_MODE_SLEEP, cfg_fd);
		if (irq)
			rx_disable_notify();
		last = last_look = now_ns() / NSEC_PER_USEC;
	}
	close(ep);
	return ret > 0 ? 0 : ret;
}

/* --- bring-up --------------------------------------------------------------------- */

static err_t nif_init(struct netif *nif)
{
	nif->name[0] = 'v';
	nif->name[1] = 'v';
	nif->output = etharp_output;
	nif->linkoutput = linkoutput;
	nif->mtu = (u16_t)vv_net_mtu(S.net);
	nif->hwaddr_len = ETH_HWADDR_LEN;
	vv_net_mac(S.net, nif->hwaddr);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

static void tcpip_ready(void *arg)
{
	sem_post(arg);
}

int netstack_run(struct vv_net *net, const struct netstack_opts *o, int stop_fd,
		 void (*ready)(void *ctx), void *ctx)
{
	const struct vv_net_info *info = vv_net_get_info(net);
	ip4_addr_t addr, mask, gw;
	sem_t sem;
	int ret;

	memset(&S, 0, sizeof(S));
	S.net = net;
	S.o = *o;
	S.room = info->buf_size;
	S.started = time(NULL);
	S.pairs = o->queues ? o->queues : 1;
	if (info->buf_size < 1514 || info->bufs_per_pair == 0 || S.pairs > info->queue_pairs ||
	    S.pairs > MAX_QUEUES)
		return -EINVAL;
	/*
	 * lwIP keeps received payload in DMA buffers only up to half of what the pool has beyond
	 * the two rings: the other half, and the transmit ring's share, stay free for sending,
	 * and the receive ring can always be refilled (a burst in hand aside).
	 */
	if (info->bufs_per_pair > (uint32_t)info->rx_ring_size + info->tx_ring_size)
		S.zc_max = (info->bufs_per_pair - info->rx_ring_size - info->tx_ring_size) / 2;
	sem_init(&sem, 0, 0);
	tcpip_init(tcpip_ready, &sem); /* lwIP's own thread: timers and API messages */
	while (sem_wait(&sem) && errno == EINTR)
		;
	sem_destroy(&sem);

	addr.addr = o->addr;
	mask.addr = o->mask;
	gw.addr = o->gw;
	LOCK_TCPIP_CORE();
	/* We feed frames ourselves, under the core lock: ethernet_input, not tcpip_input. */
	if (!netif_add(&S.nif, &addr, &mask, &gw, NULL, nif_init, ethernet_input)) {
		UNLOCK_TCPIP_CORE();
		return -EINVAL;
	}
	netif_set_default(&S.nif);
	netif_set_up(&S.nif);
	ret = apps_start(netstack_status);
	if (!ret)
		guard_start();
	if (!ret && vv_net_link_up(net))
		netif_set_link_up(&S.nif);
	UNLOCK_TCPIP_CORE();
	if (ret)
		return ret;
	if (ready)
		ready(ctx);
	ret = drive(stop_fd);
	/*
	 * Stop for good: connections aborted, the interface removed, and the core lock kept,
	 * so lwIP's thread never touches a buffer again; the caller closes the device.
	 */
	LOCK_TCPIP_CORE();
	guard_stop();
	apps_stop();
	if (S.ntx)
		flush_tx();
	netif_set_down(&S.nif);
	netif_remove(&S.nif);
	return ret;
}

/* snprintf() at @buf; returns the bytes added, at most @len - 1. */
__attribute__((format(printf, 3, 4))) static size_t appendf(char *buf, size_t len, const char *fmt,
							    ...)
{
	va_list ap;
	int n;

	if (!len)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

size_t netstack_status(char *buf, size_t len)
{
	struct vv_net_stats s;
	const struct vv_net_info *info = vv_net_get_info(S.net);
	char ip[16], mask[16];
	uint8_t mac[6];
	ip4_addr_t a = {S.o.addr}, m = {S.o.mask};
	size_t used;
	int n;

	/* Under the core lock the transmit queues are ours: count what is really in flight. */
	for (unsigned q = 0; q < S.pairs; q++)
		vv_net_tx_reclaim(S.net, q);
	vv_net_get_stats(S.net, VV_NET_ALL_PAIRS, &s);
	vv_net_mac(S.net, mac);
	ip4addr_ntoa_r(&a, ip, sizeof(ip));
	ip4addr_ntoa_r(&m, mask, sizeof(mask));
	n = snprintf(buf, len,
		     "device %s\n"
		     "mac %02x:%02x:%02x:%02x:%02x:%02x\n"
		     "ip %s\n"
		     "netmask %s\n"
		     "link %s\n"
		     "link_changes %" PRIu64 "\n"
		     "mtu %u\n"
		     "uptime_s %lld\n"
		     "rx_packets %" PRIu64 "\n"
		     "rx_bytes %" PRIu64 "\n"
		     "rx_dropped %" PRIu64 "\n"
		     "rx_refill_empty %" PRIu64 "\n"
		     "tx_packets %" PRIu64 "\n"
		     "tx_bytes %" PRIu64 "\n"
		     "tx_dropped %" PRIu64 "\n"
		     "bufs_total %u\n"
		     "bufs_free %u\n"
		     "bufs_rx_posted %u\n"
		     "bufs_tx_inflight %u\n"
		     "bufs_app %u\n"
		     "bufs_lwip %u\n"
		     "bufs_lwip_max %u\n"
		     "bufs_batch %u\n"
		     "rx_ring %u\n"
		     "rx_copied %" PRIu64 "\n"
		     "rx_copied_share %" PRIu64 "\n"
		     "rx_split %" PRIu64 "\n"
		     "rx_copy_bufs %u\n"
		     "rx_copy_bytes %zu\n"
		     "rx_copy_nomem %" PRIu64 "\n"
		     "rx_not_ipv4 %" PRIu64 "\n"
		     "ooseq_dropped %" PRIu64 "\n"
		     "poll_us %u\n"
		     "batches %" PRIu64 "\n"
		     "busy_polls %" PRIu64 "\n"
		     "sleeps %" PRIu64 "\n"
		     "tx_kicks %" PRIu64 "\n",
		     S.o.name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], ip, mask,
		     vv_net_link_up(S.net) ? "up" : "down", vv_net_link_changes(S.net),
		     vv_net_mtu(S.net), (long long)(time(NULL) - S.started), s.rx_packets,
		     s.rx_bytes, s.rx_dropped, s.rx_refill_empty, s.tx_packets, s.tx_bytes,
		     cnt_get(tx_dropped), s.bufs_total, s.bufs_free, s.bufs_rx_posted,
		     s.bufs_tx_inflight, s.bufs_app, S.rx_dma, S.zc_max, S.rx_unhanded + S.ntx,
		     info->rx_ring_size, S.rc.copied, S.rc.copied_share, S.rc.split, S.rx_copies,
		     S.rx_copy_bytes, S.rc.nomem, S.rc.other, S.rc.ooseq_trims, S.o.poll_us,
		     cnt_get(batches), cnt_get(busy_polls), cnt_get(sleeps), cnt_get(tx_kicks));
	if (n < 0)
		return 0;
	used = (size_t)n < len ? (size_t)n : len - 1;
	/* Each pair's share: "pairs N", then "pair_Q_rx_packets", "pair_Q_tx_packets". */
	used += appendf(buf + used, len - used, "pairs %u\n", S.pairs);
	for (unsigned q = 0; q < S.pairs; q++) {
		struct vv_net_stats ps;

		vv_net_get_stats(S.net, q, &ps);
		used += appendf(buf + used, len - used,
				"pair_%u_rx_packets %" PRIu64 "\npair_%u_tx_packets %" PRIu64 "\n",
				q, ps.rx_packets, q, ps.tx_packets);
	}
	used += apps_status(buf + used, len - used);
	used += guard_status(buf + used, len - used);
	return used;
}
