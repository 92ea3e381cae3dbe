// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The signer and the key material: trailer layout, CMS verification, idempotence, every
 * bad-input path leaving the module byte-identical, key permissions, discovery order and key
 * generation rules. The byte comparison against the kernel's sign-file is in
 * tests/integration/30-sign.sh (it needs real kbuild modules).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kernel/kernel.h"
#include "base/kmb.h"
#include "sign/mok.h"
#include "sign/sign.h"
#include "base/util.h"

struct fx {
	struct unit_sandbox sb;
	char *mod;     /* a real ELF relocatable with .modinfo, compiled by cc */
	char *plain_o; /* an ELF relocatable without .modinfo */
	char *key, *cert;
};

static char *path_in(struct fx *f, const char *rel)
{
	return kmb_xasprintf("%s/%s", f->sb.root, rel);
}

static void compile(struct fx *f, const char *src, const char *out)
{
	char *c = path_in(f, "m.c");
	unit_write_text(c, src);
	const char *argv[] = {"cc", "-c", "-o", out, c, NULL};
	struct kmb_run r = {.argv = argv, .out_fd = -1, .in_fd = -1};
	assert_int_equal(kmb_run(&r), 0);
	free(c);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512], *k, *c;

	unit_sandbox_open(&f->sb);
	f->mod = path_in(f, "mod.ko");
	f->plain_o = path_in(f, "plain.o");
	compile(f,
		"static const char mi[] __attribute__((section(\".modinfo\"), used)) = "
		"\"license=GPL\";\nint kmb_test_symbol(void) { return 42; }\n",
		f->mod);
	compile(f, "int kmb_plain(void) { return 1; }\n", f->plain_o);
	struct kmb_mok_gen g = {.cn = "unit test key"};
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), 0);
	f->key = k;
	f->cert = c;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unit_sandbox_close(&f->sb);
	free(f->mod);
	free(f->plain_o);
	free(f->key);
	free(f->cert);
	free(f);
	unsetenv("KMBUILD_ALLOW_INSECURE_KEY");
	unsetenv("KMBUILD_SIGN_KEY");
	unsetenv("KMBUILD_SIGN_CERT");
	unsetenv("KBUILD_SIGN_PIN");
	return 0;
}

static void slurp(const char *path, char **data, size_t *len)
{
	assert_int_equal(kmb_read_file(path, data, len), 0);
}

static struct kmb_signer *open_signer(struct fx *f, const char *hash)
{
	struct kmb_signer *s = NULL;
	char err[512] = "";
	int r = kmb_signer_open(&f->sb.ctx, hash, NULL, NULL, &s, err, sizeof(err));
	if (r < 0)
		fail_msg("signer_open: %s", err);
	return s;
}

static void test_hashes(void **state)
{
	(void)state;
	assert_true(kmb_sign_hash_supported("sha256"));
	assert_true(kmb_sign_hash_supported("sha512"));
	assert_true(kmb_sign_hash_supported("sha3-384"));
	assert_false(kmb_sign_hash_supported("md5"));
	assert_false(kmb_sign_hash_supported("SHA256"));
	assert_false(kmb_sign_hash_supported(NULL));
}

/* magic + module_signature built by hand, so the check does not just mirror the code. */
static size_t add_trailer(unsigned char *buf, size_t at, uint32_t sig_len, unsigned char id_type)
{
	unsigned char info[12] = {0,
				  0,
				  id_type,
				  0,
				  0,
				  0,
				  0,
				  0,
				  (unsigned char)(sig_len >> 24),
				  (unsigned char)(sig_len >> 16),
				  (unsigned char)(sig_len >> 8),
				  (unsigned char)sig_len};
	memcpy(buf + at, info, 12);
	memcpy(buf + at + 12, "~Module signature appended~\n", 28);
	return at + 40;
}

static void test_sig_split(void **state)
{
	(void)state;
	unsigned char buf[256];
	size_t ul, sl, len;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(kmb_sig_split(buf, 100, &ul, &sl), 0);
	assert_int_equal(ul, 100);
	len = add_trailer(buf, 100, 30, 2);
	assert_int_equal(kmb_sig_split(buf, len, &ul, &sl), 1);
	assert_int_equal(ul, 70);
	assert_int_equal(sl, 30);
	/* Wrong id type, non-zero reserved bytes, lengths past the start: all corrupt. */
	len = add_trailer(buf, 100, 30, 1);
	assert_int_equal(kmb_sig_split(buf, len, &ul, &sl), -EBADMSG);
	len = add_trailer(buf, 100, 30, 2);
	buf[100 + 5] = 1;
	assert_int_equal(kmb_sig_split(buf, len, &ul, &sl), -EBADMSG);
	len = add_trailer(buf, 100, 100, 2);
	assert_int_equal(kmb_sig_split(buf, len, &ul, &sl), -EBADMSG);
	len = add_trailer(buf, 100, 0, 2);
	assert_int_equal(kmb_sig_split(buf, len, &ul, &sl), -EBADMSG);
	/* Only the magic. */
	memcpy(buf, "~Module signature appended~\n", 28);
	assert_int_equal(kmb_sig_split(buf, 28, &ul, &sl), -EBADMSG);
}

/* Detached CMS over the module proper verifies against the certificate. */
static void verify_cms(const char *data, size_t len, const char *cert_path)
{
	size_t ul, sl;
	X509 *cert;
	char err[256];

	assert_int_equal(kmb_sig_split((const unsigned char *)data, len, &ul, &sl), 1);
	assert_int_equal(kmb_cert_load(cert_path, &cert, err, sizeof(err)), 0);
	const unsigned char *p = (const unsigned char *)data + ul;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sl);
	assert_non_null(cms);
	assert_ptr_equal(p, (const unsigned char *)data + ul + sl);
	/* No certificates inside, as sign-file: the signer is found by issuer + serial. */
	STACK_OF(X509) *in = CMS_get1_certs(cms);
	assert_true(in == NULL || sk_X509_num(in) == 0);
	sk_X509_pop_free(in, X509_free);
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, cert);
	BIO *content = BIO_new_mem_buf(data, (int)ul);
	int ok =
		CMS_verify(cms, certs, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY);
	if (ok != 1)
		ERR_print_errors_fp(stderr);
	assert_int_equal(ok, 1);
	/* And not over anything else. */
	BIO_free(content);
	content = BIO_new_mem_buf(data, (int)ul - 1);
	assert_int_not_equal(
		CMS_verify(cms, certs, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY),
		1);
	ERR_clear_error();
	BIO_free(content);
	sk_X509_free(certs);
	X509_free(cert);
	CMS_ContentInfo_free(cms);
}

static void test_sign_verify_idempotent(void **state)
{
	struct fx *f = *state;
	char *orig, *once, *twice, err[512];
	size_t olen, len1, len2;
	struct kmb_signer *s;

	slurp(f->mod, &orig, &olen);
	s = open_signer(f, "sha256");
	assert_string_equal(kmb_signer_cert_path(s), f->cert);
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	slurp(f->mod, &once, &len1);
	assert_true(len1 > olen + 40);
	assert_memory_equal(once, orig, olen);
	assert_memory_equal(once + len1 - 28, "~Module signature appended~\n", 28);
	const unsigned char *info = (const unsigned char *)once + len1 - 40;
	uint32_t sl = (uint32_t)info[8] << 24 | (uint32_t)info[9] << 16 | (uint32_t)info[10] << 8 |
		      info[11];
	assert_int_equal(info[0] | info[1] | info[3] | info[4] | info[5] | info[6] | info[7], 0);
	assert_int_equal(info[2], 2);
	assert_int_equal(sl, len1 - olen - 40);
	verify_cms(once, len1, f->cert);

	/* Signing a signed module gives the same bytes, not a second signature. */
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	slurp(f->mod, &twice, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(once, twice, len1);
	free(twice);

	/* A sign-file style double signature is stripped down to one. */
	struct kmb_buf b = {0};
	kmb_buf_add(&b, once, len1);
	kmb_buf_add(&b, once + olen, len1 - olen);
	assert_int_equal(kmb_write_file_atomic(f->mod, b.s, b.len, 0644), 0);
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	slurp(f->mod, &twice, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(once, twice, len1);
	kmb_buf_free(&b);
	free(twice);

	/* Mode is kept. */
	chmod(f->mod, 0640);
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	struct stat st;
	stat(f->mod, &st);
	assert_int_equal(st.st_mode & 07777, 0640);
	kmb_signer_free(s);

	/* Another hash: a different, still verifiable signature. */
	s = open_signer(f, "sha512");
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	slurp(f->mod, &twice, &len2);
	assert_memory_equal(twice, orig, olen);
	verify_cms(twice, len2, f->cert);
	free(twice);
	kmb_signer_free(s);
	free(orig);
	free(once);
}

/* The file named must come out byte-identical and the error name it, on one line. */
static void expect_untouched(struct fx *f, struct kmb_signer *s, const char *path, int want)
{
	char *before, *after, err[512] = "";
	size_t lb, la;

	(void)f;
	slurp(path, &before, &lb);
	assert_int_equal(kmb_sign_file(s, path, err, sizeof(err)), want);
	slurp(path, &after, &la);
	assert_int_equal(lb, la);
	assert_memory_equal(before, after, lb);
	assert_non_null(strstr(err, path));
	assert_null(strchr(err, '\n'));
	free(before);
	free(after);
}

static void test_bad_modules(void **state)
{
	struct fx *f = *state;
	struct kmb_signer *s = open_signer(f, NULL);
	char *data, *p, err[512];
	size_t len;

	assert_string_equal(kmb_signer_hash(s), "sha256");
	slurp(f->mod, &data, &len);

	p = path_in(f, "text.ko");
	kmb_write_file_atomic(p, "hello world\n", 12, 0644);
	expect_untouched(f, s, p, -ENOEXEC);
	free(p);

	p = path_in(f, "trunc.ko");
	kmb_write_file_atomic(p, data, len / 2, 0644);
	expect_untouched(f, s, p, -ENOEXEC);
	kmb_write_file_atomic(p, data, 30, 0644);
	expect_untouched(f, s, p, -ENOEXEC);
	free(p);

	expect_untouched(f, s, f->plain_o, -ENOEXEC);

	/* A signed module whose descriptor was damaged. */
	assert_int_equal(kmb_sign_file(s, f->mod, err, sizeof(err)), 0);
	free(data);
	slurp(f->mod, &data, &len);
	data[len - 40 + 2] = 1;
	p = path_in(f, "badtrailer.ko");
	kmb_write_file_atomic(p, data, len, 0644);
	expect_untouched(f, s, p, -EBADMSG);
	free(p);

	p = path_in(f, "missing.ko");
	assert_int_equal(kmb_sign_file(s, p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, p));
	free(p);

	/* Nothing left behind by the failures. */
	const char *argv[] = {"sh", "-c", "ls -a \"$0\" | grep -c kmbsign", f->sb.root, NULL};
	char *out = NULL;
	kmb_run_capture(argv, NULL, &out);
	assert_string_equal(out, "0\n");
	free(out);
	free(data);
	kmb_signer_free(s);
}

static void test_many(void **state)
{
	struct fx *f = *state;
	struct kmb_signer *s = open_signer(f, "sha384");
	char *a = path_in(f, "a.ko"), *b = path_in(f, "b.ko"), *bad = path_in(f, "bad.ko");
	const char *paths[] = {a, bad, b};
	int rc[3];
	char *errs[3], *d1, *d2;
	size_t l1, l2;

	kmb_copy_file_atomic(f->mod, a, 0644);
	kmb_copy_file_atomic(f->mod, b, 0644);
	kmb_write_file_atomic(bad, "junk", 4, 0644);
	assert_int_equal(kmb_sign_many(s, paths, 3, 2, true, rc, errs), 1);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], -ENOEXEC);
	assert_int_equal(rc[2], 0);
	assert_null(errs[0]);
	assert_non_null(strstr(errs[1], bad));
	slurp(a, &d1, &l1);
	slurp(b, &d2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(d1, d2, l1);
	verify_cms(d1, l1, f->cert);
	free(d1);
	free(d2);
	slurp(bad, &d1, &l1);
	assert_int_equal(l1, 4);
	free(d1);
	free(errs[1]);
	free(a);
	free(b);
	free(bad);
	kmb_signer_free(s);
}

static void test_key_problems(void **state)
{
	struct fx *f = *state;
	struct kmb_signer *s = NULL;
	char err[512], *k2, *c2;

	assert_int_equal(kmb_signer_open(&f->sb.ctx, "md5", NULL, NULL, &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, f->key, NULL, &s, err, sizeof(err)),
			 -EINVAL);

	/* Group-readable key: refused unless the config allows it. */
	chmod(f->key, 0640);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, NULL, NULL, &s, err, sizeof(err)),
			 -EACCES);
	assert_non_null(strstr(err, f->key));
	assert_non_null(strstr(err, "0640"));
	setenv("KMBUILD_ALLOW_INSECURE_KEY", "yes", 1);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, NULL, NULL, &s, err, sizeof(err)), 0);
	kmb_signer_free(s);
	unsetenv("KMBUILD_ALLOW_INSECURE_KEY");
	chmod(f->key, 0600);

	/* Key and certificate of different pairs. */
	char *k2p = path_in(f, "other/k.pem"), *c2p = path_in(f, "other/c.der");
	struct kmb_mok_gen g = {.key_path = k2p, .cert_path = c2p, .cn = "other"};
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k2, &c2, err, sizeof(err)), 0);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, k2, f->cert, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, k2, c2, &s, err, sizeof(err)), 0);
	kmb_signer_free(s);

	/* Corrupt PEM key, corrupt DER cert, missing files. */
	char *bad = path_in(f, "bad.pem");
	const char pem[] = "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n";
	kmb_write_file_atomic(bad, pem, sizeof(pem) - 1, 0600);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, bad, f->cert, &s, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, bad));
	char *der;
	size_t dl;
	slurp(f->cert, &der, &dl);
	kmb_write_file_atomic(bad, der, dl / 2, 0644);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, f->key, bad, &s, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, bad));
	free(der);
	unlink(bad);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, f->key, bad, &s, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, bad, f->cert, &s, err, sizeof(err)),
			 -ENOENT);

	/* pkcs11: without a provider the error is clear (Debian 12 ships none). */
	int r = kmb_signer_open(&f->sb.ctx, NULL, "pkcs11:token=none;object=none", f->cert, &s, err,
				sizeof(err));
	assert_true(r == -ENOTSUP || r == -ENOENT);
	assert_non_null(strstr(err, "pkcs11:"));

	/* Encrypted PEM: passphrase from KBUILD_SIGN_PIN. */
	EVP_PKEY *pk = NULL;
	OSSL_PROVIDER *prov = NULL;
	assert_int_equal(kmb_key_load(&f->sb.ctx, f->key, &pk, &prov, err, sizeof(err)), 0);
	FILE *fp = fopen(bad, "w");
	fchmod(fileno(fp), 0600);
	PEM_write_PrivateKey(fp, pk, EVP_aes_256_cbc(), (unsigned char *)"s3cret", 6, NULL, NULL);
	fclose(fp);
	EVP_PKEY_free(pk);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, bad, f->cert, &s, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "KBUILD_SIGN_PIN"));
	setenv("KBUILD_SIGN_PIN", "wrong", 1);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, bad, f->cert, &s, err, sizeof(err)),
			 -EBADMSG);
	setenv("KBUILD_SIGN_PIN", "s3cret", 1);
	assert_int_equal(kmb_signer_open(&f->sb.ctx, NULL, bad, f->cert, &s, err, sizeof(err)), 0);
	kmb_signer_free(s);
	unsetenv("KBUILD_SIGN_PIN");

	free(bad);
	free(k2p);
	free(c2p);
	free(k2);
	free(c2);
}

static void test_generate_rules(void **state)
{
	struct fx *f = *state;
	struct kmb_mok_gen g = {0};
	char err[512], *k, *c, *key_before, *key_after;
	size_t lb, la;

	slurp(f->key, &key_before, &lb);
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), -EEXIST);
	/* Only the cert is missing: never a new key. */
	unlink(f->cert);
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "--cert-only"));
	g.cert_only = true;
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), 0);
	slurp(f->key, &key_after, &la);
	assert_int_equal(lb, la);
	assert_memory_equal(key_before, key_after, lb);
	free(key_after);
	/* And the new cert belongs to the old key. */
	struct kmb_signer *s = open_signer(f, NULL);
	kmb_signer_free(s);
	free(k);
	free(c);

	struct stat st;
	stat(f->key, &st);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* --force replaces the pair. */
	g.cert_only = false;
	g.force = true;
	g.bits = 3072;
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), 0);
	slurp(f->key, &key_after, &la);
	assert_false(la == lb && memcmp(key_before, key_after, lb) == 0);
	free(key_after);

	X509 *x;
	struct kmb_cert_info ci;
	assert_int_equal(kmb_cert_load(c, &x, err, sizeof(err)), 0);
	kmb_cert_describe(x, &ci);
	assert_string_equal(ci.key_desc, "RSA-3072");
	assert_true(ci.eku_codesign);
	assert_true(ci.eku_modsign);
	assert_false(ci.expired);
	assert_non_null(strstr(ci.cn, "kmbuild module signing key"));
	X509_free(x);
	free(k);
	free(c);
	g.bits = 1024;
	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &k, &c, err, sizeof(err)), -EINVAL);
	assert_null(k);
	free(key_before);
}

static void put_pair(struct fx *f, const char *key_rel, const char *cert_rel)
{
	char *k = path_in(f, key_rel), *c = path_in(f, cert_rel);
	char *ok = NULL, *oc = NULL, err[256];
	struct kmb_mok_gen g = {.key_path = k, .cert_path = c, .cn = key_rel};

	assert_int_equal(kmb_mok_generate(&f->sb.ctx, &g, &ok, &oc, err, sizeof(err)), 0);
	free(ok);
	free(oc);
	free(k);
	free(c);
}

static void test_discovery_order(void **state)
{
	struct fx *f = *state;
	struct kmb_keypair kp;
	char err[512];

	/* Start without kmbuild's own pair. */
	unlink(f->key);
	unlink(f->cert);
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "kmbuild mok generate"));

	put_pair(f, "var/lib/dkms/mok.key", "var/lib/dkms/mok.pub");
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), 0);
	assert_string_equal(kp.origin, "dkms");
	kmb_keypair_free(&kp);

	put_pair(f, "var/lib/shim-signed/mok/MOK.priv", "var/lib/shim-signed/mok/MOK.der");
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), 0);
	assert_string_equal(kp.origin, "shim-signed");
	kmb_keypair_free(&kp);

	/* A key whose cert vanished stops discovery with the hint, even with a DKMS pair. */
	char *shim_cert = path_in(f, "var/lib/shim-signed/mok/MOK.der");
	char *saved = path_in(f, "MOK.der.saved");
	rename(shim_cert, saved);
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--cert-only"));
	rename(saved, shim_cert);

	put_pair(f, "var/lib/kmbuild/mok/kmbuild.key", "var/lib/kmbuild/mok/kmbuild.der");
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), 0);
	assert_string_equal(kp.origin, "kmbuild");
	assert_string_equal(kp.key, f->key);
	kmb_keypair_free(&kp);

	/* kmbuild.conf wins; paths are under the root; half a setting is an error. */
	setenv("KMBUILD_SIGN_KEY", "/var/lib/dkms/mok.key", 1);
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), -EINVAL);
	setenv("KMBUILD_SIGN_CERT", "/var/lib/dkms/mok.pub", 1);
	assert_int_equal(kmb_keypair_discover(&f->sb.ctx, &kp, err, sizeof(err)), 0);
	assert_string_equal(kp.origin, "kmbuild.conf");
	char *want = path_in(f, "var/lib/dkms/mok.key");
	assert_string_equal(kp.key, want);
	free(want);
	kmb_keypair_free(&kp);
	struct kmb_signer *s = open_signer(f, NULL);
	assert_non_null(strstr(kmb_signer_cert_path(s), "dkms/mok.pub"));
	kmb_signer_free(s);
	free(shim_cert);
	free(saved);
}

static void test_decide(void **state)
{
	(void)state;
	char *names[] = {"CONFIG_MODULES", "CONFIG_MODULE_SIG", "CONFIG_MODULE_SIG_HASH"};
	char *values[] = {"y", "y", "sha512"};
	struct kmb_kernel k = {.release = "6.1.0-test",
			       .cfg_names = names,
			       .cfg_values = values,
			       .n_cfg = 3,
			       .config_read = true};
	const char *hash;
	char why[256];

	assert_int_equal(kmb_sign_decide(&k, &hash, why, sizeof(why)), 1);
	assert_string_equal(hash, "sha512");
	values[2] = "streebog";
	assert_int_equal(kmb_sign_decide(&k, &hash, why, sizeof(why)), -ENOTSUP);
	k.n_cfg = 1; /* only CONFIG_MODULES */
	assert_int_equal(kmb_sign_decide(&k, &hash, why, sizeof(why)), 0);
	assert_string_equal(why, "kernel built without CONFIG_MODULE_SIG");
	k.n_cfg = 0;
	assert_int_equal(kmb_sign_decide(&k, &hash, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "no kernel configuration"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_sig_split),
		cmocka_unit_test(test_decide),
		cmocka_unit_test_setup_teardown(test_sign_verify_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
