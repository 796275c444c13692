/* SPDX-License-Identifier: MIT */
/* compiler.h - attributes and small macros shared by the whole library. */
#ifndef VV_UTIL_COMPILER_H
#define VV_UTIL_COMPILER_H

#include <stddef.h>

/* Exported symbols; everything else is hidden by -fvisibility=hidden and the version script. */
#define VV_EXPORT	     __attribute__((visibility("default")))

#define VV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
/* For the ring's per-request steps: their state must stay in registers across a batch. */
#define VV_INLINE	     inline __attribute__((always_inline))

/* @x rounded up to a multiple of @a, a power of 2. */
static inline size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

#define ARRAY_SIZE(a)			(sizeof(a) / sizeof((a)[0]))

/*
 * The structure of @type whose @member @ptr points to: the one way down from a base. Cast
 * through void *: the member lies inside that structure, so the structure's alignment holds.
 */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define likely(x)			__builtin_expect(!!(x), 1)
#define unlikely(x)			__builtin_expect(!!(x), 0)

#endif /* VV_UTIL_COMPILER_H */
