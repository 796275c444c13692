// SPDX-License-Identifier: MIT
/* test_abi.c - every public function links against the shared library, with its declared type. */
#include <stdio.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

int main(void)
{
	/* Taking each address forces the dynamic linker to resolve it from libvirtio-vfio.so. */
	const void *syms[] = {
		(const void *)vv_blk_close,
		(const void *)vv_blk_device,
		(const void *)vv_blk_flush,
		(const void *)vv_blk_get_id,
		(const void *)vv_blk_get_info,
		(const void *)vv_blk_kick,
		(const void *)vv_blk_num_queues,
		(const void *)vv_blk_open,
		(const void *)vv_blk_poll,
		(const void *)vv_blk_queue_eventfd,
		(const void *)vv_blk_read,
		(const void *)vv_blk_refresh,
		(const void *)vv_blk_set_mode,
		(const void *)vv_blk_wait,
		(const void *)vv_blk_submit_discard,
		(const void *)vv_blk_submit_flush,
		(const void *)vv_blk_submit_rw,
		(const void *)vv_blk_submit_write_zeroes,
		(const void *)vv_blk_write,
		(const void *)vv_device_bdf,
		(const void *)vv_device_close,
		(const void *)vv_device_config_eventfd,
		(const void *)vv_device_config_read,
		(const void *)vv_device_config_size,
		(const void *)vv_device_features,
		(const void *)vv_device_features_offered,
		(const void *)vv_device_irq_mode,
		(const void *)vv_device_negotiate,
		(const void *)vv_device_num_queues,
		(const void *)vv_device_open,
		(const void *)vv_device_queue,
		(const void *)vv_device_queue_eventfd,
		(const void *)vv_device_queue_max_size,
		(const void *)vv_device_setup_queues,
		(const void *)vv_device_start,
		(const void *)vv_device_type,
		(const void *)vv_dma_alloc,
		(const void *)vv_dma_free,
		(const void *)vv_dma_register,
		(const void *)vv_log_level_parse,
		(const void *)vv_pci_is_transitional,
		(const void *)vv_pci_is_virtio,
		(const void *)vv_pci_virtio_type,
		(const void *)vv_set_log_fn,
		(const void *)vv_version,
		(const void *)vv_virtio_type_name,
		(const void *)vv_vq_add,
		(const void *)vv_vq_disable_cb,
		(const void *)vv_vq_enable_cb,
		(const void *)vv_vq_free_count,
		(const void *)vv_vq_get,
		(const void *)vv_vq_is_broken,
		(const void *)vv_vq_kick,
		(const void *)vv_vq_kick_prepare,
		(const void *)vv_vq_notify,
		(const void *)vv_vq_size,
	};

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!syms[i])
			return 1;
	printf("1..1\nok 1 - %zu symbols resolve, version %s\n", sizeof(syms) / sizeof(syms[0]),
	       vv_version());
	return 0;
}
