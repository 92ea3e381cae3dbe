/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel headers: find them (every layout distributions use, under the root first, then
 * read-only on the host), install them with the package manager, or fetch them straight from
 * a Debian/Ubuntu or RPM repository into kmbuild's cache, <root>/var/cache/kmbuild/headers/K.
 * The cache only ever holds complete, verified trees: a fetch is staged beside it and renamed
 * into place.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

enum kmb_headers_origin {
	KMB_HEADERS_ROOT,  /* a system layout under ctx->root */
	KMB_HEADERS_CACHE, /* kmbuild's own cache under ctx->root */
	KMB_HEADERS_HOST,  /* a system layout on the host (only when ctx->root is a sandbox) */
};

struct kmb_headers_cand {
	char *path;	    /* the layout path looked at */
	char *target;	    /* readlink(path) when it is a symlink, else NULL */
	char *resolved;	    /* where it leads (realpath); NULL when missing or dangling */
	const char *layout; /* "build", "source", "linux-headers", "kernels", "cache" */
	enum kmb_headers_origin origin;
	bool exists;   /* the path (or the symlink itself) exists */
	bool dangling; /* a symlink whose target does not exist */
	/* What kbuild needs from a headers tree to build an external module: */
	bool makefile; /* Makefile */
	bool config;   /* .config or include/config/auto.conf */
	bool symvers;  /* Module.symvers (symbol CRCs; without it modpost cannot check) */
	bool fixdep;   /* scripts/basic/fixdep (host tool, executable) */
	bool modpost;  /* scripts/mod/modpost (host tool, executable) */
	bool complete; /* all of the above */
};

struct kmb_headers_report {
	char *release;
	struct kmb_headers_cand *c;
	size_t n;
	int best; /* index of the directory returned, -1 when none is complete */
};

/*
 * Look for the headers of release: under ctx->root (lib/modules/K/build, lib/modules/K/source,
 * usr/src/linux-headers-K, usr/src/kernels/K), then kmbuild's cache, then (when the root is a
 * sandbox) the same layouts on the host, read-only. An absolute symlink under a sandbox root
 * is tried inside the root first. *dir (malloc'd realpath) is the first complete directory;
 * rep (may be NULL) gets every candidate. Returns 0, or -ENOENT with *dir = NULL when no
 * candidate is complete.
 */
int kmb_headers_find(const struct kmb_ctx *ctx, const char *release, char **dir,
		     struct kmb_headers_report *rep);
void kmb_headers_report_free(struct kmb_headers_report *rep);
/* Fill the completeness fields of c for directory dir. Returns c->complete. */
bool kmb_headers_check(const char *dir, struct kmb_headers_cand *c);
/* "Makefile, Module.symvers" (what is missing), malloc'd; "" when complete. */
char *kmb_headers_missing(const struct kmb_headers_cand *c);

/* <root>/var/cache/kmbuild/headers/<release>, malloc'd. */
char *kmb_headers_cache_dir(const struct kmb_ctx *ctx, const char *release);

/* kmbuild.conf: headers = package-manager | fetch | never (unset: package manager, then fetch) */
enum kmb_headers_policy {
	KMB_HEADERS_PM_THEN_FETCH,
	KMB_HEADERS_PM,
	KMB_HEADERS_FETCH,
	KMB_HEADERS_NEVER,
};
/* -EINVAL (err filled) for an unknown value. */
int kmb_headers_policy(const struct kmb_ctx *ctx, enum kmb_headers_policy *p, char *err,
		       size_t errlen);

enum kmb_repo_kind { KMB_REPO_AUTO, KMB_REPO_DEB, KMB_REPO_RPM };

struct kmb_headers_fetch_opts {
	const char *mirror;	   /* NULL: headers_mirror, else the distribution's default */
	const char *const *suites; /* NULL-terminated; NULL: headers_suite, else codename,
				      codename-updates, codename-security */
	const char *keyring;	   /* NULL: headers_keyring, else the distribution's keyring */
	const char *component;	   /* NULL: headers_component, else "main" */
	const char *arch;	   /* NULL: headers_arch, else from uname -m */
	enum kmb_repo_kind kind;   /* AUTO: rpm for releases ending in .x86_64 etc., else deb */
	bool force;		   /* replace a cached tree */
};

/*
 * Download the headers of release from a repository into the cache without touching any
 * package database. Debian: linux-headers-K plus its linux-headers-* and linux-kbuild-*
 * dependencies (others, such as the compiler, are reported in *note). RPM: kernel-devel.
 * *dir gets the cached headers directory. Returns 0 (also when already cached and !force);
 * -ENOENT when the repository has no such package; -EKEYREJECTED bad signature/keyring;
 * -EBADMSG checksum or metadata problem; -EINVAL bad archive content or settings; -EIO
 * network. err: one line. note (may be NULL): an informational line, possibly empty.
 */
int kmb_headers_fetch(const struct kmb_ctx *ctx, const char *release,
		      const struct kmb_headers_fetch_opts *o, char **dir, char *note,
		      size_t notelen, char *err, size_t errlen);

/*
 * Ask the package manager for the headers (apt-get install -y linux-headers-K). Only on the
 * real system (ctx->root == "") and when the policy allows it; for dnf/pacman the command is
 * printed in err instead (-ENOTSUP). dry_run: put the command in err (as "would run: ...")
 * and return 0 without running it. -EPERM when policy or a sandbox root forbids it.
 */
int kmb_headers_install(const struct kmb_ctx *ctx, const char *release, bool dry_run, char *err,
			size_t errlen);

/*
 * For autoinstall and the kernel hooks: find the headers, else obtain them as the policy
 * says (package manager on the real system, then fetch with the configured sources). *how:
 * "found", "installed" or "fetched" (static). Returns 0 or a negative errno with err filled.
 */
int kmb_headers_ensure(const struct kmb_ctx *ctx, const char *release, char **dir, const char **how,
		       char *err, size_t errlen);

/* Exposed for the tests: "include /abs" lines of a Debian headers Makefile, made relative. */
int kmb_headers_fix_makefile(const char *tree, const char *makefile_rel, char *err, size_t errlen);
