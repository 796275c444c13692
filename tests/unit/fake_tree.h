/* SPDX-License-Identifier: MIT */
/*
 * fake_tree.h - a fake /sys and /proc in a temporary directory, for the tests of sysfs.c and
 * the in-use detectors: a disk with a partition, a NIC, a 9p share, a function on vfio-pci
 * and a bare one.
 */
#ifndef VV_TESTS_FAKE_TREE_H
#define VV_TESTS_FAKE_TREE_H

#include <limits.h>

#define BLK   "0000:00:03.0"
#define NET   "0000:01:00.0"
#define NINEP "0000:00:02.0"
#define VFIO  "0000:02:00.0"
#define BARE  "0000:03:00.0"
#define STUB  "0000:04:00.0"

extern char fake_root[PATH_MAX];

int fake_tree_setup(void **state);
int fake_tree_teardown(void **state);

/* Paths are relative to the fake root. */
void fake_mkdir(const char *rel);
void fake_put(const char *rel, const char *content);
void fake_link(const char *rel, const char *target);
void fake_rm(const char *rel);

#endif /* VV_TESTS_FAKE_TREE_H */
