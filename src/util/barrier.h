/* SPDX-License-Identifier: MIT */
/*
 * barrier.h - memory ordering between us and a device that shares our memory (the rings).
 *
 * "virt_" barriers order accesses to ring memory the device reads or writes. With weak
 * barriers (VIRTIO_F_ORDER_PLATFORM not negotiated: the device is another CPU, as QEMU is)
 * SMP fences suffice; otherwise the DMA flavours. On x86 loads are not reordered with
 * other loads nor stores with other stores, so rmb/wmb are compiler barriers; store->load
 * ordering needs a full fence. Ring indices go through the __atomic builtins so that the
 * compiler emits each access exactly once (READ_ONCE/WRITE_ONCE).
 */
#ifndef VV_UTIL_BARRIER_H
#define VV_UTIL_BARRIER_H

#include <stdbool.h>
#include <stdint.h>

#define barrier() __asm__ __volatile__("" ::: "memory")

#if defined(__x86_64__) || defined(__i386__)
#define dma_rmb() barrier()
#define dma_wmb() barrier()
#define mb()	  __asm__ __volatile__("mfence" ::: "memory")
#else
#define dma_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define dma_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define mb()	  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

static inline void virt_mb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		mb();
}

static inline void virt_rmb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	else
		dma_rmb();
}

static inline void virt_wmb(bool weak)
{
	if (weak)
		__atomic_thread_fence(__ATOMIC_RELEASE);
	else
		dma_wmb();
}

/* One access of exactly 16 bits, never merged, split or repeated by the compiler. */
static inline uint16_t read_once16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void write_once16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint32_t read_once32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#endif /* VV_UTIL_BARRIER_H */
