// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild status [NAME[/VERSION]] [-k KERNEL]: DKMS's line grammar, or --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "core/state.h"
#include "base/util.h"

static void print_line(const struct kmb_entry *e)
{
	/* DKMS 2.8.6+ grammar (kmbuild(8), status); "failed" and the reasons are kmbuild's. */
	if (!e->kernel)
		printf("%s/%s: %s", e->name, e->version, kmb_state_name(e->state));
	else
		printf("%s/%s, %s, %s: %s", e->name, e->version, e->kernel, e->arch,
		       kmb_state_name(e->state));
	if (e->reason)
		printf(" (%s)", e->reason);
	putchar('\n');
}

static void print_json(const struct kmb_entry *v, size_t n)
{
	struct kmb_json j;
	kmb_json_init(&j, stdout);
	kmb_json_arr_begin(&j, NULL);
	for (size_t i = 0; i < n; i++) {
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "module", v[i].name);
		kmb_json_str(&j, "version", v[i].version);
		kmb_json_str(&j, "kernel", v[i].kernel);
		kmb_json_str(&j, "arch", v[i].arch);
		kmb_json_str(&j, "state", kmb_state_name(v[i].state));
		kmb_json_str(&j, "reason", v[i].reason);
		kmb_json_str(&j, "log", v[i].log);
		kmb_json_obj_end(&j);
	}
	kmb_json_arr_end(&j);
	kmb_json_finish(&j);
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_cli_parser p;
	char *name = NULL, *version = NULL;
	int c;

	kmb_cli_parser_init(&p, &kmb_cmd_status, KMB_OPT_KERNELS, NULL, NULL);
	if ((c = kmb_cli_next_opt(&p, argc, argv)) < 0)
		return p.exit;
	const char *kernel = kmb_cli_opts_kernel(&p.o);
	if (optind < argc - 1) {
		kmb_err("status takes at most one NAME[/VERSION]");
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	if (optind == argc - 1 && kmb_cli_split_nv(argv[optind], &name, &version) < 0) {
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	/* "-k K/arch": DKMS accepts it; the arch filter is applied below. */
	char *kname = kernel ? kmb_xstrdup(kernel) : NULL, *karch = NULL;
	kmb_cli_opts_free(&p.o);
	if (kname && (karch = strchr(kname, '/')))
		*karch++ = '\0';

	struct kmb_entry *v;
	size_t n, out = 0;
	kmb_state_list(ctx, name, version, kname, &v, &n);
	/* The kept entries move to the front in order; the others swap to the tail, where
	 * kmb_entries_free() still finds them. */
	for (size_t i = 0; i < n; i++) {
		if (karch && v[i].arch && strcmp(v[i].arch, karch) != 0)
			continue;
		struct kmb_entry keep = v[i];
		v[i] = v[out];
		v[out++] = keep;
	}
	if (ctx->json)
		print_json(v, out);
	else
		for (size_t i = 0; i < out; i++)
			print_line(&v[i]);
	kmb_entries_free(v, n);
	free(kname);
	free(name);
	free(version);
	return 0;
}

const struct kmb_cmd kmb_cmd_status = {
	.name = "status",
	.run = run,
	.usage = "status [NAME[/VERSION]] [-k KERNEL[/ARCH]] [--json]",
	.help = "one line per module/version/kernel/arch and its state",
};
