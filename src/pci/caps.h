/* SPDX-License-Identifier: MIT */
/*
 * caps.h - the PCI capability walk that finds a virtio device's register blocks and MSI-X.
 *
 * Input is a copy of config space and the sizes of the BARs; nothing is mapped before it
 * was checked here. The device is outside our trust boundary: every pointer, BAR index,
 * offset and length it reports is validated.
 */
#ifndef VV_PCI_CAPS_H
#define VV_PCI_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_NUM_BARS 6

/* A register block of the virtio-pci modern interface: @length bytes at @offset in @bar. */
struct vpci_region {
	bool present;
	uint8_t bar;
	uint32_t offset;
	uint32_t length;
	uint8_t cap_off; /* where its capability sits in config space */
};

struct vpci_caps {
	struct vpci_region common; /* virtio 1.2 section 4.1.4.3 */
	struct vpci_region notify; /* section 4.1.4.4 */
	struct vpci_region isr;	   /* section 4.1.4.5 */
	struct vpci_region device; /* section 4.1.4.6; optional (e.g. rng has no config) */
	uint32_t notify_off_multiplier;

	struct {
		bool present;
		uint8_t cap_off;
		uint16_t table_size; /* number of vectors */
		uint8_t table_bar;
		uint32_t table_offset;
		uint8_t pba_bar;
		uint32_t pba_offset;
	} msix;
};

int vpci_caps_parse(const uint8_t *cfg, size_t cfg_len, const uint64_t bar_size[PCI_NUM_BARS],
		    struct vpci_caps *ret_caps, char *err, size_t err_len);

#endif /* VV_PCI_CAPS_H */
