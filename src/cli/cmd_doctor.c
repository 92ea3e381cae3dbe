// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild doctor [FILE.ko | --dmesg FILE | --journal] [-k KERNEL] [--json]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "verify/doctor.h"
#include "base/util.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"dmesg", required_argument, NULL, 'd'},
					    {"journal", no_argument, NULL, 'j'},
					    {"json", no_argument, NULL, 'J'},
					    {0}};
	struct kmb_doctor_opts o = {.json = ctx->json};
	struct kmb_cli_parser p;
	int c, rc, sources = 0;

	kmb_cli_parser_init(&p, &kmb_cmd_doctor, KMB_OPT_RELEASES, "d:j", own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0) {
		if (c == 'd')
			o.dmesg = optarg;
		o.journal |= c == 'j';
		o.json |= c == 'J';
		sources += c == 'd' || c == 'j';
	}
	if (c < 0)
		return p.exit;
	if (optind < argc) {
		o.file = argv[optind++];
		sources++;
	}
	if (optind < argc || sources != 1) {
		kmb_err("doctor takes exactly one of FILE.ko, --dmesg FILE, --journal");
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	o.kernel = kmb_cli_opts_kernel(&p.o);
	rc = kmb_doctor_run(ctx, &o);
	kmb_cli_opts_free(&p.o);
	return rc;
}

#define USAGE "doctor [FILE.ko | --dmesg FILE | --journal] [-k KERNEL] [--json]"
#define HELP  "explain why a module did not load, with the fix"

const struct kmb_cmd kmb_cmd_doctor = {
	.name = "doctor",
	.run = run,
	.usage = USAGE,
	.help = HELP,
	.help_text = "Usage: kmbuild " USAGE "\n" HELP "\n"
		     "Exit: 0 nothing wrong found, 1 problems explained.\n",
};
