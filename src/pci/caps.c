// SPDX-License-Identifier: MIT
/* caps.c - walks the PCI capability list for the virtio-pci structures and MSI-X, checking all. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "pci/caps.h"
#include "util/compiler.h"

/* Standard capabilities live between the header and the end of the 256-byte space. */
#define CAP_SPACE_END	256
#define CAP_SPACE_START PCI_STD_HEADER_SIZEOF

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

VV_PRINTF(3, 4) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *cfg_type_name(uint8_t type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		return "common";
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		return "notify";
	case VIRTIO_PCI_CAP_ISR_CFG:
		return "ISR";
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		return "device";
	}
	return "?";
}

/*
 * A region must lie inside its BAR, without wrap-around, be long enough for its type and
 * start where its registers can be accessed naturally aligned (as Linux's
 * vp_modern_map_capability() asks too).
 */
static int check_region(const struct vpci_region *r, uint8_t type, const uint64_t *bar_size,
			char *err, size_t len)
{
	static const uint32_t min_len[] = {
		[VIRTIO_PCI_CAP_COMMON_CFG] = sizeof(struct virtio_pci_common_cfg),
		[VIRTIO_PCI_CAP_NOTIFY_CFG] = sizeof(uint16_t), /* one doorbell at least */
		[VIRTIO_PCI_CAP_ISR_CFG] = 1,
		[VIRTIO_PCI_CAP_DEVICE_CFG] = 1,
	};
	static const uint32_t align[] = {
		/* 32-bit registers, accessed 32 bits at a time (section 4.1.3.1) */
		[VIRTIO_PCI_CAP_COMMON_CFG] = 4,
		[VIRTIO_PCI_CAP_NOTIFY_CFG] = 2, /* 16-bit doorbells (section 4.1.4.4.1) */
		[VIRTIO_PCI_CAP_ISR_CFG] = 1,	 /* one byte */
		[VIRTIO_PCI_CAP_DEVICE_CFG] = 4, /* section 4.1.4.6.1 */
	};
	uint64_t end = (uint64_t)r->offset + r->length;

	if (r->length < min_len[type])
		return fail(err, len, "%s capability at 0x%02x: length %u is below %u",
			    cfg_type_name(type), r->cap_off, r->length, min_len[type]);
	if (r->offset & (align[type] - 1))
		return fail(err, len, "%s capability at 0x%02x: offset 0x%x is not %u-byte aligned",
			    cfg_type_name(type), r->cap_off, r->offset, align[type]);
	if (end > bar_size[r->bar])
		return fail(err, len,
			    "%s capability at 0x%02x: 0x%x+0x%x lies outside BAR%u (0x%llx bytes)",
			    cfg_type_name(type), r->cap_off, r->offset, r->length, r->bar,
			    (unsigned long long)bar_size[r->bar]);
	return 0;
}

/* virtio 1.2 section 4.1.4: one vendor-specific capability. */
static int parse_virtio_cap(const uint8_t *cfg, unsigned limit, uint8_t pos,
			    const uint64_t *bar_size, struct vpci_caps *caps, char *err, size_t len)
{
	uint8_t cap_len, type, bar;
	struct vpci_region r, *slot;
	int ret;

	/* The whole structure must be inside what we read before any field of it is. */
	if (pos + sizeof(struct virtio_pci_cap) > limit)
		return fail(err, len, "vendor capability at 0x%02x runs past config space", pos);
	cap_len = cfg[pos + VIRTIO_PCI_CAP_LEN];
	type = cfg[pos + VIRTIO_PCI_CAP_CFG_TYPE];
	bar = cfg[pos + VIRTIO_PCI_CAP_BAR];
	if (cap_len < sizeof(struct virtio_pci_cap) || pos + cap_len > limit)
		return fail(err, len, "vendor capability at 0x%02x: bad length %u", pos, cap_len);

	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		slot = &caps->common;
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		slot = &caps->notify;
		break;
	case VIRTIO_PCI_CAP_ISR_CFG:
		slot = &caps->isr;
		break;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		slot = &caps->device;
		break;
	default:
		/*
		 * Section 4.1.4: ignore types we do not use: PCI_CFG (4.1.4.9, an access window
		 * for drivers that cannot map BARs; we map them), shared memory, vendor.
		 */
		return 0;
	}
	/*
	 * Section 4.1.4: the driver uses the first instance of each type it can; a reserved
	 * BAR number (> 5) or a BAR that does not exist makes an instance unusable, not fatal.
	 */
	if (slot->present || bar >= PCI_NUM_BARS || !bar_size[bar])
		return 0;

	r = (struct vpci_region){
		.present = true,
		.bar = bar,
		.offset = get32(cfg + pos + VIRTIO_PCI_CAP_OFFSET),
		.length = get32(cfg + pos + VIRTIO_PCI_CAP_LENGTH),
		.cap_off = pos,
	};
	ret = check_region(&r, type, bar_size, err, len);
	if (ret)
		return ret;

	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		uint32_t mult;

		if (cap_len < sizeof(struct virtio_pci_notify_cap))
			return fail(err, len, "notify capability at 0x%02x: length %u too short",
				    pos, cap_len);
		/* Section 4.1.4.4: an even power of 2, or 0 (all queues share one doorbell). */
		mult = get32(cfg + pos + VIRTIO_PCI_NOTIFY_CAP_MULT);
		if (mult && ((mult & (mult - 1)) || mult == 1))
			return fail(err, len, "notify capability at 0x%02x: multiplier %u invalid",
				    pos, mult);
		caps->notify_off_multiplier = mult;
	}
	*slot = r;
	return 0;
}

/* PCI 3.0 section 6.8.2: the MSI-X capability, and its table and PBA inside their BARs. */
static int parse_msix_cap(const uint8_t *cfg, unsigned limit, uint8_t pos, const uint64_t *bar_size,
			  struct vpci_caps *caps, char *err, size_t len)
{
	uint16_t ctrl;
	uint32_t table, pba;
	uint64_t table_end, pba_end;

	if (caps->msix.present)
		return 0;
	if (pos + (unsigned)PCI_CAP_MSIX_SIZEOF > limit)
		return fail(err, len, "MSI-X capability at 0x%02x runs past config space", pos);
	ctrl = get16(cfg + pos + PCI_MSIX_FLAGS);
	table = get32(cfg + pos + PCI_MSIX_TABLE);
	pba = get32(cfg + pos + PCI_MSIX_PBA);

	caps->msix.cap_off = pos;
	caps->msix.table_size = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	caps->msix.table_bar = table & PCI_MSIX_TABLE_BIR;
	caps->msix.table_offset = table & PCI_MSIX_TABLE_OFFSET;
	caps->msix.pba_bar = pba & PCI_MSIX_PBA_BIR;
	caps->msix.pba_offset = pba & PCI_MSIX_PBA_OFFSET;

	table_end = (uint64_t)caps->msix.table_offset + caps->msix.table_size * PCI_MSIX_ENTRY_SIZE;
	pba_end = (uint64_t)caps->msix.pba_offset + (caps->msix.table_size + 63) / 64 * 8;
	if (caps->msix.table_bar >= PCI_NUM_BARS || table_end > bar_size[caps->msix.table_bar])
		return fail(err, len, "MSI-X table (%u vectors) lies outside BAR%u",
			    caps->msix.table_size, caps->msix.table_bar);
	if (caps->msix.pba_bar >= PCI_NUM_BARS || pba_end > bar_size[caps->msix.pba_bar])
		return fail(err, len, "MSI-X PBA lies outside BAR%u", caps->msix.pba_bar);
	caps->msix.present = true;
	return 0;
}

/*
 * Parses @cfg (at least the 64-byte header, normally 256 bytes). @bar_size holds each BAR's
 * size, 0 where a BAR is absent. On failure @err says what was wrong.
 * Returns 0; -EINVAL for a malformed list or a region outside its BAR; -ENODEV when the
 * device has no capability list or lacks a required virtio structure (not a modern device).
 */
int vpci_caps_parse(const uint8_t *cfg, size_t cfg_len, const uint64_t bar_size[PCI_NUM_BARS],
		    struct vpci_caps *ret_caps, char *err, size_t err_len)
{
	uint8_t visited[CAP_SPACE_END / 4] = {0};
	struct vpci_caps caps = {0};
	uint8_t buf[CAP_SPACE_END] = {0};
	unsigned pos, limit;
	int ret;

	if (cfg_len < PCI_STD_HEADER_SIZEOF)
		return fail(err, err_len, "config space too short (%zu bytes)", cfg_len);
	/* Work on a 256-byte copy so that no read below can run past the caller's buffer. */
	limit = cfg_len < sizeof(buf) ? (unsigned)cfg_len : sizeof(buf);
	memcpy(buf, cfg, limit);
	cfg = buf;

	if (!(get16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
		fail(err, err_len, "no capability list");
		return -ENODEV;
	}
	for (pos = cfg[PCI_CAPABILITY_LIST] & ~3u; pos; pos = cfg[pos + PCI_CAP_LIST_NEXT] & ~3u) {
		/* Pointers below the header or past the space we read are bugs or malice. */
		if (pos < CAP_SPACE_START || pos + 2 > limit)
			return fail(err, err_len, "capability pointer 0x%02x out of range", pos);
		if (visited[pos / 4]++)
			return fail(err, err_len, "capability list loops at 0x%02x", pos);

		switch (cfg[pos + PCI_CAP_LIST_ID]) {
		case PCI_CAP_ID_VNDR:
			ret = parse_virtio_cap(cfg, limit, (uint8_t)pos, bar_size, &caps, err,
					       err_len);
			break;
		case PCI_CAP_ID_MSIX:
			ret = parse_msix_cap(cfg, limit, (uint8_t)pos, bar_size, &caps, err,
					     err_len);
			break;
		default:
			ret = 0;
		}
		if (ret)
			return ret;
	}

	if (!caps.common.present || !caps.notify.present || !caps.isr.present) {
		fail(err, err_len, "no usable virtio %s capability: not a virtio 1.x device",
		     !caps.common.present   ? "common"
		     : !caps.notify.present ? "notify"
					    : "ISR");
		return -ENODEV;
	}
	*ret_caps = caps;
	return 0;
}
