// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild add PATH|TARBALL|NAME/VERSION */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "registry.h"
#include "state.h"
#include "util.h"

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;

	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: kmbuild %s\n", kmb_cmd_add.usage);
			return 0;
		}
		return KMB_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		kmb_err("add takes one PATH, TARBALL or NAME/VERSION");
		return KMB_EXIT_USAGE;
	}
	const char *arg = argv[optind];
	char *path = kmb_xstrdup(arg);
	/* DKMS style "name/version": the source already sits in /usr/src/<name>-<version>. */
	if (!kmb_exists(arg) && strchr(arg, '/') && !strchr(strchr(arg, '/') + 1, '/')) {
		free(path);
		path = kmb_xasprintf("%s/%.*s-%s", ctx->src_dir, (int)(strchr(arg, '/') - arg), arg,
				     strchr(arg, '/') + 1);
		if (!kmb_exists(path)) {
			kmb_err("%s: no such file, directory or %s", arg, path);
			free(path);
			return KMB_EXIT_USAGE;
		}
	}
	int rc = kmb_lock_take(ctx);
	if (rc < 0) {
		kmb_err("cannot take the lock in %s", ctx->state_dir);
		free(path);
		return KMB_EXIT_LOCK;
	}
	char *name, *version, *reason;
	rc = kmb_registry_add(ctx, path, &name, &version, &reason);
	free(path);
	if (rc) {
		kmb_err("%s", reason ? reason : "add failed");
		free(reason);
		return rc;
	}
	if (ctx->json) {
		struct kmb_json j;
		kmb_json_init(&j, stdout);
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "module", name);
		kmb_json_str(&j, "version", version);
		kmb_json_str(&j, "state", "added");
		kmb_json_obj_end(&j);
		kmb_json_finish(&j);
	} else {
		kmb_info(ctx, "%s/%s: added", name, version);
	}
	free(name);
	free(version);
	return 0;
}

const struct kmb_cmd kmb_cmd_add = {"add", run, "add PATH|TARBALL|NAME/VERSION",
				    "register a module source (dkms.conf or kmbuild.conf)"};
