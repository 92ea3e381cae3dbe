// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild verify [-k KERNEL]... [--all] [--json]: will the next boot load every module? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"
#include "verify/verify.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {
		{"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, 'J'}, {0}};
	struct kmb_verify_opts o = {.json = ctx->json, .jobs = ctx->jobs};
	struct kmb_cli_parser p;
	int c, rc;

	kmb_cli_parser_init(&p, &kmb_cmd_verify, KMB_OPT_RELEASES, "a", own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0) {
		o.all |= c == 'a';
		o.json |= c == 'J';
	}
	if (c < 0)
		return p.exit;
	if (optind < argc) {
		kmb_err("verify takes no argument '%s' (use -k KERNEL; kmbuild doctor FILE.ko "
			"explains one file)",
			argv[optind]);
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	o.kernels = p.o.kernels.n ? (const char *const *)p.o.kernels.v : NULL;
	rc = kmb_verify_run(ctx, &o);
	kmb_cli_opts_free(&p.o);
	return rc;
}

#define USAGE "verify [-k KERNEL]... [--all] [--json]"
#define HELP  "check that a kernel will load every module before rebooting into it"

const struct kmb_cmd kmb_cmd_verify = {
	.name = "verify",
	.run = run,
	.usage = USAGE,
	.help = HELP,
	.help_text = "Usage: kmbuild " USAGE "\n" HELP "\n"
		     "Exit: 0 ready, 1 warnings only, 2 something will fail at boot.\n",
};
