/* SPDX-License-Identifier: MIT */
/* bind.h - moves a PCI function between its kernel driver and vfio-pci with driver_override. */
#ifndef VV_PCI_BIND_H
#define VV_PCI_BIND_H

#include <stddef.h>

/* Where attach records each function's original driver, so detach restores exactly it. */
#define VV_STATE_DIR "/run/virtio-vfio"

int pci_bind_driver(const char *bdf, const char *driver);
int pci_group_blockers(const char *bdf, char *why, size_t len);
int pci_state_save_driver(const char *bdf, const char *driver);
int pci_state_load_driver(const char *bdf, char *driver, size_t len);
void pci_state_forget(const char *bdf);
int pci_clear_override(const char *bdf);

#endif /* VV_PCI_BIND_H */
