/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Module signing in process with OpenSSL's CMS API. For RSA keys the appended signature is
 * byte-identical to the kernel's `scripts/sign-file HASH KEY CERT MODULE`:
 *
 *   [module][CMS SignedData, DER, detached, no certs, no signed attributes]
 *   [struct module_signature: 0,0,PKEY_ID_PKCS7=2,0,0,pad[3],be32 sig_len]["~Module signature
 * appended~\n"]
 *
 * Unlike sign-file, an existing signature trailer is stripped first, so signing twice gives
 * the bytes of signing once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

struct kmb_kernel;

#define KMB_SIG_MAGIC	  "~Module signature appended~\n"
#define KMB_SIG_MAGIC_LEN 28
#define KMB_SIG_INFO_LEN  12 /* struct module_signature */

/* Loaded key + cert + digest; read-only after open, so one signer serves many threads. */
struct kmb_signer;

/*
 * key_path/cert_path: both NULL => discovery (see kmb_keypair_discover() in mok.h: kmbuild.conf
 * sign_key/sign_cert, kmbuild's own pair, /var/lib/shim-signed/mok/MOK.priv|MOK.der,
 * /var/lib/dkms/mok.key|mok.pub, all under ctx->root); given paths are used as they are
 * (not root-prefixed). hash NULL => "sha256". The key must match the certificate, must not be
 * group/other-accessible or owned by another user (unless allow_insecure_key = yes).
 * Returns 0 or negative errno (-ENOENT missing, -EACCES unreadable/insecure, -EBADMSG corrupt,
 * -EINVAL mismatch or unsupported hash, -ENOTSUP pkcs11 without provider); err gets one line
 * naming the file.
 */
int kmb_signer_open(const struct kmb_ctx *ctx, const char *hash, const char *key_path,
		    const char *cert_path, struct kmb_signer **out, char *err, size_t errlen);
void kmb_signer_free(struct kmb_signer *s);
const char *kmb_signer_cert_path(const struct kmb_signer *s);
const char *kmb_signer_key_path(const struct kmb_signer *s);
const char *kmb_signer_hash(const struct kmb_signer *s);
/* Why discovery picked this pair (NULL when paths were given). */
const char *kmb_signer_origin(const struct kmb_signer *s);

/*
 * Sign an uncompressed module in place: strip any existing signature trailer(s), append the
 * new one, write a temp file in the same directory (same mode and owner) and rename it over.
 * On any error the file is untouched. Returns 0, -ENOENT, -ENOEXEC (not a complete ELF
 * kernel module), -EBADMSG (corrupt existing trailer), or another negative errno.
 */
int kmb_sign_file(const struct kmb_signer *s, const char *module_path, char *err, size_t errlen);

/*
 * Same for .ko, .ko.xz, .ko.zst and .ko.gz: a compressed module is decompressed (xz/zstd/gzip
 * tools) in a private directory next to it, signed, recompressed with the kernel's options
 * (xz --check=crc32 --lzma2=dict=1MiB, zstd -T0, gzip -n) and renamed over the original.
 */
int kmb_sign_path(const struct kmb_signer *s, const char *path, char *err, size_t errlen);

/*
 * kmb_sign_path() for n files with `jobs` threads sharing the signer; each file is replaced
 * atomically (temp + rename) or not at all. With sync, every new file is on disk (one syncfs
 * per filesystem) before the first rename, so a crash leaves old or new modules, never empty
 * ones, on any filesystem; without it the guarantee is sign-file's and kbuild's (ext4 and btrfs
 * flush replace-by-rename data anyway). rc[i] gets 0 or negative errno, errs[i] NULL or a
 * malloc'd one-line message (caller frees). Returns the number of files that failed.
 */
size_t kmb_sign_many(const struct kmb_signer *s, const char *const *paths, size_t n, int jobs,
		     bool sync, int *rc, char **errs);

/*
 * Should modules for kernel k be signed, and with which hash? 1 with *hash set (from
 * CONFIG_MODULE_SIG_HASH, owned by k) if the kernel verifies module signatures; 0 with a
 * one-line reason (e.g. "kernel built without CONFIG_MODULE_SIG") if not; -ENOTSUP with a
 * reason if the kernel wants a hash kmbuild cannot produce.
 */
int kmb_sign_decide(struct kmb_kernel *k, const char **hash, char *why, size_t whylen);

/* Hash names the kernel accepts for module signatures (sha256, sha384, sha3-512, ...). */
bool kmb_sign_hash_supported(const char *hash);

/*
 * Locate the signature trailer of a module image: returns 0 (unsigned), 1 (signed: the module
 * proper is data[0..*unsigned_len), the CMS blob is *sig_len bytes right after it), or
 * -EBADMSG (magic present but the descriptor is inconsistent, as the kernel would reject).
 */
int kmb_sig_split(const unsigned char *data, size_t len, size_t *unsigned_len, size_t *sig_len);
