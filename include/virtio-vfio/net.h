/* SPDX-License-Identifier: MIT */
/*
 * net.h - the virtio-net driver (virtio 1.2 section 5.1) over libvirtio-vfio, made to be
 * embedded in a userspace network stack.
 *
 * Frames live in buffers of DMA memory, one pool per queue pair (struct vv_net_buf). A
 * received frame is handed over in the buffers the device wrote it into; a frame to send is
 * written into buffers taken from the pool (vv_net_buf_alloc()) and sent from there. Nothing
 * is copied on either path. Every buffer goes back to its pool with vv_net_buf_free(), or by
 * being sent.
 *
 * Events: each queue has an eventfd that becomes readable when the device may have
 * completed something (vv_net_rx_eventfd(), vv_net_tx_eventfd()); link changes come on
 * vv_net_config_eventfd(). Plug them into any event loop (epoll, libevent). Before sleeping,
 * call vv_net_rx_enable_notify(): it returns false when frames arrived meanwhile, and the
 * caller must poll again instead of sleeping. Polling instead: leave notifications disabled
 * and call vv_net_rx_burst() in a loop. A device without MSI-X has no eventfds: poll.
 *
 * Queue pairs: vv_net_open() prepares up to vv_net_opts.max_queue_pairs pairs (as many as
 * the device has, VIRTIO_NET_F_MQ). The device receives on pair 0 only until
 * vv_net_set_queue_pairs() says otherwise (section 5.1.6.5.5).
 *
 * What the device lacks is reported, not fatal: vv_net_get_info() says what it can do
 * (VV_NET_CAP_*), and the calls that need a missing feature return -EOPNOTSUPP.
 *
 * Thread safety: each queue (RX or TX of pair q) may be driven by its own thread; calls on
 * one queue must not run concurrently. vv_net_buf_alloc(), vv_net_buf_free() and
 * vv_net_get_stats() may be called from any thread. The control calls (vv_net_set_*,
 * vv_net_link_update()) are serialized by the library and may run concurrently with the
 * data path.
 */
#ifndef VIRTIO_VFIO_NET_H
#define VIRTIO_VFIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_net;
struct vv_device;

#define VV_NET_ETH_ALEN	       6

/* Offloads an application may ask for in vv_net_opts.offloads. */
#define VV_NET_OFFLOAD_TX_CSUM (1u << 0) /* the device fills in partial checksums (CSUM) */
#define VV_NET_OFFLOAD_RX_CSUM (1u << 1) /* the device may skip checksums (GUEST_CSUM) */
/*
 * Segmentation offloads (since 0.4). Send: the device cuts a frame of up to 64 KiB into
 * segments (vv_net_buf.gso_type, gso_size); they imply TX_CSUM. Receive: the device may
 * hand over coalesced frames of up to 64 KiB, several segments' payload behind one set of
 * headers; they imply RX_CSUM and need MRG_RXBUF (declined without it).
 */
#define VV_NET_OFFLOAD_TX_TSO  (1u << 2) /* TCP segmentation (HOST_TSO4, HOST_TSO6) */
#define VV_NET_OFFLOAD_TX_USO  (1u << 3) /* UDP segmentation (HOST_USO) */
#define VV_NET_OFFLOAD_RX_TSO  (1u << 4) /* coalesced TCP received (GUEST_TSO4, GUEST_TSO6) */
#define VV_NET_OFFLOAD_RX_USO  (1u << 5) /* coalesced UDP received (GUEST_USO4, GUEST_USO6) */
/* Receive-side scaling (since 0.4): the device's hash of each frame, and steering by it. */
#define VV_NET_OFFLOAD_RX_HASH (1u << 6) /* each frame carries its hash (HASH_REPORT) */
#define VV_NET_OFFLOAD_RSS     (1u << 7) /* flows steered to pairs by vv_net_set_rss() (RSS) */

/* Options of vv_net_open(). Zero-initialize, then set what matters; 0 means the default. */
struct vv_net_opts {
	unsigned max_queue_pairs; /* pairs to prepare (default 1); fewer if the device has fewer */
	unsigned rx_ring_size;	  /* a power of 2; default min(256, device maximum) */
	unsigned tx_ring_size;	  /* a power of 2; default min(256, device maximum) */
	unsigned extra_bufs;	  /* buffers per pair beyond the two rings (default 256) */
	unsigned buf_priv_size;	  /* bytes of application memory per buffer (vv_net_buf.priv) */
	uint32_t offloads;	  /* VV_NET_OFFLOAD_*; negotiated only if the device offers them */
};

/* Capabilities, in vv_net_info.caps. */
#define VV_NET_CAP_LINK_STATUS (1u << 0)  /* STATUS: link changes are reported */
#define VV_NET_CAP_MTU	       (1u << 1)  /* MTU: the device gives its maximum MTU */
#define VV_NET_CAP_CTRL	       (1u << 2)  /* CTRL_VQ: a control queue */
#define VV_NET_CAP_PROMISC     (1u << 3)  /* CTRL_RX: promiscuous mode can be switched */
#define VV_NET_CAP_ALLMULTI    (1u << 4)  /* CTRL_RX: all-multicast mode can be switched */
#define VV_NET_CAP_SET_MAC     (1u << 5)  /* CTRL_MAC_ADDR: the MAC address can be changed */
#define VV_NET_CAP_MQ	       (1u << 6)  /* MQ: queue pairs can be selected */
#define VV_NET_CAP_TX_CSUM     (1u << 7)  /* CSUM negotiated: partial checksums offloaded */
#define VV_NET_CAP_RX_CSUM     (1u << 8)  /* GUEST_CSUM negotiated */
#define VV_NET_CAP_MRG_RXBUF   (1u << 9)  /* MRG_RXBUF: a frame may span several buffers */
#define VV_NET_CAP_TX_TSO4     (1u << 10) /* HOST_TSO4: VV_NET_GSO_TCPV4 may be sent */
#define VV_NET_CAP_TX_TSO6     (1u << 11) /* HOST_TSO6: VV_NET_GSO_TCPV6 may be sent */
#define VV_NET_CAP_TX_USO      (1u << 12) /* HOST_USO: VV_NET_GSO_UDP_L4 may be sent */
#define VV_NET_CAP_RX_TSO4     (1u << 13) /* GUEST_TSO4: coalesced TCP/IPv4 may arrive */
#define VV_NET_CAP_RX_TSO6     (1u << 14) /* GUEST_TSO6: coalesced TCP/IPv6 may arrive */
#define VV_NET_CAP_RX_USO      (1u << 15) /* GUEST_USO4/6: coalesced UDP may arrive */
#define VV_NET_CAP_RX_HASH     (1u << 16) /* HASH_REPORT: vv_net_buf.hash, hash_type */
#define VV_NET_CAP_RSS	       (1u << 17) /* RSS: vv_net_set_rss() steers */

/* What the device offers and what vv_net_open() set up. */
struct vv_net_info {
	uint8_t mac[VV_NET_ETH_ALEN]; /* the address at open */
	bool mac_from_device;	      /* VIRTIO_NET_F_MAC; else a random locally administered one */
	uint16_t max_mtu;	      /* the device's maximum (VIRTIO_NET_F_MTU), else 1500 */
	uint16_t max_queue_pairs;     /* the device's maximum; 1 without MQ */
	uint16_t queue_pairs;	      /* pairs prepared: queue numbers 0..queue_pairs-1 */
	uint16_t rx_ring_size;
	uint16_t tx_ring_size;
	uint32_t buf_size;	/* bytes of frame data one buffer holds */
	uint32_t bufs_per_pair; /* buffers in each pair's pool */
	uint32_t caps;		/* VV_NET_CAP_* */
	uint64_t features;	/* the negotiated virtio feature bits */
	/* Since 0.4, with VV_NET_CAP_RSS or VV_NET_CAP_RX_HASH (else 0): vv_net_set_rss() limits.
	 */
	uint32_t rss_hash_types; /* VV_NET_RSS_HASH_* the device can compute */
	uint16_t rss_table_max;	 /* indirection table entries (0 without RSS) */
	uint8_t rss_key_max;	 /* bytes of hash key */
};

/*
 * Buffer flags, vv_net_buf.flags. CSUM_VALID (receive): the L4 checksum is known good, from
 * the device (DATA_VALID) or completed by the library (NEEDS_CSUM). CSUM_PARTIAL (send):
 * fill in the checksum at csum_start + csum_offset, by the device or the library. A
 * coalesced frame (receive, gso_type set) carries both: its data is valid and its checksum
 * field holds the pseudo-header sum, as for a frame to send, so it can be sent on as it is.
 */
#define VV_NET_BUF_F_CSUM_VALID	  (1u << 0)
#define VV_NET_BUF_F_CSUM_PARTIAL (1u << 1)

/*
 * Segmentation, vv_net_buf.gso_type (virtio 1.2 section 5.1.6.2, VIRTIO_NET_HDR_GSO_*).
 * Send: the frame is one set of headers and up to 64 KiB of payload that the device cuts
 * into segments of gso_size payload bytes, each with the headers replicated and fixed up
 * (lengths, IP ids, TCP sequence numbers and flags, checksums). Receive: a coalesced frame,
 * the payload of segments of gso_size bytes (the last may be shorter) behind one set of
 * headers. Like DPDK's RTE_MBUF_F_TX_TCP_SEG / tso_segsz and RTE_MBUF_F_RX_LRO.
 */
#define VV_NET_GSO_NONE		  0
#define VV_NET_GSO_TCPV4	  1 /* TCP over IPv4: VV_NET_CAP_TX_TSO4 / VV_NET_CAP_RX_TSO4 */
#define VV_NET_GSO_TCPV6	  2 /* TCP over IPv6: VV_NET_CAP_TX_TSO6 / VV_NET_CAP_RX_TSO6 */
#define VV_NET_GSO_UDP_L4	  3 /* UDP (USO), either IP version: VV_NET_CAP_TX_USO / _RX_USO */

/*
 * What a received frame's hash covers, vv_net_buf.hash_type (VIRTIO_NET_HASH_REPORT_*,
 * section 5.1.6.4.3.4; like DPDK's RTE_MBUF_F_RX_RSS_HASH with the packet type).
 */
#define VV_NET_HASH_NONE	  0 /* no hash */
#define VV_NET_HASH_IPV4	  1
#define VV_NET_HASH_TCPV4	  2
#define VV_NET_HASH_UDPV4	  3
#define VV_NET_HASH_IPV6	  4
#define VV_NET_HASH_TCPV6	  5
#define VV_NET_HASH_UDPV6	  6
#define VV_NET_HASH_IPV6_EX	  7
#define VV_NET_HASH_TCPV6_EX	  8
#define VV_NET_HASH_UDPV6_EX	  9

/* What the hash is computed over, vv_net_rss.hash_types (VIRTIO_NET_RSS_HASH_TYPE_*). */
#define VV_NET_RSS_HASH_IPV4	  (1u << 0) /* addresses */
#define VV_NET_RSS_HASH_TCPV4	  (1u << 1) /* addresses and ports */
#define VV_NET_RSS_HASH_UDPV4	  (1u << 2)
#define VV_NET_RSS_HASH_IPV6	  (1u << 3)
#define VV_NET_RSS_HASH_TCPV6	  (1u << 4)
#define VV_NET_RSS_HASH_UDPV6	  (1u << 5)
#define VV_NET_RSS_HASH_IP_EX	  (1u << 6)
#define VV_NET_RSS_HASH_TCP_EX	  (1u << 7)
#define VV_NET_RSS_HASH_UDP_EX	  (1u << 8)

/*
 * One buffer of a pool: one segment of a frame. The library owns the memory; the fields are
 * valid while the application holds the buffer (from vv_net_rx_burst() or
 * vv_net_buf_alloc() until vv_net_buf_free() or vv_net_tx_burst()).
 *
 * Receive: the first segment of a frame carries pkt_len and flags; a frame spans several
 * segments (linked by next) only with VV_NET_CAP_MRG_RXBUF and frames larger than buf_size.
 * Send: set data (anywhere inside the buffer: with 12 bytes before it, where
 * vv_net_buf_alloc() leaves them, the virtio-net header goes there, else into a slot of the
 * queue) and len; for a checksum to fill in, VV_NET_BUF_F_CSUM_PARTIAL with csum_start
 * (from the frame's first byte) and csum_offset (from csum_start), the checksum field
 * holding the pseudo-header sum, as for Linux's CHECKSUM_PARTIAL. Segments of other buffers
 * may be chained with next; the whole chain is sent and then freed. To have the device
 * segment the frame, also set gso_type, gso_size and (or leave 0 to have it read from the
 * frame) hdr_len; the frame may then be up to 64 KiB (IP's limit) and CSUM_PARTIAL is
 * required, at the L4 checksum, whose field holds the pseudo-header sum over the whole
 * frame's L4 length, as Linux does (the device adjusts it for each segment; DPDK's
 * convention leaves the length out: add it).
 *
 * The fields after priv appeared in 0.4; the application never allocates this structure.
 */
struct vv_net_buf {
	uint8_t *data;		 /* the segment's first byte */
	uint32_t len;		 /* bytes of frame in this segment */
	uint32_t room;		 /* bytes from data to the end of the buffer */
	uint32_t pkt_len;	 /* RX, first segment: bytes of the whole frame */
	uint16_t flags;		 /* VV_NET_BUF_F_* */
	uint16_t csum_start;	 /* with VV_NET_BUF_F_CSUM_PARTIAL */
	uint16_t csum_offset;	 /* with VV_NET_BUF_F_CSUM_PARTIAL */
	struct vv_net_buf *next; /* next segment of the same frame, or NULL */
	void *priv;		 /* vv_net_opts.buf_priv_size bytes for the application, or NULL */
	uint16_t gso_size;	 /* payload bytes per segment (the MSS) with gso_type */
	uint16_t hdr_len;  /* with gso_type: bytes of headers before the payload (send: 0 = find) */
	uint8_t gso_type;  /* VV_NET_GSO_*; first segment only */
	uint8_t hash_type; /* RX with VV_NET_CAP_RX_HASH: VV_NET_HASH_* */
	uint32_t hash;	   /* RX: the device's Toeplitz hash, with hash_type */
};

/*
 * Offload counters of vv_net_get_offload_stats() (since 0.4): what was segmented and
 * coalesced, and what a device's header made the library drop.
 */
struct vv_net_offload_stats {
	uint64_t tx_gso;      /* frames sent for the device to segment */
	uint64_t tx_gso_segs; /* the segments they make */
	uint64_t rx_gso;      /* coalesced frames received */
	uint64_t rx_gso_segs; /* the segments they stand for */
	uint64_t rx_bad_hdr;  /* frames dropped for an offload header that broke the rules */
};

/* Counters of vv_net_get_stats(). Buffer counts are a snapshot at the time of the call. */
struct vv_net_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped;	    /* malformed by the device's header, or too long */
	uint64_t rx_csum_valid;	    /* the device vouched for the checksum (DATA_VALID) */
	uint64_t rx_csum_completed; /* partial checksums (NEEDS_CSUM) the library completed */
	uint64_t rx_refill_empty;   /* receive refills that found the pool empty */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_csum_offload;  /* partial checksums the device fills in */
	uint64_t tx_csum_sw;	   /* partial checksums the library filled in */
	uint32_t bufs_total;	   /* in the pool(s) */
	uint32_t bufs_free;	   /* in the pool, ready for vv_net_buf_alloc() or refill */
	uint32_t bufs_rx_posted;   /* on the receive ring(s) */
	uint32_t bufs_tx_inflight; /* sent and not yet reclaimed */
	uint32_t bufs_app;	   /* held by the application: the rest */
};

/* vv_net_get_stats(): the sum over all prepared queue pairs. */
#define VV_NET_ALL_PAIRS (~0u)

/**
 * vv_net_open() - take an attached virtio-net function and start it.
 * @bdf: PCI address of a function bound to vfio-pci.
 * @opts: options, or NULL for the defaults.
 * @ret_net: set on success.
 *
 * Negotiates MAC, STATUS, MTU, MRG_RXBUF, CTRL_VQ, CTRL_RX, CTRL_MAC_ADDR and MQ where the
 * device offers them, and the offloads (CSUM, GUEST_CSUM, HOST_TSO4/6, HOST_USO,
 * GUEST_TSO4/6, GUEST_USO4/6) only when @opts asks and the device offers them (see
 * vv_net_info.caps for what was agreed). Takes the device's MAC
 * address, or makes up a random locally administered one and tells the device if it can
 * (CTRL_MAC_ADDR). Fills the receive rings; one queue pair is active.
 *
 * Context: blocks while the device resets (up to 2 s).
 * Return: 0; -ENODEV if it is not a virtio-net device; -EINVAL for bad @opts; -EIO if the
 * device's configuration makes no sense; the errnos of vv_device_open() and
 * vv_device_setup_queues().
 */
int vv_net_open(const char *bdf, const struct vv_net_opts *opts, struct vv_net **ret_net);

/**
 * vv_net_close() - reset the device and free everything, buffers included: buffers the
 * application still holds become invalid.
 * @net: the driver, or NULL.
 *
 * Context: blocks while the device resets (up to 2 s). No other call on @net may run.
 */
void vv_net_close(struct vv_net *net);

/**
 * vv_net_get_info() - what the device offers and what was set up.
 * @net: the driver.
 *
 * Context: any.
 * Return: the information, valid until vv_net_close().
 */
const struct vv_net_info *vv_net_get_info(const struct vv_net *net);

/**
 * vv_net_device() - the underlying device.
 * @net: the driver.
 *
 * Context: any.
 * Return: the device, owned by @net.
 */
struct vv_device *vv_net_device(struct vv_net *net);

/**
 * vv_net_mac() - the current MAC address.
 * @net: the driver.
 * @mac: receives 6 bytes.
 *
 * Context: any.
 */
void vv_net_mac(struct vv_net *net, uint8_t mac[VV_NET_ETH_ALEN]);

/**
 * vv_net_mtu() - the current MTU: the largest frame sent is MTU + 18 bytes (Ethernet header
 * and one VLAN tag).
 * @net: the driver.
 *
 * Context: any.
 * Return: the MTU.
 */
unsigned vv_net_mtu(const struct vv_net *net);

/**
 * vv_net_set_mtu() - change the MTU that vv_net_tx_burst() enforces.
 * @net: the driver.
 * @mtu: 68 up to vv_net_info.max_mtu.
 *
 * Context: any thread.
 * Return: 0; -EOPNOTSUPP above 1500 when the device gives no maximum (no VIRTIO_NET_F_MTU);
 * -EINVAL outside 68..max_mtu.
 */
int vv_net_set_mtu(struct vv_net *net, unsigned mtu);

/**
 * vv_net_link_up() - the link state as last read (at open or by vv_net_link_update()).
 * @net: the driver.
 *
 * Context: any.
 * Return: true when the link is up; always true without VV_NET_CAP_LINK_STATUS.
 */
bool vv_net_link_up(const struct vv_net *net);

/**
 * vv_net_link_update() - re-read the link state, e.g. when vv_net_config_eventfd() fired.
 * @net: the driver.
 * @ret_changed: set to whether the state changed since the last read; may be NULL.
 *
 * Context: any thread.
 * Return: 0; -EIO if the configuration cannot be read consistently.
 */
int vv_net_link_update(struct vv_net *net, bool *ret_changed);

/**
 * vv_net_link_changes() - how many link state changes vv_net_link_update() has seen.
 * @net: the driver.
 *
 * Context: any.
 * Return: the count.
 */
uint64_t vv_net_link_changes(const struct vv_net *net);

/**
 * vv_net_set_promisc() - receive every frame, or only those for us (and broadcasts).
 * @net: the driver.
 * @on: true for promiscuous.
 *
 * Context: any thread; blocks until the device answered (at most 2 s).
 * Return: 0; -EOPNOTSUPP without VV_NET_CAP_PROMISC; -EIO if the device refused;
 * -ETIMEDOUT if it never answered (the control queue is then unusable).
 */
int vv_net_set_promisc(struct vv_net *net, bool on);

/**
 * vv_net_set_allmulti() - receive every multicast frame.
 * @net: the driver.
 * @on: true to receive all multicast.
 *
 * Context: as vv_net_set_promisc().
 * Return: as vv_net_set_promisc(), with VV_NET_CAP_ALLMULTI.
 */
int vv_net_set_allmulti(struct vv_net *net, bool on);

/**
 * vv_net_set_mac() - change the MAC address the device filters on.
 * @net: the driver.
 * @mac: a unicast address.
 *
 * Context: as vv_net_set_promisc().
 * Return: 0; -EINVAL for a multicast or all-zero address; -EOPNOTSUPP without
 * VV_NET_CAP_SET_MAC; -EIO, -ETIMEDOUT as vv_net_set_promisc().
 */
int vv_net_set_mac(struct vv_net *net, const uint8_t mac[VV_NET_ETH_ALEN]);

/**
 * vv_net_set_queue_pairs() - how many queue pairs the device may receive on.
 * @net: the driver.
 * @n: 1 up to vv_net_info.queue_pairs.
 *
 * The device steers each flow to one pair; until this call it uses pair 0 only.
 *
 * Context: as vv_net_set_promisc().
 * Return: 0; -EINVAL for 0 or more pairs than were prepared (never more than the device's
 * maximum); -EOPNOTSUPP for more than one pair without VV_NET_CAP_MQ; -EIO, -ETIMEDOUT as
 * vv_net_set_promisc().
 */
int vv_net_set_queue_pairs(struct vv_net *net, unsigned n);

/**
 * vv_net_queue_pairs() - queue pairs the device receives on now.
 * @net: the driver.
 *
 * Context: any.
 * Return: the count, at least 1.
 */
unsigned vv_net_queue_pairs(const struct vv_net *net);

/**
 * vv_net_rx_eventfd() - readable when receive queue @q may have frames. Read its 8-byte
 * counter to clear it. Shared with other queues when the device has few MSI-X vectors.
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: any.
 * Return: the fd (owned by @net); -ENOENT when the device has no MSI-X (poll) or for a bad
 * @q.
 */
int vv_net_rx_eventfd(const struct vv_net *net, unsigned q);

/**
 * vv_net_tx_eventfd() - readable when transmit queue @q may have completions (only after
 * vv_net_tx_enable_notify()).
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: any.
 * Return: as vv_net_rx_eventfd().
 */
int vv_net_tx_eventfd(const struct vv_net *net, unsigned q);

/**
 * vv_net_config_eventfd() - readable when the device changed its configuration (the link
 * went up or down): call vv_net_link_update(). Read its 8-byte counter to clear it.
 * @net: the driver.
 *
 * Context: any.
 * Return: the fd; -ENOENT when the device has no MSI-X (poll vv_net_link_update()).
 */
int vv_net_config_eventfd(const struct vv_net *net);

/**
 * vv_net_rx_burst() - take up to @n received frames off queue @q, and refill the ring.
 * @net: the driver.
 * @q: queue pair.
 * @bufs: receives one pointer per frame (its first segment).
 * @n: room in @bufs.
 *
 * Each frame now belongs to the caller until vv_net_buf_free() (or vv_net_tx_burst()).
 * The device's header is checked before anything is used: a frame with an offload it was
 * not allowed to use, or a bad checksum position, is dropped and counted (a coalesced frame
 * whose gso_size, hdr_len or checksum position do not fit it, too); a header that
 * breaks the protocol (a buffer count beyond what was posted, a buffer shorter than the
 * header) marks the queue broken.
 *
 * Context: does not block; the thread that drives receive queue @q.
 * Return: frames returned (0 when none); -EINVAL for a bad @q; -EIO if the queue is broken.
 */
int vv_net_rx_burst(struct vv_net *net, unsigned q, struct vv_net_buf **bufs, unsigned n);

/**
 * vv_net_rx_enable_notify() - ask for an eventfd signal when frames arrive on @q.
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: the thread that drives receive queue @q.
 * Return: true when nothing is pending, so the caller may sleep on vv_net_rx_eventfd();
 * false when frames arrived meanwhile: call vv_net_rx_burst() first.
 */
bool vv_net_rx_enable_notify(struct vv_net *net, unsigned q);

/**
 * vv_net_rx_disable_notify() - no eventfd signals for @q: the caller polls (a hint; a
 * signal may still come).
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: the thread that drives receive queue @q.
 */
void vv_net_rx_disable_notify(struct vv_net *net, unsigned q);

/**
 * vv_net_buf_alloc() - take buffers from pair @q's pool to build frames in.
 * @net: the driver.
 * @q: queue pair whose pool to use.
 * @bufs: receives the buffers: data at the start of the frame area, len 0, room set.
 * @n: how many.
 *
 * Context: any thread; does not block.
 * Return: buffers taken, 0 when the pool is empty (send or free some); -EINVAL for a bad @q.
 */
int vv_net_buf_alloc(struct vv_net *net, unsigned q, struct vv_net_buf **bufs, unsigned n);

/**
 * vv_net_buf_free() - give a frame's buffers (the whole next chain) back to their pool.
 * @buf: the first segment, or NULL.
 *
 * Context: any thread; does not block.
 */
void vv_net_buf_free(struct vv_net_buf *buf);

/**
 * vv_net_buf_free_bulk() - give @n frames back, as vv_net_buf_free() each, with one pool
 * lock per batch instead of one per frame (e.g. a burst from vv_net_rx_burst()).
 * @bufs: the frames (first segments); NULL entries are skipped.
 * @n: number of entries in @bufs.
 *
 * A buffer the application does not hold (already freed, or sent) is ignored, as by
 * vv_net_buf_free(), even when it appears twice in @bufs.
 *
 * Context: any thread; does not block.
 */
void vv_net_buf_free_bulk(struct vv_net_buf *const *bufs, unsigned n);

/**
 * vv_net_tx_burst() - send up to @n frames on queue @q.
 * @net: the driver.
 * @q: queue pair.
 * @bufs: the frames (first segments). Those sent belong to the library from now on and go
 *	back to their pool once the device is done.
 * @n: number of frames.
 *
 * Completed frames are reclaimed first. The virtio-net header goes into each buffer's
 * headroom; VV_NET_BUF_F_CSUM_PARTIAL is offloaded with VV_NET_CAP_TX_CSUM and filled in
 * by the library otherwise; a segmentation request (gso_type) goes to the device, which
 * must have agreed to it. One notification covers the burst.
 *
 * Context: does not block; the thread that drives transmit queue @q.
 * Return: frames sent, a prefix of @bufs (fewer than @n when the ring is full: reclaim or
 * wait on vv_net_tx_eventfd()); -EINVAL if @bufs[0] is malformed (shorter than an Ethernet
 * header, longer than the MTU allows, segments outside their buffers, a checksum position
 * outside the frame, a buffer of another device; with gso_type: no CSUM_PARTIAL, a
 * gso_size of 0 or whose segments would exceed the MTU, headers past the frame, more than
 * 64 KiB) or @q is bad; -EOPNOTSUPP if @bufs[0] asks for a segmentation the device did not
 * agree to (VV_NET_CAP_TX_TSO4, _TSO6, _USO); -EIO if the queue is broken.
 */
int vv_net_tx_burst(struct vv_net *net, unsigned q, struct vv_net_buf **bufs, unsigned n);

/**
 * vv_net_tx_reclaim() - give the buffers of frames the device has sent back to the pool.
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: the thread that drives transmit queue @q.
 * Return: frames reclaimed; -EINVAL for a bad @q; -EIO if the queue is broken.
 */
int vv_net_tx_reclaim(struct vv_net *net, unsigned q);

/**
 * vv_net_tx_enable_notify() - ask for an eventfd signal when the device completes sends on
 * @q (to wait for room after a full ring).
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: the thread that drives transmit queue @q.
 * Return: true when nothing is pending; false when completions arrived meanwhile.
 */
bool vv_net_tx_enable_notify(struct vv_net *net, unsigned q);

/**
 * vv_net_tx_disable_notify() - no eventfd signals for completed sends on @q (the default).
 * @net: the driver.
 * @q: queue pair.
 *
 * Context: the thread that drives transmit queue @q.
 */
void vv_net_tx_disable_notify(struct vv_net *net, unsigned q);

/**
 * vv_net_get_stats() - counters of one queue pair, or of all.
 * @net: the driver.
 * @q: queue pair, or VV_NET_ALL_PAIRS.
 * @ret_stats: set on success.
 *
 * Context: any thread. Counters of a busy queue may be a few frames apart from each other.
 * Return: 0; -EINVAL for a bad @q.
 */
int vv_net_get_stats(struct vv_net *net, unsigned q, struct vv_net_stats *ret_stats);

/*
 * Receive-side scaling, for vv_net_set_rss(): the hash the device computes (Toeplitz over
 * what hash_types name, with key) and, with RSS, the queue pair of each hash: entry
 * (hash & (table_len - 1)) of table.
 */
struct vv_net_rss {
	uint32_t hash_types;   /* VV_NET_RSS_HASH_*, within vv_net_info.rss_hash_types */
	const uint8_t *key;    /* key_len bytes (40 for the usual Toeplitz key) */
	unsigned key_len;      /* up to vv_net_info.rss_key_max */
	const uint16_t *table; /* queue pairs, each below vv_net_queue_pairs() (RSS only) */
	unsigned table_len;    /* a power of 2, up to vv_net_info.rss_table_max (RSS only) */
};

/**
 * vv_net_set_rss() - configure the receive hash, and with RSS the steering by it.
 * @net: the driver.
 * @rss: what to hash, the key and (with VV_NET_CAP_RSS) the indirection table.
 *
 * With VV_NET_CAP_RSS the device steers each frame to the pair the table names for its hash
 * (VIRTIO_NET_CTRL_MQ_RSS_CONFIG; frames no hash type covers go to table[0]'s pair), and
 * with VV_NET_CAP_RX_HASH reports the hash in vv_net_buf.hash and hash_type. With only
 * VV_NET_CAP_RX_HASH the hash is reported and steering is left as it was
 * (VIRTIO_NET_CTRL_MQ_HASH_CONFIG; the table is ignored). vv_net_set_queue_pairs()
 * afterwards ends the steering (5.1.6.5.6.4).
 *
 * Context: as vv_net_set_promisc().
 * Return: 0; -EOPNOTSUPP without VV_NET_CAP_RSS and VV_NET_CAP_RX_HASH; -EINVAL for hash
 * types the device lacks, a key too long, a table whose length is not a power of 2 or past
 * the maximum, an entry past the active pairs; -EIO, -ETIMEDOUT as vv_net_set_promisc().
 */
int vv_net_set_rss(struct vv_net *net, const struct vv_net_rss *rss);

/**
 * vv_net_get_offload_stats() - segmentation counters of one queue pair, or of all.
 * @net: the driver.
 * @q: queue pair, or VV_NET_ALL_PAIRS.
 * @ret_stats: set on success.
 *
 * Context: any thread; as vv_net_get_stats().
 * Return: 0; -EINVAL for a bad @q.
 */
int vv_net_get_offload_stats(struct vv_net *net, unsigned q,
			     struct vv_net_offload_stats *ret_stats);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_NET_H */
