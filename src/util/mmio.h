/* SPDX-License-Identifier: MIT */
/*
 * mmio.h - device register access: one volatile access of exactly the register's width.
 *
 * A plain load or store through a struct pointer may be merged, split, reordered or dropped
 * by the compiler; a device register must see each access exactly once, at its width.
 * virtio 1.2 section 4.1.3.1: 64-bit fields are written as two 32-bit halves, low first.
 */
#ifndef VV_UTIL_MMIO_H
#define VV_UTIL_MMIO_H

#include <endian.h>
#include <stdint.h>

static inline uint8_t mmio_read8(const void *addr)
{
	return *(const volatile uint8_t *)addr;
}

static inline uint16_t mmio_read16(const void *addr)
{
	return le16toh(*(const volatile uint16_t *)addr);
}

static inline uint32_t mmio_read32(const void *addr)
{
	return le32toh(*(const volatile uint32_t *)addr);
}

static inline void mmio_write8(void *addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

static inline void mmio_write16(void *addr, uint16_t v)
{
	*(volatile uint16_t *)addr = htole16(v);
}

static inline void mmio_write32(void *addr, uint32_t v)
{
	*(volatile uint32_t *)addr = htole32(v);
}

static inline void mmio_write64_split(void *lo, void *hi, uint64_t v)
{
	mmio_write32(lo, (uint32_t)v);
	mmio_write32(hi, (uint32_t)(v >> 32));
}

#endif /* VV_UTIL_MMIO_H */
