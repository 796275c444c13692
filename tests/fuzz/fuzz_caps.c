// SPDX-License-Identifier: MIT
/*
 * fuzz_caps.c - libFuzzer target: the capability walk on arbitrary config space and BAR
 * sizes. Whatever it accepts must lie inside the BARs it was given, at an offset aligned for
 * its registers.
 */
#include <stdint.h>
#include <string.h>

#include "pci/caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct vpci_region *r, const uint64_t *bars, uint32_t align)
{
	if (r->present && (r->bar >= PCI_NUM_BARS ||
			   (uint64_t)r->offset + r->length > bars[r->bar] || r->offset % align))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t bars[PCI_NUM_BARS] = {0};
	struct vpci_caps caps;
	char err[256];

	/* The first 24 bytes are BAR sizes (32 bits each, so huge and tiny ones both occur). */
	if (size < 24)
		return 0;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t v;

		memcpy(&v, data + 4 * i, 4);
		bars[i] = v;
	}
	if (vpci_caps_parse(data + 24, size - 24, bars, &caps, err, sizeof(err)))
		return 0;
	check(&caps.common, bars, 4);
	check(&caps.notify, bars, 2);
	check(&caps.isr, bars, 1);
	check(&caps.device, bars, 4);
	if (!caps.common.present || !caps.notify.present || !caps.isr.present)
		__builtin_trap();
	if (caps.msix.present && (uint64_t)caps.msix.table_offset + caps.msix.table_size * 16ull >
					 bars[caps.msix.table_bar])
		__builtin_trap();
	return 0;
}
