/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Machine Owner Key material: where the signing key pair is (discovery), loading it safely,
 * generating a new pair, and describing a certificate for `kmbuild mok status/enroll`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/types.h>

#include "base/kmb.h"

/* kmbuild's own pair, under the root. */
#define KMB_MOK_DIR  "/var/lib/kmbuild/mok"
#define KMB_MOK_KEY  KMB_MOK_DIR "/kmbuild.key"
#define KMB_MOK_CERT KMB_MOK_DIR "/kmbuild.der"
/* Distro pairs that may already be enrolled on the machine. */
#define KMB_SHIM_MOK_KEY  "/var/lib/shim-signed/mok/MOK.priv"
#define KMB_SHIM_MOK_CERT "/var/lib/shim-signed/mok/MOK.der"
#define KMB_DKMS_MOK_KEY  "/var/lib/dkms/mok.key"
#define KMB_DKMS_MOK_CERT "/var/lib/dkms/mok.pub"

struct kmb_keypair {
	char *key;    /* root-prefixed path, or a pkcs11: URI */
	char *cert;   /* root-prefixed path */
	char *origin; /* short name: "kmbuild.conf", "kmbuild", "shim-signed", "dkms" */
	char *why;    /* one line: why this pair was picked */
};

/*
 * Discovery order: kmbuild.conf `sign_key` + `sign_cert` (paths under the root, or a pkcs11:
 * key URI), then kmbuild's own pair, then /var/lib/shim-signed/mok/MOK.priv|MOK.der, then
 * /var/lib/dkms/mok.key|mok.pub. A location holding a key but no certificate is an error (with
 * the --cert-only hint), never a reason to fall through to another key or to make a new one.
 * Returns 0, -ENOENT (nothing found) or -EINVAL (half-configured); err gets one line.
 */
int kmb_keypair_discover(const struct kmb_ctx *ctx, struct kmb_keypair *out, char *err,
			 size_t errlen);
void kmb_keypair_free(struct kmb_keypair *kp);

/*
 * Load a private key: PEM or DER (PKCS#1/PKCS#8, passphrase from KBUILD_SIGN_PIN), or a
 * pkcs11: URI through an OpenSSL 3 store provider named "pkcs11" (*prov keeps it loaded;
 * release with OSSL_PROVIDER_unload). A key file readable or writable by group/others, or
 * owned by anyone but root (or the caller), is refused unless kmbuild.conf sets
 * allow_insecure_key = yes. Returns 0 or negative errno: -ENOENT, -EACCES (unreadable or
 * insecure), -EBADMSG (corrupt or wrong passphrase), -ENOTSUP (pkcs11 without provider).
 */
int kmb_key_load(const struct kmb_ctx *ctx, const char *path, EVP_PKEY **out, OSSL_PROVIDER **prov,
		 char *err, size_t errlen);

/* Load a certificate, DER or PEM (DER when it starts like an ASN.1 SEQUENCE, as sign-file). */
int kmb_cert_load(const char *path, X509 **out, char *err, size_t errlen);

/* DER encoding of the cert (malloc'd, OPENSSL_free not needed). */
int kmb_cert_der(X509 *cert, unsigned char **der, size_t *len);

struct kmb_cert_info {
	char subject[256]; /* one-line RFC 2253 */
	char cn[128];	   /* what modinfo shows as signer: CN of the issuer */
	char serial[128];  /* "14:64:70:..." as modinfo's sig_key */
	char sha1[60];	   /* AA:BB:... */
	char sha256[100];
	char not_before[32]; /* "2026-11-26 20:48:10 UTC" */
	char not_after[32];
	bool expired, not_yet_valid;
	char key_desc[32]; /* "RSA-2048" */
	bool eku_codesign, eku_modsign;
};
void kmb_cert_describe(X509 *cert, struct kmb_cert_info *info);

struct kmb_mok_gen {
	const char *key_path;  /* NULL: <root>/var/lib/kmbuild/mok/kmbuild.key */
	const char *cert_path; /* NULL: <root>/var/lib/kmbuild/mok/kmbuild.der */
	int bits;	       /* 2048 (default when 0) or 4096 */
	int days;	       /* 0: 36500 */
	bool force;	       /* replace an existing pair */
	bool cert_only;	       /* new certificate for the existing key */
	const char *cn;	       /* NULL: "<hostname> kmbuild module signing key" */
};

/*
 * Generate an RSA key and a self-signed certificate for MOK enrolment (basicConstraints
 * CA:FALSE, keyUsage digitalSignature, extendedKeyUsage codeSigning +
 * 1.3.6.1.4.1.2312.16.1.2), key written 0600 PEM, cert DER, each atomically. Refuses to
 * overwrite without force (-EEXIST), and never makes a new key because only the cert is
 * missing (-ENOENT with the --cert-only hint). Paths written are returned in the strings.
 */
int kmb_mok_generate(const struct kmb_ctx *ctx, const struct kmb_mok_gen *opt, char **key_out,
		     char **cert_out, char *err, size_t errlen);
