// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild build NAME[/VERSION] [-k K]... [--force] */
#include "build_install.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	return kmb_cli_build_install(ctx, argc, argv, false, &kmb_cmd_build);
}

const struct kmb_cmd kmb_cmd_build = {
	.name = "build",
	.run = run,
	.usage = "build NAME[/VERSION] [-k KERNEL[/ARCH]]... [--all-kernels] [--force]",
	.help = "build a module for kernels (in parallel)",
	.flags = KMB_CMD_LOCK,
};
