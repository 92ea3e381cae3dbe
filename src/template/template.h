/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Module templates (`kmbuild add NAME`, `kmbuild search`): a catalogue of well-known
 * out-of-tree modules. Each template is a directory holding template.conf (what the module
 * is, where its source comes from: exact versions and SHA256 sums, in order of preference)
 * and the module's build definition (a native kmbuild.conf: modules, destinations, kernel
 * range, initramfs). See docs/templates.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "kernel/kernel.h"
#include "base/kmb.h"

enum kmb_tpl_kind {
	KMB_TPL_TARBALL, /* url = an upstream release archive (http/https) */
	KMB_TPL_DEB,	 /* deb = a distribution *-dkms package from a Debian repository */
	KMB_TPL_LOCAL,	 /* path = a directory shipped inside the template */
};

struct kmb_tpl_source {
	char *label; /* [source LABEL] */
	enum kmb_tpl_kind kind;
	char *url;	   /* TARBALL */
	char *file;	   /* TARBALL: cache file name (default: last component of url) */
	char *deb;	   /* DEB: package name */
	char *deb_version; /* DEB: exact Debian version */
	char *suite;	   /* DEB: the suite that carries it */
	char *path;	   /* LOCAL: relative to the template directory */
	char *sha256;	   /* TARBALL, DEB: lowercase hex of the archive */
	long long size;	   /* -1: not given */
	char *subdir;	   /* relative to the archive's top directory; NULL: the top */
	char *note;	   /* free text, shown with -v */
};

struct kmb_template {
	char *name, *version, *description, *homepage;
	char *dir;		 /* the template's directory */
	char *conf_path;	 /* dir/template.conf */
	char *definition;	 /* dir/<definition>: the build definition copied into the source */
	struct kmb_strv in_tree; /* module names the kernel may ship itself */
	struct kmb_strv in_tree_config; /* CONFIG_ options that mean the same */
	struct kmb_tpl_source *src;
	size_t n_src;
	struct kmb_pkg *pkg; /* the build definition, loaded */
};

/*
 * The catalogue directory (malloc'd): template_dir from kmbuild.conf / KMBUILD_TEMPLATE_DIR,
 * else the templates/ directory of the source tree the running binary was built in, else
 * KMB_DATADIR/templates. Templates are kmbuild's own data, so this is never under --root.
 */
char *kmb_template_catalogue(const struct kmb_ctx *ctx);

/*
 * Load and validate one template directory. Every field is checked (required ones present,
 * sums are 64 hex digits, URLs are http/https, names and paths are safe, the build
 * definition loads and has the template's version). Returns 0, -ENOENT (no template.conf),
 * or -EINVAL; err gets one line "FILE:LINE: KEY: what is wrong".
 */
int kmb_template_load(const char *dir, struct kmb_template **out, char *err, size_t errlen);
void kmb_template_free(struct kmb_template *t);

/* Names of the template directories in the catalogue (those holding template.conf), sorted. */
int kmb_template_names(const char *catalogue, struct kmb_strv *names);

/* Levenshtein distance, with '-' and '_' counted as the same character (module names). */
size_t kmb_edit_distance(const char *a, const char *b);
/* Up to max catalogue names closest to name (prefix/substring matches first), best first. */
void kmb_template_suggest(const struct kmb_strv *names, const char *name, size_t max,
			  struct kmb_strv *out);

/* How a template relates to one kernel. */
enum kmb_tpl_fit {
	KMB_TPL_BUILDS,	  /* it applies and the kernel does not have it: build it */
	KMB_TPL_INTREE,	  /* the kernel ships the module itself: nothing to build */
	KMB_TPL_EXCLUDED, /* outside the definition's kernel range / arch / config */
};
const char *kmb_tpl_fit_name(enum kmb_tpl_fit f);

struct kmb_tpl_kernel {
	char *release;
	enum kmb_tpl_fit fit;
	char *why; /* one line: where the in-tree module is, or why it is excluded; or NULL */
};

/*
 * Is one of the template's in-tree modules part of kernel k? Looked up with libkmod in
 * <root>/lib/modules/K when depmod's indexes are there (a module under kernel/, or built in),
 * else in modules.builtin / modules.order, else from the kernel configuration (in_tree_config
 * =y/=m). Returns true with *how (malloc'd, e.g. "kernel/drivers/net/wireguard/wireguard.ko").
 */
bool kmb_template_in_tree(const struct kmb_template *t, struct kmb_kernel *k, char **how);

/* The fit of t for every kernel kmb_kernel_list() knows. */
int kmb_template_fit(const struct kmb_ctx *ctx, const struct kmb_template *t,
		     struct kmb_tpl_kernel **out, size_t *n);
void kmb_tpl_kernels_free(struct kmb_tpl_kernel *v, size_t n);

/* Where a tarball source is fetched from: url, or with a mirror MIRROR/<name>/<file>. */
char *kmb_template_source_url(const struct kmb_template *t, const struct kmb_tpl_source *s,
			      const char *mirror);

struct kmb_tpl_prepare_opts {
	const char *mirror;  /* NULL: template_mirror from kmbuild.conf */
	const char *source;  /* --source URL|PATH: replaces the template's sources */
	const char *sha256;  /* expected sum of --source (optional) */
	const char *version; /* NAME@VERSION; NULL: the template's */
};

/* A source tree ready for kmb_registry_add(), and what to commit to the cache after. */
struct kmb_tpl_prepared {
	char *work;	/* scratch dir under the cache, removed by _free() */
	char *tree;	/* the module source, with the template's definition as kmbuild.conf */
	char *download; /* a freshly downloaded archive (in work), or NULL */
	char *cache;	/* where it goes when committed */
	char *origin;	/* one line: what the source is, for the user */
	char *sha256;	/* of the archive used, when there was one */
};

/*
 * Obtain the template's source (first source that can be had, in order; cached archives are
 * re-verified on every use), extract it securely and install the definition in it. Nothing
 * in the cache changes until kmb_template_commit(). Returns 0 or a kmb_exit code with err set
 * (one line); fetch failures of all but the last source are reported with kmb_warn().
 */
int kmb_template_prepare(const struct kmb_ctx *ctx, const struct kmb_template *t,
			 const struct kmb_tpl_prepare_opts *o, struct kmb_tpl_prepared *p,
			 char *err, size_t errlen);
/* Move a freshly downloaded archive into the cache (after a successful registration). */
int kmb_template_commit(struct kmb_tpl_prepared *p);
void kmb_tpl_prepared_free(struct kmb_tpl_prepared *p);

/* <root>/var/cache/kmbuild/sources (malloc'd). */
char *kmb_template_cache_dir(const struct kmb_ctx *ctx);

/*
 * Rewrite "version = ..." in the [package] section of a kmbuild.conf text (for NAME@VERSION
 * with --source). Returns the new text (malloc'd) or NULL when there is no such line.
 */
char *kmb_template_set_version(const char *conf_text, const char *version);
