// SPDX-License-Identifier: MIT
/*
 * net.c - vv_net: opens a virtio-net device, negotiates, sets up its queue pairs and control
 * queue, and offers burst receive and send, control commands and link state.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_net.h>

#include <virtio-vfio/device.h>
#include <virtio-vfio/ids.h>
#include <virtio-vfio/mem.h>
#include <virtio-vfio/net.h>

#include "devs/net_cfg.h"
#include "devs/net_ctrl.h"
#include "devs/net_queue.h"
#include "util/compiler.h"
#include "util/log.h"

#define DEF_RING      256
#define DEF_EXTRA     256
#define IDLE_RING     16 /* queues of pairs not prepared: set up (the control queue is last) */
#define CTRL_RING     64
#define MAX_RING      32768
#define MAX_PRIV_SIZE 4096
#define KNOWN_OFFLOADS                                                             \
	(VV_NET_OFFLOAD_TX_CSUM | VV_NET_OFFLOAD_RX_CSUM | VV_NET_OFFLOAD_TX_TSO | \
	 VV_NET_OFFLOAD_TX_USO | VV_NET_OFFLOAD_RX_TSO | VV_NET_OFFLOAD_RX_USO |   \
	 VV_NET_OFFLOAD_RX_HASH | VV_NET_OFFLOAD_RSS)

struct net_pair {
	struct net_pool pool;
	struct net_rxq rx;
	struct net_txq tx;
	struct net_qstats st;
	struct vv_dma_buf mem; /* buffers, then the TX header slots */
	char name[48];
	bool pool_ok, rx_ok, tx_ok;
};

struct vv_net {
	struct vv_device *dev;
	struct vv_net_info info;
	struct net_pair *pairs; /* info.queue_pairs of them */
	struct net_ctrl ctrl;
	struct vv_dma_buf ctrl_mem;
	struct net_cfgvals cfg; /* the device's configuration at open: RSS limits */
	bool has_ctrl;
	pthread_mutex_t lock; /* control state: mac, link, active pairs */
	uint8_t mac[6];
	unsigned mtu;	       /* relaxed atomic: read by the TX path */
	unsigned active_pairs; /* relaxed atomic */
	bool link_up;	       /* relaxed atomic */
	uint64_t link_changes; /* relaxed atomic */
};

static unsigned ring_size(unsigned want, unsigned dev_max)
{
	unsigned def = dev_max < DEF_RING ? dev_max : DEF_RING;

	if (!want)
		return def;
	return want < dev_max ? want : dev_max;
}

static int read_config(struct vv_net *n, struct virtio_net_config *c, size_t *ret_len)
{
	size_t len = vv_device_config_size(n->dev);

	memset(c, 0, sizeof(*c));
	if (len > sizeof(*c))
		len = sizeof(*c);
	*ret_len = len;
	return len ? vv_device_config_read(n->dev, 0, c, len) : 0;
}

static int check_opts(const struct vv_net_opts *o)
{
	unsigned rings[2] = {o->rx_ring_size, o->tx_ring_size};

	for (unsigned i = 0; i < 2; i++)
		if (rings[i] && (rings[i] > MAX_RING || (rings[i] & (rings[i] - 1))))
			return -EINVAL;
	if (o->max_queue_pairs > NET_MAX_PAIRS || o->extra_bufs > 65536 ||
	    o->buf_priv_size > MAX_PRIV_SIZE || (o->offloads & ~KNOWN_OFFLOADS))
		return -EINVAL;
	return 0;
}

/* Decides the features before negotiation, from the offer and the pre-negotiation config. */
static int negotiate(struct vv_net *n, const struct vv_net_opts *o)
{
	struct virtio_net_config c;
	uint64_t offered = vv_device_features_offered(n->dev), wanted, got, declined;
	unsigned dev_queues, pairs;
	size_t len;
	int ret;

	/* Section 3.1.1: the driver may read the config before accepting features. */
	ret = read_config(n, &c, &len);
	if (ret)
		return ret;
	/*
	 * The queue count read now may be a previous driver's: QEMU's virtio-net has the queues
	 * of MQ only while MQ is negotiated. Take the count MQ's pairs need as there, and check
	 * the real one after FEATURES_OK (setup_queues()), as Linux does (find_vqs).
	 */
	dev_queues = vv_device_num_queues(n->dev);
	pairs = len >= offsetof(struct virtio_net_config, max_virtqueue_pairs) + 2
			? le16toh(c.max_virtqueue_pairs)
			: 0;
	if ((offered & NET_F(VIRTIO_NET_F_MQ)) && pairs <= NET_MAX_PAIRS &&
	    2 * pairs + 1 > dev_queues)
		dev_queues = 2 * pairs + 1;
	wanted = net_sanitize_features(offered, net_wanted_features(o->offloads), &c, len,
				       dev_queues);
	declined = offered & net_wanted_features(o->offloads) & ~wanted;
	if (declined)
		log_info("%s: declined offered features 0x%llx (config or queues do not fit)",
			 vv_device_bdf(n->dev), (unsigned long long)declined);
	ret = vv_device_negotiate(n->dev, wanted, &got);
	if (ret)
		return ret;
	n->info.features = got;
	return 0;
}

static int apply_config(struct vv_net *n)
{
	struct virtio_net_config c;
	struct net_cfgvals v;
	uint8_t rnd[6];
	size_t len;
	int ret = read_config(n, &c, &len);

	if (!ret)
		ret = net_parse_config(n->info.features, &c, len, &v);
	if (ret) {
		log_err("%s: virtio-net config inconsistent with its features",
			vv_device_bdf(n->dev));
		return -EIO;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		for (unsigned i = 0; i < 6; i++)
			rnd[i] = (uint8_t)random();
	n->info.mac_from_device = net_pick_mac(n->info.features, v.mac, rnd, n->mac);
	if (!n->info.mac_from_device && (n->info.features & NET_F(VIRTIO_NET_F_MAC)))
		log_warn("%s: device MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address; "
			 "using a random one",
			 vv_device_bdf(n->dev), v.mac[0], v.mac[1], v.mac[2], v.mac[3], v.mac[4],
			 v.mac[5]);
	memcpy(n->info.mac, n->mac, 6);
	n->info.max_mtu = v.mtu;
	n->mtu = v.mtu;
	n->info.max_queue_pairs = v.max_pairs;
	n->link_up = v.link_up;
	n->info.caps = net_caps(n->info.features);
	n->info.rss_hash_types = v.rss_hash_types;
	n->info.rss_table_max = v.rss_table_max;
	n->info.rss_key_max = v.rss_key_max;
	n->cfg = v;
	return 0;
}

static int setup_queues(struct vv_net *n, const struct vv_net_opts *o)
{
	uint64_t f = n->info.features;
	unsigned total = net_total_queues(f, n->info.max_queue_pairs);
	unsigned ctrl = net_ctrl_index(f, n->info.max_queue_pairs);
	unsigned want = o->max_queue_pairs ? o->max_queue_pairs : 1;
	unsigned *sizes = calloc(total, sizeof(*sizes));
	int ret;

	if (!sizes)
		return -ENOMEM;
	if (total > vv_device_num_queues(n->dev)) {
		log_err("%s: %u queues after negotiation, %u needed: the device broke MQ's promise",
			vv_device_bdf(n->dev), vv_device_num_queues(n->dev), total);
		free(sizes);
		return -EIO;
	}
	n->info.queue_pairs =
		(uint16_t)(want < n->info.max_queue_pairs ? want : n->info.max_queue_pairs);
	n->info.rx_ring_size =
		(uint16_t)ring_size(o->rx_ring_size, vv_device_queue_max_size(n->dev, 0));
	n->info.tx_ring_size =
		(uint16_t)ring_size(o->tx_ring_size, vv_device_queue_max_size(n->dev, 1));
	for (unsigned i = 0; i < total; i++) {
		unsigned max = vv_device_queue_max_size(n->dev, i);

		if (i < 2u * n->info.queue_pairs)
			sizes[i] = i % 2 ? n->info.tx_ring_size : n->info.rx_ring_size;
		else
			sizes[i] = i == ctrl && n->has_ctrl ? CTRL_RING : IDLE_RING;
		if (sizes[i] > max)
			sizes[i] = max;
	}
	ret = vv_device_setup_queues(n->dev, total, sizes);
	free(sizes);
	if (ret)
		return ret;
	/* The device may have shrunk what we asked for (4.1.5.1.3). */
	n->info.rx_ring_size = (uint16_t)vv_vq_size(vv_device_queue(n->dev, 0));
	n->info.tx_ring_size = (uint16_t)vv_vq_size(vv_device_queue(n->dev, 1));
	if (!n->has_ctrl)
		return 0;
	ret = vv_dma_alloc(n->dev, NET_CTRL_MEM, &n->ctrl_mem);
	if (!ret)
		ret = net_ctrl_init(&n->ctrl, vv_device_queue(n->dev, ctrl), n->ctrl_mem.vaddr,
				    n->ctrl_mem.iova, vv_device_bdf(n->dev));
	return ret;
}

static int setup_pair(struct vv_net *n, unsigned q, const struct vv_net_opts *o)
{
	struct net_pair *p = &n->pairs[q];
	bool mrg = n->info.features & NET_F(VIRTIO_NET_F_MRG_RXBUF);
	uint32_t buf_size = net_buf_size(mrg, n->info.max_mtu);
	struct vv_vq *rxvq = vv_device_queue(n->dev, 2 * q);
	struct vv_vq *txvq = vv_device_queue(n->dev, 2 * q + 1);
	unsigned count =
		vv_vq_size(rxvq) + vv_vq_size(txvq) + (o->extra_bufs ? o->extra_bufs : DEF_EXTRA);
	size_t hdr_off = (size_t)count * buf_size;
	int ret;

	snprintf(p->name, sizeof(p->name), "%s", vv_device_bdf(n->dev));
	ret = vv_dma_alloc(n->dev, hdr_off + net_txq_hdr_mem(vv_vq_size(txvq)), &p->mem);
	if (ret)
		return ret;
	ret = net_pool_init(&p->pool, p->mem.vaddr, p->mem.iova, count, buf_size, o->buf_priv_size,
			    n, p->name);
	if (ret)
		return ret;
	p->pool_ok = true;
	/* With HASH_REPORT the header is 20 bytes each way (5.1.6): headroom, RX and TX. */
	p->pool.headroom = net_hdr_len(n->info.features);
	n->info.buf_size = buf_size - p->pool.headroom;
	n->info.bufs_per_pair = count;
	/* Drop what exceeds the device's own MTU (and a VLAN tag): it broke its promise. */
	ret = net_rxq_init(&p->rx, rxvq, &p->pool, &p->st, mrg,
			   n->info.features & NET_F(VIRTIO_NET_F_GUEST_CSUM),
			   n->info.max_mtu + NET_ETH_HLEN + NET_VLAN_HLEN, vv_vq_size(rxvq));
	if (ret)
		return ret;
	p->rx.index = q;
	p->rx.gso_ok = net_offload_rx_mask(n->info.features);
	p->rx.hdr_len = p->pool.headroom;
	p->rx.hash_report = n->info.features & NET_F(VIRTIO_NET_F_HASH_REPORT);
	p->rx_ok = true;
	ret = net_txq_init(&p->tx, txvq, &p->pool, &p->st,
			   n->info.features & NET_F(VIRTIO_NET_F_CSUM), &n->mtu,
			   (uint8_t *)p->mem.vaddr + hdr_off, p->mem.iova + hdr_off);
	if (ret)
		return ret;
	p->tx.index = q;
	p->tx.gso_ok = net_offload_tx_mask(n->info.features);
	p->tx.hdr_len = p->pool.headroom;
	p->tx_ok = true;
	return 0;
}

/* Section 5.1.5 step 5 and 5.1.6.5.4: a made-up address must reach the device's filter. */
static int announce_mac(struct vv_net *n)
{
	int ret;

	if (n->info.mac_from_device || !(n->info.caps & VV_NET_CAP_SET_MAC))
		return 0;
	ret = net_ctrl_cmd(&n->ctrl, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, n->mac, 6);
	if (ret)
		log_warn("%s: could not give the device its random MAC address: %s",
			 vv_device_bdf(n->dev), strerror(-ret));
	return 0;
}

VV_EXPORT int vv_net_open(const char *bdf, const struct vv_net_opts *opts, struct vv_net **ret_net)
{
	static const struct vv_net_opts defaults;
	const struct vv_net_opts *o = opts ? opts : &defaults;
	struct vv_net *n;
	int ret = check_opts(o);

	if (ret)
		return ret;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (pthread_mutex_init(&n->lock, NULL)) {
		free(n);
		return -ENOMEM;
	}
	n->active_pairs = 1;
	ret = vv_device_open(bdf, &n->dev);
	if (ret)
		goto err;
	if (vv_device_type(n->dev) != VV_VIRTIO_NET) {
		log_err("%s: a virtio %s device, not net", vv_device_bdf(n->dev),
			vv_virtio_type_name(vv_device_type(n->dev)));
		ret = -ENODEV;
		goto err;
	}
	ret = negotiate(n, o);
	if (!ret)
		ret = apply_config(n);
	if (ret)
		goto err;
	n->has_ctrl = n->info.features & NET_F(VIRTIO_NET_F_CTRL_VQ);
	ret = setup_queues(n, o);
	if (ret)
		goto err;
	n->pairs = calloc(n->info.queue_pairs, sizeof(*n->pairs));
	if (!n->pairs) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned q = 0; q < n->info.queue_pairs && !ret; q++)
		ret = setup_pair(n, q, o);
	if (!ret)
		ret = vv_device_start(n->dev);
	/* Every prepared pair gets its receive buffers; the device uses pair 0 until told. */
	for (unsigned q = 0; q < n->info.queue_pairs && !ret; q++)
		ret = net_rxq_refill(&n->pairs[q].rx);
	if (ret)
		goto err;
	announce_mac(n);
	log_info("%s: virtio-net %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, %u of %u queue pair(s), "
		 "link %s",
		 vv_device_bdf(n->dev), n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
		 n->mac[5], n->mtu, n->info.queue_pairs, n->info.max_queue_pairs,
		 n->link_up ? "up" : "down");
	*ret_net = n;
	return 0;
err:
	vv_net_close(n);
	return ret;
}

VV_EXPORT void vv_net_close(struct vv_net *n)
{
	if (!n)
		return;
	/* vv_device_close() resets the device first: after it no buffer is in its hands. */
	vv_device_close(n->dev);
	for (unsigned q = 0; n->pairs && q < n->info.queue_pairs; q++) {
		struct net_pair *p = &n->pairs[q];

		if (p->rx_ok)
			net_rxq_fini(&p->rx);
		if (p->tx_ok)
			net_txq_fini(&p->tx);
		if (p->pool_ok)
			net_pool_fini(&p->pool);
	}
	free(n->pairs);
	if (n->has_ctrl)
		net_ctrl_fini(&n->ctrl);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

VV_EXPORT const struct vv_net_info *vv_net_get_info(const struct vv_net *n)
{
	return &n->info;
}

VV_EXPORT struct vv_device *vv_net_device(struct vv_net *n)
{
	return n->dev;
}

VV_EXPORT void vv_net_mac(struct vv_net *n, uint8_t mac[VV_NET_ETH_ALEN])
{
	pthread_mutex_lock(&n->lock);
	memcpy(mac, n->mac, 6);
	pthread_mutex_unlock(&n->lock);
}

VV_EXPORT unsigned vv_net_mtu(const struct vv_net *n)
{
	return __atomic_load_n(&n->mtu, __ATOMIC_RELAXED);
}

VV_EXPORT int vv_net_set_mtu(struct vv_net *n, unsigned mtu)
{
	int ret = net_check_mtu(n->info.features, mtu, n->info.max_mtu);

	if (!ret)
		__atomic_store_n(&n->mtu, mtu, __ATOMIC_RELAXED);
	return ret;
}

VV_EXPORT bool vv_net_link_up(const struct vv_net *n)
{
	return __atomic_load_n(&n->link_up, __ATOMIC_RELAXED);
}

VV_EXPORT uint64_t vv_net_link_changes(const struct vv_net *n)
{
	return __atomic_load_n(&n->link_changes, __ATOMIC_RELAXED);
}

VV_EXPORT int vv_net_link_update(struct vv_net *n, bool *ret_changed)
{
	uint16_t status;
	bool up, changed;
	int ret;

	if (!(n->info.caps & VV_NET_CAP_LINK_STATUS)) {
		if (ret_changed)
			*ret_changed = false;
		return 0;
	}
	ret = vv_device_config_read(n->dev, offsetof(struct virtio_net_config, status), &status,
				    sizeof(status));
	if (ret)
		return ret;
	up = le16toh(status) & VIRTIO_NET_S_LINK_UP;
	pthread_mutex_lock(&n->lock);
	changed = up != n->link_up;
	if (changed) {
		__atomic_store_n(&n->link_up, up, __ATOMIC_RELAXED);
		__atomic_store_n(&n->link_changes, n->link_changes + 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&n->lock);
	if (changed)
		log_info("%s: link %s", vv_device_bdf(n->dev), up ? "up" : "down");
	if (ret_changed)
		*ret_changed = changed;
	return 0;
}

static int rx_mode(struct vv_net *n, uint8_t cmd, bool on, uint32_t cap)
{
	uint8_t v = on;

	if (!(n->info.caps & cap))
		return -EOPNOTSUPP;
	return net_ctrl_cmd(&n->ctrl, VIRTIO_NET_CTRL_RX, cmd, &v, 1);
}

VV_EXPORT int vv_net_set_promisc(struct vv_net *n, bool on)
{
	return rx_mode(n, VIRTIO_NET_CTRL_RX_PROMISC, on, VV_NET_CAP_PROMISC);
}

VV_EXPORT int vv_net_set_allmulti(struct vv_net *n, bool on)
{
	return rx_mode(n, VIRTIO_NET_CTRL_RX_ALLMULTI, on, VV_NET_CAP_ALLMULTI);
}

VV_EXPORT int vv_net_set_mac(struct vv_net *n, const uint8_t mac[VV_NET_ETH_ALEN])
{
	int ret;

	if (!net_mac_valid(mac))
		return -EINVAL;
	if (!(n->info.caps & VV_NET_CAP_SET_MAC))
		return -EOPNOTSUPP;
	ret = net_ctrl_cmd(&n->ctrl, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6);
	if (ret)
		return ret;
	pthread_mutex_lock(&n->lock);
	memcpy(n->mac, mac, 6);
	pthread_mutex_unlock(&n->lock);
	return 0;
}

VV_EXPORT int vv_net_set_queue_pairs(struct vv_net *n, unsigned pairs)
{
	struct virtio_net_ctrl_mq mq = {.virtqueue_pairs = htole16((uint16_t)pairs)};
	int ret = net_check_pairs(n->info.features, pairs, n->info.queue_pairs);

	if (ret)
		return ret;
	/* Without MQ there is one pair and nothing to tell the device. */
	if (n->info.caps & VV_NET_CAP_MQ)
		ret = net_ctrl_cmd(&n->ctrl, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
				   &mq, sizeof(mq));
	if (!ret)
		__atomic_store_n(&n->active_pairs, pairs, __ATOMIC_RELAXED);
	return ret;
}

VV_EXPORT int vv_net_set_rss(struct vv_net *n, const struct vv_net_rss *rss)
{
	bool steer = n->info.caps & VV_NET_CAP_RSS;
	uint8_t data[NET_CTRL_DATA_MAX];
	int len;

	if (!(n->info.caps & (VV_NET_CAP_RSS | VV_NET_CAP_RX_HASH)))
		return -EOPNOTSUPP;
	if (!rss)
		return -EINVAL;
	len = net_rss_config(rss, &n->cfg, vv_net_queue_pairs(n), steer, data, sizeof(data));
	if (len < 0)
		return len == -ENOSPC ? -EINVAL : len;
	return net_ctrl_cmd(&n->ctrl, VIRTIO_NET_CTRL_MQ,
			    steer ? VIRTIO_NET_CTRL_MQ_RSS_CONFIG : VIRTIO_NET_CTRL_MQ_HASH_CONFIG,
			    data, (uint32_t)len);
}

VV_EXPORT unsigned vv_net_queue_pairs(const struct vv_net *n)
{
	return __atomic_load_n(&n->active_pairs, __ATOMIC_RELAXED);
}

VV_EXPORT int vv_net_rx_eventfd(const struct vv_net *n, unsigned q)
{
	return q < n->info.queue_pairs ? vv_device_queue_eventfd(n->dev, 2 * q) : -ENOENT;
}

VV_EXPORT int vv_net_tx_eventfd(const struct vv_net *n, unsigned q)
{
	return q < n->info.queue_pairs ? vv_device_queue_eventfd(n->dev, 2 * q + 1) : -ENOENT;
}

VV_EXPORT int vv_net_config_eventfd(const struct vv_net *n)
{
	return vv_device_config_eventfd(n->dev);
}

VV_EXPORT int vv_net_rx_burst(struct vv_net *n, unsigned q, struct vv_net_buf **bufs, unsigned cnt)
{
	if (q >= n->info.queue_pairs || (!bufs && cnt))
		return -EINVAL;
	return net_rxq_burst(&n->pairs[q].rx, bufs, cnt);
}

VV_EXPORT bool vv_net_rx_enable_notify(struct vv_net *n, unsigned q)
{
	return q < n->info.queue_pairs ? vv_vq_enable_cb(n->pairs[q].rx.vq) : true;
}

VV_EXPORT void vv_net_rx_disable_notify(struct vv_net *n, unsigned q)
{
	if (q < n->info.queue_pairs)
		vv_vq_disable_cb(n->pairs[q].rx.vq);
}

VV_EXPORT int vv_net_buf_alloc(struct vv_net *n, unsigned q, struct vv_net_buf **bufs, unsigned cnt)
{
	struct net_buf *b[64];
	unsigned got = 0;

	if (q >= n->info.queue_pairs || (!bufs && cnt))
		return -EINVAL;
	while (got < cnt) {
		unsigned want = cnt - got < 64 ? cnt - got : 64;
		unsigned k = net_pool_get(&n->pairs[q].pool, b, want);

		for (unsigned i = 0; i < k; i++)
			bufs[got + i] = &b[i]->pub;
		got += k;
		if (k < want)
			break;
	}
	return (int)got;
}

VV_EXPORT void vv_net_buf_free(struct vv_net_buf *buf)
{
	if (buf)
		net_pool_put_chain(net_buf_of(buf));
}

VV_EXPORT void vv_net_buf_free_bulk(struct vv_net_buf *const *bufs, unsigned n)
{
	if (bufs)
		net_pool_put_frames(bufs, n);
}

VV_EXPORT int vv_net_tx_burst(struct vv_net *n, unsigned q, struct vv_net_buf **bufs, unsigned cnt)
{
	if (q >= n->info.queue_pairs || (!bufs && cnt))
		return -EINVAL;
	return net_txq_burst(&n->pairs[q].tx, bufs, cnt);
}

VV_EXPORT int vv_net_tx_reclaim(struct vv_net *n, unsigned q)
{
	if (q >= n->info.queue_pairs)
		return -EINVAL;
	return net_txq_reclaim(&n->pairs[q].tx);
}

VV_EXPORT bool vv_net_tx_enable_notify(struct vv_net *n, unsigned q)
{
	return q < n->info.queue_pairs ? vv_vq_enable_cb(n->pairs[q].tx.vq) : true;
}

VV_EXPORT void vv_net_tx_disable_notify(struct vv_net *n, unsigned q)
{
	if (q < n->info.queue_pairs)
		vv_vq_disable_cb(n->pairs[q].tx.vq);
}

static void add_stats(struct net_pair *p, struct vv_net_stats *s)
{
	struct net_qstats *st = &p->st;
	uint32_t nfree = net_pool_nfree(&p->pool);
	uint32_t posted = net_stat_get(&st->rx_posted), inflight = net_stat_get(&st->tx_inflight);
	uint32_t held = p->pool.count - nfree;

	s->rx_packets += net_stat_get(&st->rx_packets);
	s->rx_bytes += net_stat_get(&st->rx_bytes);
	s->rx_dropped += net_stat_get(&st->rx_dropped);
	s->rx_csum_valid += net_stat_get(&st->rx_csum_valid);
	s->rx_csum_completed += net_stat_get(&st->rx_csum_completed);
	s->rx_refill_empty += net_stat_get(&st->rx_refill_empty);
	s->tx_packets += net_stat_get(&st->tx_packets);
	s->tx_bytes += net_stat_get(&st->tx_bytes);
	s->tx_csum_offload += net_stat_get(&st->tx_csum_offload);
	s->tx_csum_sw += net_stat_get(&st->tx_csum_sw);
	s->bufs_total += p->pool.count;
	s->bufs_free += nfree;
	s->bufs_rx_posted += posted;
	s->bufs_tx_inflight += inflight;
	/* Counted at slightly different moments: never report a negative remainder. */
	s->bufs_app += held > posted + inflight ? held - posted - inflight : 0;
}

VV_EXPORT int vv_net_get_stats(struct vv_net *n, unsigned q, struct vv_net_stats *ret_stats)
{
	struct vv_net_stats s = {0};

	if (q != VV_NET_ALL_PAIRS && q >= n->info.queue_pairs)
		return -EINVAL;
	for (unsigned i = 0; i < n->info.queue_pairs; i++)
		if (q == VV_NET_ALL_PAIRS || q == i)
			add_stats(&n->pairs[i], &s);
	*ret_stats = s;
	return 0;
}

VV_EXPORT int vv_net_get_offload_stats(struct vv_net *n, unsigned q,
				       struct vv_net_offload_stats *ret_stats)
{
	struct vv_net_offload_stats s = {0};

	if (q != VV_NET_ALL_PAIRS && q >= n->info.queue_pairs)
		return -EINVAL;
	for (unsigned i = 0; i < n->info.queue_pairs; i++) {
		struct net_qstats *st = &n->pairs[i].st;

		if (q != VV_NET_ALL_PAIRS && q != i)
			continue;
		s.tx_gso += net_stat_get(&st->tx_gso);
		s.tx_gso_segs += net_stat_get(&st->tx_gso_segs);
		s.rx_gso += net_stat_get(&st->rx_gso);
		s.rx_gso_segs += net_stat_get(&st->rx_gso_segs);
		s.rx_bad_hdr += net_stat_get(&st->rx_bad_hdr);
	}
	*ret_stats = s;
	return 0;
}
