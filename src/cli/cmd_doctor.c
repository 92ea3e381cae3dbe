// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild doctor [FILE.ko | --dmesg FILE | --journal] [-k KERNEL] [--json]. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "verify/doctor.h"
#include "base/util.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"dmesg", required_argument, NULL, 'd'},
					     {"journal", no_argument, NULL, 'j'},
					     {"kernel", required_argument, NULL, 'k'},
					     {"kernelver", required_argument, NULL, 'k'},
					     {"json", no_argument, NULL, 'J'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	struct kmb_doctor_opts o = {.json = ctx->json};
	int c, sources = 0;

	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "d:jk:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dmesg = optarg;
			sources++;
			break;
		case 'j':
			o.journal = true;
			sources++;
			break;
		case 'k':
			if (!kmb_is_safe_name(optarg)) {
				kmb_err("-k: '%s' is not a kernel release", optarg);
				return KMB_EXIT_USAGE;
			}
			o.kernel = optarg;
			break;
		case 'J':
			o.json = true;
			break;
		case 'h':
			printf("Usage: kmbuild %s\n%s\n", kmb_cmd_doctor.usage,
			       kmb_cmd_doctor.help);
			printf("Exit: 0 nothing wrong found, 1 problems explained.\n");
			return 0;
		default:
			return KMB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		o.file = argv[optind++];
		sources++;
	}
	if (optind < argc || sources != 1) {
		kmb_err("doctor takes exactly one of FILE.ko, --dmesg FILE, --journal");
		return KMB_EXIT_USAGE;
	}
	return kmb_doctor_run(ctx, &o);
}

const struct kmb_cmd kmb_cmd_doctor = {
	.name = "doctor",
	.run = run,
	.usage = "doctor [FILE.ko | --dmesg FILE | --journal] [-k KERNEL] [--json]",
	.help = "explain why a module did not load, with the fix",
};
