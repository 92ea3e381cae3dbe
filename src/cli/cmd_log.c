// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild log NAME[/VERSION] -k KERNEL: print the build log of that build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/state.h"
#include "base/util.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"path", no_argument, NULL, 'p'}, {0}};
	struct kmb_cli_parser p;
	bool path_only = false;
	int c, rc;

	kmb_cli_parser_init(&p, &kmb_cmd_log, KMB_OPT_RELEASES, NULL, own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		path_only |= c == 'p';
	if (c < 0)
		return p.exit;
	char *name = NULL, *version = NULL;
	const char *kernel = kmb_cli_opts_kernel(&p.o);
	if (optind != argc - 1) {
		kmb_err("usage: kmbuild %s", kmb_cmd_log.usage);
		rc = KMB_EXIT_USAGE;
		goto out;
	}
	if ((rc = kmb_cli_resolve_nv(ctx, argv[optind], true, &name, &version)))
		goto out;
	struct kmb_entry *v;
	size_t n;
	const struct kmb_entry *pick = NULL;
	kmb_state_list(ctx, name, version, kernel, &v, &n);
	for (size_t i = 0; i < n && !pick; i++)
		if (v[i].log)
			pick = &v[i];
	rc = 0;
	if (!pick) {
		kmb_err("no build log for %s/%s%s%s", name, version, kernel ? " on " : "",
			kernel ? kernel : "");
		rc = KMB_EXIT_NOTFOUND;
	} else if (path_only) {
		printf("%s\n", pick->log);
	} else {
		char *data;
		size_t len;
		char *failed = kmb_xasprintf("%s.failed", pick->log);
		/* After a failed rebuild the interesting log is the failed one. */
		const char *which = kmb_exists(failed) ? failed : pick->log;
		if (kmb_read_file(which, &data, &len) == 0) {
			fwrite(data, 1, len, stdout);
			free(data);
		}
		free(failed);
	}
	kmb_entries_free(v, n);
out:
	kmb_cli_opts_free(&p.o);
	free(name);
	free(version);
	return rc;
}

const struct kmb_cmd kmb_cmd_log = {
	.name = "log",
	.run = run,
	.usage = "log NAME[/VERSION] [-k KERNEL] [--path]",
	.help = "show the make.log of a build",
};
