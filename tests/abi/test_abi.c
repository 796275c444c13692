// SPDX-License-Identifier: MIT
/*
 * test_abi.c - every public function links from the shared library with the type its header
 * declares: a changed signature fails the build, a function found anywhere else fails the run.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

#define LIB_NAME "libvirtio-vfio.so"

static unsigned checked, failed;

/*
 * The address must lie in the shared library, under the exported name: a copy of the code
 * linked into this program, or a dynamic symbol under another name, is not the ABI. (The
 * program is built as PIE so that taking an address goes through the GOT to the library's
 * own code instead of a PLT stub in this program.)
 */
static void check(const char *name, void (*fn)(void))
{
	Dl_info info;
	const char *file;
	bool ok;

	if (!dladdr((void *)fn, &info) || !info.dli_fname) {
		info.dli_fname = "?";
		info.dli_sname = NULL;
	}
	file = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
	ok = !strncmp(file, LIB_NAME, strlen(LIB_NAME)) && info.dli_sname &&
	     !strcmp(info.dli_sname, name);
	printf("%sok %u - %s in %s as %s\n", ok ? "" : "not ", ++checked, name, file,
	       info.dli_sname ? info.dli_sname : "no symbol");
	failed += !ok;
}

/*
 * A pointer declared with the function's prototype, set from the function. _Generic without a
 * default makes any other type a compile error in every build; a plain assignment between
 * incompatible function pointers is only a warning for GCC before 14 and clang before 16.
 */
#define ABI_FN(ret, name, params)                                             \
	do {                                                                  \
		ret(*const fn) params = _Generic(name, ret(*) params : name); \
		check(#name, (void (*)(void))fn);                             \
	} while (0)

int main(void)
{
	ABI_FN(uint64_t, vv_blk_capacity, (const struct vv_blk *));
	ABI_FN(void, vv_blk_close, (struct vv_blk *));
	ABI_FN(struct vv_device *, vv_blk_device, (struct vv_blk *));
	ABI_FN(int, vv_blk_flush, (struct vv_blk *));
	ABI_FN(int, vv_blk_get_id, (struct vv_blk *, char *));
	ABI_FN(const struct vv_blk_info *, vv_blk_get_info, (const struct vv_blk *));
	ABI_FN(int, vv_blk_kick, (struct vv_blk *, unsigned));
	ABI_FN(unsigned, vv_blk_num_queues, (const struct vv_blk *));
	ABI_FN(int, vv_blk_open, (const char *, unsigned, struct vv_blk **));
	ABI_FN(int, vv_blk_open_opts, (const char *, const struct vv_blk_opts *, struct vv_blk **));
	ABI_FN(int, vv_blk_poll, (struct vv_blk *, unsigned, unsigned));
	ABI_FN(int, vv_blk_queue_eventfd, (const struct vv_blk *, unsigned));
	ABI_FN(int, vv_blk_read, (struct vv_blk *, uint64_t, void *, size_t));
	ABI_FN(int, vv_blk_refresh, (struct vv_blk *, bool *));
	ABI_FN(int, vv_blk_set_mode, (struct vv_blk *, unsigned, enum vv_blk_mode, unsigned));
	ABI_FN(int, vv_blk_submit_discard,
	       (struct vv_blk *, unsigned, uint64_t, uint64_t, vv_blk_cb, void *));
	ABI_FN(int, vv_blk_submit_flush, (struct vv_blk *, unsigned, vv_blk_cb, void *));
	ABI_FN(int, vv_blk_submit_rw,
	       (struct vv_blk *, unsigned, bool, uint64_t, const struct vv_sg *, unsigned,
		vv_blk_cb, void *));
	ABI_FN(int, vv_blk_submit_write_zeroes,
	       (struct vv_blk *, unsigned, uint64_t, uint64_t, bool, vv_blk_cb, void *));
	ABI_FN(int, vv_blk_wait, (struct vv_blk *, unsigned, int));
	ABI_FN(int, vv_blk_write, (struct vv_blk *, uint64_t, const void *, size_t));
	ABI_FN(void, vv_device_abort, (struct vv_device *));
	ABI_FN(bool, vv_device_aborted, (const struct vv_device *));
	ABI_FN(const char *, vv_device_bdf, (const struct vv_device *));
	ABI_FN(void, vv_device_close, (struct vv_device *));
	ABI_FN(int, vv_device_config_eventfd, (const struct vv_device *));
	ABI_FN(int, vv_device_config_read, (struct vv_device *, unsigned, void *, size_t));
	ABI_FN(size_t, vv_device_config_size, (const struct vv_device *));
	ABI_FN(uint64_t, vv_device_features, (const struct vv_device *));
	ABI_FN(uint64_t, vv_device_features_offered, (struct vv_device *));
	ABI_FN(enum vv_irq_mode, vv_device_irq_mode, (const struct vv_device *));
	ABI_FN(bool, vv_device_needs_reset, (struct vv_device *));
	ABI_FN(int, vv_device_negotiate, (struct vv_device *, uint64_t, uint64_t *));
	ABI_FN(unsigned, vv_device_num_queues, (struct vv_device *));
	ABI_FN(int, vv_device_open, (const char *, struct vv_device **));
	ABI_FN(struct vv_vq *, vv_device_queue, (struct vv_device *, unsigned));
	ABI_FN(int, vv_device_queue_eventfd, (const struct vv_device *, unsigned));
	ABI_FN(int, vv_device_pci_layout, (const struct vv_device *, struct vv_pci_layout *));
	ABI_FN(unsigned, vv_device_queue_max_size, (struct vv_device *, unsigned));
	ABI_FN(int, vv_device_queue_reset,
	       (struct vv_device *, unsigned, void (*)(void *, void *), void *));
	ABI_FN(int, vv_device_removal_eventfd, (const struct vv_device *));
	ABI_FN(int, vv_device_setup_queues, (struct vv_device *, unsigned, const unsigned *));
	ABI_FN(int, vv_device_start, (struct vv_device *));
	ABI_FN(int, vv_device_type, (const struct vv_device *));
	ABI_FN(int, vv_dma_alloc, (struct vv_device *, size_t, struct vv_dma_buf *));
	ABI_FN(int, vv_dma_check_memlock, (struct vv_device *, size_t));
	ABI_FN(void, vv_dma_free, (struct vv_device *, struct vv_dma_buf *));
	ABI_FN(int, vv_dma_map,
	       (struct vv_device *, void *, size_t, unsigned, struct vv_dma_buf *));
	ABI_FN(int, vv_dma_register, (struct vv_device *, void *, size_t, struct vv_dma_buf *));
	ABI_FN(int, vv_log_level_parse, (const char *, enum vv_log_level *));
	ABI_FN(int, vv_net_buf_alloc, (struct vv_net *, unsigned, struct vv_net_buf **, unsigned));
	ABI_FN(void, vv_net_buf_free, (struct vv_net_buf *));
	ABI_FN(void, vv_net_buf_free_bulk, (struct vv_net_buf *const *, unsigned));
	ABI_FN(void, vv_net_close, (struct vv_net *));
	ABI_FN(int, vv_net_config_eventfd, (const struct vv_net *));
	ABI_FN(struct vv_device *, vv_net_device, (struct vv_net *));
	ABI_FN(const struct vv_net_info *, vv_net_get_info, (const struct vv_net *));
	ABI_FN(int, vv_net_get_stats, (struct vv_net *, unsigned, struct vv_net_stats *));
	ABI_FN(int, vv_net_set_rss, (struct vv_net *, const struct vv_net_rss *));
	ABI_FN(int, vv_net_get_offload_stats,
	       (struct vv_net *, unsigned, struct vv_net_offload_stats *));
	ABI_FN(uint64_t, vv_net_link_changes, (const struct vv_net *));
	ABI_FN(bool, vv_net_link_up, (const struct vv_net *));
	ABI_FN(int, vv_net_link_update, (struct vv_net *, bool *));
	ABI_FN(void, vv_net_mac, (struct vv_net *, uint8_t *));
	ABI_FN(unsigned, vv_net_mtu, (const struct vv_net *));
	ABI_FN(int, vv_net_open, (const char *, const struct vv_net_opts *, struct vv_net **));
	ABI_FN(unsigned, vv_net_queue_pairs, (const struct vv_net *));
	ABI_FN(int, vv_net_rx_burst, (struct vv_net *, unsigned, struct vv_net_buf **, unsigned));
	ABI_FN(void, vv_net_rx_disable_notify, (struct vv_net *, unsigned));
	ABI_FN(bool, vv_net_rx_enable_notify, (struct vv_net *, unsigned));
	ABI_FN(int, vv_net_rx_eventfd, (const struct vv_net *, unsigned));
	ABI_FN(int, vv_net_set_allmulti, (struct vv_net *, bool));
	ABI_FN(int, vv_net_set_mac, (struct vv_net *, const uint8_t *));
	ABI_FN(int, vv_net_set_mtu, (struct vv_net *, unsigned));
	ABI_FN(int, vv_net_set_promisc, (struct vv_net *, bool));
	ABI_FN(int, vv_net_set_queue_pairs, (struct vv_net *, unsigned));
	ABI_FN(int, vv_net_tx_burst, (struct vv_net *, unsigned, struct vv_net_buf **, unsigned));
	ABI_FN(void, vv_net_tx_disable_notify, (struct vv_net *, unsigned));
	ABI_FN(bool, vv_net_tx_enable_notify, (struct vv_net *, unsigned));
	ABI_FN(int, vv_net_tx_eventfd, (const struct vv_net *, unsigned));
	ABI_FN(int, vv_net_tx_reclaim, (struct vv_net *, unsigned));
	ABI_FN(bool, vv_pci_is_transitional, (uint16_t));
	ABI_FN(bool, vv_pci_is_virtio, (uint16_t, uint16_t));
	ABI_FN(int, vv_pci_virtio_type, (uint16_t, uint16_t, uint16_t));
	ABI_FN(void, vv_set_log_fn, (vv_log_fn, void *, enum vv_log_level));
	ABI_FN(const char *, vv_version, (void));
	ABI_FN(const char *, vv_virtio_type_name, (int));
	ABI_FN(int, vv_vq_add, (struct vv_vq *, const struct vv_sg *, unsigned, unsigned, void *));
	ABI_FN(int, vv_vq_add_many, (struct vv_vq *, const struct vv_vq_req *, unsigned));
	ABI_FN(void, vv_vq_break, (struct vv_vq *));
	ABI_FN(void, vv_vq_disable_cb, (struct vv_vq *));
	ABI_FN(bool, vv_vq_enable_cb, (struct vv_vq *));
	ABI_FN(unsigned, vv_vq_free_count, (const struct vv_vq *));
	ABI_FN(int, vv_vq_get, (struct vv_vq *, void **, uint32_t *));
	ABI_FN(int, vv_vq_get_many, (struct vv_vq *, void **, uint32_t *, unsigned));
	ABI_FN(unsigned, vv_vq_indirect_max, (const struct vv_vq *));
	ABI_FN(bool, vv_vq_is_broken, (const struct vv_vq *));
	ABI_FN(int, vv_vq_kick, (struct vv_vq *));
	ABI_FN(bool, vv_vq_kick_prepare, (struct vv_vq *));
	ABI_FN(uint64_t, vv_vq_len_clamped, (const struct vv_vq *));
	ABI_FN(void, vv_vq_notify, (struct vv_vq *));
	ABI_FN(void, vv_vq_set_len_check, (struct vv_vq *, enum vv_vq_len_check));
	ABI_FN(unsigned, vv_vq_size, (const struct vv_vq *));

	/* The headers' version is the library's, and VV_VERSION_CHECK() orders versions. */
	_Static_assert(VV_VERSION_CHECK(0, 1, 0), "0.1.0 or later");
	_Static_assert(VV_VERSION_CHECK(VV_VERSION_MAJOR, VV_VERSION_MINOR, VV_VERSION_PATCH),
		       "itself");
	_Static_assert(!VV_VERSION_CHECK(VV_VERSION_MAJOR, VV_VERSION_MINOR + 1, 0),
		       "not the next minor");
	_Static_assert(!VV_VERSION_CHECK(VV_VERSION_MAJOR + 1, 0, 0), "not the next major");
	failed += strcmp(vv_version(), VV_VERSION) != 0;
	printf("%sok %u - vv_version() %s is the headers' VV_VERSION %s\n",
	       strcmp(vv_version(), VV_VERSION) ? "not " : "", ++checked, vv_version(), VV_VERSION);
	printf("1..%u\n", checked);
	return failed ? 1 : 0;
}
