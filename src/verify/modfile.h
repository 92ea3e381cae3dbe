/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One kernel module file, read the way the kernel's loader will see it: .modinfo, undefined
 * symbols, __versions CRCs, exported symbols with their CRCs, and the appended signature.
 * .ko.xz/.ko.zst/.ko.gz are decompressed to memory first (libarchive); plain files are mapped,
 * never copied. Every string points into the mapped image and lives as long as the modfile.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

struct x509_st;

struct kmb_modinfo_kv {
	const char *key; /* not NUL-terminated at the '=': use key_len */
	size_t key_len;
	const char *value;
};

struct kmb_modsym { /* an undefined symbol the module imports */
	const char *name;
	bool weak; /* unresolved weak symbols are fine for the kernel */
};

struct kmb_modver { /* one __versions entry */
	const char *name;
	uint32_t crc;
};

struct kmb_modexport {
	const char *name;
	const char *ns; /* EXPORT_SYMBOL_NS namespace, or NULL */
	uint32_t crc;
	bool has_crc;
	bool gpl; /* EXPORT_SYMBOL_GPL */
};

enum kmb_sig_state {
	KMB_SIG_NONE,	   /* no "~Module signature appended~" trailer */
	KMB_SIG_OK,	   /* trailer well-formed (PKCS#7 parsed once details were asked for) */
	KMB_SIG_FOREIGN,   /* id_type is not PKCS#7: -ENOPKG, treated like "unsigned" */
	KMB_SIG_MALFORMED, /* the kernel rejects it whatever the policy (-EBADMSG) */
};

struct kmb_modsig {
	enum kmb_sig_state state;
	char *error;	 /* FOREIGN/MALFORMED: why, one line */
	size_t offset;	 /* of the CMS DER in the decompressed image */
	size_t len;	 /* of the CMS DER */
	bool parsed;	 /* the fields below are filled by kmb_modfile_sig_details() */
	char *signer;	 /* issuer CN of signerInfo[0] (what modinfo prints as signer) */
	char *key_id;	 /* serial (or subjectKeyIdentifier), hex "AB:CD:.." like modinfo */
	char *hash_algo; /* "sha256", ... */
};

struct kmb_modfile {
	char *path;
	enum kmb_compress comp;	    /* from the file's magic, not its name */
	const unsigned char *image; /* decompressed bytes: ELF + signature trailer */
	size_t image_len;
	size_t elf_len; /* without the signature */

	struct kmb_modinfo_kv *modinfo;
	size_t n_modinfo;
	/* Shortcuts into modinfo (NULL when absent). */
	const char *name, *vermagic, *license, *depends, *version, *srcversion;
	const char *compiler; /* first .comment string, e.g. "GCC: (Debian 12.2.0-14) 12.2.0" */
	unsigned machine;     /* e_machine */
	bool elf64;

	struct kmb_modsym *undef; /* sorted by name */
	size_t n_undef;
	struct kmb_modver *versions; /* sorted by name when versions_sorted */
	size_t n_versions;
	bool versions_sorted;
	bool has_versions_section;
	struct kmb_modexport *exports;
	size_t n_exports;

	struct kmb_modsig sig;

	/* private */
	void *map;
	size_t map_len;
	unsigned char *owned; /* decompressed buffer */
};

/*
 * Read a module. On failure returns a negative errno and sets *err to a one-line message
 * naming the file (malloc'd; caller frees): -ENOENT, -ENOEXEC (not an ELF relocatable,
 * corrupt ELF), -EIO (decompression failed).
 */
int kmb_modfile_open(const char *path, struct kmb_modfile **out, char **err);
void kmb_modfile_free(struct kmb_modfile *m);

/* The name the kernel and modprobe use: modinfo "name" or the file name, '-' -> '_'. */
void kmb_module_name_from_path(const char *path, char *out, size_t outsz);
const char *kmb_modfile_modname(const struct kmb_modfile *m, char *buf, size_t bufsz);
/* The next module name of a .modinfo depends= list (comma separated) into buf, advancing *p;
 * false at the end. Empty names and names longer than buf are skipped. */
bool kmb_modfile_next_depend(const char **p, char *buf, size_t bufsz);

/* All values of a modinfo key (e.g. "import_ns", "alias"); returns how many, fills up to n. */
size_t kmb_modfile_modinfo_all(const struct kmb_modfile *m, const char *key, const char **v,
			       size_t n);
const struct kmb_modver *kmb_modfile_version(const struct kmb_modfile *m, const char *sym);

/* Is a MODULE_LICENSE string GPL-compatible, with the kernel's own list (license.h)? NULL = no. */
bool kmb_license_is_gpl_compatible(const char *license);

/*
 * Parse the PKCS#7 blob of a well-formed trailer: fills sig.signer/key_id/hash_algo, or turns
 * the state into KMB_SIG_MALFORMED when the blob is not DER PKCS#7. Idempotent.
 */
void kmb_modfile_sig_details(const struct kmb_modfile *m);

/*
 * Does the module's signature name this certificate (issuer + serial, or SKID)? Returns 1/0,
 * or a negative errno when there is no parseable signature.
 */
int kmb_modfile_signed_by(const struct kmb_modfile *m, struct x509_st *cert);

/*
 * Check the signature cryptographically against cert (the kernel does this once it has found
 * the key): 1 valid, 0 the module bytes changed after signing or another key signed them,
 * negative errno when there is no parseable signature.
 */
int kmb_modfile_verify_sig(const struct kmb_modfile *m, struct x509_st *cert);

/* Compression of a buffer by its magic bytes (gzip, xz, zstd), KMB_COMPRESS_NONE otherwise. */
enum kmb_compress kmb_compress_of(const void *p, size_t len);

/* Decompress a gzip/xz/zstd buffer to a malloc'd one (libarchive). *why gets the reason on
 * failure (malloc'd). Returns 0 or -EIO. */
int kmb_decompress_mem(const void *in, size_t len, unsigned char **out, size_t *out_len,
		       char **why);
