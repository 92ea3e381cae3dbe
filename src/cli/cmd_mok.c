// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild mok generate|status|enroll: the signing key pair and its Secure Boot standing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "sign/efivars.h"
#include "base/json.h"
#include "sign/mok.h"
#include "base/util.h"

static const char help_text[] =
	"Usage: kmbuild mok generate [--force] [--cert-only] [--key F --cert F] [--bits N]\n"
	"                            [--days N] [--cn NAME]\n"
	"       kmbuild mok status [--json] [--key F --cert F]\n"
	"       kmbuild mok enroll [--cert F]\n"
	"\n"
	"generate  RSA key (0600 PEM) + self-signed X.509 (DER) for MOK enrolment, by default\n"
	"          /var/lib/kmbuild/mok/kmbuild.key and kmbuild.der. Refuses to replace an\n"
	"          existing pair without --force; --cert-only makes a new certificate for the\n"
	"          existing key (an enrolled key stays valid).\n"
	"status    Secure Boot state, the key pair discovery picked and why, and whether its\n"
	"          certificate is enrolled (MokListRT), pending (MokNew) or trusted\n"
	"          (MokListTrustedRT).\n"
	"enroll    mokutil --import of the certificate, and what to do at the next boot.\n"
	"\n"
	"Exit: 0 ok; 1 failure; 2 usage; 3 generate: pair exists (use --force);\n"
	"4 key or certificate not found.\n";

struct mok_opts {
	const char *key, *cert, *cn;
	int bits, days;
	bool force, cert_only;
};

/* 0, or the verb's exit code (after --help, 0) with the message printed. */
static int parse(int argc, char **argv, struct mok_opts *o)
{
	static const struct option own[] = {
		{"bits", required_argument, NULL, 'b'},
		{"days", required_argument, NULL, 'd'},
		{"cn", required_argument, NULL, 'n'},
		{"cert-only", no_argument, NULL, 'c'},
		{0},
	};
	struct kmb_cli_parser p;
	int c;

	memset(o, 0, sizeof(*o));
	kmb_cli_parser_init(&p, &kmb_cmd_mok, KMB_OPT_FORCE | KMB_OPT_KEYPAIR, "+", own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0) {
		switch (c) {
		case 'n':
			o->cn = optarg;
			break;
		case 'b':
		case 'd': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0 || v > 100000) {
				kmb_err("mok: --%s '%s' is not a positive number",
					c == 'b' ? "bits" : "days", optarg);
				kmb_cli_opts_free(&p.o);
				return KMB_EXIT_USAGE;
			}
			*(c == 'b' ? &o->bits : &o->days) = (int)v;
			break;
		}
		case 'c':
			o->cert_only = true;
			break;
		}
	}
	if (c < 0)
		return p.exit;
	o->force = p.o.force;
	o->key = p.o.key;
	o->cert = p.o.cert;
	kmb_cli_opts_free(&p.o);
	if (optind < argc) {
		kmb_err("mok: unexpected argument '%s'", argv[optind]);
		return KMB_EXIT_USAGE;
	}
	return 0;
}

static int exit_for(int r)
{
	switch (r) {
	case -ENOENT:
		return KMB_EXIT_NOTFOUND;
	case -EEXIST:
		return KMB_EXIT_EXISTS;
	default:
		return KMB_EXIT_FAIL;
	}
}

static void print_cert(const struct kmb_cert_info *ci)
{
	printf("  subject:     %s\n", ci->subject);
	printf("  serial:      %s\n", ci->serial);
	printf("  key:         %s\n", ci->key_desc);
	printf("  valid:       %s to %s%s\n", ci->not_before, ci->not_after,
	       ci->expired	   ? " (EXPIRED)"
	       : ci->not_yet_valid ? " (not yet valid)"
				   : "");
	printf("  SHA-1:       %s\n", ci->sha1);
	printf("  SHA-256:     %s\n", ci->sha256);
	if (!ci->eku_codesign || !ci->eku_modsign)
		printf("  note:        extendedKeyUsage lacks %s%s%s\n",
		       ci->eku_codesign ? "" : "codeSigning",
		       !ci->eku_codesign && !ci->eku_modsign ? " and " : "",
		       ci->eku_modsign ? "" : "1.3.6.1.4.1.2312.16.1.2 (module signing)");
}

static int cmd_generate(struct kmb_ctx *ctx, const struct mok_opts *o)
{
	struct kmb_mok_gen g = {.key_path = o->key,
				.cert_path = o->cert,
				.bits = o->bits,
				.days = o->days,
				.force = o->force,
				.cert_only = o->cert_only,
				.cn = o->cn};
	char *key, *cert, err[1024];
	X509 *x;
	int r;

	if (!o->key != !o->cert) {
		kmb_err("mok generate: --key and --cert go together");
		return KMB_EXIT_USAGE;
	}
	if (o->bits && o->bits != 2048 && o->bits != 3072 && o->bits != 4096) {
		kmb_err("mok generate: --bits %d: use 2048, 3072 or 4096", o->bits);
		return KMB_EXIT_USAGE;
	}
	r = kmb_mok_generate(ctx, &g, &key, &cert, err, sizeof(err));
	if (r < 0) {
		kmb_err("%s", err);
		return exit_for(r);
	}
	if (ctx->verbosity > KMB_QUIET && kmb_cert_load(cert, &x, err, sizeof(err)) == 0) {
		struct kmb_cert_info ci;
		kmb_cert_describe(x, &ci);
		X509_free(x);
		if (o->cert_only)
			printf("new certificate %s for the existing key %s\n", cert, key);
		else
			printf("generated key %s (mode 0600) and certificate %s\n", key, cert);
		print_cert(&ci);
		if (!o->key)
			printf("next: `kmbuild mok enroll` to have the firmware trust it\n");
		else
			printf("next: set sign_key = %s and sign_cert = %s in kmbuild.conf, then "
			       "`kmbuild mok enroll`\n",
			       key, cert);
	}
	free(key);
	free(cert);
	return KMB_EXIT_OK;
}

/* Which cert does this command talk about: --cert, else discovery. */
struct subject {
	struct kmb_keypair kp;
	X509 *cert;
	unsigned char *der;
	size_t der_len;
	char err[1024]; /* discovery or load problem, shown but not fatal for status */
	int rc;
};

static void subject_load(const struct kmb_ctx *ctx, const struct mok_opts *o, struct subject *s)
{
	memset(s, 0, sizeof(*s));
	if (o->cert) {
		s->kp.cert = kmb_xstrdup(o->cert);
		s->kp.key = o->key ? kmb_xstrdup(o->key) : NULL;
		s->kp.origin = kmb_xstrdup("command line");
		s->kp.why = kmb_xstrdup("--cert given");
	} else {
		s->rc = kmb_keypair_discover(ctx, &s->kp, s->err, sizeof(s->err));
		if (s->rc < 0)
			return;
	}
	s->rc = kmb_cert_load(s->kp.cert, &s->cert, s->err, sizeof(s->err));
	if (s->rc == 0)
		kmb_cert_der(s->cert, &s->der, &s->der_len);
}

static void subject_free(struct subject *s)
{
	kmb_keypair_free(&s->kp);
	X509_free(s->cert);
	free(s->der);
}

/* Does the key load (permissions, passphrase) and match? "" when fine. */
static void key_problem(const struct kmb_ctx *ctx, struct subject *s, char *out, size_t outlen)
{
	EVP_PKEY *pk = NULL;
	OSSL_PROVIDER *prov = NULL;

	out[0] = '\0';
	if (!s->kp.key || !s->cert)
		return;
	if (kmb_key_load(ctx, s->kp.key, &pk, &prov, out, outlen) < 0)
		return;
	if (X509_check_private_key(s->cert, pk) != 1)
		snprintf(out, outlen, "%s: private key does not match certificate %s", s->kp.key,
			 s->kp.cert);
	EVP_PKEY_free(pk);
	if (prov)
		OSSL_PROVIDER_unload(prov);
}

static const char *tri_text(int v, const char *yes, const char *no, const char *unknown)
{
	return v > 0 ? yes : v == 0 ? no : unknown;
}

static const char *verdict(const struct kmb_efi_state *st, const struct subject *s)
{
	if (!st->efi)
		return "not booted via UEFI: Secure Boot does not apply; signatures are "
		       "enforced only with module.sig_enforce=1 (then the key must be built "
		       "into the kernel)";
	if (st->secure_boot != 1)
		return "Secure Boot is off: unsigned modules load (tainting the kernel) unless "
		       "module.sig_enforce=1; the kernel ignores MOK keys";
	if (st->setup_mode == 1)
		return "firmware is in Setup Mode: Secure Boot is not enforced and the kernel "
		       "ignores MOK keys";
	if (!s->cert)
		return "Secure Boot is on and there is no usable signing certificate: "
		       "out-of-tree modules will be rejected";
	if (st->enrolled == 1 && st->pending_delete == 1)
		return "enrolled, but a deletion is pending: after the next boot modules "
		       "signed with this key will be rejected";
	if (st->enrolled == 1 && st->mok_trusted == 0)
		return "enrolled, but shim says MOK keys are not trusted for modules "
		       "(MokListTrustedRT=0; `mokutil --trust-mok`)";
	if (st->enrolled == 1)
		return "enrolled: modules signed with this key will load";
	if (st->pending == 1)
		return "enrolment pending: confirm it in MokManager at the next boot; until "
		       "then modules signed with this key are rejected";
	return "NOT enrolled: modules signed with this key will be rejected; run "
	       "`kmbuild mok enroll`";
}

static const char *mok_list_text(const struct kmb_efi_state *st, const struct subject *s)
{
	if (st->list_error)
		return st->list_error;
	if (!s->cert)
		return "(no certificate to look for)";
	if (st->enrolled < 0)
		return "absent";
	return st->enrolled ? "certificate enrolled" : "certificate not enrolled";
}

static const char *mok_new_text(const struct kmb_efi_state *st)
{
	if (st->pending < 0)
		return "no enrolment pending";
	return st->pending ? "enrolment of this certificate pending" : "another enrolment pending";
}

static void json_tri(struct kmb_json *j, const char *key, int v)
{
	if (v < 0)
		kmb_json_str(j, key, NULL);
	else
		kmb_json_bool(j, key, v > 0);
}

static void status_json(const struct kmb_efi_state *st, const struct subject *s,
			const struct kmb_cert_info *ci, const char *keyerr)
{
	struct kmb_json j;
	kmb_json_init(&j, stdout);
	kmb_json_obj_begin(&j, NULL);
	kmb_json_bool(&j, "efi", st->efi);
	json_tri(&j, "secure_boot", st->secure_boot);
	json_tri(&j, "setup_mode", st->setup_mode);
	json_tri(&j, "mok_trusted", st->mok_trusted);
	kmb_json_str(&j, "key", s->kp.key);
	kmb_json_str(&j, "cert", s->kp.cert);
	kmb_json_str(&j, "origin", s->kp.origin);
	kmb_json_str(&j, "why", s->kp.why);
	kmb_json_str(&j, "error", s->err[0] ? s->err : keyerr[0] ? keyerr : NULL);
	if (s->cert) {
		kmb_json_obj_begin(&j, "certificate");
		kmb_json_str(&j, "subject", ci->subject);
		kmb_json_str(&j, "signer", ci->cn);
		kmb_json_str(&j, "serial", ci->serial);
		kmb_json_str(&j, "key", ci->key_desc);
		kmb_json_str(&j, "not_before", ci->not_before);
		kmb_json_str(&j, "not_after", ci->not_after);
		kmb_json_bool(&j, "expired", ci->expired);
		kmb_json_str(&j, "sha1", ci->sha1);
		kmb_json_str(&j, "sha256", ci->sha256);
		kmb_json_bool(&j, "eku_code_signing", ci->eku_codesign);
		kmb_json_bool(&j, "eku_module_signing", ci->eku_modsign);
		kmb_json_obj_end(&j);
	}
	json_tri(&j, "enrolled", st->enrolled);
	json_tri(&j, "pending", st->pending);
	json_tri(&j, "pending_delete", st->pending_delete);
	kmb_json_int(&j, "mok_certificates", (long long)st->n_mok_certs);
	kmb_json_str(&j, "mok_list_error", st->list_error);
	kmb_json_str(&j, "verdict", verdict(st, s));
	kmb_json_obj_end(&j);
	kmb_json_finish(&j);
}

static void status_text(const struct kmb_efi_state *st, const struct subject *s,
			const struct kmb_cert_info *ci, const char *keyerr)
{
	printf("UEFI:          %s\n", st->efi ? "yes" : "no (no /sys/firmware/efi)");
	printf("Secure Boot:   %s\n", tri_text(st->secure_boot, "enabled", "disabled",
					       "unknown (no SecureBoot variable)"));
	printf("Setup Mode:    %s\n",
	       tri_text(st->setup_mode, "yes (no platform key)", "no", "unknown"));
	if (s->kp.key || s->kp.cert) {
		printf("key:           %s\n", s->kp.key ? s->kp.key : "(none)");
		printf("certificate:   %s\n", s->kp.cert);
		printf("picked:        %s\n", s->kp.why);
	}
	if (s->err[0])
		printf("problem:       %s\n", s->err);
	else if (keyerr[0])
		printf("problem:       %s\n", keyerr);
	if (s->cert)
		print_cert(ci);
	printf("MokListRT:     %s\n", mok_list_text(st, s));
	if (st->enrolled >= 0 || st->n_mok_certs)
		printf("               %zu X.509 certificate%s enrolled in total\n",
		       st->n_mok_certs, st->n_mok_certs == 1 ? "" : "s");
	printf("MokNew:        %s\n", mok_new_text(st));
	if (st->pending_delete > 0)
		printf("MokDel:        deletion of this certificate pending\n");
	printf("MokListTrustedRT: %s\n",
	       tri_text(st->mok_trusted, "1 (kernel may trust MOK keys for modules)",
			"0 (MOK keys not trusted for modules: mokutil --trust-mok)",
			"absent (Debian 6.1 kernels trust MOK keys anyway; upstream needs it)"));
	printf("verdict:       %s\n", verdict(st, s));
}

static int cmd_status(struct kmb_ctx *ctx, const struct mok_opts *o)
{
	struct kmb_efi_state st;
	struct kmb_cert_info ci;
	struct subject s;
	char keyerr[1024];

	subject_load(ctx, o, &s);
	if (s.cert)
		kmb_cert_describe(s.cert, &ci);
	key_problem(ctx, &s, keyerr, sizeof(keyerr));
	kmb_efi_state_read(ctx, s.der, s.der_len, &st);
	if (ctx->json)
		status_json(&st, &s, &ci, keyerr);
	else
		status_text(&st, &s, &ci, keyerr);
	subject_free(&s);
	return KMB_EXIT_OK;
}

static int cmd_enroll(struct kmb_ctx *ctx, const struct mok_opts *o)
{
	struct kmb_efi_state st;
	struct kmb_cert_info ci;
	struct subject s;
	const char *mokutil = kmb_config_get(ctx, "mokutil");
	int r;

	subject_load(ctx, o, &s);
	if (s.rc < 0) {
		kmb_err("%s", s.err);
		r = s.rc;
		subject_free(&s);
		return exit_for(r);
	}
	kmb_cert_describe(s.cert, &ci);
	kmb_efi_state_read(ctx, s.der, s.der_len, &st);
	if (st.enrolled == 1 && st.pending_delete != 1) {
		printf("%s is already enrolled (MokListRT); nothing to do\n", s.kp.cert);
		subject_free(&s);
		return KMB_EXIT_OK;
	}
	if (st.pending == 1) {
		printf("enrolment of %s is already pending (MokNew): confirm it in MokManager at "
		       "the "
		       "next boot\n",
		       s.kp.cert);
		subject_free(&s);
		return KMB_EXIT_OK;
	}
	if (!st.efi) {
		kmb_err("mok enroll: this machine was not booted via UEFI (no "
			"%s/sys/firmware/efi): "
			"there is no MOK list to enroll into",
			ctx->root);
		subject_free(&s);
		return KMB_EXIT_FAIL;
	}
	/* mokutil writes the firmware of the running machine: a --root cannot redirect it. */
	if (*ctx->root && !mokutil) {
		kmb_err("mok enroll: mokutil changes this machine's firmware variables, which "
			"--root "
			"cannot redirect; run without --root (or set mokutil in kmbuild.conf)");
		subject_free(&s);
		return KMB_EXIT_USAGE;
	}
	if (!mokutil)
		mokutil = "mokutil";
	printf("Requesting enrolment of %s\n  subject: %s\n  SHA-1:   %s\n  SHA-256: %s\n",
	       s.kp.cert, ci.subject, ci.sha1, ci.sha256);
	printf("mokutil now asks for a one-time password (twice); you type it again at the next "
	       "boot.\n");
	fflush(stdout);
	const char *argv[] = {mokutil, "--import", s.kp.cert, NULL};
	struct kmb_run run = {.argv = argv, .out_fd = -1, .in_fd = STDIN_FILENO};
	r = kmb_run(&run);
	if (r < 0) {
		kmb_err("mok enroll: cannot run %s: %s%s", mokutil, strerror(-r),
			r == -ENOENT ? " (install it: apt-get install mokutil)" : "");
		subject_free(&s);
		return r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
	}
	if (r != 0) {
		kmb_err("mok enroll: %s --import %s failed (exit %d); nothing was enrolled",
			mokutil, s.kp.cert, r);
		subject_free(&s);
		return KMB_EXIT_FAIL;
	}
	printf("\nEnrolment requested. At the next boot, shim starts MokManager (blue screen):\n"
	       "  1. press a key within 10 seconds, choose \"Enroll MOK\"\n"
	       "  2. \"View key 0\": check the SHA-256 fingerprint above, then \"Continue\"\n"
	       "  3. \"Enroll the key(s)?\" -> \"Yes\", type the one-time password\n"
	       "  4. \"Reboot\"\n"
	       "If no key is pressed in time the request is dropped; rerun `kmbuild mok enroll`.\n"
	       "After the reboot `kmbuild mok status` shows \"enrolled\".\n");
	subject_free(&s);
	return KMB_EXIT_OK;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct mok_opts o;
	const char *sub;
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(help_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? KMB_EXIT_USAGE : KMB_EXIT_OK;
	}
	sub = argv[1];
	if ((r = parse(argc - 1, argv + 1, &o)))
		return r;
	if (!strcmp(sub, "generate"))
		return cmd_generate(ctx, &o);
	if (!o.cert && o.key) {
		kmb_err("mok %s: --key needs --cert", sub);
		return KMB_EXIT_USAGE;
	}
	if (o.force || o.cert_only || o.bits || o.days || o.cn) {
		kmb_err("mok %s: --force/--cert-only/--bits/--days/--cn belong to `mok generate`",
			sub);
		return KMB_EXIT_USAGE;
	}
	if (!strcmp(sub, "status"))
		return cmd_status(ctx, &o);
	if (!strcmp(sub, "enroll"))
		return cmd_enroll(ctx, &o);
	kmb_err("mok: unknown subcommand '%s' (generate, status, enroll)", sub);
	return KMB_EXIT_USAGE;
}

const struct kmb_cmd kmb_cmd_mok = {
	.name = "mok",
	.run = run,
	.usage = "mok generate|status|enroll [OPTIONS]",
	.help = "manage the module signing key pair (MOK) and its Secure Boot enrolment",
	.help_text = help_text,
};
