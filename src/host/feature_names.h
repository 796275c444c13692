/* SPDX-License-Identifier: MIT */
/* features.h - names of virtio feature bits, and the transport bits the library negotiates. */
#ifndef VV_CORE_FEATURES_H
#define VV_CORE_FEATURES_H

#include <stdint.h>

const char *virtio_feature_name(int type, unsigned bit);

/* Transport features the library itself implements (rings, IOMMU); drivers add their own. */
uint64_t virtio_transport_features(void);

#endif /* VV_CORE_FEATURES_H */
