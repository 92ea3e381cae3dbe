// SPDX-License-Identifier: GPL-2.0-or-later
/* MOK key material: discovery, safe loading, generation, description. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sign/mok.h"
#include "base/util.h"

#define KMB_OID_MODSIGN "1.3.6.1.4.1.2312.16.1.2"

/* The last OpenSSL error as a short reason, for the end of a one-line message. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

/* ---- discovery ---------------------------------------------------------------------- */

static char *conf_path(const struct kmb_ctx *ctx, const char *v)
{
	if (kmb_startswith(v, "pkcs11:"))
		return kmb_xstrdup(v);
	if (v[0] == '/')
		return kmb_root_path(ctx, v);
	/* Relative settings are relative to the directory of kmbuild.conf. */
	return kmb_xasprintf("%s/%s", ctx->etc_dir, v);
}

static void set_pair(struct kmb_keypair *kp, char *key, char *cert, const char *origin, char *why)
{
	kp->key = key;
	kp->cert = cert;
	kp->origin = kmb_xstrdup(origin);
	kp->why = why;
}

int kmb_keypair_discover(const struct kmb_ctx *ctx, struct kmb_keypair *out, char *err,
			 size_t errlen)
{
	static const struct {
		const char *key, *cert, *origin, *what;
	} cand[] = {
		{KMB_MOK_KEY, KMB_MOK_CERT, "kmbuild", "kmbuild's own pair (kmbuild mok generate)"},
		{KMB_SHIM_MOK_KEY, KMB_SHIM_MOK_CERT, "shim-signed",
		 "existing shim-signed MOK (update-secureboot-policy)"},
		{KMB_DKMS_MOK_KEY, KMB_DKMS_MOK_CERT, "dkms", "existing DKMS key pair"},
	};
	const char *ck = kmb_config_get(ctx, "sign_key");
	const char *cc = kmb_config_get(ctx, "sign_cert");

	memset(out, 0, sizeof(*out));
	if (ck || cc) {
		if (!ck || !cc || !*ck || !*cc) {
			snprintf(err, errlen,
				 "%s/kmbuild.conf: sign_key and sign_cert must be set together",
				 ctx->etc_dir);
			return -EINVAL;
		}
		char *key = conf_path(ctx, ck), *cert = conf_path(ctx, cc);
		set_pair(out, key, cert, "kmbuild.conf",
			 kmb_xstrdup("sign_key/sign_cert set in kmbuild.conf"));
		return 0;
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(cand); i++) {
		char *key = kmb_root_path(ctx, cand[i].key);
		char *cert = kmb_root_path(ctx, cand[i].cert);
		bool hk = kmb_exists(key), hc = kmb_exists(cert);

		if (hk && hc) {
			set_pair(out, key, cert, cand[i].origin,
				 kmb_xasprintf("%s; no sign_key/sign_cert in kmbuild.conf%s",
					       cand[i].what, i ? ", no kmbuild pair" : ""));
			return 0;
		}
		if (hk) {
			/* The key may be enrolled already: a new cert for it, never a new key. */
			char *hint = i == 0 ? kmb_xstrdup("")
					    : kmb_xasprintf(" --key %s --cert %s", key, cert);
			snprintf(err, errlen,
				 "%s: certificate missing for private key %s; keep the key and run "
				 "`kmbuild mok generate --cert-only%s`",
				 cert, key, hint);
			free(hint);
			free(key);
			free(cert);
			return -EINVAL;
		}
		free(key);
		free(cert);
	}
	snprintf(err, errlen,
		 "no signing key: none of kmbuild.conf sign_key, %s, %s, %s exists under '%s'; "
		 "run `kmbuild mok generate`",
		 KMB_MOK_KEY, KMB_SHIM_MOK_KEY, KMB_DKMS_MOK_KEY, *ctx->root ? ctx->root : "/");
	return -ENOENT;
}

void kmb_keypair_free(struct kmb_keypair *kp)
{
	free(kp->key);
	free(kp->cert);
	free(kp->origin);
	free(kp->why);
	memset(kp, 0, sizeof(*kp));
}

/* ---- loading ------------------------------------------------------------------------ */

/* PEM passphrase from KBUILD_SIGN_PIN, as sign-file; never prompts. */
static int pin_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pin = getenv("KBUILD_SIGN_PIN");
	size_t n;

	(void)rwflag;
	(void)u;
	if (!pin || size <= 0)
		return -1;
	n = strlen(pin);
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, pin, n);
	return (int)n;
}

static int load_pkcs11(const char *uri, EVP_PKEY **out, OSSL_PROVIDER **prov, char *err,
		       size_t errlen)
{
	OSSL_PROVIDER *p = OSSL_PROVIDER_try_load(NULL, "pkcs11", 1);
	UI_METHOD *ui = NULL;
	OSSL_STORE_CTX *sc;
	EVP_PKEY *pk = NULL;

	if (!p) {
		ERR_clear_error();
		snprintf(err, errlen,
			 "%s: no OpenSSL 3 provider named 'pkcs11' is installed (Debian 12 ships "
			 "none; pkcs11-provider is packaged from Debian 13), use a key file",
			 uri);
		return -ENOTSUP;
	}
	ui = UI_UTIL_wrap_read_pem_callback(pin_cb, 0);
	sc = OSSL_STORE_open(uri, ui, NULL, NULL, NULL);
	if (!sc) {
		snprintf(err, errlen, "%s: cannot open PKCS#11 object: %s", uri, ssl_reason());
		UI_destroy_method(ui);
		OSSL_PROVIDER_unload(p);
		return -ENOENT;
	}
	while (!pk && !OSSL_STORE_eof(sc)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(sc);
		if (!info)
			continue;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pk = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(sc);
	UI_destroy_method(ui);
	if (!pk) {
		snprintf(err, errlen, "%s: no private key behind this PKCS#11 URI", uri);
		OSSL_PROVIDER_unload(p);
		return -ENOENT;
	}
	*out = pk;
	*prov = p;
	return 0;
}

static int check_key_perms(const struct kmb_ctx *ctx, const char *path, const struct stat *st,
			   char *err, size_t errlen)
{
	if (kmb_config_bool(ctx, "allow_insecure_key", false))
		return 0;
	if (st->st_mode & 077) {
		snprintf(err, errlen,
			 "%s: private key is accessible by group/others (mode %04o); chmod 600 it "
			 "(or set allow_insecure_key = yes in kmbuild.conf)",
			 path, (unsigned)(st->st_mode & 07777));
		return -EACCES;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: private key is owned by uid %u, not root; chown root it (or set "
			 "allow_insecure_key = yes in kmbuild.conf)",
			 path, (unsigned)st->st_uid);
		return -EACCES;
	}
	return 0;
}

int kmb_key_load(const struct kmb_ctx *ctx, const char *path, EVP_PKEY **out, OSSL_PROVIDER **prov,
		 char *err, size_t errlen)
{
	struct stat st;
	struct kmb_buf b = {0};
	char chunk[8192];
	ssize_t n;
	EVP_PKEY *pk = NULL;
	int fd, r;

	*out = NULL;
	*prov = NULL;
	if (kmb_startswith(path, "pkcs11:"))
		return load_pkcs11(path, out, prov, err, errlen);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open private key: %s", path, strerror(errno));
		return r == -ENOENT ? -ENOENT : -EACCES;
	}
	/* fstat of the open file: the checked file is the one read. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: private key is not a regular file", path);
		close(fd);
		return -EACCES;
	}
	r = check_key_perms(ctx, path, &st, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		kmb_buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read private key: %s", path, strerror(errno));
		kmb_buf_free(&b);
		return -EACCES;
	}
	if (b.len == 0) {
		snprintf(err, errlen, "%s: private key file is empty", path);
		kmb_buf_free(&b);
		return -EBADMSG;
	}
	BIO *bio = BIO_new_mem_buf(b.s, (int)b.len);
	if (memmem(b.s, b.len, "-----BEGIN", 10)) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, pin_cb, NULL);
		if (!pk) {
			bool enc = memmem(b.s, b.len, "ENCRYPTED", 9) != NULL;
			if (enc && !getenv("KBUILD_SIGN_PIN"))
				snprintf(err, errlen,
					 "%s: private key is encrypted; put its passphrase in "
					 "KBUILD_SIGN_PIN",
					 path);
			else if (enc)
				snprintf(err, errlen,
					 "%s: cannot decrypt private key (wrong KBUILD_SIGN_PIN?): "
					 "%s",
					 path, ssl_reason());
			else
				snprintf(err, errlen, "%s: corrupt PEM private key: %s", path,
					 ssl_reason());
		}
	} else {
		pk = d2i_PrivateKey_bio(bio, NULL);
		if (!pk) {
			(void)BIO_reset(bio);
			pk = d2i_PKCS8PrivateKey_bio(bio, NULL, pin_cb, NULL);
		}
		if (!pk)
			snprintf(err, errlen, "%s: not a PEM or DER private key: %s", path,
				 ssl_reason());
	}
	BIO_free(bio);
	OPENSSL_cleanse(b.s, b.len);
	kmb_buf_free(&b);
	if (!pk)
		return -EBADMSG;
	*out = pk;
	return 0;
}

int kmb_cert_load(const char *path, X509 **out, char *err, size_t errlen)
{
	char *data;
	size_t len;
	X509 *x = NULL;
	int r = kmb_read_file(path, &data, &len);

	*out = NULL;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read certificate: %s", path, strerror(-r));
		return r == -ENOENT ? -ENOENT : -EACCES;
	}
	const unsigned char *p = (const unsigned char *)data;
	/* A DER SEQUENCE with a long-form length, as sign-file decides. */
	if (len >= 2 && p[0] == 0x30 && p[1] >= 0x81 && p[1] <= 0x84) {
		x = d2i_X509(NULL, &p, (long)len);
		if (!x)
			snprintf(err, errlen, "%s: corrupt DER certificate: %s", path,
				 ssl_reason());
	} else {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (!x)
			snprintf(err, errlen, "%s: not a DER or PEM X.509 certificate: %s", path,
				 ssl_reason());
	}
	free(data);
	if (!x)
		return -EBADMSG;
	*out = x;
	return 0;
}

int kmb_cert_der(X509 *cert, unsigned char **der, size_t *len)
{
	unsigned char *tmp = NULL;
	int n = i2d_X509(cert, &tmp);

	if (n <= 0)
		return -EINVAL;
	*der = kmb_xmalloc((size_t)n);
	memcpy(*der, tmp, (size_t)n);
	OPENSSL_free(tmp);
	*len = (size_t)n;
	return 0;
}

/* ---- description -------------------------------------------------------------------- */

static void hex_colon(const unsigned char *d, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 4 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, i ? ":%02X" : "%02X", d[i]);
}

static void asn1_time_str(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		snprintf(out, outlen, "?");
		return;
	}
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static bool has_eku(X509 *cert, int nid, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	bool found = false;

	if (!eku)
		return false;
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		char buf[80];

		if (nid != NID_undef && OBJ_obj2nid(o) == nid)
			found = true;
		if (oid && OBJ_obj2txt(buf, sizeof(buf), o, 1) > 0 && strcmp(buf, oid) == 0)
			found = true;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

void kmb_cert_describe(X509 *cert, struct kmb_cert_info *info)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	BIO *b;

	memset(info, 0, sizeof(*info));
	b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	int n = BIO_read(b, info->subject, sizeof(info->subject) - 1);
	info->subject[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, info->cn,
				  sizeof(info->cn));

	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	if (bn) {
		unsigned char buf[64];
		int len = BN_num_bytes(bn);
		if (len > 0 && len <= (int)sizeof(buf)) {
			BN_bn2bin(bn, buf);
			hex_colon(buf, (size_t)len, info->serial, sizeof(info->serial));
		}
		BN_free(bn);
	}
	if (X509_digest(cert, EVP_sha1(), md, &mdlen))
		hex_colon(md, mdlen, info->sha1, sizeof(info->sha1));
	if (X509_digest(cert, EVP_sha256(), md, &mdlen))
		hex_colon(md, mdlen, info->sha256, sizeof(info->sha256));
	asn1_time_str(X509_get0_notBefore(cert), info->not_before, sizeof(info->not_before));
	asn1_time_str(X509_get0_notAfter(cert), info->not_after, sizeof(info->not_after));
	info->expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
	info->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;

	EVP_PKEY *pk = X509_get0_pubkey(cert);
	if (pk)
		snprintf(info->key_desc, sizeof(info->key_desc), "%s-%d",
			 EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "?",
			 EVP_PKEY_get_bits(pk));
	info->eku_codesign = has_eku(cert, NID_code_sign, NULL);
	info->eku_modsign = has_eku(cert, NID_undef, KMB_OID_MODSIGN);
	ERR_clear_error();
}

/* ---- generation --------------------------------------------------------------------- */

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -EINVAL;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EINVAL;
}

static X509 *make_cert(EVP_PKEY *pk, const char *cn, int days)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[20];
	BIGNUM *bn = NULL;
	bool ok = false;

	if (!x)
		return NULL;
	/* A random positive 159-bit serial, as `openssl req -x509` makes. */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	serial[0] |= 0x40;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_set_version(x, X509_VERSION_3))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0))
		goto out;
	if (!X509_set_issuer_name(x, name))
		goto out;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL))
		goto out;
	if (!X509_set_pubkey(x, pk))
		goto out;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "codeSigning," KMB_OID_MODSIGN) < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, NID_authority_key_identifier, "keyid:always") < 0)
		goto out;
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	ok = true;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_key_pem(EVP_PKEY *pk, const char *path)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r = -EIO;

	if (PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)) {
		len = BIO_get_mem_data(b, &data);
		r = kmb_write_file_atomic(path, data, (size_t)len, 0600);
		OPENSSL_cleanse(data, (size_t)len);
	}
	BIO_free(b);
	return r;
}

static int write_cert_der(X509 *x, const char *path)
{
	unsigned char *der;
	size_t len;
	int r = kmb_cert_der(x, &der, &len);

	if (r < 0)
		return r;
	r = kmb_write_file_atomic(path, der, len, 0644);
	free(der);
	return r;
}

static char *dirname_dup(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s != path ? kmb_xstrndup(path, (size_t)(s - path)) : kmb_xstrdup("/");
}

/* The key's own directory holds secrets (0700); parents and the cert's stay 0755. */
static int make_dirs(const char *key, const char *cert, char *err, size_t errlen)
{
	char *kd = dirname_dup(key), *kp = dirname_dup(kd), *cd = dirname_dup(cert);
	const char *bad = NULL;
	int r = kmb_mkdir_p(kp, 0755);

	if (r < 0)
		bad = kp;
	if (!bad && mkdir(kd, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		bad = kd;
	}
	if (!bad && (r = kmb_mkdir_p(cd, 0755)) < 0)
		bad = cd;
	if (bad)
		snprintf(err, errlen, "%s: cannot create directory: %s", bad, strerror(-r));
	free(kd);
	free(kp);
	free(cd);
	return r;
}

int kmb_mok_generate(const struct kmb_ctx *ctx, const struct kmb_mok_gen *opt, char **key_out,
		     char **cert_out, char *err, size_t errlen)
{
	char *key = opt->key_path ? kmb_xstrdup(opt->key_path) : kmb_root_path(ctx, KMB_MOK_KEY);
	char *cert =
		opt->cert_path ? kmb_xstrdup(opt->cert_path) : kmb_root_path(ctx, KMB_MOK_CERT);
	int bits = opt->bits ? opt->bits : 2048, days = opt->days ? opt->days : 36500;
	bool hk = kmb_exists(key), hc = kmb_exists(cert);
	EVP_PKEY *pk = NULL;
	OSSL_PROVIDER *prov = NULL;
	X509 *x = NULL;
	char cn[256];
	int r;

	*key_out = *cert_out = NULL;
	if (bits != 2048 && bits != 3072 && bits != 4096) {
		snprintf(err, errlen, "--bits %d: use 2048, 3072 or 4096", bits);
		r = -EINVAL;
		goto out;
	}
	if (opt->cert_only) {
		if (!hk) {
			snprintf(err, errlen, "%s: no private key to make a certificate for", key);
			r = -ENOENT;
			goto out;
		}
		if (hc && !opt->force) {
			snprintf(err, errlen, "%s: certificate exists; --force replaces it", cert);
			r = -EEXIST;
			goto out;
		}
		r = kmb_key_load(ctx, key, &pk, &prov, err, errlen);
		if (r < 0)
			goto out;
	} else {
		if (hk && !hc && !opt->force) {
			snprintf(
				err, errlen,
				"%s: certificate missing but the private key %s exists; not making "
				"a new key (an enrolled key would stop working): run `kmbuild mok "
				"generate --cert-only`",
				cert, key);
			r = -ENOENT;
			goto out;
		}
		if ((hk || hc) && !opt->force) {
			snprintf(err, errlen,
				 "%s: key pair exists; --force replaces it (the new key must then "
				 "be enrolled again)",
				 hk ? key : cert);
			r = -EEXIST;
			goto out;
		}
		pk = EVP_RSA_gen((unsigned)bits);
		if (!pk) {
			snprintf(err, errlen, "RSA-%d key generation failed: %s", bits,
				 ssl_reason());
			r = -EIO;
			goto out;
		}
	}
	if (opt->cn) {
		snprintf(cn, sizeof(cn), "%s", opt->cn);
	} else {
		char host[128] = "localhost";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(cn, sizeof(cn), "%s kmbuild module signing key", host);
	}
	x = make_cert(pk, cn, days);
	if (!x) {
		snprintf(err, errlen, "cannot create certificate: %s", ssl_reason());
		r = -EIO;
		goto out;
	}
	r = make_dirs(key, cert, err, errlen);
	if (r < 0)
		goto out;
	/* Key first: a crash in between leaves a key without cert, which --cert-only mends. */
	if (!opt->cert_only) {
		r = write_key_pem(pk, key);
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot write private key: %s", key,
				 strerror(-r));
			goto out;
		}
	}
	r = write_cert_der(x, cert);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot write certificate: %s", cert, strerror(-r));
		goto out;
	}
	*key_out = key;
	*cert_out = cert;
	key = cert = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	if (prov)
		OSSL_PROVIDER_unload(prov);
	free(key);
	free(cert);
	return r;
}
