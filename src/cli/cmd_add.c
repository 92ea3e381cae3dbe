// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild add PATH|TARBALL|NAME/VERSION|TEMPLATE[@VERSION] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_template.h"
#include "cli.h"
#include "base/json.h"
#include "core/registry.h"
#include "core/state.h"
#include "base/util.h"

/* The source tree arg names: a path, or DKMS's "name/version" for /usr/src/<name>-<version>.
 * 0 or a kmb_exit code, message printed. */
static int source_path(const struct kmb_ctx *ctx, const char *arg, char **path)
{
	/* A template's own directory holds metadata, not a buildable tree. */
	char *tconf = kmb_xasprintf("%s/template.conf", arg);
	bool is_tdir = kmb_is_dir(arg) && kmb_exists(tconf);
	free(tconf);
	if (is_tdir) {
		const char *base =
			strrchr(arg, '/') && strrchr(arg, '/')[1] ? strrchr(arg, '/') + 1 : arg;
		kmb_err("%s is a template directory, not a source tree: use `kmbuild add %s` "
			"(with template_dir set if it is not in the catalogue)",
			arg, base);
		return KMB_EXIT_USAGE;
	}
	const char *slash = strchr(arg, '/');
	if (kmb_exists(arg) || !slash || strchr(slash + 1, '/')) {
		*path = kmb_xstrdup(arg);
		return 0;
	}
	*path = kmb_xasprintf("%s/%.*s-%s", ctx->src_dir, (int)(slash - arg), arg, slash + 1);
	if (!kmb_exists(*path)) {
		kmb_err("%s: no such file, directory or %s", arg, *path);
		free(*path);
		*path = NULL;
		return KMB_EXIT_USAGE;
	}
	return 0;
}

static int add_source(const struct kmb_ctx *ctx, const char *arg)
{
	char *path, *name, *version, *reason;
	int rc = source_path(ctx, arg, &path);

	if (rc)
		return rc;
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

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"source", required_argument, NULL, 's'},
					    {"sha256", required_argument, NULL, 'S'},
					    {"mirror", required_argument, NULL, 'm'},
					    {0}};
	struct kmb_cli_add_opts topts = {0};
	struct kmb_cli_parser p;
	int c;

	kmb_cli_parser_init(&p, &kmb_cmd_add, KMB_OPT_FORCE, NULL, own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0) {
		if (c == 's')
			topts.source = optarg;
		else if (c == 'S')
			topts.sha256 = optarg;
		else if (c == 'm')
			topts.mirror = optarg;
	}
	if (c < 0)
		return p.exit;
	topts.force = p.o.force; /* nothing to free: add takes no -k */
	if (optind != argc - 1) {
		kmb_err("add takes one PATH, TARBALL, NAME/VERSION or TEMPLATE[@VERSION]");
		return KMB_EXIT_USAGE;
	}
	const char *arg = argv[optind];
	/* A bare NAME that is not a path: a module from the template catalogue. */
	if (kmb_cli_is_template_ref(arg))
		return kmb_cli_add_template(ctx, arg, &topts);
	if (topts.source || topts.sha256 || topts.mirror || topts.force) {
		kmb_err("--source, --sha256, --mirror and --force apply to templates only");
		return KMB_EXIT_USAGE;
	}
	return add_source(ctx, arg);
}

const struct kmb_cmd kmb_cmd_add = {
	.name = "add",
	.run = run,
	.usage = "add PATH|TARBALL|NAME/VERSION | TEMPLATE[@VERSION] [--source URL|PATH [--sha256 "
		 "HEX]] "
		 "[--mirror URL] [--force]",
	.help = "register a module source (dkms.conf or kmbuild.conf), or a template by name",
	.flags = KMB_CMD_LOCK,
};
