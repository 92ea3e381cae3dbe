// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild log NAME[/VERSION] -k KERNEL: print the build log of that build. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/state.h"
#include "base/util.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
					     {"path", no_argument, NULL, 'p'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *kernel = NULL;
	bool path_only = false;
	int c, rc;

	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		if (c == 'k') {
			kernel = optarg;
		} else if (c == 'p') {
			path_only = true;
		} else if (c == 'h') {
			printf("Usage: kmbuild %s\n", kmb_cmd_log.usage);
			return 0;
		} else {
			return KMB_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		kmb_err("usage: kmbuild %s", kmb_cmd_log.usage);
		return KMB_EXIT_USAGE;
	}
	char *name, *version;
	if ((rc = kmb_cli_resolve_nv(ctx, argv[optind], true, &name, &version)))
		return rc;
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
