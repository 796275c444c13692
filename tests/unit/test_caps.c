// SPDX-License-Identifier: MIT
/* test_caps.c - the capability walk on a QEMU-like config image and on malformed ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "pci/caps.h"

static uint8_t cfg[256];
static uint64_t bars[PCI_NUM_BARS];
static char err[256];

static void put16(unsigned off, uint16_t v)
{
	cfg[off] = v & 0xff;
	cfg[off + 1] = v >> 8;
}

static void put32(unsigned off, uint32_t v)
{
	put16(off, v & 0xffff);
	put16(off + 2, v >> 16);
}

static void vcap(unsigned pos, unsigned next, uint8_t type, uint8_t bar, uint32_t off, uint32_t len,
		 uint8_t cap_len)
{
	cfg[pos] = PCI_CAP_ID_VNDR;
	cfg[pos + 1] = next;
	cfg[pos + 2] = cap_len;
	cfg[pos + 3] = type;
	cfg[pos + 4] = bar;
	put32(pos + 8, off);
	put32(pos + 12, len);
}

/*
 * The layout QEMU 7.2 gives a modern virtio-blk: MSI-X at 0x98 (BAR1), then the vendor
 * capabilities pci_cfg 0x84, notify 0x70, device 0x60, ISR 0x50, common 0x40 (BAR4, 16 KiB).
 */
static int setup(void **state)
{
	memset(cfg, 0, sizeof(cfg));
	memset(bars, 0, sizeof(bars));
	put16(PCI_VENDOR_ID, 0x1af4);
	put16(PCI_DEVICE_ID, 0x1042);
	put16(PCI_STATUS, PCI_STATUS_CAP_LIST);
	cfg[PCI_CAPABILITY_LIST] = 0x98;
	bars[1] = 0x1000;
	bars[4] = 0x4000;

	cfg[0x98] = PCI_CAP_ID_MSIX;
	cfg[0x99] = 0x84;
	put16(0x9a, 2 - 1); /* 2 vectors */
	put32(0x9c, 0x000 | 1);
	put32(0xa0, 0x800 | 1);

	vcap(0x84, 0x70, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20);
	vcap(0x70, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000, 20);
	put32(0x70 + 16, 4);
	vcap(0x60, 0x50, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000, 16);
	vcap(0x50, 0x40, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000, 16);
	vcap(0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000, 16);
	err[0] = '\0';
	return 0;
}

static int parse(struct vpci_caps *c)
{
	return vpci_caps_parse(cfg, sizeof(cfg), bars, c, err, sizeof(err));
}

static void test_qemu_layout(void **state)
{
	struct vpci_caps c;

	assert_int_equal(parse(&c), 0);
	assert_true(c.common.present);
	assert_int_equal(c.common.bar, 4);
	assert_int_equal(c.common.offset, 0);
	assert_int_equal(c.isr.offset, 0x1000);
	assert_int_equal(c.device.offset, 0x2000);
	assert_int_equal(c.notify.offset, 0x3000);
	assert_int_equal(c.notify.length, 0x1000);
	assert_int_equal(c.notify_off_multiplier, 4);
	assert_true(c.msix.present);
	assert_int_equal(c.msix.table_size, 2);
	assert_int_equal(c.msix.table_bar, 1);
	assert_int_equal(c.msix.pba_offset, 0x800);
}

static void test_no_cap_list(void **state)
{
	struct vpci_caps c;

	put16(PCI_STATUS, 0);
	assert_int_equal(parse(&c), -ENODEV);
}

static void test_loop(void **state)
{
	struct vpci_caps c;

	cfg[0x41] = 0x50; /* common -> ISR, which already led here */
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "loops"));
}

static void test_self_loop(void **state)
{
	struct vpci_caps c;

	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cfg[0x41] = 0x40;
	assert_int_equal(parse(&c), -EINVAL);
}

static void test_pointer_into_header(void **state)
{
	struct vpci_caps c;

	cfg[0x41] = 0x10;
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "out of range"));
}

static void test_pointer_past_short_config(void **state)
{
	struct vpci_caps c;

	/* Only 128 bytes could be read: the MSI-X capability at 0x98 is beyond them. */
	assert_int_equal(vpci_caps_parse(cfg, 128, bars, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(vpci_caps_parse(cfg, 32, bars, &c, err, sizeof(err)), -EINVAL);
}

static void test_region_outside_bar(void **state)
{
	struct vpci_caps c;

	put32(0x60 + 8, 0x3800); /* device cfg 0x3800 + 0x1000 > 16 KiB */
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "outside BAR4"));
}

static void test_region_wraps(void **state)
{
	struct vpci_caps c;

	put32(0x50 + 8, 0xfffff000);
	put32(0x50 + 12, 0x2000); /* offset + length wraps a 32-bit sum */
	assert_int_equal(parse(&c), -EINVAL);
}

static void test_common_too_short(void **state)
{
	struct vpci_caps c;

	put32(0x40 + 12, 16);
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "common"));
}

/*
 * Each structure must start where its registers are naturally aligned (as Linux's
 * vp_modern_map_capability() checks): @bad is refused with @msg, @good is accepted.
 */
static void misaligned(unsigned cap, uint32_t bad, uint32_t good, const char *msg)
{
	struct vpci_caps c;

	put32(cap + 8, bad);
	assert_int_equal(parse(&c), -EINVAL);
	assert_string_equal(err, msg);
	put32(cap + 8, good);
	assert_int_equal(parse(&c), 0);
}

static void test_common_misaligned(void **state)
{
	misaligned(0x40, 0x0002, 0x0004,
		   "common capability at 0x40: offset 0x2 is not 4-byte aligned");
}

static void test_notify_misaligned(void **state)
{
	put32(0x70 + 12, 0x800); /* room to move inside BAR4 */
	misaligned(0x70, 0x3001, 0x3002,
		   "notify capability at 0x70: offset 0x3001 is not 2-byte aligned");
}

static void test_device_misaligned(void **state)
{
	misaligned(0x60, 0x2002, 0x2004,
		   "device capability at 0x60: offset 0x2002 is not 4-byte aligned");
}

static void test_isr_any_offset(void **state)
{
	struct vpci_caps c;

	/* The ISR status is a single byte: no offset is misaligned for it. */
	put32(0x50 + 8, 0x1001);
	assert_int_equal(parse(&c), 0);
	assert_int_equal(c.isr.offset, 0x1001);
}

static void test_reserved_bar_ignored(void **state)
{
	struct vpci_caps c;

	/* Section 4.1.4: an instance with a reserved BAR is skipped; without another, no device. */
	cfg[0x40 + 4] = 7;
	assert_int_equal(parse(&c), -ENODEV);
	assert_non_null(strstr(err, "common"));
}

static void test_first_instance_wins(void **state)
{
	struct vpci_caps c;

	/* A second common capability later in the list is ignored. */
	vcap(0xb0, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x3f00, 0x1000, 16); /* would be invalid */
	cfg[0x41] = 0xb0;
	assert_int_equal(parse(&c), 0);
	assert_int_equal(c.common.offset, 0);
}

static void test_absent_bar_skipped(void **state)
{
	struct vpci_caps c;

	cfg[0x50 + 4] = 2; /* ISR in BAR2, which does not exist */
	assert_int_equal(parse(&c), -ENODEV);
	assert_non_null(strstr(err, "ISR"));
}

static void test_notify_multiplier(void **state)
{
	struct vpci_caps c;

	put32(0x70 + 16, 3);
	assert_int_equal(parse(&c), -EINVAL);
	put32(0x70 + 16, 1);
	assert_int_equal(parse(&c), -EINVAL);
	put32(0x70 + 16, 0);
	assert_int_equal(parse(&c), 0);
	put32(0x70 + 16, 0x1000); /* page-per-vq */
	assert_int_equal(parse(&c), 0);
	assert_int_equal(c.notify_off_multiplier, 0x1000);
}

static void test_notify_cap_short(void **state)
{
	struct vpci_caps c;

	cfg[0x70 + 2] = 16; /* no room for the multiplier */
	assert_int_equal(parse(&c), -EINVAL);
}

static void test_vendor_cap_bad_len(void **state)
{
	struct vpci_caps c;

	cfg[0x40 + 2] = 8;
	assert_int_equal(parse(&c), -EINVAL);
	cfg[0x40 + 2] = 0xf0; /* 0x40 + 0xf0 > 256 */
	assert_int_equal(parse(&c), -EINVAL);
}

static void test_vendor_cap_at_end(void **state)
{
	struct vpci_caps c;

	/* Found by fuzz_caps: a vendor capability at 0xfc; only its header fits in 256 bytes. */
	cfg[0x41] = 0xfc;
	cfg[0xfc] = PCI_CAP_ID_VNDR;
	cfg[0xfd] = 0;
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "runs past"));
	/* A second MSI-X capability is ignored; a first one must fit too. */
	cfg[0xfc] = PCI_CAP_ID_MSIX;
	assert_int_equal(parse(&c), 0);
	cfg[PCI_CAPABILITY_LIST] = 0x84;
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "runs past"));
}

static void test_msix_outside_bar(void **state)
{
	struct vpci_caps c;

	put16(0x9a, 2047); /* 2048 vectors * 16 bytes do not fit in 4 KiB */
	assert_int_equal(parse(&c), -EINVAL);
	assert_non_null(strstr(err, "MSI-X table"));
	put16(0x9a, 1);
	put32(0xa0, 0xff8 | 1); /* PBA past the end */
	bars[1] = 0xffc;
	assert_int_equal(parse(&c), -EINVAL);
}

static void test_missing_notify(void **state)
{
	struct vpci_caps c;

	cfg[0x84 + 1] = 0x60; /* skip notify */
	assert_int_equal(parse(&c), -ENODEV);
	assert_non_null(strstr(err, "notify"));
}

static void test_no_msix_is_fine(void **state)
{
	struct vpci_caps c;

	cfg[PCI_CAPABILITY_LIST] = 0x84;
	assert_int_equal(parse(&c), 0);
	assert_false(c.msix.present);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_qemu_layout, setup),
		cmocka_unit_test_setup(test_no_cap_list, setup),
		cmocka_unit_test_setup(test_loop, setup),
		cmocka_unit_test_setup(test_self_loop, setup),
		cmocka_unit_test_setup(test_pointer_into_header, setup),
		cmocka_unit_test_setup(test_pointer_past_short_config, setup),
		cmocka_unit_test_setup(test_region_outside_bar, setup),
		cmocka_unit_test_setup(test_region_wraps, setup),
		cmocka_unit_test_setup(test_common_too_short, setup),
		cmocka_unit_test_setup(test_common_misaligned, setup),
		cmocka_unit_test_setup(test_notify_misaligned, setup),
		cmocka_unit_test_setup(test_device_misaligned, setup),
		cmocka_unit_test_setup(test_isr_any_offset, setup),
		cmocka_unit_test_setup(test_reserved_bar_ignored, setup),
		cmocka_unit_test_setup(test_first_instance_wins, setup),
		cmocka_unit_test_setup(test_absent_bar_skipped, setup),
		cmocka_unit_test_setup(test_notify_multiplier, setup),
		cmocka_unit_test_setup(test_notify_cap_short, setup),
		cmocka_unit_test_setup(test_vendor_cap_bad_len, setup),
		cmocka_unit_test_setup(test_vendor_cap_at_end, setup),
		cmocka_unit_test_setup(test_msix_outside_bar, setup),
		cmocka_unit_test_setup(test_missing_notify, setup),
		cmocka_unit_test_setup(test_no_msix_is_fine, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
