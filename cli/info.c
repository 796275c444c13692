// SPDX-License-Identifier: MIT
/* info.c - `virtio-vfio info`: opens a device through VFIO and shows what it offers. */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "core/features.h"
#include "json.h"

/* Device features the info probe accepts, so that the config fields they gate are valid. */
#define BLK_INFO_FEATURES                                                                          \
	(1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |                            \
	 1ULL << VIRTIO_BLK_F_GEOMETRY | 1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_BLK_SIZE | \
	 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_TOPOLOGY |                              \
	 1ULL << VIRTIO_BLK_F_CONFIG_WCE | 1ULL << VIRTIO_BLK_F_MQ |                               \
	 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES)
#define NET_INFO_FEATURES                                                                    \
	(1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS | 1ULL << VIRTIO_NET_F_MTU | \
	 1ULL << VIRTIO_NET_F_MQ)

#define MAX_SHOWN_QUEUES 64

struct info {
	struct vv_device *dev;
	struct vv_pci_layout layout;
	uint64_t offered, negotiated;
	unsigned nq;
	unsigned qmax[MAX_SHOWN_QUEUES];
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	int serial_err;
	struct virtio_blk_config blk;
	struct virtio_net_config net;
};

static uint64_t driver_features(int type)
{
	return virtio_transport_features() | (type == VV_VIRTIO_BLK   ? BLK_INFO_FEATURES
					      : type == VV_VIRTIO_NET ? NET_INFO_FEATURES
								      : 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * VIRTIO_BLK_T_GET_ID (virtio 1.2 section 5.2.6): the serial is not in config space, so this
 * is a real request through queue 0: a readable header, a writable 20-byte id and status.
 */
static int blk_get_serial(struct info *in)
{
	struct vv_dma_buf buf;
	struct virtio_blk_outhdr *hdr;
	struct vv_sg sg[3];
	struct vv_vq *vq;
	void *token = NULL;
	uint32_t len;
	uint8_t *status;
	int64_t deadline;
	int ret;

	ret = vv_device_setup_queues(in->dev, 1, (const unsigned[]){16});
	if (!ret)
		ret = vv_device_start(in->dev);
	if (!ret)
		ret = vv_dma_alloc(in->dev, 4096, &buf);
	if (ret)
		return ret;
	hdr = buf.vaddr;
	hdr->type = htole32(VIRTIO_BLK_T_GET_ID);
	status = (uint8_t *)buf.vaddr + 128;
	*status = 0xff;
	sg[0] = (struct vv_sg){buf.iova, sizeof(*hdr)};
	sg[1] = (struct vv_sg){buf.iova + 64, VIRTIO_BLK_ID_BYTES};
	sg[2] = (struct vv_sg){buf.iova + 128, 1};
	vq = vv_device_queue(in->dev, 0);
	ret = vv_vq_add(vq, sg, 1, 2, hdr);
	if (!ret)
		ret = vv_vq_kick(vq);
	/* Poll: info is a one-shot; interrupts are the daemons' business. */
	deadline = now_ms() + 5000;
	while (!ret && (ret = vv_vq_get(vq, &token, &len)) == 0) {
		if (now_ms() > deadline) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret == 1)
		ret = token != hdr		       ? -EIO
		      : *status == VIRTIO_BLK_S_OK     ? 0
		      : *status == VIRTIO_BLK_S_UNSUPP ? -EOPNOTSUPP
						       : -EIO;
	if (!ret)
		memcpy(in->serial, (char *)buf.vaddr + 64, VIRTIO_BLK_ID_BYTES); /* NUL-padded */
	vv_dma_free(in->dev, &buf);
	return ret;
}

static int probe(const char *bdf, struct info *in)
{
	int type, ret;

	ret = vv_device_open(bdf, &in->dev);
	if (ret)
		return ret;
	type = vv_device_type(in->dev);
	ret = vv_device_pci_layout(in->dev, &in->layout);
	if (ret)
		return ret;
	in->offered = vv_device_features_offered(in->dev);
	in->nq = vv_device_num_queues(in->dev);
	for (unsigned i = 0; i < in->nq && i < MAX_SHOWN_QUEUES; i++)
		in->qmax[i] = vv_device_queue_max_size(in->dev, i);
	ret = vv_device_negotiate(in->dev, driver_features(type), &in->negotiated);
	if (ret)
		return ret;
	if (type == VV_VIRTIO_BLK) {
		size_t n = vv_device_config_size(in->dev);

		n = n < sizeof(in->blk) ? n : sizeof(in->blk);
		ret = vv_device_config_read(in->dev, 0, &in->blk, n);
		if (!ret)
			in->serial_err = blk_get_serial(in);
	} else if (type == VV_VIRTIO_NET) {
		size_t n = vv_device_config_size(in->dev);

		n = n < sizeof(in->net) ? n : sizeof(in->net);
		ret = vv_device_config_read(in->dev, 0, &in->net, n);
	}
	return ret;
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
	int type = vv_device_type(d);
	uint64_t known = driver_features(type);

	const struct vv_pci_layout *l = &in->layout;

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

	if (type == VV_VIRTIO_BLK) {
		const struct virtio_blk_config *c = &in->blk;
		uint64_t cap = le64toh(c->capacity);

		printf("\nDevice config (blk):\n");
		printf("  capacity          %llu sectors (%llu MiB)\n", (unsigned long long)cap,
		       (unsigned long long)(cap >> 11));
		if (has(in, VIRTIO_BLK_F_BLK_SIZE))
			printf("  block size        %u\n", le32toh(c->blk_size));
		if (has(in, VIRTIO_BLK_F_SIZE_MAX))
			printf("  size_max          %u\n", le32toh(c->size_max));
		if (has(in, VIRTIO_BLK_F_SEG_MAX))
			printf("  seg_max           %u\n", le32toh(c->seg_max));
		if (has(in, VIRTIO_BLK_F_TOPOLOGY))
			printf("  topology          physical_block_exp %u, alignment_offset %u, "
			       "min_io_size %u, opt_io_size %u\n",
			       c->physical_block_exp, c->alignment_offset, le16toh(c->min_io_size),
			       le32toh(c->opt_io_size));
		if (has(in, VIRTIO_BLK_F_MQ))
			printf("  num_queues        %u\n", le16toh(c->num_queues));
		if (has(in, VIRTIO_BLK_F_DISCARD))
			printf("  discard           max %u sectors, %u segments, alignment %u\n",
			       le32toh(c->max_discard_sectors), le32toh(c->max_discard_seg),
			       le32toh(c->discard_sector_alignment));
		if (has(in, VIRTIO_BLK_F_WRITE_ZEROES))
			printf("  write zeroes      max %u sectors, %u segments, may unmap %u\n",
			       le32toh(c->max_write_zeroes_sectors),
			       le32toh(c->max_write_zeroes_seg), c->write_zeroes_may_unmap);
		printf("  read-only         %s\n", has(in, VIRTIO_BLK_F_RO) ? "yes" : "no");
		if (in->serial_err)
			printf("  serial            (unavailable: %s)\n",
			       strerror(-in->serial_err));
		else
			printf("  serial            %s\n", in->serial);
	} else if (type == VV_VIRTIO_NET) {
		const struct virtio_net_config *c = &in->net;

		printf("\nDevice config (net):\n");
		if (has(in, VIRTIO_NET_F_MAC))
			printf("  mac               %02x:%02x:%02x:%02x:%02x:%02x\n", c->mac[0],
			       c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		if (has(in, VIRTIO_NET_F_STATUS))
			printf("  status            %s\n",
			       le16toh(c->status) & VIRTIO_NET_S_LINK_UP ? "link up" : "link down");
		printf("  max queue pairs   %u\n",
		       has(in, VIRTIO_NET_F_MQ) ? le16toh(c->max_virtqueue_pairs) : 1);
		if (has(in, VIRTIO_NET_F_MTU))
			printf("  mtu               %u\n", le16toh(c->mtu));
	}
}

static void print_json(const struct info *in)
{
	const struct vv_device *d = in->dev;
	int type = vv_device_type(d);
	uint64_t known = driver_features(type);
	struct json j;
	char hex[24];

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_int(&j, "version", 1);
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
	if (type == VV_VIRTIO_BLK) {
		const struct virtio_blk_config *c = &in->blk;

		json_obj_begin(&j);
		json_kv_int(&j, "capacity_sectors", (int64_t)le64toh(c->capacity));
		json_kv_int(&j, "block_size",
			    has(in, VIRTIO_BLK_F_BLK_SIZE) ? le32toh(c->blk_size) : 512);
		if (has(in, VIRTIO_BLK_F_SEG_MAX))
			json_kv_int(&j, "seg_max", le32toh(c->seg_max));
		if (has(in, VIRTIO_BLK_F_SIZE_MAX))
			json_kv_int(&j, "size_max", le32toh(c->size_max));
		if (has(in, VIRTIO_BLK_F_TOPOLOGY)) {
			json_kv_int(&j, "physical_block_exp", c->physical_block_exp);
			json_kv_int(&j, "min_io_size", le16toh(c->min_io_size));
			json_kv_int(&j, "opt_io_size", le32toh(c->opt_io_size));
		}
		if (has(in, VIRTIO_BLK_F_DISCARD))
			json_kv_int(&j, "max_discard_sectors", le32toh(c->max_discard_sectors));
		if (has(in, VIRTIO_BLK_F_WRITE_ZEROES))
			json_kv_int(&j, "max_write_zeroes_sectors",
				    le32toh(c->max_write_zeroes_sectors));
		json_kv_int(&j, "num_queues",
			    has(in, VIRTIO_BLK_F_MQ) ? le16toh(c->num_queues) : 1);
		json_kv_bool(&j, "read_only", has(in, VIRTIO_BLK_F_RO));
		json_kv_str(&j, "serial", in->serial_err ? NULL : in->serial);
		json_obj_end(&j);
	} else if (type == VV_VIRTIO_NET) {
		const struct virtio_net_config *c = &in->net;
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1],
			 c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		json_obj_begin(&j);
		json_kv_str(&j, "mac", has(in, VIRTIO_NET_F_MAC) ? mac : NULL);
		json_key(&j, "link_up");
		if (has(in, VIRTIO_NET_F_STATUS))
			json_bool(&j, le16toh(c->status) & VIRTIO_NET_S_LINK_UP);
		else
			json_null(&j);
		json_kv_int(&j, "max_queue_pairs",
			    has(in, VIRTIO_NET_F_MQ) ? le16toh(c->max_virtqueue_pairs) : 1);
		json_key(&j, "mtu");
		if (has(in, VIRTIO_NET_F_MTU))
			json_int(&j, le16toh(c->mtu));
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
		"  --json      machine-readable output\n"
		"  -h, --help  show this help\n",
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
	if (cli_attached_device(argv[optind], 0, NULL, NULL, bdf))
		return EXIT_FAIL;
	ret = probe(bdf, &in);
	if (ret) {
		/* The library logged the cause. */
		cli_err("%s: cannot open through VFIO: %s", bdf, strerror(-ret));
		vv_device_close(in.dev);
		return EXIT_FAIL;
	}
	if (json)
		print_json(&in);
	else
		print_text(&in);
	vv_device_close(in.dev);
	return EXIT_OK;
}
