// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild verify [-k KERNEL]... [--all] [--json]: will the next boot load every module? */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"
#include "verify/verify.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
					     {"kernelver", required_argument, NULL, 'k'},
					     {"all", no_argument, NULL, 'a'},
					     {"json", no_argument, NULL, 'J'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	struct kmb_strv kernels = {0};
	struct kmb_verify_opts o = {.json = ctx->json, .jobs = ctx->jobs};
	int c, rc;

	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "k:ah", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (!kmb_is_safe_name(optarg)) {
				kmb_err("-k: '%s' is not a kernel release", optarg);
				kmb_strv_free(&kernels);
				return KMB_EXIT_USAGE;
			}
			kmb_strv_push(&kernels, optarg);
			break;
		case 'a':
			o.all = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'h':
			printf("Usage: kmbuild %s\n%s\n", kmb_cmd_verify.usage,
			       kmb_cmd_verify.help);
			printf("Exit: 0 ready, 1 warnings only, 2 something will fail at boot.\n");
			kmb_strv_free(&kernels);
			return 0;
		default:
			kmb_strv_free(&kernels);
			return KMB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		kmb_err("verify takes no argument '%s' (use -k KERNEL; kmbuild doctor FILE.ko "
			"explains one file)",
			argv[optind]);
		kmb_strv_free(&kernels);
		return KMB_EXIT_USAGE;
	}
	o.kernels = kernels.n ? (const char *const *)kernels.v : NULL;
	rc = kmb_verify_run(ctx, &o);
	kmb_strv_free(&kernels);
	return rc;
}

const struct kmb_cmd kmb_cmd_verify = {
	.name = "verify",
	.run = run,
	.usage = "verify [-k KERNEL]... [--all] [--json]",
	.help = "check that a kernel will load every module before rebooting into it",
};
