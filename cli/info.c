// SPDX-License-Identifier: MIT
/* info.c - `virtio-vfio info`: opens a device through VFIO and shows what it offers. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "host/feature_names.h"
#include "util/escape.h"
#include "json.h"

#define MAX_SHOWN_QUEUES 64

/*
 * What info shows is the drivers' own view: the device is opened by the blk or net driver,
 * which negotiates, reads and checks the config as it would to serve it. Another type is
 * opened as a bare device with the ring features.
 */
struct info {
	struct vv_blk *blk;
	struct vv_net *net;
	struct vv_device *dev; /* the driver's device, or one of our own */
	struct vv_pci_layout layout;
	uint64_t offered, negotiated;
	unsigned nq;
	unsigned qmax[MAX_SHOWN_QUEUES];
	char serial[4 * 20 + 1]; /* escaped: a device chose these bytes */
	int serial_err;
};

static int probe(const char *bdf, struct info *in)
{
	int type = cli_virtio_type(bdf), ret;

	if (type == VV_VIRTIO_BLK) {
		ret = vv_blk_open(bdf, 1, &in->blk);
		in->dev = ret ? NULL : vv_blk_device(in->blk);
	} else if (type == VV_VIRTIO_NET) {
		/* Rings as large as the device allows, so that their size shows its maximum. */
		struct vv_net_opts o = {.rx_ring_size = 32768, .tx_ring_size = 32768};

		ret = vv_net_open(bdf, &o, &in->net);
		in->dev = ret ? NULL : vv_net_device(in->net);
	} else {
		ret = vv_device_open(bdf, &in->dev);
		if (!ret)
			ret = vv_device_negotiate(in->dev, VV_RING_FEATURES, &in->negotiated);
	}
	if (ret)
		return ret;
	ret = vv_device_pci_layout(in->dev, &in->layout);
	if (ret)
		return ret;
	in->offered = vv_device_features_offered(in->dev);
	in->negotiated = vv_device_features(in->dev);
	in->nq = vv_device_num_queues(in->dev);
	for (unsigned i = 0; i < in->nq && i < MAX_SHOWN_QUEUES; i++)
		in->qmax[i] = vv_device_queue_max_size(in->dev, i);
	if (in->blk) {
		/* VIRTIO_BLK_T_GET_ID: the driver's request, aborted if never answered (30 s). */
		char raw[21];

		in->serial_err = vv_blk_get_id(in->blk, raw);
		if (!in->serial_err)
			escape_bytes(raw, in->serial, sizeof(in->serial));
	}
	return 0;
}

static void close_info(struct info *in)
{
	if (in->blk)
		vv_blk_close(in->blk);
	else if (in->net)
		vv_net_close(in->net);
	else
		vv_device_close(in->dev);
}

static const char *region_name(int i)
{
	static const char *const n[] = {"common", "notify", "isr", "device"};

	return n[i];
}

static const struct vv_pci_region *region(const struct vv_pci_layout *l, int i)
{
	const struct vv_pci_region *r[] = {&l->common, &l->notify, &l->isr, &l->device};

	return r[i];
}

static bool has(const struct info *in, unsigned bit)
{
	return in->negotiated & (1ULL << bit);
}

static void print_text(const struct info *in)
{
	const struct vv_device *d = in->dev;
	const struct vv_pci_layout *l = &in->layout;
	int type = vv_device_type(d);
	uint64_t known = in->negotiated;

	printf("%s: virtio %s (type %d)\n", vv_device_bdf(d), vv_virtio_type_name(type), type);
	printf("\nCapabilities:\n");
	for (int i = 0; i < 4; i++) {
		const struct vv_pci_region *r = region(l, i);

		if (r->present)
			printf("  %-7s BAR%u offset 0x%05x length 0x%05x\n", region_name(i), r->bar,
			       r->offset, r->length);
	}
	printf("  notify_off_multiplier %u\n", l->notify_off_multiplier);
	if (l->msix_vectors)
		printf("  MSI-X   %u vectors, table BAR%u+0x%x, PBA BAR%u+0x%x\n", l->msix_vectors,
		       l->msix_table.bar, l->msix_table.offset, l->msix_pba.bar,
		       l->msix_pba.offset);
	else
		printf("  MSI-X   none\n");

	printf("\nFeatures offered 0x%016llx, negotiable 0x%016llx:\n",
	       (unsigned long long)in->offered, (unsigned long long)(in->offered & known));
	for (unsigned b = 0; b < 64; b++) {
		const char *n;

		if (!(in->offered & (1ULL << b)))
			continue;
		n = virtio_feature_name(type, b);
		printf("  %2u %-22s%s\n", b, n ? n : "?", known & (1ULL << b) ? " negotiable" : "");
	}

	printf("\nQueues: %u\n", in->nq);
	for (unsigned i = 0; i < in->nq && i < MAX_SHOWN_QUEUES; i++)
		printf("  %u: max size %u\n", i, in->qmax[i]);

	if (in->blk) {
		const struct vv_blk_info *c = vv_blk_get_info(in->blk);
		uint64_t cap = vv_blk_capacity(in->blk);

		printf("\nDevice config (blk):\n");
		printf("  capacity          %llu sectors (%llu MiB)\n", (unsigned long long)cap,
		       (unsigned long long)(cap >> 11));
		if (has(in, VIRTIO_BLK_F_BLK_SIZE))
			printf("  block size        %u\n", c->blk_size);
		if (has(in, VIRTIO_BLK_F_SIZE_MAX))
			printf("  size_max          %u\n", c->size_max);
		if (has(in, VIRTIO_BLK_F_SEG_MAX))
			printf("  seg_max           %u\n", c->seg_max);
		if (has(in, VIRTIO_BLK_F_TOPOLOGY))
			printf("  topology          physical_block_exp %u, alignment_offset %u, "
			       "min_io_size %u, opt_io_size %u\n",
			       c->physical_block_exp, c->alignment_offset, c->min_io_size,
			       c->opt_io_size);
		if (has(in, VIRTIO_BLK_F_MQ))
			printf("  num_queues        %u\n", c->num_queues);
		if (c->discard)
			printf("  discard           max %u sectors, %u segments, alignment %u\n",
			       c->max_discard_sectors, c->max_discard_seg,
			       c->discard_sector_alignment);
		if (c->write_zeroes)
			printf("  write zeroes      max %u sectors, %u segments, may unmap %u\n",
			       c->max_write_zeroes_sectors, c->max_write_zeroes_seg,
			       c->write_zeroes_may_unmap);
		printf("  read-only         %s\n", c->read_only ? "yes" : "no");
		if (in->serial_err)
			printf("  serial            (unavailable: %s)\n",
			       strerror(-in->serial_err));
		else
			printf("  serial            %s\n", in->serial);
	} else if (in->net) {
		const struct vv_net_info *c = vv_net_get_info(in->net);
		const uint8_t *m = c->mac;

		printf("\nDevice config (net):\n");
		if (c->mac_from_device)
			printf("  mac               %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1],
			       m[2], m[3], m[4], m[5]);
		if (c->caps & VV_NET_CAP_LINK_STATUS)
			printf("  status            %s\n",
			       vv_net_link_up(in->net) ? "link up" : "link down");
		printf("  max queue pairs   %u\n", c->max_queue_pairs);
		if (c->caps & VV_NET_CAP_MTU)
			printf("  mtu               %u\n", c->max_mtu);
	}
}

static void print_json(const struct info *in)
{
	const struct vv_device *d = in->dev;
	int type = vv_device_type(d);
	uint64_t known = in->negotiated;
	struct json j;
	char hex[24];

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_int(&j, "version", CLI_JSON_SCHEMA);
	json_kv_str(&j, "bdf", vv_device_bdf(d));
	json_kv_str(&j, "type", vv_virtio_type_name(type));
	json_kv_int(&j, "type_id", type);
	json_key(&j, "capabilities");
	json_obj_begin(&j);
	for (int i = 0; i < 4; i++) {
		const struct vv_pci_region *r = region(&in->layout, i);

		json_key(&j, region_name(i));
		if (!r->present) {
			json_null(&j);
			continue;
		}
		json_obj_begin(&j);
		json_kv_int(&j, "bar", r->bar);
		json_kv_int(&j, "offset", r->offset);
		json_kv_int(&j, "length", r->length);
		json_obj_end(&j);
	}
	json_kv_int(&j, "notify_off_multiplier", in->layout.notify_off_multiplier);
	json_kv_int(&j, "msix_vectors", in->layout.msix_vectors);
	json_obj_end(&j);
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)in->offered);
	json_kv_str(&j, "features_offered", hex);
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)(in->offered & known));
	json_kv_str(&j, "features_negotiable", hex);
	json_key(&j, "feature_names");
	json_arr_begin(&j);
	for (unsigned b = 0; b < 64; b++) {
		const char *n = virtio_feature_name(type, b);

		if (in->offered & (1ULL << b))
			json_str(&j, n ? n : "?");
	}
	json_arr_end(&j);
	json_key(&j, "queues");
	json_arr_begin(&j);
	for (unsigned i = 0; i < in->nq && i < MAX_SHOWN_QUEUES; i++) {
		json_obj_begin(&j);
		json_kv_int(&j, "index", i);
		json_kv_int(&j, "max_size", in->qmax[i]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "config");
	if (in->blk) {
		const struct vv_blk_info *c = vv_blk_get_info(in->blk);

		json_obj_begin(&j);
		json_kv_int(&j, "capacity_sectors", (int64_t)vv_blk_capacity(in->blk));
		json_kv_int(&j, "block_size", c->blk_size);
		if (has(in, VIRTIO_BLK_F_SEG_MAX))
			json_kv_int(&j, "seg_max", c->seg_max);
		if (has(in, VIRTIO_BLK_F_SIZE_MAX))
			json_kv_int(&j, "size_max", c->size_max);
		if (has(in, VIRTIO_BLK_F_TOPOLOGY)) {
			json_kv_int(&j, "physical_block_exp", c->physical_block_exp);
			json_kv_int(&j, "min_io_size", c->min_io_size);
			json_kv_int(&j, "opt_io_size", c->opt_io_size);
		}
		if (c->discard)
			json_kv_int(&j, "max_discard_sectors", c->max_discard_sectors);
		if (c->write_zeroes)
			json_kv_int(&j, "max_write_zeroes_sectors", c->max_write_zeroes_sectors);
		json_kv_int(&j, "num_queues", c->num_queues);
		json_kv_bool(&j, "read_only", c->read_only);
		json_kv_str(&j, "serial", in->serial_err ? NULL : in->serial);
		json_obj_end(&j);
	} else if (in->net) {
		const struct vv_net_info *c = vv_net_get_info(in->net);
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1],
			 c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		json_obj_begin(&j);
		json_kv_str(&j, "mac", c->mac_from_device ? mac : NULL);
		json_key(&j, "link_up");
		if (c->caps & VV_NET_CAP_LINK_STATUS)
			json_bool(&j, vv_net_link_up(in->net));
		else
			json_null(&j);
		json_kv_int(&j, "max_queue_pairs", c->max_queue_pairs);
		json_key(&j, "mtu");
		if (c->caps & VV_NET_CAP_MTU)
			json_int(&j, c->max_mtu);
		else
			json_null(&j);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_obj_end(&j);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s info [--json] DEVICE\n"
		"\n"
		"Open an attached virtio function through VFIO and show its capabilities\n"
		"(BAR, offset, length), offered and negotiable features, queues, MSI-X vectors\n"
		"and decoded device config (blk: capacity, block size, limits, topology, serial;\n"
		"net: MAC, link, MTU, queue pairs). The device is reset before and after.\n"
		"\n"
		"Options:\n"
		"  --json         machine-readable output\n"
		"  -v, --verbose  log what the library does\n"
		"  -h, --help     show this help\n",
		prog);
}

int cmd_info(int argc, char **argv)
{
	struct info in = {0};
	char bdf[PCI_BDF_LEN];
	bool json;
	int c, ret;

	c = cli_parse_json_help(argc, argv, usage, &json);
	if (c >= 0)
		return c;
	if (optind + 1 != argc) {
		cli_err("info: expected exactly one DEVICE");
		return EXIT_USAGE;
	}
	ret = cli_attached_device(argv[optind], 0, NULL, NULL, bdf);
	if (ret)
		return ret;
	ret = probe(bdf, &in);
	if (ret) {
		/* The library logged the cause. */
		cli_err("%s: cannot open through VFIO: %s", bdf, strerror(-ret));
		close_info(&in);
		return EXIT_FAIL;
	}
	if (json)
		print_json(&in);
	else
		print_text(&in);
	close_info(&in);
	return EXIT_OK;
}
