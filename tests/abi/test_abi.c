// SPDX-License-Identifier: MIT
/* test_abi.c - every public function links against the shared library, with its declared type. */
#include <stdio.h>
#include <string.h>

#include <virtio-vfio/virtio-vfio.h>

int main(void)
{
	/* Taking each address forces the dynamic linker to resolve it from libvirtio-vfio.so. */
	const void *syms[] = {
		(const void *)vv_log_level_parse,  (const void *)vv_pci_is_transitional,
		(const void *)vv_pci_is_virtio,	   (const void *)vv_pci_virtio_type,
		(const void *)vv_set_log_fn,	   (const void *)vv_version,
		(const void *)vv_virtio_type_name,
	};

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!syms[i])
			return 1;
	printf("1..1\nok 1 - %zu symbols resolve, version %s\n", sizeof(syms) / sizeof(syms[0]),
	       vv_version());
	return 0;
}
