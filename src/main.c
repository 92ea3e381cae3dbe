// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild entry point: global options, then a verb from the command table. The binary also
 * answers to other names (argv[0]), the way kmod's tools do: `dkms` will be kmbuild itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/kmb.h"
#include "base/util.h"

#define KMB_CMD_PTR(n) &kmb_cmd_##n,
static const struct kmb_cmd *const commands[] = {KMB_CMD_LIST(KMB_CMD_PTR)};
#undef KMB_CMD_PTR

static void usage(FILE *f)
{
	fprintf(f, "Usage: kmbuild [--root DIR] [-j N] [-v|-q] [--json] VERB [ARGS]\n\nVerbs:\n");
	for (size_t i = 0; i < KMB_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->help);
	fprintf(f, "\nkmbuild VERB --help shows a verb's options. See kmbuild(8).\n");
}

static const struct kmb_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < KMB_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/*
 * Global options may stand before or after the verb; they are removed from argv so that
 * each verb parses only its own. Returns the new argc or -1 on a usage error.
 */
static int take_global_opts(struct kmb_ctx *ctx, int argc, char **argv, const char **root)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(a, "--root") == 0 || strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
			if (i + 1 >= argc) {
				kmb_err("option %s needs a value", a);
				return -1;
			}
			val = argv[++i];
		} else if (kmb_startswith(a, "--root=") || kmb_startswith(a, "--jobs=")) {
			val = strchr(a, '=') + 1;
		} else if (kmb_startswith(a, "-j") && a[2]) {
			val = a + 2;
		}
		if (val) {
			if (a[2] == 'r') {
				*root = val;
			} else {
				char *end;
				long n = strtol(val, &end, 10);
				if (*end || n < 1 || n > 1024) {
					kmb_err("-j: '%s' is not a number of jobs (1..1024)", val);
					return -1;
				}
				ctx->jobs = (int)n;
			}
			continue;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			ctx->verbosity = KMB_VERBOSE;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			ctx->verbosity = KMB_QUIET;
		else if (strcmp(a, "--json") == 0)
			ctx->json = true;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/* "kmbuild VERB --help" needs no setup: it answers even where the lock cannot be taken. */
static bool only_help(int argc, char **argv)
{
	return argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
}

/* The setup the command table asks for, then the verb. */
static int run_cmd(const struct kmb_cmd *cmd, struct kmb_ctx *ctx, int argc, char **argv)
{
	int rc;

	if (!only_help(argc, argv) && (cmd->flags & KMB_CMD_LOCK) && (rc = kmb_cli_lock(ctx)))
		return rc;
	return cmd->run(ctx, argc, argv);
}

int main(int argc, char **argv)
{
	struct kmb_ctx ctx;
	const char *root = getenv("KMBUILD_ROOT");
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int rc;

	/* Later the dkms personality is chosen here; until then every name is kmbuild. */
	(void)prog;
	memset(&ctx, 0, sizeof(ctx));
	ctx.jobs = 0;
	ctx.verbosity = KMB_NORMAL;
	argc = take_global_opts(&ctx, argc, argv, &root);
	if (argc < 0)
		return KMB_EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return KMB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("kmbuild %s\n", KMB_VERSION);
		return 0;
	}
	const struct kmb_cmd *cmd = find_cmd(argv[1]);
	if (!cmd) {
		kmb_err("unknown verb '%s' (kmbuild --help lists them)", argv[1]);
		return KMB_EXIT_USAGE;
	}
	int jobs = ctx.jobs;
	enum kmb_verbosity verb = ctx.verbosity;
	bool json = ctx.json;
	rc = kmb_ctx_init(&ctx, root);
	if (rc < 0) {
		kmb_err("--root '%s': %s", root ? root : "", strerror(-rc));
		return KMB_EXIT_USAGE;
	}
	if (jobs)
		ctx.jobs = jobs;
	ctx.verbosity = verb;
	ctx.json = json;
	rc = run_cmd(cmd, &ctx, argc - 1, argv + 1);
	kmb_ctx_free(&ctx);
	return rc;
}
