// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild sign: sign module files in place, many at once, one signer shared by the threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "sign/sign.h"
#include "base/util.h"
#include "signed.h"

#define USAGE "sign [--key KEY --cert CERT] [--hash H | -k KERNEL] [--sync] FILE.ko..."

static const char help_text[] =
	"Usage: kmbuild " USAGE "\n"
	"\n"
	"Sign kernel modules in place (.ko, .ko.xz, .ko.zst, .ko.gz), byte-identical to the\n"
	"kernel's sign-file. An existing signature is replaced, not stacked. Files are signed\n"
	"in parallel (-j N, default: number of CPUs), each written atomically.\n"
	"\n"
	"  --key KEY     private key: PEM/DER file or pkcs11: URI (passphrase: KBUILD_SIGN_PIN)\n"
	"  --cert CERT   X.509 certificate, DER or PEM\n"
	"                (without --key/--cert: kmbuild.conf sign_key/sign_cert, kmbuild's own\n"
	"                pair, /var/lib/shim-signed/mok/MOK.*, /var/lib/dkms/mok.*)\n"
	"  --hash H      sha256 (default), sha384, sha512, sha224, sha1, sha3-256/384/512\n"
	"  -k KERNEL     use KERNEL's CONFIG_MODULE_SIG_HASH\n"
	"  --sync        flush the new files to disk before they replace the old ones\n"
	"                (like sign-file, the default relies on the filesystem for that)\n"
	"\n"
	"Exit: 0 all signed; 1 some file failed (the others are signed) or the key is unusable;\n"
	"2 usage; 4 no key/certificate found.\n";

struct sign_args {
	const char *key, *cert, *hash, *kernel;
	bool sync;
	const char *const *files;
	size_t n;
};

static int check_args(const struct sign_args *a)
{
	if (a->n == 0) {
		kmb_err("sign: no module files given (kmbuild sign --help)");
		return KMB_EXIT_USAGE;
	}
	if (!a->key != !a->cert) {
		kmb_err("sign: --key and --cert go together");
		return KMB_EXIT_USAGE;
	}
	if (a->hash && a->kernel) {
		kmb_err("sign: --hash and -k are exclusive");
		return KMB_EXIT_USAGE;
	}
	if (a->hash && !kmb_sign_hash_supported(a->hash)) {
		kmb_err("sign: --hash %s: not a module signature hash (sha256, sha384, sha512, "
			"sha224, "
			"sha1, sha3-256, sha3-384, sha3-512)",
			a->hash);
		return KMB_EXIT_USAGE;
	}
	return 0;
}

/* The signer for --hash, or -k KERNEL's hash (k then owns it). 0 or a kmb_exit code. */
static int open_signer(const struct kmb_ctx *ctx, const struct sign_args *a, struct kmb_kernel **k,
		       struct kmb_signer **s)
{
	const char *hash = a->hash;
	char err[1024];
	int r;

	if (a->kernel) {
		r = kmb_kernel_open(ctx, a->kernel, k);
		if (r < 0) {
			kmb_err("sign: kernel %s: %s", a->kernel, strerror(-r));
			return KMB_EXIT_NOTFOUND;
		}
		r = kmb_sign_decide(*k, &hash, err, sizeof(err));
		if (r <= 0) {
			kmb_err("sign: %s: %s", a->kernel, err);
			return r == 0 ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
		}
	}
	r = kmb_signer_open(ctx, hash, a->key, a->cert, s, err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		return r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
	}
	return 0;
}

static void print_json(const struct kmb_signer *s, const struct kmb_cli_signed *res,
		       const char *const *files)
{
	struct kmb_json js;
	kmb_json_init(&js, stdout);
	kmb_json_obj_begin(&js, NULL);
	kmb_json_str(&js, "key", kmb_signer_key_path(s));
	kmb_json_str(&js, "cert", kmb_signer_cert_path(s));
	kmb_json_str(&js, "hash", kmb_signer_hash(s));
	kmb_cli_signed_json(&js, res, files, 0, res->n);
	kmb_json_obj_end(&js);
	kmb_json_finish(&js);
}

static int sign_files(const struct kmb_ctx *ctx, const struct sign_args *a)
{
	struct kmb_kernel *k = NULL;
	struct kmb_signer *s = NULL;
	struct kmb_cli_signed res;
	int rc = open_signer(ctx, a, &k, &s);

	if (rc) {
		kmb_kernel_free(k);
		return rc;
	}
	kmb_cli_signed_init(&res, a->n);
	kmb_sign_many(s, a->files, a->n, ctx->jobs, a->sync, res.rcs, res.errs);
	size_t failed = kmb_cli_signed_report(ctx, &res, a->files);
	if (ctx->json)
		print_json(s, &res, a->files);
	else
		kmb_info(ctx, "signed %zu of %zu module%s with %s (%s)", a->n - failed, a->n,
			 a->n == 1 ? "" : "s", kmb_signer_cert_path(s), kmb_signer_hash(s));
	kmb_cli_signed_free(&res);
	kmb_signer_free(s);
	kmb_kernel_free(k);
	return failed ? KMB_EXIT_FAIL : KMB_EXIT_OK;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"sync", no_argument, NULL, 'S'}, {0}};
	struct sign_args a = {0};
	struct kmb_cli_parser p;
	int c, rc;

	kmb_cli_parser_init(&p, &kmb_cmd_sign, KMB_OPT_RELEASES | KMB_OPT_KEYPAIR | KMB_OPT_HASH,
			    "+", own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		a.sync = true; /* --sync, the only own option */
	if (c < 0)
		return p.exit;
	a.key = p.o.key;
	a.cert = p.o.cert;
	a.hash = p.o.hash;
	a.kernel = kmb_cli_opts_kernel(&p.o);
	a.files = (const char *const *)argv + optind;
	a.n = (size_t)(argc - optind);
	rc = check_args(&a);
	if (rc == 0)
		rc = sign_files(ctx, &a);
	kmb_cli_opts_free(&p.o);
	return rc;
}

const struct kmb_cmd kmb_cmd_sign = {
	.name = "sign",
	.run = run,
	.usage = USAGE,
	.help = "sign module files in place (in parallel, byte-identical to sign-file)",
	.help_text = help_text,
};
