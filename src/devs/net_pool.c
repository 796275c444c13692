// SPDX-License-Identifier: MIT
/* net_pool.c - fixed-size frame buffers carved out of one DMA region, shared by RX and TX. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devs/net_queue.h"
#include "util/log.h"

int net_pool_init(struct net_pool *p, void *mem, uint64_t iova, unsigned count, uint32_t buf_size,
		  unsigned priv_size, const void *owner, const char *name)
{
	memset(p, 0, sizeof(*p));
	if (!count || buf_size <= NET_HDR_LEN)
		return -EINVAL;
	p->bufs = calloc(count, sizeof(*p->bufs));
	p->free = calloc(count, sizeof(*p->free));
	if (priv_size)
		p->priv = calloc(count, priv_size);
	if (!p->bufs || !p->free || (priv_size && !p->priv)) {
		net_pool_fini(p);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&p->lock, NULL)) {
		net_pool_fini(p);
		return -ENOMEM;
	}
	p->lock_init = true;
	p->owner = owner;
	p->count = count;
	p->buf_size = buf_size;
	p->headroom = NET_HDR_LEN;
	p->name = name;
	for (unsigned i = 0; i < count; i++) {
		struct net_buf *b = &p->bufs[i];

		b->pool = p;
		b->base = (uint8_t *)mem + (size_t)i * buf_size;
		b->iova = iova + (uint64_t)i * buf_size;
		b->hdr_slot = NET_NO_SLOT;
		b->state = NB_FREE;
		b->pub.priv = priv_size ? p->priv + (size_t)i * priv_size : NULL;
		/* Lowest addresses on top: the first buffers posted are the first in memory. */
		p->free[count - 1 - i] = b;
	}
	p->nfree = count;
	return 0;
}

void net_pool_fini(struct net_pool *p)
{
	if (p->lock_init)
		pthread_mutex_destroy(&p->lock);
	free(p->bufs);
	free(p->free);
	free(p->priv);
	memset(p, 0, sizeof(*p));
}

void net_buf_reset(struct net_buf *b, uint32_t off)
{
	b->pub.data = b->base + off;
	b->pub.len = 0;
	b->pub.room = b->pool->buf_size - off;
	b->pub.pkt_len = 0;
	b->pub.flags = 0;
	b->pub.csum_start = 0;
	b->pub.csum_offset = 0;
	b->pub.next = NULL;
	b->pub.gso_size = 0;
	b->pub.hdr_len = 0;
	b->pub.gso_type = VV_NET_GSO_NONE;
	b->pub.hash_type = VV_NET_HASH_NONE;
	b->pub.hash = 0;
}

unsigned net_pool_take(struct net_pool *p, struct net_buf **out, unsigned n)
{
	unsigned got;

	pthread_mutex_lock(&p->lock);
	got = n < p->nfree ? n : p->nfree;
	for (unsigned i = 0; i < got; i++)
		out[i] = p->free[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return got;
}

unsigned net_pool_get(struct net_pool *p, struct net_buf **out, unsigned n)
{
	unsigned got = net_pool_take(p, out, n);

	for (unsigned i = 0; i < got; i++) {
		out[i]->state = NB_APP;
		net_buf_reset(out[i], p->headroom);
	}
	return got;
}

void net_pool_put(struct net_pool *p, struct net_buf **bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bufs[i]->state = NB_FREE;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < n && p->nfree < p->count; i++)
		p->free[p->nfree++] = bufs[i];
	pthread_mutex_unlock(&p->lock);
}

void net_pool_put_mixed(struct net_buf **bufs, unsigned n)
{
	unsigned start = 0;

	for (unsigned i = 1; i <= n; i++)
		if (i == n || bufs[i]->pool != bufs[start]->pool) {
			net_pool_put(bufs[start]->pool, bufs + start, i - start);
			start = i;
		}
}

/*
 * The application's frees: every buffer of every chain is checked to be the application's,
 * then all go back with one pool lock per batch of PUT_BATCH (per pool, when a chain mixes
 * the pools of several pairs).
 */
#define PUT_BATCH 64

void net_pool_put_frames(struct vv_net_buf *const *frames, unsigned nf)
{
	struct net_buf *batch[PUT_BATCH];
	unsigned n = 0;

	for (unsigned i = 0; i < nf; i++) {
		if (!frames[i])
			continue;
		for (struct net_buf *b = net_buf_of(frames[i]), *next; b; b = next) {
			next = b->pub.next ? net_buf_of(b->pub.next) : NULL;
			/* A double free would put a buffer in the pool twice: refuse, loudly once.
			 */
			if (b->state != NB_APP) {
				static bool warned;

				if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
					log_err("%s: vv_net_buf_free() of a buffer the application "
						"does not hold (state %u): ignored",
						b->pool->name, b->state);
				break;
			}
			b->state = NB_FREE; /* a loop in the chain ends here */
			if (n == PUT_BATCH) {
				net_pool_put_mixed(batch, n);
				n = 0;
			}
			batch[n++] = b;
		}
	}
	if (n)
		net_pool_put_mixed(batch, n);
}

void net_pool_put_chain(struct net_buf *head)
{
	struct vv_net_buf *f = &head->pub;

	net_pool_put_frames(&f, 1);
}

unsigned net_pool_nfree(struct net_pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nfree;
	pthread_mutex_unlock(&p->lock);
	return n;
}
