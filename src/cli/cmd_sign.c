// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild sign: sign module files in place, many at once, one signer shared by the threads. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "sign/sign.h"
#include "base/util.h"

static const char help_text[] =
	"Usage: kmbuild sign [--key KEY --cert CERT] [--hash H | -k KERNEL] [--sync] FILE.ko...\n"
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

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'K'},
		{"cert", required_argument, NULL, 'C'},
		{"hash", required_argument, NULL, 'H'},
		{"kernel", required_argument, NULL, 'k'},
		{"sync", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL, *cert = NULL, *hash = NULL, *kernel = NULL;
	struct kmb_kernel *k = NULL;
	struct kmb_signer *s = NULL;
	char err[1024];
	int c, r, ret = KMB_EXIT_OK;
	bool sync = false;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'K':
			key = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'H':
			hash = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'S':
			sync = true;
			break;
		case 'h':
			fputs(help_text, stdout);
			return KMB_EXIT_OK;
		default:
			fputs(help_text, stderr);
			return KMB_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		kmb_err("sign: no module files given (kmbuild sign --help)");
		return KMB_EXIT_USAGE;
	}
	if (!key != !cert) {
		kmb_err("sign: --key and --cert go together");
		return KMB_EXIT_USAGE;
	}
	if (hash && kernel) {
		kmb_err("sign: --hash and -k are exclusive");
		return KMB_EXIT_USAGE;
	}
	if (hash && !kmb_sign_hash_supported(hash)) {
		kmb_err("sign: --hash %s: not a module signature hash (sha256, sha384, sha512, "
			"sha224, "
			"sha1, sha3-256, sha3-384, sha3-512)",
			hash);
		return KMB_EXIT_USAGE;
	}
	if (kernel) {
		r = kmb_kernel_open(ctx, kernel, &k);
		if (r < 0) {
			kmb_err("sign: kernel %s: %s", kernel, strerror(-r));
			return KMB_EXIT_NOTFOUND;
		}
		r = kmb_sign_decide(k, &hash, err, sizeof(err));
		if (r <= 0) {
			kmb_err("sign: %s: %s", kernel, err);
			kmb_kernel_free(k);
			return r == 0 ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
		}
	}
	r = kmb_signer_open(ctx, hash, key, cert, &s, err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		kmb_kernel_free(k);
		return r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
	}

	const char *const *files = (const char *const *)argv + optind;
	size_t n = (size_t)(argc - optind), ok;
	int *rcs = kmb_xcalloc(n, sizeof(*rcs));
	char **errs = kmb_xcalloc(n, sizeof(*errs));

	ok = n - kmb_sign_many(s, files, n, ctx->jobs, sync, rcs, errs);
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] < 0) {
			kmb_err("%s", errs[i]);
			ret = KMB_EXIT_FAIL;
		} else {
			kmb_debug(ctx, "signed %s", files[i]);
		}
	}
	if (ctx->json) {
		struct kmb_json js;
		kmb_json_init(&js, stdout);
		kmb_json_obj_begin(&js, NULL);
		kmb_json_str(&js, "key", kmb_signer_key_path(s));
		kmb_json_str(&js, "cert", kmb_signer_cert_path(s));
		kmb_json_str(&js, "hash", kmb_signer_hash(s));
		kmb_json_arr_begin(&js, "files");
		for (size_t i = 0; i < n; i++) {
			kmb_json_obj_begin(&js, NULL);
			kmb_json_str(&js, "path", files[i]);
			kmb_json_bool(&js, "signed", rcs[i] == 0);
			kmb_json_str(&js, "error", errs[i]);
			kmb_json_obj_end(&js);
		}
		kmb_json_arr_end(&js);
		kmb_json_obj_end(&js);
		kmb_json_finish(&js);
	} else {
		kmb_info(ctx, "signed %zu of %zu module%s with %s (%s)", ok, n, n == 1 ? "" : "s",
			 kmb_signer_cert_path(s), kmb_signer_hash(s));
	}
	for (size_t i = 0; i < n; i++)
		free(errs[i]);
	free(errs);
	free(rcs);
	kmb_signer_free(s);
	kmb_kernel_free(k);
	return ret;
}

const struct kmb_cmd kmb_cmd_sign = {
	.name = "sign",
	.run = run,
	.usage = "sign [--key KEY --cert CERT] [--hash H | -k KERNEL] [--sync] FILE.ko...",
	.help = "sign module files in place (in parallel, byte-identical to sign-file)",
};
