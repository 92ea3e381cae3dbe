// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild kernels: what kmbuild can build for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "base/util.h"

static const char *compress_name(enum kmb_compress c)
{
	return c == KMB_COMPRESS_NONE ? "none" : kmb_compress_suffix(c) + 1;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_kernel **v;
	size_t n;
	struct kmb_json j;

	struct kmb_cli_parser p;

	kmb_cli_parser_init(&p, &kmb_cmd_kernels, 0, NULL, NULL);
	if (kmb_cli_next_opt(&p, argc, argv) < 0)
		return p.exit;
	if (optind < argc) {
		kmb_err("kernels takes no arguments");
		return KMB_EXIT_USAGE;
	}
	kmb_kernel_list(ctx, &v, &n);
	char *running = kmb_running_release();
	if (ctx->json) {
		kmb_json_init(&j, stdout);
		kmb_json_arr_begin(&j, NULL);
	} else {
		printf("%-24s %-8s %-9s %-7s %-8s %-5s %s\n", "KERNEL", "ARCH", "INSTALLED",
		       "SIGHASH", "COMPRESS", "CC", "HEADERS");
	}
	for (size_t i = 0; i < n; i++) {
		struct kmb_kernel *k = v[i];
		const char *hash = kmb_kernel_config(k, "CONFIG_MODULE_SIG_HASH");
		const char *cc = kmb_kernel_config(k, "CONFIG_CC_VERSION_TEXT");
		/* The compiler the kernel was built with must be on PATH to build for it. */
		char *ccword = NULL;
		bool cc_ok = kmb_kernel_compiler(k, &ccword);
		if (ctx->json) {
			kmb_json_obj_begin(&j, NULL);
			kmb_json_str(&j, "kernel", k->release);
			kmb_json_str(&j, "arch", k->arch);
			kmb_json_bool(&j, "installed", k->installed);
			kmb_json_bool(&j, "running", !strcmp(k->release, running));
			kmb_json_str(&j, "headers", k->headers_dir);
			kmb_json_str(&j, "sig_hash", hash);
			kmb_json_str(&j, "compression", compress_name(kmb_kernel_compression(k)));
			kmb_json_str(&j, "compiler", cc);
			kmb_json_bool(&j, "compiler_present", cc_ok);
			kmb_json_obj_end(&j);
		} else {
			printf("%-24s %-8s %-9s %-7s %-8s %-5s %s\n", k->release, k->arch,
			       k->installed ? "yes" : "no", hash ? hash : "-",
			       compress_name(kmb_kernel_compression(k)),
			       !ccword ? "-"
			       : cc_ok ? "ok"
				       : "MISSING",
			       k->headers_dir ? k->headers_dir : "(none)");
			if (ccword && !cc_ok)
				kmb_warn("%s was built with %s, which is not installed", k->release,
					 ccword);
		}
		free(ccword);
	}
	if (ctx->json) {
		kmb_json_arr_end(&j);
		kmb_json_finish(&j);
	}
	free(running);
	kmb_kernel_list_free(v, n);
	return 0;
}

const struct kmb_cmd kmb_cmd_kernels = {
	.name = "kernels",
	.run = run,
	.usage = "kernels [--json]",
	.help = "list kernels: headers, arch, signing hash, compression",
};
