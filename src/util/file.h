/* SPDX-License-Identifier: MIT */
/* file.h - small files the host tools keep (records, pidfiles), replaced whole. */
#ifndef VV_UTIL_FILE_H
#define VV_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * file_replace() - make @path hold exactly @len bytes of @data: written to a temporary file
 * beside it, then renamed over it, so that a reader sees the old contents or the new, never
 * half. With @durable the data reaches the disk before the rename (fsync), for files that
 * must survive a crash. The file is 0644; a symlink at the temporary name is not followed.
 * Return: 0 or -errno; nothing is left behind on failure.
 */
int file_replace(const char *path, const void *data, size_t len, bool durable);

#endif /* VV_UTIL_FILE_H */
