/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A Debian/Ubuntu repository read the way apt reads it: dists/SUITE/InRelease verified with
 * gpgv against a keyring, the Packages index it lists checked against its SHA256 and
 * decompressed with libarchive, packages and their versions looked up in that index.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/fetch.h"

struct kmb_deb_source {
	const char *mirror;    /* http://deb.debian.org/debian (a trailing '/' is fine) */
	const char *suite;     /* bookworm, bookworm-security, ... */
	const char *component; /* main */
	const char *arch;      /* amd64 */
	const char *keyring;   /* for gpgv --keyring: binary OpenPGP keyring (not armored) */
};

/* One verified Packages index. */
struct kmb_deb_index {
	char *mirror; /* without trailing '/' */
	char *suite;
	char *text; /* decompressed Packages, NUL-terminated */
	size_t len;
};

struct kmb_deb_pkg {
	char *name, *version, *arch, *filename, *sha256, *depends;
	long long size;
	char *url; /* mirror + "/" + Filename */
};

/*
 * Fetch dists/SUITE/InRelease into workdir, verify it with gpgv (nothing unsigned is read),
 * check Suite/Codename and Valid-Until, then fetch the first of Packages.xz, .gz, plain that
 * InRelease lists for COMPONENT/binary-ARCH, verify size and SHA256 and decompress it.
 * Errors: -ENOENT (InRelease or index missing: 404), -EKEYREJECTED (bad signature or
 * keyring), -EBADMSG (checksum/size mismatch, malformed or expired InRelease), -EIO
 * (network). err: one line naming the URL or file.
 */
int kmb_deb_index_load(const struct kmb_deb_source *src, const char *workdir,
		       const struct kmb_fetch_opts *fo, struct kmb_deb_index *idx, char *err,
		       size_t errlen);
void kmb_deb_index_free(struct kmb_deb_index *idx);

/*
 * The highest version of package name in the index that satisfies "op version" (op: "=",
 * ">=", "<=", ">>", "<<"; op NULL: any). Returns 0, -ENOENT, or -EBADMSG for a stanza
 * missing Filename/SHA256/Size or with an unsafe Filename.
 */
int kmb_deb_index_find(const struct kmb_deb_index *idx, const char *name, const char *op,
		       const char *version, struct kmb_deb_pkg *out);
void kmb_deb_pkg_free(struct kmb_deb_pkg *p);

/* dpkg's version order: <0, 0, >0. */
int kmb_deb_vercmp(const char *a, const char *b);
/* Does version satisfy "op want"? Unknown op: false. */
bool kmb_deb_version_satisfies(const char *version, const char *op, const char *want);

/* One Depends clause, first alternative only: "name (op version)". */
struct kmb_deb_dep {
	char *name, *op, *version; /* op/version NULL when unversioned */
};
/* Split a Depends field into its clauses (first alternative of each). */
int kmb_deb_parse_depends(const char *field, struct kmb_deb_dep **deps, size_t *n);
void kmb_deb_deps_free(struct kmb_deb_dep *deps, size_t n);

/* Run gpgv on a clearsigned file, writing the signed content to out_path. */
int kmb_gpgv_verify(const char *keyring, const char *signed_path, const char *detached_data,
		    const char *out_path, const char *label, char *err, size_t errlen);

/* dpkg architecture of this machine (amd64, arm64, ...). */
const char *kmb_deb_arch(void);
