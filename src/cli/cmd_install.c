// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild install NAME[/VERSION] [-k K]... [--force] */
#include "build_install.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	return kmb_cli_build_install(ctx, argc, argv, true, &kmb_cmd_install);
}

const struct kmb_cmd kmb_cmd_install = {
	.name = "install",
	.run = run,
	.usage = "install NAME[/VERSION] [-k KERNEL[/ARCH]]... [--all-kernels] [--force] "
		 "[--no-depmod]",
	.help = "build if needed, then install into /lib/modules/KERNEL",
	.flags = KMB_CMD_LOCK,
};
