/* SPDX-License-Identifier: MIT */
/*
 * net_queue.h - virtio-net frames on one queue pair: the buffer pool, the receive queue
 * (posting, refilling, headers, merged buffers) and the transmit queue (headers, checksums,
 * reclaim). Knows nothing of VFIO, so the fake device serves it in unit tests.
 */
#ifndef VV_DEVS_NET_QUEUE_H
#define VV_DEVS_NET_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtio-vfio/net.h>
#include <virtio-vfio/vq.h>

#include "devs/net_cfg.h"
#include "util/compiler.h"

/* Segments of one frame to send: a 64 KiB segmentation request in 2 KiB buffers. */
#define NET_TX_MAX_SEGS 34
#define NET_NO_SLOT	0xffff

enum net_buf_state {
	NB_FREE, /* in the pool */
	NB_RX,	 /* on the receive ring */
	NB_TX,	 /* on the transmit ring */
	NB_APP,	 /* the application's */
};

struct net_pool;

/* One buffer. The application sees only pub; the rest is the library's. */
struct net_buf {
	struct vv_net_buf pub; /* what the application sees: net_buf_of() goes back */
	struct net_pool *pool;
	uint8_t *base;	   /* the buffer's first byte (our view) */
	uint64_t iova;	   /* the same byte as the device sees it */
	uint16_t hdr_slot; /* TX: the separate header slot in use, or NET_NO_SLOT */
	uint8_t state;	   /* enum net_buf_state */
};

static inline struct net_buf *net_buf_of(struct vv_net_buf *b)
{
	return container_of(b, struct net_buf, pub);
}

/* A pool of equal buffers carved out of one DMA region; any thread may take and give back. */
struct net_pool {
	pthread_mutex_t lock;
	const void *owner; /* the driver instance; buffers of another are refused */
	struct net_buf *bufs;
	struct net_buf **free;
	unsigned count;
	unsigned nfree;
	uint32_t buf_size; /* bytes per buffer, virtio-net header included */
	uint32_t headroom; /* the virtio-net header's bytes: a frame's data starts here */
	uint8_t *priv;	   /* buf_priv_size bytes per buffer for the application */
	const char *name;  /* for messages */
	bool lock_init;
};

/* Per-pair counters: each written by one thread (RX or TX), read by any (relaxed atomics). */
struct net_qstats {
	uint64_t rx_packets, rx_bytes, rx_dropped, rx_csum_valid, rx_csum_completed;
	uint64_t rx_refill_empty;
	uint64_t tx_packets, tx_bytes, tx_csum_offload, tx_csum_sw;
	/* Segmentation offloads (net_offload.c). */
	uint64_t tx_gso, tx_gso_segs, rx_gso, rx_gso_segs, rx_bad_hdr;
	uint32_t rx_posted, tx_inflight; /* buffers */
};

#define net_stat_add(p, n) \
	__atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define net_stat_get(p) __atomic_load_n((p), __ATOMIC_RELAXED)

struct net_rxq {
	struct vv_vq *vq;
	struct net_pool *pool;
	struct net_qstats *st;
	const char *name;
	unsigned index;	    /* queue pair, for messages */
	bool mrg_rxbuf;	    /* a frame may span buffers; num_buffers is meaningful */
	bool guest_csum;    /* the device may set NEEDS_CSUM / DATA_VALID */
	bool hash_report;   /* HASH_REPORT: the header carries the hash (hdr_len 20) */
	uint32_t hdr_len;   /* bytes of header in a frame's first buffer */
	uint32_t max_frame; /* longer frames are dropped */
	uint32_t gso_ok;    /* NET_GSO_BIT()s of the coalesced frames the device may hand over */
	unsigned fill;	    /* buffers to keep posted */
	unsigned posted;    /* buffers on the ring now */
	/* A frame being put together from merged buffers, across calls. */
	struct net_buf *head, *tail;
	unsigned want, got;
	/* Its header, copied once: the device can still write the buffer it came in. */
	struct virtio_net_hdr_v1_hash hdr;
};

struct net_txq {
	struct vv_vq *vq;
	struct net_pool *pool; /* this pair's: for buffer ownership checks */
	struct net_qstats *st;
	const char *name;
	unsigned index;
	bool csum;	     /* CSUM negotiated: the device fills in partial checksums */
	uint32_t gso_ok;     /* NET_GSO_BIT()s of the segmentations the device agreed to */
	uint32_t hdr_len;    /* bytes of header before each frame (20 with HASH_REPORT) */
	const unsigned *mtu; /* the driver's current MTU (relaxed atomic) */
	uint8_t *hdrs;	     /* a header slot per ring entry, for frames without headroom */
	uint64_t hdrs_iova;
	uint16_t *free_slots; /* stack of free header slots */
	unsigned nslots, nfree_slots;
};

/* Pool: @mem/@iova hold @count * @buf_size bytes of DMA memory. */
int net_pool_init(struct net_pool *p, void *mem, uint64_t iova, unsigned count, uint32_t buf_size,
		  unsigned priv_size, const void *owner, const char *name);
void net_pool_fini(struct net_pool *p);
/* Takes up to @n buffers (state NB_APP, fields reset); returns how many. */
unsigned net_pool_get(struct net_pool *p, struct net_buf **out, unsigned n);
/* The same, fields and state left as they were: for the receive ring, which sets both. */
unsigned net_pool_take(struct net_pool *p, struct net_buf **out, unsigned n);
/* Gives @n buffers of this pool back. */
void net_pool_put(struct net_pool *p, struct net_buf **bufs, unsigned n);
/* Gives @n buffers back, each to its own pool: one lock per run of buffers of one pool. */
void net_pool_put_mixed(struct net_buf **bufs, unsigned n);
/* Gives a chain back, each buffer to its own pool. Buffers not the application's are ignored. */
void net_pool_put_chain(struct net_buf *head);
/* Gives @n frames (chains) back, each buffer to its own pool, as net_pool_put_chain() each. */
void net_pool_put_frames(struct vv_net_buf *const *frames, unsigned n);
unsigned net_pool_nfree(struct net_pool *p);
/* Resets the application-visible fields of @b for a frame starting @off bytes in. */
void net_buf_reset(struct net_buf *b, uint32_t off);

/* Receive queue: keeps @fill buffers posted (at most what the ring holds); refill kicks. */
int net_rxq_init(struct net_rxq *r, struct vv_vq *vq, struct net_pool *pool, struct net_qstats *st,
		 bool mrg_rxbuf, bool guest_csum, uint32_t max_frame, unsigned fill);
void net_rxq_fini(struct net_rxq *r);
/* Posts buffers up to the fill level and notifies the device; 0 or -EIO. */
int net_rxq_refill(struct net_rxq *r);
int net_rxq_burst(struct net_rxq *r, struct vv_net_buf **out, unsigned n);

/* Transmit queue: @hdrs holds a header slot per ring entry (24 bytes: NET_HDR_HASH fits). */
size_t net_txq_hdr_mem(unsigned ring_size);
int net_txq_init(struct net_txq *t, struct vv_vq *vq, struct net_pool *pool, struct net_qstats *st,
		 bool csum, const unsigned *mtu, void *hdrs, uint64_t hdrs_iova);
void net_txq_fini(struct net_txq *t);
int net_txq_burst(struct net_txq *t, struct vv_net_buf **bufs, unsigned n);
int net_txq_reclaim(struct net_txq *t);

/*
 * Fills in the checksum of the frame @head (a segment chain of @total bytes): the ones'
 * complement sum from @start to the end, stored at @start + @offset, whose 2 bytes hold the
 * pseudo-header sum on entry. Returns 0, or -EINVAL if the position lies outside the frame.
 */
int net_csum_complete(struct vv_net_buf *head, uint32_t total, uint32_t start, uint32_t offset);

/* Segmentation offloads (net_offload.c). A bit per VV_NET_GSO_* type. */
#define NET_GSO_BIT(type) (1u << (type))
/* The types the negotiated features allow: sent (HOST_*) and received (GUEST_*). */
uint32_t net_offload_tx_mask(uint64_t features);
uint32_t net_offload_rx_mask(uint64_t features);
/*
 * Checks the segmentation request of frame @f (@total bytes, gso_type set) against what the
 * device agreed to (@gso_ok) and the MTU; fills in hdr_len when 0 and sets @ret_segs to the
 * segments it makes. Returns 0, -EOPNOTSUPP (not agreed) or -EINVAL.
 */
int net_offload_tx_check(uint32_t gso_ok, unsigned mtu, struct vv_net_buf *f, uint32_t total,
			 uint32_t *ret_segs);
/* Puts @f's segmentation request (checked) into the header @h. */
void net_offload_tx_hdr(const struct vv_net_buf *f, struct virtio_net_hdr_v1 *h);
/*
 * Checks the device's header @h of a received frame @f of @total bytes for coalescing:
 * 0 when it is no coalesced frame; 1 when it is one that fits the frame and what was
 * negotiated (@gso_ok), with @f's flags, checksum position, gso fields set and @ret_segs the
 * segments it stands for; -EINVAL to drop it.
 */
int net_offload_rx(uint32_t gso_ok, const struct virtio_net_hdr_v1 *h, struct vv_net_buf *f,
		   uint32_t total, uint32_t *ret_segs);

#endif /* VV_DEVS_NET_QUEUE_H */
