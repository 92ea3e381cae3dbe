// SPDX-License-Identifier: GPL-2.0-or-later
/* An initramfs image (cpio, concatenated and compressed segments) as verify reads it. */
#include "initramfs/initramfs_read.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("initrd.img", data, size);
	static const char *const names[] = {"usr/lib/modules/6.1.0-57-amd64/modules.dep", "init"};
	struct kmb_initramfs *ir = NULL;
	unsigned char *out = NULL;
	char *err = NULL;
	size_t len;

	if (kmb_initramfs_open(path, &ir, &err) == 0) {
		kmb_initramfs_find(ir, names[0]);
		if (kmb_initramfs_read(ir, names[1], &out, &len, &err) == 0)
			free(out);
		kmb_initramfs_free(ir);
	}
	free(err);
	return 0;
}
