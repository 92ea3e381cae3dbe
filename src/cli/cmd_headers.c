// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild headers find|install|fetch [KERNEL]: locate or obtain a kernel's headers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kernel/headers.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "base/util.h"

static const char *origin_name(enum kmb_headers_origin o)
{
	return o == KMB_HEADERS_ROOT ? "root" : o == KMB_HEADERS_CACHE ? "cache" : "host";
}

#define USAGE "headers find|install|fetch [KERNEL] [OPTIONS]"

static const char help_text[] =
	"Usage: kmbuild " USAGE "\n"
	"  find [K]                  where the headers of K are and whether they are complete\n"
	"  install [K] [--dry-run]   apt-get install -y linux-headers-K (real system only)\n"
	"  fetch [K] [--mirror URL] [--suite S]... [--keyring FILE] [--component C]\n"
	"            [--arch A] [--deb|--rpm] [--force]\n"
	"                            download into <root>/var/cache/kmbuild/headers/K\n"
	"K defaults to the running kernel. Exit: 0 ok, 21 no headers / not in the repository,\n"
	"1 download, verification or package manager failure, 2 usage.\n";

/* The one optional KERNEL operand, else the running kernel. 0 or a kmb_exit code. */
static int release_arg(const char *action, int argc, char **argv, char **k)
{
	if (argc - optind > 1) {
		kmb_err("headers %s takes at most one kernel release", action);
		return KMB_EXIT_USAGE;
	}
	*k = optind < argc ? kmb_xstrdup(argv[optind]) : kmb_running_release();
	return 0;
}

/* install and fetch obey the headers policy: a broken one stops them. */
static int check_policy(const struct kmb_ctx *ctx)
{
	enum kmb_headers_policy pol;
	char err[1024] = "";

	if (kmb_headers_policy(ctx, &pol, err, sizeof(err)) < 0) {
		kmb_err("%s", err);
		return KMB_EXIT_BADCONF;
	}
	return 0;
}

static void print_report(const struct kmb_ctx *ctx, const struct kmb_headers_report *rep,
			 const char *dir)
{
	if (ctx->json) {
		struct kmb_json j;
		kmb_json_init(&j, stdout);
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "kernel", rep->release);
		kmb_json_str(&j, "headers", dir);
		kmb_json_bool(&j, "complete", dir != NULL);
		kmb_json_arr_begin(&j, "candidates");
		for (size_t i = 0; i < rep->n; i++) {
			const struct kmb_headers_cand *c = &rep->c[i];
			kmb_json_obj_begin(&j, NULL);
			kmb_json_str(&j, "layout", c->layout);
			kmb_json_str(&j, "origin", origin_name(c->origin));
			kmb_json_str(&j, "path", c->path);
			kmb_json_bool(&j, "exists", c->exists);
			kmb_json_str(&j, "symlink", c->target);
			kmb_json_bool(&j, "dangling", c->dangling);
			kmb_json_str(&j, "resolved", c->resolved);
			kmb_json_bool(&j, "makefile", c->makefile);
			kmb_json_bool(&j, "config", c->config);
			kmb_json_bool(&j, "module_symvers", c->symvers);
			kmb_json_bool(&j, "fixdep", c->fixdep);
			kmb_json_bool(&j, "modpost", c->modpost);
			kmb_json_bool(&j, "complete", c->complete);
			kmb_json_bool(&j, "best", (int)i == rep->best);
			kmb_json_obj_end(&j);
		}
		kmb_json_arr_end(&j);
		kmb_json_obj_end(&j);
		kmb_json_finish(&j);
		return;
	}
	printf("Headers for %s:\n", rep->release);
	for (size_t i = 0; i < rep->n; i++) {
		const struct kmb_headers_cand *c = &rep->c[i];
		if (!c->exists && ctx->verbosity < KMB_VERBOSE)
			continue;
		printf("  %s %-5s %-13s %s", (int)i == rep->best ? "*" : " ",
		       origin_name(c->origin), c->layout, c->path);
		if (c->target)
			printf(" -> %s", c->target);
		if (!c->exists) {
			printf("  (absent)\n");
		} else if (c->dangling) {
			printf("  DANGLING symlink\n");
		} else if (!c->resolved) {
			printf("  (unreadable)\n");
		} else if (c->complete) {
			printf("  complete\n");
		} else {
			char *miss = kmb_headers_missing(c);
			printf("  incomplete: missing %s\n", miss);
			free(miss);
		}
	}
	if (dir)
		printf("Using: %s\n", dir);
	else
		printf("No complete headers for %s (kmbuild headers fetch %s)\n", rep->release,
		       rep->release);
}

static int do_find(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_headers_report rep;
	char *k = NULL, *dir = NULL;
	int r;

	if ((r = release_arg("find", argc, argv, &k)))
		return r;
	if (!kmb_is_safe_name(k)) {
		kmb_err("'%s' is not a kernel release", k);
		free(k);
		return KMB_EXIT_USAGE;
	}
	r = kmb_headers_find(ctx, k, &dir, &rep);
	print_report(ctx, &rep, dir);
	kmb_headers_report_free(&rep);
	free(dir);
	free(k);
	return r == 0 ? KMB_EXIT_OK : KMB_EXIT_NOHEADERS;
}

static int exit_for(int r)
{
	if (r == 0)
		return KMB_EXIT_OK;
	if (r == -ENOENT)
		return KMB_EXIT_NOHEADERS;
	if (r == -EINVAL)
		return KMB_EXIT_USAGE;
	return KMB_EXIT_FAIL;
}

static int do_install(struct kmb_ctx *ctx, int argc, char **argv, bool dry_run)
{
	char err[1024] = "";
	char *k = NULL, *dir = NULL;
	int r;

	if ((r = release_arg("install", argc, argv, &k)) || (r = check_policy(ctx)))
		goto out;
	r = kmb_headers_install(ctx, k, dry_run, err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		r = r == -EINVAL ? KMB_EXIT_USAGE : KMB_EXIT_FAIL;
	} else if (dry_run) {
		printf("%s\n", err);
		r = KMB_EXIT_OK;
	} else if (kmb_headers_find(ctx, k, &dir, NULL) < 0) {
		kmb_err("the package manager finished but %s still has no complete headers", k);
		r = KMB_EXIT_NOHEADERS;
	} else {
		kmb_info(ctx, "Headers for %s: %s", k, dir);
		r = KMB_EXIT_OK;
	}
out:
	free(dir);
	free(k);
	return r;
}

static void print_fetched(const struct kmb_ctx *ctx, const char *k, const char *dir,
			  const char *note)
{
	if (ctx->json) {
		struct kmb_json j;
		kmb_json_init(&j, stdout);
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "kernel", k);
		kmb_json_str(&j, "headers", dir);
		kmb_json_str(&j, "note", note[0] ? note : NULL);
		kmb_json_obj_end(&j);
		kmb_json_finish(&j);
		return;
	}
	if (note[0])
		kmb_info(ctx, "Note: %s", note);
	kmb_info(ctx, "Headers for %s: %s", k, dir);
}

static int do_fetch(struct kmb_ctx *ctx, int argc, char **argv,
		    const struct kmb_headers_fetch_opts *o)
{
	char err[2048] = "", note[1024] = "";
	char *k = NULL, *dir = NULL;
	int r;

	if ((r = release_arg("fetch", argc, argv, &k)) || (r = check_policy(ctx)))
		goto out;
	r = kmb_headers_fetch(ctx, k, o, &dir, note, sizeof(note), err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		r = exit_for(r);
		goto out;
	}
	print_fetched(ctx, k, dir, note);
	r = KMB_EXIT_OK;
out:
	free(dir);
	free(k);
	return r;
}

/* The action's options; fetch's own are refused elsewhere. */
struct headers_args {
	struct kmb_headers_fetch_opts fo;
	struct kmb_strv suites;
	bool dry_run, fetch_opt;
};

/* false when the verb is done (--help, a bad option), with *exit_code set. */
static bool parse(int argc, char **argv, struct headers_args *a, int *exit_code)
{
	static const struct option own[] = {
		{"mirror", required_argument, NULL, 'm'},
		{"suite", required_argument, NULL, 's'},
		{"keyring", required_argument, NULL, 'K'},
		{"component", required_argument, NULL, 'c'},
		{"arch", required_argument, NULL, 'a'},
		{"deb", no_argument, NULL, 'D'},
		{"rpm", no_argument, NULL, 'R'},
		{"dry-run", no_argument, NULL, 'n'},
		{0},
	};
	struct kmb_cli_parser p;
	int c;

	kmb_cli_parser_init(&p, &kmb_cmd_headers, KMB_OPT_FORCE, NULL, own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0) {
		a->dry_run |= c == 'n';
		a->fetch_opt |= c != 'n';
		if (c == 's')
			kmb_strv_push(&a->suites, optarg);
		else if (c == 'm')
			a->fo.mirror = optarg;
		else if (c == 'K')
			a->fo.keyring = optarg;
		else if (c == 'c')
			a->fo.component = optarg;
		else if (c == 'a')
			a->fo.arch = optarg;
		else if (c == 'D' || c == 'R')
			a->fo.kind = c == 'D' ? KMB_REPO_DEB : KMB_REPO_RPM;
	}
	if (c < 0) {
		*exit_code = p.exit;
		return false;
	}
	a->fo.force = p.o.force;
	a->fetch_opt |= p.o.force;
	if (a->suites.n)
		a->fo.suites = (const char *const *)a->suites.v;
	kmb_cli_opts_free(&p.o);
	return true;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct headers_args a = {0};
	const char *sub;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(help_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? KMB_EXIT_USAGE : KMB_EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	if (!parse(argc, argv, &a, &rc)) {
		/* rc was set by parse() */
	} else if (a.fetch_opt && strcmp(sub, "fetch") != 0) {
		kmb_err("headers %s: --mirror/--suite/--keyring/--force belong to 'headers fetch'",
			sub);
		rc = KMB_EXIT_USAGE;
	} else if (a.dry_run && strcmp(sub, "install") != 0) {
		kmb_err("headers %s: --dry-run belongs to 'headers install'", sub);
		rc = KMB_EXIT_USAGE;
	} else if (!strcmp(sub, "find")) {
		rc = do_find(ctx, argc, argv);
	} else if (!strcmp(sub, "install")) {
		rc = do_install(ctx, argc, argv, a.dry_run);
	} else if (!strcmp(sub, "fetch")) {
		rc = do_fetch(ctx, argc, argv, &a.fo);
	} else {
		kmb_err("headers: unknown action '%s' (find, install, fetch)", sub);
		rc = KMB_EXIT_USAGE;
	}
	kmb_strv_free(&a.suites);
	return rc;
}

const struct kmb_cmd kmb_cmd_headers = {
	.name = "headers",
	.run = run,
	.usage = USAGE,
	.help = "find, install or download kernel headers",
	.help_text = help_text,
};
