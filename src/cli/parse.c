// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The getopt loop of every verb: the options several verbs share (-k, -f, -A, --key, --cert,
 * --hash) and --help are handled here once; each verb's own options are handed back to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"

/* The long-only shared options: values no short letter has. */
enum { OPT_KEY = 256, OPT_CERT, OPT_HASH };

static const struct shared_opt {
	unsigned mask; /* which KMB_OPT_* bring it; 0: every verb has it */
	struct option opt;
	const char *letter; /* short form, or NULL */
} shared_opts[] = {
	{KMB_OPT_KERNELS | KMB_OPT_RELEASES, {"kernel", required_argument, NULL, 'k'}, "k:"},
	{KMB_OPT_KERNELS | KMB_OPT_RELEASES, {"kernelver", required_argument, NULL, 'k'}, NULL},
	{KMB_OPT_FORCE, {"force", no_argument, NULL, 'f'}, "f"},
	{KMB_OPT_ALL_KERNELS, {"all-kernels", no_argument, NULL, 'A'}, "A"},
	{KMB_OPT_KEYPAIR, {"key", required_argument, NULL, OPT_KEY}, NULL},
	{KMB_OPT_KEYPAIR, {"cert", required_argument, NULL, OPT_CERT}, NULL},
	{KMB_OPT_HASH, {"hash", required_argument, NULL, OPT_HASH}, NULL},
	{0, {"help", no_argument, NULL, 'h'}, "h"},
};

void kmb_cli_help(const struct kmb_cmd *cmd, FILE *f)
{
	if (cmd->help_text)
		fputs(cmd->help_text, f);
	else
		fprintf(f, "Usage: kmbuild %s\n", cmd->usage);
}

/* A verb's tables outgrowing the parser's are a programming error, caught before it writes. */
static void add_letters(struct kmb_cli_parser *p, const char *s)
{
	if (strlen(p->letters) + strlen(s) >= sizeof(p->letters))
		abort();
	strcat(p->letters, s);
}

void kmb_cli_parser_init(struct kmb_cli_parser *p, const struct kmb_cmd *cmd, unsigned shared,
			 const char *letters, const struct option *own)
{
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->shared = shared;
	letters = letters ? letters : "";
	/* A leading '+' (stop at the first operand) must lead the whole string. */
	if (*letters == '+')
		add_letters(p, "+");
	for (size_t i = 0; i < KMB_ARRAY_SIZE(shared_opts); i++) {
		if (shared_opts[i].mask && !(shared_opts[i].mask & shared))
			continue;
		p->longopts[n++] = shared_opts[i].opt;
		if (shared_opts[i].letter)
			add_letters(p, shared_opts[i].letter);
	}
	add_letters(p, letters + (*letters == '+'));
	for (; own && own->name; own++) {
		/* The shared letters mean the same in every verb (programming error). */
		if (strchr("kfAh", own->val) || own->val > 255 ||
		    n + 1 >= KMB_ARRAY_SIZE(p->longopts))
			abort();
		p->longopts[n++] = *own;
	}
	optind = 0; /* GNU: 0 re-initialises the scanner */
	opterr = 1;
}

/* K, or with KMB_OPT_KERNELS K/ARCH: each part a name, never a path. */
static bool kernel_arg_ok(const char *arg, bool arch_allowed)
{
	const char *slash = strchr(arg, '/');
	if (!slash)
		return kmb_is_safe_name(arg);
	if (!arch_allowed)
		return false;
	char *rel = kmb_xstrndup(arg, (size_t)(slash - arg));
	bool ok = kmb_is_safe_name(rel) && (!slash[1] || kmb_is_safe_name(slash + 1));
	free(rel);
	return ok;
}

static int stop(struct kmb_cli_parser *p, int exit_code)
{
	kmb_cli_opts_free(&p->o);
	p->exit = exit_code;
	return -1;
}

int kmb_cli_next_opt(struct kmb_cli_parser *p, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, p->letters, p->longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (!kernel_arg_ok(optarg, p->shared & KMB_OPT_KERNELS)) {
				kmb_err("-k '%s' is not a kernel release", optarg);
				return stop(p, KMB_EXIT_USAGE);
			}
			kmb_strv_push(&p->o.kernels, optarg);
			break;
		case 'f':
			p->o.force = true;
			break;
		case 'A':
			p->o.all_kernels = true;
			break;
		case OPT_KEY:
			p->o.key = optarg;
			break;
		case OPT_CERT:
			p->o.cert = optarg;
			break;
		case OPT_HASH:
			p->o.hash = optarg;
			break;
		case 'h':
			kmb_cli_help(p->cmd, stdout);
			return stop(p, KMB_EXIT_OK);
		case '?':
			/* getopt said what was wrong; the full help says what is right. */
			if (p->cmd->help_text)
				fputs(p->cmd->help_text, stderr);
			return stop(p, KMB_EXIT_USAGE);
		default:
			return c;
		}
	}
	return 0;
}

const char *kmb_cli_opts_kernel(const struct kmb_cli_opts *o)
{
	return o->kernels.n ? o->kernels.v[o->kernels.n - 1] : NULL;
}

void kmb_cli_opts_free(struct kmb_cli_opts *o)
{
	kmb_strv_free(&o->kernels);
}
