/* SPDX-License-Identifier: MIT */
/* feature_names.h - names of virtio feature bits. Host tools: the CLI's, not the library's. */
#ifndef VV_HOST_FEATURE_NAMES_H
#define VV_HOST_FEATURE_NAMES_H

/* The bit's name for a device of virtio @type, or NULL when it has none we know. */
const char *virtio_feature_name(int type, unsigned bit);

#endif /* VV_HOST_FEATURE_NAMES_H */
