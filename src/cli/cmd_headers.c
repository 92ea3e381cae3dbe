// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild headers find|install|fetch [KERNEL]: locate or obtain a kernel's headers. */
#include <errno.h>
#include <getopt.h>
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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmbuild %s\n"
		"  find [K]                  where the headers of K are and whether they are "
		"complete\n"
		"  install [K] [--dry-run]   apt-get install -y linux-headers-K (real system "
		"only)\n"
		"  fetch [K] [--mirror URL] [--suite S]... [--keyring FILE] [--component C]\n"
		"            [--arch A] [--deb|--rpm] [--force]\n"
		"                            download into <root>/var/cache/kmbuild/headers/K\n"
		"K defaults to the running kernel. Exit: 0 ok, 21 no headers / not in the "
		"repository,\n"
		"1 download, verification or package manager failure, 2 usage.\n",
		kmb_cmd_headers.usage);
}

static char *release_arg(int argc, char **argv, int optind_)
{
	if (optind_ < argc)
		return kmb_xstrdup(argv[optind_]);
	return kmb_running_release();
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
	char *k, *dir = NULL;
	int r;

	if (argc - optind > 1) {
		kmb_err("headers find takes at most one kernel release");
		return KMB_EXIT_USAGE;
	}
	k = release_arg(argc, argv, optind);
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
	char *k, *dir = NULL;
	int r;

	if (argc - optind > 1) {
		kmb_err("headers install takes at most one kernel release");
		return KMB_EXIT_USAGE;
	}
	enum kmb_headers_policy pol;
	if (kmb_headers_policy(ctx, &pol, err, sizeof(err)) < 0) {
		kmb_err("%s", err);
		return KMB_EXIT_BADCONF;
	}
	k = release_arg(argc, argv, optind);
	r = kmb_headers_install(ctx, k, dry_run, err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		free(k);
		return r == -EINVAL ? KMB_EXIT_USAGE : KMB_EXIT_FAIL;
	}
	if (dry_run) {
		printf("%s\n", err);
		free(k);
		return KMB_EXIT_OK;
	}
	if (kmb_headers_find(ctx, k, &dir, NULL) < 0) {
		kmb_err("the package manager finished but %s still has no complete headers", k);
		free(k);
		return KMB_EXIT_NOHEADERS;
	}
	kmb_info(ctx, "Headers for %s: %s", k, dir);
	free(dir);
	free(k);
	return KMB_EXIT_OK;
}

static int do_fetch(struct kmb_ctx *ctx, int argc, char **argv,
		    const struct kmb_headers_fetch_opts *o)
{
	char err[2048] = "", note[1024] = "";
	char *k, *dir = NULL;
	int r;

	if (argc - optind > 1) {
		kmb_err("headers fetch takes at most one kernel release");
		return KMB_EXIT_USAGE;
	}
	enum kmb_headers_policy pol;
	if (kmb_headers_policy(ctx, &pol, err, sizeof(err)) < 0) {
		kmb_err("%s", err);
		return KMB_EXIT_BADCONF;
	}
	k = release_arg(argc, argv, optind);
	r = kmb_headers_fetch(ctx, k, o, &dir, note, sizeof(note), err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		free(k);
		return exit_for(r);
	}
	if (ctx->json) {
		struct kmb_json j;
		kmb_json_init(&j, stdout);
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "kernel", k);
		kmb_json_str(&j, "headers", dir);
		kmb_json_str(&j, "note", note[0] ? note : NULL);
		kmb_json_obj_end(&j);
		kmb_json_finish(&j);
	} else {
		if (note[0])
			kmb_info(ctx, "Note: %s", note);
		kmb_info(ctx, "Headers for %s: %s", k, dir);
	}
	free(dir);
	free(k);
	return KMB_EXIT_OK;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mirror", required_argument, NULL, 'm'},
		{"suite", required_argument, NULL, 's'},
		{"keyring", required_argument, NULL, 'k'},
		{"component", required_argument, NULL, 'c'},
		{"arch", required_argument, NULL, 'a'},
		{"deb", no_argument, NULL, 'D'},
		{"rpm", no_argument, NULL, 'R'},
		{"force", no_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kmb_headers_fetch_opts fo = {0};
	struct kmb_strv suites = {0};
	bool dry_run = false, fetch_opt = false;
	const char *sub;
	int c, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? KMB_EXIT_USAGE : KMB_EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			fo.mirror = optarg;
			fetch_opt = true;
			break;
		case 's':
			kmb_strv_push(&suites, optarg);
			fetch_opt = true;
			break;
		case 'k':
			fo.keyring = optarg;
			fetch_opt = true;
			break;
		case 'c':
			fo.component = optarg;
			fetch_opt = true;
			break;
		case 'a':
			fo.arch = optarg;
			fetch_opt = true;
			break;
		case 'D':
			fo.kind = KMB_REPO_DEB;
			fetch_opt = true;
			break;
		case 'R':
			fo.kind = KMB_REPO_RPM;
			fetch_opt = true;
			break;
		case 'f':
			fo.force = true;
			fetch_opt = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'h':
			usage(stdout);
			kmb_strv_free(&suites);
			return KMB_EXIT_OK;
		default:
			kmb_strv_free(&suites);
			return KMB_EXIT_USAGE;
		}
	}
	if (suites.n)
		fo.suites = (const char *const *)suites.v;
	if (fetch_opt && strcmp(sub, "fetch") != 0) {
		kmb_err("headers %s: --mirror/--suite/--keyring/--force belong to 'headers fetch'",
			sub);
		rc = KMB_EXIT_USAGE;
	} else if (dry_run && strcmp(sub, "install") != 0) {
		kmb_err("headers %s: --dry-run belongs to 'headers install'", sub);
		rc = KMB_EXIT_USAGE;
	} else if (!strcmp(sub, "find")) {
		rc = do_find(ctx, argc, argv);
	} else if (!strcmp(sub, "install")) {
		rc = do_install(ctx, argc, argv, dry_run);
	} else if (!strcmp(sub, "fetch")) {
		rc = do_fetch(ctx, argc, argv, &fo);
	} else {
		kmb_err("headers: unknown action '%s' (find, install, fetch)", sub);
		rc = KMB_EXIT_USAGE;
	}
	kmb_strv_free(&suites);
	return rc;
}

const struct kmb_cmd kmb_cmd_headers = {
	.name = "headers",
	.run = run,
	.usage = "headers find|install|fetch [KERNEL] [OPTIONS]",
	.help = "find, install or download kernel headers",
};
