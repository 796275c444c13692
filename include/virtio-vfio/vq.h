/* SPDX-License-Identifier: MIT */
/*
 * vq.h - virtqueues: post buffers to a device and collect them back when it is done.
 *
 * The model is the Linux virtqueue API: add a chain of device-readable buffers followed by
 * device-writable ones, with a token that comes back on completion; kick; get used buffers;
 * enable or disable completion notifications. Buffers are given by IOVA (see mem.h): the
 * device only ever sees IOVAs, and the library never guesses one from a pointer.
 *
 * Thread safety: a virtqueue is not locked. One thread at a time may call the functions
 * below on one queue; different queues may be used from different threads.
 */
#ifndef VIRTIO_VFIO_VQ_H
#define VIRTIO_VFIO_VQ_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vv_vq;

/* One buffer of a chain: @len bytes at @iova, in memory mapped for the device. */
struct vv_sg {
	uint64_t iova;
	uint32_t len;
};

/**
 * vv_vq_add() - post one request: @n_out device-readable buffers, then @n_in
 * device-writable ones.
 * @vq: the queue.
 * @sg: @n_out + @n_in buffers, readable ones first.
 * @n_out: number of device-readable buffers.
 * @n_in: number of device-writable buffers.
 * @token: returned by vv_vq_get() when the device is done; must not be NULL.
 *
 * The request is visible to the device only after vv_vq_kick() (or vv_vq_kick_prepare()
 * and vv_vq_notify()). Chains longer than one descriptor use an indirect table when
 * VIRTIO_F_INDIRECT_DESC was negotiated, so they take one ring slot.
 *
 * Context: does not block.
 * Return: 0 on success; -ENOSPC if the ring has no room now (complete some requests and
 * retry); -EINVAL if the request can never fit (no buffers, NULL token, a zero length, more
 * buffers than the ring or indirect table holds); -EIO if the queue is broken.
 */
int vv_vq_add(struct vv_vq *vq, const struct vv_sg *sg, unsigned n_out, unsigned n_in, void *token);

/* One request for vv_vq_add_many(): as the arguments of vv_vq_add(). */
struct vv_vq_req {
	const struct vv_sg *sg;
	uint16_t n_out;
	uint16_t n_in;
	void *token;
};

/**
 * vv_vq_add_many() - post several requests, in order, as vv_vq_add() would one by one.
 * @vq: the queue.
 * @reqs: the requests.
 * @n: how many.
 *
 * Cheaper per request than vv_vq_add(): one call, one check of the queue's state.
 *
 * Context: does not block.
 * Return: the number posted, from the first; it stops before the first request that does not
 * fit now or is invalid. When that is the first: -ENOSPC or -EINVAL as vv_vq_add(). -EIO if
 * the queue is broken.
 */
int vv_vq_add_many(struct vv_vq *vq, const struct vv_vq_req *reqs, unsigned n);

/**
 * vv_vq_kick_prepare() - publish the requests added since the last kick and tell whether
 * the device wants a notification for them.
 * @vq: the queue.
 *
 * Splitting prepare and notify lets a caller publish under its lock and ring the doorbell
 * (an MMIO write, which can exit to the hypervisor) outside it.
 *
 * Context: does not block.
 * Return: true if vv_vq_notify() must be called.
 */
bool vv_vq_kick_prepare(struct vv_vq *vq);

/**
 * vv_vq_notify() - ring the queue's doorbell.
 * @vq: the queue.
 *
 * Context: does not block.
 */
void vv_vq_notify(struct vv_vq *vq);

/**
 * vv_vq_kick() - vv_vq_kick_prepare() then, if needed, vv_vq_notify().
 * @vq: the queue.
 *
 * Context: does not block.
 * Return: 0, or -EIO if the queue is broken.
 */
int vv_vq_kick(struct vv_vq *vq);

/**
 * vv_vq_get() - take one completed request off the used ring.
 * @vq: the queue.
 * @ret_token: set to the token given to vv_vq_add().
 * @ret_len: set to the number of bytes the device wrote into the writable buffers.
 *
 * Everything the device wrote is checked before it is used: the id must name a request in
 * flight and the length must fit its writable buffers. A violation marks the queue broken;
 * only a length beyond the writable buffers is clamped instead on a queue set to
 * VV_VQ_LEN_CLAMP (vv_vq_set_len_check()).
 *
 * With VIRTIO_F_IN_ORDER negotiated, requests complete in the order they were added, and one
 * used entry may stand for a batch (virtio 1.2 section 2.7.9): it names the last request of
 * the batch, and every request before it is complete too. Those requests are returned one by
 * one, oldest first; the device gave no length for them, and the spec says they were used
 * completely, so @ret_len is their whole writable size. An entry that names a request other
 * than the oldest in flight or one within the completed batch breaks the queue.
 *
 * Context: does not block.
 * Return: 1 when a request was returned; 0 when none is ready; -EIO if the device broke the
 * protocol (now or before): the queue is broken and stays so until the device is reset.
 */
int vv_vq_get(struct vv_vq *vq, void **ret_token, uint32_t *ret_len);

/**
 * vv_vq_get_many() - take up to @max completed requests off the used ring.
 * @vq: the queue.
 * @ret_tokens: set to their tokens, in completion order.
 * @ret_lens: set to the bytes the device wrote into each.
 * @max: room in both arrays.
 *
 * Each completion is checked as in vv_vq_get(). The used index is read once per call.
 *
 * Context: does not block.
 * Return: the number returned (0 when none is ready); -EIO if the device broke the protocol
 * before any of them. Completions taken before a violation are returned; the queue is
 * broken, and the next call says so with -EIO.
 */
int vv_vq_get_many(struct vv_vq *vq, void **ret_tokens, uint32_t *ret_lens, unsigned max);

/*
 * What a queue does with a used length larger than the request's writable buffers. The
 * spec forbids it (2.7.8.1), yet devices are known to report such lengths where nobody
 * reads them (Linux had to revert the same check). STRICT, the default, breaks the queue:
 * right wherever the length says how much data there is (a received frame). CLAMP takes the
 * writable size instead and counts: for queues whose lengths the driver ignores (virtio-blk,
 * where the status byte tells the outcome; a transmit queue).
 */
enum vv_vq_len_check {
	VV_VQ_LEN_STRICT = 0,
	VV_VQ_LEN_CLAMP = 1,
};

/**
 * vv_vq_set_len_check() - choose what an over-long used length does on this queue.
 * @vq: the queue.
 * @check: VV_VQ_LEN_STRICT or VV_VQ_LEN_CLAMP.
 *
 * Context: before requests are in flight, from the thread that drives the queue.
 */
void vv_vq_set_len_check(struct vv_vq *vq, enum vv_vq_len_check check);

/**
 * vv_vq_len_clamped() - how many used lengths a VV_VQ_LEN_CLAMP queue clamped so far.
 * @vq: the queue.
 *
 * Context: the thread that drives the queue.
 */
uint64_t vv_vq_len_clamped(const struct vv_vq *vq);

/**
 * vv_vq_indirect_max() - descriptors one indirect table holds: a request of up to that many
 * buffers takes one ring descriptor. 0 without VIRTIO_F_INDIRECT_DESC: a request then takes
 * one ring descriptor per buffer.
 * @vq: the queue.
 *
 * Context: any.
 */
unsigned vv_vq_indirect_max(const struct vv_vq *vq);

/**
 * vv_vq_disable_cb() - ask the device not to interrupt for completions.
 * @vq: the queue.
 *
 * A hint only: the device may still interrupt.
 *
 * Context: does not block.
 */
void vv_vq_disable_cb(struct vv_vq *vq);

/**
 * vv_vq_enable_cb() - ask the device to interrupt for the next completion.
 * @vq: the queue.
 *
 * Context: does not block.
 * Return: true if no completion is pending; false if some arrived meanwhile, so the caller
 * must call vv_vq_get() again instead of waiting (it would miss them otherwise).
 */
bool vv_vq_enable_cb(struct vv_vq *vq);

/**
 * vv_vq_size() - number of descriptors in the ring (as set up; may be below the device's
 * maximum).
 * @vq: the queue.
 *
 * Context: any.
 */
unsigned vv_vq_size(const struct vv_vq *vq);

/**
 * vv_vq_free_count() - descriptors free right now.
 * @vq: the queue.
 *
 * With VIRTIO_F_IN_ORDER one descriptor always stays free (QEMU 10.0 loses completions when
 * an in-order ring is full): at most vv_vq_size() - 1, and a request that would need every
 * descriptor of the ring (no indirect table) never fits; it gets -ENOSPC.
 *
 * Context: any.
 */
unsigned vv_vq_free_count(const struct vv_vq *vq);

/**
 * vv_vq_break() - give up on the queue, as if the device had broken the protocol: every
 * call then fails with -EIO until the device is reset. For a caller that found the device
 * lying in what it wrote (a frame's header, a status), or that aborted the device. The
 * library's own driver on the queue (vv_blk) sees it at its next kick or poll.
 * @vq: the queue.
 *
 * Context: the thread that drives the queue, or after vv_device_abort().
 */
void vv_vq_break(struct vv_vq *vq);

/**
 * vv_vq_is_broken() - whether the device broke the protocol on this queue.
 * @vq: the queue.
 *
 * Context: any.
 */
bool vv_vq_is_broken(const struct vv_vq *vq);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_VFIO_VQ_H */
